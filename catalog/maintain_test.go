package catalog_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/floe-dev/floe/catalog"
	"github.com/floe-dev/floe/internal/icebergtest"
)

// kvSchema is a keyed table: id (the key) and v.
var kvSchema = iceberg.NewSchema(0,
	iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64},
	iceberg.NestedField{ID: 2, Name: "v", Type: iceberg.PrimitiveTypes.String},
)

func kvRecord(tb testing.TB, sc *iceberg.Schema, rows map[int64]string) arrow.RecordBatch {
	tb.Helper()
	asc, err := table.SchemaToArrowSchema(sc, nil, true, false)
	if err != nil {
		tb.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, asc)
	defer b.Release()
	ids := make([]int64, 0, len(rows))
	for id := range rows {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		b.Field(0).(*array.Int64Builder).Append(id)
		if len(b.Fields()) > 1 {
			b.Field(1).(*array.StringBuilder).Append(rows[id])
		}
	}
	return b.NewRecordBatch()
}

// upsert commits rows as Debezium streams do: the new rows and, for keys
// the table may hold, an equality delete on id, in one row delta.
func upsert(tb testing.TB, c *catalog.Catalog, rows map[int64]string, deleted ...int64) *catalog.Table {
	tb.Helper()
	t, err := c.Commit(context.Background(), "ns", "kv", func(ctx context.Context, tx *catalog.Tx) error {
		sc, err := tx.Schema()
		if err != nil {
			return err
		}
		var data, dels []iceberg.DataFile
		if len(rows) > 0 {
			rec := kvRecord(tb, sc, rows)
			defer rec.Release()
			if data, err = tx.WriteDataFiles(ctx, rec, 0); err != nil {
				return err
			}
		}
		keys := map[int64]string{}
		for id := range rows {
			keys[id] = ""
		}
		for _, id := range deleted {
			keys[id] = ""
		}
		ksc, _ := sc.Select(true, "id")
		krec := kvRecord(tb, ksc, keys)
		defer krec.Release()
		if dels, err = tx.WriteEqualityDeletes(ctx, []int{1}, krec); err != nil {
			return err
		}
		return tx.RowDelta(ctx, data, dels, map[string]string{catalog.OffsetsProperty: fmt.Sprintf(`{"t/0":%d}`, len(rows))})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func readKV(tb testing.TB, t *catalog.Table) map[int64]string {
	tb.Helper()
	_, recs, err := t.ReadArrow(context.Background(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[int64]string{}
	for rec, err := range recs {
		if err != nil {
			tb.Fatal(err)
		}
		ids, vs := rec.Column(0).(*array.Int64), rec.Column(1).(*array.String)
		for i := range ids.Len() {
			if _, dup := out[ids.Value(i)]; dup {
				tb.Fatalf("key %d read twice", ids.Value(i))
			}
			out[ids.Value(i)] = vs.Value(i)
		}
		rec.Release()
	}
	return out
}

func mustKV(tb testing.TB, c *catalog.Catalog) {
	tb.Helper()
	if _, err := c.CreateTable(context.Background(), "ns", "kv", kvSchema, nil); err != nil {
		tb.Fatal(err)
	}
}

// rewriteAll rewrites every data file of t into one group.
func rewriteAll(tb testing.TB, t *catalog.Table) catalog.Rewrite {
	tb.Helper()
	ctx := context.Background()
	tasks, err := t.Tasks(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	g := table.CompactionTaskGroup{Tasks: tasks}
	paths := map[string]struct{}{}
	for _, task := range tasks {
		g.TotalSizeBytes += task.File.FileSizeBytes()
		paths[task.File.FilePath()] = struct{}{}
	}
	res, err := t.RewriteGroup(ctx, g, 128<<20)
	if err != nil {
		tb.Fatal(err)
	}
	dead, err := t.DeadDeletes(ctx, paths)
	if err != nil {
		tb.Fatal(err)
	}
	return catalog.Rewrite{Base: t, Groups: []table.CompactionGroupResult{res}, DeadDeletes: dead}
}

func commitRewrite(c *catalog.Catalog, rw catalog.Rewrite) (*catalog.Table, error) {
	return c.Commit(context.Background(), "ns", "kv", func(ctx context.Context, tx *catalog.Tx) error {
		return tx.Rewrite(ctx, rw, map[string]string{"floe.maintenance": "compaction"})
	})
}

func liveFiles(tb testing.TB, t *catalog.Table) (data, deletes int) {
	tb.Helper()
	tasks, err := t.Tasks(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	seen := map[string]bool{}
	for _, task := range tasks {
		data++
		for _, d := range append(append([]iceberg.DataFile{}, task.DeleteFiles...), task.EqualityDeleteFiles...) {
			if !seen[d.FilePath()] {
				seen[d.FilePath()] = true
				deletes++
			}
		}
	}
	return data, deletes
}

// A compaction of a table written as Debezium writes it folds the
// equality deletes into one data file: same rows, no delete file left,
// and the offsets carried.
func TestRewriteFoldsEqualityDeletes(t *testing.T) {
	c := MustOpen(t, t.TempDir())
	mustKV(t, c)
	upsert(t, c, map[int64]string{1: "a", 2: "b", 3: "c"})
	upsert(t, c, map[int64]string{2: "b2"})
	upsert(t, c, map[int64]string{4: "d"}, 3)
	tbl := upsert(t, c, map[int64]string{1: "a2"})
	want := map[int64]string{1: "a2", 2: "b2", 4: "d"}
	if got := readKV(t, tbl); !reflect.DeepEqual(got, want) {
		t.Fatalf("before: %v", got)
	}
	after, err := commitRewrite(c, rewriteAll(t, tbl))
	if err != nil {
		t.Fatal(err)
	}
	if got := readKV(t, after); !reflect.DeepEqual(got, want) {
		t.Fatalf("after compaction: %v, want %v", got, want)
	}
	if d, dels := liveFiles(t, after); d != 1 || dels != 0 {
		t.Fatalf("after compaction: %d data files, %d delete files; want 1 and 0", d, dels)
	}
	if got := after.Metadata().CurrentSnapshot().Summary.Properties[catalog.OffsetsProperty]; got != `{"t/0":1}` {
		t.Fatalf("compaction snapshot carries offsets %q", got)
	}
	// Another engine reads the same rows.
	ft := icebergtest.Load(t, icebergtest.Open(t, dirOf(c)), "ns", "kv")
	at, err := ft.Scan().ToArrowTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	if at.NumRows() != 3 {
		t.Fatalf("iceberg-go reads %d rows, want 3", at.NumRows())
	}
}

// Commits that land while a compaction rewrites are kept, and equality
// deletes among them still delete rows the compaction wrote: the new files
// take the sequence number of the snapshot the compaction read.
func TestRewriteBesideConcurrentUpserts(t *testing.T) {
	c := MustOpen(t, t.TempDir())
	mustKV(t, c)
	upsert(t, c, map[int64]string{1: "a", 2: "b", 3: "c"})
	base := upsert(t, c, map[int64]string{2: "b2"})
	rw := rewriteAll(t, base)
	// Meanwhile: key 1 updated, key 3 deleted, key 5 added.
	upsert(t, c, map[int64]string{1: "a2", 5: "e"}, 3)
	after, err := commitRewrite(c, rw)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64]string{1: "a2", 2: "b2", 5: "e"}
	if got := readKV(t, after); !reflect.DeepEqual(got, want) {
		t.Fatalf("after compaction beside upserts: %v, want %v", got, want)
	}
	// A second compaction folds what remains.
	final, err := commitRewrite(c, rewriteAll(t, after))
	if err != nil {
		t.Fatal(err)
	}
	if got := readKV(t, final); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the second compaction: %v", got)
	}
	if d, dels := liveFiles(t, final); d != 1 || dels != 0 {
		t.Fatalf("%d data files, %d delete files; want 1 and 0", d, dels)
	}
}

// A position delete another writer adds to a file the compaction is
// rewriting makes the rewrite stale: committing it would resurrect the row.
func TestRewriteStaleAfterPositionDelete(t *testing.T) {
	ctx := context.Background()
	c := MustOpen(t, t.TempDir())
	if _, err := c.CreateTable(ctx, "ns", "kv", kvSchema, map[string]string{table.WriteDeleteModeKey: table.WriteModeMergeOnRead}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		upsert(t, c, map[int64]string{int64(i): "x"})
	}
	base, err := c.Current(ctx, "ns", "kv")
	if err != nil {
		t.Fatal(err)
	}
	rw := rewriteAll(t, base)
	ft := icebergtest.Load(t, icebergtest.Open(t, dirOf(c)), "ns", "kv")
	if _, err := ft.Delete(ctx, iceberg.EqualTo(iceberg.Reference("id"), int64(1)), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := commitRewrite(c, rw); !errors.Is(err, catalog.ErrRewriteStale) {
		t.Fatalf("rewrite after a concurrent position delete: %v, want ErrRewriteStale", err)
	}
	now, err := c.Current(ctx, "ns", "kv")
	if err != nil {
		t.Fatal(err)
	}
	if got := readKV(t, now); len(got) != 2 {
		t.Fatalf("rows %v, want keys 0 and 2", got)
	}
}

// Merging manifests leaves one data manifest, the same rows, the table's
// properties as they were, and the offsets carried.
func TestMergeManifests(t *testing.T) {
	ctx := context.Background()
	c := MustOpen(t, t.TempDir())
	if _, err := c.CreateTable(ctx, "ns", "t", schema, nil); err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		mustAppend(t, c, "ns", "t", int64(i), map[string]string{catalog.OffsetsProperty: fmt.Sprintf(`{"t/0":%d}`, i+1)})
	}
	before, _ := c.Current(ctx, "ns", "t")
	if n, err := before.DataManifests(ctx); err != nil || n != 12 {
		t.Fatalf("%d data manifests before (%v), want 12", n, err)
	}
	merged := false
	after, err := c.Commit(ctx, "ns", "t", func(ctx context.Context, tx *catalog.Tx) error {
		var err error
		merged, err = tx.MergeManifests(ctx, map[string]string{"floe.maintenance": "manifests"})
		return err
	})
	if err != nil || !merged {
		t.Fatalf("merge: %v, merged %v", err, merged)
	}
	if n, _ := after.DataManifests(ctx); n != 1 {
		t.Fatalf("%d data manifests after merging, want 1", n)
	}
	if !reflect.DeepEqual(after.Properties(), before.Properties()) {
		t.Fatalf("properties changed: %v, were %v", after.Properties(), before.Properties())
	}
	if got := after.Metadata().CurrentSnapshot().Summary.Properties[catalog.OffsetsProperty]; got != `{"t/0":12}` {
		t.Fatalf("offsets %q", got)
	}
	if ids := readIDs(t, after); len(ids) != 12 {
		t.Fatalf("rows %v", ids)
	}
}

// Expiry keeps the newest MinSnapshots, every snapshot current within
// MaxAge, pinned snapshots and the newest one with offsets, and deletes
// the files only expired snapshots referenced.
func TestExpireSnapshots(t *testing.T) {
	ctx := context.Background()
	c := MustOpen(t, t.TempDir())
	mustKV(t, c)
	upsert(t, c, map[int64]string{1: "a"})
	pinnedTbl := upsert(t, c, map[int64]string{2: "b"})
	release := c.Pin("ns", "kv", pinnedTbl.SnapshotID())
	for i := range 5 {
		upsert(t, c, map[int64]string{int64(10 + i): "x"})
	}
	expire := func(r catalog.Retention) (catalog.Expiry, *catalog.Table) {
		var ex catalog.Expiry
		tbl, err := c.Commit(ctx, "ns", "kv", func(ctx context.Context, tx *catalog.Tx) error {
			var err error
			ex, err = tx.ExpireSnapshots(r)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return ex, tbl
	}
	// Everything is younger than an hour: nothing goes.
	if ex, _ := expire(catalog.Retention{MaxAge: time.Hour, MinSnapshots: 1}); len(ex.Removed) != 0 {
		t.Fatalf("removed %v within the max age", ex.Removed)
	}
	time.Sleep(20 * time.Millisecond)
	ex, tbl := expire(catalog.Retention{MaxAge: time.Millisecond, MinSnapshots: 2})
	// Kept: the pinned snapshot (the 2nd of 7) and everything newer.
	if len(ex.Removed) != 1 || len(tbl.Metadata().Snapshots()) != 6 {
		t.Fatalf("removed %v, %d kept; want the first snapshot removed, the pinned one kept", ex.Removed, len(tbl.Metadata().Snapshots()))
	}
	release()
	ex, tbl = expire(catalog.Retention{MaxAge: time.Millisecond, MinSnapshots: 2})
	if len(ex.Removed) != 4 || len(tbl.Metadata().Snapshots()) != 2 {
		t.Fatalf("removed %v, %d kept; want 2 kept", ex.Removed, len(tbl.Metadata().Snapshots()))
	}
	want := map[int64]string{1: "a", 2: "b", 10: "x", 11: "x", 12: "x", 13: "x", 14: "x"}
	if got := readKV(t, tbl); !reflect.DeepEqual(got, want) {
		t.Fatalf("rows after expiry %v", got)
	}
}
