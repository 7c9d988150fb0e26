package test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Debezium suite: change events in Debezium's JSON envelope (with and
// without the JsonConverter's schema wrapper), keyed by the row key as
// Debezium keys them, consumed by a debezium-json stream across floe
// restarts (SIGKILL); the table must end equal to the source's final state,
// row by row, and its __rejected must hold each bad event once.

// dbzSource is the source table the events describe: its rows by id as
// they are after every event produced so far, and where the bad events
// went.
type dbzSource struct {
	mu     sync.Mutex
	rows   map[int64]map[string]any
	poison map[kafkaPos]string // position → a word of the expected reason
	seq    int
}

// dbzEvent is one record to produce: a change of row id (value nil: a
// tombstone), or a bad event with the reason it must be rejected for.
type dbzEvent struct {
	id     int64
	value  []byte
	apply  func(map[int64]map[string]any)
	reason string
}

func dbzKey(id int64, wrapped bool) []byte {
	if wrapped {
		return fmt.Appendf(nil, `{"schema":{"type":"struct","name":"src.public.items.Key","fields":[{"field":"id","type":"int64"}]},"payload":{"id":%d}}`, id)
	}
	return fmt.Appendf(nil, `{"id":%d}`, id)
}

func (s *dbzSource) envelope(op string, before, after map[string]any) []byte {
	s.seq++
	env := map[string]any{"before": before, "after": after, "op": op, "ts_ms": 1_780_000_000_000 + s.seq,
		"source": map[string]any{"connector": "postgresql", "db": "src", "schema": "public", "table": "items", "lsn": s.seq}}
	if s.seq%2 == 0 { // every other event with the JsonConverter's schema wrapper
		b, _ := json.Marshal(map[string]any{"schema": map[string]any{"type": "struct", "name": "src.public.items.Envelope"}, "payload": env})
		return b
	}
	b, _ := json.Marshal(env)
	return b
}

func (s *dbzSource) upsert(op string, id int64, row map[string]any) dbzEvent {
	row["id"] = id
	var before map[string]any
	if op == "u" {
		before = map[string]any{"id": id}
	}
	return dbzEvent{id: id, value: s.envelope(op, before, row), apply: func(m map[int64]map[string]any) { m[id] = row }}
}

// remove is a delete and the tombstone Debezium sends after it.
func (s *dbzSource) remove(id int64) []dbzEvent {
	return []dbzEvent{
		{id: id, value: s.envelope("d", map[string]any{"id": id}, nil), apply: func(m map[int64]map[string]any) { delete(m, id) }},
		{id: id},
	}
}

func (s *dbzSource) mustProduce(tb testing.TB, cl *kgo.Client, topic string, evs []dbzEvent) {
	tb.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for _, ev := range evs {
		// One row's key is always written alike, so its events share a
		// partition (Debezium's converter is fixed per connector; here
		// half the rows have keys with the schema wrapper).
		r := &kgo.Record{Topic: topic, Key: dbzKey(ev.id, ev.id%2 == 0), Value: ev.value}
		if ev.value == nil {
			r.Value = nil
		}
		wg.Add(1)
		cl.Produce(context.Background(), r, func(r *kgo.Record, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				firstErr = err
				return
			}
			if ev.reason != "" {
				s.mu.Lock()
				s.poison[kafkaPos{r.Partition, r.Offset}] = ev.reason
				s.mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		tb.Fatalf("produce to %s: %v", topic, firstErr)
	}
	// Records of one key go to one partition in order: the final state is
	// the events applied in the order produced.
	s.mu.Lock()
	for _, ev := range evs {
		if ev.apply != nil {
			ev.apply(s.rows)
		}
	}
	s.mu.Unlock()
}

// want renders the source rows as the query renders the table's.
func (s *dbzSource) want() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, r := range s.rows {
		out = append(out, fmt.Sprintf("%d|%v|%v|%v", id, r["name"], r["qty"], nullable(r["note"])))
	}
	sort.Strings(out)
	return out
}

func nullable(v any) any {
	if v == nil {
		return "<nil>"
	}
	return v
}

func dbzTableRows(tb testing.TB, f *Floe, table string) []string {
	tb.Helper()
	resp := f.Query(tb, f.User, f.Password, `SELECT * FROM `+table)
	if resp.Status != 200 {
		return nil
	}
	var res QueryResult
	if err := jsonDecode(resp.Body, &res); err != nil {
		tb.Fatal(err)
	}
	col := map[string]int{}
	for i, c := range res.Columns {
		col[c.Name] = i
	}
	get := func(r []any, name string) any {
		if i, ok := col[name]; ok {
			return r[i]
		}
		return nil // the column comes with the first row that has it
	}
	var out []string
	for _, r := range res.Rows {
		out = append(out, fmt.Sprintf("%v|%v|%v|%v", get(r, "id"), get(r, "name"), get(r, "qty"), nullable(get(r, "note"))))
	}
	sort.Strings(out)
	return out
}

// waitState waits until table equals the source's state, row by row.
func waitState(tb testing.TB, f *Floe, table string, src *dbzSource, limit time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for {
		want, got := src.want(), dbzTableRows(tb, f, table)
		if strings.Join(want, "\n") == strings.Join(got, "\n") {
			return
		}
		if time.Now().After(deadline) {
			wm := map[string]bool{}
			for _, w := range want {
				wm[w] = true
			}
			gm := map[string]bool{}
			var extra, missing []string
			for _, g := range got {
				gm[g] = true
				if !wm[g] {
					extra = append(extra, g)
				}
			}
			for _, w := range want {
				if !gm[w] {
					missing = append(missing, w)
				}
			}
			tb.Fatalf("after %s %s holds %d rows, the source %d: %d missing (first %v), %d not in the source (first %v)",
				limit, table, len(got), len(want), len(missing), missing[:min(len(missing), 5)], len(extra), extra[:min(len(extra), 5)])
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func TestKafkaDebezium(t *testing.T) {
	brokers := MustKafka(t)
	cl := MustKafkaClient(t, brokers)
	// A topic and group of this run's own (-count=N reruns on one broker).
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	topic, group, table := "e2e-dbz-"+run, "e2e-dbz-"+run, "e2e_dbz.items"
	MustCreateTopic(t, cl, topic, 4)

	path := filepath.Join(t.TempDir(), "floe.yaml")
	// No key columns configured: they come from the record keys, as
	// Debezium writes them (the primary key).
	yaml := fmt.Sprintf(`ingest:
  kafka:
    brokers: [%q]
    group: %s
    instance_id: %s-1
    session_timeout: 6s
    streams:
      - topic: %s
        table: %s
        format: debezium-json
        commit_interval: 500ms
`, brokers, group, group, topic, table)
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	src := &dbzSource{rows: map[int64]map[string]any{}, poison: map[kafkaPos]string{}}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))

	// 1. The initial snapshot (op r) and inserts, before floe starts.
	var evs []dbzEvent
	for id := range int64(200) {
		op := "r"
		if id >= 100 {
			op = "c"
		}
		evs = append(evs, src.upsert(op, id, map[string]any{"name": "v1-" + strconv.FormatInt(id, 10), "qty": id}))
	}
	src.mustProduce(t, cl, topic, evs)
	MustBuildFloe(t)
	f := MustStartFloe(t, WithDataDir(dir), WithConfigFile(path))
	waitState(t, f, table, src, 60*time.Second)

	// 2. Updates (some adding a column), deletes with their tombstones and
	// bad events, in two halves with a SIGKILL between them.
	round2 := func(from, to int64) []dbzEvent {
		var evs []dbzEvent
		for id := from; id < to; id++ {
			switch {
			case id%10 == 0:
				evs = append(evs, src.remove(id)...)
			case id%3 == 0:
				evs = append(evs, src.upsert("u", id, map[string]any{"name": "v2-" + strconv.FormatInt(id, 10), "qty": id * 10, "note": "updated"}))
			case id%7 == 0:
				evs = append(evs, src.upsert("u", id, map[string]any{"name": "v2-" + strconv.FormatInt(id, 10), "qty": id + 1}))
			}
			switch id {
			case from + 13:
				evs = append(evs, dbzEvent{id: id, value: src.envelope("t", nil, nil), reason: "truncate events are not applied"})
			case from + 29:
				evs = append(evs, dbzEvent{id: id, value: []byte(`{"op":"u","after":{"id":`), reason: "invalid JSON"})
			case from + 41:
				evs = append(evs, dbzEvent{id: id, value: src.envelope("u", nil, map[string]any{"name": "no id"}), reason: `lacks key column "id"`})
			case from + 57:
				evs = append(evs, dbzEvent{id: id, value: src.envelope("u", nil, map[string]any{"id": id, "qty": "lots"}), reason: `field "qty"`})
			}
		}
		return evs
	}
	src.mustProduce(t, cl, topic, round2(0, 100))
	time.Sleep(time.Duration(300+rng.IntN(900)) * time.Millisecond)
	f.Kill()
	src.mustProduce(t, cl, topic, round2(100, 200))
	f = MustStartFloe(t, WithDataDir(dir), WithConfigFile(path))
	waitState(t, f, table, src, 60*time.Second)

	// 3. Re-inserts of deleted rows, and new rows inserted, updated and
	// some deleted again within moments (mostly in one batch); a SIGKILL
	// in the middle.
	evs = nil
	for id := int64(0); id < 200; id += 20 {
		evs = append(evs, src.upsert("c", id, map[string]any{"name": "again-" + strconv.FormatInt(id, 10), "qty": 0}))
	}
	for id := int64(1000); id < 1100; id++ {
		evs = append(evs, src.upsert("c", id, map[string]any{"name": "fresh", "qty": 1}))
		evs = append(evs, src.upsert("u", id, map[string]any{"name": "fresh-upd", "qty": 2, "note": "same batch"}))
		if id%4 == 0 {
			evs = append(evs, src.remove(id)...)
		}
	}
	src.mustProduce(t, cl, topic, evs[:len(evs)/2])
	time.Sleep(time.Duration(200+rng.IntN(600)) * time.Millisecond)
	f.Kill()
	f = MustStartFloe(t, WithDataDir(dir), WithConfigFile(path))
	src.mustProduce(t, cl, topic, evs[len(evs)/2:])
	waitState(t, f, table, src, 60*time.Second)

	// 4. One more round of updates to every row, committed across a
	// clean restart.
	evs = nil
	for _, id := range func() []int64 {
		src.mu.Lock()
		defer src.mu.Unlock()
		var ids []int64
		for id := range src.rows {
			ids = append(ids, id)
		}
		return ids
	}() {
		evs = append(evs, src.upsert("u", id, map[string]any{"name": "final", "qty": id, "note": "v4"}))
	}
	src.mustProduce(t, cl, topic, evs[:len(evs)/3])
	if err := f.Stop(); err != nil {
		t.Fatal(err)
	}
	src.mustProduce(t, cl, topic, evs[len(evs)/3:])
	f = MustStartFloe(t, WithDataDir(dir), WithConfigFile(path))
	waitState(t, f, table, src, 60*time.Second)
	time.Sleep(time.Second) // anything extra would be committed by now
	waitState(t, f, table, src, time.Second)

	n := f.MustQuery(t, `SELECT count(*), count(DISTINCT id) FROM `+table)
	if fmt.Sprint(n.Rows[0][0]) != fmt.Sprint(n.Rows[0][1]) {
		t.Errorf("%v rows for %v keys", n.Rows[0][0], n.Rows[0][1])
	}
	t.Logf("final state: %v rows", n.Rows[0][0])

	// The bad events, each once, with its reason.
	rej := f.MustQuery(t, `SELECT "partition", "offset", reason FROM `+table+`__rejected`)
	seen := map[kafkaPos]int{}
	src.mu.Lock()
	defer src.mu.Unlock()
	for _, r := range rej.Rows {
		p, _ := strconv.ParseInt(fmt.Sprint(r[0]), 10, 64)
		o, _ := strconv.ParseInt(fmt.Sprint(r[1]), 10, 64)
		pos := kafkaPos{int32(p), o}
		seen[pos]++
		want, ok := src.poison[pos]
		switch {
		case !ok:
			t.Errorf("__rejected holds %v, not a bad event (reason %v)", pos, r[2])
		case !strings.Contains(fmt.Sprint(r[2]), want):
			t.Errorf("__rejected %v: reason %q, want it to say %q", pos, r[2], want)
		}
	}
	for pos := range src.poison {
		if seen[pos] != 1 {
			t.Errorf("bad event at %v is in __rejected %d times, want once", pos, seen[pos])
		}
	}
	if len(src.poison) != 8 {
		t.Errorf("%d bad events produced, want 8", len(src.poison))
	}
}
