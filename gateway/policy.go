package gateway

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/apache/iceberg-go"

	"github.com/floe-dev/floe/authz"
	"github.com/floe-dev/floe/sqlstate"
)

// Enforcement of the central policy at the resolution point. A principal
// granted the whole table reads the plain relation; anyone else reads it
// through the fence of SECURITY.md: a MATERIALIZED CTE (with DuckDB's
// cte_filter_pusher disabled engine-wide) that selects only the visible
// columns, masks applied, from the rows the row filter admits — so no
// expression of the client's query sees a hidden row or an unmasked value,
// and statistics do not cross the fence.

// policy returns the policy in force.
func (e *Engine) policy() *authz.Policy {
	if e.cfg.Policy != nil {
		if p := e.cfg.Policy(); p != nil {
			return p
		}
	}
	return e.emptyPolicy
}

// request describes the session asking for action on ns.table.
func (s *Session) request(action, ns, table string) authz.Request {
	return authz.Request{
		Principal:       s.user,
		Action:          action,
		Resource:        authz.Resource{Namespace: ns, Table: table},
		SourceIP:        s.sourceIP,
		SecureTransport: s.tls,
	}
}

// addrIP extracts the client address a policy condition can test.
func addrIP(a net.Addr) netip.Addr {
	if a == nil {
		return netip.Addr{}
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// secure applies a Select decision to the relation of a table: it refuses
// the table, or fences it with the row filter and column rule.
func secure(rel relation, ref tableRef, sc *iceberg.Schema, d authz.Decision) (relation, error) {
	if !d.Allowed {
		return relation{}, sqlstate.New(sqlstate.InsufficientPrivilege, "permission denied for table %s.%s", ref.namespace, ref.name)
	}
	if d.RowFilter == nil && d.Columns.Unrestricted() {
		return rel, nil
	}
	var cols []fencedColumn
	rel.pushable = map[string]iceberg.NestedField{}
	for _, f := range sc.Fields() {
		visible, mask := d.Columns.Visible(f.Name)
		if !visible {
			rel.hidden = append(rel.hidden, f.Name)
			continue
		}
		if mask == nil {
			rel.pushable[strings.ToLower(f.Name)] = f
		}
		expr, err := maskSQL("s."+quoteIdent(f.Name), f.Type, mask)
		if err != nil {
			return relation{}, err
		}
		cols = append(cols, fencedColumn{name: strings.ToLower(f.Name), sql: expr + " AS " + quoteIdent(f.Name)})
	}
	if len(cols) == 0 {
		return relation{}, sqlstate.New(sqlstate.InsufficientPrivilege, "permission denied for table %s.%s: no column is visible", ref.namespace, ref.name)
	}
	where := "true"
	if d.RowFilter != nil {
		var err error
		if where, err = predicateSQL(d.RowFilter, sc); err != nil {
			return relation{}, err
		}
	}
	rel.fenced = &fencedRelation{columns: cols, source: rel.sql, where: []string{where}}
	rel.sql = rel.fenced.sql(nil)
	rel.fence = true
	return rel, nil
}

// maskSQL is the expression that shows column col under mask (nil: as is).
// Masks never throw: a throwing mask would be an oracle on hidden values.
func maskSQL(col string, t iceberg.Type, mask *authz.Mask) (string, error) {
	if mask == nil {
		return col, nil
	}
	dt, err := duckType(t)
	if err != nil {
		return "", err
	}
	isString := t.Equals(iceberg.PrimitiveTypes.String)
	switch mask.Type {
	case authz.MaskNull:
		return "CAST(NULL AS " + dt + ")", nil
	case authz.MaskRedact:
		if !isString {
			return "CAST(NULL AS " + dt + ")", nil
		}
		v := mask.Value
		if v == "" {
			v = "REDACTED"
		}
		return fmt.Sprintf("CASE WHEN %s IS NULL THEN NULL ELSE %s END", col, quoteString(v)), nil
	case authz.MaskHash:
		return fmt.Sprintf("CASE WHEN %s IS NULL THEN NULL ELSE sha256(%s || CAST(%s AS VARCHAR)) END",
			col, quoteString(mask.Salt), col), nil
	case authz.MaskLast:
		return fmt.Sprintf("CASE WHEN %s IS NULL THEN NULL ELSE right(CAST(%s AS VARCHAR), %d) END", col, col, max(mask.N, 0)), nil
	case authz.MaskTruncate:
		switch t.(type) {
		case iceberg.DateType, iceberg.TimestampType, iceberg.TimestampTzType, iceberg.TimestampNsType, iceberg.TimestampTzNsType:
		default:
			return "CAST(NULL AS " + dt + ")", nil
		}
		unit := "year"
		if mask.Unit == "month" {
			unit = "month"
		}
		return fmt.Sprintf("CAST(date_trunc('%s', %s) AS %s)", unit, col, dt), nil
	}
	// An unknown mask hides the value rather than showing it.
	return "CAST(NULL AS " + dt + ")", nil
}

// predicateSQL renders a row filter as comparisons of a column with
// literals of exactly the column's type (SECURITY.md step 3): they become
// scan filters and cannot throw. A literal that does not fit its column
// refuses the query rather than guessing.
func predicateSQL(p *authz.Predicate, sc *iceberg.Schema) (string, error) {
	switch p.Op {
	case authz.OpTrue:
		return "true", nil
	case authz.OpFalse:
		return "false", nil
	case authz.OpAnd, authz.OpOr:
		parts := make([]string, len(p.Args))
		for i, a := range p.Args {
			s, err := predicateSQL(a, sc)
			if err != nil {
				return "", err
			}
			parts[i] = "(" + s + ")"
		}
		if len(parts) == 0 {
			return map[string]string{authz.OpAnd: "true", authz.OpOr: "false"}[p.Op], nil
		}
		return strings.Join(parts, map[string]string{authz.OpAnd: " AND ", authz.OpOr: " OR "}[p.Op]), nil
	case authz.OpNot:
		if len(p.Args) != 1 {
			return "", policyError("not takes one argument")
		}
		s, err := predicateSQL(p.Args[0], sc)
		if err != nil {
			return "", err
		}
		// A NULL inside stays hidden: NOT NULL is NULL, which filters out.
		return "NOT (" + s + ")", nil
	}
	f, ok := sc.FindFieldByName(p.Column)
	if !ok {
		return "", policyError(fmt.Sprintf("row filter names column %q, which the table does not have", p.Column))
	}
	col := "s." + quoteIdent(f.Name)
	lits := make([]string, len(p.Values))
	for i, v := range p.Values {
		l, err := typedLiteral(v, f.Type)
		if err != nil {
			return "", err
		}
		lits[i] = l
	}
	need := func(n int) error {
		if len(lits) != n {
			return policyError(fmt.Sprintf("%s takes %d values", p.Op, n))
		}
		return nil
	}
	switch p.Op {
	case authz.OpEq, authz.OpNe, authz.OpLt, authz.OpLe, authz.OpGt, authz.OpGe:
		if err := need(1); err != nil {
			return "", err
		}
		op := p.Op
		if op == authz.OpNe {
			op = "<>"
		}
		return col + " " + op + " " + lits[0], nil
	case authz.OpIn:
		if len(lits) == 0 {
			return "false", nil
		}
		return col + " IN (" + strings.Join(lits, ", ") + ")", nil
	case authz.OpBetween:
		if err := need(2); err != nil {
			return "", err
		}
		return col + " BETWEEN " + lits[0] + " AND " + lits[1], nil
	case authz.OpIsNull:
		return col + " IS NULL", nil
	case authz.OpIsNotNull:
		return col + " IS NOT NULL", nil
	}
	return "", policyError("unknown row filter operator " + p.Op)
}

// typedLiteral renders v as a literal of exactly type t.
func typedLiteral(v authz.Literal, t iceberg.Type) (string, error) {
	mismatch := func() (string, error) {
		return "", policyError(fmt.Sprintf("row filter value does not fit a %s column", t))
	}
	switch t.(type) {
	case iceberg.StringType:
		if v.Kind != authz.KindString {
			return mismatch()
		}
		return "CAST(" + quoteString(v.Str) + " AS VARCHAR)", nil
	case iceberg.Int32Type, iceberg.Int64Type:
		if v.Kind != authz.KindInt {
			return mismatch()
		}
		dt, _ := duckType(t)
		if _, ok := t.(iceberg.Int32Type); ok && (v.Int < -1<<31 || v.Int >= 1<<31) {
			return mismatch()
		}
		return "CAST(" + strconv.FormatInt(v.Int, 10) + " AS " + dt + ")", nil
	case iceberg.Float32Type, iceberg.Float64Type:
		var f float64
		switch v.Kind {
		case authz.KindFloat:
			f = v.Float
		case authz.KindInt:
			f = float64(v.Int)
		default:
			return mismatch()
		}
		dt, _ := duckType(t)
		return "CAST(" + strconv.FormatFloat(f, 'g', -1, 64) + " AS " + dt + ")", nil
	case iceberg.BooleanType:
		if v.Kind != authz.KindBool {
			return mismatch()
		}
		return strconv.FormatBool(v.Bool), nil
	case iceberg.DateType:
		if v.Kind != authz.KindDate {
			return mismatch()
		}
		return "DATE " + quoteString(v.Time.Format("2006-01-02")), nil
	case iceberg.TimestampTzType:
		if v.Kind != authz.KindTimestamp && v.Kind != authz.KindDate {
			return mismatch()
		}
		return "CAST(" + quoteString(v.Time.UTC().Format("2006-01-02 15:04:05.999999")+"+00") + " AS TIMESTAMPTZ)", nil
	case iceberg.TimestampType:
		if v.Kind != authz.KindTimestamp && v.Kind != authz.KindDate {
			return mismatch()
		}
		return "TIMESTAMP " + quoteString(v.Time.UTC().Format("2006-01-02 15:04:05.999999")), nil
	}
	return mismatch()
}

// policyError refuses a query whose policy cannot be applied: the table
// stays unreadable rather than readable without its filter.
func policyError(reason string) error {
	return sqlstate.New(sqlstate.InsufficientPrivilege, "permission denied: the table's data filter cannot be applied").
		WithDetail("%s", reason)
}
