package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/floe-dev/floe/catalog"
)

// These tests drive the Kafka commit protocol without a broker: records are
// handed to take as the poll loop would, and commitStream runs with no
// client. The real broker runs in test/kafka_test.go.

func mustKafka(tb testing.TB) *Kafka {
	tb.Helper()
	return mustKafkaOn(tb, MustCatalog(tb, tb.TempDir()))
}

// mustKafkaOn is a second process on the catalog of the first.
func mustKafkaOn(tb testing.TB, cat *catalog.Catalog) *Kafka {
	tb.Helper()
	k, err := NewKafka(cat, KafkaConfig{
		Brokers: []string{"127.0.0.1:1"},
		Streams: []KafkaStream{{Topic: "t", Namespace: "ns", Table: "tbl"}},
		Logger:  slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// own assigns partitions as adjust would for a table with no offsets.
func (k *Kafka) own(tb testing.TB, parts ...int32) {
	tb.Helper()
	m := map[string]map[int32]kgo.Offset{"t": {}}
	for _, p := range parts {
		m["t"][p] = kgo.NewOffset()
	}
	if _, err := k.adjust(context.Background(), m); err != nil {
		tb.Fatal(err)
	}
}

func (k *Kafka) feed(p int32, from int64, values ...string) {
	for i, v := range values {
		k.take(&kgo.Record{Topic: "t", Partition: p, Offset: from + int64(i), Value: []byte(v), Key: []byte("k"), Timestamp: time.Unix(1, 0)})
	}
}

func (k *Kafka) flush() {
	for _, s := range k.streams {
		if s.n > 0 {
			k.commitStream(context.Background(), s, false)
		}
	}
}

func mustOffsets(tb testing.TB, k *Kafka, tbl string) map[string]int64 {
	tb.Helper()
	offs, err := tableOffsets(MustTable(tb, k.cat, "ns", tbl))
	if err != nil {
		tb.Fatal(err)
	}
	return offs
}

func TestKafkaCommitCarriesOffsetsAndDeadLetters(t *testing.T) {
	k := mustKafka(t)
	k.own(t, 0, 1)
	k.feed(0, 0, `{"id":1,"hr":70}`, `{"id":2,"hr":"x"}`, `{"id":3`, `[1]`)
	k.feed(1, 5, `{"id":4,"hr":71,"new":true}`)
	k.flush()

	rows, _ := MustRows(t, k.cat, "ns", "tbl")
	if len(rows) != 2 {
		t.Fatalf("table rows = %v, want ids 1 and 4", rows)
	}
	if got := fmt.Sprint(mustOffsets(t, k, "tbl")); got != "map[t/0:4 t/1:6]" {
		t.Errorf("offsets = %s", got)
	}
	dead, _ := MustRows(t, k.cat, "ns", "tbl"+RejectedSuffix)
	if len(dead) != 3 {
		t.Fatalf("dead letters = %v, want 3", dead)
	}
	sortBy(dead, "offset")
	want := []string{`field "hr": expected long, got string`, "invalid JSON", "record is not a JSON object"}
	for i, d := range dead {
		if r := fmt.Sprint(d["reason"]); len(r) < len(want[i]) || r[:len(want[i])] != want[i] {
			t.Errorf("dead letter %d reason = %q, want %q…", i, r, want[i])
		}
		if d["topic"] != "t" || d["partition"] != int64(0) || d["offset"] != int64(i+1) {
			t.Errorf("dead letter %d = %v", i, d)
		}
	}
}

// A process that wrote dead letters and died before the main commit: the
// next one re-reads the same records and must neither lose nor duplicate.
func TestKafkaDeadLettersIdempotentAfterCrash(t *testing.T) {
	k := mustKafka(t)
	k.own(t, 0)
	k.feed(0, 0, `{"id":1}`, `bad`, `{"id":2}`, `bad`)
	// Simulate the crash: commit only the dead letters of the batch.
	s := k.streams[0]
	p := s.parts[tp{"t", 0}]
	for i := range p.recs {
		if p.recs[i].bad == "" {
			continue
		}
		dl, err := k.loadDeadLetters(context.Background(), "ns", "tbl"+RejectedSuffix, []*kpart{p})
		if err != nil {
			t.Fatal(err)
		}
		if err := k.commitDeadLetters(context.Background(), "ns", "tbl"+RejectedSuffix, dl, []*kpart{p}, []*krec{&p.recs[i]}); err != nil {
			t.Fatal(err)
		}
		break // only the first one made it
	}
	// Restart: a new process reads from the table's offsets (none).
	k2 := mustKafkaOn(t, k.cat)
	k2.own(t, 0)
	k2.feed(0, 0, `{"id":1}`, `bad`, `{"id":2}`, `bad`, `{"id":3}`, `bad`)
	k2.flush()

	rows, _ := MustRows(t, k.cat, "ns", "tbl")
	dead, _ := MustRows(t, k.cat, "ns", "tbl"+RejectedSuffix)
	if len(rows) != 3 || len(dead) != 3 {
		t.Fatalf("rows = %d (want 3), dead letters = %d (want 3: offsets 1, 3, 5 once each): %v", len(rows), len(dead), dead)
	}
	seen := map[int64]bool{}
	for _, d := range dead {
		o := d["offset"].(int64)
		if seen[o] {
			t.Errorf("offset %d dead-lettered twice", o)
		}
		seen[o] = true
	}
	if got := fmt.Sprint(mustOffsets(t, k, "tbl")); got != "map[t/0:6]" {
		t.Errorf("offsets = %s", got)
	}
}

// A batch whose partition another process committed meanwhile is dropped
// and the partition moves to the table's offset.
func TestKafkaFencedBatchIsDropped(t *testing.T) {
	a, b := mustKafka(t), (*Kafka)(nil)
	a.own(t, 0)
	b = mustKafkaOn(t, a.cat)
	b.own(t, 0)
	a.feed(0, 0, `{"id":1}`, `{"id":2}`)
	b.feed(0, 0, `{"id":1}`, `{"id":2}`, `{"id":3}`)
	b.flush()
	a.flush() // fenced: the table holds offset 3, a started from none
	rows, _ := MustRows(t, a.cat, "ns", "tbl")
	if len(rows) != 3 {
		t.Fatalf("rows = %d, want 3 (b's batch only)", len(rows))
	}
	if st := a.Stats(); st.Fenced != 1 {
		t.Errorf("stats = %+v, want one fenced batch", st)
	}
	if p := a.streams[0].parts[tp{"t", 0}]; p.committed != 3 || p.next != 3 || len(p.recs) != 0 {
		t.Errorf("after the fence partition 0 = %+v, want at offset 3 with nothing buffered", *p)
	}
	// a continues from the table's offset.
	a.feed(0, 3, `{"id":4}`)
	a.flush()
	if got := fmt.Sprint(mustOffsets(t, a, "tbl")); got != "map[t/0:4]" {
		t.Errorf("offsets = %s", got)
	}
}

// An HTTP push between two Kafka commits: its snapshot carries no offsets,
// and the next Kafka commit finds them in the parent snapshot.
func TestKafkaOffsetsSurviveOtherWriters(t *testing.T) {
	k := mustKafka(t)
	k.own(t, 0)
	k.feed(0, 0, `{"id":1}`)
	k.flush()
	s := New(k.cat, Config{CommitInterval: time.Millisecond})
	defer s.Close(context.Background())
	MustPush(t, s, "ns", "tbl", `{"id":100,"extra":"x"}`)
	if got := fmt.Sprint(mustOffsets(t, k, "tbl")); got != "map[t/0:1]" {
		t.Fatalf("offsets after a push = %s", got)
	}
	k.feed(0, 1, `{"id":2}`)
	k.flush()
	rows, _ := MustRows(t, k.cat, "ns", "tbl")
	if len(rows) != 3 || k.Stats().Fenced != 0 {
		t.Fatalf("rows = %d (want 3), stats %+v", len(rows), k.Stats())
	}
	if got := fmt.Sprint(mustOffsets(t, k, "tbl")); got != "map[t/0:2]" {
		t.Errorf("offsets = %s", got)
	}
}
