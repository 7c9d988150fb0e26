package gateway_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/apache/iceberg-go"
	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/jackc/pgx/v5/pgconn"
)

// mustPostgres connects to the real PostgreSQL of FLOE_TEST_POSTGRES, which
// scripts/test.sh starts; in CI a missing server fails the test.
func mustPostgres(t *testing.T) *pgconn.PgConn {
	t.Helper()
	dsn := os.Getenv("FLOE_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("FLOE_TEST_POSTGRES is not set: run the tests with scripts/test.sh, which starts PostgreSQL")
		}
		t.Skip("FLOE_TEST_POSTGRES not set (scripts/test.sh sets it)")
	}
	pc, err := pgconn.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close(context.Background()) })
	return pc
}

// TestKeywordsAsNamesLikePostgres: every word PostgreSQL takes as a column
// name in a statement is taken by floe in the same statement, with the
// same answer — among them the words DuckDB reserves (`at`, `by`, `map`,
// `qualify`, `show`, ...). The words are every keyword of both systems;
// the statements name them in the select list, qualified, as aliases, in
// WHERE, GROUP BY and ORDER BY, beside an operator and in a function call.
func TestKeywordsAsNamesLikePostgres(t *testing.T) {
	ctx := context.Background()
	pc := mustPostgres(t)

	words := map[string]bool{}
	// PostgreSQL's keywords that may name a column (unreserved and
	// column-name keywords), and DuckDB's keywords that are not
	// PostgreSQL's.
	rows, err := pc.Exec(ctx, "SELECT word, catcode FROM pg_get_keywords()").ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	pgKeyword := map[string]bool{}
	for _, r := range rows[0].Rows {
		w, cat := string(r[0]), string(r[1])
		pgKeyword[w] = true
		if cat == "U" || cat == "C" {
			words[w] = true
		}
	}
	duck, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer duck.Close()
	dr, err := duck.Query("SELECT keyword_name FROM duckdb_keywords()")
	if err != nil {
		t.Fatal(err)
	}
	for dr.Next() {
		var w string
		if err := dr.Scan(&w); err != nil {
			t.Fatal(err)
		}
		if w = strings.ToLower(w); !pgKeyword[w] {
			words[w] = true
		}
	}
	dr.Close()
	list := make([]string, 0, len(words))
	for w := range words {
		list = append(list, w)
	}
	sort.Strings(list)

	// One table with a column per word, value i+1 in column i; the same in
	// PostgreSQL under a schema of this test's own.
	e := MustEnv(t)
	fields := make([]iceberg.NestedField, len(list))
	cols := make([]string, len(list))
	vals := make([]int64, len(list))
	for i, w := range list {
		fields[i] = iceberg.NestedField{ID: i + 1, Name: w, Type: iceberg.PrimitiveTypes.Int64}
		cols[i] = fmt.Sprintf("%d AS %q", i+1, w)
		vals[i] = int64(i + 1)
	}
	tbl, err := e.cat.CreateTable(ctx, "kw", "t", iceberg.NewSchema(0, fields...), nil)
	if err != nil {
		t.Fatal(err)
	}
	e.mustAppendInts(t, tbl, vals)
	if err := pc.Exec(ctx, "DROP SCHEMA IF EXISTS kw CASCADE; CREATE SCHEMA kw; CREATE TABLE kw.t AS SELECT "+strings.Join(cols, ", ")).Close(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Exec(context.Background(), "DROP SCHEMA kw CASCADE").Close() })

	s := e.MustSession(t)
	shapes := []string{
		"SELECT %s FROM kw.t",
		"SELECT t.%s FROM kw.t t",
		"SELECT %[1]s AS %[1]s FROM kw.t",
		"SELECT 1 AS %s FROM kw.t",
		"SELECT %[1]s, %[1]s + 1 FROM kw.t WHERE %[1]s > 0",
		"SELECT count(*) FROM kw.t WHERE %s IS NOT NULL",
		"SELECT %[1]s FROM kw.t GROUP BY %[1]s ORDER BY %[1]s",
		"SELECT abs(%s) FROM kw.t",
		"SELECT x FROM (SELECT %s AS x FROM kw.t) AS sub",
	}
	// Statements DuckDB's own parser takes are floe's everyday path; the
	// others are compared with PostgreSQL.
	compared := 0
	for _, w := range list {
		for _, shape := range shapes {
			q := fmt.Sprintf(shape, w)
			var tree string
			if err := duck.QueryRow("SELECT json_serialize_sql(?::VARCHAR)::VARCHAR", q).Scan(&tree); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(tree, `{"error":true`) {
				continue
			}
			res, pgErr := pc.Exec(ctx, q).ReadAll()
			if pgErr != nil {
				continue // PostgreSQL refuses it too
			}
			compared++
			want := res[0]
			names, got, err := query(s, q)
			if err != nil {
				t.Errorf("%s: PostgreSQL answers it, floe: %v", q, err)
				continue
			}
			if len(names) != len(want.FieldDescriptions) || len(got) != len(want.Rows) {
				t.Errorf("%s: floe has %d columns, %d rows; PostgreSQL %d, %d", q, len(names), len(got), len(want.FieldDescriptions), len(want.Rows))
				continue
			}
			for i, fd := range want.FieldDescriptions {
				if names[i] != fd.Name {
					t.Errorf("%s: column %d is %q, PostgreSQL calls it %q", q, i, names[i], fd.Name)
				}
				if g := fmt.Sprint(got[0][i]); g != string(want.Rows[0][i]) {
					t.Errorf("%s: column %d is %s, PostgreSQL says %s", q, i, g, want.Rows[0][i])
				}
			}
		}
	}
	if compared < 50 {
		t.Fatalf("only %d statements that DuckDB's parser rejects and PostgreSQL answers: the word list is wrong", compared)
	}
	t.Logf("%d words; %d statements DuckDB's parser rejects and PostgreSQL answers", len(list), compared)

	// Keywords used as keywords are left alone.
	for _, q := range []string{
		"SELECT TIMESTAMPTZ '2024-05-01 10:00:00+00' AT TIME ZONE 'UTC'",
		"SELECT * FROM kw.t ORDER BY 1 NULLS FIRST LIMIT 1",
		"SELECT map FROM (SELECT MAP {'k': 1} AS map) m",
		"SELECT struct_pack(a := 1) AS struct",
	} {
		MustQuery(t, s, q)
	}
	// A statement that is wrong stays wrong, with the parser's own message.
	if e := MustFail(t, s, "SELECT at FROM kw.t WHERE", "42601"); !strings.Contains(e.Message, "end of input") {
		t.Errorf("broken statement: %q, want DuckDB's message about the end of input", e.Message)
	}
}
