package gateway

import (
	"fmt"
	"strings"
)

// Column pruning for fenced relations. DuckDB does not push projections
// into a MATERIALIZED CTE: a fence that selects every visible column makes
// count(*) materialise whole rows. The fence therefore selects only the
// columns the statement can name. Pruning removes columns, never rows and
// never a mask, so it cannot reveal anything; what it must not do is drop a
// column the statement does use, so every doubt keeps them all: any star
// (*, t.*, COLUMNS(...), FROM t), a positional reference, a NATURAL join,
// PIVOT or UNPIVOT, a column alias list on a table, or a reference that
// could mean a whole row (a name that is also a table, alias or CTE name)
// keeps every column.

// fencedColumn is one output column of a fence: its lower-case name and its
// select-list entry (mask applied, AS the column name).
type fencedColumn struct {
	name string
	sql  string
}

// fencedRelation is a fenced relation in parts:
// SELECT <columns> FROM (<source>) AS s WHERE <where[0]> AND <where[1]>...
type fencedRelation struct {
	columns []fencedColumn
	source  string
	where   []string
}

// sql renders the fence with the columns keep admits (nil: all). With none
// left it selects a constant, so that row counts stay right.
func (f *fencedRelation) sql(keep func(name string) bool) string {
	var cols []string
	for _, c := range f.columns {
		if keep == nil || keep(c.name) {
			cols = append(cols, c.sql)
		}
	}
	if len(cols) == 0 {
		cols = []string{"true AS __floe_row"}
	}
	where := make([]string, len(f.where))
	for i, w := range f.where {
		where[i] = "(" + w + ")"
	}
	return fmt.Sprintf("SELECT %s FROM (%s) AS s WHERE %s", strings.Join(cols, ", "), f.source, strings.Join(where, " AND "))
}

// columnUse records which column names a statement can refer to.
type columnUse struct {
	all     bool            // some construct may use any column
	names   map[string]bool // every part of every column reference
	single  map[string]bool // one-part references: a column or a whole row
	relName map[string]bool // table, alias and CTE names
}

func (u *columnUse) init() {
	if u.names == nil {
		u.names, u.single, u.relName = map[string]bool{}, map[string]bool{}, map[string]bool{}
	}
}

// noteNode records what node m of the parse tree says about column use.
func (u *columnUse) noteNode(m map[string]any) {
	u.init()
	class, _ := m["class"].(string)
	typ, _ := m["type"].(string)
	switch {
	case class == "COLUMN_REF":
		names, _ := m["column_names"].([]any)
		for i, n := range names {
			s, _ := n.(string)
			s = strings.ToLower(s)
			u.names[s] = true
			if i > 0 {
				// t.x.y: x may be a relation used as a row (struct).
				u.single[s] = true
			}
		}
		if len(names) == 1 {
			s, _ := names[0].(string)
			u.single[strings.ToLower(s)] = true
		}
	case class == "STAR" || class == "POSITIONAL_REFERENCE":
		u.all = true
	case class == "" && typ == "JOIN":
		if rt, _ := m["ref_type"].(string); rt != "REGULAR" && rt != "CROSS" && rt != "ASOF" && rt != "POSITIONAL" {
			u.all = true // NATURAL, and anything newer we do not know
		}
		using, _ := m["using_columns"].([]any)
		for _, c := range using {
			s, _ := c.(string)
			u.names[strings.ToLower(s)] = true
		}
	}
	if class == "" && typ == "PIVOT" {
		// PIVOT and UNPIVOT name their columns as string constants, and
		// PIVOT groups by every column it does not name.
		u.all = true
	}
	if class == "" {
		if a, _ := m["alias"].(string); a != "" {
			u.relName[strings.ToLower(a)] = true
		}
		if typ == "BASE_TABLE" {
			t, _ := m["table_name"].(string)
			u.relName[strings.ToLower(t)] = true
			if a, _ := m["column_name_alias"].([]any); len(a) > 0 {
				u.all = true
			}
		}
	}
}

// keep reports the columns a fence must select, or nil for all of them.
func (u *columnUse) keep() func(string) bool {
	u.init()
	if u.all {
		return nil
	}
	for n := range u.single {
		if u.relName[n] {
			return nil // SELECT t FROM t: the whole row as a struct
		}
	}
	return func(name string) bool { return u.names[name] }
}

// pruneFences renders every fenced relation of the statement with only the
// columns it can use.
func (w *walker) pruneFences() {
	keep := w.use.keep()
	for _, b := range w.order {
		if b.rel.fenced != nil {
			b.rel.sql = b.rel.fenced.sql(keep)
		}
	}
}
