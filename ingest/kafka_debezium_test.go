package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/floe-dev/floe/catalog"
)

// These tests drive debezium-json streams through the commit protocol
// without a broker (as kafka_test.go does); the real broker runs in
// test/kafka_debezium_test.go.

func mustDebeziumKafka(tb testing.TB, cat *catalog.Catalog, stream KafkaStream) *Kafka {
	tb.Helper()
	stream.Topic, stream.Namespace, stream.Table, stream.Format = "t", "ns", "tbl", "debezium-json"
	k, err := NewKafka(cat, KafkaConfig{
		Brokers: []string{"127.0.0.1:1"},
		Streams: []KafkaStream{stream},
		Logger:  slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// change feeds one record to partition p at offset off: key is the record
// key ("" for none), val the value (nil: a tombstone).
func (k *Kafka) change(p int32, off int64, key string, val *string) {
	r := &kgo.Record{Topic: "t", Partition: p, Offset: off, Timestamp: time.Unix(1, 0)}
	if key != "" {
		r.Key = []byte(key)
	}
	if val != nil {
		r.Value = []byte(*val)
	}
	k.take(r)
}

func ins(id int, name string) *string {
	return str(event("c", "null", fmt.Sprintf(`{"id":%d,"name":%q}`, id, name)))
}

func upd(id int, name string) *string {
	return str(event("u", fmt.Sprintf(`{"id":%d}`, id), fmt.Sprintf(`{"id":%d,"name":%q}`, id, name)))
}

func del(id int) *string { return str(event("d", fmt.Sprintf(`{"id":%d}`, id), "null")) }

func idKey(id int) string { return withSchema(fmt.Sprintf(`{"id":%d}`, id)) }

// state reads the table with iceberg-go as "id=name" pairs, sorted.
func state(tb testing.TB, cat *catalog.Catalog) string {
	tb.Helper()
	rows, _ := MustRows(tb, cat, "ns", "tbl")
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%v=%v", r["id"], r["name"]))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestDebeziumCommitAppliesChangesByKey(t *testing.T) {
	k := mustDebeziumKafka(t, MustCatalog(t, t.TempDir()), KafkaStream{}) // key from the record keys
	k.own(t, 0, 1)
	k.change(0, 0, idKey(1), ins(1, "a"))
	k.change(0, 1, idKey(2), ins(2, "a"))
	k.change(1, 0, idKey(3), ins(3, "a"))
	k.change(1, 1, idKey(4), ins(4, "a"))
	k.change(1, 2, idKey(4), nil) // a tombstone
	k.flush()
	if got := state(t, k.cat); got != "1=a 2=a 3=a 4=a" {
		t.Fatalf("after the inserts: %s", got)
	}
	if got := fmt.Sprint(mustOffsets(t, k, "tbl")); got != "map[t/0:2 t/1:3]" {
		t.Errorf("offsets = %s, want the tombstone's consumed", got)
	}

	bad := str(`{"op":"c","after":`)
	k.change(0, 2, idKey(1), upd(1, "b"))
	k.change(0, 3, idKey(2), del(2))
	k.change(0, 4, idKey(2), nil)
	k.change(0, 5, idKey(2), ins(2, "again"))
	k.change(1, 3, idKey(3), upd(3, "b"))
	k.change(1, 4, idKey(3), upd(3, "c"))
	k.change(1, 5, idKey(4), del(4))
	k.change(1, 6, "", str(event("t", "null", "null")))
	k.change(1, 7, idKey(5), bad)
	k.change(1, 8, idKey(6), ins(6, "new"))
	k.flush()
	if got := state(t, k.cat); got != "1=b 2=again 3=c 6=new" {
		t.Fatalf("after updates, deletes and a re-insert: %s", got)
	}
	if got := fmt.Sprint(mustOffsets(t, k, "tbl")); got != "map[t/0:6 t/1:9]" {
		t.Errorf("offsets = %s", got)
	}
	dead, _ := MustRows(t, k.cat, "ns", "tbl"+RejectedSuffix)
	var reasons []string
	for _, d := range dead {
		reasons = append(reasons, fmt.Sprintf("%v:%v", d["offset"], d["reason"]))
	}
	sort.Strings(reasons)
	if got := strings.Join(reasons, " | "); !strings.HasPrefix(got, "6:truncate events are not applied | 7:invalid JSON") {
		t.Errorf("dead letters = %s", got)
	}

	// One snapshot with the rows and the deletes, in format version 2.
	tbl := MustTable(t, k.cat, "ns", "tbl")
	md := tbl.Metadata()
	if md.Version() != 2 {
		t.Errorf("format version %d", md.Version())
	}
	snap := md.CurrentSnapshot()
	if sum := snap.Summary.Properties; sum["added-data-files"] == "" || sum["added-equality-delete-files"] != "1" || sum[OffsetsProperty] == "" {
		t.Errorf("snapshot summary %v, want data files, one equality delete file and the offsets", sum)
	}
	// The plan the gateway reads: the new data files carry no delete of
	// their own snapshot; the first snapshot's file carries the delete.
	scan, err := tbl.Plan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var with, without int
	for _, f := range scan.Files {
		if len(f.EqualityDeletes) > 0 {
			with++
		} else {
			without++
		}
	}
	if with != 1 || without == 0 {
		t.Errorf("planned files: %d with equality deletes (want 1: the first commit's), %d without", with, without)
	}

	// A batch of deletes only.
	k.change(0, 6, idKey(1), del(1))
	k.change(1, 9, idKey(6), del(6))
	k.flush()
	if got := state(t, k.cat); got != "2=again 3=c" {
		t.Fatalf("after deleting 1 and 6: %s", got)
	}
	if got := fmt.Sprint(mustOffsets(t, k, "tbl")); got != "map[t/0:7 t/1:10]" {
		t.Errorf("offsets = %s", got)
	}
}

// An update whose new image conflicts with the column types goes to the
// dead-letter table, and the key keeps its row.
func TestDebeziumRejectedUpdateKeepsRow(t *testing.T) {
	k := mustDebeziumKafka(t, MustCatalog(t, t.TempDir()), KafkaStream{Key: []string{"id"}})
	k.own(t, 0)
	k.change(0, 0, "", str(event("c", "null", `{"id":1,"qty":5}`)))
	k.flush()
	k.change(0, 1, "", str(event("u", "null", `{"id":1,"qty":"many"}`)))
	k.change(0, 2, "", str(event("c", "null", `{"id":2,"qty":1,"note":"new column"}`)))
	k.flush()
	rows, _ := MustRows(t, k.cat, "ns", "tbl")
	sort.Slice(rows, func(i, j int) bool { return rows[i]["id"].(int64) < rows[j]["id"].(int64) })
	if got := fmt.Sprint(rows); got != "[map[id:1 note:<nil> qty:5] map[id:2 note:new column qty:1]]" {
		t.Fatalf("rows = %s", got)
	}
	dead, _ := MustRows(t, k.cat, "ns", "tbl"+RejectedSuffix)
	if len(dead) != 1 || !strings.Contains(fmt.Sprint(dead[0]["reason"]), `field "qty"`) {
		t.Fatalf("dead letters = %v", dead)
	}
}

// Updates and deletes reach the rows of a table partitioned by its key.
func TestDebeziumPartitionedByKey(t *testing.T) {
	k := mustDebeziumKafka(t, MustCatalog(t, t.TempDir()), KafkaStream{Key: []string{"id"}, PartitionBy: []string{"bucket[4](id)"}})
	k.own(t, 0)
	for i := range 8 {
		k.change(0, int64(i), "", ins(i, "a"))
	}
	k.flush()
	for i := range 8 {
		if i%2 == 0 {
			k.change(0, int64(8+i), "", upd(i, "b"))
		} else {
			k.change(0, int64(8+i), "", del(i))
		}
	}
	k.flush()
	if got := state(t, k.cat); got != "0=b 2=b 4=b 6=b" {
		t.Fatalf("rows = %s", got)
	}
	if spec := MustTable(t, k.cat, "ns", "tbl").Spec(); spec.NumFields() != 1 {
		t.Errorf("spec %v, want bucket[4](id)", spec)
	}
}

// A format version 1 table is upgraded in the commit that needs deletes.
func TestDebeziumUpgradesV1Table(t *testing.T) {
	cat := MustCatalog(t, t.TempDir())
	sc := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64},
		iceberg.NestedField{ID: 2, Name: "name", Type: iceberg.PrimitiveTypes.String})
	if _, err := cat.CreateTable(context.Background(), "ns", "tbl", sc, map[string]string{"format-version": "1"}); err != nil {
		t.Fatal(err)
	}
	k := mustDebeziumKafka(t, cat, KafkaStream{Key: []string{"id"}})
	k.own(t, 0)
	k.change(0, 0, "", ins(1, "a"))
	k.flush()
	k.change(0, 1, "", upd(1, "b"))
	k.flush()
	if got := state(t, cat); got != "1=b" {
		t.Fatalf("rows = %s", got)
	}
	if v := MustTable(t, cat, "ns", "tbl").Metadata().Version(); v != 2 {
		t.Errorf("format version %d, want 2", v)
	}
}

// Key columns an equality delete cannot use pause the stream with the
// reason; nothing is committed and nothing dropped.
func TestDebeziumKeyUnfitForDeletesPauses(t *testing.T) {
	cases := []struct {
		name   string
		create func(*catalog.Catalog) error
		stream KafkaStream
		want   string
	}{
		{
			name: "floating-point key column",
			create: func(cat *catalog.Catalog) error {
				_, err := cat.CreateTable(context.Background(), "ns", "tbl", iceberg.NewSchema(0,
					iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Float64}), nil)
				return err
			},
			stream: KafkaStream{Key: []string{"id"}},
			want:   `key column "id" is a double column; equality deletes cannot compare floating-point columns`,
		},
		{
			name:   "partitioned by a column outside the learned key",
			stream: KafkaStream{PartitionBy: []string{"name"}},
			want:   `partition_by "name": a debezium-json table can be partitioned by key columns only (key [id])`,
		},
		{
			name: "existing table partitioned by another column",
			create: func(cat *catalog.Catalog) error {
				sc := iceberg.NewSchema(0,
					iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64},
					iceberg.NestedField{ID: 2, Name: "name", Type: iceberg.PrimitiveTypes.String})
				spec := iceberg.NewPartitionSpec(iceberg.PartitionField{SourceIDs: []int{2}, FieldID: 1000, Name: "name", Transform: iceberg.IdentityTransform{}})
				_, err := cat.CreateTable(context.Background(), "ns", "tbl", sc, nil, catalog.WithPartitionSpec(&spec))
				return err
			},
			stream: KafkaStream{Key: []string{"id"}},
			want:   "the table is partitioned by identity(name), which is not a key column [id]",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cat := MustCatalog(t, t.TempDir())
			if c.create != nil {
				if err := c.create(cat); err != nil {
					t.Fatal(err)
				}
			}
			k := mustDebeziumKafka(t, cat, c.stream)
			k.own(t, 0)
			k.change(0, 0, idKey(1), ins(1, "a"))
			k.flush()
			k.applyPauses(context.Background())
			if s := k.streams[0]; !strings.Contains(s.paused, c.want) {
				t.Fatalf("paused %q, want the reason %q", s.paused, c.want)
			}
			if tbl, err := cat.Reload(context.Background(), "ns", "tbl"); err == nil && tbl.SnapshotID() != 0 {
				t.Errorf("a commit landed: snapshot %d", tbl.SnapshotID())
			}
		})
	}
}

// A table whose partition spec changed cannot take equality deletes that
// reach every row of a key.
func TestDebeziumChangedSpecPauses(t *testing.T) {
	cat := MustCatalog(t, t.TempDir())
	k := mustDebeziumKafka(t, cat, KafkaStream{Key: []string{"id"}})
	k.own(t, 0)
	k.change(0, 0, "", ins(1, "a"))
	k.flush()
	k2 := mustDebeziumKafka(t, cat, KafkaStream{Key: []string{"id"}, PartitionBy: []string{"bucket[2](id)"}})
	k2.own(t, 0)
	k2.change(0, 1, "", upd(1, "b"))
	k2.streams[0].parts[tp{"t", 0}].committed = 1 // as adjust would have read it
	k2.flush()
	k2.applyPauses(context.Background())
	if s := k2.streams[0]; !strings.Contains(s.paused, "partition spec has changed") {
		t.Fatalf("paused %q", s.paused)
	}
	if got := state(t, cat); got != "1=a" {
		t.Errorf("rows = %s", got)
	}
}

// A batch whose partition another process committed is dropped (fenced)
// as for JSON. (Commits lost against another writer are retried by
// catalog.Commit: catalog's TestCommitRetriesLostRaces.)
func TestDebeziumCommitIsFenced(t *testing.T) {
	k := mustDebeziumKafka(t, MustCatalog(t, t.TempDir()), KafkaStream{Key: []string{"id"}})
	k.own(t, 0)
	k.change(0, 0, "", ins(1, "a"))
	k.flush()
	k.change(0, 1, "", upd(1, "b"))
	k.flush()

	other := mustDebeziumKafka(t, k.cat, KafkaStream{Key: []string{"id"}})
	other.own(t, 0)
	// As if assigned before the commits above: it starts from no offset.
	op := other.streams[0].parts[tp{"t", 0}]
	op.committed, op.next = -1, -1
	other.change(0, 0, "", ins(1, "z"))
	other.flush()
	if st := other.Stats(); st.Fenced != 1 {
		t.Errorf("stats %+v, want the batch fenced", st)
	}
	if got := state(t, k.cat); got != "1=b" {
		t.Errorf("rows = %s", got)
	}
}

func TestDebeziumStreamConfig(t *testing.T) {
	cat := MustCatalog(t, t.TempDir())
	for _, c := range []struct {
		stream KafkaStream
		want   string
	}{
		{KafkaStream{Format: "json", Key: []string{"id"}}, "key applies to format debezium-json only"},
		{KafkaStream{Format: "debezium-json", Key: []string{"a.b"}}, `key[0] "a.b": a key column is a top-level column name`},
		{KafkaStream{Format: "debezium-json", Key: []string{"id", ""}}, `key[1] "": a key column is a top-level column name`},
		{KafkaStream{Format: "debezium-json", Key: []string{"id", "id"}}, `key[1] "id": repeated`},
		{KafkaStream{Format: "debezium-json", Key: []string{"id"}, PartitionBy: []string{"day(at)"}}, `partition_by "day(at)": a debezium-json table can be partitioned by key columns only (key [id])`},
		{KafkaStream{Format: "protobuf"}, `format "protobuf" is not supported (json, avro, debezium-json)`},
	} {
		c.stream.Topic, c.stream.Namespace, c.stream.Table = "t", "ns", "tbl"
		_, err := NewKafka(cat, KafkaConfig{Brokers: []string{"127.0.0.1:1"}, Streams: []KafkaStream{c.stream}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.stream, err, c.want)
		}
	}
}
