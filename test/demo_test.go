package test

import (
	"crypto/tls"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestDemoInstallsExamplePolicy runs `floe demo` on a fresh data directory
// and checks that each clinical role of the example policy sees what the
// examples promise over the demo's own data: a site investigator only her
// site's rows and no treatment arm, a blinded statistician hashed subject
// ids, an unblinded one (over TLS) the arm, a data manager hashed initials
// and birth dates truncated to the year, an auditor nothing clinical.
func TestDemoInstallsExamplePolicy(t *testing.T) {
	f := MustStartFloe(t, WithCommand("demo"))
	m := regexp.MustCompile(`demo users, all with password (\S+)`).FindStringSubmatch(f.Log())
	if m == nil {
		t.Fatalf("floe demo printed no demo users:\n%s", f.Log())
	}
	password := m[1]
	ctx := testContext(t, 2*time.Minute)
	connect := func(user string, useTLS bool) *pgx.Conn {
		cfg := f.PGXConfig(t)
		cfg.User, cfg.Password = user, password
		if useTLS {
			cfg.TLSConfig = &tls.Config{InsecureSkipVerify: true}
		}
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatalf("connect as %s: %v", user, err)
		}
		t.Cleanup(func() { conn.Close(testContext(t, 5*time.Second)) })
		return conn
	}
	// The generator's first vital signs arrive within a few seconds.
	admin := f.MustConnect(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int64
		err := admin.QueryRow(ctx, "SELECT count(*) FROM clinical.vital_signs").Scan(&n)
		if err == nil && n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no vital signs after 30 s: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	strings1 := func(conn *pgx.Conn, q string) []string {
		t.Helper()
		rows, err := conn.Query(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return out
	}
	denied := func(conn *pgx.Conn, q string) {
		t.Helper()
		_, err := conn.Exec(ctx, q)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("%s: %v, want 42501", q, err)
		}
	}

	alice := connect("alice", false)
	for _, q := range []string{"SELECT DISTINCT site_id FROM clinical.subjects", "SELECT DISTINCT site_id FROM clinical.vital_signs"} {
		if got := strings1(alice, q); len(got) != 1 || got[0] != "S001" {
			t.Errorf("alice: %s = %v, want only S001", q, got)
		}
	}
	denied(alice, "SELECT treatment_arm FROM clinical.subjects")

	stan := connect("stan", false)
	ids := strings1(stan, "SELECT subject_id FROM clinical.subjects")
	if len(ids) != 100 {
		t.Errorf("stan sees %d subjects, want all 100", len(ids))
	}
	for _, id := range ids {
		if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(id) {
			t.Fatalf("stan sees subject_id %q, want a SHA-256 hash", id)
		}
	}
	denied(stan, "SELECT treatment_arm FROM clinical.subjects")

	uma := connect("uma", true)
	if arms := strings1(uma, "SELECT DISTINCT treatment_arm FROM clinical.subjects ORDER BY 1"); strings.Join(arms, ",") != "high_dose,low_dose,placebo" {
		t.Errorf("uma (unblinded, TLS) sees arms %v", arms)
	}

	dora := connect("dora", false)
	for _, s := range strings1(dora, "SELECT initials || ' ' || strftime(birth_date, '%m-%d') FROM clinical.subjects") {
		initials, monthDay, _ := strings.Cut(s, " ")
		if len(initials) != 64 || monthDay != "01-01" {
			t.Fatalf("dora sees %q, want hashed initials and a birth date truncated to the year", s)
		}
	}

	audrey := connect("audrey", false)
	denied(audrey, "SELECT count(*) FROM clinical.subjects")
	var n int64
	if err := audrey.QueryRow(ctx, "SELECT count(*) FROM floe_audit.queries").Scan(&n); err != nil {
		t.Errorf("audrey reads floe_audit.queries: %v", err)
	}

	// A second start keeps the policy directory as it is and creates no
	// passwords: it belongs to the operator now.
	if err := f.Stop(); err != nil {
		t.Fatal(err)
	}
	g := MustStartFloe(t, WithCommand("demo"), WithDataDir(f.DataDir))
	if strings.Contains(g.Log(), "demo users") || strings.Contains(g.Log(), "demo policy installed") {
		t.Errorf("second demo start reinstalled the policy:\n%s", g.Log())
	}
}
