package gateway

import (
	"fmt"
	"sort"
	"strings"

	"github.com/apache/iceberg-go"

	"github.com/floe-dev/floe/catalog"
	"github.com/floe-dev/floe/sqlstate"
)

// scanSQL builds the query that reads exactly one snapshot: its data files,
// columns matched by Iceberg field id once the schema has evolved (so
// renamed, added and promoted columns read right and files without a column
// read NULL; before that, by name, which is faster), minus the rows its
// position and equality delete files remove.
func scanSQL(scan *catalog.Scan) (string, error) {
	cols := scan.Schema.Fields()
	var sel strings.Builder
	for i, f := range cols {
		if i > 0 {
			sel.WriteString(", ")
		}
		sel.WriteString("d." + quoteIdent(f.Name))
	}
	if len(scan.Files) == 0 {
		return emptyRelationSQL(cols)
	}
	fieldMap, err := fieldIDMap(cols)
	if err != nil {
		return "", err
	}

	// Files are grouped by their equality delete files: each group is
	// anti-joined with the deletes that apply to it (iceberg-go attaches
	// only deletes with a higher sequence number in the same partition).
	type group struct {
		files   []string
		eqDels  []catalog.EqualityDelete
		anyPos  bool
		posDels map[string]bool
	}
	groups := map[string]*group{}
	var keys []string
	for _, f := range scan.Files {
		k := eqDeleteKey(f.EqualityDeletes)
		g, ok := groups[k]
		if !ok {
			g = &group{eqDels: f.EqualityDeletes, posDels: map[string]bool{}}
			groups[k] = g
			keys = append(keys, k)
		}
		g.files = append(g.files, f.Path)
		for _, p := range f.PositionDeletes {
			g.posDels[p] = true
			g.anyPos = true
		}
	}
	sort.Strings(keys)

	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		g := groups[k]
		var b strings.Builder
		fmt.Fprintf(&b, "SELECT %s FROM read_parquet(%s, hive_partitioning=false", sel.String(), pathList(g.files))
		if scan.SchemaEvolved {
			b.WriteString(", schema=" + fieldMap)
		}
		if g.anyPos {
			b.WriteString(", filename='__floe_file', file_row_number=true")
		}
		b.WriteString(") AS d")
		var conds []string
		if g.anyPos {
			dels := make([]string, 0, len(g.posDels))
			for p := range g.posDels {
				dels = append(dels, p)
			}
			sort.Strings(dels)
			// Position delete files name data files by their full location.
			conds = append(conds, fmt.Sprintf(
				"NOT EXISTS (SELECT 1 FROM read_parquet(%s, hive_partitioning=false) AS p "+
					"WHERE p.pos = d.file_row_number AND (p.file_path = d.__floe_file OR p.file_path = 'file://' || d.__floe_file))",
				pathList(dels)))
		}
		for _, eq := range g.eqDels {
			cond, err := eqDeleteCondition(scan.Schema, eq)
			if err != nil {
				return "", err
			}
			conds = append(conds, cond)
		}
		if len(conds) > 0 {
			b.WriteString(" WHERE " + strings.Join(conds, " AND "))
		}
		parts = append(parts, b.String())
	}
	return strings.Join(parts, " UNION ALL "), nil
}

func eqDeleteKey(dels []catalog.EqualityDelete) string {
	keys := make([]string, len(dels))
	for i, d := range dels {
		keys[i] = d.Path
	}
	sort.Strings(keys)
	return strings.Join(keys, "\x00")
}

// eqDeleteCondition removes the rows matching any row of an equality delete
// file on its equality fields (NULL matches NULL).
func eqDeleteCondition(sc *iceberg.Schema, eq catalog.EqualityDelete) (string, error) {
	var fields []iceberg.NestedField
	var match []string
	for _, id := range eq.FieldIDs {
		f, ok := sc.FindFieldByID(id)
		if !ok {
			return "", sqlstate.New(sqlstate.FeatureNotSupported, "equality delete on a dropped column is not supported")
		}
		fields = append(fields, f)
		match = append(match, fmt.Sprintf("e.%s IS NOT DISTINCT FROM d.%s", quoteIdent(f.Name), quoteIdent(f.Name)))
	}
	fm, err := fieldIDMap(fields)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("NOT EXISTS (SELECT 1 FROM read_parquet(%s, hive_partitioning=false, schema=%s) AS e WHERE %s)",
		pathList([]string{eq.Path}), fm, strings.Join(match, " AND ")), nil
}

func emptyRelationSQL(cols []iceberg.NestedField) (string, error) {
	if len(cols) == 0 {
		return "SELECT 1 WHERE false", nil
	}
	parts := make([]string, len(cols))
	for i, f := range cols {
		t, err := duckType(f.Type)
		if err != nil {
			return "", err
		}
		parts[i] = fmt.Sprintf("CAST(NULL AS %s) AS %s", t, quoteIdent(f.Name))
	}
	return "SELECT " + strings.Join(parts, ", ") + " WHERE false", nil
}

// fieldIDMap is read_parquet's schema argument: field id → name and type.
func fieldIDMap(fields []iceberg.NestedField) (string, error) {
	var b strings.Builder
	b.WriteString("MAP{")
	for i, f := range fields {
		t, err := duckType(f.Type)
		if err != nil {
			return "", err
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d: {name: %s, type: %s, default_value: NULL}", f.ID, quoteString(f.Name), quoteString(t))
	}
	b.WriteString("}")
	return b.String(), nil
}

func pathList(paths []string) string {
	q := make([]string, len(paths))
	for i, p := range paths {
		q[i] = quoteString(p)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// duckType is the DuckDB type for an Iceberg type.
func duckType(t iceberg.Type) (string, error) {
	switch t := t.(type) {
	case iceberg.BooleanType:
		return "BOOLEAN", nil
	case iceberg.Int32Type:
		return "INTEGER", nil
	case iceberg.Int64Type:
		return "BIGINT", nil
	case iceberg.Float32Type:
		return "FLOAT", nil
	case iceberg.Float64Type:
		return "DOUBLE", nil
	case iceberg.DecimalType:
		return fmt.Sprintf("DECIMAL(%d,%d)", t.Precision(), t.Scale()), nil
	case iceberg.StringType:
		return "VARCHAR", nil
	case iceberg.BinaryType, iceberg.FixedType:
		return "BLOB", nil
	case iceberg.DateType:
		return "DATE", nil
	case iceberg.TimeType:
		return "TIME", nil
	case iceberg.TimestampType:
		return "TIMESTAMP", nil
	case iceberg.TimestampTzType:
		return "TIMESTAMPTZ", nil
	case iceberg.TimestampNsType:
		return "TIMESTAMP_NS", nil
	case iceberg.TimestampTzNsType:
		return "TIMESTAMPTZ", nil
	case iceberg.UUIDType:
		return "UUID", nil
	case *iceberg.ListType:
		e, err := duckType(t.Element)
		if err != nil {
			return "", err
		}
		return e + "[]", nil
	case *iceberg.MapType:
		k, err := duckType(t.KeyType)
		if err != nil {
			return "", err
		}
		v, err := duckType(t.ValueType)
		if err != nil {
			return "", err
		}
		return "MAP(" + k + ", " + v + ")", nil
	case *iceberg.StructType:
		parts := make([]string, len(t.FieldList))
		for i, f := range t.FieldList {
			ft, err := duckType(f.Type)
			if err != nil {
				return "", err
			}
			parts[i] = quoteIdent(f.Name) + " " + ft
		}
		return "STRUCT(" + strings.Join(parts, ", ") + ")", nil
	}
	return "", sqlstate.New(sqlstate.FeatureNotSupported, "Iceberg type %s is not supported yet", t)
}
