package gateway

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
)

// Predicate pushdown into the fence (SECURITY.md step 4). A fenced relation
// materialises every visible row; to keep row-group pruning, the client's
// top-level AND conjuncts of the simplest shape — a visible, unmasked column
// compared with constants — are copied into the fence (and kept in the
// outer query). Nothing with a function, a cast of the column, a lambda or
// a masked column is copied: inside the fence such an expression would run
// on hidden rows. The copied constant is rendered by floe as a literal of
// exactly the column's type; one that does not convert exactly is not
// copied.

// pushDown copies the eligible conjuncts of a SELECT whose FROM is a single
// fenced relation read once in the statement.
func (w *walker) pushDown(sel map[string]any) {
	from, _ := sel["from_table"].(map[string]any)
	if t, _ := from["type"].(string); t != "BASE_TABLE" {
		return
	}
	name, _ := from["table_name"].(string)
	alias, _ := from["alias"].(string)
	var b *boundRelation
	for _, r := range w.order {
		if r.name == name {
			b = r
		}
	}
	if b == nil || !b.rel.fence || b.refs != 1 {
		return
	}
	var conds []string
	for _, c := range conjuncts(sel["where_clause"]) {
		if s, ok := pushable(c, alias, b.rel.pushable); ok {
			conds = append(conds, s)
		}
	}
	b.rel.fenced.where = append(b.rel.fenced.where, conds...)
}

// conjuncts flattens top-level ANDs.
func conjuncts(n any) []map[string]any {
	m, _ := n.(map[string]any)
	if m == nil {
		return nil
	}
	if m["class"] == "CONJUNCTION" && m["type"] == "CONJUNCTION_AND" {
		var out []map[string]any
		children, _ := m["children"].([]any)
		for _, c := range children {
			out = append(out, conjuncts(c)...)
		}
		return out
	}
	return []map[string]any{m}
}

var comparisonOps = map[string]string{
	"COMPARE_EQUAL": "=", "COMPARE_NOTEQUAL": "<>", "COMPARE_LESSTHAN": "<", "COMPARE_GREATERTHAN": ">",
	"COMPARE_LESSTHANOREQUALTO": "<=", "COMPARE_GREATERTHANOREQUALTO": ">=",
}

// pushable renders conjunct c for the fence if it has one of the allowed
// shapes over a column of cols.
func pushable(c map[string]any, alias string, cols map[string]iceberg.NestedField) (string, bool) {
	column := func(n any) (iceberg.NestedField, string, bool) {
		m, _ := n.(map[string]any)
		if m == nil || m["class"] != "COLUMN_REF" {
			return iceberg.NestedField{}, "", false
		}
		names, _ := m["column_names"].([]any)
		var col string
		switch len(names) {
		case 1:
			col, _ = names[0].(string)
		case 2:
			if q, _ := names[0].(string); !strings.EqualFold(q, alias) {
				return iceberg.NestedField{}, "", false
			}
			col, _ = names[1].(string)
		default:
			return iceberg.NestedField{}, "", false
		}
		f, ok := cols[strings.ToLower(col)]
		return f, "s." + quoteIdent(f.Name), ok
	}
	literal := func(n any, f iceberg.NestedField) (string, bool) {
		m, _ := n.(map[string]any)
		if m == nil || m["class"] != "CONSTANT" {
			return "", false
		}
		v, _ := m["value"].(map[string]any)
		return constantLiteral(v, f.Type)
	}
	switch c["class"] {
	case "COMPARISON":
		op, ok := comparisonOps[fmt.Sprint(c["type"])]
		if !ok {
			return "", false
		}
		f, col, ok := column(c["left"])
		right := c["right"]
		if !ok { // constant on the left: flip
			if f, col, ok = column(c["right"]); !ok {
				return "", false
			}
			right = c["left"]
			op = map[string]string{"=": "=", "<>": "<>", "<": ">", ">": "<", "<=": ">=", ">=": "<="}[op]
		}
		lit, ok := literal(right, f)
		if !ok {
			return "", false
		}
		return col + " " + op + " " + lit, true
	case "BETWEEN":
		f, col, ok := column(c["input"])
		if !ok {
			return "", false
		}
		lo, ok1 := literal(c["lower"], f)
		hi, ok2 := literal(c["upper"], f)
		if !ok1 || !ok2 {
			return "", false
		}
		return col + " BETWEEN " + lo + " AND " + hi, true
	case "OPERATOR":
		children, _ := c["children"].([]any)
		if len(children) == 0 {
			return "", false
		}
		f, col, ok := column(children[0])
		if !ok {
			return "", false
		}
		switch c["type"] {
		case "OPERATOR_IS_NULL":
			return col + " IS NULL", len(children) == 1
		case "OPERATOR_IS_NOT_NULL":
			return col + " IS NOT NULL", len(children) == 1
		case "COMPARE_IN":
			lits := make([]string, 0, len(children)-1)
			for _, ch := range children[1:] {
				l, ok := literal(ch, f)
				if !ok {
					return "", false
				}
				lits = append(lits, l)
			}
			return col + " IN (" + strings.Join(lits, ", ") + ")", len(lits) > 0
		}
	}
	return "", false
}

// constantLiteral renders a parse-tree constant as a literal of exactly
// type t, or reports that it does not convert exactly.
func constantLiteral(v map[string]any, t iceberg.Type) (string, bool) {
	if v == nil {
		return "", false
	}
	if isNull, _ := v["is_null"].(bool); isNull {
		return "", false
	}
	typ, _ := v["type"].(map[string]any)
	id, _ := typ["id"].(string)
	raw := v["value"]
	switch t.(type) {
	case iceberg.Int32Type, iceberg.Int64Type:
		if id != "INTEGER" && id != "BIGINT" && id != "SMALLINT" && id != "TINYINT" {
			return "", false
		}
		n, err := strconv.ParseInt(fmt.Sprint(raw), 10, 64)
		if err != nil {
			return "", false
		}
		if _, small := t.(iceberg.Int32Type); small && (n < -1<<31 || n >= 1<<31) {
			return "", false
		}
		dt, _ := duckType(t)
		return "CAST(" + strconv.FormatInt(n, 10) + " AS " + dt + ")", true
	case iceberg.Float64Type:
		if id != "INTEGER" && id != "BIGINT" && id != "DOUBLE" {
			return "", false
		}
		f, err := strconv.ParseFloat(fmt.Sprint(raw), 64)
		if err != nil {
			return "", false
		}
		return "CAST(" + strconv.FormatFloat(f, 'g', -1, 64) + " AS DOUBLE)", true
	case iceberg.StringType:
		s, ok := raw.(string)
		if id != "VARCHAR" || !ok {
			return "", false
		}
		return "CAST(" + quoteString(s) + " AS VARCHAR)", true
	case iceberg.BooleanType:
		b, ok := raw.(bool)
		if id != "BOOLEAN" || !ok {
			return "", false
		}
		return strconv.FormatBool(b), true
	case iceberg.DateType:
		s, ok := raw.(string)
		d, err := time.Parse("2006-01-02", s)
		if id != "VARCHAR" || !ok || err != nil {
			return "", false
		}
		return "DATE " + quoteString(d.Format("2006-01-02")), true
	case iceberg.TimestampTzType:
		s, ok := raw.(string)
		if id != "VARCHAR" || !ok {
			return "", false
		}
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return "", false
		}
		return "CAST(" + quoteString(ts.UTC().Format("2006-01-02 15:04:05.999999")+"+00") + " AS TIMESTAMPTZ)", true
	}
	return "", false
}
