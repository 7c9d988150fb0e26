package catalog_test

import (
	"context"
	"errors"
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

func mustAppend(tb testing.TB, t *catalog.Table, id int64) *table.Table {
	tb.Helper()
	sc, err := table.SchemaToArrowSchema(t.Schema(), nil, true, false)
	if err != nil {
		tb.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	b.Field(0).(*array.Int64Builder).Append(id)
	rec := b.NewRecordBatch()
	tbl := array.NewTableFromRecords(sc, []arrow.RecordBatch{rec})
	nt, err := t.Iceberg().AppendTable(context.Background(), tbl, 1, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return nt
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
	tbl = c.Committed("clinical", "vitals", mustAppend(t, tbl, 1))
	tbl = c.Committed("clinical", "vitals", mustAppend(t, tbl, 2))
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
	wt, err := writer.CreateTable(ctx, "clinical", "vitals", schema, nil)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := reader.Table(ctx, "clinical", "vitals")
	if err != nil {
		t.Fatal(err)
	}
	before := rt.SnapshotID()
	nt := mustAppend(t, wt, 1)
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
	if rt.SnapshotID() != nt.CurrentSnapshot().SnapshotID {
		t.Fatalf("sees snapshot %d, committed %d", rt.SnapshotID(), nt.CurrentSnapshot().SnapshotID)
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
