package gateway_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/floe-dev/floe/authz"
	"github.com/floe-dev/floe/catalog"
	"github.com/floe-dev/floe/gateway"
	"github.com/floe-dev/floe/internal/icebergtest"
	"github.com/floe-dev/floe/pgwire"
	"github.com/floe-dev/floe/sqlstate"
)

// env is an in-process engine over a catalog in a temp directory.
type env struct {
	dir    string
	cat    *catalog.Catalog
	engine *gateway.Engine
}

func MustEnv(tb testing.TB) *env { return MustEnvWithPolicy(tb, nil) }

// MustEnvWithPolicy writes policy files (path under DATA/policy → content)
// before the engine starts and compiles them.
func MustEnvWithPolicy(tb testing.TB, policy map[string]string) *env {
	tb.Helper()
	return mustEnvConfig(tb, policy, gateway.Config{})
}

// mustEnvConfig is MustEnvWithPolicy with more engine configuration
// (cache directory and threads are filled in).
func mustEnvConfig(tb testing.TB, policy map[string]string, cfg gateway.Config) *env {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	for name, content := range policy {
		path := filepath.Join(dir, "policy", name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	cat, err := catalog.Open(ctx, catalog.Config{Dir: dir})
	if err != nil {
		tb.Fatal(err)
	}
	users, err := authz.OpenDirectory(filepath.Join(dir, "users.json"))
	if err != nil {
		tb.Fatal(err)
	}
	cfg.CacheDir, cfg.Threads = filepath.Join(dir, "cache"), 2
	e := gateway.New(cat, users, cfg)
	if err := e.Start(ctx); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.Close(); cat.Close() })
	return &env{dir: dir, cat: cat, engine: e}
}

func (e *env) MustSession(tb testing.TB) *gateway.Session { return e.MustSessionAs(tb, "admin") }

func (e *env) MustSessionAs(tb testing.TB, user string) *gateway.Session {
	tb.Helper()
	s, err := e.engine.NewSession(context.Background(), pgwire.StartupInfo{User: user, Database: "floe"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// query runs text and returns its column names and rows.
func query(s *gateway.Session, text string, params ...any) ([]string, [][]any, error) {
	ctx := context.Background()
	cols, res, err := s.Query(ctx, text, params...)
	if err != nil {
		return nil, nil, err
	}
	defer res.Close()
	var rows [][]any
	for {
		row, err := res.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		rows = append(rows, append([]any(nil), row...))
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return names, rows, nil
}

func MustQuery(tb testing.TB, s *gateway.Session, text string, params ...any) ([]string, [][]any) {
	tb.Helper()
	names, rows, err := query(s, text, params...)
	if err != nil {
		tb.Fatalf("%s: %v", text, err)
	}
	return names, rows
}

func MustFail(tb testing.TB, s *gateway.Session, text, code string) *sqlstate.Error {
	tb.Helper()
	_, _, err := query(s, text)
	if err == nil {
		tb.Fatalf("%s: succeeded, want SQLSTATE %s", text, code)
	}
	e := sqlstate.Public(err)
	if e.Code != code {
		tb.Fatalf("%s: got %s %q (%v), want SQLSTATE %s", text, e.Code, e.Message, err, code)
	}
	return e
}

var idNameSchema = iceberg.NewSchema(0,
	iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: false},
	iceberg.NestedField{ID: 2, Name: "name", Type: iceberg.PrimitiveTypes.String, Required: false},
)

// MustTable creates ns.name with the id/name schema, merge-on-read deletes.
func (e *env) MustTable(tb testing.TB, ns, name string) *catalog.Table {
	tb.Helper()
	t, err := e.cat.CreateTable(context.Background(), ns, name, idNameSchema, map[string]string{
		table.WriteDeleteModeKey: table.WriteModeMergeOnRead,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// MustAppend appends rows (id, name) through the catalog's commit path.
func (e *env) MustAppend(tb testing.TB, t *catalog.Table, ids []int64, names []string) *catalog.Table {
	tb.Helper()
	sc, err := table.SchemaToArrowSchema(t.Schema(), nil, true, false)
	if err != nil {
		tb.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for i, id := range ids {
		b.Field(0).(*array.Int64Builder).Append(id)
		b.Field(1).(*array.StringBuilder).Append(names[i])
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return e.mustAppendRecord(tb, t, rec)
}

// mustAppendInts appends one row to t, whose columns are all long: vals[i]
// in column i.
func (e *env) mustAppendInts(tb testing.TB, t *catalog.Table, vals []int64) *catalog.Table {
	tb.Helper()
	sc, err := table.SchemaToArrowSchema(t.Schema(), nil, true, false)
	if err != nil {
		tb.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for i, v := range vals {
		b.Field(i).(*array.Int64Builder).Append(v)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return e.mustAppendRecord(tb, t, rec)
}

// mustAppendRecord appends rec to t's table through the catalog's commit
// path; queries see it at once.
func (e *env) mustAppendRecord(tb testing.TB, t *catalog.Table, rec arrow.RecordBatch) *catalog.Table {
	tb.Helper()
	nt, err := e.cat.Commit(context.Background(), t.Namespace, t.Name, func(ctx context.Context, tx *catalog.Tx) error {
		return tx.Append(ctx, rec, 0, nil)
	})
	if err != nil {
		tb.Fatal(err)
	}
	return nt
}

// foreign loads ns.name as another writer (another engine on the same
// catalog) sees it, for commits floe does not make itself.
func (e *env) foreign(tb testing.TB, ns, name string) *table.Table {
	tb.Helper()
	return icebergtest.Load(tb, icebergtest.Open(tb, e.dir), ns, name)
}

// published reloads ns.name after another writer's commit, so that queries
// see it at once rather than within the catalog's refresh interval.
func (e *env) published(tb testing.TB, ns, name string) *catalog.Table {
	tb.Helper()
	t, err := e.cat.Reload(context.Background(), ns, name)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

var _ pgwire.Engine = (*gateway.Engine)(nil)
