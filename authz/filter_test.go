package authz_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/floe-dev/floe/authz"
)

const clinicalDir = "../examples/policies/clinical"

func TestClinicalExample(t *testing.T) {
	p := MustCompile(t, clinicalDir)
	subjects := authz.Resource{Namespace: "clinical", Table: "subjects"}
	sel := func(user string, res authz.Resource, mod func(*authz.Request)) authz.Decision {
		req := authz.Request{Principal: user, Action: authz.ActionSelect, Resource: res, SourceIP: lan, Time: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)}
		if mod != nil {
			mod(&req)
		}
		return p.Decide(req)
	}
	// Site investigator: only the rows of their site, no treatment arm.
	d := sel("alice", subjects, nil)
	if !d.Allowed || d.WholeTable || d.RowFilter.String() != `site_id = "S001"` {
		t.Fatalf("alice: %s", d.Explain())
	}
	if ok, _ := d.Columns.Visible("treatment_arm"); ok {
		t.Fatal("alice sees treatment_arm")
	}
	if ok, m := d.Columns.Visible("subject_id"); !ok || m != nil {
		t.Fatal("alice: subject_id hidden or masked")
	}
	// Multi-valued site tag: IN.
	if d := sel("bob", authz.Resource{Namespace: "clinical", Table: "vital_signs"}, nil); d.RowFilter.String() != `site_id IN ("S002", "S003")` {
		t.Fatalf("bob: %s", d.Explain())
	}
	// Blinded statistician: every row, subject id hashed, no arm.
	d = sel("stan", subjects, nil)
	if !d.Allowed || d.RowFilter != nil {
		t.Fatalf("stan: %s", d.Explain())
	}
	if ok, m := d.Columns.Visible("subject_id"); !ok || m == nil || m.Type != authz.MaskHash || m.Salt == "" {
		t.Fatalf("stan subject_id: %v %v", ok, m)
	}
	if ok, _ := d.Columns.Visible("treatment_arm"); ok {
		t.Fatal("stan sees treatment_arm")
	}
	if d := sel("stan", authz.Resource{Namespace: "clinical", Table: "vital_signs"}, nil); !d.WholeTable {
		t.Fatalf("stan vitals: %s", d.Explain())
	}
	// Unblinded statistician: whole table over TLS only.
	if d := sel("uma", subjects, nil); d.Allowed {
		t.Fatal("uma without TLS allowed")
	}
	if d := sel("uma", subjects, func(r *authz.Request) { r.SecureTransport = true }); !d.Allowed || !d.WholeTable || !d.Columns.Unrestricted() {
		t.Fatalf("uma: %s", d.Explain())
	}
	// Data manager: initials hashed, birth date truncated to the year.
	d = sel("dora", subjects, nil)
	if _, m := d.Columns.Visible("birth_date"); m == nil || m.Type != authz.MaskTruncate || m.Unit != "year" {
		t.Fatalf("dora: %s", d.Explain())
	}
	// Monitor: Describe only.
	if d := sel("mona", subjects, nil); d.Allowed {
		t.Fatal("monitor may select")
	}
	if ok, cols := p.Visible(authz.Request{Principal: "mona", Resource: subjects}); !ok || !cols.AllColumns {
		t.Fatal("monitor cannot describe")
	}
	if ok, _ := p.Visible(authz.Request{Principal: "mona", Resource: authz.Resource{Namespace: "floe_audit", Table: "queries"}}); ok {
		t.Fatal("monitor sees the audit table")
	}
	if ok, cols := p.Visible(authz.Request{Principal: "stan", Resource: subjects}); !ok || cols.AllColumns && len(cols.Except) == 0 {
		t.Fatal("stan's catalog view should hide treatment_arm")
	}
	// Explicit denies: contractor carol off the network, and on adverse events.
	if d := sel("carol", subjects, func(r *authz.Request) { r.SourceIP = outside }); d.Allowed {
		t.Fatal("carol allowed off network")
	}
	if d := sel("carol", authz.Resource{Namespace: "clinical", Table: "adverse_events"}, nil); d.Allowed {
		t.Fatalf("carol adverse events: %s", d.Explain())
	}
	if d := sel("alice", authz.Resource{Namespace: "clinical", Table: "adverse_events"}, nil); !d.Allowed {
		t.Fatal("alice adverse events denied")
	}
	// Date-conditioned deny after database lock.
	if d := sel("alice", subjects, func(r *authz.Request) { r.Time = time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC) }); d.Allowed {
		t.Fatal("read after database lock allowed")
	}
	// Auditor: the audit table only, via floe and glue forms.
	if d := sel("audrey", authz.Resource{Namespace: "floe_audit", Table: "queries"}, nil); !d.WholeTable {
		t.Fatal("auditor cannot read audit")
	}
	if d := sel("audrey", subjects, nil); d.Allowed {
		t.Fatal("auditor reads clinical")
	}
	if ok, _ := p.Visible(authz.Request{Principal: "audrey", Resource: authz.Resource{Namespace: "floe_audit"}}); !ok {
		t.Fatal("glue:GetDatabase did not map to Describe on the namespace")
	}
}

func TestDataFilterCombination(t *testing.T) {
	dir := MustPolicyDir(t, map[string]string{
		"principals.json": `{"users":{
		  "one":   {"policies":["one"], "tags":{"site":"S1"}},
		  "two":   {"policies":["two"], "tags":{"site":"S1","region":["EU","US"]}},
		  "lists": {"policies":["lists"]},
		  "notag": {"policies":["two"]},
		  "deny":  {"policies":["two","denyb"], "tags":{"site":"S1","region":"EU"}}
		}}`,
		"policies/one.json":   doc(`{"Effect":"Allow","Action":"floe:Select","Resource":"arn:floe:datafilter/n/t/a"}`),
		"policies/two.json":   doc(`{"Effect":"Allow","Action":"floe:Select","Resource":["arn:floe:datafilter/n/t/a","arn:floe:datafilter/n/t/b"]}`),
		"policies/lists.json": doc(`{"Effect":"Allow","Action":"floe:Select","Resource":["arn:floe:datafilter/n/t/l1","arn:floe:datafilter/n/t/l2"]}`),
		"policies/denyb.json": doc(`{"Sid":"NoB","Effect":"Deny","Action":"floe:Select","Resource":"arn:floe:datafilter/n/t/b"}`),
		"filters/t.json": `{"filters":[
		  {"name":"a","namespace":"n","table":"t",
		   "row_filter":{"and":[{"column":"site","op":"=","value":"${floe:PrincipalTag/site}"},{"column":"day","op":">=","value":{"date":"2024-01-01"}}]},
		   "columns":{"exclude":["ssn","arm"],"masks":{"name":{"type":"hash"},"dob":{"type":"truncate","unit":"year"},"phone":{"type":"last","n":4}}}},
		  {"name":"b","namespace":"n","table":"t",
		   "row_filter":{"not":{"column":"region","op":"!=","value":"${floe:PrincipalTag/region}"}},
		   "columns":{"exclude":["ssn"],"masks":{"dob":{"type":"truncate","unit":"month"},"phone":{"type":"null"}}}},
		  {"name":"l1","namespace":"n","table":"t","row_filter":{"column":"score","op":"between","values":[1,2.5]},"columns":{"include":["a","b"],"masks":{"b":{"type":"redact"}}}},
		  {"name":"l2","namespace":"n","table":"t","row_filter":{"or":[{"column":"x","op":"is_null"},{"column":"x","op":"in","values":["p","q"]}]},"columns":{"include":["b","c"]}}
		]}`,
	})
	p := MustCompile(t, dir)
	sel := func(user string) authz.Decision {
		return p.Decide(authz.Request{Principal: user, Action: authz.ActionSelect, Resource: authz.Resource{Namespace: "n", Table: "t"}})
	}
	type col struct {
		name    string
		visible bool
		mask    string // "" unmasked
	}
	check := func(d authz.Decision, cols []col) {
		t.Helper()
		for _, c := range cols {
			ok, m := d.Columns.Visible(c.name)
			got := ""
			if m != nil {
				got = m.String()
			}
			if ok != c.visible || got != c.mask {
				t.Errorf("column %s: visible=%v mask=%q, want %v %q\n%s", c.name, ok, got, c.visible, c.mask, d.Explain())
			}
		}
	}
	d := sel("one")
	if d.RowFilter.String() != `site = "S1" AND day >= date 2024-01-01` {
		t.Fatalf("one: %s", d.RowFilter)
	}
	check(d, []col{{"ssn", false, ""}, {"arm", false, ""}, {"name", true, "hash(sha256)"}, {"other", true, ""}})

	// Two filters: rows OR, columns union, unmasked if any filter shows it unmasked,
	// otherwise the more revealing mask.
	d = sel("two")
	want := `(site = "S1" AND day >= date 2024-01-01) OR NOT (NOT (region IN ("EU", "US")))`
	if d.RowFilter.String() != want || len(d.Filters) != 2 {
		t.Fatalf("two: rows %s\nwant %s", d.RowFilter, want)
	}
	check(d, []col{{"ssn", false, ""}, {"arm", true, ""}, {"name", true, ""}, {"dob", true, "truncate(month)"}, {"phone", true, "last(4)"}})

	// Include lists: union of the lists.
	d = sel("lists")
	if d.Columns.AllColumns || len(d.Columns.Include) != 3 {
		t.Fatalf("lists: %s", d.Columns.String())
	}
	check(d, []col{{"a", true, ""}, {"b", true, ""}, {"c", true, ""}, {"z", false, ""}})
	if got := d.RowFilter.String(); got != `score BETWEEN 1 AND 2.5 OR (x IS NULL OR x IN ("p", "q"))` {
		t.Fatalf("lists rows: %s", got)
	}

	// A missing tag admits no row through that filter, also under NOT.
	d = sel("notag")
	if d.RowFilter.String() != "FALSE OR FALSE" {
		t.Fatalf("notag rows: %s", d.RowFilter)
	}
	// An explicit deny on one filter removes it.
	d = sel("deny")
	if len(d.Filters) != 1 || d.Filters[0] != "a" {
		t.Fatalf("deny: %s", d.Explain())
	}
	// Typed literals reach the gateway typed.
	one := sel("one").RowFilter
	if one.Op != authz.OpAnd || one.Args[1].Values[0].Kind != authz.KindDate || one.Args[0].Values[0].Kind != authz.KindString {
		t.Fatalf("literal kinds: %+v", one)
	}
	// Whole table wins over filters.
	p2 := MustCompile(t, MustPolicyDir(t, map[string]string{
		"principals.json": `{"users":{"w":{"policies":["w"]}}}`,
		"policies/w.json": doc(`{"Effect":"Allow","Action":"floe:Select","Resource":["arn:floe:table/n/t","arn:floe:datafilter/n/t/*"]}`),
		"filters/t.json":  `{"filters":[{"name":"a","namespace":"n","table":"t","row_filter":{"column":"x","op":"=","value":1}}]}`,
	}))
	if d := p2.Decide(authz.Request{Principal: "w", Action: authz.ActionSelect, Resource: authz.Resource{Namespace: "n", Table: "t"}, SourceIP: netip.Addr{}}); !d.WholeTable || d.RowFilter != nil {
		t.Fatalf("whole table: %s", d.Explain())
	}
}
