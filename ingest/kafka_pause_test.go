package ingest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A paused stream drops what it buffered and commits nothing; records
// taken while paused are dropped too; on resume it is positioned at the
// table's offsets, from which the records are read again.
func TestKafkaPauseAndResume(t *testing.T) {
	k := mustKafka(t)
	k.own(t, 0)
	k.feed(0, 0, `{"id":1}`, `{"id":2}`)
	k.flush()
	k.feed(0, 2, `{"id":3}`)
	if !k.Pause("ns.tbl", PausePolicy, `principal "svc" may not insert into ns.tbl (floe:Insert denied)`) {
		t.Fatal("Pause did not find the stream")
	}
	if k.Pause("ns.other", PausePolicy, "x") {
		t.Error("Pause found a stream for a table no stream writes")
	}
	k.applyPauses(context.Background())
	s := k.streams[0]
	if s.n != 0 || s.paused == "" {
		t.Fatalf("after pausing: %d buffered, paused %q", s.n, s.paused)
	}
	k.feed(0, 3, `{"id":4}`)
	k.commitDue(context.Background(), true)
	k.flush()
	rows, _ := MustRows(t, k.cat, "ns", "tbl")
	if len(rows) != 2 || fmt.Sprint(mustOffsets(t, k, "tbl")) != "map[t/0:2]" {
		t.Fatalf("a paused stream committed: %d rows, offsets %v", len(rows), mustOffsets(t, k, "tbl"))
	}
	k.observe(nil)
	st := k.Status()
	if len(st) != 1 || !strings.Contains(st[0].Paused, "floe:Insert denied") {
		t.Fatalf("status = %+v, want the partition paused with the reason", st)
	}
	if row := StatusRows(st)[0]; row[len(row)-2] != "paused" || row[len(row)-1] != st[0].Paused {
		t.Errorf("status row ends %v, want state paused and the reason", row[len(row)-2:])
	}
	if v := testutil.ToFloat64(k.paused.WithLabelValues("ns.tbl")); v != 1 {
		t.Errorf("floe_kafka_stream_paused = %v, want 1", v)
	}

	// Two causes hold the stream; lifting one leaves it paused.
	k.Pause("ns.tbl", PausePartitionBy, "spec does not fit")
	k.Resume("ns.tbl", PausePolicy)
	k.applyPauses(context.Background())
	if s.paused != "spec does not fit" {
		t.Fatalf("with one cause left: paused %q", s.paused)
	}
	k.Resume("ns.tbl", PausePartitionBy)
	k.applyPauses(context.Background())
	if p := s.parts[tp{"t", 0}]; s.paused != "" || p.next != 2 || p.committed != 2 {
		t.Fatalf("after resuming: paused %q, partition %+v; want it at the table's offset 2", s.paused, *p)
	}
	k.feed(0, 2, `{"id":3}`, `{"id":4}`) // read again from offset 2
	k.flush()
	rows, _ = MustRows(t, k.cat, "ns", "tbl")
	if len(rows) != 4 || fmt.Sprint(mustOffsets(t, k, "tbl")) != "map[t/0:4]" {
		t.Fatalf("after resuming: %d rows, offsets %v; want 4, t/0:4", len(rows), mustOffsets(t, k, "tbl"))
	}
	if v := testutil.ToFloat64(k.paused.WithLabelValues("ns.tbl")); v != 0 {
		t.Errorf("floe_kafka_stream_paused = %v, want 0", v)
	}
	k.observe(nil)
	if st := k.Status(); st[0].Paused != "" || StatusRows(st)[0][len(StatusColumns)-2] != "running" {
		t.Errorf("status after resuming = %+v", st)
	}
}

// A stream paused before it ever committed resumes at the start: the
// table does not exist yet and has no offsets.
func TestKafkaResumeBeforeTableExists(t *testing.T) {
	k := mustKafka(t)
	k.own(t, 0)
	k.feed(0, 0, `{"id":1}`)
	k.Pause("ns.tbl", PausePolicy, "denied")
	k.applyPauses(context.Background())
	k.Resume("ns.tbl", PausePolicy)
	k.applyPauses(context.Background())
	if s := k.streams[0]; s.paused != "" || s.parts[tp{"t", 0}].next != 0 {
		t.Fatalf("after resuming: paused %q, next %d; want running from offset 0", s.paused, s.parts[tp{"t", 0}].next)
	}
}

// The gauge is registered with the other Kafka metrics.
func TestKafkaPausedGaugeRegistered(t *testing.T) {
	reg := prometheus.NewRegistry()
	_, err := NewKafka(MustCatalog(t, t.TempDir()), KafkaConfig{Brokers: []string{"b:1"}, Registerer: reg,
		Streams: []KafkaStream{{Topic: "t", Namespace: "ns", Table: "tbl"}}})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg, "floe_kafka_stream_paused"); err != nil || n != 1 {
		t.Fatalf("floe_kafka_stream_paused series = %d (%v), want 1", n, err)
	}
}
