package authz_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/floe-dev/floe/authz"
)

func TestRedactStatement(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		// Literals that are not secrets are kept.
		{"SELECT * FROM clinical.subjects WHERE site_id = 'S001' AND age > 40",
			"SELECT * FROM clinical.subjects WHERE site_id = 'S001' AND age > 40"},
		{"SELECT 'password'", "SELECT 'password'"},
		{"SELECT password_hint FROM t", "SELECT password_hint FROM t"},
		{"-- password: keep comments\nSELECT 1", "-- password: keep comments\nSELECT 1"},
		// PASSWORD 'x' in its PostgreSQL forms.
		{"ALTER USER bob WITH PASSWORD 'hunter2' VALID UNTIL 'infinity'",
			"ALTER USER bob WITH PASSWORD '***' VALID UNTIL 'infinity'"},
		{"CREATE ROLE r LOGIN PASSWORD E'it\\'s secret'", "CREATE ROLE r LOGIN PASSWORD '***'"},
		{"ALTER USER bob PASSWORD $$dollar'quoted$$", "ALTER USER bob PASSWORD '***'"},
		{"alter user bob password 'SCRAM-SHA-256$4096:abc$def:ghi'", "alter user bob password '***'"},
		// DuckDB secrets: key/value options.
		{"CREATE SECRET s3 (TYPE s3, KEY_ID 'AKIAXYZ', SECRET 'abc/def', REGION 'eu-west-1')",
			"CREATE SECRET s3 (TYPE s3, KEY_ID '***', SECRET '***', REGION 'eu-west-1')"},
		{"SET s3_secret_access_key = 'abc'", "SET s3_secret_access_key = '***'"},
		{"SET s3_session_token TO 'abc'", "SET s3_session_token TO '***'"},
		{`SELECT {'password': 'x', 'user': 'y'}`, `SELECT {'password': '***', 'user': 'y'}`},
		{`SELECT f(api_key => 'k1')`, `SELECT f(api_key => '***')`},
		{`SELECT * FROM t WHERE "ApiToken" = 'tok' OR token = 123`, `SELECT * FROM t WHERE "ApiToken" = '***' OR token = ***`},
		// A word right after a key without = keeps it (a name, not a value).
		{"CREATE SECRET my_secret (TYPE s3)", "CREATE SECRET my_secret (TYPE s3)"},
		// Inside kept strings: connection strings, JSON, URLs.
		{"ATTACH 'host=db user=u password=pw1 dbname=x' AS p",
			"ATTACH 'host=db user=u password=*** dbname=x' AS p"},
		{`SELECT '{"user":"u","password":"pw"}'::JSON`, `SELECT '{"user":"u","password":***}'::JSON`},
		{"SELECT 'postgres://bob:s3cr3t@db:5432/x'", "SELECT 'postgres://bob:***@db:5432/x'"},
		// Unterminated input stays bounded.
		{"ALTER USER bob PASSWORD 'unterminated", "ALTER USER bob PASSWORD '***'"},
		{"SELECT $1, $2 FROM t WHERE password = $1", "SELECT $1, $2 FROM t WHERE password = $1"},
	} {
		if got := authz.RedactStatement(c.in); got != c.want {
			t.Errorf("RedactStatement(%q)\n got  %q\n want %q", c.in, got, c.want)
		}
	}
}

func FuzzRedactStatement(f *testing.F) {
	f.Add("ALTER USER bob PASSWORD 'x'")
	f.Add("SELECT E'\\'' || $a$x$a$ /* /* */ */ -- c")
	f.Fuzz(func(t *testing.T, s string) {
		authz.RedactStatement(s) // must not panic or loop
	})
}

// readLines decodes the JSON lines of a file.
func readLines(tb testing.TB, path string) []authz.AuditRecord {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []authz.AuditRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r authz.AuditRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			tb.Fatalf("%s: %v: %s", path, err, sc.Bytes())
		}
		out = append(out, r)
	}
	return out
}

func record(i int) authz.AuditRecord {
	return authz.AuditRecord{Time: time.Now(), Principal: "alice", Statement: fmt.Sprintf("SELECT %d -- %s", i, strings.Repeat("x", 100)),
		Decision: authz.AuditAllowed, Rows: int64(i)}
}

func TestAuditLogRotates(t *testing.T) {
	dir := t.TempDir()
	l := authz.NewAuditLog(authz.AuditConfig{Dir: dir, MaxFileBytes: 4 << 10, KeepFiles: 3, FlushInterval: time.Hour})
	if err := l.Open(nil); err != nil {
		t.Fatal(err)
	}
	const n = 300 // ~330 bytes each: about 25 files' worth
	for i := range n {
		l.Record(record(i))
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := l.Stats(); s.Written != n || s.Dropped != 0 {
		t.Fatalf("stats %+v", s)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "audit.log*"))
	if len(names) != 4 {
		t.Fatalf("files %v, want audit.log and 3 rotated", names)
	}
	// Newest last in audit.log; the rotated files hold the lines just before
	// it, in order, each within the size bound.
	var all []authz.AuditRecord
	for _, name := range []string{"audit.log.3", "audit.log.2", "audit.log.1", "audit.log"} {
		path := filepath.Join(dir, name)
		if st, _ := os.Stat(path); st.Size() > 4<<10 {
			t.Errorf("%s is %d bytes, over the bound", name, st.Size())
		}
		if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", name, st.Mode().Perm())
		}
		all = append(all, readLines(t, path)...)
	}
	for i, r := range all {
		if want := int64(n - len(all) + i); r.Rows != want {
			t.Fatalf("line %d has record %d, want %d: lines lost or out of order", i, r.Rows, want)
		}
	}
	if all[len(all)-1].Rows != n-1 {
		t.Fatalf("last record %d", all[len(all)-1].Rows)
	}

	// A restart appends to audit.log and keeps rotating from its size.
	l = authz.NewAuditLog(authz.AuditConfig{Dir: dir, MaxFileBytes: 4 << 10, KeepFiles: 3})
	if err := l.Open(nil); err != nil {
		t.Fatal(err)
	}
	before := len(readLines(t, filepath.Join(dir, "audit.log")))
	l.Record(record(n))
	l.Close(context.Background())
	after := readLines(t, filepath.Join(dir, "audit.log"))
	if len(after) != before+1 && len(after) != 1 {
		t.Fatalf("after restart audit.log has %d lines, had %d", len(after), before)
	}
}

func TestAuditLogPushesBatchesAndFlushesOnClose(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	var pushes [][]authz.AuditRecord
	push := func(ctx context.Context, ndjson []byte) error {
		var batch []authz.AuditRecord
		for _, line := range bytes.Split(bytes.TrimSpace(ndjson), []byte("\n")) {
			var r authz.AuditRecord
			if err := json.Unmarshal(line, &r); err != nil {
				return err
			}
			batch = append(batch, r)
		}
		mu.Lock()
		pushes = append(pushes, batch)
		mu.Unlock()
		return nil
	}
	l := authz.NewAuditLog(authz.AuditConfig{Dir: dir, FlushInterval: 50 * time.Millisecond})
	if err := l.Open(push); err != nil {
		t.Fatal(err)
	}
	rec := record(1)
	rec.Statement = "ALTER USER bob PASSWORD 'hunter2'"
	l.Record(rec)
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(pushes)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no push within 5s of a record")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Records after the last tick are pushed by Close.
	for i := range 10 {
		l.Record(record(i))
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.Record(record(99)) // after Close: dropped, counted
	total := 0
	for _, b := range pushes {
		total += len(b)
	}
	if s := l.Stats(); total != 11 || s.Pushed != 11 || s.Written != 11 || s.Dropped != 1 || s.TableMissing != 0 {
		t.Fatalf("pushed %d records, stats %+v", total, s)
	}
	got := pushes[0][0]
	if got.Statement != "ALTER USER bob PASSWORD '***'" {
		t.Fatalf("pushed statement %q: not redacted", got.Statement)
	}
	// Every list is [] rather than null, so the table gets list columns.
	line, _ := os.ReadFile(filepath.Join(dir, "audit.log"))
	if !bytes.Contains(line, []byte(`"tables":[]`)) || bytes.Contains(line, []byte("hunter2")) {
		t.Fatalf("audit.log: %s", line)
	}
}

// Record never blocks: with the writer stalled (a push that hangs and a
// full queue) records are dropped and counted, quickly.
func TestAuditLogNeverBlocks(t *testing.T) {
	release := make(chan struct{})
	l := authz.NewAuditLog(authz.AuditConfig{Dir: t.TempDir(), Queue: 16, FlushInterval: time.Millisecond})
	push := func(ctx context.Context, _ []byte) error {
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// Not opened yet: nothing drains the queue.
	start := time.Now()
	for i := range 1000 {
		l.Record(record(i))
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("1000 records took %v", d)
	}
	if s := l.Stats(); s.Dropped != 1000-16 {
		t.Fatalf("dropped %d, want %d", s.Dropped, 1000-16)
	}
	if err := l.Open(push); err != nil {
		t.Fatal(err)
	}
	// A push that outlives Close's deadline is cancelled; Close returns.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := l.Close(ctx)
	close(release)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close with a hung push: %v", err)
	}
	if s := l.Stats(); s.Written != 16 || s.TableMissing != 16 {
		t.Fatalf("stats %+v", s)
	}
}

// BenchmarkAuditRecord is the cost on the query path: offering a record.
func BenchmarkAuditRecord(b *testing.B) {
	l := authz.NewAuditLog(authz.AuditConfig{Dir: b.TempDir()})
	if err := l.Open(nil); err != nil {
		b.Fatal(err)
	}
	rec := record(1)
	rec.Tables = []string{"clinical.subjects"}
	b.ResetTimer()
	for range b.N {
		l.Record(rec)
	}
	b.StopTimer()
	l.Close(context.Background())
	b.ReportMetric(float64(l.Stats().Dropped)/float64(b.N), "dropped/op")
}

// BenchmarkAuditWriter is the writer's cost per record (redact, encode,
// append to the file), measured end to end through Close.
func BenchmarkAuditWriter(b *testing.B) {
	l := authz.NewAuditLog(authz.AuditConfig{Dir: b.TempDir(), Queue: 1 << 20})
	if err := l.Open(nil); err != nil {
		b.Fatal(err)
	}
	rec := record(1)
	rec.Statement = "SELECT subject_id, site_id FROM clinical.subjects WHERE site_id = 'S001' AND age > 40 ORDER BY 1"
	rec.Tables = []string{"clinical.subjects"}
	b.ResetTimer()
	for i := range b.N {
		if i%(1<<19) == 0 && i > 0 { // keep below the queue bound
			time.Sleep(100 * time.Millisecond)
		}
		l.Record(rec)
	}
	l.Close(context.Background())
	if s := l.Stats(); s.Dropped != 0 {
		b.Fatalf("dropped %d", s.Dropped)
	}
}
