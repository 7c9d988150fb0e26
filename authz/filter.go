package authz

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ---- row filters -------------------------------------------------------------

// Predicate operators. A Predicate is a tree of these; the gateway renders
// each comparison as `"column" OP literal` with the literal converted to
// exactly the column's type (and refuses the query, fail closed, when it
// cannot be). SQL's three-valued logic applies: a row whose predicate is
// NULL (e.g. a NULL column compared with =) is hidden.
const (
	OpAnd       = "and"         // Args: one or more
	OpOr        = "or"          // Args: one or more
	OpNot       = "not"         // Args: exactly one
	OpEq        = "="           // Column, Values: one
	OpNe        = "!="          // Column, Values: one
	OpLt        = "<"           // Column, Values: one
	OpLe        = "<="          // Column, Values: one
	OpGt        = ">"           // Column, Values: one
	OpGe        = ">="          // Column, Values: one
	OpIn        = "in"          // Column, Values: one or more
	OpBetween   = "between"     // Column, Values: exactly two (inclusive bounds)
	OpIsNull    = "is_null"     // Column
	OpIsNotNull = "is_not_null" // Column
	OpTrue      = "true"        // every row
	OpFalse     = "false"       // no row (e.g. a principal tag the filter needs is missing)
)

// Predicate is a row filter: a small structured boolean language over the
// table's columns and typed literals. It never holds SQL text; principal
// tags are substituted as string literals.
type Predicate struct {
	Op     string
	Args   []*Predicate // and, or, not
	Column string       // comparisons, in, between, is_null, is_not_null
	Values []Literal    // comparisons, in, between
}

// LiteralKind is the type of a Literal.
type LiteralKind int

// Literal kinds. In the JSON form a string is KindString, an integer number
// KindInt, another number KindFloat, true/false KindBool, {"date":"YYYY-MM-DD"}
// KindDate and {"timestamp":"RFC 3339"} KindTimestamp.
const (
	KindString LiteralKind = iota
	KindInt
	KindFloat
	KindBool
	KindDate
	KindTimestamp
)

// Literal is a typed constant of a row filter.
type Literal struct {
	Kind  LiteralKind
	Str   string    // KindString
	Int   int64     // KindInt
	Float float64   // KindFloat
	Bool  bool      // KindBool
	Time  time.Time // KindDate (midnight UTC), KindTimestamp (UTC)
}

func (l Literal) String() string {
	switch l.Kind {
	case KindString:
		return strconv.Quote(l.Str)
	case KindInt:
		return strconv.FormatInt(l.Int, 10)
	case KindFloat:
		return strconv.FormatFloat(l.Float, 'g', -1, 64)
	case KindBool:
		return strconv.FormatBool(l.Bool)
	case KindDate:
		return "date " + l.Time.Format("2006-01-02")
	case KindTimestamp:
		return "timestamp " + l.Time.Format(time.RFC3339Nano)
	}
	return "?"
}

// String renders p for people (explain output, logs); it is not SQL.
func (p *Predicate) String() string {
	if p == nil {
		return "all rows"
	}
	switch p.Op {
	case OpAnd, OpOr:
		parts := make([]string, len(p.Args))
		for i, a := range p.Args {
			parts[i] = a.String()
			if a.Op == OpAnd || a.Op == OpOr {
				parts[i] = "(" + parts[i] + ")"
			}
		}
		return strings.Join(parts, " "+strings.ToUpper(p.Op)+" ")
	case OpNot:
		return "NOT (" + p.Args[0].String() + ")"
	case OpIn:
		vals := make([]string, len(p.Values))
		for i, v := range p.Values {
			vals[i] = v.String()
		}
		return p.Column + " IN (" + strings.Join(vals, ", ") + ")"
	case OpBetween:
		return p.Column + " BETWEEN " + p.Values[0].String() + " AND " + p.Values[1].String()
	case OpIsNull:
		return p.Column + " IS NULL"
	case OpIsNotNull:
		return p.Column + " IS NOT NULL"
	case OpTrue, OpFalse:
		return strings.ToUpper(p.Op)
	}
	return p.Column + " " + p.Op + " " + p.Values[0].String()
}

// predicateJSON is the file form of a predicate (docs/policy.md).
type predicateJSON struct {
	And    []predicateJSON   `json:"and,omitempty"`
	Or     []predicateJSON   `json:"or,omitempty"`
	Not    *predicateJSON    `json:"not,omitempty"`
	Column string            `json:"column,omitempty"`
	Op     string            `json:"op,omitempty"`
	Value  json.RawMessage   `json:"value,omitempty"`
	Values []json.RawMessage `json:"values,omitempty"`
}

// template is a predicate as written: string literals may hold policy
// variables, substituted per principal.
type template struct {
	p     Predicate
	vars  []bool // per Values entry: holds ${...}
	args  []*template
	usesV bool
}

func parsePredicate(pj *predicateJSON) (*template, error) {
	forms := 0
	for _, b := range []bool{pj.And != nil, pj.Or != nil, pj.Not != nil, pj.Op != "" || pj.Column != ""} {
		if b {
			forms++
		}
	}
	if forms != 1 {
		return nil, fmt.Errorf("a predicate is exactly one of {\"and\":[…]}, {\"or\":[…]}, {\"not\":…} or {\"column\",\"op\",\"value(s)\"}")
	}
	t := &template{}
	switch {
	case pj.And != nil || pj.Or != nil:
		list, op := pj.And, OpAnd
		if pj.Or != nil {
			list, op = pj.Or, OpOr
		}
		if len(list) == 0 {
			return nil, fmt.Errorf("%q needs at least one predicate", op)
		}
		t.p.Op = op
		for i := range list {
			a, err := parsePredicate(&list[i])
			if err != nil {
				return nil, err
			}
			t.args = append(t.args, a)
			t.p.Args = append(t.p.Args, &a.p)
			t.usesV = t.usesV || a.usesV
		}
		return t, nil
	case pj.Not != nil:
		a, err := parsePredicate(pj.Not)
		if err != nil {
			return nil, err
		}
		t.p.Op, t.args, t.usesV = OpNot, []*template{a}, a.usesV
		t.p.Args = []*Predicate{&a.p}
		return t, nil
	}
	op := strings.ToLower(pj.Op)
	if op == "==" {
		op = OpEq
	}
	if op == "<>" {
		op = OpNe
	}
	t.p.Op = op
	if op == OpTrue || op == OpFalse {
		if pj.Column != "" || pj.Value != nil || pj.Values != nil {
			return nil, fmt.Errorf("op %q takes no column or value", op)
		}
		return t, nil
	}
	if !validColumn(pj.Column) {
		return nil, fmt.Errorf("op %q: bad or missing column name %q", pj.Op, pj.Column)
	}
	t.p.Column = pj.Column
	var raw []json.RawMessage
	switch op {
	case OpEq, OpNe, OpLt, OpLe, OpGt, OpGe:
		if pj.Value == nil || pj.Values != nil {
			return nil, fmt.Errorf("op %q on %s needs exactly one \"value\"", op, pj.Column)
		}
		raw = []json.RawMessage{pj.Value}
	case OpIn:
		if pj.Value != nil || len(pj.Values) == 0 {
			return nil, fmt.Errorf("op \"in\" on %s needs a non-empty \"values\" list", pj.Column)
		}
		raw = pj.Values
	case OpBetween:
		if pj.Value != nil || len(pj.Values) != 2 {
			return nil, fmt.Errorf("op \"between\" on %s needs \"values\": [low, high]", pj.Column)
		}
		raw = pj.Values
	case OpIsNull, OpIsNotNull:
		if pj.Value != nil || pj.Values != nil {
			return nil, fmt.Errorf("op %q on %s takes no value", op, pj.Column)
		}
		return t, nil
	default:
		return nil, fmt.Errorf("unknown op %q (want = != < <= > >= in between is_null is_not_null true false)", pj.Op)
	}
	for _, r := range raw {
		l, err := parseLiteral(r)
		if err != nil {
			return nil, fmt.Errorf("op %q on %s: %w", op, pj.Column, err)
		}
		has := false
		if l.Kind == KindString {
			if has, err = checkVariables(l.Str); err != nil {
				return nil, fmt.Errorf("op %q on %s: %w", op, pj.Column, err)
			}
		}
		if has && op == OpBetween {
			return nil, fmt.Errorf("op \"between\" on %s: policy variables are not allowed in between bounds", pj.Column)
		}
		t.p.Values = append(t.p.Values, l)
		t.vars = append(t.vars, has)
		t.usesV = t.usesV || has
	}
	return t, nil
}

// validColumn accepts plain column names (letters, digits, _, $), and
// dotted paths into structs. The gateway quotes every identifier anyway.
func validColumn(c string) bool {
	if c == "" || len(c) > 128 {
		return false
	}
	for _, r := range c {
		if !(r == '_' || r == '$' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r > 127) {
			return false
		}
	}
	return true
}

func parseLiteral(raw json.RawMessage) (Literal, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return Literal{}, fmt.Errorf("null is not a literal (use is_null)")
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return Literal{}, err
		}
		return Literal{Kind: KindString, Str: s}, nil
	case 't', 'f':
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return Literal{}, err
		}
		return Literal{Kind: KindBool, Bool: b}, nil
	case '{':
		var typed map[string]string
		if err := json.Unmarshal(raw, &typed); err != nil || len(typed) != 1 {
			return Literal{}, fmt.Errorf("typed literal %s: want {\"date\": \"YYYY-MM-DD\"} or {\"timestamp\": \"RFC 3339\"}", raw)
		}
		if v, ok := typed["date"]; ok {
			t, err := time.Parse("2006-01-02", v)
			if err != nil {
				return Literal{}, fmt.Errorf("bad date %q", v)
			}
			return Literal{Kind: KindDate, Time: t}, nil
		}
		if v, ok := typed["timestamp"]; ok {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return Literal{}, fmt.Errorf("bad timestamp %q", v)
			}
			return Literal{Kind: KindTimestamp, Time: t.UTC()}, nil
		}
		return Literal{}, fmt.Errorf("typed literal %s: want date or timestamp", raw)
	case '[':
		return Literal{}, fmt.Errorf("a list is not a literal (use op \"in\" with \"values\")")
	}
	s := string(raw)
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return Literal{Kind: KindInt, Int: i}, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return Literal{}, fmt.Errorf("bad literal %s", raw)
	}
	return Literal{Kind: KindFloat, Float: f}, nil
}

// instantiate substitutes the principal's variables. A string value that
// expands to several values (a multi-valued tag) turns = into in, != into
// NOT in, and other comparisons into an OR of one comparison per value. If
// any variable does not resolve (a missing tag), the whole filter admits no
// row — also under a NOT: fail closed.
func (t *template) instantiate(ctx *evalContext) *Predicate {
	if !t.usesV {
		return &t.p
	}
	missing := false
	p := t.subst(ctx, &missing)
	if missing {
		return &Predicate{Op: OpFalse}
	}
	return p
}

func (t *template) subst(ctx *evalContext, missing *bool) *Predicate {
	if !t.usesV {
		return &t.p
	}
	switch t.p.Op {
	case OpAnd, OpOr, OpNot:
		out := &Predicate{Op: t.p.Op}
		for _, a := range t.args {
			out.Args = append(out.Args, a.subst(ctx, missing))
		}
		return out
	}
	var vals []Literal
	for i, v := range t.p.Values {
		if !t.vars[i] {
			vals = append(vals, v)
			continue
		}
		subs := substitute(v.Str, ctx, false)
		if len(subs) == 0 {
			*missing = true
		}
		for _, s := range subs {
			vals = append(vals, Literal{Kind: KindString, Str: s})
		}
	}
	if len(vals) == 0 {
		*missing = true
		return &Predicate{Op: OpFalse}
	}
	switch t.p.Op {
	case OpIn:
		return &Predicate{Op: OpIn, Column: t.p.Column, Values: vals}
	case OpEq:
		if len(vals) == 1 {
			return &Predicate{Op: OpEq, Column: t.p.Column, Values: vals}
		}
		return &Predicate{Op: OpIn, Column: t.p.Column, Values: vals}
	case OpNe:
		if len(vals) == 1 {
			return &Predicate{Op: OpNe, Column: t.p.Column, Values: vals}
		}
		return &Predicate{Op: OpNot, Args: []*Predicate{{Op: OpIn, Column: t.p.Column, Values: vals}}}
	}
	if len(vals) == 1 {
		return &Predicate{Op: t.p.Op, Column: t.p.Column, Values: vals}
	}
	or := &Predicate{Op: OpOr}
	for _, v := range vals {
		or.Args = append(or.Args, &Predicate{Op: t.p.Op, Column: t.p.Column, Values: []Literal{v}})
	}
	return or
}

// ---- column rules --------------------------------------------------------------

// Mask types.
const (
	MaskNull     = "null"     // the value becomes NULL
	MaskRedact   = "redact"   // a constant (Mask.Value, default "REDACTED"); NULL on non-string columns
	MaskHash     = "hash"     // lower-case hex SHA-256 of Mask.Salt followed by the value's text; NULL stays NULL
	MaskLast     = "last"     // only the last Mask.N characters of the value's text
	MaskTruncate = "truncate" // a date or timestamp truncated to Mask.Unit ("year" or "month")
)

// Mask says how a visible column's values are shown.
type Mask struct {
	Type  string `json:"type"`
	Value string `json:"value,omitempty"` // redact
	Salt  string `json:"salt,omitempty"`  // hash; a secret: never printed
	N     int    `json:"n,omitempty"`     // last
	Unit  string `json:"unit,omitempty"`  // truncate
}

func (m Mask) String() string {
	switch m.Type {
	case MaskRedact:
		return fmt.Sprintf("redact(%q)", m.Value)
	case MaskHash:
		if m.Salt == "" {
			return "hash(sha256)"
		}
		return "hash(sha256, salted)"
	case MaskLast:
		return fmt.Sprintf("last(%d)", m.N)
	case MaskTruncate:
		return "truncate(" + m.Unit + ")"
	}
	return m.Type
}

func (m *Mask) validate() error {
	switch m.Type {
	case MaskNull, MaskHash:
	case MaskRedact:
		if m.Value == "" {
			m.Value = "REDACTED"
		}
	case MaskLast:
		if m.N <= 0 {
			return fmt.Errorf("mask last needs \"n\" > 0")
		}
	case MaskTruncate:
		if m.Unit != "year" && m.Unit != "month" {
			return fmt.Errorf("mask truncate needs \"unit\": \"year\" or \"month\"")
		}
	default:
		return fmt.Errorf("unknown mask type %q (want null, redact, hash, last, truncate)", m.Type)
	}
	return nil
}

// revealRank orders masks when several granted filters show one column with
// different masks: the more revealing one wins (docs/policy.md).
func revealRank(m Mask) int {
	switch m.Type {
	case MaskLast:
		return 500 + m.N
	case MaskTruncate:
		if m.Unit == "month" {
			return 400
		}
		return 300
	case MaskHash:
		return 200
	case MaskRedact:
		return 100
	}
	return 0 // null
}

// ColumnRule says which columns of a table a principal sees and how. authz
// does not know table schemas, so the rule is either an explicit list
// (AllColumns false: exactly the Include columns that exist) or "every
// column except Except". Masks applies to visible columns only; a visible
// column without an entry is shown as stored.
type ColumnRule struct {
	AllColumns bool
	Include    []string // sorted; when !AllColumns
	Except     []string // sorted; when AllColumns
	Masks      map[string]Mask
}

// Visible reports whether column col is visible and its mask (nil: unmasked).
func (c *ColumnRule) Visible(col string) (bool, *Mask) {
	in := func(list []string) bool {
		i := sort.SearchStrings(list, col)
		return i < len(list) && list[i] == col
	}
	if c.AllColumns && in(c.Except) || !c.AllColumns && !in(c.Include) {
		return false, nil
	}
	if m, ok := c.Masks[col]; ok {
		return true, &m
	}
	return true, nil
}

// Unrestricted reports whether c shows every column unmasked.
func (c *ColumnRule) Unrestricted() bool {
	return c.AllColumns && len(c.Except) == 0 && len(c.Masks) == 0
}

func (c *ColumnRule) String() string {
	var b strings.Builder
	if c.AllColumns {
		b.WriteString("all columns")
		if len(c.Except) > 0 {
			b.WriteString(" except " + strings.Join(c.Except, ", "))
		}
	} else {
		b.WriteString("only " + strings.Join(c.Include, ", "))
	}
	if len(c.Masks) > 0 {
		parts := make([]string, 0, len(c.Masks))
		for _, k := range sortedKeys(c.Masks) {
			parts = append(parts, k+" "+c.Masks[k].String())
		}
		b.WriteString("; masked: " + strings.Join(parts, ", "))
	}
	return b.String()
}

// unionColumns combines the column rules of several granted filters: a
// column is visible if any filter shows it, unmasked if any filter that
// shows it shows it unmasked, and otherwise carries the most revealing of
// the masks those filters give it.
func unionColumns(rules []*ColumnRule) ColumnRule {
	out := ColumnRule{}
	visibleBy := func(r *ColumnRule, col string) bool { ok, _ := r.Visible(col); return ok }
	// Visible set.
	for _, r := range rules {
		if r.AllColumns {
			out.AllColumns = true
		}
	}
	if out.AllColumns {
		// Except = columns excluded by every all-columns rule and not
		// included by any list rule.
		var first *ColumnRule
		for _, r := range rules {
			if r.AllColumns {
				first = r
				break
			}
		}
		for _, col := range first.Except {
			hidden := true
			for _, r := range rules {
				if visibleBy(r, col) {
					hidden = false
					break
				}
			}
			if hidden {
				out.Except = append(out.Except, col)
			}
		}
	} else {
		set := map[string]bool{}
		for _, r := range rules {
			for _, c := range r.Include {
				set[c] = true
			}
		}
		out.Include = sortedKeys(set)
	}
	// Masks: candidate columns are those masked by some rule.
	cands := map[string]bool{}
	for _, r := range rules {
		for c := range r.Masks {
			cands[c] = true
		}
	}
	for _, col := range sortedKeys(cands) {
		var best *Mask
		unmasked := false
		for _, r := range rules {
			ok, m := r.Visible(col)
			if !ok {
				continue
			}
			if m == nil {
				unmasked = true
				break
			}
			if best == nil || revealRank(*m) > revealRank(*best) {
				best = m
			}
		}
		if !unmasked && best != nil {
			if out.Masks == nil {
				out.Masks = map[string]Mask{}
			}
			out.Masks[col] = *best
		}
	}
	return out
}

// ---- data filters --------------------------------------------------------------

// dataFilter is one named filter on one table, as compiled.
type dataFilter struct {
	ref     string // file#name for errors and explain
	name    string
	table   Resource
	rows    *template // nil: every row
	columns ColumnRule
}

// filterJSON is the file form of a data filter (docs/policy.md).
type filterJSON struct {
	Name      string          `json:"name"`
	Namespace string          `json:"namespace"`
	Table     string          `json:"table"`
	Rows      *predicateJSON  `json:"row_filter"`
	Columns   *columnRuleJSON `json:"columns"`
}

type columnRuleJSON struct {
	Include []string        `json:"include"`
	Exclude []string        `json:"exclude"`
	Masks   map[string]Mask `json:"masks"`
}

func compileFilter(f *filterJSON) (*dataFilter, error) {
	if f.Name == "" || strings.ContainsAny(f.Name, "/*?${}") {
		return nil, fmt.Errorf("bad or missing filter name %q", f.Name)
	}
	if f.Namespace == "" || f.Table == "" || strings.ContainsAny(f.Namespace+f.Table, "/*?") {
		return nil, fmt.Errorf("filter %q: bad or missing namespace/table", f.Name)
	}
	df := &dataFilter{name: f.Name, table: Resource{f.Namespace, f.Table}}
	if f.Rows != nil {
		t, err := parsePredicate(f.Rows)
		if err != nil {
			return nil, fmt.Errorf("filter %q: row_filter: %w", f.Name, err)
		}
		df.rows = t
	}
	df.columns.AllColumns = true
	if c := f.Columns; c != nil {
		if c.Include != nil && c.Exclude != nil {
			return nil, fmt.Errorf("filter %q: columns: give include or exclude, not both", f.Name)
		}
		if c.Include != nil {
			if len(c.Include) == 0 {
				return nil, fmt.Errorf("filter %q: columns: empty include list", f.Name)
			}
			df.columns = ColumnRule{Include: uniqSorted(c.Include)}
		} else {
			df.columns.Except = uniqSorted(c.Exclude)
		}
		for _, col := range append(append([]string{}, c.Include...), c.Exclude...) {
			if !validColumn(col) {
				return nil, fmt.Errorf("filter %q: columns: bad column name %q", f.Name, col)
			}
		}
		for _, col := range sortedKeys(c.Masks) {
			m := c.Masks[col]
			if err := m.validate(); err != nil {
				return nil, fmt.Errorf("filter %q: mask on %s: %w", f.Name, col, err)
			}
			if ok, _ := df.columns.Visible(col); !ok {
				return nil, fmt.Errorf("filter %q: mask on %s: the column is not visible through this filter", f.Name, col)
			}
			if df.columns.Masks == nil {
				df.columns.Masks = map[string]Mask{}
			}
			df.columns.Masks[col] = m
		}
	}
	return df, nil
}

func uniqSorted(in []string) []string {
	set := map[string]bool{}
	for _, s := range in {
		set[s] = true
	}
	return sortedKeys(set)
}
