package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"

	"github.com/floe-dev/floe/sqlstate"
)

// pgSyntaxFixes rewrites PostgreSQL spellings DuckDB's parser rejects but
// psql and drivers send. The result is parsed and analysed like any input.
var pgSyntaxFixes = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`(?i)OPERATOR\s*\(\s*pg_catalog\s*\.\s*([~!=<>*+\-/%|&^#@]+)\s*\)`), " $1 "},
	{regexp.MustCompile(`(?i)\s+COLLATE\s+pg_catalog\s*\.\s*"?default"?`), ""},
	{regexp.MustCompile(`(?i)::\s*pg_catalog\s*\.\s*`), "::"},
}

// rewriteQuery analyses one query statement and returns the SQL DuckDB runs:
// every table reference resolved to its relation, refused constructs
// rejected. This is the only way client SQL reaches DuckDB.
//
// casts, when not nil, names parameters to cast (see params.go).
func (s *Session) rewriteQuery(ctx context.Context, query string, casts map[string]string) (rewritten, error) {
	key := s.rewriteKey(query, casts)
	if r, ok := s.engine.rewrites.get(ctx, s.engine.cat, key); ok {
		s.accessed = r.tables
		return r, nil
	}
	s.accessed = nil // resolve notes each table here, for the audit record
	for _, f := range pgSyntaxFixes {
		query = f.re.ReplaceAllString(query, f.with)
	}
	tree, err := s.serialize(ctx, query)
	if err != nil {
		return rewritten{}, err
	}
	stmts, _ := tree["statements"].([]any)
	if len(stmts) != 1 {
		return rewritten{}, sqlstate.New(sqlstate.SyntaxError, "cannot insert multiple commands into a prepared statement")
	}
	stmt, _ := stmts[0].(map[string]any)
	top, _ := stmt["node"].(map[string]any)
	if top == nil {
		return rewritten{}, sqlstate.New(sqlstate.FeatureNotSupported, "statement not supported")
	}

	if len(casts) > 0 {
		inferred := maps.Clone(casts)
		inferParamCasts(top, inferred)
		castParams(top, inferred)
	}
	w := &walker{s: s, ctx: ctx, rels: map[string]*boundRelation{}, bound: map[string]string{}}
	w.walk(top, nil, "")
	if w.err != nil {
		return rewritten{}, w.err
	}
	w.fixQualifiedColumns()
	for _, sel := range w.selects {
		w.pushDown(sel)
	}
	w.pruneFences()
	out, err := s.deserialize(ctx, tree)
	if err != nil {
		return rewritten{}, err
	}
	if len(w.order) > 0 {
		if out, err = s.withRelations(ctx, out, w.order); err != nil {
			return rewritten{}, err
		}
	}
	r := rewritten{sql: out, tables: s.accessed}
	for _, b := range w.order {
		r.hidden = append(r.hidden, b.rel.hidden...)
		r.governed = r.governed || b.rel.fence
		if b.rel.snapshot != 0 {
			r.reads = append(r.reads, tableSnapshot{ref: b.ref, snapshot: b.rel.snapshot})
		}
	}
	if !w.uncacheable {
		s.engine.rewrites.put(key, r, w.order)
	}
	return r, nil
}

// rewritten is the SQL DuckDB runs for a statement, with the columns the
// policy hides from the principal in the tables it reads.
type rewritten struct {
	sql      string
	hidden   []string
	governed bool            // reads a fenced relation: runtime error texts are withheld
	tables   []tableAccess   // what the policy decided for each table, for the audit record
	reads    []tableSnapshot // the Iceberg snapshots it reads, pinned while it runs
}

// serialize parses SQL with DuckDB's own parser into its JSON parse tree.
// Where the parser stops after a word DuckDB reserves and PostgreSQL takes
// as a name, the word is quoted and the statement parsed again
// (keywords.go): a quote is kept when the parser then gets further, and
// the nearest such word before the error is tried first.
func (s *Session) serialize(ctx context.Context, query string) (map[string]any, error) {
	tree, pos, err := s.parse(ctx, query)
	skip := 0 // candidates before the error already tried in vain
	for tries := 0; err != nil && pos >= 0 && tries < maxKeywordQuotes; tries++ {
		quoted, ok := quoteKeywordBefore(query, pos, skip, s.engine.nameKeywords)
		if !ok {
			break
		}
		t, p, e := s.parse(ctx, quoted)
		if e == nil {
			return t, nil
		}
		if p > pos {
			query, pos, err, skip = quoted, p, e, 0
		} else {
			skip++
		}
	}
	return tree, err
}

// parse is one json_serialize_sql call. On a syntax error it returns the
// character position DuckDB reports (-1 when it reports none).
func (s *Session) parse(ctx context.Context, query string) (map[string]any, int, error) {
	var out string
	if err := s.conn.QueryRowContext(ctx, "SELECT json_serialize_sql($1::VARCHAR)::VARCHAR", query).Scan(&out); err != nil {
		return nil, -1, fmt.Errorf("serialize statement: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	var tree map[string]any
	if err := dec.Decode(&tree); err != nil {
		return nil, -1, fmt.Errorf("decode parse tree: %w", err)
	}
	if isErr, _ := tree["error"].(bool); isErr {
		msg, _ := tree["error_message"].(string)
		typ, _ := tree["error_type"].(string)
		if typ == "not implemented" || strings.Contains(msg, "Only SELECT statements") {
			return nil, -1, sqlstate.New(sqlstate.FeatureNotSupported, "statement not supported: floe answers read-only queries")
		}
		pos := -1
		if p, ok := tree["position"].(string); ok && typ == "parser" {
			if n, err := strconv.Atoi(p); err == nil {
				pos = n
			}
		}
		return nil, pos, sqlstate.New(sqlstate.SyntaxError, "%s", cleanParserMessage(msg))
	}
	return tree, -1, nil
}

func (s *Session) deserialize(ctx context.Context, tree map[string]any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(tree); err != nil {
		return "", fmt.Errorf("encode parse tree: %w", err)
	}
	var out string
	if err := s.conn.QueryRowContext(ctx, "SELECT json_deserialize_sql($1::JSON)", buf.String()).Scan(&out); err != nil {
		return "", fmt.Errorf("deserialize statement: %w", err)
	}
	return out, nil
}

// withRelations puts the bound relations first in the top-level WITH of the
// client's statement. json_deserialize_sql does not print MATERIALIZED, so
// the relations cannot travel through the parse tree (the fence would be
// lost): their text, built by floe from paths, quoted names and typed
// literals only, is joined to the deserialized statement, and the result
// is parsed once more to check that it is one statement whose top-level
// WITH holds every relation. (The serializer does not report
// MATERIALIZED either; the fence itself is held by the regression probes
// in policy_test.go.)
func (s *Session) withRelations(ctx context.Context, stmt string, rels []*boundRelation) (string, error) {
	var defs strings.Builder
	for i, r := range rels {
		if i > 0 {
			defs.WriteString(", ")
		}
		mat := "NOT MATERIALIZED"
		if r.rel.fence {
			mat = "MATERIALIZED"
		}
		fmt.Fprintf(&defs, "%s AS %s (%s)", quoteIdent(r.name), mat, r.rel.sql)
	}
	var out string
	switch {
	case hasPrefixFold(stmt, "WITH RECURSIVE "):
		out = "WITH RECURSIVE " + defs.String() + ", " + stmt[len("WITH RECURSIVE "):]
	case hasPrefixFold(stmt, "WITH "):
		out = "WITH " + defs.String() + ", " + stmt[len("WITH "):]
	default:
		out = "WITH " + defs.String() + " " + stmt
	}

	tree, err := s.serialize(ctx, out)
	if err != nil {
		return "", fmt.Errorf("relation splice does not parse: %w", err)
	}
	want := map[string]bool{}
	for _, r := range rels {
		want[r.name] = true
	}
	stmts, _ := tree["statements"].([]any)
	if len(stmts) == 1 {
		node, _ := stmts[0].(map[string]any)["node"].(map[string]any)
		cm, _ := node["cte_map"].(map[string]any)
		entries, _ := cm["map"].([]any)
		for _, e := range entries {
			name, _ := e.(map[string]any)["key"].(string)
			delete(want, name)
		}
	}
	if len(stmts) != 1 || len(want) > 0 {
		return "", fmt.Errorf("relation splice lost %d relation(s)", len(want))
	}
	return out, nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// cleanParserMessage keeps DuckDB's parser message for the user's own text.
func cleanParserMessage(msg string) string {
	msg = strings.TrimPrefix(msg, "Parser Error: ")
	if i := strings.Index(msg, "\n"); i >= 0 {
		msg = msg[:i]
	}
	return msg
}

// walker visits a parse tree, resolving table references and refusing
// what clients may not run.
type walker struct {
	s     *Session
	ctx   context.Context
	err   error
	rels  map[string]*boundRelation // by table key: one snapshot per table per statement
	order []*boundRelation
	// qualified holds column references with three or more parts
	// (schema.table.column), fixed once the tables are bound.
	qualified []map[string]any
	// bound maps "schema\x00table" of every table reference (as written,
	// lower case) to the name it is visible under after binding.
	bound map[string]string
	// selects are the SELECT nodes, for predicate pushdown (pushdown.go).
	selects []map[string]any
	// uncacheable marks statements whose rewrite depends on more than the
	// text, the principal, the settings and the snapshots of their tables.
	uncacheable bool
	// use is what the statement can refer to, for pruning fences (prune.go).
	use columnUse
}

type boundRelation struct {
	name string
	rel  relation
	ref  tableRef
	refs int // references in the statement
}

// scope is the chain of CTE names visible at a point of the tree.
type scope struct {
	names  map[string]bool
	parent *scope
}

func (sc *scope) has(name string) bool {
	for ; sc != nil; sc = sc.parent {
		if sc.names[strings.ToLower(name)] {
			return true
		}
	}
	return false
}

func (w *walker) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// walk visits n. key is the field of the parent that holds n.
func (w *walker) walk(n any, sc *scope, key string) {
	if w.err != nil {
		return
	}
	switch v := n.(type) {
	case []any:
		for _, e := range v {
			w.walk(e, sc, key)
		}
	case map[string]any:
		w.walkMap(v, sc, key)
	}
}

func (w *walker) walkMap(m map[string]any, sc *scope, key string) {
	if cm, ok := m["cte_map"].(map[string]any); ok {
		sc = w.walkCTEs(cm, sc)
	}
	typ, _ := m["type"].(string)
	class, _ := m["class"].(string)
	w.use.noteNode(m)
	switch {
	case typ == "BASE_TABLE" && class == "":
		w.bindTable(m, sc)
		return
	case typ == "TABLE_FUNCTION" && class == "":
		fn, _ := m["function"].(map[string]any)
		name, _ := fn["function_name"].(string)
		if !allowedTableFunctions[strings.ToLower(name)] {
			w.fail(sqlstate.New(sqlstate.InsufficientPrivilege, "permission denied for function %s", name))
			return
		}
		// PostgreSQL names the column of a scalar set-returning function
		// after the alias: FROM generate_series(1, 3) s gives column s.
		if alias, _ := m["alias"].(string); alias != "" && scalarTableFunctions[strings.ToLower(name)] {
			if a, _ := m["column_name_alias"].([]any); len(a) == 0 {
				m["column_name_alias"] = []any{alias}
			}
		}
	case class == "FUNCTION":
		if w.rewriteFunction(m, key == "select_list") {
			return
		}
	case typ == "SELECT_NODE" && class == "":
		if list, ok := m["select_list"].([]any); ok {
			for _, e := range list {
				if em, ok := e.(map[string]any); ok {
					if a, _ := em["alias"].(string); a == "" {
						if name := pgColumnName(em); name != "" {
							em["alias"] = name
						}
					}
				}
			}
		}
	case class == "COLUMN_REF":
		w.rewriteColumnRef(m, key == "select_list")
		if names, _ := m["column_names"].([]any); len(names) >= 3 {
			w.qualified = append(w.qualified, m)
		}
		return
	case class == "CAST":
		w.rewriteCast(m)
	}
	for k, v := range m {
		if k == "cte_map" {
			continue
		}
		w.walk(v, sc, k)
	}
	if typ == "SELECT_NODE" && class == "" {
		// Decided after the whole walk, when every reference is counted.
		w.selects = append(w.selects, m)
	}
}

// walkCTEs checks and visits the CTE definitions of one WITH and returns the
// scope their names are visible in.
func (w *walker) walkCTEs(cm map[string]any, sc *scope) *scope {
	entries, _ := cm["map"].([]any)
	inner := &scope{names: map[string]bool{}, parent: sc}
	for _, e := range entries {
		em, _ := e.(map[string]any)
		name, _ := em["key"].(string)
		lname := strings.ToLower(name)
		if strings.HasPrefix(lname, "__floe") {
			w.fail(sqlstate.New(sqlstate.InsufficientPrivilege, "names starting with __floe are reserved"))
			return inner
		}
		// A CTE named like one of DuckDB's own relations could make us
		// skip a reference DuckDB then binds to its own view.
		if w.s.engine.systemNames[lname] || isCatalogRelation(lname) {
			w.fail(sqlstate.New(sqlstate.FeatureNotSupported, "a WITH query may not be named %q", name))
			return inner
		}
		inner.names[lname] = true
	}
	for _, e := range entries {
		em, _ := e.(map[string]any)
		name, _ := em["key"].(string)
		val, _ := em["value"].(map[string]any)
		q, _ := val["query"].(map[string]any)
		body, _ := q["node"].(map[string]any)
		bodyScope := inner
		if t, _ := body["type"].(string); t != "RECURSIVE_CTE_NODE" {
			// A non-recursive CTE does not see itself: a reference to its
			// own name inside its body is a table reference.
			bodyScope = &scope{names: map[string]bool{}, parent: sc}
			for n := range inner.names {
				if n != strings.ToLower(name) {
					bodyScope.names[n] = true
				}
			}
		}
		w.walk(body, bodyScope, "")
	}
	return inner
}

// allowedTableFunctions are the table functions a client may call: they
// compute from their arguments and touch no files, settings or catalogs.
var allowedTableFunctions = map[string]bool{
	"range": true, "generate_series": true, "unnest": true, "json_each": true, "json_tree": true,
	"repeat": true, "repeat_row": true, "pg_timezone_names": true,
}

var scalarTableFunctions = map[string]bool{"range": true, "generate_series": true, "unnest": true}

// deniedFunctions reveal the engine's internals (settings, the rewritten
// query text with file paths, statistics of hidden rows) or have side effects.
var deniedFunctions = map[string]bool{
	"current_query": true, "getvariable": true, "stats": true, "write_log": true,
	"json_execute_serialized_sql": true, "nextval": true, "currval": true,
	"in_search_path": true, "parse_duckdb_log_message": true,
}

func (w *walker) bindTable(m map[string]any, sc *scope) {
	schemaName, _ := m["schema_name"].(string)
	tableName, _ := m["table_name"].(string)
	catalogName, _ := m["catalog_name"].(string)
	if catalogName != "" && !strings.EqualFold(catalogName, DatabaseName) {
		w.fail(sqlstate.New(sqlstate.FeatureNotSupported, "cross-database references are not implemented: %s.%s.%s", catalogName, schemaName, tableName))
		return
	}
	if schemaName == "" && catalogName == "" && sc.has(tableName) {
		return // a CTE reference
	}
	if at, ok := m["at_clause"]; ok && at != nil {
		w.fail(sqlstate.New(sqlstate.FeatureNotSupported, "time travel (AT) is not supported yet"))
		return
	}
	ref, err := w.s.resolveName(w.ctx, schemaName, tableName)
	if err != nil {
		w.fail(err)
		return
	}
	b, ok := w.rels[ref.key()]
	if !ok {
		rel, err := w.s.resolve(w.ctx, ref)
		if err != nil {
			w.fail(err)
			return
		}
		b = &boundRelation{name: fmt.Sprintf("__floe_r%d", len(w.order)+1), rel: rel, ref: ref}
		if ref.system || ref.virtual {
			w.uncacheable = true // catalog and virtual rows change at any time
		}
		w.rels[ref.key()] = b
		w.order = append(w.order, b)
	}
	b.refs++
	if alias, _ := m["alias"].(string); alias == "" {
		m["alias"] = tableName
		w.bound[strings.ToLower(schemaName)+"\x00"+strings.ToLower(tableName)] = tableName
		if schemaName == "" {
			w.bound[strings.ToLower(ref.namespace)+"\x00"+strings.ToLower(tableName)] = tableName
		}
	}
	m["table_name"] = b.name
	m["schema_name"] = ""
	m["catalog_name"] = ""
}

// fixQualifiedColumns rewrites schema.table.column (and
// database.schema.table.column) references to table.column: after binding,
// a table is visible under its own name only.
func (w *walker) fixQualifiedColumns() {
	for _, m := range w.qualified {
		names, _ := m["column_names"].([]any)
		parts := make([]string, len(names))
		for i, n := range names {
			parts[i], _ = n.(string)
		}
		if len(parts) >= 4 && strings.EqualFold(parts[0], DatabaseName) {
			if _, ok := w.bound[strings.ToLower(parts[1])+"\x00"+strings.ToLower(parts[2])]; ok {
				m["column_names"] = names[2:]
				continue
			}
		}
		if _, ok := w.bound[strings.ToLower(parts[0])+"\x00"+strings.ToLower(parts[1])]; ok {
			m["column_names"] = names[1:]
		}
	}
}

// replaceWithConstant turns an expression node into a VARCHAR constant (or
// NULL when value is nil), keeping its alias or naming the column like
// PostgreSQL does.
func replaceWithConstant(m map[string]any, value any, typeID string, columnName string, inSelectList bool) {
	alias, _ := m["alias"].(string)
	loc := m["query_location"]
	clear(m)
	m["class"] = "CONSTANT"
	m["type"] = "VALUE_CONSTANT"
	if alias == "" && inSelectList {
		alias = columnName
	}
	m["alias"] = alias
	m["query_location"] = loc
	m["value"] = map[string]any{
		"type":    map[string]any{"id": typeID, "type_info": nil},
		"is_null": value == nil,
		"value":   value,
	}
}

// replaceWithList turns an expression node into a VARCHAR[] built from
// constants.
func replaceWithList(m map[string]any, values []string, columnName string, inSelectList bool) {
	alias, _ := m["alias"].(string)
	loc := m["query_location"]
	children := make([]any, len(values))
	for i, v := range values {
		c := map[string]any{}
		replaceWithConstant(c, v, "VARCHAR", "", false)
		c["query_location"] = loc
		children[i] = c
	}
	if alias == "" && inSelectList {
		alias = columnName
	}
	clear(m)
	m["class"], m["type"], m["alias"], m["query_location"] = "FUNCTION", "FUNCTION", alias, loc
	m["function_name"], m["schema"], m["catalog"] = "list_value", "", ""
	m["children"] = children
	m["filter"] = nil
	m["order_bys"] = map[string]any{"type": "ORDER_MODIFIER", "orders": []any{}}
	m["distinct"], m["is_operator"], m["export_state"] = false, false, false
}

// rewriteFunction answers PostgreSQL's session and catalog functions from
// the session and refuses engine functions. It reports whether it replaced
// the node (then there is nothing left to visit).
func (w *walker) rewriteFunction(m map[string]any, inSelectList bool) bool {
	name, _ := m["function_name"].(string)
	schema, _ := m["schema"].(string)
	lname := strings.ToLower(name)
	if schema != "" && !strings.EqualFold(schema, "pg_catalog") && !strings.EqualFold(schema, "main") {
		w.fail(sqlstate.New(sqlstate.UndefinedFunction, "function %s.%s does not exist", schema, name))
		return true
	}
	if deniedFunctions[lname] {
		w.fail(sqlstate.New(sqlstate.InsufficientPrivilege, "permission denied for function %s", name))
		return true
	}
	args, _ := m["children"].([]any)
	s := w.s
	if op, _ := m["is_operator"].(bool); op && len(args) == 2 && (name == "/" || name == "%") {
		// PostgreSQL raises division_by_zero where DuckDB returns NULL or
		// infinity; the macros check the divisor first.
		m["function_name"] = map[string]string{"/": "floe_div", "%": "floe_mod"}[name]
		m["schema"] = "main"
		m["is_operator"] = false
		return false
	}
	if schema != "" {
		// DuckDB would read pg_catalog.f(x) as a method call on a column
		// named pg_catalog; its search path finds f anyway.
		m["schema"] = ""
	}
	switch lname {
	case "version":
		replaceWithConstant(m, "PostgreSQL "+ServerVersion+" (floe) on x86_64-pc-linux-gnu, compiled by Go, 64-bit", "VARCHAR", "version", inSelectList)
	case "current_database", "current_catalog":
		replaceWithConstant(m, DatabaseName, "VARCHAR", lname, inSelectList)
	case "current_schema":
		replaceWithConstant(m, s.currentSchema(), "VARCHAR", lname, inSelectList)
	case "current_user", "session_user", "user", "current_role":
		replaceWithConstant(m, s.user, "VARCHAR", lname, inSelectList)
	case "pg_get_userbyid":
		replaceWithConstant(m, s.user, "VARCHAR", lname, inSelectList)
	case "current_schemas":
		// The search path as PostgreSQL reports it (PgJDBC's getSchemas
		// builds on it); with true, the implicit pg_catalog first.
		schemas := s.searchPath()
		if len(args) > 0 {
			if a, _ := args[0].(map[string]any); a != nil {
				if v, _ := a["value"].(map[string]any); v != nil && fmt.Sprint(v["value"]) == "true" {
					schemas = append([]string{"pg_catalog"}, schemas...)
				}
			}
		}
		replaceWithList(m, schemas, lname, inSelectList)
	case "pg_backend_pid":
		w.uncacheable = true
		replaceWithConstant(m, json.Number(fmt.Sprint(s.pid)), "INTEGER", lname, inSelectList)
	case "pg_encoding_to_char":
		replaceWithConstant(m, "UTF8", "VARCHAR", lname, inSelectList)
	case "json_build_object", "json_build_array":
		// PostgreSQL's names for what DuckDB's json extension calls
		// json_object and json_array (SQLAlchemy's column reflection).
		m["function_name"] = strings.Replace(lname, "_build", "", 1)
		return false
	case "pg_table_is_visible", "pg_type_is_visible", "pg_function_is_visible", "pg_collation_is_visible":
		// Every table is visible: unqualified names resolve across
		// namespaces (resolve.go).
		replaceWithConstant(m, true, "BOOLEAN", lname, inSelectList)
	case "format_type", "pg_get_expr", "pg_relation_is_publishable", "array_upper", "array_lower",
		"quote_ident", "quote_literal", "quote_nullable", "pg_is_in_recovery", "pg_get_serial_sequence",
		"pg_get_viewdef", "txid_current", "to_regtype", "obj_description", "col_description", "shobj_description", "pg_relation_size", "pg_total_relation_size", "pg_table_size", "pg_indexes_size",
		"pg_get_indexdef", "pg_get_triggerdef", "pg_get_partkeydef", "pg_get_ruledef", "pg_get_statisticsobjdef_columns":
		// Emulations installed as macros when the engine starts.
		m["function_name"] = "floe_" + lname
		m["schema"] = "main"
		return false
	case "current_setting":
		if len(args) == 0 {
			w.fail(sqlstate.New(sqlstate.UndefinedFunction, "function current_setting() does not exist"))
			return true
		}
		arg, _ := args[0].(map[string]any)
		val, _ := arg["value"].(map[string]any)
		setting, ok := val["value"].(string)
		if c, _ := arg["class"].(string); c != "CONSTANT" || !ok {
			w.fail(sqlstate.New(sqlstate.FeatureNotSupported, "current_setting takes a constant name in floe"))
			return true
		}
		v, err := s.settings.get(setting)
		if err != nil {
			if len(args) > 1 { // missing_ok
				replaceWithConstant(m, nil, "VARCHAR", lname, inSelectList)
				return true
			}
			w.fail(err)
			return true
		}
		replaceWithConstant(m, v, "VARCHAR", lname, inSelectList)
	default:
		return false
	}
	return true
}

func (w *walker) rewriteColumnRef(m map[string]any, inSelectList bool) {
	names, _ := m["column_names"].([]any)
	if len(names) != 1 {
		return
	}
	name, _ := names[0].(string)
	switch strings.ToLower(name) {
	case "current_user", "session_user", "current_role":
		replaceWithConstant(m, w.s.user, "VARCHAR", strings.ToLower(name), inSelectList)
	case "current_catalog":
		replaceWithConstant(m, DatabaseName, "VARCHAR", "current_catalog", inSelectList)
	}
}

// rewriteCast maps PostgreSQL's object identifier types to what floe's
// emulated catalog stores: oids are BIGINT, reg* names are text.
func (w *walker) rewriteCast(m map[string]any) {
	ct, _ := m["cast_type"].(map[string]any)
	info, _ := ct["type_info"].(map[string]any)
	name, _ := info["name"].(string)
	switch strings.ToLower(name) {
	case "regclass":
		// 'schema.table'::regclass is the table's oid; an oid::regclass
		// stays a number (psql only compares it).
		child, _ := m["child"].(map[string]any)
		if c, _ := child["class"].(string); c == "CONSTANT" {
			if v, ok := child["value"].(map[string]any)["value"].(string); ok {
				oid, err := w.s.regclass(w.ctx, v)
				if err != nil {
					w.fail(err)
					return
				}
				replaceWithConstant(m, json.Number(fmt.Sprint(oid)), "BIGINT", "regclass", false)
				return
			}
		}
		m["cast_type"] = map[string]any{"id": "BIGINT", "type_info": nil}
	case "regtype", "regproc", "regprocedure", "regnamespace", "regrole", "regoper", "regconfig":
		m["cast_type"] = map[string]any{"id": "VARCHAR", "type_info": nil}
	case "oid", "xid", "cid", "tid", "regoperator", "int2vector", "oidvector":
		m["cast_type"] = map[string]any{"id": "BIGINT", "type_info": nil}
	case "name", "bpchar", "char", "character", "text", "pg_node_tree", "aclitem":
		m["cast_type"] = map[string]any{"id": "VARCHAR", "type_info": nil}
	}
}

// pgColumnName is the name PostgreSQL gives an unaliased select-list
// expression (count(*) is "count", a cast takes its operand's name,
// anything else without a name is "?column?"). Column references and stars
// keep DuckDB's naming, which already matches.
func pgColumnName(e map[string]any) string {
	class, _ := e["class"].(string)
	switch class {
	case "COLUMN_REF", "STAR":
		return ""
	case "FUNCTION":
		if op, _ := e["is_operator"].(bool); op {
			return "?column?"
		}
		name, _ := e["function_name"].(string)
		switch name {
		case "count_star":
			return "count"
		case "~~", "!~~", "~~*", "!~~*", "+", "-", "*", "/", "%", "||", "^", "**", "//", "&", "|", "<<", ">>":
			return "?column?"
		}
		if strings.HasPrefix(name, "floe_") {
			return strings.TrimPrefix(name, "floe_")
		}
		return name
	case "CAST":
		child, _ := e["child"].(map[string]any)
		if n := pgColumnName(child); n != "" && n != "?column?" {
			return n
		}
		if c, _ := child["class"].(string); c == "COLUMN_REF" {
			names, _ := child["column_names"].([]any)
			if len(names) > 0 {
				n, _ := names[len(names)-1].(string)
				return n
			}
		}
		ct, _ := e["cast_type"].(map[string]any)
		id, _ := ct["id"].(string)
		return castTypeName(id)
	case "CASE":
		return "case"
	case "SUBQUERY":
		if t, _ := e["subquery_type"].(string); t == "EXISTS" {
			return "exists"
		}
		return "?column?"
	}
	return "?column?"
}

func castTypeName(id string) string {
	switch id {
	case "INTEGER":
		return "int4"
	case "BIGINT":
		return "int8"
	case "SMALLINT":
		return "int2"
	case "VARCHAR":
		return "text"
	case "BOOLEAN":
		return "bool"
	case "DOUBLE":
		return "float8"
	case "FLOAT":
		return "float4"
	case "DECIMAL":
		return "numeric"
	case "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_TZ":
		return "timestamptz"
	}
	return strings.ToLower(id)
}
