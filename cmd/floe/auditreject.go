package main

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/floe-dev/floe/authz"
	"github.com/floe-dev/floe/pgwire"
	"github.com/floe-dev/floe/sqlstate"
)

// Refusals that happen before any session exists — a failed login on the
// PostgreSQL wire, an HTTP request with bad or no credentials, a push the
// policy refuses — are audited too: they are exactly what an auditor looks
// for, and no statement record covers them.

// rejectedLogin is the audit record of a pgwire connection refused before
// its session started.
func rejectedLogin(info pgwire.StartupInfo, err error) authz.AuditRecord {
	rec := authz.AuditRecord{Time: time.Now(), Principal: info.User, Application: info.Params["application_name"],
		Protocol: "pgwire", Decision: authz.AuditDenied, SQLState: sqlstate.InvalidPassword, Message: err.Error()}
	if info.RemoteAddr != nil {
		rec.ClientAddr = info.RemoteAddr.String()
	}
	var se *sqlstate.Error
	if errors.As(err, &se) {
		rec.SQLState, rec.Message = se.Code, se.Message
	}
	return rec
}

// auditRejects records the HTTP requests next answers with 401 (anywhere:
// no statement ran) or with 403 on ingest pushes and maintenance triggers
// (a query's 403 is a statement the gateway records itself). The statement
// is the request line.
func auditRejects(record func(authz.AuditRecord), next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(rw, r)
		refused := rw.status == http.StatusForbidden &&
			(strings.HasPrefix(r.URL.Path, "/v1/ingest/") || strings.HasPrefix(r.URL.Path, "/v1/maintenance/"))
		if rw.status != http.StatusUnauthorized && !refused {
			return
		}
		user, _, _ := r.BasicAuth()
		rec := authz.AuditRecord{Time: start, Principal: user, ClientAddr: r.RemoteAddr, Protocol: "http",
			Statement: r.Method + " " + r.URL.Path, Decision: authz.AuditDenied,
			DurationUS: time.Since(start).Microseconds()}
		var body struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(rw.body, &body) == nil {
			rec.SQLState, rec.Message = body.Error.Code, body.Error.Message
		}
		record(rec)
	})
}

// statusWriter notes the status and keeps the start of an error body.
type statusWriter struct {
	http.ResponseWriter
	status int
	body   []byte
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.status >= 400 && len(w.body) < 4096 {
		w.body = append(w.body, p[:min(len(p), 4096-len(w.body))]...)
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach Flush and deadlines of the
// underlying writer (query results are streamed).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
