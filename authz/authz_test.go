package authz_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/floe-dev/floe/scram"

	"github.com/floe-dev/floe/authz"
)

func TestSecretRoundTrip(t *testing.T) {
	s, err := scram.New("pencil", 4096)
	if err != nil {
		t.Fatal(err)
	}
	p, err := scram.Parse(s.String())
	if err != nil {
		t.Fatal(err)
	}
	if !p.Verify("pencil") || p.Verify("pencil2") {
		t.Fatal("verify after round trip")
	}
	for _, bad := range []string{"", "md5abc", "SCRAM-SHA-256$x:y$z:w", "SCRAM-SHA-256$4096:AAAA$AAAA:AAAA"} {
		if _, err := scram.Parse(bad); err == nil {
			t.Errorf("ParseSecret(%q) accepted", bad)
		}
	}
}

// The verifier format is PostgreSQL's: a known verifier from PostgreSQL
// (password "pencil", RFC 7677's example salt) must verify.
func TestSecretMatchesPostgreSQL(t *testing.T) {
	s, err := scram.Parse("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Verify("pencil") {
		t.Fatal("RFC 7677 example verifier does not verify")
	}
}

func TestDirectoryAndBasicAuth(t *testing.T) {
	d, err := authz.OpenDirectory(filepath.Join(t.TempDir(), "users.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetPassword("alice", "s3cret-pw"); err != nil {
		t.Fatal(err)
	}
	if err := d.Authenticate("alice", "s3cret-pw"); err != nil {
		t.Fatal(err)
	}
	if err := d.Authenticate("alice", "wrong"); !errors.Is(err, authz.ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if err := d.Authenticate("bob", "s3cret-pw"); !errors.Is(err, authz.ErrBadCredentials) {
		t.Fatalf("unknown user: %v", err)
	}
	h := d.BasicAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(authz.Principal(r.Context())))
	}))
	for _, c := range []struct {
		user, pass string
		status     int
	}{{"alice", "s3cret-pw", 200}, {"alice", "nope", 401}, {"", "", 401}, {"alice", "s3cret-pw", 200}} {
		req := httptest.NewRequest("POST", "/", nil)
		if c.user != "" {
			req.SetBasicAuth(c.user, c.pass)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.status {
			t.Fatalf("%s/%s: status %d, want %d", c.user, c.pass, rec.Code, c.status)
		}
		if c.status == 200 && rec.Body.String() != "alice" {
			t.Fatalf("principal %q", rec.Body.String())
		}
	}
}
