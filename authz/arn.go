package authz

import (
	"fmt"
	"sort"
	"strings"
)

// Actions a request can ask for. Every request names exactly one of them.
const (
	ActionSelect   = "floe:Select"   // read rows of a table (through its data filters unless granted the whole table)
	ActionDescribe = "floe:Describe" // see a namespace or table in the catalog
	ActionInsert   = "floe:Insert"   // push rows into a table (HTTP ingest, Kafka streams)
	ActionMaintain = "floe:Maintain" // compact, expire, remove orphans
	ActionAdmin    = "floe:Admin"    // create and drop namespaces and tables, manage the service
)

// floeActions lists the actions in bit order of actionSet.
var floeActions = []string{ActionSelect, ActionDescribe, ActionInsert, ActionMaintain, ActionAdmin}

// actionSet is a set of floe actions, one bit each (bit i = floeActions[i]).
type actionSet uint8

const allActions actionSet = 1<<5 - 1

func actionBit(action string) (actionSet, bool) {
	for i, a := range floeActions {
		if strings.EqualFold(a, action) {
			return 1 << i, true
		}
	}
	return 0, false
}

func (s actionSet) String() string {
	var out []string
	for i, a := range floeActions {
		if s&(1<<i) != 0 {
			out = append(out, a)
		}
	}
	return strings.Join(out, "|")
}

// awsActions maps the AWS actions an existing Glue / Lake Formation estate
// uses to floe actions (docs/policy.md lists them). AWS actions not listed
// here are accepted and match nothing: an estate's policies mention many
// services floe has no counterpart for.
var awsActions = map[string]actionSet{
	"glue:getdatabase":            bit(ActionDescribe),
	"glue:getdatabases":           bit(ActionDescribe),
	"glue:gettable":               bit(ActionDescribe),
	"glue:gettables":              bit(ActionDescribe),
	"glue:gettableversion":        bit(ActionDescribe),
	"glue:gettableversions":       bit(ActionDescribe),
	"glue:searchtables":           bit(ActionDescribe),
	"glue:getpartition":           bit(ActionDescribe),
	"glue:getpartitions":          bit(ActionDescribe),
	"glue:batchgetpartition":      bit(ActionDescribe),
	"lakeformation:getdataaccess": bit(ActionSelect),
	"glue:createpartition":        bit(ActionInsert),
	"glue:batchcreatepartition":   bit(ActionInsert),
	"glue:updatepartition":        bit(ActionInsert),
	"glue:updatetable":            bit(ActionMaintain),
	"glue:deletepartition":        bit(ActionMaintain),
	"glue:batchdeletepartition":   bit(ActionMaintain),
	"glue:createdatabase":         bit(ActionAdmin),
	"glue:deletedatabase":         bit(ActionAdmin),
	"glue:updatedatabase":         bit(ActionAdmin),
	"glue:createtable":            bit(ActionAdmin),
	"glue:deletetable":            bit(ActionAdmin),
	"glue:batchdeletetable":       bit(ActionAdmin),
}

func bit(action string) actionSet {
	b, _ := actionBit(action)
	return b
}

// compileActions turns the Action (or NotAction) list of a statement into
// the set of floe actions it names. Wildcards (* and ?) are matched against
// the floe actions and the mapped AWS actions, case-insensitively as in IAM.
func compileActions(patterns []string) (actionSet, error) {
	var set actionSet
	for _, p := range patterns {
		if p == "*" {
			set |= allActions
			continue
		}
		service, name, ok := strings.Cut(p, ":")
		if !ok || service == "" || name == "" {
			return 0, fmt.Errorf("action %q: want SERVICE:ACTION", p)
		}
		lp := strings.ToLower(p)
		switch strings.ToLower(service) {
		case "floe":
			n := 0
			for i, a := range floeActions {
				if globMatch(lp, strings.ToLower(a)) {
					set |= 1 << i
					n++
				}
			}
			if n == 0 {
				return 0, fmt.Errorf("unknown action %q (floe actions: %s)", p, strings.Join(floeActions, ", "))
			}
		default:
			for a, s := range awsActions {
				if globMatch(lp, a) {
					set |= s
				}
			}
		}
	}
	return set, nil
}

// Resource names what a request is about: a namespace (Table empty) or a
// table of a namespace.
type Resource struct {
	Namespace string
	Table     string
}

// ARN returns the floe ARN of r: arn:floe:namespace/NS or arn:floe:table/NS/TABLE.
func (r Resource) ARN() string {
	if r.Table == "" {
		return "arn:floe:namespace/" + r.Namespace
	}
	return "arn:floe:table/" + r.Namespace + "/" + r.Table
}

func (r Resource) String() string {
	if r.Table == "" {
		return r.Namespace
	}
	return r.Namespace + "." + r.Table
}

// FilterARN returns the ARN of data filter name on table r.
func (r Resource) FilterARN(name string) string {
	return "arn:floe:datafilter/" + r.Namespace + "/" + r.Table + "/" + name
}

// compileResource checks one Resource (or NotResource) pattern and returns
// it in floe form: AWS Glue ARNs are mapped (table/DB/TABLE to
// arn:floe:table/DB/TABLE, database/DB to arn:floe:namespace/DB); Glue's
// catalog ARN and ARNs of other services yield "" (matches nothing).
func compileResource(p string) (string, error) {
	if p == "*" {
		return p, nil
	}
	if strings.HasPrefix(p, "arn:floe:") {
		rest := strings.TrimPrefix(p, "arn:floe:")
		kind, body, _ := strings.Cut(rest, "/")
		want := map[string]int{"namespace": 1, "table": 2, "datafilter": 3}[kind]
		if want == 0 && !strings.ContainsAny(kind, "*?") {
			return "", fmt.Errorf("resource %q: unknown kind %q (want namespace, table or datafilter)", p, kind)
		}
		if want > 0 && body == "" {
			return "", fmt.Errorf("resource %q: missing name after %q", p, kind+"/")
		}
		if want > 0 && !strings.Contains(body, "*") && strings.Count(body, "/")+1 != want {
			return "", fmt.Errorf("resource %q: %s ARN has %d path parts, want %d", p, kind, strings.Count(body, "/")+1, want)
		}
		return p, nil
	}
	if strings.HasPrefix(p, "arn:aws:glue:") || strings.HasPrefix(p, "arn:*:glue:") {
		// arn:aws:glue:REGION:ACCOUNT:RESOURCE
		parts := strings.SplitN(p, ":", 6)
		if len(parts) != 6 {
			return "", fmt.Errorf("resource %q: want arn:aws:glue:REGION:ACCOUNT:RESOURCE", p)
		}
		kind, body, _ := strings.Cut(parts[5], "/")
		switch kind {
		case "table":
			return "arn:floe:table/" + body, nil
		case "database":
			return "arn:floe:namespace/" + body, nil
		case "*":
			return "arn:floe:*", nil
		default: // catalog, userDefinedFunction, connection, …
			return "", nil
		}
	}
	if strings.HasPrefix(p, "arn:") {
		return "", nil // another service's ARN: matches nothing in floe
	}
	return "", fmt.Errorf("resource %q: not an ARN", p)
}

// resourceMatcher matches request ARNs against a statement's compiled
// Resource or NotResource list.
type resourceMatcher struct {
	patterns []string // floe-form patterns; may contain policy variables
	vars     bool     // some pattern has ${...}
	not      bool     // NotResource
}

func (m *resourceMatcher) match(arn string, ctx *evalContext) bool {
	hit := false
	for _, p := range m.patterns {
		if !m.vars {
			if globMatch(p, arn) {
				hit = true
				break
			}
			continue
		}
		for _, q := range substitute(p, ctx, true) {
			if globMatch(q, arn) {
				hit = true
				break
			}
		}
		if hit {
			break
		}
	}
	return hit != m.not
}

// globMatch reports whether s matches the IAM pattern p: * matches any run
// of characters (including /), ? any one character.
func globMatch(p, s string) bool {
	if !strings.ContainsAny(p, "*?") {
		return p == s
	}
	// Iterative wildcard matching with backtracking on the last star.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
