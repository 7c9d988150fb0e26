package catalog_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/floe-dev/floe/catalog"
)

var schema = iceberg.NewSchema(0,
	iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64},
)

func MustOpen(tb testing.TB, dir string) *catalog.Catalog {
	tb.Helper()
	c, err := catalog.Open(context.Background(), catalog.Config{Dir: dir})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// idRecord is one row of schema with id.
func idRecord(tb testing.TB, id int64) arrow.RecordBatch {
	tb.Helper()
	sc, err := table.SchemaToArrowSchema(schema, nil, true, false)
	if err != nil {
		tb.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).Append(id)
	return b.NewRecordBatch()
}

// mustAppend commits one row with id through c, with summary props.
func mustAppend(tb testing.TB, c *catalog.Catalog, ns, name string, id int64, props map[string]string) *catalog.Table {
	tb.Helper()
	rec := idRecord(tb, id)
	defer rec.Release()
	t, err := c.Commit(context.Background(), ns, name, func(ctx context.Context, tx *catalog.Tx) error {
		return tx.Append(ctx, rec, 0, props)
	})
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func TestCreateListPlan(t *testing.T) {
	ctx := context.Background()
	c := MustOpen(t, t.TempDir())
	if _, err := c.CreateTable(ctx, "clinical", "vitals", schema, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateTable(ctx, "clinical", "vitals", schema, nil); !errors.Is(err, catalog.ErrTableExists) {
		t.Fatalf("second create: %v, want ErrTableExists", err)
	}
	nss, err := c.Namespaces(ctx)
	if err != nil || len(nss) != 1 || nss[0] != "clinical" {
		t.Fatalf("namespaces %v %v", nss, err)
	}
	tables, err := c.Tables(ctx, "clinical")
	if err != nil || len(tables) != 1 || tables[0] != "vitals" {
		t.Fatalf("tables %v %v", tables, err)
	}
	if _, err := c.Table(ctx, "clinical", "nosuch"); !errors.Is(err, catalog.ErrNoSuchTable) {
		t.Fatalf("missing table: %v", err)
	}
	tbl, _ := c.Table(ctx, "clinical", "vitals")
	if tbl.SnapshotID() != 0 {
		t.Fatal("new table has a snapshot")
	}
	mustAppend(t, c, "clinical", "vitals", 1, nil)
	tbl = mustAppend(t, c, "clinical", "vitals", 2, nil)
	scan, err := tbl.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(scan.Files) != 2 || scan.SnapshotID != tbl.SnapshotID() {
		t.Fatalf("plan: %d files, snapshot %d (table %d)", len(scan.Files), scan.SnapshotID, tbl.SnapshotID())
	}
	for _, f := range scan.Files {
		if f.Records != 1 || f.Path == "" || f.Path[0] != '/' {
			t.Fatalf("file %+v", f)
		}
	}
}

// A commit made by another process (here: another Catalog on the same
// directory) shows within a second.
func TestCommitElsewhereVisibleWithinOneSecond(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	reader, writer := MustOpen(t, dir), MustOpen(t, dir)
	if _, err := writer.CreateTable(ctx, "clinical", "vitals", schema, nil); err != nil {
		t.Fatal(err)
	}
	rt, err := reader.Table(ctx, "clinical", "vitals")
	if err != nil {
		t.Fatal(err)
	}
	before := rt.SnapshotID()
	nt := mustAppend(t, writer, "clinical", "vitals", 1, nil)
	committed := time.Now()
	for {
		rt, err = reader.Table(ctx, "clinical", "vitals")
		if err != nil {
			t.Fatal(err)
		}
		if rt.SnapshotID() != before {
			break
		}
		if time.Since(committed) > time.Second {
			t.Fatal("new snapshot not visible after 1s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if rt.SnapshotID() != nt.SnapshotID() {
		t.Fatalf("sees snapshot %d, committed %d", rt.SnapshotID(), nt.SnapshotID())
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{"file:///w/a.parquet": "/w/a.parquet", "/w/b.parquet": "/w/b.parquet"} {
		if got, err := catalog.LocalPath(in); err != nil || got != want {
			t.Errorf("LocalPath(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := catalog.LocalPath("s3://bucket/a.parquet"); !errors.Is(err, catalog.ErrUnsupported) {
		t.Errorf("s3 path: %v", err)
	}
}

// readIDs reads the ids of t's current snapshot.
func readIDs(tb testing.TB, t *catalog.Table) map[int64]bool {
	tb.Helper()
	_, recs, err := t.ReadArrow(context.Background(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	ids := map[int64]bool{}
	for rec, err := range recs {
		if err != nil {
			tb.Fatal(err)
		}
		col := rec.Column(0).(*array.Int64)
		for i := range col.Len() {
			ids[col.Value(i)] = true
		}
		rec.Release()
	}
	return ids
}

// appendForeign appends rec to t as another engine does, with no floe
// summary properties.
func appendForeign(ctx context.Context, t *table.Table, rec arrow.RecordBatch) error {
	tbl := array.NewTableFromRecords(rec.Schema(), []arrow.RecordBatch{rec})
	defer tbl.Release()
	_, err := t.AppendTable(ctx, tbl, rec.NumRows(), nil)
	return err
}

// dirOf returns c's data directory.
func dirOf(c *catalog.Catalog) string { return filepath.Dir(c.Warehouse()) }
