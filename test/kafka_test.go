package test

import (
	"bytes"
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

// Kafka suites: a real broker (MustKafka), records produced with franz-go,
// `floe serve --config` consuming them, and checks through the HTTP SQL
// endpoint that the table holds each produced record exactly once: by its
// unique id, and by (partition, offset) — the offsets of the rows and of the
// dead letters together cover every produced offset once.

// kafkaLog records where each produced record went.
type kafkaLog struct {
	mu     sync.Mutex
	good   map[int64]kafkaPos // id → position, for records that must land in the table
	poison map[kafkaPos]bool  // positions of records that must land in __rejected
	ends   map[int32]int64    // partition → next offset
	pushed map[int64]bool     // ids of records another writer committed to the table
}

type kafkaPos struct {
	partition int32
	offset    int64
}

func newKafkaLog() *kafkaLog {
	return &kafkaLog{good: map[int64]kafkaPos{}, poison: map[kafkaPos]bool{}, ends: map[int32]int64{}, pushed: map[int64]bool{}}
}

// produce sends records with ids [from, from+n) to topic, keyed by id; every
// poisonEvery-th record (0: none) is a bad one (malformed JSON or a type
// conflict, alternately). It returns when all are acknowledged.
func (l *kafkaLog) mustProduce(tb testing.TB, cl *kgo.Client, topic string, from, n int64, poisonEvery int64) {
	tb.Helper()
	if err := l.produce(cl, topic, from, n, poisonEvery); err != nil {
		tb.Fatal(err)
	}
}

// produce is mustProduce for any goroutine: it returns the first error.
func (l *kafkaLog) produce(cl *kgo.Client, topic string, from, n int64, poisonEvery int64) error {
	var wg sync.WaitGroup
	var firstErr error
	var errMu sync.Mutex
	at := time.Now().UTC()
	for id := from; id < from+n; id++ {
		var value string
		bad := poisonEvery > 0 && id%poisonEvery == poisonEvery-1
		switch {
		case bad && (id/poisonEvery)%2 == 0:
			value = fmt.Sprintf(`{"id": %d, "hr": `, id) // malformed
		case bad:
			value = fmt.Sprintf(`{"id": %d, "site": "S-%d", "hr": "fast"}`, id, id%17) // hr is a long
		default:
			value = fmt.Sprintf(`{"id": %d, "site": "S-%d", "hr": %d, "temp": %.1f, "ok": %t, "at": %q}`,
				id, id%17, 50+id%60, 36+float64(id%30)/10, id%3 == 0, at.Add(time.Duration(id)*time.Millisecond).Format(time.RFC3339Nano))
		}
		wg.Add(1)
		cl.Produce(context.Background(), &kgo.Record{Topic: topic, Key: []byte("k-" + strconv.FormatInt(id, 10)), Value: []byte(value)},
			func(r *kgo.Record, err error) {
				defer wg.Done()
				if err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
					return
				}
				pos := kafkaPos{r.Partition, r.Offset}
				l.mu.Lock()
				if bad {
					l.poison[pos] = true
				} else {
					l.good[id] = pos
				}
				l.ends[r.Partition] = max(l.ends[r.Partition], r.Offset+1)
				l.mu.Unlock()
			})
	}
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("produce to %s: %w", topic, firstErr)
	}
	return nil
}

// writeKafkaConfig writes a floe config file with one stream and returns
// its path.
func writeKafkaConfig(tb testing.TB, brokers, group, topic, table, extra string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "floe.yaml")
	yaml := fmt.Sprintf(`ingest:
  kafka:
    brokers: [%q]
    group: %s
%s    streams:
      - topic: %s
        table: %s
        format: json
        commit_interval: 1s
        start_from: earliest
`, brokers, group, extra, topic, table)
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// count returns count(*) of table, or -1 while it does not exist.
func count(tb testing.TB, f *Floe, table string) int64 {
	tb.Helper()
	resp := f.Query(tb, f.User, f.Password, "SELECT count(*) FROM "+table)
	if resp.Status != 200 {
		return -1
	}
	var res QueryResult
	if err := jsonDecode(resp.Body, &res); err != nil || len(res.Rows) != 1 {
		return -1
	}
	n, _ := strconv.ParseInt(fmt.Sprint(res.Rows[0][0]), 10, 64)
	return n
}

// waitCounts waits until table and its dead-letter table hold rows and
// rejected rows, or limit passes.
func waitCounts(tb testing.TB, f *Floe, table string, rows, rejected int64, limit time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for {
		r, d := count(tb, f, table), count(tb, f, table+"__rejected")
		if rejected == 0 && d == -1 {
			d = 0
		}
		if r >= rows && d >= rejected {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("after %s %s holds %d rows (want %d) and its __rejected %d (want %d)", limit, table, r, rows, d, rejected)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkExactlyOnce checks that table holds exactly the good records of l
// (by id: none missing, none twice) and table__rejected exactly its poison
// records (by position), and that rows and dead letters together cover
// every produced (partition, offset) once.
func checkExactlyOnce(tb testing.TB, f *Floe, table string, l *kafkaLog) {
	tb.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := f.MustQuery(tb, "SELECT id FROM "+table)
	seen := map[int64]int{}
	covered := map[kafkaPos]int{}
	for _, row := range ids.Rows {
		id, err := strconv.ParseInt(fmt.Sprint(row[0]), 10, 64)
		if err != nil {
			tb.Fatalf("id %v: %v", row[0], err)
		}
		seen[id]++
		if pos, ok := l.good[id]; ok {
			covered[pos]++
		}
	}
	var missing, dup, unknown []int64
	for id := range l.good {
		if seen[id] == 0 {
			missing = append(missing, id)
		}
	}
	for id := range l.pushed {
		if seen[id] == 0 {
			missing = append(missing, id)
		}
	}
	for id, n := range seen {
		if n > 1 {
			dup = append(dup, id)
		}
		if _, ok := l.good[id]; !ok && !l.pushed[id] {
			unknown = append(unknown, id)
		}
	}
	if len(l.poison) > 0 {
		rej := f.MustQuery(tb, `SELECT "partition", "offset", reason, CAST(value AS VARCHAR) FROM `+table+`__rejected`)
		for _, row := range rej.Rows {
			p, _ := strconv.ParseInt(fmt.Sprint(row[0]), 10, 64)
			o, _ := strconv.ParseInt(fmt.Sprint(row[1]), 10, 64)
			pos := kafkaPos{int32(p), o}
			if !l.poison[pos] {
				tb.Errorf("__rejected holds %v, which was not a poison record (reason %v, value %v)", pos, row[2], row[3])
			}
			if fmt.Sprint(row[2]) == "" {
				tb.Errorf("__rejected row %v has no reason", pos)
			}
			covered[pos]++
		}
	}
	var gaps, twice int
	for p, end := range l.ends {
		for o := int64(0); o < end; o++ {
			switch covered[kafkaPos{p, o}] {
			case 0:
				gaps++
			case 1:
			default:
				twice++
			}
		}
	}
	sort.Slice(missing, func(i, j int) bool { return missing[i] < missing[j] })
	if len(missing) > 0 || len(dup) > 0 || len(unknown) > 0 || gaps > 0 || twice > 0 {
		tb.Fatalf("%s is not exactly the produced records: %d missing (first %v), %d duplicated (%v), %d unknown; "+
			"(partition, offset): %d not covered, %d covered twice",
			table, len(missing), head(missing), len(dup), head(dup), len(unknown), gaps, twice)
	}
}

func head(s []int64) []int64 { return s[:min(len(s), 10)] }

// TestKafkaExactlyOnce produces keyed JSON records with poison records
// interleaved to a 4-partition topic, consumes them with floe serve, and
// checks the table and its dead-letter table hold exactly what was
// produced; then measures freshness: produce one record, time until a
// query sees it.
func TestKafkaExactlyOnce(t *testing.T) {
	brokers := MustKafka(t)
	cl := MustKafkaClient(t, brokers)
	const topic = "e2e-vitals"
	MustCreateTopic(t, cl, topic, 4)

	l := newKafkaLog()
	const n = 100_000
	start := time.Now()
	l.mustProduce(t, cl, topic, 0, n, 1000)
	t.Logf("produced %d records (%d poison) in %s", n, len(l.poison), time.Since(start).Round(time.Millisecond))

	cfg := writeKafkaConfig(t, brokers, "e2e-once", topic, "e2e_kafka.vitals", "")
	MustBuildFloe(t)
	start = time.Now() // the figure includes floe's own start
	f := MustStartFloe(t, WithConfigFile(cfg))
	waitCounts(t, f, "e2e_kafka.vitals", int64(len(l.good)), int64(len(l.poison)), 90*time.Second)
	took := time.Since(start)
	t.Logf("backlog of %d records committed in %s from floe's start: %.0f rows/s", n, took.Round(time.Millisecond), float64(n)/took.Seconds())
	checkExactlyOnce(t, f, "e2e_kafka.vitals", l)
	if testing.Verbose() {
		for _, line := range strings.Split(f.Log(), "\n") {
			if strings.Contains(line, "kafka:") || strings.Contains(line, "serving") {
				t.Log(line)
			}
		}
	}

	reasons := f.MustQuery(t, `SELECT DISTINCT reason FROM e2e_kafka.vitals__rejected ORDER BY 1`)
	var rs []string
	for _, r := range reasons.Rows {
		rs = append(rs, fmt.Sprint(r[0]))
	}
	joined := strings.Join(rs, " | ")
	if !strings.Contains(joined, "invalid JSON") || !strings.Contains(joined, `field "hr": expected long, got string`) {
		t.Errorf("dead-letter reasons = %s; want the malformed JSON and the type conflict named", joined)
	}
	keys := f.MustQuery(t, `SELECT count(*) FROM e2e_kafka.vitals__rejected WHERE CAST(key AS VARCHAR) LIKE 'k-%' AND topic = 'e2e-vitals'`)
	if got := fmt.Sprint(keys.Rows[0][0]); got != strconv.Itoa(len(l.poison)) {
		t.Errorf("dead letters with their raw key and topic: %s, want %d", got, len(l.poison))
	}

	// Freshness: one record at a time, visible through a query.
	var worst time.Duration
	for i := range 5 {
		id := int64(n + i)
		sent := time.Now()
		l.mustProduce(t, cl, topic, id, 1, 0)
		for {
			res := f.MustQuery(t, fmt.Sprintf("SELECT count(*) FROM e2e_kafka.vitals WHERE id = %d", id))
			if fmt.Sprint(res.Rows[0][0]) == "1" {
				break
			}
			if time.Since(sent) > 10*time.Second {
				t.Fatalf("record %d not visible after 10s", id)
			}
			time.Sleep(20 * time.Millisecond)
		}
		d := time.Since(sent)
		worst = max(worst, d)
		t.Logf("freshness of record %d: %s", id, d.Round(time.Millisecond))
	}
	if worst > 3*time.Second {
		t.Errorf("worst freshness %s, want ≤ 3s with commit_interval 1s", worst)
	}
	checkExactlyOnce(t, f, "e2e_kafka.vitals", l)
}

// TestKafkaSIGKILL kills floe with SIGKILL at random moments, more than 20
// times, while records (with poison among them) stream into a 4-partition
// topic, restarting it each time; at the end the table holds every record
// exactly once.
func TestKafkaSIGKILL(t *testing.T) {
	brokers := MustKafka(t)
	cl := MustKafkaClient(t, brokers)
	const topic = "e2e-kill"
	MustCreateTopic(t, cl, topic, 4)
	// A static member: a restarted floe takes its partitions back at once.
	cfg := writeKafkaConfig(t, brokers, "e2e-kill", topic, "e2e_kafka.kill", "    instance_id: e2e-kill-1\n    session_timeout: 6s\n")
	dir := t.TempDir()

	l := newKafkaLog()
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the stream: 500 records every 100ms until stopped
		defer wg.Done()
		id := int64(0)
		for ctx.Err() == nil {
			if err := l.produce(cl, topic, id, 500, 97); err != nil {
				t.Errorf("produce: %v", err)
				return
			}
			id += 500
			time.Sleep(100 * time.Millisecond)
		}
	}()

	const kills = 22
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for i := range kills {
		f := MustStartFloe(t, WithDataDir(dir), WithConfigFile(cfg))
		time.Sleep(time.Duration(300+rng.IntN(2200)) * time.Millisecond)
		f.Kill()
		if i%5 == 4 {
			t.Logf("kill %d: the table has %d data files", i+1, dataFiles(dir))
		}
	}
	stop()
	wg.Wait()

	f := MustStartFloe(t, WithDataDir(dir), WithConfigFile(cfg))
	l.mu.Lock()
	good, poison := int64(len(l.good)), int64(len(l.poison))
	l.mu.Unlock()
	t.Logf("produced %d good and %d poison records during %d kills", good, poison, kills)
	waitCounts(t, f, "e2e_kafka.kill", good, poison, 90*time.Second)
	time.Sleep(1500 * time.Millisecond) // anything extra would be committed by now
	checkExactlyOnce(t, f, "e2e_kafka.kill", l)
	if !strings.Contains(f.Log(), "kafka: assigned") {
		t.Errorf("the last floe logged no assignment")
	}
}

// dataFiles counts the data files of e2e_kafka.kill in dir (a progress hint).
func dataFiles(dir string) int {
	files, _ := filepath.Glob(filepath.Join(dir, "warehouse", "e2e_kafka.db", "kill", "data", "*.parquet"))
	return len(files)
}

func jsonDecode(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}
