package authz

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// writeLargePolicy writes a directory with 1,000 statements: 100 roles of
// 10 statements each (a mix of table grants, data filter grants, denies
// and conditions), 100 tables with a filter each, and user u42 holding
// role r42.
func writeLargePolicy(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, PoliciesDir), 0o755))
	must(os.MkdirAll(filepath.Join(dir, FiltersDir), 0o755))
	users := map[string]any{}
	roles := map[string]any{}
	var filters []any
	for r := 0; r < 100; r++ {
		var stmts []any
		for s := 0; s < 10; s++ {
			st := map[string]any{"Sid": fmt.Sprintf("S%d", s), "Effect": "Allow", "Action": []string{"floe:Select", "floe:Describe"}}
			switch s % 5 {
			case 0:
				st["Resource"] = fmt.Sprintf("arn:floe:table/ns%d/t%d*", r, s)
			case 1:
				st["Resource"] = fmt.Sprintf("arn:floe:datafilter/ns%d/*/f%d", r, s)
				st["Condition"] = map[string]any{"StringEquals": map[string]any{"floe:PrincipalTag/site": "S1"}}
			case 2:
				st["Effect"] = "Deny"
				st["Action"] = "floe:Insert"
				st["Resource"] = "arn:floe:table/*"
			case 3:
				st["Resource"] = "arn:floe:table/${floe:PrincipalTag/team}/*"
				st["Condition"] = map[string]any{"IpAddress": map[string]any{"floe:SourceIp": "10.0.0.0/8"}}
			case 4:
				st["NotResource"] = fmt.Sprintf("arn:floe:table/secret%d/*", r)
				st["Action"] = "floe:Describe"
			}
			stmts = append(stmts, st)
		}
		raw, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": stmts})
		must(os.WriteFile(filepath.Join(dir, PoliciesDir, fmt.Sprintf("p%d.json", r)), raw, 0o644))
		roles[fmt.Sprintf("r%d", r)] = map[string]any{"policies": []string{fmt.Sprintf("p%d", r)}}
		users[fmt.Sprintf("u%d", r)] = map[string]any{"roles": []string{fmt.Sprintf("r%d", r)}, "tags": map[string]any{"site": "S1", "team": fmt.Sprintf("ns%d", r)}}
		filters = append(filters, map[string]any{"name": "f1", "namespace": fmt.Sprintf("ns%d", r), "table": "x",
			"row_filter": map[string]any{"column": "site", "op": "=", "value": "${floe:PrincipalTag/site}"}})
	}
	raw, _ := json.Marshal(map[string]any{"users": users, "roles": roles})
	must(os.WriteFile(filepath.Join(dir, PrincipalsFile), raw, 0o644))
	raw, _ = json.Marshal(map[string]any{"filters": filters})
	must(os.WriteFile(filepath.Join(dir, FiltersDir, "all.json"), raw, 0o644))
	return dir
}

var benchReqs = []Request{
	{Principal: "u42", Action: ActionSelect, Resource: Resource{"ns42", "t0_a"}},
	{Principal: "u42", Action: ActionSelect, Resource: Resource{"ns42", "x"}, SourceIP: netip.MustParseAddr("10.1.1.1")},
	{Principal: "u42", Action: ActionInsert, Resource: Resource{"ns42", "t0"}},
	{Principal: "u42", Action: ActionSelect, Resource: Resource{"ns7", "nothing"}},
}

// BenchmarkDecide measures an uncached decision (what the first statement
// of a shape pays) against a policy of 1,000 statements.
func BenchmarkDecide(b *testing.B) {
	p, err := Compile(writeLargePolicy(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	b.ReportAllocs()
	var lat []time.Duration
	i := 0
	for b.Loop() {
		start := time.Now()
		_ = p.decide(benchReqs[i%len(benchReqs)], now)
		lat = append(lat, time.Since(start))
		i++
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkDecideCached measures Decide when the decision is cached.
func BenchmarkDecideCached(b *testing.B) {
	p, err := Compile(writeLargePolicy(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = p.Decide(benchReqs[i%len(benchReqs)])
		i++
	}
}
