package test

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestSandboxRefusals: even the admin cannot reach files, extensions,
// settings, secrets or write paths through SQL. Each statement is refused
// with its SQLSTATE over pgx (simple and extended protocol) and HTTP, the
// connection stays usable, nothing is written, and no message names the
// data directory.
func TestSandboxRefusals(t *testing.T) {
	f := Shared(t)
	f.MustPush(t, "e2e_sandbox", "t", `{"id":1,"secret":"s1"}`+"\n"+`{"id":2,"secret":"s2"}`+"\n")
	file := f.MustDataFiles(t, "e2e_sandbox", "t")[0]
	copyTarget := filepath.Join(f.Warehouse(), "e2e_sandbox.db", "t", "data", "copied.parquet")
	attachTarget := filepath.Join(f.DataDir, "attached.duckdb")

	denied := func(fn string) string { return "permission denied for function " + fn }
	cases := []struct {
		sql, code, message string // message: a part of the expected message ("" = any)
	}{
		{"SELECT * FROM read_parquet('" + file + "')", "42501", denied("read_parquet")},
		{"SELECT * FROM read_parquet(['" + file + "'], hive_partitioning=false)", "42501", denied("read_parquet")},
		{"SELECT * FROM parquet_scan('" + file + "')", "42501", denied("parquet_scan")},
		{"SELECT * FROM parquet_metadata('" + file + "')", "42501", denied("parquet_metadata")},
		{"SELECT count(*) FROM read_csv('/etc/passwd')", "42501", denied("read_csv")},
		{"SELECT * FROM read_text('/etc/hostname')", "42501", denied("read_text")},
		{"SELECT * FROM glob('" + f.DataDir + "/*')", "42501", denied("glob")},
		{"WITH a AS (SELECT * FROM read_parquet('" + file + "')) SELECT * FROM a", "42501", denied("read_parquet")},
		{"SELECT (SELECT count(*) FROM read_parquet('" + file + "'))", "42501", denied("read_parquet")},
		{"SELECT * FROM e2e_sandbox.t WHERE id IN (SELECT 1 FROM read_parquet('" + file + "'))", "42501", denied("read_parquet")},
		{"SELECT * FROM '" + file + "'", "42P01", "does not exist"},
		{"SELECT * FROM '" + f.Warehouse() + "/*/*/data/*.parquet'", "42P01", "does not exist"},
		{"COPY (SELECT 1) TO '" + copyTarget + "'", "42501", "COPY"},
		{"COPY e2e_sandbox.t TO '" + copyTarget + "' (FORMAT parquet)", "42501", "COPY"},
		{"EXPORT DATABASE '" + f.DataDir + "/export'", "42501", "EXPORT"},
		{"ATTACH '" + attachTarget + "' AS evil", "42501", "ATTACH"},
		{"INSTALL httpfs", "42501", "INSTALL"},
		{"LOAD httpfs", "42501", "LOAD"},
		{"PRAGMA version", "42501", "PRAGMA"},
		{"PRAGMA enable_profiling", "42501", "PRAGMA"},
		{"SET enable_external_access=true", "42501", "enable_external_access"},
		{"SET enable_external_access TO true", "42501", "enable_external_access"},
		{"SET threads=1", "42501", "threads"},
		{"SET lock_configuration=false", "42501", "lock_configuration"},
		{"SET allowed_directories=['/']", "42501", "allowed_directories"},
		{"SET memory_limit='100GB'", "42501", "memory_limit"},
		{"RESET threads", "42501", "threads"},
		{"SET VARIABLE x = 1", "42501", ""},
		{"SELECT current_setting('allowed_directories')", "42704", "allowed_directories"},
		{"SELECT current_setting('enable_external_access')", "42704", "enable_external_access"},
		{"EXPLAIN SELECT 1", "42501", "EXPLAIN"},
		{"EXPLAIN ANALYZE SELECT * FROM e2e_sandbox.t", "42501", "EXPLAIN"},
		{"SUMMARIZE e2e_sandbox.t", "42501", ""},
		{"DESCRIBE e2e_sandbox.t", "42501", ""},
		{"SELECT * FROM duckdb_settings()", "42501", denied("duckdb_settings")},
		{"SELECT * FROM duckdb_extensions()", "42501", denied("duckdb_extensions")},
		{"SELECT * FROM duckdb_secrets()", "42501", denied("duckdb_secrets")},
		{"CREATE TABLE x(a int)", "0A000", "CREATE"},
		{"CREATE TABLE e2e_sandbox.copy AS SELECT * FROM e2e_sandbox.t", "0A000", "CREATE"},
		{"INSERT INTO e2e_sandbox.t VALUES (3, 's3')", "0A000", "INSERT"},
		{"UPDATE e2e_sandbox.t SET secret = 'x'", "0A000", "UPDATE"},
		{"DELETE FROM e2e_sandbox.t", "0A000", "DELETE"},
		{"DROP TABLE e2e_sandbox.t", "0A000", "DROP"},
		{"CREATE MACRO m(a) AS a", "0A000", "CREATE"},
		{"CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 's')", "0A000", "CREATE"},
		{"CREATE VIEW v AS SELECT * FROM e2e_sandbox.t", "0A000", "CREATE"},
		{"SELECT * FROM query('select 1')", "42501", denied("query")},
		{"SELECT * FROM query_table('e2e_sandbox.t')", "42501", denied("query_table")},
		{"WITH pg_settings AS (SELECT 1) SELECT * FROM pg_settings", "0A000", "pg_settings"},
		{"USE memory", "42501", "USE"},
		{"CHECKPOINT", "42501", "CHECKPOINT"},
		{"CALL duckdb_settings()", "42501", "CALL"},
		{"SELECT getenv('HOME')", "42883", "getenv"},
	}

	// Messages may echo a path the client sent itself; they must not reveal
	// any other part of the data directory.
	leaks := func(sql, msg string) bool {
		for _, p := range []string{file, copyTarget, attachTarget, f.Warehouse() + "/*/*/data/*.parquet", f.DataDir + "/*", f.DataDir + "/export"} {
			if strings.Contains(sql, p) {
				msg = strings.ReplaceAll(msg, p, "")
			}
		}
		return strings.Contains(msg, f.DataDir)
	}

	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		t.Run("pgx "+mode.String(), func(t *testing.T) {
			conn := f.MustConnect(t, func(c *pgx.ConnConfig) { c.DefaultQueryExecMode = mode })
			for _, tc := range cases {
				ctx := testContext(t, 30*time.Second)
				_, err := conn.Exec(ctx, tc.sql)
				var pgErr *pgconn.PgError
				switch {
				case err == nil:
					t.Errorf("%s: succeeded, want %s", tc.sql, tc.code)
				case !errors.As(err, &pgErr):
					t.Errorf("%s: %v, want a PostgreSQL error %s", tc.sql, err, tc.code)
				default:
					if pgErr.Code != tc.code || !strings.Contains(pgErr.Message, tc.message) {
						t.Errorf("%s:\n got %s %q\nwant %s %q", tc.sql, pgErr.Code, pgErr.Message, tc.code, tc.message)
					}
					for _, part := range []string{pgErr.Message, pgErr.Detail, pgErr.Hint, pgErr.Where, pgErr.InternalQuery} {
						if leaks(tc.sql, part) {
							t.Errorf("%s: error reveals the data directory: %q", tc.sql, part)
						}
					}
				}
				var one int
				if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
					t.Fatalf("after %q the connection is unusable: %v", tc.sql, err)
				}
			}
		})
	}

	t.Run("http", func(t *testing.T) {
		status := map[string]int{"42501": http.StatusForbidden, "42P01": http.StatusNotFound,
			"0A000": http.StatusBadRequest, "42704": http.StatusBadRequest, "42883": http.StatusBadRequest}
		for _, tc := range cases {
			resp := f.Query(t, f.User, f.Password, tc.sql)
			e := resp.Error()
			if resp.Status != status[tc.code] || e.Code != tc.code || !strings.Contains(e.Message, tc.message) {
				t.Errorf("%s: got %s, want HTTP %d with %s %q", tc.sql, resp, status[tc.code], tc.code, tc.message)
			}
			if leaks(tc.sql, string(resp.Body)) {
				t.Errorf("%s: answer reveals the data directory: %s", tc.sql, resp.Body)
			}
		}
	})

	// Nothing was written, and the table is as pushed.
	for _, p := range []string{copyTarget, attachTarget, filepath.Join(f.DataDir, "export")} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists after the refused statements (stat: %v)", p, err)
		}
	}
	got := f.MustQuery(t, "SELECT count(*), string_agg(secret, ',' ORDER BY id) FROM e2e_sandbox.t")
	if len(got.Rows) != 1 || got.Rows[0][0].(interface{ String() string }).String() != "2" || got.Rows[0][1] != "s1,s2" {
		t.Errorf("e2e_sandbox.t after the refused statements: %v", got.Rows)
	}
}

// TestErrorsDoNotRevealPaths: errors that come from reading a table — a
// wrong column, a failed cast, a data file gone or corrupt — never name the
// warehouse or floe's rewrite of the query.
func TestErrorsDoNotRevealPaths(t *testing.T) {
	f := Shared(t)
	f.MustPush(t, "e2e_paths", "ok", `{"id":1,"name":"a"}`+"\n")
	f.MustPush(t, "e2e_paths", "gone", `{"id":1,"name":"a"}`+"\n")
	f.MustPush(t, "e2e_paths", "corrupt", `{"id":1,"name":"a"}`+"\n")
	for _, p := range f.MustDataFiles(t, "e2e_paths", "gone") {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range f.MustDataFiles(t, "e2e_paths", "corrupt") {
		if err := os.WriteFile(p, []byte("not parquet\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	conn := f.MustConnect(t)
	for _, tc := range []struct{ sql, code string }{
		{"SELECT nosuch FROM e2e_paths.ok", "42703"},
		{"SELECT name::int FROM e2e_paths.ok", "22P02"},
		{"SELECT * FROM e2e_paths.ok WHERE name = 1", "22P02"},
		{"SELECT * FROM e2e_paths.nosuch", "42P01"},
		{"SELECT * FROM e2e_paths.ok JOIN e2e_paths.ok o2 USING (nosuch)", ""},
		{"SELECT * FROM e2e_paths.gone", "XX000"},
		{"SELECT * FROM e2e_paths.corrupt", ""},
	} {
		ctx := testContext(t, 30*time.Second)
		rows, err := conn.Query(ctx, tc.sql)
		if err == nil {
			for rows.Next() {
			}
			rows.Close()
			err = rows.Err()
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) {
			t.Errorf("%s: %v, want a PostgreSQL error", tc.sql, err)
			continue
		}
		if tc.code != "" && pgErr.Code != tc.code {
			t.Errorf("%s: code %s (%s), want %s", tc.sql, pgErr.Code, pgErr.Message, tc.code)
		}
		for _, part := range []string{pgErr.Message, pgErr.Detail, pgErr.Hint, pgErr.Where} {
			for _, bad := range []string{f.DataDir, "warehouse/", ".parquet", "read_parquet", "__floe"} {
				if strings.Contains(part, bad) {
					t.Errorf("%s: error %q reveals %q", tc.sql, part, bad)
				}
			}
		}
		resp := f.Query(t, f.User, f.Password, tc.sql)
		if resp.Status == http.StatusOK && resp.Error().Code == "" {
			t.Errorf("%s over HTTP: %s, want an error", tc.sql, resp)
		}
		for _, bad := range []string{f.DataDir, "read_parquet", "__floe"} {
			if strings.Contains(string(resp.Body), bad) {
				t.Errorf("%s over HTTP: answer %s reveals %q", tc.sql, resp.Body, bad)
			}
		}
	}
}
