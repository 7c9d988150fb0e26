package gateway

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/floe-dev/floe/pgwire"

	"github.com/apache/iceberg-go"

	"github.com/floe-dev/floe/authz"
	"github.com/floe-dev/floe/catalog"
)

// FuzzRewrite feeds arbitrary statements to the analyser. Whatever it
// accepts must come out sealed: every table reference points at a CTE, and
// no table function other than the allowed ones appears outside the
// relations floe emitted.
func FuzzRewrite(f *testing.F) {
	for _, seed := range []string{
		"SELECT * FROM clinical.vitals",
		"WITH x AS (SELECT * FROM vitals) SELECT * FROM x JOIN clinical.vitals v ON true",
		"SELECT * FROM read_parquet('x')",
		"SELECT (SELECT max(id) FROM clinical.vitals) FROM generate_series(1,3) s",
		"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r) SELECT * FROM r",
		"SELECT * FROM (SELECT * FROM clinical.vitals) t, LATERAL unnest([1,2])",
		"SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = 'clinical.vitals'::regclass",
		"WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a",
		"SELECT * FROM vitals WHERE id IN (SELECT id FROM clinical.vitals EXCEPT SELECT 1)",
		"FROM clinical.vitals SELECT id",
		"SELECT current_setting('TimeZone'), version()",
	} {
		f.Add(seed)
	}
	ctx := context.Background()
	s := fuzzSession(f)

	f.Fuzz(func(t *testing.T, sql string) {
		r, err := s.rewriteQuery(ctx, sql, nil)
		if err != nil {
			return
		}
		out := r.sql
		tree, err := s.serialize(ctx, out)
		if err != nil {
			t.Fatalf("rewritten SQL does not parse: %v\n%s", err, out)
		}
		ctes := map[string]bool{}
		collectCTENames(tree, ctes)
		checkSealed(t, tree, ctes, false, out)
	})
}

// fuzzSession is an admin session over a catalog holding clinical.vitals.
func fuzzSession(f *testing.F) *Session {
	ctx := context.Background()
	dir := f.TempDir()
	cat, err := catalog.Open(ctx, catalog.Config{Dir: dir})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { cat.Close() })
	sc := iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64})
	if _, err := cat.CreateTable(ctx, "clinical", "vitals", sc, nil); err != nil {
		f.Fatal(err)
	}
	users, _ := authz.OpenDirectory(filepath.Join(dir, "users.json"))
	e := New(cat, users, Config{Threads: 1})
	if err := e.Start(ctx); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close() })
	s, err := e.NewSession(ctx, pgwire.StartupInfo{User: "admin", Database: "floe"})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	return s
}

// FuzzCopy: whatever COPY statement is accepted is a COPY ... TO STDOUT of
// a query that went through the analysis like any other (sealed).
func FuzzCopy(f *testing.F) {
	for _, seed := range []string{
		"COPY clinical.vitals TO STDOUT",
		"COPY (SELECT id FROM vitals) TO STDOUT WITH (FORMAT csv, HEADER, DELIMITER ';', NULL 'n/a')",
		"COPY \"clinical\".\"vitals\" (id) TO STDOUT CSV HEADER",
		"COPY vitals TO '/tmp/x'",
		"COPY (SELECT * FROM read_csv('/etc/passwd')) TO STDOUT",
		"COPY vitals (id; SELECT 1) TO STDOUT",
	} {
		f.Add(seed)
	}
	ctx := context.Background()
	s := fuzzSession(f)
	f.Fuzz(func(t *testing.T, sql string) {
		st, err := s.prepare(ctx, sql, nil)
		if err != nil {
			return
		}
		defer st.Close()
		c, ok := st.(*copyStatement)
		if !ok {
			return // not a COPY (the fuzzer rewrote the keyword): FuzzRewrite's ground
		}
		tree, err := s.serialize(ctx, c.rewritten)
		if err != nil {
			t.Fatalf("rewritten SQL does not parse: %v\n%s", err, c.rewritten)
		}
		ctes := map[string]bool{}
		collectCTENames(tree, ctes)
		checkSealed(t, tree, ctes, false, c.rewritten)
	})
}

func collectCTENames(n any, into map[string]bool) {
	switch v := n.(type) {
	case []any:
		for _, e := range v {
			collectCTENames(e, into)
		}
	case map[string]any:
		if cm, ok := v["cte_map"].(map[string]any); ok {
			entries, _ := cm["map"].([]any)
			for _, e := range entries {
				if k, _ := e.(map[string]any)["key"].(string); k != "" {
					into[strings.ToLower(k)] = true
				}
			}
		}
		for _, c := range v {
			collectCTENames(c, into)
		}
	}
}

func checkSealed(t *testing.T, n any, ctes map[string]bool, inFloeRelation bool, sql string) {
	switch v := n.(type) {
	case []any:
		for _, e := range v {
			checkSealed(t, e, ctes, inFloeRelation, sql)
		}
	case map[string]any:
		typ, _ := v["type"].(string)
		class, _ := v["class"].(string)
		if typ == "BASE_TABLE" && class == "" && !inFloeRelation {
			schema, _ := v["schema_name"].(string)
			name, _ := v["table_name"].(string)
			if schema != "" || !ctes[strings.ToLower(name)] {
				t.Fatalf("table reference %s.%s is not a CTE reference:\n%s", schema, name, sql)
			}
		}
		if typ == "TABLE_FUNCTION" && class == "" && !inFloeRelation {
			fn, _ := v["function"].(map[string]any)
			name, _ := fn["function_name"].(string)
			if !allowedTableFunctions[strings.ToLower(name)] {
				t.Fatalf("table function %s escaped:\n%s", name, sql)
			}
		}
		if cm, ok := v["cte_map"].(map[string]any); ok {
			entries, _ := cm["map"].([]any)
			for _, e := range entries {
				em, _ := e.(map[string]any)
				k, _ := em["key"].(string)
				checkSealed(t, em["value"], ctes, inFloeRelation || strings.HasPrefix(k, "__floe_r"), sql)
			}
		}
		for k, c := range v {
			if k != "cte_map" {
				checkSealed(t, c, ctes, inFloeRelation, sql)
			}
		}
	}
}
