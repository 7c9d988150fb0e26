package ingest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type httpAnswer struct {
	status int
	header http.Header
	body   map[string]any
}

func do(t *testing.T, h http.Handler, method, path, ctype, body string) httpAnswer {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("%s %s: body %q is not JSON: %v", method, path, rec.Body.String(), err)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return httpAnswer{rec.Code, rec.Header(), m}
}

func errCode(a httpAnswer) (code, msg string) {
	e, _ := a.body["error"].(map[string]any)
	code, _ = e["code"].(string)
	msg, _ = e["message"].(string)
	return code, msg
}

func TestHTTP(t *testing.T) {
	s, cat, dir := MustService(t, Config{CommitInterval: time.Millisecond, MaxBodyBytes: 1 << 10})
	var principals []string
	h := s.Handler(func(r *http.Request) string {
		p := r.Header.Get("X-Test-Principal")
		principals = append(principals, p)
		return p
	})

	a := do(t, h, "POST", "/v1/ingest/clinic/vitals", "application/x-ndjson", `{"hr": 60}`+"\n"+`{"hr": 61}`)
	if a.status != 200 || a.body["rows"] != 2.0 {
		t.Fatalf("push: %d %v", a.status, a.body)
	}
	if id, _ := a.body["snapshot_id"].(float64); id == 0 {
		t.Fatalf("no snapshot id in %v", a.body)
	}
	for _, ct := range []string{"", "application/json", "application/x-ndjson; charset=utf-8"} {
		if a := do(t, h, "POST", "/v1/ingest/clinic/vitals", ct, `{"hr": 62}`); a.status != 200 {
			t.Errorf("Content-Type %q: %d %v", ct, a.status, a.body)
		}
	}
	rows, _ := MustRows(t, cat, "clinic", "vitals")
	if len(rows) != 5 {
		t.Errorf("%d rows, want 5", len(rows))
	}

	cases := []struct {
		method, path, ctype, body string
		status                    int
		code, msgPart             string
	}{
		{"GET", "/v1/ingest/clinic/vitals", "", "", 405, "method_not_allowed", ""},
		{"POST", "/v1/ingest/clinic/vitals", "text/csv", "hr\n1", 415, "unsupported_media_type", ""},
		{"POST", "/v1/ingest/clinic/vitals", "application/x-ndjson", `{"hr": "fast"}`, 400, "42804", `line 1: field "hr": expected long, got string`},
		{"POST", "/v1/ingest/clinic/vitals", "application/x-ndjson", "{\"hr\": 1}\n{\"hr\": ", 400, "22P02", "line 2:"},
		{"POST", "/v1/ingest/clinic/vitals", "application/x-ndjson", "", 400, "22023", "no record"},
		{"POST", "/v1/ingest/Clinic/vitals", "application/x-ndjson", `{"hr": 1}`, 400, "42602", "namespace"},
		{"POST", "/v1/ingest/clinic/vitals", "application/x-ndjson", strings.Repeat(`{"hr": 1}`+"\n", 200), 413, "54000", "1024 bytes"},
		{"POST", "/v1/ingest/clinic", "application/x-ndjson", `{"hr": 1}`, 404, "not_found", ""},
	}
	for _, c := range cases {
		a := do(t, h, c.method, c.path, c.ctype, c.body)
		code, msg := errCode(a)
		if a.status != c.status || code != c.code || !strings.Contains(msg, c.msgPart) {
			t.Errorf("%s %s %q: %d %s %q, want %d %s containing %q", c.method, c.path, c.body, a.status, code, msg, c.status, c.code, c.msgPart)
		}
		if strings.Contains(msg, dir) {
			t.Errorf("message reveals the data directory: %q", msg)
		}
	}
	if a := do(t, h, "PUT", "/v1/ingest/clinic/vitals", "", ""); a.header.Get("Allow") != "POST" {
		t.Errorf("405 without Allow: POST")
	}

	// A body over the limit without Content-Length (chunked) is cut off by
	// MaxBytesReader.
	req := httptest.NewRequest("POST", "/v1/ingest/clinic/vitals", io.MultiReader(strings.NewReader(strings.Repeat(`{"hr": 1}`+"\n", 200))))
	req.ContentLength = -1
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Errorf("chunked body over the limit: %d %s", rec.Code, rec.Body)
	}
	if rows, _ := MustRows(t, cat, "clinic", "vitals"); len(rows) != 5 {
		t.Errorf("%d rows after rejected requests, want 5", len(rows))
	}
	if len(principals) == 0 || principals[0] != "" {
		t.Errorf("principal callback not used: %v", principals)
	}
}

// An internal failure answers 500 with a generic message.
func TestHTTPInternalError(t *testing.T) {
	s, cat, dir := MustService(t, Config{})
	cat.Close() // every catalog call fails from now on
	h := s.Handler(nil)
	a := do(t, h, "POST", "/v1/ingest/ns/t", "", `{"a": 1}`)
	code, msg := errCode(a)
	if a.status != 500 || code != "XX000" || msg != "internal error" {
		t.Fatalf("%d %s %q, want 500 XX000 internal error", a.status, code, msg)
	}
	if strings.Contains(msg, dir) {
		t.Fatalf("message reveals a path")
	}
}

func TestHTTPClosed(t *testing.T) {
	s, _, _ := MustService(t, Config{})
	h := s.Handler(nil)
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	a := do(t, h, "POST", "/v1/ingest/ns/t", "", `{"a": 1}`)
	if code, _ := errCode(a); a.status != 503 || code != "57P01" {
		t.Fatalf("%d %v, want 503 57P01", a.status, a.body)
	}
}
