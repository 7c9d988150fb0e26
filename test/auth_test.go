package test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestWrongPassword: every listener refuses a wrong password — pgx gets
// FATAL 28P01, psql exits 2 with PostgreSQL's message, HTTP answers 401 —
// and a refused push writes nothing.
func TestWrongPassword(t *testing.T) {
	f := Shared(t)

	t.Run("pgx", func(t *testing.T) {
		for _, user := range []string{f.User, "nobody"} {
			cfg := f.PGXConfig(t)
			cfg.User = user
			cfg.Password = "wrong-password"
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			conn, err := pgx.ConnectConfig(ctx, cfg)
			cancel()
			if err == nil {
				conn.Close(context.Background())
				t.Fatalf("user %q connected with a wrong password", user)
			}
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) {
				t.Fatalf("user %q: error %v is not a PostgreSQL error", user, err)
			}
			if pgErr.Code != "28P01" || pgErr.Severity != "FATAL" {
				t.Errorf("user %q: got %s %s %q, want FATAL 28P01", user, pgErr.Severity, pgErr.Code, pgErr.Message)
			}
			if want := `password authentication failed for user "` + user + `"`; pgErr.Message != want {
				t.Errorf("message %q, want %q", pgErr.Message, want)
			}
		}
	})

	t.Run("psql", func(t *testing.T) {
		cmd := f.Command(t, "psql", "-X", "-w", "-c", "SELECT 1")
		cmd.Env = append(cmd.Env, "PGPASSWORD=wrong-password") // the later value wins
		out, err := cmd.CombinedOutput()
		var exit interface{ ExitCode() int }
		if !errors.As(err, &exit) || exit.ExitCode() != 2 {
			t.Fatalf("psql with a wrong password: %v, want exit status 2\n%s", err, out)
		}
		if !strings.Contains(string(out), `FATAL:  password authentication failed for user "admin"`) {
			t.Errorf("psql printed %q, want PostgreSQL's FATAL password message", out)
		}
	})

	t.Run("http", func(t *testing.T) {
		for _, tc := range []struct{ name, user, password string }{
			{"wrong password", f.User, "wrong-password"},
			{"unknown user", "nobody", "wrong-password"},
			{"no credentials", "", ""},
		} {
			for _, ep := range []string{"query", "ingest"} {
				var resp Response
				if ep == "query" {
					resp = f.queryAs(t, tc.user, tc.password, "SELECT 1")
				} else {
					resp = f.pushAs(t, tc.user, tc.password, "e2e_auth", "t", `{"id":1}`+"\n")
				}
				if resp.Status != http.StatusUnauthorized {
					t.Errorf("%s, %s: got %s, want 401", tc.name, ep, resp)
					continue
				}
				if !strings.HasPrefix(resp.Header.Get("Www-Authenticate"), "Basic ") {
					t.Errorf("%s, %s: WWW-Authenticate %q, want a Basic challenge", tc.name, ep, resp.Header.Get("Www-Authenticate"))
				}
				if tc.user != "" {
					if e := resp.Error(); e.Code != "28P01" {
						t.Errorf("%s, %s: error %+v, want code 28P01", tc.name, ep, e)
					}
				}
			}
		}
		// The refused pushes created nothing.
		resp := f.Query(t, f.User, f.Password, "SELECT * FROM e2e_auth.t")
		if resp.Status != http.StatusNotFound || resp.Error().Code != "42P01" {
			t.Errorf("e2e_auth.t after refused pushes: %s, want 404 with 42P01", resp)
		}
	})
}

// TestSecretsNotLogged: neither the admin password nor a wrong one tried
// against any listener appears in floe's log.
func TestSecretsNotLogged(t *testing.T) {
	f := Shared(t)
	const wrong = "Wrong-Secret-8731"
	cfg := f.PGXConfig(t)
	cfg.Password = wrong
	if conn, err := pgx.ConnectConfig(testContext(t, 15*time.Second), cfg); err == nil {
		conn.Close(context.Background())
		t.Fatal("connected with a wrong password")
	}
	f.Query(t, f.User, wrong, "SELECT 1")
	f.Push(t, f.User, wrong, "e2e_secret", "t", strings.NewReader(`{"id":1}`+"\n"))
	f.MustQuery(t, "SELECT 1")
	log := f.Log()
	for _, secret := range []string{f.Password, wrong} {
		if strings.Contains(log, secret) {
			t.Errorf("floe's log contains the password %q", secret)
		}
	}
}

func (f *Floe) queryAs(tb testing.TB, user, password, sql string) Response {
	tb.Helper()
	if user == "" {
		req, _ := http.NewRequest(http.MethodPost, f.URL("/v1/query"), strings.NewReader(`{"sql":"SELECT 1"}`))
		req.Header.Set("Content-Type", "application/json")
		return do(tb, req)
	}
	return f.Query(tb, user, password, sql)
}

func (f *Floe) pushAs(tb testing.TB, user, password, ns, table, body string) Response {
	tb.Helper()
	if user == "" {
		req, _ := http.NewRequest(http.MethodPost, f.URL("/v1/ingest/"+ns+"/"+table), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-ndjson")
		return do(tb, req)
	}
	return f.Push(tb, user, password, ns, table, strings.NewReader(body))
}
