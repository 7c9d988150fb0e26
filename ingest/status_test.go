package ingest

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The status and the metrics of a Kafka source follow its commits: counts
// per partition, the table's offsets, rejected records, lag against the high
// watermark the fetches carried, and ownership.
func TestKafkaStatusAndMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	k, err := NewKafka(MustCatalog(t, t.TempDir()), KafkaConfig{
		Brokers:    []string{"127.0.0.1:1"},
		Streams:    []KafkaStream{{Topic: "t", Namespace: "ns", Table: "tbl"}},
		Logger:     slog.New(slog.DiscardHandler),
		Registerer: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	k.own(t, 0, 1)
	if st := k.Status(); len(st) != 2 || st[0].CommittedOffset != -1 || st[0].LagRecords != -1 {
		t.Fatalf("status after assignment = %+v", st)
	}
	k.feed(0, 0, `{"id":1}`, `{"id":2}`, `bad`)
	k.feed(1, 0, `{"id":3}`)
	// A poll saw these high watermarks.
	fs := kgo.Fetches{{Topics: []kgo.FetchTopic{{Topic: "t", Partitions: []kgo.FetchPartition{
		{Partition: 0, HighWatermark: 10, LogStartOffset: 0}, {Partition: 1, HighWatermark: 1}}}}}}
	k.observe(fs)
	st := k.Status()
	if st[0].LagRecords != 10 || st[0].LagSeconds < 1 {
		t.Errorf("before the commit: partition 0 lag = %d records, %.0fs; want 10 and the age of its oldest record", st[0].LagRecords, st[0].LagSeconds)
	}
	k.flush()
	k.observe(nil)
	st = k.Status()
	p0, p1 := st[0], st[1]
	if p0.Table != "ns.tbl" || p0.Partition != 0 || p0.Records != 2 || p0.Rejected != 1 || p0.CommittedOffset != 3 ||
		p0.LagRecords != 7 || p0.LagSeconds != 0 || p0.Commits != 1 || p0.FilesLastCommit != 1 || p0.LastCommit.IsZero() {
		t.Errorf("partition 0 status = %+v", p0)
	}
	if p1.Records != 1 || p1.LagRecords != 0 || p1.RecordsPerSecond <= 0 || p1.BytesPerSecond <= 0 {
		t.Errorf("partition 1 status = %+v", p1)
	}
	if rows := StatusRows(st); len(rows) != 2 || len(rows[0]) != len(StatusColumns) || len(StatusTypes) != len(StatusColumns) {
		t.Errorf("status rows = %v", rows)
	}

	want := `
# HELP floe_kafka_lag_records High watermark minus the table's next offset.
# TYPE floe_kafka_lag_records gauge
floe_kafka_lag_records{partition="0",table="ns.tbl",topic="t"} 7
floe_kafka_lag_records{partition="1",table="ns.tbl",topic="t"} 0
# HELP floe_kafka_rejected_total Records written to the dead-letter table instead.
# TYPE floe_kafka_rejected_total counter
floe_kafka_rejected_total{partition="0",table="ns.tbl",topic="t"} 1
floe_kafka_rejected_total{partition="1",table="ns.tbl",topic="t"} 0
# HELP floe_kafka_records_total Records committed to the table.
# TYPE floe_kafka_records_total counter
floe_kafka_records_total{partition="0",table="ns.tbl",topic="t"} 2
floe_kafka_records_total{partition="1",table="ns.tbl",topic="t"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "floe_kafka_records_total", "floe_kafka_rejected_total", "floe_kafka_lag_records"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "floe_kafka_commit_duration_seconds", "floe_kafka_commit_files"); err != nil || n != 2 {
		t.Errorf("commit histograms: %d series, %v", n, err)
	}

	// A revoked partition leaves the status; its counters stay.
	k.revoked(context.Background(), nil, map[string][]int32{"t": {1}})
	if st := k.Status(); len(st) != 1 || st[0].Partition != 0 {
		t.Errorf("status after revoking partition 1 = %+v", st)
	}
	if n := testutil.CollectAndCount(newCollector(k.stats, "floe_kafka", true), "floe_kafka_records_total"); n != 2 {
		t.Errorf("records_total series after the revocation = %d, want 2", n)
	}
}

// HTTP pushes show in the status per table, and requests are counted by code.
func TestServiceStatusAndMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	s := New(MustCatalog(t, t.TempDir()), Config{CommitInterval: 10 * time.Millisecond, Registerer: reg})
	defer s.Close(context.Background())
	if _, err := s.Push(context.Background(), "ns", "pushed", strings.NewReader("{\"a\":1}\n{\"a\":2}\n")); err != nil {
		t.Fatal(err)
	}
	st := s.Status()
	if len(st) != 1 || st[0].Source != "http" || st[0].Table != "ns.pushed" || st[0].Records != 2 || st[0].Bytes != 16 || st[0].Commits != 1 {
		t.Fatalf("status = %+v", st)
	}
	if n, err := testutil.GatherAndCount(reg, "floe_http_ingest_records_total", "floe_http_ingest_commit_duration_seconds"); err != nil || n != 2 {
		t.Errorf("http ingest metrics: %d series, %v", n, err)
	}
}
