package authz

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
)

// evalContext is what conditions and policy variables see of a request.
type evalContext struct {
	user   string
	tags   map[string][]string // effective principal tags
	ip     netip.Addr          // invalid when unknown
	secure bool
	now    time.Time // second precision
}

// ---- policy variables -------------------------------------------------------

// checkVariables validates the ${...} references of s.
func checkVariables(s string) (bool, error) {
	found := false
	for rest := s; ; {
		i := strings.Index(rest, "${")
		if i < 0 {
			return found, nil
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return found, fmt.Errorf("unterminated policy variable in %q", s)
		}
		name := rest[i+2 : i+j]
		if _, ok := variableKind(name); !ok {
			return found, fmt.Errorf("unknown policy variable ${%s} (known: ${floe:username}, ${floe:PrincipalTag/KEY}, their aws: spellings, ${*}, ${?}, ${$})", name)
		}
		found = true
		rest = rest[i+j+1:]
	}
}

// variableKind classifies a variable name: "user", "tag:KEY" or a literal
// escape ("*", "?", "$").
func variableKind(name string) (string, bool) {
	switch name {
	case "*", "?", "$":
		return "lit:" + name, true
	}
	svc, key, ok := strings.Cut(name, ":")
	if !ok || (!strings.EqualFold(svc, "floe") && !strings.EqualFold(svc, "aws")) {
		return "", false
	}
	if strings.EqualFold(key, "username") {
		return "user", true
	}
	if len(key) > len("PrincipalTag/") && strings.EqualFold(key[:len("PrincipalTag/")], "PrincipalTag/") {
		return "tag:" + key[len("PrincipalTag/"):], true
	}
	return "", false
}

// substitute replaces the policy variables of s with the request's values.
// A multi-valued tag yields one result per value (every combination). An
// unresolved variable yields no result at all, so what contains it matches
// nothing. When glob is set, substituted values containing * or ? are
// refused (they would turn into wildcards): fail closed.
func substitute(s string, ctx *evalContext, glob bool) []string {
	i := strings.Index(s, "${")
	if i < 0 {
		return []string{s}
	}
	j := strings.IndexByte(s[i:], '}')
	if j < 0 {
		return nil
	}
	kind, _ := variableKind(s[i+2 : i+j])
	var vals []string
	switch {
	case strings.HasPrefix(kind, "lit:"):
		vals = []string{kind[4:]}
	case kind == "user":
		if ctx.user != "" {
			vals = []string{ctx.user}
		}
	case strings.HasPrefix(kind, "tag:"):
		vals = ctx.tags[kind[4:]]
	}
	var out []string
	for _, v := range vals {
		if glob && !strings.HasPrefix(kind, "lit:") && strings.ContainsAny(v, "*?") {
			continue
		}
		for _, tail := range substitute(s[i+j+1:], ctx, glob) {
			out = append(out, s[:i]+v+tail)
		}
	}
	return out
}

// ---- conditions ------------------------------------------------------------

type keyType int

const (
	keyString keyType = iota
	keyIP
	keyBool
	keyDate
)

type qualifier int

const (
	qualNone qualifier = iota
	qualAnyValue
	qualAllValues
)

// clause is one operator applied to one condition key.
type clause struct {
	op       string // canonical base operator, e.g. "StringEquals"
	qual     qualifier
	ifExists bool
	negated  bool
	key      string // canonical key: "username", "tag:KEY", "sourceip", "securetransport", "currenttime"
	ktype    keyType

	strs     []string // string, bool and Null values (may hold variables)
	vars     bool
	prefixes []netip.Prefix
	times    []time.Time
}

// condition is a statement's Condition block: every clause must hold.
type condition struct {
	clauses  []clause
	usesTime bool
}

// operators maps a base operator name (lower case) to its canonical name,
// key type and whether it is negated.
var operators = map[string]struct {
	name    string
	ktype   keyType
	negated bool
}{
	"stringequals":              {"StringEquals", keyString, false},
	"stringnotequals":           {"StringNotEquals", keyString, true},
	"stringequalsignorecase":    {"StringEqualsIgnoreCase", keyString, false},
	"stringnotequalsignorecase": {"StringNotEqualsIgnoreCase", keyString, true},
	"stringlike":                {"StringLike", keyString, false},
	"stringnotlike":             {"StringNotLike", keyString, true},
	"ipaddress":                 {"IpAddress", keyIP, false},
	"notipaddress":              {"NotIpAddress", keyIP, true},
	"bool":                      {"Bool", keyBool, false},
	"dategreaterthan":           {"DateGreaterThan", keyDate, false},
	"dategreaterthanequals":     {"DateGreaterThanEquals", keyDate, false},
	"datelessthan":              {"DateLessThan", keyDate, false},
	"datelessthanequals":        {"DateLessThanEquals", keyDate, false},
	"dateequals":                {"DateEquals", keyDate, false},
	"datenotequals":             {"DateNotEquals", keyDate, true},
	"null":                      {"Null", keyBool, false},
}

// conditionKey canonicalises a condition key and gives its type.
func conditionKey(k string) (string, keyType, error) {
	svc, name, ok := strings.Cut(k, ":")
	if !ok || (!strings.EqualFold(svc, "floe") && !strings.EqualFold(svc, "aws")) {
		return "", 0, fmt.Errorf("unknown condition key %q (want floe:… or aws:…)", k)
	}
	switch strings.ToLower(name) {
	case "username":
		return "username", keyString, nil
	case "sourceip":
		return "sourceip", keyIP, nil
	case "securetransport":
		return "securetransport", keyBool, nil
	case "currenttime":
		return "currenttime", keyDate, nil
	}
	if len(name) > len("PrincipalTag/") && strings.EqualFold(name[:len("PrincipalTag/")], "PrincipalTag/") {
		return "tag:" + name[len("PrincipalTag/"):], keyString, nil
	}
	return "", 0, fmt.Errorf("unknown condition key %q (known: floe:username, floe:SourceIp, floe:SecureTransport, floe:CurrentTime, floe:PrincipalTag/KEY and their aws: spellings)", k)
}

// compileCondition checks and compiles a Condition block.
func compileCondition(raw map[string]map[string]json.RawMessage) (*condition, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	c := &condition{}
	for _, opName := range sortedKeys(raw) {
		base := opName
		var qual qualifier
		if q, rest, ok := strings.Cut(base, ":"); ok {
			switch strings.ToLower(q) {
			case "foranyvalue":
				qual = qualAnyValue
			case "forallvalues":
				qual = qualAllValues
			default:
				return nil, fmt.Errorf("condition operator %q: unknown qualifier %q (want ForAnyValue or ForAllValues)", opName, q)
			}
			base = rest
		}
		ifExists := false
		if len(base) > len("IfExists") && strings.EqualFold(base[len(base)-len("IfExists"):], "IfExists") {
			ifExists, base = true, base[:len(base)-len("IfExists")]
		}
		op, ok := operators[strings.ToLower(base)]
		if !ok {
			return nil, fmt.Errorf("unknown condition operator %q", opName)
		}
		for _, k := range sortedKeys(raw[opName]) {
			key, ktype, err := conditionKey(k)
			if err != nil {
				return nil, fmt.Errorf("condition %s: %w", opName, err)
			}
			vals, err := conditionValues(raw[opName][k])
			if err != nil {
				return nil, fmt.Errorf("condition %s on %s: %w", opName, k, err)
			}
			cl := clause{op: op.name, qual: qual, ifExists: ifExists, negated: op.negated, key: key, ktype: ktype}
			if op.name == "Null" {
				for _, v := range vals {
					if v != "true" && v != "false" {
						return nil, fmt.Errorf("condition Null on %s: value %q is not true or false", k, v)
					}
				}
				cl.strs = vals
				c.clauses = append(c.clauses, cl)
				continue
			}
			if op.ktype != ktype {
				return nil, fmt.Errorf("condition %s cannot apply to %s (wrong key type)", opName, k)
			}
			switch ktype {
			case keyString:
				for _, v := range vals {
					has, err := checkVariables(v)
					if err != nil {
						return nil, fmt.Errorf("condition %s on %s: %w", opName, k, err)
					}
					cl.vars = cl.vars || has
				}
				cl.strs = vals
			case keyBool:
				for _, v := range vals {
					if v != "true" && v != "false" {
						return nil, fmt.Errorf("condition %s on %s: value %q is not true or false", opName, k, v)
					}
				}
				cl.strs = vals
			case keyIP:
				for _, v := range vals {
					p, err := parsePrefix(v)
					if err != nil {
						return nil, fmt.Errorf("condition %s on %s: %w", opName, k, err)
					}
					cl.prefixes = append(cl.prefixes, p)
				}
			case keyDate:
				for _, v := range vals {
					t, err := parseDate(v)
					if err != nil {
						return nil, fmt.Errorf("condition %s on %s: %w", opName, k, err)
					}
					cl.times = append(cl.times, t)
				}
				c.usesTime = true
			}
			c.clauses = append(c.clauses, cl)
		}
	}
	return c, nil
}

func conditionValues(raw json.RawMessage) ([]string, error) {
	var one any
	if err := json.Unmarshal(raw, &one); err != nil {
		return nil, err
	}
	list, isList := one.([]any)
	if !isList {
		list = []any{one}
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("no values")
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		switch v := v.(type) {
		case string:
			out = append(out, v)
		case bool:
			out = append(out, strconv.FormatBool(v))
		case float64:
			out = append(out, strconv.FormatFloat(v, 'f', -1, 64))
		default:
			return nil, fmt.Errorf("value %v is not a string, number or boolean", v)
		}
	}
	return out, nil
}

func parsePrefix(v string) (netip.Prefix, error) {
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("bad CIDR %q", v)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad IP address %q", v)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func parseDate(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("bad date %q (want RFC 3339, YYYY-MM-DD or epoch seconds)", v)
}

// eval reports whether every clause of c holds for ctx. A nil condition holds.
func (c *condition) eval(ctx *evalContext) bool {
	if c == nil {
		return true
	}
	for i := range c.clauses {
		if !c.clauses[i].eval(ctx) {
			return false
		}
	}
	return true
}

func (cl *clause) eval(ctx *evalContext) bool {
	// The request's values for the key.
	var (
		strs    []string
		present bool
	)
	switch {
	case cl.key == "username":
		strs, present = []string{ctx.user}, ctx.user != ""
	case strings.HasPrefix(cl.key, "tag:"):
		strs = ctx.tags[cl.key[4:]]
		present = len(strs) > 0
	case cl.key == "sourceip":
		present = ctx.ip.IsValid()
	case cl.key == "securetransport":
		strs, present = []string{strconv.FormatBool(ctx.secure)}, true
	case cl.key == "currenttime":
		present = !ctx.now.IsZero()
	}
	if cl.op == "Null" {
		for _, v := range cl.strs {
			if (v == "true") == !present {
				return true
			}
		}
		return false
	}
	if !present {
		switch {
		case cl.ifExists, cl.qual == qualAllValues:
			return true
		case cl.qual == qualAnyValue:
			return false
		}
		return cl.negated
	}
	n := len(strs)
	if cl.ktype == keyIP || cl.ktype == keyDate {
		n = 1
	}
	// The policy's values, with variables substituted.
	pol := cl.strs
	if cl.vars {
		pol = nil
		for _, v := range cl.strs {
			pol = append(pol, substitute(v, ctx, cl.op == "StringLike" || cl.op == "StringNotLike")...)
		}
	}
	ok := func(i int) bool { return cl.positive(i, strs, pol, ctx) != cl.negated }
	switch {
	case cl.qual == qualAnyValue:
		for i := 0; i < n; i++ {
			if ok(i) {
				return true
			}
		}
		return false
	case cl.qual == qualAllValues, cl.negated:
		// Negated operators on a multi-valued key: no value may match.
		for i := 0; i < n; i++ {
			if !ok(i) {
				return false
			}
		}
		return true
	default:
		for i := 0; i < n; i++ {
			if ok(i) {
				return true
			}
		}
		return false
	}
}

// positive reports whether the i-th request value matches any policy value
// under the non-negated form of the operator.
func (cl *clause) positive(i int, strs, pol []string, ctx *evalContext) bool {
	switch cl.ktype {
	case keyIP:
		for _, p := range cl.prefixes {
			if p.Contains(ctx.ip.Unmap()) || p.Contains(ctx.ip) {
				return true
			}
		}
		return false
	case keyDate:
		now := ctx.now
		for _, t := range cl.times {
			var m bool
			switch cl.op {
			case "DateGreaterThan":
				m = now.After(t)
			case "DateGreaterThanEquals":
				m = !now.Before(t)
			case "DateLessThan":
				m = now.Before(t)
			case "DateLessThanEquals":
				m = !now.After(t)
			case "DateEquals", "DateNotEquals":
				m = now.Equal(t)
			}
			if m {
				return true
			}
		}
		return false
	}
	v := strs[i]
	for _, p := range pol {
		switch cl.op {
		case "StringEquals", "StringNotEquals", "Bool":
			if v == p {
				return true
			}
		case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase":
			if strings.EqualFold(v, p) {
				return true
			}
		case "StringLike", "StringNotLike":
			if globMatch(p, v) {
				return true
			}
		}
	}
	return false
}

// String renders the clause for explain output.
func (cl *clause) String() string {
	var b strings.Builder
	switch cl.qual {
	case qualAnyValue:
		b.WriteString("ForAnyValue:")
	case qualAllValues:
		b.WriteString("ForAllValues:")
	}
	b.WriteString(cl.op)
	if cl.ifExists {
		b.WriteString("IfExists")
	}
	key := cl.key
	switch {
	case strings.HasPrefix(key, "tag:"):
		key = "PrincipalTag/" + key[4:]
	case key == "sourceip":
		key = "SourceIp"
	case key == "securetransport":
		key = "SecureTransport"
	case key == "currenttime":
		key = "CurrentTime"
	}
	vals := append([]string(nil), cl.strs...)
	for _, p := range cl.prefixes {
		vals = append(vals, p.String())
	}
	for _, t := range cl.times {
		vals = append(vals, t.Format(time.RFC3339))
	}
	sort.Strings(vals)
	fmt.Fprintf(&b, " floe:%s %q", key, vals)
	return b.String()
}
