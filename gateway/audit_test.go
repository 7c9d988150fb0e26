package gateway_test

import (
	"context"
	"net"
	"reflect"
	"sync"
	"testing"

	"github.com/floe-dev/floe/authz"
	"github.com/floe-dev/floe/gateway"
	"github.com/floe-dev/floe/pgwire"
	"github.com/floe-dev/floe/sqlstate"
)

// auditSink collects the records of Config.Audit.
type auditSink struct {
	mu   sync.Mutex
	recs []authz.AuditRecord
}

func (a *auditSink) record(r authz.AuditRecord) {
	a.mu.Lock()
	a.recs = append(a.recs, r)
	a.mu.Unlock()
}

func (a *auditSink) take() []authz.AuditRecord {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.recs
	a.recs = nil
	return out
}

// mustAuditedEnv is MustEnvWithPolicy with the audit hook set.
func mustAuditedEnv(tb testing.TB, policy map[string]string) (*env, *auditSink) {
	tb.Helper()
	sink := &auditSink{}
	return mustEnvConfig(tb, policy, gateway.Config{Audit: sink.record}), sink
}

func TestAuditRecordsGovernedQuery(t *testing.T) {
	e, sink := mustAuditedEnv(t, subjectsPolicy)
	mustSubjects(t, e)
	ctx := context.Background()
	addr := &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 5555}
	open := func(user string) *gateway.Session {
		s, err := e.engine.NewSession(ctx, pgwire.StartupInfo{User: user, Database: "floe", RemoteAddr: addr,
			Params: map[string]string{"application_name": "audit-test"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}

	// alice reads through own_site: a row filter and ssn excluded. The
	// second run comes from the rewrite cache and must say the same.
	alice := open("alice")
	for range 2 {
		MustQuery(t, alice, "SELECT subject_id FROM clinical.subjects WHERE age >= 40")
		recs := sink.take()
		if len(recs) != 1 {
			t.Fatalf("%d records for one statement: %+v", len(recs), recs)
		}
		r := recs[0]
		if r.Principal != "alice" || r.ClientAddr != "10.1.2.3:5555" || r.Application != "audit-test" || r.Protocol != "pgwire" ||
			r.Decision != authz.AuditAllowed || r.Rows != 2 || r.SQLState != "" || r.DurationUS <= 0 || r.Time.IsZero() ||
			r.Statement != "SELECT subject_id FROM clinical.subjects WHERE age >= 40" {
			t.Fatalf("record %+v", r)
		}
		if !reflect.DeepEqual(r.Tables, []string{"clinical.subjects"}) ||
			!reflect.DeepEqual(r.Filters, []string{"clinical.subjects/own_site"}) ||
			!reflect.DeepEqual(r.Excluded, []string{"clinical.subjects.ssn"}) || len(r.Masked) != 0 {
			t.Fatalf("tables %v filters %v excluded %v masked %v", r.Tables, r.Filters, r.Excluded, r.Masked)
		}
	}

	// stan reads through blinded: subject_id hashed. A self-join names the
	// table once.
	stan := open("stan")
	MustQuery(t, stan, "SELECT a.subject_id FROM clinical.subjects a JOIN clinical.subjects b USING (subject_id)")
	r := sink.take()[0]
	if !reflect.DeepEqual(r.Tables, []string{"clinical.subjects"}) ||
		!reflect.DeepEqual(r.Filters, []string{"clinical.subjects/blinded"}) ||
		!reflect.DeepEqual(r.Masked, []string{"clinical.subjects.subject_id:hash(sha256, salted)"}) || r.Rows != 4 {
		t.Fatalf("stan's record %+v", r)
	}

	// A column alice may not see: denied at prepare, with the table.
	MustFail(t, alice, "SELECT ssn FROM clinical.subjects", sqlstate.InsufficientPrivilege)
	r = sink.take()[0]
	if r.Decision != authz.AuditDenied || r.SQLState != "42501" || r.Message == "" ||
		!reflect.DeepEqual(r.Tables, []string{"clinical.subjects"}) || r.Rows != 0 {
		t.Fatalf("denied column record %+v", r)
	}

	// eve may not read the table at all.
	eve := open("eve")
	MustFail(t, eve, "SELECT count(*) FROM clinical.subjects", sqlstate.InsufficientPrivilege)
	r = sink.take()[0]
	if r.Principal != "eve" || r.Decision != authz.AuditDenied || !reflect.DeepEqual(r.Tables, []string{"clinical.subjects"}) ||
		len(r.Filters) != 0 {
		t.Fatalf("denied table record %+v", r)
	}

	// Refused before analysis, a syntax error, a session command: one
	// record each; the admin reads the whole table, no filter.
	admin := open("admin")
	MustFail(t, admin, "COPY clinical.subjects TO '/tmp/x'", sqlstate.InsufficientPrivilege)
	MustFail(t, admin, "SELEC 1", sqlstate.SyntaxError)
	MustQuery(t, admin, "SET application_name = 'other'")
	MustQuery(t, admin, "SELECT * FROM clinical.subjects")
	recs := sink.take()
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4: %+v", len(recs), recs)
	}
	if recs[0].Decision != authz.AuditDenied || recs[1].Decision != authz.AuditFailed || recs[1].SQLState != sqlstate.SyntaxError ||
		recs[2].Decision != authz.AuditAllowed || recs[3].Application != "other" || recs[3].Rows != 4 ||
		len(recs[3].Filters) != 0 || len(recs[3].Masked) != 0 || len(recs[3].Excluded) != 0 {
		t.Fatalf("records %+v", recs)
	}

	// A result closed before its end records the rows returned so far.
	_, res, err := alice.Query(ctx, "SELECT * FROM clinical.subjects")
	if err != nil {
		t.Fatal(err)
	}
	res.Next(ctx)
	res.Close()
	if r := sink.take(); len(r) != 1 || r[0].Rows != 1 || r[0].Decision != authz.AuditAllowed {
		t.Fatalf("early close %+v", r)
	}
}

// The hook costs a statement little: compare with BenchmarkAuditOff.
func BenchmarkAuditedStatement(b *testing.B) {
	e, sink := mustAuditedEnv(b, nil)
	t := e.MustTable(b, "bench", "t")
	e.MustAppend(b, t, []int64{1, 2, 3}, []string{"a", "b", "c"})
	s := e.MustSession(b)
	b.ResetTimer()
	for range b.N {
		MustQuery(b, s, "SELECT * FROM bench.t WHERE id > 1")
		sink.take()
	}
}

func BenchmarkAuditOff(b *testing.B) {
	e := MustEnv(b)
	t := e.MustTable(b, "bench", "t")
	e.MustAppend(b, t, []int64{1, 2, 3}, []string{"a", "b", "c"})
	s := e.MustSession(b)
	b.ResetTimer()
	for range b.N {
		MustQuery(b, s, "SELECT * FROM bench.t WHERE id > 1")
	}
}
