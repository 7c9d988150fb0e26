package test

import (
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestAuditRejectsAndCLI checks the records of refusals that happen before
// any session exists — a failed pgwire login, HTTP requests with a wrong or
// no password, a push the policy refuses — and of a statement run with
// floe sql, in audit.log and in floe_audit.queries.
func TestAuditRejectsAndCLI(t *testing.T) {
	dir := MustClinicalDataDir(t, "alice", "mona", "audrey")
	f := MustStartFloe(t, WithDataDir(dir))
	ctx := testContext(t, 2*time.Minute)

	cfg := f.PGXConfig(t)
	cfg.User, cfg.Password = "alice", "not-her-password"
	cfg.RuntimeParams["application_name"] = "reject-e2e"
	var pgErr *pgconn.PgError
	if _, err := pgx.ConnectConfig(ctx, cfg); !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Fatalf("wrong password: %v, want 28P01", err)
	}
	if resp := f.Query(t, "alice", "wrong", "SELECT 1"); resp.Status != http.StatusUnauthorized {
		t.Fatalf("HTTP query with a wrong password: %s", resp)
	}
	req, _ := http.NewRequest(http.MethodPost, f.URL("/v1/query"), strings.NewReader(`{"sql":"SELECT 1"}`))
	if resp := do(t, req); resp.Status != http.StatusUnauthorized {
		t.Fatalf("HTTP query without credentials: %s", resp)
	}
	if resp := f.Push(t, "mona", "mona-password", "clinical", "subjects", strings.NewReader(`{"subject_id":"X"}`+"\n")); resp.Status != http.StatusForbidden {
		t.Fatalf("mona's push: %s, want 403", resp)
	}
	if err := f.Stop(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(MustBuildFloe(t), "sql", "--data", dir, "SELECT 41 + 1 AS answer").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "42") {
		t.Fatalf("floe sql: %v\n%s", err, out)
	}

	find := func(rows []auditRow, match func(auditRow) bool) bool { return slices.ContainsFunc(rows, match) }
	checks := []struct {
		what  string
		match func(auditRow) bool
	}{
		{"pgwire login with a wrong password", func(r auditRow) bool {
			return r.Protocol == "pgwire" && r.Principal == "alice" && r.SQLState == "28P01" && r.Decision == "denied" &&
				r.Application == "reject-e2e" && strings.HasPrefix(r.ClientAddr, "127.0.0.1:")
		}},
		{"HTTP query with a wrong password", func(r auditRow) bool {
			return r.Protocol == "http" && r.Principal == "alice" && r.SQLState == "28P01" && r.Statement == "POST /v1/query"
		}},
		{"HTTP query without credentials", func(r auditRow) bool {
			return r.Protocol == "http" && r.Principal == "" && r.SQLState == "28P01" && r.Decision == "denied"
		}},
		{"push refused by the policy", func(r auditRow) bool {
			return r.Protocol == "http" && r.Principal == "mona" && r.SQLState == "42501" &&
				r.Statement == "POST /v1/ingest/clinical/subjects"
		}},
		{"floe sql statement", func(r auditRow) bool {
			return r.Protocol == "cli" && r.Principal == "admin" && r.Application == "floe sql" &&
				r.Statement == "SELECT 41 + 1 AS answer" && r.Decision == "allowed" && r.Rows == 1
		}},
	}
	file := fileAudit(t, filepath.Join(dir, "audit", "audit.log"))
	for _, c := range checks {
		if !find(file, c.match) {
			t.Errorf("audit.log has no record of the %s:\n%s", c.what, jsonString(file))
		}
	}
	// floe sql pushed its record before it exited: the table has it at once.
	g := MustStartFloe(t, WithDataDir(dir))
	const q = `SELECT principal, protocol, application_name, client_addr, statement, tables, filters,
		excluded_columns, decision, sqlstate, row_count, duration_us FROM floe_audit.queries ORDER BY started_at`
	audrey := g.MustConnect(t, func(c *pgx.ConnConfig) { c.User, c.Password = "audrey", "audrey-password" })
	rows := readAudit(t, audrey, q)
	for _, c := range checks {
		if !find(rows, c.match) {
			t.Errorf("floe_audit.queries has no record of the %s", c.what)
		}
	}
}
