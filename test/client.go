package test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/uptrace/bun/driver/sqliteshim"
)

var httpClient = &http.Client{Timeout: 2 * time.Minute}

// PushResult is the answer to a successful push.
type PushResult struct {
	Rows       int64 `json:"rows"`
	SnapshotID int64 `json:"snapshot_id"`
}

// APIError is the error document of both HTTP endpoints.
type APIError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Response is an HTTP answer: its status and body.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Error decodes {"error": {...}}; it is the zero APIError when there is none.
func (r Response) Error() APIError {
	var doc struct {
		Error APIError `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &doc)
	return doc.Error
}

func (r Response) String() string {
	return fmt.Sprintf("HTTP %d %s", r.Status, bytes.TrimSpace(r.Body))
}

// Push posts an NDJSON body to /v1/ingest/{ns}/{table} as user:password and
// returns the answer whatever it is.
func (f *Floe) Push(tb testing.TB, user, password, ns, table string, body io.Reader) Response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, f.URL("/v1/ingest/"+url.PathEscape(ns)+"/"+url.PathEscape(table)), body)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.SetBasicAuth(user, password)
	return do(tb, req)
}

// MustPush pushes ndjson as the admin and fails tb unless it was committed.
func (f *Floe) MustPush(tb testing.TB, ns, table, ndjson string) PushResult {
	tb.Helper()
	resp := f.Push(tb, f.User, f.Password, ns, table, strings.NewReader(ndjson))
	if resp.Status != http.StatusOK {
		tb.Fatalf("push to %s.%s: %s", ns, table, resp)
	}
	var res PushResult
	if err := json.Unmarshal(resp.Body, &res); err != nil {
		tb.Fatalf("push to %s.%s: decode %q: %v", ns, table, resp.Body, err)
	}
	return res
}

// QueryResult is the answer of POST /v1/query.
type QueryResult struct {
	Columns []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"columns"`
	Rows     [][]any   `json:"rows"`
	RowCount int64     `json:"row_count"`
	Error    *APIError `json:"error"`
}

// Query posts {"sql": sql} to /v1/query as user:password.
func (f *Floe) Query(tb testing.TB, user, password, sql string) Response {
	tb.Helper()
	body, _ := json.Marshal(map[string]string{"sql": sql})
	req, err := http.NewRequest(http.MethodPost, f.URL("/v1/query"), bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(user, password)
	return do(tb, req)
}

// Post posts body to path of the HTTP address as user.
func (f *Floe) Post(tb testing.TB, user, password, path, body string) Response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, f.URL(path), strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.SetBasicAuth(user, password)
	return do(tb, req)
}

// MustQuery runs sql over HTTP as the admin and fails tb unless it succeeded.
// Numbers are decoded as json.Number.
func (f *Floe) MustQuery(tb testing.TB, sql string) QueryResult {
	tb.Helper()
	resp := f.Query(tb, f.User, f.Password, sql)
	if resp.Status != http.StatusOK {
		tb.Fatalf("query %q: %s", sql, resp)
	}
	var res QueryResult
	dec := json.NewDecoder(bytes.NewReader(resp.Body))
	dec.UseNumber()
	if err := dec.Decode(&res); err != nil {
		tb.Fatalf("query %q: decode %q: %v", sql, resp.Body, err)
	}
	if res.Error != nil {
		tb.Fatalf("query %q failed while streaming: %+v", sql, *res.Error)
	}
	return res
}

func do(tb testing.TB, req *http.Request) Response {
	tb.Helper()
	resp, err := httpClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// PGXConfig returns a pgx configuration for the admin user. A cancelled
// context sends a CancelRequest (as psql's ^C does) instead of closing the
// connection, so a cancelled statement leaves a usable connection.
func (f *Floe) PGXConfig(tb testing.TB) *pgx.ConnConfig {
	tb.Helper()
	cfg, err := pgx.ParseConfig(f.ConnString())
	if err != nil {
		tb.Fatal(err)
	}
	cfg.ConnectTimeout = 10 * time.Second
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c,
			CancelRequestDelay: 0, DeadlineDelay: 10 * time.Second}
	}
	return cfg
}

// MustConnect opens a pgx connection as the admin, closed at cleanup.
// Options adjust the configuration (for instance the query exec mode).
func (f *Floe) MustConnect(tb testing.TB, opts ...func(*pgx.ConnConfig)) *pgx.Conn {
	tb.Helper()
	cfg := f.PGXConfig(tb)
	for _, o := range opts {
		o(cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		tb.Fatalf("pgx connect to %s: %v", f.PGAddr, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn.Close(ctx)
	})
	return conn
}

// MustTool returns the path of an installed command-line tool, failing tb
// with how to install it when it is missing.
func MustTool(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		tb.Fatalf("%s is not installed (%v): run scripts/test.sh, which installs it "+
			"(psql and pgbench: apt-get install postgresql-client; python3; java and mvn: a JDK 17 and Maven)", name, err)
	}
	return p
}

// Command prepares a client tool run against f: libpq's PG* variables point
// at f as the admin (password from PGPASSWORD), and the run ends after two
// minutes at most.
func (f *Floe) Command(tb testing.TB, name string, args ...string) *exec.Cmd {
	tb.Helper()
	return f.CommandAs(tb, f.User, f.Password, name, args...)
}

// CommandAs is Command for another user.
func (f *Floe) CommandAs(tb testing.TB, user, password, name string, args ...string) *exec.Cmd {
	tb.Helper()
	ctx := testContext(tb, 2*time.Minute)
	cmd := exec.CommandContext(ctx, MustTool(tb, name), args...)
	cmd.Env = append(libpqFreeEnv(),
		"PGHOST="+f.PGHost(), "PGPORT="+f.PGPort(), "PGUSER="+user,
		"PGPASSWORD="+password, "PGDATABASE="+Database, "PGSSLMODE=disable",
		"PGCONNECT_TIMEOUT=10", "PSQLRC=/dev/null", "PGTZ=UTC", "LC_ALL=C.UTF-8")
	return cmd
}

// libpqFreeEnv is the environment without variables that would steer libpq
// somewhere else.
func libpqFreeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "FLOE_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// MustPsql runs psql -X -v ON_ERROR_STOP=1 with args against f and returns
// its standard output; it fails tb unless psql exits 0.
func (f *Floe) MustPsql(tb testing.TB, args ...string) string {
	tb.Helper()
	stdout, stderr, err := f.Psql(tb, args...)
	if err != nil {
		tb.Fatalf("psql %q: %v\nstdout:\n%s\nstderr:\n%s", args, err, stdout, stderr)
	}
	return stdout
}

// Psql runs psql -X -w -v ON_ERROR_STOP=1 with args against f.
func (f *Floe) Psql(tb testing.TB, args ...string) (stdout, stderr string, err error) {
	tb.Helper()
	return f.PsqlAs(tb, f.User, f.Password, args...)
}

// PsqlAs is Psql for another user.
func (f *Floe) PsqlAs(tb testing.TB, user, password string, args ...string) (stdout, stderr string, err error) {
	tb.Helper()
	cmd := f.CommandAs(tb, user, password, "psql", append([]string{"-X", "-w", "-v", "ON_ERROR_STOP=1"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// MustCurrentSnapshot reads the current snapshot id of ns.table the way
// another Iceberg reader would: the metadata location from the SQL catalog
// (catalog.db), then current-snapshot-id from that metadata file. It returns
// the metadata location too.
func (f *Floe) MustCurrentSnapshot(tb testing.TB, ns, table string) (snapshotID int64, metadataLocation string) {
	tb.Helper()
	db, err := sql.Open(sqliteshim.ShimName, "file:"+filepath.Join(f.DataDir, "catalog.db")+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	err = db.QueryRow(`SELECT metadata_location FROM iceberg_tables
		WHERE table_namespace = ? AND table_name = ?`, ns, table).Scan(&metadataLocation)
	if err != nil {
		tb.Fatalf("catalog.db: metadata location of %s.%s: %v", ns, table, err)
	}
	u, err := url.Parse(metadataLocation)
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := os.ReadFile(u.Path)
	if err != nil {
		tb.Fatalf("read metadata of %s.%s: %v", ns, table, err)
	}
	var md struct {
		CurrentSnapshotID *int64 `json:"current-snapshot-id"`
	}
	if err := json.Unmarshal(raw, &md); err != nil {
		tb.Fatalf("decode %s: %v", u.Path, err)
	}
	if md.CurrentSnapshotID == nil {
		tb.Fatalf("%s.%s has no current snapshot", ns, table)
	}
	return *md.CurrentSnapshotID, metadataLocation
}

// MustDataFiles lists the Parquet data files under the warehouse directory
// of ns.table.
func (f *Floe) MustDataFiles(tb testing.TB, ns, table string) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(f.Warehouse(), ns+".db", table, "data", "*.parquet"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) == 0 {
		tb.Fatalf("no data files of %s.%s under %s", ns, table, f.Warehouse())
	}
	return files
}
