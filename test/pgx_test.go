package test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// mustPgCode fails tb unless err is a PostgreSQL error with code.
func mustPgCode(tb testing.TB, err error, code string) *pgconn.PgError {
	tb.Helper()
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		tb.Fatalf("got %v, want a PostgreSQL error %s", err, code)
	}
	if pgErr.Code != code {
		tb.Fatalf("got %s %q, want %s", pgErr.Code, pgErr.Message, code)
	}
	return pgErr
}

// TestClientSettings: the settings drivers and BI tools send are accepted,
// SHOW reports them, and those that shape output do.
func TestClientSettings(t *testing.T) {
	f := Shared(t)
	f.MustPush(t, "e2e_settings", "t", `{"id":1,"ts":"2024-01-02T03:04:05Z","x":0.1}`+"\n")
	// Simple protocol as psql, and unnamed extended-protocol statements
	// (TestPreparedShow covers cached prepared statements).
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
		t.Run(mode.String(), func(t *testing.T) { testClientSettings(t, f, mode) })
	}
}

func testClientSettings(t *testing.T, f *Floe, mode pgx.QueryExecMode) {
	conn := f.MustConnect(t, func(c *pgx.ConnConfig) { c.DefaultQueryExecMode = mode })
	ctx := testContext(t, time.Minute)
	for _, tc := range []struct{ set, show, want string }{
		{"SET TimeZone = 'Europe/Berlin'", "SHOW TimeZone", "Europe/Berlin"},
		{"SET TIME ZONE 'Asia/Tokyo'", "SHOW timezone", "Asia/Tokyo"},
		{"SET DateStyle = 'ISO, DMY'", "SHOW DateStyle", "ISO, DMY"},
		{"SET datestyle TO ISO", "SHOW datestyle", "ISO, MDY"},
		{"SET extra_float_digits = 3", "SHOW extra_float_digits", "3"},
		{"SET application_name = 'e2e-suite'", "SHOW application_name", "e2e-suite"},
		{"SET search_path = e2e_settings, public", "SHOW search_path", "e2e_settings, public"},
		{"SET statement_timeout = '5s'", "SHOW statement_timeout", "5s"},
		{"SET statement_timeout = 0", "SHOW statement_timeout", "0"},
		{"SET client_encoding = 'UTF8'", "SHOW client_encoding", "UTF8"},
		{"SET SESSION client_min_messages = warning", "SHOW client_min_messages", "warning"},
	} {
		if _, err := conn.Exec(ctx, tc.set); err != nil {
			t.Errorf("%s: %v", tc.set, err)
			continue
		}
		var got string
		if err := conn.QueryRow(ctx, tc.show).Scan(&got); err != nil {
			t.Errorf("%s: %v", tc.show, err)
		} else if got != tc.want {
			t.Errorf("after %s, %s = %q, want %q", tc.set, tc.show, got, tc.want)
		}
	}
	// ParameterStatus follows reported settings.
	if got := conn.PgConn().ParameterStatus("application_name"); got != "e2e-suite" {
		t.Errorf("ParameterStatus application_name = %q, want e2e-suite", got)
	}
	if got := conn.PgConn().ParameterStatus("TimeZone"); got != "Asia/Tokyo" {
		t.Errorf("ParameterStatus TimeZone = %q, want Asia/Tokyo", got)
	}
	// search_path resolves unqualified names.
	var n int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 1 {
		t.Errorf("unqualified t with search_path e2e_settings: n=%d err=%v", n, err)
	}
	// current_setting agrees with SHOW.
	var tz string
	if err := conn.QueryRow(ctx, "SELECT current_setting('TimeZone')").Scan(&tz); err != nil || tz != "Asia/Tokyo" {
		t.Errorf("current_setting('TimeZone') = %q, %v", tz, err)
	}
	// An unknown setting is 42704, an invalid value 22023.
	_, err := conn.Exec(ctx, "SET no_such_setting = 1")
	mustPgCode(t, err, "42704")
	_, err = conn.Exec(ctx, "SET TimeZone = 'Mars/Olympus'")
	mustPgCode(t, err, "22023")

	// Startup parameters count too, as libpq sends them.
	cfg := f.PGXConfig(t)
	cfg.RuntimeParams["application_name"] = "from-startup"
	cfg.RuntimeParams["TimeZone"] = "America/New_York"
	conn2, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close(ctx)
	var app, zone string
	if err := conn2.QueryRow(ctx, "SELECT current_setting('application_name'), current_setting('TimeZone')").Scan(&app, &zone); err != nil {
		t.Fatal(err)
	}
	if app != "from-startup" || zone != "America/New_York" {
		t.Errorf("startup parameters: application_name=%q TimeZone=%q", app, zone)
	}
}

// TestTimeZoneDisplay: psql shows timestamptz values in the session's
// TimeZone.
func TestTimeZoneDisplay(t *testing.T) {
	f := Shared(t)
	f.MustPush(t, "e2e_tz", "t", `{"id":1,"ts":"2024-01-02T03:04:05Z"}`+"\n")
	out := f.MustPsql(t, "-q", "-A", "-t", "-c", "SET TimeZone = 'Asia/Tokyo'", "-c", "SELECT ts FROM e2e_tz.t")
	if want := "2024-01-02 12:04:05+09\n"; out != want {
		t.Errorf("psql printed %q, want %q", out, want)
	}
}

// TestQueryExecModes runs one parameterized query ($1 int, $2 text, $3
// timestamptz) against a pushed table in each of pgx's query exec modes.
func TestQueryExecModes(t *testing.T) {
	f := Shared(t)
	f.MustPush(t, "e2e_modes", "orders", `{"id":1,"customer":"ann","placed_at":"2024-03-01T10:00:00Z","amount":10.5}
{"id":2,"customer":"bob","placed_at":"2024-03-02T11:30:00Z","amount":20}
{"id":3,"customer":"ann","placed_at":"2024-03-03T12:45:30.5Z","amount":30.25}
{"id":4,"customer":"cid","placed_at":"2024-03-04T00:00:00Z","amount":40}
`)
	const q = `SELECT id, customer, placed_at, amount FROM e2e_modes.orders
		WHERE id >= $1 AND customer <> $2 AND placed_at < $3 ORDER BY id`
	cutoff := time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)
	want := "2 bob 2024-03-02T11:30:00Z 20\n3 ann 2024-03-03T12:45:30.5Z 30.25\n"

	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec,
		pgx.QueryExecModeCacheStatement, pgx.QueryExecModeCacheDescribe, pgx.QueryExecModeDescribeExec} {
		t.Run(mode.String(), func(t *testing.T) {
			conn := f.MustConnect(t, func(c *pgx.ConnConfig) { c.DefaultQueryExecMode = mode })
			ctx := testContext(t, time.Minute)
			// Twice: the second run reuses what the mode caches.
			for range 2 {
				rows, err := conn.Query(ctx, q, 2, "cid", cutoff)
				if err != nil {
					t.Fatal(err)
				}
				var b strings.Builder
				for rows.Next() {
					var id int64
					var customer string
					var at time.Time
					var amount float64
					if err := rows.Scan(&id, &customer, &at, &amount); err != nil {
						t.Fatal(err)
					}
					fmt.Fprintf(&b, "%d %s %s %s\n", id, customer, at.UTC().Format(time.RFC3339Nano), strconv.FormatFloat(amount, 'f', -1, 64))
				}
				if err := rows.Err(); err != nil {
					t.Fatal(err)
				}
				if b.String() != want {
					t.Errorf("got\n%swant\n%s", b.String(), want)
				}
			}
			// Parameters echo back with their types.
			var i int32
			var s string
			var ts time.Time
			err := conn.QueryRow(ctx, "SELECT $1::int + 1, $2::text || '!', $3::timestamptz", int32(41), "héllo", cutoff).Scan(&i, &s, &ts)
			if err != nil {
				t.Fatal(err)
			}
			if i != 42 || s != "héllo!" || !ts.Equal(cutoff) {
				t.Errorf("echo: %d %q %s", i, s, ts)
			}
			// NULL parameters.
			var isNull bool
			if err := conn.QueryRow(ctx, "SELECT $1::text IS NULL", nil).Scan(&isNull); err != nil || !isNull {
				t.Errorf("NULL parameter: %v %v", isNull, err)
			}
		})
	}

	// A cached prepared statement sees rows committed after it was prepared.
	conn := f.MustConnect(t)
	ctx := testContext(t, time.Minute)
	count := func() int64 {
		var n int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM e2e_modes.orders WHERE id > $1", 0).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 4 {
		t.Fatalf("count = %d, want 4", n)
	}
	f.MustPush(t, "e2e_modes", "orders", `{"id":5,"customer":"dan","placed_at":"2024-03-05T00:00:00Z","amount":50}`+"\n")
	if n := count(); n != 5 {
		t.Errorf("the cached statement after a push: count = %d, want 5", n)
	}
}

// TestTransactions: BEGIN/COMMIT/ROLLBACK work, and an error inside a block
// fails every later statement with 25P02 until ROLLBACK, as in PostgreSQL.
func TestTransactions(t *testing.T) {
	f := Shared(t)
	f.MustPush(t, "e2e_tx", "t", `{"id":1}`+"\n"+`{"id":2}`+"\n")
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		t.Run(mode.String(), func(t *testing.T) {
			conn := f.MustConnect(t, func(c *pgx.ConnConfig) { c.DefaultQueryExecMode = mode })
			ctx := testContext(t, time.Minute)
			status := func() byte { return conn.PgConn().TxStatus() }

			tx, err := conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if status() != 'T' {
				t.Errorf("in a block: TxStatus %c, want T", status())
			}
			var n int64
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM e2e_tx.t").Scan(&n); err != nil || n != 2 {
				t.Fatalf("count in tx: %d %v", n, err)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatalf("commit: %v", err)
			}
			if status() != 'I' {
				t.Errorf("after COMMIT: TxStatus %c, want I", status())
			}

			tx, err = conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tx.Exec(ctx, "SELECT * FROM e2e_tx.nosuch")
			mustPgCode(t, err, "42P01")
			if status() != 'E' {
				t.Errorf("after an error in a block: TxStatus %c, want E", status())
			}
			for _, q := range []string{"SELECT 1", "SELECT count(*) FROM e2e_tx.t", "SHOW TimeZone", "SET application_name = 'x'"} {
				_, err = tx.Exec(ctx, q)
				pgErr := mustPgCode(t, err, "25P02")
				if !strings.Contains(pgErr.Message, "current transaction is aborted") {
					t.Errorf("%s: message %q", q, pgErr.Message)
				}
			}
			if err := tx.Rollback(ctx); err != nil {
				t.Fatalf("rollback: %v", err)
			}
			if status() != 'I' {
				t.Errorf("after ROLLBACK: TxStatus %c, want I", status())
			}
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM e2e_tx.t").Scan(&n); err != nil || n != 2 {
				t.Errorf("after ROLLBACK: %d %v", n, err)
			}

			// COMMIT of a failed block rolls back, and says so.
			tx, err = conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tx.Exec(ctx, "SELECT 1/'x'")
			if err == nil {
				t.Fatal("SELECT 1/'x' succeeded")
			}
			if err := tx.Commit(ctx); !errors.Is(err, pgx.ErrTxCommitRollback) {
				t.Errorf("COMMIT of a failed block: %v, want pgx.ErrTxCommitRollback (tag ROLLBACK)", err)
			}
			if status() != 'I' {
				t.Errorf("after COMMIT of a failed block: TxStatus %c, want I", status())
			}
			// Outside a block an error does not stick.
			_, err = conn.Exec(ctx, "SELECT * FROM e2e_tx.nosuch")
			mustPgCode(t, err, "42P01")
			if err := conn.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil || n != 1 {
				t.Errorf("after an error outside a block: %d %v", n, err)
			}
		})
	}
}

// longQuery runs for minutes unless cancelled.
const longQuery = "SELECT count(*) FROM range(20000000000)"

// TestCancel: cancelling a running query through its context (pgx sends a
// CancelRequest) ends it with 57014 within seconds, and the connection
// stays usable.
func TestCancel(t *testing.T) {
	f := Shared(t)
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		t.Run(mode.String(), func(t *testing.T) {
			conn := f.MustConnect(t, func(c *pgx.ConnConfig) { c.DefaultQueryExecMode = mode })
			if mode != pgx.QueryExecModeSimpleProtocol {
				// Parse and Describe first, so that the cancel meets the
				// running Execute rather than the gap between round trips
				// (where PostgreSQL, too, ignores a CancelRequest).
				if _, err := conn.Prepare(testContext(t, 30*time.Second), longQuery, longQuery); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			start := time.Now()
			var n int64
			err := conn.QueryRow(ctx, longQuery).Scan(&n)
			took := time.Since(start)
			pgErr := mustPgCode(t, err, "57014")
			if !strings.Contains(pgErr.Message, "canceling statement due to user request") {
				t.Errorf("message %q", pgErr.Message)
			}
			if took > 10*time.Second {
				t.Errorf("cancel took %s", took)
			}
			if conn.IsClosed() {
				t.Fatal("the connection was closed by the cancel")
			}
			ctx2 := testContext(t, 30*time.Second)
			if err := conn.QueryRow(ctx2, "SELECT 42").Scan(&n); err != nil || n != 42 {
				t.Fatalf("after cancel: %d %v", n, err)
			}
			if err := conn.Ping(ctx2); err != nil {
				t.Fatalf("ping after cancel: %v", err)
			}
		})
	}
}

// TestStatementTimeout: statement_timeout ends a long query with 57014, and
// the connection stays usable.
func TestStatementTimeout(t *testing.T) {
	f := Shared(t)
	conn := f.MustConnect(t)
	ctx := testContext(t, time.Minute)
	if _, err := conn.Exec(ctx, "SET statement_timeout = '300ms'"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var n int64
	err := conn.QueryRow(ctx, longQuery).Scan(&n)
	pgErr := mustPgCode(t, err, "57014")
	if !strings.Contains(pgErr.Message, "statement timeout") {
		t.Errorf("message %q, want it to name the statement timeout", pgErr.Message)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("timeout took %s", took)
	}
	if _, err := conn.Exec(ctx, "SET statement_timeout = 0"); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM range(1000)").Scan(&n); err != nil || n != 1000 {
		t.Errorf("after the timeout: %d %v", n, err)
	}
}

// TestLargeResultBoundedMemory streams 10,000,000 rows through pgx and checks
// every row, the exact count, and that floe's peak RSS stays bounded: rows
// are streamed, not collected.
func TestLargeResultBoundedMemory(t *testing.T) {
	f := MustStartFloe(t) // its own process, so that VmHWM is this query's
	conn := f.MustConnect(t)
	ctx := testContext(t, 5*time.Minute)
	before := f.MustPeakRSS(t)

	const total = 10_000_000
	start := time.Now()
	rows, err := conn.Query(ctx, "SELECT i, i*2, 'x'||i FROM range(10000000) t(i)")
	if err != nil {
		t.Fatal(err)
	}
	var count, sum int64
	var a, b int64
	var c []byte
	var digits [20]byte
	for rows.Next() {
		if err := rows.Scan(&a, &b, &c); err != nil {
			t.Fatal(err)
		}
		if b != 2*a || len(c) < 2 || c[0] != 'x' || string(c[1:]) != string(strconv.AppendInt(digits[:0], a, 10)) {
			t.Fatalf("row %d: %d, %d, %q", count, a, b, c)
		}
		count++
		sum += a
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if count != total || sum != total*(total-1)/2 {
		t.Errorf("read %d rows with sum %d, want %d rows with sum %d", count, sum, total, int64(total)*(total-1)/2)
	}
	peak := f.MustPeakRSS(t)
	t.Logf("%d rows in %s; floe peak RSS %d MiB (before the query %d MiB)", count, took.Round(time.Millisecond), peak>>20, before>>20)
	const bound = 1536 << 20
	if peak > bound {
		t.Errorf("floe's peak RSS %d MiB exceeds %d MiB: the result is not streamed", peak>>20, bound>>20)
	}
}
