package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/iceberg-go"

	"github.com/floe-dev/floe/authz"

	"github.com/floe-dev/floe/catalog"
	"github.com/floe-dev/floe/sqlstate"
)

// tableRef is a resolved name: an Iceberg table or an emulated catalog
// relation.
type tableRef struct {
	namespace string
	name      string
	system    bool // pg_catalog or information_schema
	virtual   bool // a Config.Virtual table
}

func (r tableRef) key() string { return r.namespace + "\x00" + r.name }

// relation is what DuckDB reads instead of a table name: a query over the
// snapshot's files (or over catalog rows). fence makes it an optimizer
// fence (MATERIALIZED CTE): governed relations need it, see SECURITY.md.
type relation struct {
	sql      string
	fence    bool
	fenced   *fencedRelation // the parts of a fenced relation's sql (prune.go)
	snapshot int64           // the snapshot read; 0 for catalog relations and empty tables
	hidden   []string        // columns the principal may not see
	// pushable are the visible, unmasked columns (by lower-case name) of
	// a fenced relation that client predicates may be copied onto.
	pushable map[string]iceberg.NestedField
}

// resolveName finds the table a (schema, name) reference means, PostgreSQL
// style: qualified names directly; unqualified names through search_path,
// then pg_catalog, then — so analysts can write just the table name — a
// table of that name in exactly one namespace.
func (s *Session) resolveName(ctx context.Context, schema, name string) (tableRef, error) {
	if ref, ok := s.virtualRef(schema, name); ok {
		return ref, nil
	}
	if schema != "" {
		ls := strings.ToLower(schema)
		if ls == "pg_catalog" || ls == "information_schema" {
			if cr := catalogRelationName(ls, name); cr != "" {
				return tableRef{namespace: ls, name: cr, system: true}, nil
			}
			return tableRef{}, sqlstate.New(sqlstate.UndefinedTable, "relation \"%s.%s\" does not exist", schema, name)
		}
		ns, tbl, err := s.findTable(ctx, schema, name)
		if err != nil {
			return tableRef{}, err
		}
		if tbl == "" {
			return tableRef{}, sqlstate.New(sqlstate.UndefinedTable, "relation \"%s.%s\" does not exist", schema, name)
		}
		return tableRef{namespace: ns, name: tbl}, nil
	}
	for _, ns := range s.searchPath() {
		if nsName, tbl, err := s.findTable(ctx, ns, name); err != nil {
			return tableRef{}, err
		} else if tbl != "" {
			return tableRef{namespace: nsName, name: tbl}, nil
		}
	}
	if cr := catalogRelationName("pg_catalog", name); cr != "" {
		return tableRef{namespace: "pg_catalog", name: cr, system: true}, nil
	}
	namespaces, err := s.engine.cat.Namespaces(ctx)
	if err != nil {
		return tableRef{}, err
	}
	var found []tableRef
	for _, ns := range namespaces {
		if nsName, tbl, err := s.findTable(ctx, ns, name); err != nil {
			return tableRef{}, err
		} else if tbl != "" {
			found = append(found, tableRef{namespace: nsName, name: tbl})
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return tableRef{}, sqlstate.New(sqlstate.UndefinedTable, "relation \"%s\" does not exist", name)
	default:
		return tableRef{}, sqlstate.New(sqlstate.UndefinedTable, "relation \"%s\" is ambiguous: it exists in schemas %s and %s; qualify it", name, found[0].namespace, found[1].namespace)
	}
}

// findTable looks ns.name up, exactly first and then case-insensitively
// (unquoted identifiers reach us in the case they were typed).
func (s *Session) findTable(ctx context.Context, ns, name string) (string, string, error) {
	namespaces, err := s.engine.cat.Namespaces(ctx)
	if err != nil {
		return "", "", err
	}
	nsName := matchName(namespaces, ns)
	if nsName == "" {
		return "", "", nil
	}
	tables, err := s.engine.cat.Tables(ctx, nsName)
	if err != nil {
		if errors.Is(err, catalog.ErrNoSuchNamespace) {
			return "", "", nil
		}
		return "", "", err
	}
	return nsName, matchName(tables, name), nil
}

func matchName(names []string, want string) string {
	for _, n := range names {
		if n == want {
			return n
		}
	}
	for _, n := range names {
		if strings.EqualFold(n, want) {
			return n
		}
	}
	return ""
}

// searchPath returns the namespaces of search_path, "$user" expanded.
func (s *Session) searchPath() []string {
	var out []string
	for _, p := range strings.Split(s.settings.values["search_path"], ",") {
		p = strings.Trim(strings.TrimSpace(p), `"'`)
		if p == "$user" {
			p = s.user
		}
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (s *Session) currentSchema() string {
	if p := s.searchPath(); len(p) > 0 {
		return p[0]
	}
	return "public"
}

// resolve returns the relation for a table reference. This is the single
// point where a table name becomes data; the central policy's row filters
// and column rules apply here.
func (s *Session) resolve(ctx context.Context, ref tableRef) (relation, error) {
	if ref.system {
		return s.catalogRelation(ctx, ref)
	}
	if ref.virtual {
		return s.virtualRelation(ref)
	}
	tbl, err := s.engine.cat.Table(ctx, ref.namespace, ref.name)
	if err != nil {
		if errors.Is(err, catalog.ErrNoSuchTable) {
			return relation{}, sqlstate.New(sqlstate.UndefinedTable, "relation \"%s.%s\" does not exist", ref.namespace, ref.name)
		}
		return relation{}, err
	}
	scan, err := tbl.Plan(ctx)
	if err != nil {
		if errors.Is(err, catalog.ErrUnsupported) {
			return relation{}, sqlstate.Wrap(err, sqlstate.FeatureNotSupported,
				fmt.Sprintf("table %s.%s uses a feature floe cannot read yet", ref.namespace, ref.name))
		}
		return relation{}, err
	}
	sql, err := scanSQL(scan)
	if err != nil {
		return relation{}, err
	}
	d := s.engine.policy().Decide(s.request(authz.ActionSelect, ref.namespace, ref.name))
	rel, err := secure(relation{sql: sql, snapshot: scan.SnapshotID}, ref, scan.Schema, d)
	s.noteAccess(ref, scan.Schema, d, rel)
	return rel, err
}

// virtualRef finds the virtual table (Config.Virtual) schema.name; an
// unqualified name finds one in a namespace of search_path.
func (s *Session) virtualRef(schema, name string) (tableRef, bool) {
	if len(s.engine.cfg.Virtual) == 0 {
		return tableRef{}, false
	}
	nss := []string{schema}
	if schema == "" {
		nss = s.searchPath()
	}
	for _, ns := range nss {
		ns, name := strings.ToLower(ns), strings.ToLower(name)
		if _, ok := s.engine.cfg.Virtual[ns+"."+name]; ok {
			return tableRef{namespace: ns, name: name, virtual: true}, true
		}
	}
	return tableRef{}, false
}

// virtualRelation asks the policy, then renders the provider's rows as a
// VALUES relation. A row filter or column rule on a virtual table refuses
// it: floe does not apply data filters to computed rows.
func (s *Session) virtualRelation(ref tableRef) (relation, error) {
	d := s.engine.policy().Decide(s.request(authz.ActionSelect, ref.namespace, ref.name))
	if !d.Allowed || d.RowFilter != nil || !d.Columns.Unrestricted() {
		return relation{}, sqlstate.New(sqlstate.InsufficientPrivilege, "permission denied for table %s.%s", ref.namespace, ref.name)
	}
	names, types, rows := s.engine.cfg.Virtual[ref.namespace+"."+ref.name]()
	cols := make([]pgCol, len(names))
	for i := range names {
		cols[i] = pgCol{name: names[i], typ: types[i]}
	}
	return relation{sql: valuesSQL(cols, rows)}, nil
}

// regclass resolves 'name'::regclass to the table's oid.
func (s *Session) regclass(ctx context.Context, name string) (int64, error) {
	schema, rel, _ := strings.Cut(name, ".")
	if rel == "" {
		schema, rel = "", schema
	}
	ref, err := s.resolveName(ctx, strings.Trim(schema, `"`), strings.Trim(rel, `"`))
	if err != nil {
		return 0, err
	}
	return tableOID(ref.namespace, ref.name), nil
}
