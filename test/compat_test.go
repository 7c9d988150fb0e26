package test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// PostgreSQL compatibility beyond the wire protocol: what clients and BI
// tools send and expect answered as PostgreSQL 16 answers it.

// TestPreparedShow: a SHOW that a driver prepared once and runs again (pgx's
// default statement cache does this) reports the setting's value when it
// runs, not when it was prepared, as in PostgreSQL.
func TestPreparedShow(t *testing.T) {
	f := Shared(t)
	conn := f.MustConnect(t) // QueryExecModeCacheStatement
	ctx := testContext(t, time.Minute)
	for _, v := range []string{"Europe/Berlin", "Asia/Tokyo", "UTC"} {
		if _, err := conn.Exec(ctx, "SET TimeZone = '"+v+"'"); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := conn.QueryRow(ctx, "SHOW TimeZone").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != v {
			t.Errorf("after SET TimeZone = '%s' the cached SHOW TimeZone answers %q", v, got)
		}
	}
}

// TestTimeZoneInExpressions: functions of timestamptz values use the
// session's TimeZone, as in PostgreSQL: with TimeZone Asia/Tokyo,
// 2024-01-02 23:04:05+00 is at hour 8 of 2024-01-03, and text casts show
// +09.
func TestTimeZoneInExpressions(t *testing.T) {
	f := Shared(t)
	f.MustPush(t, "e2e_tzexpr", "t", `{"id":1,"ts":"2024-01-02T23:04:05Z"}`+"\n")
	out := f.MustPsql(t, "-q", "-A", "-t", "-F", "|", "-c", "SET TimeZone = 'Asia/Tokyo'", "-c",
		"SELECT extract(hour FROM ts), date_trunc('day', ts), ts::date, ts::text FROM e2e_tzexpr.t")
	// PostgreSQL 16 prints: 8|2024-01-03 00:00:00+09|2024-01-03|2024-01-03 08:04:05+09
	if want := "8|2024-01-03 00:00:00+09|2024-01-03|2024-01-03 08:04:05+09\n"; out != want {
		t.Errorf("with TimeZone Asia/Tokyo psql printed\n%q\nwant (as PostgreSQL)\n%q", out, want)
	}
}

// TestUntypedParameters: parameters sent without a type (OID 0), as
// pgbench -M extended/prepared and psycopg (for None) send them, take the
// type PostgreSQL infers from their context.
func TestUntypedParameters(t *testing.T) {
	f := Shared(t)
	f.MustPush(t, "e2e_untyped", "t", `{"aid":5,"name":"five"}`+"\n"+`{"aid":15,"name":"fifteen"}`+"\n")
	conn := f.MustConnect(t)
	ctx := testContext(t, time.Minute)
	for _, tc := range []struct {
		sql   string
		param []byte // nil: NULL
		want  string // first column of the one row, in text format
	}{
		{"SELECT name FROM e2e_untyped.t WHERE aid = $1", []byte("15"), "fifteen"},
		{"SELECT name FROM e2e_untyped.t WHERE aid = $1 % 10", []byte("15"), "five"},
		{"SELECT $1 + 1", []byte("5"), "6"},
		{"SELECT $1 || 'x'", []byte("5"), "5x"},
		{"SELECT $1", []byte("5"), "5"},
		{"SELECT $1 IS NULL", nil, "t"},
	} {
		res := conn.PgConn().ExecParams(ctx, tc.sql, [][]byte{tc.param}, []uint32{0}, nil, nil).Read()
		if res.Err != nil {
			t.Errorf("%s with an untyped parameter: %v", tc.sql, res.Err)
			continue
		}
		if len(res.Rows) != 1 || string(res.Rows[0][0]) != tc.want {
			var got []string
			for _, r := range res.Rows {
				got = append(got, string(r[0]))
			}
			t.Errorf("%s: got %q, want [%q]", tc.sql, got, tc.want)
		}
	}
}

// TestSavepoints: SAVEPOINT, RELEASE SAVEPOINT and ROLLBACK TO SAVEPOINT
// work inside a block as in PostgreSQL; ROLLBACK TO SAVEPOINT after an error
// makes the block usable again. Drivers use savepoints on their own:
// psycopg's conn.transaction() inside a transaction (SQLAlchemy's dialect
// does this on connect), PgJDBC's autosave.
func TestSavepoints(t *testing.T) {
	f := Shared(t)
	conn := f.MustConnect(t)
	ctx := testContext(t, time.Minute)
	status := func() byte { return conn.PgConn().TxStatus() }
	step := func(sql, wantTag string, wantStatus byte) {
		t.Helper()
		tag, err := conn.Exec(ctx, sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		if tag.String() != wantTag || status() != wantStatus {
			t.Fatalf("%s: tag %q, TxStatus %c; want %q, %c", sql, tag.String(), status(), wantTag, wantStatus)
		}
	}
	step("BEGIN", "BEGIN", 'T')
	step("SAVEPOINT a", "SAVEPOINT", 'T')
	step("SELECT 1", "SELECT 1", 'T')
	step("RELEASE SAVEPOINT a", "RELEASE", 'T')
	step("SAVEPOINT b", "SAVEPOINT", 'T')
	_, err := conn.Exec(ctx, "SELECT * FROM e2e_savepoint.nosuch")
	mustPgCode(t, err, "42P01")
	if status() != 'E' {
		t.Fatalf("after an error: TxStatus %c, want E", status())
	}
	step("ROLLBACK TO SAVEPOINT b", "ROLLBACK", 'T')
	step("SELECT 1", "SELECT 1", 'T')
	step("COMMIT", "COMMIT", 'I')
}

// TestQualifiedColumnReferences: columns qualified with schema and table
// (schema.table.column) resolve, for Iceberg tables and for pg_catalog
// relations. SQLAlchemy's inspector writes its catalog queries this way.
func TestQualifiedColumnReferences(t *testing.T) {
	f := Shared(t)
	f.MustPush(t, "e2e_qualified", "t", `{"id":7}`+"\n")
	conn := f.MustConnect(t)
	ctx := testContext(t, time.Minute)
	for _, tc := range []struct{ sql, want string }{
		{"SELECT t.id FROM e2e_qualified.t", "7"},
		{"SELECT e2e_qualified.t.id FROM e2e_qualified.t", "7"},
		{"SELECT pg_catalog.pg_namespace.nspname FROM pg_catalog.pg_namespace WHERE pg_catalog.pg_namespace.nspname = 'e2e_qualified'", "e2e_qualified"},
		{`SELECT pg_catalog.pg_class.relname FROM pg_catalog.pg_class
			JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace
			WHERE pg_catalog.pg_namespace.nspname = 'e2e_qualified'`, "t"},
	} {
		var got any
		if err := conn.QueryRow(ctx, tc.sql).Scan(&got); err != nil {
			t.Errorf("%s: %v", tc.sql, err)
		} else if fmt.Sprint(got) != tc.want {
			t.Errorf("%s: got %v, want %s", tc.sql, got, tc.want)
		}
	}
}

// TestIntegerArithmetic: integer division truncates and division by zero
// is an error (22012), as in PostgreSQL; a BI tool computing averages or
// ratios from integer columns must not get DuckDB's float division.
func TestIntegerArithmetic(t *testing.T) {
	f := Shared(t)
	f.MustPush(t, "e2e_arith", "t", `{"a":5,"b":2,"z":0}`+"\n")
	conn := f.MustConnect(t)
	ctx := testContext(t, time.Minute)
	for _, tc := range []struct{ sql, want string }{
		{"SELECT 5/2", "2"},
		{"SELECT a/b FROM e2e_arith.t", "2"},
		{"SELECT -7/2", "-3"},
		{"SELECT 7 % 3", "1"},
		{"SELECT 5.0/2", "2.5"},
	} {
		res := conn.PgConn().ExecParams(ctx, tc.sql, nil, nil, nil, nil).Read()
		if res.Err != nil {
			t.Errorf("%s: %v", tc.sql, res.Err)
		} else if len(res.Rows) != 1 || string(res.Rows[0][0]) != tc.want {
			t.Errorf("%s: got %q, want %s", tc.sql, res.Rows, tc.want)
		}
	}
	for _, sql := range []string{"SELECT 1/0", "SELECT a/z FROM e2e_arith.t"} {
		_, err := conn.Exec(ctx, sql)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "22012" {
			t.Errorf("%s: %v, want ERROR 22012 division by zero", sql, err)
		}
	}
}
