package test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestCopyToStdout exports through COPY ... TO STDOUT the way analysts do:
// psql's \copy to a CSV file as a principal under the clinical example
// policy (only her rows, only her columns, audited like any statement),
// pgx's CopyTo in text format as the admin, and the forms that stay
// refused.
func TestCopyToStdout(t *testing.T) {
	dir := MustClinicalDataDir(t, "alice")
	f := MustStartFloe(t, WithDataDir(dir))
	f.MustPush(t, "clinical", "subjects", policySubjects)
	psql := func(args ...string) (string, string, error) { return f.PsqlAs(t, "alice", "alice-password", args...) }
	mustPsql := func(args ...string) {
		if _, stderr, err := psql(args...); err != nil {
			t.Fatalf("psql %q as alice: %v\n%s", args, err, stderr)
		}
	}
	tmp := t.TempDir()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(tmp, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	mustPsql("-c", `\copy (SELECT * FROM clinical.subjects ORDER BY subject_id) TO '`+filepath.Join(tmp, "q.csv")+`' WITH (FORMAT csv, HEADER)`)
	if got, want := read("q.csv"), "subject_id,site_id,age\n101,S001,40\n102,S001,50\n"; got != want {
		t.Errorf("alice's \\copy of a query:\n%s\nwant\n%s", got, want)
	}
	mustPsql("-c", `\copy clinical.subjects TO '`+filepath.Join(tmp, "t.csv")+`' csv`)
	lines := strings.Split(strings.TrimSpace(read("t.csv")), "\n")
	slices.Sort(lines)
	if got := strings.Join(lines, "\n"); got != "101,S001,40\n102,S001,50" {
		t.Errorf("alice's \\copy of the table:\n%s", got)
	}
	_, stderr, err := psql("-c", `\copy (SELECT treatment_arm FROM clinical.subjects) TO '`+filepath.Join(tmp, "x.csv")+`'`)
	if err == nil || !strings.Contains(stderr, "permission denied for column treatment_arm") {
		t.Errorf("alice copying the excluded column: %v %s", err, stderr)
	}

	ctx := testContext(t, time.Minute)
	admin := f.MustConnect(t).PgConn()
	var buf bytes.Buffer
	tag, err := admin.CopyTo(ctx, &buf, "COPY clinical.subjects (subject_id, treatment_arm) TO STDOUT")
	if err != nil {
		t.Fatal(err)
	}
	lines = strings.Split(strings.TrimSpace(buf.String()), "\n")
	slices.Sort(lines)
	if got := strings.Join(lines, "|"); got != "101\thigh_dose|102\tplacebo|SECRET-3\tplacebo" || tag.String() != "COPY 3" {
		t.Errorf("admin's COPY: %q, tag %q", got, tag)
	}
	for q, code := range map[string]string{
		"COPY clinical.subjects TO '/tmp/floe-copy.csv'":          "42501",
		"COPY clinical.subjects FROM STDIN":                       "42501",
		"COPY (SELECT 1) TO PROGRAM 'id'":                         "42501",
		"COPY (SELECT 1) TO STDOUT (FORMAT binary)":               "0A000",
		"COPY (SELECT 1) TO STDOUT (FORMAT csv) trailing":         "42601",
		"COPY (SELECT 1) TO STDOUT (FORMAT csv, FORCE_QUOTE *)":   "0A000",
		"COPY clinical.subjects (subject_id; SELECT 1) TO STDOUT": "42601",
		"COPY (ATTACH 'x.db') TO STDOUT":                          "0A000",
	} {
		_, err := admin.CopyTo(ctx, &buf, q)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != code {
			t.Errorf("%s: %v, want %s", q, err, code)
		}
	}

	// The export is audited like a query, with the rows it sent.
	if err := f.Stop(); err != nil {
		t.Fatal(err)
	}
	records := fileAudit(t, filepath.Join(dir, "audit", "audit.log"))
	if !slices.ContainsFunc(records, func(r auditRow) bool {
		return r.Principal == "alice" && strings.HasPrefix(r.Statement, "COPY") && r.Rows == 2 && r.Decision == "allowed" &&
			slices.Equal(r.Filters, []string{"clinical.subjects/own_site"})
	}) {
		t.Errorf("no audit record of alice's COPY:\n%s", jsonString(records))
	}
}
