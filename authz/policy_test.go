package authz_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/floe-dev/floe/authz"
)

// MustPolicyDir writes files (relative path -> content) into a fresh
// policy directory.
func MustPolicyDir(tb testing.TB, files map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

// MustCompile compiles dir or fails.
func MustCompile(tb testing.TB, dir string) *authz.Policy {
	tb.Helper()
	p, err := authz.Compile(dir, authz.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func doc(stmts string) string { return `{"Version":"2012-10-17","Statement":[` + stmts + `]}` }

var (
	lan     = netip.MustParseAddr("10.2.3.4")
	outside = netip.MustParseAddr("203.0.113.9")
)

func TestIAMSemantics(t *testing.T) {
	dir := MustPolicyDir(t, map[string]string{
		"principals.json": `{
		  "users": {
		    "u":     {"policies": ["p"], "tags": {"team": "sales", "site": ["S1", "S2"], "level": "3"}},
		    "g1":    {"groups": ["readers"]},
		    "r1":    {"roles": ["child"]},
		    "admin": {"policies": ["none"]}
		  },
		  "groups": {"readers": {"policies": ["readers"]}},
		  "roles": {
		    "parent": {"policies": ["parent"]},
		    "child":  {"inherits": ["parent"], "policies": ["child"]}
		  }
		}`,
		"policies/none.json": doc(`{"Effect":"Allow","Action":"floe:Describe","Resource":"arn:floe:namespace/public"}`),
		"policies/p.json": doc(`
		  {"Sid":"Wild","Effect":"Allow","Action":"floe:Sel*","Resource":"arn:floe:table/sales/*"},
		  {"Sid":"DenyPay","Effect":"Deny","Action":"floe:*","Resource":"arn:floe:table/sales/pay?oll"},
		  {"Sid":"NotAct","Effect":"Allow","NotAction":["floe:Admin","floe:Maintain"],"Resource":"arn:floe:table/notact/*"},
		  {"Sid":"NotRes","Effect":"Allow","Action":"floe:Describe","NotResource":"arn:floe:table/secret/*"},
		  {"Sid":"Var","Effect":"Allow","Action":"floe:Insert","Resource":"arn:floe:table/${floe:PrincipalTag/team}/${aws:username}_*"},
		  {"Sid":"Lan","Effect":"Allow","Action":"floe:Select","Resource":"arn:floe:table/lan/*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.1.7"]}}},
		  {"Sid":"NotLan","Effect":"Deny","Action":"floe:Select","Resource":"arn:floe:table/lan/strict","Condition":{"NotIpAddress":{"floe:SourceIp":"10.2.0.0/16"}}},
		  {"Sid":"Tls","Effect":"Allow","Action":"floe:Select","Resource":"arn:floe:table/tls/*","Condition":{"Bool":{"floe:SecureTransport":true}}},
		  {"Sid":"Window","Effect":"Allow","Action":"floe:Select","Resource":"arn:floe:table/window/*","Condition":{"DateGreaterThan":{"floe:CurrentTime":"2025-01-01T00:00:00Z"},"DateLessThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"}}},
		  {"Sid":"AnySite","Effect":"Allow","Action":"floe:Select","Resource":"arn:floe:table/anysite/*","Condition":{"ForAnyValue:StringEquals":{"floe:PrincipalTag/site":["S2","S9"]}}},
		  {"Sid":"AllSites","Effect":"Allow","Action":"floe:Select","Resource":"arn:floe:table/allsites/*","Condition":{"ForAllValues:StringLike":{"floe:PrincipalTag/site":"S*"}}},
		  {"Sid":"AllSitesNo","Effect":"Allow","Action":"floe:Select","Resource":"arn:floe:table/allsitesno/*","Condition":{"ForAllValues:StringEquals":{"floe:PrincipalTag/site":"S1"}}},
		  {"Sid":"NotTeam","Effect":"Allow","Action":"floe:Select","Resource":"arn:floe:table/notteam/*","Condition":{"StringNotEquals":{"floe:PrincipalTag/team":"hr"}}},
		  {"Sid":"MissingTag","Effect":"Allow","Action":"floe:Select","Resource":"arn:floe:table/missing/*","Condition":{"StringEquals":{"floe:PrincipalTag/nope":"x"}}},
		  {"Sid":"IfExists","Effect":"Allow","Action":"floe:Select","Resource":"arn:floe:table/ifexists/*","Condition":{"StringEqualsIfExists":{"floe:PrincipalTag/nope":"x"}}},
		  {"Sid":"VarCond","Effect":"Allow","Action":"floe:Select","Resource":"arn:floe:table/varcond/*","Condition":{"StringEquals":{"floe:username":"${floe:username}","floe:PrincipalTag/team":"${aws:PrincipalTag/team}"}}},
		  {"Sid":"MissingVar","Effect":"Allow","Action":"floe:Select","Resource":"arn:floe:table/${floe:PrincipalTag/nope}/*"},
		  {"Sid":"Glue","Effect":"Allow","Action":["glue:GetTable","lakeformation:GetDataAccess"],"Resource":"arn:aws:glue:eu-west-1:123456789012:table/gluedb/*"},
		  {"Sid":"GlueWild","Effect":"Allow","Action":"glue:Create*","Resource":"arn:aws:glue:*:*:database/gluedb2"},
		  {"Sid":"Other","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}`),
		"policies/readers.json": doc(`{"Effect":"Allow","Action":"floe:Select","Resource":"arn:floe:table/shared/*"}`),
		"policies/parent.json":  doc(`{"Effect":"Allow","Action":"floe:Select","Resource":"arn:floe:table/inherited/*"}`),
		"policies/child.json":   doc(`{"Effect":"Deny","Action":"floe:Select","Resource":"arn:floe:table/inherited/no"}`),
	})
	p := MustCompile(t, dir)
	in2025 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name      string
		user      string
		action    string
		ns, table string
		ip        netip.Addr
		tls       bool
		at        time.Time
		want      bool
	}{
		{"wildcard action and resource", "u", authz.ActionSelect, "sales", "orders", lan, false, in2025, true},
		{"default deny other action", "u", authz.ActionInsert, "sales", "orders", lan, false, in2025, false},
		{"explicit deny wins over allow", "u", authz.ActionSelect, "sales", "payroll", lan, false, in2025, false},
		{"? matches one character", "u", authz.ActionDescribe, "sales", "payroll", lan, false, in2025, false},
		{"NotAction allows the rest", "u", authz.ActionInsert, "notact", "t", lan, false, in2025, true},
		{"NotAction excludes listed", "u", authz.ActionAdmin, "notact", "t", lan, false, in2025, false},
		{"NotResource allows elsewhere", "u", authz.ActionDescribe, "other", "t", lan, false, in2025, true},
		{"NotResource excludes listed", "u", authz.ActionDescribe, "secret", "t", lan, false, in2025, false},
		{"NotResource on namespace ARN", "u", authz.ActionDescribe, "secret", "", lan, false, in2025, true},
		{"variables in resource", "u", authz.ActionInsert, "sales", "u_events", lan, false, in2025, true},
		{"variables in resource other user prefix", "u", authz.ActionInsert, "sales", "x_events", lan, false, in2025, false},
		{"IpAddress CIDR inside", "u", authz.ActionSelect, "lan", "t", lan, false, in2025, true},
		{"IpAddress single address", "u", authz.ActionSelect, "lan", "t", netip.MustParseAddr("192.168.1.7"), false, in2025, true},
		{"IpAddress outside", "u", authz.ActionSelect, "lan", "t", outside, false, in2025, false},
		{"IpAddress unknown address", "u", authz.ActionSelect, "lan", "t", netip.Addr{}, false, in2025, false},
		{"IPv4-mapped IPv6 address", "u", authz.ActionSelect, "lan", "t", netip.MustParseAddr("::ffff:10.9.9.9"), false, in2025, true},
		{"NotIpAddress deny applies", "u", authz.ActionSelect, "lan", "strict", netip.MustParseAddr("10.3.0.1"), false, in2025, false},
		{"NotIpAddress deny does not apply", "u", authz.ActionSelect, "lan", "strict", lan, false, in2025, true},
		{"Bool SecureTransport true", "u", authz.ActionSelect, "tls", "t", lan, true, in2025, true},
		{"Bool SecureTransport false", "u", authz.ActionSelect, "tls", "t", lan, false, in2025, false},
		{"date window inside", "u", authz.ActionSelect, "window", "t", lan, false, in2025, true},
		{"date window before", "u", authz.ActionSelect, "window", "t", lan, false, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"date window after", "u", authz.ActionSelect, "window", "t", lan, false, time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC), false},
		{"ForAnyValue on multi-valued tag", "u", authz.ActionSelect, "anysite", "t", lan, false, in2025, true},
		{"ForAllValues all match", "u", authz.ActionSelect, "allsites", "t", lan, false, in2025, true},
		{"ForAllValues one fails", "u", authz.ActionSelect, "allsitesno", "t", lan, false, in2025, false},
		{"StringNotEquals", "u", authz.ActionSelect, "notteam", "t", lan, false, in2025, true},
		{"missing tag fails StringEquals", "u", authz.ActionSelect, "missing", "t", lan, false, in2025, false},
		{"IfExists on missing tag", "u", authz.ActionSelect, "ifexists", "t", lan, false, in2025, true},
		{"variables in condition values", "u", authz.ActionSelect, "varcond", "t", lan, false, in2025, true},
		{"unresolved variable matches nothing", "u", authz.ActionSelect, "x", "t", lan, false, in2025, false},
		{"glue table ARN and GetDataAccess", "u", authz.ActionSelect, "gluedb", "t", lan, false, in2025, true},
		{"glue GetTable is Describe", "u", authz.ActionDescribe, "gluedb", "t", lan, false, in2025, true},
		{"glue Create* is Admin on database", "u", authz.ActionAdmin, "gluedb2", "", lan, false, in2025, true},
		{"group policy", "g1", authz.ActionSelect, "shared", "t", lan, false, in2025, true},
		{"group policy not for others", "r1", authz.ActionSelect, "shared", "t", lan, false, in2025, false},
		{"role inheritance", "r1", authz.ActionSelect, "inherited", "t", lan, false, in2025, true},
		{"child deny beats inherited allow", "r1", authz.ActionSelect, "inherited", "no", lan, false, in2025, false},
		{"admin defined in directory has no implicit grant", "admin", authz.ActionSelect, "sales", "orders", lan, false, in2025, false},
		{"unknown user", "nobody", authz.ActionDescribe, "other", "t", lan, false, in2025, false},
		{"unknown action", "u", "floe:Drop", "sales", "orders", lan, false, in2025, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := authz.Request{Principal: c.user, Action: c.action, Resource: authz.Resource{Namespace: c.ns, Table: c.table}, SourceIP: c.ip, SecureTransport: c.tls, Time: c.at}
			d := p.Decide(req)
			if d.Allowed != c.want {
				t.Fatalf("allowed=%v, want %v: %s", d.Allowed, c.want, d.Reason)
			}
			// Casbin's answer agrees with the matched statements:
			// allowed iff some Allow and no Deny matched.
			allow, deny := false, false
			for _, m := range d.Matched {
				allow = allow || m.Effect == "Allow"
				deny = deny || m.Effect == "Deny"
			}
			if c.action != "floe:Drop" && d.Allowed != (allow && !deny) {
				t.Fatalf("decision %v disagrees with matched %v", d.Allowed, d.Matched)
			}
			if deny && !strings.Contains(d.Reason, "explicitly denied") {
				t.Fatalf("deny reason %q", d.Reason)
			}
		})
	}
}

func TestBootstrapAdmin(t *testing.T) {
	p := MustCompile(t, MustPolicyDir(t, map[string]string{}))
	d := p.Decide(authz.Request{Principal: "admin", Action: authz.ActionAdmin, Resource: authz.Resource{Namespace: "any"}})
	if !d.Allowed || !d.WholeTable || d.Matched[0].String() != "builtin#AdminAllowAll" {
		t.Fatalf("admin: %+v", d)
	}
	p2, err := authz.Compile(MustPolicyDir(t, map[string]string{}), authz.Options{AdminUser: "root"})
	if err != nil {
		t.Fatal(err)
	}
	if p2.Decide(authz.Request{Principal: "admin", Action: authz.ActionSelect, Resource: authz.Resource{Namespace: "a", Table: "b"}}).Allowed {
		t.Fatal("admin allowed although the admin user is root")
	}
	if !p2.Decide(authz.Request{Principal: "root", Action: authz.ActionSelect, Resource: authz.Resource{Namespace: "a", Table: "b"}}).Allowed {
		t.Fatal("root denied")
	}
}

func TestCompileErrorsNameFileAndStatement(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"unknown action", map[string]string{"policies/a.json": doc(`{"Sid":"X","Effect":"Allow","Action":"floe:Selec","Resource":"*"}`)},
			[]string{"policies/a.json", `statement "X" (#1)`, `unknown action "floe:Selec"`}},
		{"bad effect", map[string]string{"policies/a.json": doc(`{"Effect":"Allow","Action":"floe:Select","Resource":"*"},{"Effect":"Permit","Action":"floe:Select","Resource":"*"}`)},
			[]string{"policies/a.json", "statement #2", `Effect "Permit"`}},
		{"both Action and NotAction", map[string]string{"policies/a.json": doc(`{"Effect":"Allow","Action":"floe:Select","NotAction":"floe:Admin","Resource":"*"}`)},
			[]string{"exactly one of Action and NotAction"}},
		{"bad ARN", map[string]string{"policies/a.json": doc(`{"Effect":"Allow","Action":"floe:Select","Resource":"arn:floe:table/onlyns"}`)},
			[]string{"policies/a.json", "path parts"}},
		{"bad CIDR", map[string]string{"policies/a.json": doc(`{"Sid":"C","Effect":"Allow","Action":"floe:Select","Resource":"*","Condition":{"IpAddress":{"floe:SourceIp":"10.0.0.0/99"}}}`)},
			[]string{`statement "C"`, "bad CIDR"}},
		{"unknown operator", map[string]string{"policies/a.json": doc(`{"Effect":"Allow","Action":"floe:Select","Resource":"*","Condition":{"NumericEquals":{"floe:username":"1"}}}`)},
			[]string{"unknown condition operator"}},
		{"unknown variable", map[string]string{"policies/a.json": doc(`{"Effect":"Allow","Action":"floe:Select","Resource":"arn:floe:table/${floe:team}/*"}`)},
			[]string{"unknown policy variable ${floe:team}"}},
		{"unknown field", map[string]string{"policies/a.json": doc(`{"Effect":"Allow","Actions":"floe:Select","Resource":"*"}`)},
			[]string{"policies/a.json", "statement #1", `unknown field "Actions"`}},
		{"principal element", map[string]string{"policies/a.json": doc(`{"Effect":"Allow","Principal":"*","Action":"floe:Select","Resource":"*"}`)},
			[]string{"Principal is not allowed"}},
		{"bad json", map[string]string{"policies/a.json": `{"Version":`},
			[]string{"policies/a.json"}},
		{"unknown policy attached", map[string]string{"principals.json": `{"users":{"al":{"policies":["nope"]}}}`},
			[]string{"principals.json", `user "al"`, `unknown policy "nope"`}},
		{"role cycle", map[string]string{"principals.json": `{"roles":{"a":{"inherits":["b"]},"b":{"inherits":["a"]}}}`},
			[]string{"principals.json", "cycle"}},
		{"filter bad op", map[string]string{"filters/f.json": `{"filters":[{"name":"f","namespace":"n","table":"t","row_filter":{"column":"a","op":"like","value":"x"}}]}`},
			[]string{"filters/f.json", `filter "f"`, `unknown op "like"`}},
		{"filter mask on hidden column", map[string]string{"filters/f.json": `{"filters":[{"name":"f","namespace":"n","table":"t","columns":{"include":["a"],"masks":{"b":{"type":"null"}}}}]}`},
			[]string{"filters/f.json", "mask on b", "not visible"}},
		{"filter SQL text refused", map[string]string{"filters/f.json": `{"filters":[{"name":"f","namespace":"n","table":"t","row_filter":{"column":"a = 1 OR true","op":"=","value":1}}]}`},
			[]string{"bad or missing column name"}},
		{"filter bad mask", map[string]string{"filters/f.json": `{"filters":[{"name":"f","namespace":"n","table":"t","columns":{"masks":{"d":{"type":"truncate","unit":"day"}}}}]}`},
			[]string{"truncate needs"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := authz.Compile(MustPolicyDir(t, c.files), authz.Options{})
			if err == nil {
				t.Fatal("compiled")
			}
			if !errors.Is(err, authz.ErrInvalidPolicy) {
				t.Fatalf("not ErrInvalidPolicy: %v", err)
			}
			var ce *authz.CompileError
			if !errors.As(err, &ce) || ce.File == "" {
				t.Fatalf("no CompileError with a file: %v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	// Every error is reported, not only the first.
	_, err := authz.Compile(MustPolicyDir(t, map[string]string{
		"policies/a.json": doc(`{"Sid":"One","Effect":"Nope","Action":"floe:Select","Resource":"*"},{"Sid":"Two","Effect":"Allow","Action":"floe:Bad","Resource":"*"}`),
	}), authz.Options{})
	if err == nil || !strings.Contains(err.Error(), `"One"`) || !strings.Contains(err.Error(), `"Two"`) {
		t.Fatalf("want both statements named: %v", err)
	}
}

func TestHolderReloadKeepsPreviousOnInvalidChange(t *testing.T) {
	dir := MustPolicyDir(t, map[string]string{
		"principals.json":    `{"users":{"u":{"policies":["p"]}}}`,
		"policies/p.json":    doc(`{"Effect":"Allow","Action":"floe:Select","Resource":"arn:floe:table/a/*"}`),
		"filters/empty.json": `{"filters":[]}`,
	})
	h, err := authz.OpenHolder(dir, authz.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := func(ns string) authz.Request {
		return authz.Request{Principal: "u", Action: authz.ActionSelect, Resource: authz.Resource{Namespace: ns, Table: "t"}}
	}
	if !h.Policy().Decide(req("a")).Allowed {
		t.Fatal("initial policy")
	}
	write := func(content string, mtime time.Time) {
		path := filepath.Join(dir, "policies/p.json")
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		// Set the mtime explicitly: coarse filesystem clocks must not hide the change.
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	base := time.Now().Add(-time.Hour)
	write(doc(`{"Sid":"Broken","Effect":"Allow","Action":"floe:Nope","Resource":"*"}`), base)
	err = h.Reload()
	if err == nil || !strings.Contains(err.Error(), `statement "Broken"`) {
		t.Fatalf("invalid change accepted: %v", err)
	}
	if !h.Policy().Decide(req("a")).Allowed {
		t.Fatal("previous policy not kept")
	}
	if s := h.Stats(); s.Failures != 1 || s.Loads != 1 || !strings.Contains(s.LastError, "floe:Nope") {
		t.Fatalf("stats %+v", s)
	}
	if err := h.Reload(); err != nil {
		t.Fatalf("unchanged invalid content retried: %v", err)
	}
	write(doc(`{"Effect":"Allow","Action":"floe:Select","Resource":"arn:floe:table/b/*"}`), base.Add(time.Second))
	// Run polls once a second and swaps the valid change in.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for !h.Policy().Decide(req("b")).Allowed {
		if time.Now().After(deadline) {
			t.Fatal("valid change not loaded by Run")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if h.Policy().Decide(req("a")).Allowed {
		t.Fatal("old grant still in force")
	}
	if s := h.Stats(); s.Loads != 2 || s.LastError != "" {
		t.Fatalf("stats %+v", s)
	}
}

func TestAuthorizeMiddleware(t *testing.T) {
	dir := MustPolicyDir(t, map[string]string{
		"principals.json": `{"users": {"pusher": {"policies": ["push"]}, "reader": {}}}`,
		"policies/push.json": `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
			"Action": "floe:Insert", "Resource": "arn:floe:table/clinical/*"}]}`,
	})
	p := MustCompile(t, dir)
	target := func(r *http.Request) (authz.Resource, bool) {
		return authz.Resource{Namespace: "clinical", Table: "vitals"}, true
	}
	h := authz.Authorize(func() *authz.Policy { return p }, authz.ActionInsert, target, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	for user, want := range map[string]int{"pusher": http.StatusNoContent, "reader": http.StatusForbidden, "admin": http.StatusNoContent} {
		req := httptest.NewRequest("POST", "/v1/ingest/clinical/vitals", nil).WithContext(authz.WithPrincipal(context.Background(), user))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("%s: status %d, want %d (%s)", user, rec.Code, want, rec.Body)
		}
		if rec.Code == http.StatusForbidden && !strings.Contains(rec.Body.String(), "clinical.vitals") {
			t.Errorf("403 body %q does not name the table", rec.Body)
		}
	}
}
