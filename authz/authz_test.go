package authz_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/floe-dev/floe/authz"
)

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
