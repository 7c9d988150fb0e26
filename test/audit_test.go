package test

import (
	"bufio"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// auditRow is the part of a floe_audit.queries row (and of an audit.log
// line) the test checks.
type auditRow struct {
	Principal   string   `json:"principal"`
	Protocol    string   `json:"protocol"`
	Application string   `json:"application_name"`
	ClientAddr  string   `json:"client_addr"`
	Statement   string   `json:"statement"`
	Tables      []string `json:"tables"`
	Filters     []string `json:"filters"`
	Excluded    []string `json:"excluded_columns"`
	Decision    string   `json:"decision"`
	SQLState    string   `json:"sqlstate"`
	Rows        int64    `json:"row_count"`
	DurationUS  int64    `json:"duration_us"`
}

// TestAuditTrail runs statements as three principals of the clinical
// example policy over pgwire and HTTP, one of them denied and one carrying
// a password, then reads them back as the auditor from floe_audit.queries
// through SQL, checks DATA/audit/audit.log, and checks that the records of
// the last statements before a shutdown reach the table (the audit log
// flushes before ingest closes).
func TestAuditTrail(t *testing.T) {
	dir := MustClinicalDataDir(t, "alice", "mona", "audrey")
	f := MustStartFloe(t, WithDataDir(dir))
	f.MustPush(t, "clinical", "subjects", strings.Join([]string{
		`{"subject_id":"SUBJ-1","site_id":"S001","treatment_arm":"high_dose","age":40}`,
		`{"subject_id":"SUBJ-2","site_id":"S001","treatment_arm":"placebo","age":50}`,
		`{"subject_id":"SUBJ-3","site_id":"S002","treatment_arm":"placebo","age":60}`,
	}, "\n")+"\n")
	connect := func(f *Floe, user string) *pgx.Conn {
		return f.MustConnect(t, func(c *pgx.ConnConfig) {
			c.User, c.Password = user, user+"-password"
			c.RuntimeParams["application_name"] = "audit-e2e"
		})
	}
	ctx := testContext(t, 2*time.Minute)

	alice := connect(f, "alice")
	var n int
	if err := alice.QueryRow(ctx, "SELECT count(*) FROM clinical.subjects WHERE age > 30").Scan(&n); err != nil || n != 2 {
		t.Fatalf("alice counts %d (%v), want 2", n, err)
	}
	var pgErr *pgconn.PgError
	if _, err := alice.Exec(ctx, "SELECT treatment_arm FROM clinical.subjects"); !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Fatalf("alice selecting treatment_arm: %v, want 42501", err)
	}
	if resp := f.Query(t, "mona", "mona-password", "SELECT count(*) FROM clinical.subjects"); resp.Status != http.StatusForbidden {
		t.Fatalf("mona over HTTP: %s, want 403", resp)
	}
	admin := f.MustConnect(t)
	if _, err := admin.Exec(ctx, "ALTER USER bob PASSWORD 'hunter2-secret'"); err == nil {
		t.Fatal("ALTER USER succeeded")
	}

	// The auditor reads the records back through SQL (pushed about once a
	// second, so wait for them).
	audrey := connect(f, "audrey")
	want := func(rows []auditRow) string {
		byStmt := func(prefix string) *auditRow {
			for i := range rows {
				if strings.HasPrefix(rows[i].Statement, prefix) {
					return &rows[i]
				}
			}
			return nil
		}
		r := byStmt("SELECT count(*) FROM clinical.subjects WHERE age > 30")
		switch {
		case r == nil:
			return "alice's count is missing"
		case r.Principal != "alice" || r.Decision != "allowed" || r.Rows != 1 || r.Protocol != "pgwire" ||
			r.Application != "audit-e2e" || !strings.HasPrefix(r.ClientAddr, "127.0.0.1:") || r.DurationUS <= 0 ||
			!slices.Equal(r.Tables, []string{"clinical.subjects"}) ||
			!slices.Equal(r.Filters, []string{"clinical.subjects/own_site"}) ||
			!slices.Equal(r.Excluded, []string{"clinical.subjects.treatment_arm"}):
			return "alice's count: " + jsonString(r)
		}
		if r = byStmt("SELECT treatment_arm"); r == nil || r.Decision != "denied" || r.SQLState != "42501" || r.Principal != "alice" {
			return "alice's denied column: " + jsonString(r)
		}
		if !slices.ContainsFunc(rows, func(r auditRow) bool { return r.Principal == "mona" }) {
			return "mona's statement is missing"
		}
		for _, r := range rows {
			if r.Principal == "mona" && (r.Decision != "denied" || r.Protocol != "http" || r.SQLState != "42501") {
				return "mona's denied HTTP query: " + jsonString(r)
			}
			if strings.Contains(r.Statement, "hunter2") {
				return "a password reached the audit table: " + r.Statement
			}
		}
		if r = byStmt("ALTER USER bob PASSWORD '***'"); r == nil || r.Principal != "admin" || r.Decision != "error" {
			return "admin's redacted ALTER USER: " + jsonString(r)
		}
		return ""
	}
	const q = `SELECT principal, protocol, application_name, client_addr, statement, tables, filters,
		excluded_columns, decision, sqlstate, row_count, duration_us FROM floe_audit.queries ORDER BY started_at`
	var rows []auditRow
	problem := "the table floe_audit.queries does not exist yet"
	for deadline := time.Now().Add(30 * time.Second); problem != "" && time.Now().Before(deadline); {
		time.Sleep(500 * time.Millisecond)
		rows = readAudit(t, audrey, q)
		if rows != nil {
			problem = want(rows)
		}
	}
	if problem != "" {
		t.Fatalf("%s; floe_audit.queries holds:\n%s", problem, jsonString(rows))
	}
	// The auditor's own reads are audited; the audit writer's pushes are not
	// statements and produce no records.
	for _, r := range rows {
		if !slices.Contains([]string{"alice", "mona", "admin", "audrey"}, r.Principal) {
			t.Errorf("unexpected record %s", jsonString(r))
		}
	}
	// The auditor may read nothing else.
	if _, err := audrey.Exec(ctx, "SELECT count(*) FROM clinical.subjects"); !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Errorf("auditor reading clinical.subjects: %v, want 42501", err)
	}

	// The JSON lines file holds the same records, without the password.
	file := fileAudit(t, filepath.Join(dir, "audit", "audit.log"))
	if p := want(file); p != "" {
		t.Errorf("audit.log: %s", p)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "audit", "audit.log"))
	if strings.Contains(string(raw), "hunter2") {
		t.Error("audit.log holds a password")
	}

	// The last statement before a shutdown reaches both the file and the
	// table: the audit log closes after pgwire drained and before ingest.
	if _, err := alice.Exec(ctx, "SELECT 'last before shutdown'"); err != nil {
		t.Fatal(err)
	}
	if err := f.Stop(); err != nil {
		t.Fatal(err)
	}
	last := func(rows []auditRow) bool {
		return slices.ContainsFunc(rows, func(r auditRow) bool { return r.Statement == "SELECT 'last before shutdown'" })
	}
	if !last(fileAudit(t, filepath.Join(dir, "audit", "audit.log"))) {
		t.Error("the last statement before shutdown is not in audit.log")
	}
	g := MustStartFloe(t, WithDataDir(dir))
	if rows := readAudit(t, connect(g, "audrey"), q); !last(rows) {
		t.Errorf("the last statement before shutdown is not in floe_audit.queries after a restart:\n%s", jsonString(rows))
	}
}

// readAudit runs q as conn; nil while the table does not exist yet.
func readAudit(tb testing.TB, conn *pgx.Conn, q string) []auditRow {
	tb.Helper()
	ctx := testContext(tb, 30*time.Second)
	var pgErr *pgconn.PgError
	rs, err := conn.Query(ctx, q)
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" {
		return nil
	} else if err != nil {
		tb.Fatal(err)
	}
	defer rs.Close()
	out := []auditRow{}
	for rs.Next() {
		var r auditRow
		if err := rs.Scan(&r.Principal, &r.Protocol, &r.Application, &r.ClientAddr, &r.Statement, &r.Tables, &r.Filters,
			&r.Excluded, &r.Decision, &r.SQLState, &r.Rows, &r.DurationUS); err != nil {
			tb.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rs.Err(); errors.As(err, &pgErr) && pgErr.Code == "42P01" {
		return nil
	} else if err != nil {
		tb.Fatal(err)
	}
	return out
}

func fileAudit(tb testing.TB, path string) []auditRow {
	tb.Helper()
	fh, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	var out []auditRow
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r auditRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		out = append(out, r)
	}
	return out
}

func jsonString(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
