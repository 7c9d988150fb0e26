package gateway_test

import (
	"context"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"

	"github.com/floe-dev/floe/sqlstate"
)

func ids(tb testing.TB, rows [][]any) []int64 {
	tb.Helper()
	var out []int64
	for _, r := range rows {
		out = append(out, r[0].(int64))
	}
	slices.Sort(out)
	return out
}

func TestQueryReadsCurrentSnapshot(t *testing.T) {
	e := MustEnv(t)
	tbl := e.MustTable(t, "clinical", "subjects")
	s := e.MustSession(t)

	_, rows := MustQuery(t, s, "SELECT id, name FROM clinical.subjects")
	if len(rows) != 0 {
		t.Fatalf("empty table gave %d rows", len(rows))
	}
	tbl = e.MustAppend(t, tbl, []int64{1, 2}, []string{"a", "b"})
	tbl = e.MustAppend(t, tbl, []int64{3}, []string{"c"})
	names, rows := MustQuery(t, s, "SELECT id, name FROM clinical.subjects ORDER BY id")
	if !reflect.DeepEqual(names, []string{"id", "name"}) {
		t.Fatalf("columns %v", names)
	}
	want := [][]any{{int64(1), "a"}, {int64(2), "b"}, {int64(3), "c"}}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows %v, want %v", rows, want)
	}
	// Unqualified names resolve when exactly one namespace has the table.
	_, rows = MustQuery(t, s, "SELECT count(*) FROM subjects")
	if rows[0][0] != int64(3) {
		t.Fatalf("count %v", rows[0][0])
	}
	_ = tbl
}

// Deletes written by iceberg-go itself (position deletes for
// merge-on-read, equality deletes) must hide exactly their rows.
func TestQueryHonoursPositionAndEqualityDeletes(t *testing.T) {
	ctx := context.Background()
	e := MustEnv(t)
	tbl := e.MustTable(t, "clinical", "labs")
	tbl = e.MustAppend(t, tbl, []int64{1, 2, 3, 4, 5}, []string{"a", "b", "c", "d", "e"})
	tbl = e.MustAppend(t, tbl, []int64{6, 7, 8}, []string{"f", "g", "h"})

	// Another writer deletes, merge-on-read.
	if _, err := e.foreign(t, "clinical", "labs").Delete(ctx, iceberg.EqualTo(iceberg.Reference("id"), int64(2)), nil); err != nil {
		t.Fatal(err)
	}
	tbl = e.published(t, "clinical", "labs")
	scan, err := tbl.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pos := 0
	for _, f := range scan.Files {
		pos += len(f.PositionDeletes)
	}
	if pos == 0 {
		t.Fatal("merge-on-read delete wrote no position delete file: the test would not test deletes")
	}

	// Equality delete on name = 'g'.
	sc := arrow.NewSchema([]arrow.Field{{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true,
		Metadata: arrow.NewMetadata([]string{"PARQUET:field_id"}, []string{"2"})}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	b.Field(0).(*array.StringBuilder).Append("g")
	rec := b.NewRecordBatch()
	tx := e.foreign(t, "clinical", "labs").NewTransaction()
	var recs iter.Seq2[arrow.RecordBatch, error] = func(yield func(arrow.RecordBatch, error) bool) { yield(rec, nil) }
	if err := tx.CommitEqualityDeletes(ctx, []int{2}, recs, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	tbl = e.published(t, "clinical", "labs")

	s := e.MustSession(t)
	_, rows := MustQuery(t, s, "SELECT id FROM clinical.labs")
	got := ids(t, rows)
	want := []int64{1, 3, 4, 5, 6, 8}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ids %v, want %v", got, want)
	}
	// The same count as iceberg-go's own reader.
	at, err := e.foreign(t, "clinical", "labs").Scan().ToArrowTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer at.Release()
	if at.NumRows() != int64(len(want)) {
		t.Fatalf("iceberg-go reads %d rows, floe %d", at.NumRows(), len(got))
	}
}

func TestSchemaEvolutionReadsByFieldID(t *testing.T) {
	ctx := context.Background()
	e := MustEnv(t)
	tbl := e.MustTable(t, "clinical", "visits")
	tbl = e.MustAppend(t, tbl, []int64{1}, []string{"a"})
	// Rename name → label and add a column: old files keep field ids.
	tx := e.foreign(t, "clinical", "visits").NewTransaction()
	us := tx.UpdateSchema(true, false).RenameColumn([]string{"name"}, "label").
		AddColumn([]string{"site"}, iceberg.PrimitiveTypes.String, "", false, nil)
	if err := us.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	e.published(t, "clinical", "visits")
	s := e.MustSession(t)
	names, rows := MustQuery(t, s, "SELECT * FROM clinical.visits")
	if !reflect.DeepEqual(names, []string{"id", "label", "site"}) {
		t.Fatalf("columns %v", names)
	}
	if !reflect.DeepEqual(rows, [][]any{{int64(1), "a", nil}}) {
		t.Fatalf("rows %v", rows)
	}
}

// Everything that could reach files, settings, extensions or the engine's
// catalog is refused before DuckDB runs it, for every user.
func TestSandboxRefusals(t *testing.T) {
	e := MustEnv(t)
	tbl := e.MustTable(t, "clinical", "vitals")
	e.MustAppend(t, tbl, []int64{1}, []string{"a"})
	s := e.MustSession(t)
	wh := e.cat.Warehouse()
	cases := []struct{ sql, code string }{
		{"SELECT * FROM read_parquet('" + wh + "/x.parquet')", sqlstate.InsufficientPrivilege},
		{"SELECT * FROM read_csv('/etc/passwd')", sqlstate.InsufficientPrivilege},
		{"SELECT * FROM read_text('/etc/passwd')", sqlstate.InsufficientPrivilege},
		{"SELECT * FROM glob('/*')", sqlstate.InsufficientPrivilege},
		{"SELECT * FROM '" + wh + "/x.parquet'", sqlstate.UndefinedTable},
		{"SELECT * FROM duckdb_settings()", sqlstate.InsufficientPrivilege},
		{"SELECT * FROM query('SELECT 1')", sqlstate.InsufficientPrivilege},
		{"SELECT * FROM parquet_metadata('x')", sqlstate.InsufficientPrivilege},
		{"SELECT current_setting('allowed_directories')", sqlstate.UndefinedObject},
		{"SELECT current_query()", sqlstate.InsufficientPrivilege},
		{"SELECT stats(id) FROM clinical.vitals", sqlstate.InsufficientPrivilege},
		{"SELECT getvariable('x')", sqlstate.InsufficientPrivilege},
		{"COPY (SELECT 1) TO '" + wh + "/out.csv'", sqlstate.InsufficientPrivilege},
		{"EXPORT DATABASE '" + wh + "/exp'", sqlstate.InsufficientPrivilege},
		{"ATTACH '" + wh + "/x.db'", sqlstate.InsufficientPrivilege},
		{"INSTALL httpfs", sqlstate.InsufficientPrivilege},
		{"LOAD httpfs", sqlstate.InsufficientPrivilege},
		{"PRAGMA version", sqlstate.InsufficientPrivilege},
		{"EXPLAIN SELECT * FROM clinical.vitals", sqlstate.InsufficientPrivilege},
		{"EXPLAIN ANALYZE SELECT * FROM clinical.vitals", sqlstate.InsufficientPrivilege},
		{"SET enable_external_access = true", sqlstate.InsufficientPrivilege},
		{"SET threads TO 1", sqlstate.InsufficientPrivilege},
		{"RESET allowed_directories", sqlstate.InsufficientPrivilege},
		{"SET VARIABLE x = 1", sqlstate.InsufficientPrivilege},
		{"CREATE TABLE t (a INT)", sqlstate.FeatureNotSupported},
		{"CREATE MACRO m(a) AS a", sqlstate.FeatureNotSupported},
		{"CREATE SECRET s (TYPE s3)", sqlstate.FeatureNotSupported},
		{"INSERT INTO clinical.vitals VALUES (1, 'x')", sqlstate.FeatureNotSupported},
		{"DELETE FROM clinical.vitals", sqlstate.FeatureNotSupported},
		{"DROP TABLE clinical.vitals", sqlstate.FeatureNotSupported},
		{"SELECT * FROM memory.main.x", sqlstate.FeatureNotSupported},
		{"SELECT * FROM system.main.duckdb_settings", sqlstate.FeatureNotSupported},
		{"WITH pg_settings AS (SELECT 1) SELECT * FROM pg_settings", sqlstate.FeatureNotSupported},
		{"WITH __floe_r1 AS (SELECT 1) SELECT * FROM __floe_r1", sqlstate.InsufficientPrivilege},
		{"SELECT * FROM clinical.vitals AT (VERSION => 1)", sqlstate.FeatureNotSupported},
		{"SELECT 1; SELECT 2", sqlstate.SyntaxError},
		{"SELEC 1", sqlstate.SyntaxError},
		{"SELECT * FROM nosuch", sqlstate.UndefinedTable},
		{"SELECT * FROM clinical.nosuch", sqlstate.UndefinedTable},
		{"SELECT * FROM duckdb_tables", sqlstate.UndefinedTable},
		{"SELECT * FROM information_schema.nosuch", sqlstate.UndefinedTable},
	}
	for _, c := range cases {
		t.Run(c.sql, func(t *testing.T) {
			err := MustFail(t, s, c.sql, c.code)
			// Echoing a path the client typed reveals nothing; any other
			// path does.
			if !strings.Contains(c.sql, e.dir) && (strings.Contains(err.Message, e.dir) || strings.Contains(err.Detail, e.dir)) {
				t.Fatalf("error reveals the data directory: %q", err.Message)
			}
		})
	}
}

func TestRuntimeErrorsHidePaths(t *testing.T) {
	e := MustEnv(t)
	tbl := e.MustTable(t, "clinical", "vitals")
	e.MustAppend(t, tbl, []int64{1}, []string{"abc"})
	s := e.MustSession(t)
	for _, q := range []string{
		"SELECT name::INTEGER FROM clinical.vitals",
		"SELECT nosuchcolumn FROM clinical.vitals",
		"SELECT id / 0 FROM clinical.vitals WHERE error('boom') IS NULL",
	} {
		_, _, err := query(s, q)
		if err == nil {
			t.Fatalf("%s succeeded", q)
		}
		msg := sqlstate.Public(err).Message
		if strings.Contains(msg, e.dir) || strings.Contains(msg, ".parquet") || strings.Contains(msg, "read_parquet") {
			t.Fatalf("%s: error reveals internals: %q", q, msg)
		}
	}
}

func TestCTEsAndNesting(t *testing.T) {
	e := MustEnv(t)
	tbl := e.MustTable(t, "clinical", "vitals")
	e.MustAppend(t, tbl, []int64{1, 2, 3}, []string{"a", "b", "c"})
	s := e.MustSession(t)
	for q, want := range map[string]int64{
		"WITH x AS (SELECT 1 AS a) SELECT count(*) FROM x":                                                   1,
		"WITH vitals AS (SELECT * FROM clinical.vitals WHERE id > 1) SELECT count(*) FROM vitals":            2,
		"WITH v AS (SELECT * FROM vitals) SELECT count(*) FROM v JOIN clinical.vitals w ON v.id = w.id":      3,
		"SELECT count(*) FROM (SELECT * FROM clinical.vitals UNION ALL SELECT * FROM clinical.vitals)":       6,
		"SELECT count(*) FROM clinical.vitals WHERE id IN (SELECT id FROM clinical.vitals WHERE id < 3)":     2,
		"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT count(*) FROM r": 5,
		"SELECT count(*) FROM clinical.vitals v, LATERAL (SELECT v.id * 2 AS d) l WHERE l.d > 2":             2,
		"SELECT count(*) FROM generate_series(1, 10) s WHERE s > 3":                                          7,
		// Table functions are not relations: a CTE may take such a name.
		"WITH duckdb_settings AS (SELECT 1 AS a) SELECT count(*) FROM duckdb_settings": 1,
	} {
		_, rows := MustQuery(t, s, q)
		if rows[0][0] != want {
			t.Errorf("%s = %v, want %d", q, rows[0][0], want)
		}
	}
}

func TestPostgresColumnNamesAndFunctions(t *testing.T) {
	e := MustEnv(t)
	tbl := e.MustTable(t, "clinical", "vitals")
	e.MustAppend(t, tbl, []int64{1}, []string{"a"})
	s := e.MustSession(t)
	names, rows := MustQuery(t, s, "SELECT count(*), sum(id), id::text, 1 + 1, version(), current_database(), current_user FROM clinical.vitals GROUP BY id")
	wantNames := []string{"count", "sum", "id", "?column?", "version", "current_database", "current_user"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Fatalf("names %v, want %v", names, wantNames)
	}
	if v := rows[0][4].(string); !strings.HasPrefix(v, "PostgreSQL 16.") {
		t.Fatalf("version() = %q", v)
	}
	if rows[0][5] != "floe" || rows[0][6] != "admin" {
		t.Fatalf("current_database, current_user = %v, %v", rows[0][5], rows[0][6])
	}
	// PostgreSQL's JSON builders (SQLAlchemy's reflection uses them).
	_, rows = MustQuery(t, s, "SELECT json_build_object('a', 1, 'b', 'x')::VARCHAR, json_build_array(1, 'x')::VARCHAR")
	if rows[0][0] != `{"a":1,"b":"x"}` || rows[0][1] != `[1,"x"]` {
		t.Fatalf("json_build_object, json_build_array = %v", rows[0])
	}
}

func TestSessionSettings(t *testing.T) {
	e := MustEnv(t)
	s := e.MustSession(t)
	for _, q := range []string{
		"SET DateStyle = 'ISO, MDY'", "SET TimeZone TO 'Europe/Paris'", "SET extra_float_digits = 3",
		"SET application_name = 'tableau'", "SET search_path = clinical, public", "SET client_encoding = 'UTF8'",
		"SET statement_timeout = '5s'", "SET SESSION TIME ZONE 'UTC'", "SET NAMES 'utf8'",
	} {
		MustQuery(t, s, q)
	}
	_, rows := MustQuery(t, s, "SHOW application_name")
	if rows[0][0] != "tableau" {
		t.Fatalf("application_name %v", rows[0][0])
	}
	_, rows = MustQuery(t, s, "SELECT current_setting('search_path')")
	if rows[0][0] != "clinical, public" {
		t.Fatalf("search_path %v", rows[0][0])
	}
	if p := s.Parameters()["application_name"]; p != "tableau" {
		t.Fatalf("ParameterStatus application_name %q", p)
	}
	MustQuery(t, s, "RESET application_name")
	if p := s.Parameters()["application_name"]; p != "" {
		t.Fatalf("after RESET: %q", p)
	}
	MustFail(t, s, "SET client_encoding = 'LATIN1'", sqlstate.InvalidParameterValue)
	MustFail(t, s, "SET TimeZone = 'Mars/Olympus'", sqlstate.InvalidParameterValue)
	MustFail(t, s, "SET no_such_setting = 1", sqlstate.UndefinedObject)
	MustFail(t, s, "SHOW no_such_setting", sqlstate.UndefinedObject)
}

func TestTransactionStatus(t *testing.T) {
	e := MustEnv(t)
	s := e.MustSession(t)
	step := func(q string, wantTx byte) {
		t.Helper()
		query(s, q)
		if got := s.TxStatus(); got != wantTx {
			t.Fatalf("after %q: status %c, want %c", q, got, wantTx)
		}
	}
	step("BEGIN", 'T')
	step("SELECT 1", 'T')
	step("SELECT * FROM nosuch", 'E')
	MustFail(t, s, "SELECT 1", sqlstate.InFailedTransaction)
	step("ROLLBACK", 'I')
	step("SELECT 1", 'I')
	step("START TRANSACTION", 'T')
	step("COMMIT", 'I')
}

func TestCatalogEmulation(t *testing.T) {
	e := MustEnv(t)
	tbl := e.MustTable(t, "clinical", "vitals")
	e.MustAppend(t, tbl, []int64{1}, []string{"a"})
	s := e.MustSession(t)
	_, rows := MustQuery(t, s, "SELECT table_schema, table_name FROM information_schema.tables")
	if !reflect.DeepEqual(rows, [][]any{{"clinical", "vitals"}}) {
		t.Fatalf("information_schema.tables %v", rows)
	}
	_, rows = MustQuery(t, s, "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'vitals' ORDER BY ordinal_position")
	if !reflect.DeepEqual(rows, [][]any{{"id", "bigint"}, {"name", "text"}}) {
		t.Fatalf("information_schema.columns %v", rows)
	}
	_, rows = MustQuery(t, s, "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a "+
		"WHERE a.attrelid = 'clinical.vitals'::regclass AND a.attnum > 0 ORDER BY a.attnum")
	if !reflect.DeepEqual(rows, [][]any{{"id", "bigint"}, {"name", "text"}}) {
		t.Fatalf("pg_attribute %v", rows)
	}
	_, rows = MustQuery(t, s, "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "+
		"WHERE n.nspname = 'clinical' AND c.relname OPERATOR(pg_catalog.~) '^(vitals)$' COLLATE pg_catalog.default")
	if len(rows) != 1 {
		t.Fatalf("pg_class lookup %v", rows)
	}
	_, rows = MustQuery(t, s, "SELECT datname FROM pg_database")
	if !reflect.DeepEqual(rows, [][]any{{"floe"}}) {
		t.Fatalf("pg_database %v", rows)
	}
}

func TestParameters(t *testing.T) {
	e := MustEnv(t)
	tbl := e.MustTable(t, "clinical", "vitals")
	e.MustAppend(t, tbl, []int64{1, 2, 3}, []string{"a", "b", "c"})
	s := e.MustSession(t)
	_, rows := MustQuery(t, s, "SELECT name FROM clinical.vitals WHERE id = $1", int64(2))
	if !reflect.DeepEqual(rows, [][]any{{"b"}}) {
		t.Fatalf("rows %v", rows)
	}
	// DuckDB types JSON builders over parameters only once values are
	// bound; the statement must still describe its columns when prepared
	// (SQLAlchemy's column reflection sends exactly this).
	st, err := s.Prepare(context.Background(), "SELECT id, json_build_object($1::VARCHAR, name)::VARCHAR AS j FROM clinical.vitals WHERE id = $2", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if cols := st.Columns(); len(cols) != 2 || cols[0].Name != "id" || cols[1].Name != "j" {
		t.Fatalf("columns %+v", cols)
	}
	_, rows = MustQuery(t, s, "SELECT id, json_build_object($1::VARCHAR, name)::VARCHAR AS j FROM clinical.vitals WHERE id = $2", "k", int64(3))
	if !reflect.DeepEqual(rows, [][]any{{int64(3), `{"k":"c"}`}}) {
		t.Fatalf("rows %v", rows)
	}
}

func TestNewSnapshotVisibleToOpenSession(t *testing.T) {
	e := MustEnv(t)
	tbl := e.MustTable(t, "clinical", "vitals")
	s := e.MustSession(t)
	for i := range 3 {
		tbl = e.MustAppend(t, tbl, []int64{int64(i)}, []string{fmt.Sprint(i)})
		_, rows := MustQuery(t, s, "SELECT count(*) FROM clinical.vitals")
		if rows[0][0] != int64(i+1) {
			t.Fatalf("after append %d: count %v", i+1, rows[0][0])
		}
	}
}
