package test

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestPolicyEnforcedOnEveryEntryPoint serves the clinical example policy
// (examples/policies/clinical) and checks what its principals see over
// pgwire, psql and HTTP: rows of their own site only, excluded columns
// absent, denials as 42501 and 403.
func TestPolicyEnforcedOnEveryEntryPoint(t *testing.T) {
	dir := MustClinicalDataDir(t, "alice", "mona")
	f := MustStartFloe(t, WithDataDir(dir))
	f.MustPush(t, "clinical", "subjects", strings.Join([]string{
		`{"subject_id":"SUBJ-1","site_id":"S001","treatment_arm":"high_dose","age":40}`,
		`{"subject_id":"SUBJ-2","site_id":"S001","treatment_arm":"placebo","age":50}`,
		`{"subject_id":"SUBJ-3","site_id":"S002","treatment_arm":"placebo","age":60}`,
	}, "\n")+"\n")

	connect := func(user string) *pgx.Conn {
		cfg := f.PGXConfig(t)
		cfg.User, cfg.Password = user, user+"-password"
		ctx := testContext(t, 15*time.Second)
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatalf("connect as %s: %v", user, err)
		}
		t.Cleanup(func() { conn.Close(testContext(t, 5*time.Second)) })
		return conn
	}
	ctx := testContext(t, time.Minute)

	alice := connect("alice")
	rows, err := alice.Query(ctx, "SELECT * FROM clinical.subjects ORDER BY subject_id")
	if err != nil {
		t.Fatal(err)
	}
	var cols []string
	for _, fd := range rows.FieldDescriptions() {
		cols = append(cols, fd.Name)
	}
	var ids []string
	for rows.Next() {
		vals, _ := rows.Values()
		ids = append(ids, vals[0].(string))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cols, []string{"subject_id", "site_id", "age"}) {
		t.Errorf("alice's SELECT * columns %v: treatment_arm must not exist for her", cols)
	}
	if !reflect.DeepEqual(ids, []string{"SUBJ-1", "SUBJ-2"}) {
		t.Errorf("alice sees subjects %v, want only her site's SUBJ-1, SUBJ-2", ids)
	}
	var pgErr *pgconn.PgError
	_, err = alice.Exec(ctx, "SELECT treatment_arm FROM clinical.subjects")
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" || !strings.Contains(pgErr.Message, "treatment_arm") {
		t.Errorf("alice selecting treatment_arm: %v, want 42501 naming the column", err)
	}

	// psql's \d shows alice the table without the excluded column.
	cmd := f.Command(t, "psql", "-X", "-c", `\d clinical.subjects`)
	cmd.Env = append(cmd.Env, "PGUSER=alice", "PGPASSWORD=alice-password")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("psql as alice: %v %s", err, out)
	}
	if strings.Contains(string(out), "treatment_arm") || !strings.Contains(string(out), "site_id") {
		t.Errorf("alice's \\d clinical.subjects:\n%s", out)
	}

	// mona may describe, not read.
	mona := connect("mona")
	_, err = mona.Exec(ctx, "SELECT count(*) FROM clinical.subjects")
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" || !strings.Contains(pgErr.Message, "clinical.subjects") {
		t.Errorf("mona reading subjects: %v, want 42501 naming the table", err)
	}
	resp := f.Query(t, "mona", "mona-password", "SELECT count(*) FROM clinical.subjects")
	if resp.Status != http.StatusForbidden || !strings.Contains(string(resp.Body), "42501") {
		t.Errorf("HTTP as mona: %d %s, want 403 with 42501", resp.Status, resp.Body)
	}
	// Pushes need floe:Insert, which alice does not have.
	resp = f.Push(t, "alice", "alice-password", "clinical", "subjects", strings.NewReader(`{"subject_id":"X"}`+"\n"))
	if resp.Status != http.StatusForbidden || !strings.Contains(string(resp.Body), "clinical.subjects") {
		t.Errorf("push as alice: %d %s, want 403 naming the table", resp.Status, resp.Body)
	}
	resp = f.Query(t, "alice", "alice-password", "SELECT count(*) AS n FROM clinical.subjects")
	if resp.Status != http.StatusOK || !strings.Contains(string(resp.Body), "[[2]]") {
		t.Errorf("HTTP as alice: %d %s, want her 2 rows counted", resp.Status, resp.Body)
	}
}
