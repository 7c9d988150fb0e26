package ingest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"

	"github.com/floe-dev/floe/catalog"
)

// MustCatalog opens a SQLite catalog in a fresh directory.
func MustCatalog(tb testing.TB, dir string) *catalog.Catalog {
	tb.Helper()
	cat, err := catalog.Open(context.Background(), catalog.Config{Dir: dir})
	if err != nil {
		tb.Fatalf("open catalog: %v", err)
	}
	tb.Cleanup(func() { cat.Close() })
	return cat
}

// MustService returns a Service over a fresh catalog; it is closed at the end
// of the test.
func MustService(tb testing.TB, cfg Config) (*Service, *catalog.Catalog, string) {
	tb.Helper()
	dir := tb.TempDir()
	cat := MustCatalog(tb, dir)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	s := New(cat, cfg)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			tb.Errorf("close service: %v", err)
		}
	})
	return s, cat, dir
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// MustPush pushes body and fails the test on error.
func MustPush(tb testing.TB, s *Service, ns, tbl, body string) Result {
	tb.Helper()
	res, err := s.Push(context.Background(), ns, tbl, strings.NewReader(body))
	if err != nil {
		tb.Fatalf("push %s.%s: %v", ns, tbl, err)
	}
	return res
}

// MustRecordError pushes body and expects a *RecordError.
func MustRecordError(tb testing.TB, s *Service, ns, tbl, body string) *RecordError {
	tb.Helper()
	_, err := s.Push(context.Background(), ns, tbl, strings.NewReader(body))
	var rerr *RecordError
	if !errors.As(err, &rerr) {
		tb.Fatalf("push %s.%s: got error %v, want a *RecordError", ns, tbl, err)
	}
	return rerr
}

// MustTable loads the table as committed, bypassing caches.
func MustTable(tb testing.TB, cat *catalog.Catalog, ns, tbl string) *catalog.Table {
	tb.Helper()
	t, err := cat.Reload(context.Background(), ns, tbl)
	if err != nil {
		tb.Fatalf("load %s.%s: %v", ns, tbl, err)
	}
	return t
}

// MustRows reads the current snapshot of the table with iceberg-go and
// returns its rows as Go values (nil for NULL, map for struct, []any for
// list, time.Time for timestamps), with the Arrow schema.
func MustRows(tb testing.TB, cat *catalog.Catalog, ns, tbl string) ([]map[string]any, *arrow.Schema) {
	tb.Helper()
	t := MustTable(tb, cat, ns, tbl)
	sc, recs, err := t.ReadArrow(context.Background(), nil)
	if err != nil {
		tb.Fatalf("scan %s.%s: %v", ns, tbl, err)
	}
	var rows []map[string]any
	for rec, err := range recs {
		if err != nil && !errors.Is(err, io.EOF) {
			tb.Fatalf("read %s.%s: %v", ns, tbl, err)
		}
		if rec == nil {
			continue
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			row := map[string]any{}
			for c, f := range rec.Schema().Fields() {
				row[f.Name] = goValue(rec.Column(c), i)
			}
			rows = append(rows, row)
		}
		rec.Release()
	}
	return rows, sc
}

func goValue(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Int64:
		return a.Value(i)
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Float64:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.LargeString:
		return a.Value(i)
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return a.Value(i).ToTime(unit).UTC()
	case *array.Struct:
		m := map[string]any{}
		st := a.DataType().(*arrow.StructType)
		for j, f := range st.Fields() {
			m[f.Name] = goValue(a.Field(j), i)
		}
		return m
	case array.ListLike:
		start, end := a.ValueOffsets(i)
		vals := a.ListValues()
		out := []any{}
		for j := start; j < end; j++ {
			out = append(out, goValue(vals, int(j)))
		}
		return out
	}
	return a.ValueStr(i)
}

// schemaString renders an Iceberg schema as "name:type" pairs with ids, for
// comparisons.
func fieldTypes(sc *iceberg.Schema) map[string]string {
	out := map[string]string{}
	for _, f := range sc.Fields() {
		out[f.Name] = f.Type.String()
	}
	return out
}

func snapshotCount(tb testing.TB, cat *catalog.Catalog, ns, tbl string) int {
	tb.Helper()
	return len(MustTable(tb, cat, ns, tbl).Metadata().Snapshots())
}

// sortBy orders rows by an int64 column.
func sortBy(rows []map[string]any, col string) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, _ := rows[i][col].(int64)
		b, _ := rows[j][col].(int64)
		return a < b
	})
}
