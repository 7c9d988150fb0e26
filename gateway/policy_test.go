package gateway_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/floe-dev/floe/sqlstate"
)

var subjectsPolicy = map[string]string{
	"principals.json": `{
  "users": {
    "alice": {"roles": ["investigator"], "tags": {"site": "S001"}},
    "stan":  {"roles": ["statistician"]},
    "eve":   {}
  },
  "roles": {
    "investigator": {"policies": ["site-rows"]},
    "statistician": {"policies": ["blinded"]}
  }
}`,
	"policies/site-rows.json": `{"Version": "2012-10-17", "Statement": [{"Sid": "OwnSite", "Effect": "Allow",
  "Action": "floe:Select", "Resource": "arn:floe:datafilter/clinical/subjects/own_site"}]}`,
	"policies/blinded.json": `{"Version": "2012-10-17", "Statement": [{"Sid": "Blinded", "Effect": "Allow",
  "Action": "floe:Select", "Resource": "arn:floe:datafilter/clinical/subjects/blinded"}]}`,
	"filters/subjects.json": `{"filters": [
  {"name": "own_site", "namespace": "clinical", "table": "subjects",
   "row_filter": {"column": "site_id", "op": "=", "value": "${floe:PrincipalTag/site}"},
   "columns": {"exclude": ["ssn"]}},
  {"name": "blinded", "namespace": "clinical", "table": "subjects",
   "columns": {"exclude": ["ssn"], "masks": {"subject_id": {"type": "hash", "salt": "pepper"}}}}
]}`,
}

type subject struct {
	id, site, ssn string
	age           int64
}

// mustSubjectRows creates clinical.subjects holding rows.
func mustSubjectRows(tb testing.TB, e *env, rows []subject) {
	tb.Helper()
	ctx := context.Background()
	sc := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "subject_id", Type: iceberg.PrimitiveTypes.String},
		iceberg.NestedField{ID: 2, Name: "site_id", Type: iceberg.PrimitiveTypes.String},
		iceberg.NestedField{ID: 3, Name: "ssn", Type: iceberg.PrimitiveTypes.String},
		iceberg.NestedField{ID: 4, Name: "age", Type: iceberg.PrimitiveTypes.Int64},
	)
	t, err := e.cat.CreateTable(ctx, "clinical", "subjects", sc, nil)
	if err != nil {
		tb.Fatal(err)
	}
	asc, _ := table.SchemaToArrowSchema(sc, nil, true, false)
	b := array.NewRecordBuilder(memory.DefaultAllocator, asc)
	for _, r := range rows {
		b.Field(0).(*array.StringBuilder).Append(r.id)
		b.Field(1).(*array.StringBuilder).Append(r.site)
		b.Field(2).(*array.StringBuilder).Append(r.ssn)
		b.Field(3).(*array.Int64Builder).Append(r.age)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	e.mustAppendRecord(tb, t, rec)
}

// mustSubjects creates clinical.subjects: the S001 rows have numeric
// subject ids, the hidden S002 rows carry secrets that a cast would quote
// in its error message.
func mustSubjects(tb testing.TB, e *env) {
	tb.Helper()
	mustSubjectRows(tb, e, []subject{{"101", "S001", "111-11-1111", 40}, {"102", "S001", "222-22-2222", 50},
		{"secret-A", "S002", "333-33-3333", 60}, {"secret-B", "S002", "444-44-4444", 70}})
}

func TestRowFilterAndExcludedColumns(t *testing.T) {
	e := MustEnvWithPolicy(t, subjectsPolicy)
	mustSubjects(t, e)
	alice := e.MustSessionAs(t, "alice")

	names, rows := MustQuery(t, alice, "SELECT * FROM clinical.subjects ORDER BY subject_id")
	if !reflect.DeepEqual(names, []string{"subject_id", "site_id", "age"}) {
		t.Fatalf("SELECT * columns %v: ssn must not exist for alice", names)
	}
	if !reflect.DeepEqual(rows, [][]any{{"101", "S001", int64(40)}, {"102", "S001", int64(50)}}) {
		t.Fatalf("rows %v", rows)
	}
	_, rows = MustQuery(t, alice, "SELECT count(*), sum(age) FROM subjects")
	if rows[0][0] != int64(2) {
		t.Fatalf("count %v: hidden rows counted", rows[0][0])
	}
	err := MustFail(t, alice, "SELECT ssn FROM clinical.subjects", sqlstate.InsufficientPrivilege)
	if !strings.Contains(err.Message, "ssn") {
		t.Fatalf("denial %q does not name the column", err.Message)
	}
	// The catalog shows alice the table without ssn.
	_, rows = MustQuery(t, alice, "SELECT column_name FROM information_schema.columns WHERE table_name = 'subjects' ORDER BY ordinal_position")
	if !reflect.DeepEqual(rows, [][]any{{"subject_id"}, {"site_id"}, {"age"}}) {
		t.Fatalf("information_schema.columns for alice: %v", rows)
	}
}

// mustManySubjects fills clinical.subjects with n rows, half visible to
// alice (S001, numeric ids), half hidden (S002, "secret-N" ids that a cast
// would quote in its error); ids repeat so Parquet dictionary-encodes them.
func mustManySubjects(tb testing.TB, e *env, n int) {
	tb.Helper()
	rows := make([]subject, n)
	for i := range rows {
		rows[i] = subject{id: fmt.Sprintf("secret-%d", i%50), site: "S002", ssn: "000-00-0000", age: int64(i % 90)}
		if i%2 == 0 {
			rows[i].id, rows[i].site = fmt.Sprint(i%100), "S001"
		}
	}
	mustSubjectRows(tb, e, rows)
}

// The probes of SECURITY.md that leak through a naive rewrite: a lambda, a
// cast inside a nested type, a dictionary-executed function must never run
// on hidden rows, so none of these may fail (the error would quote a
// hidden "secret-N"). Without the MATERIALIZED fence the list_filter and
// INTEGER[] probes fail here (checked when this test was written), so a
// DuckDB upgrade that breaks the fence fails CI.
func TestFenceStopsErrorOracles(t *testing.T) {
	e := MustEnvWithPolicy(t, subjectsPolicy)
	mustManySubjects(t, e, 400_000)
	alice := e.MustSessionAs(t, "alice")
	for _, q := range []string{
		"SELECT count(*) FROM clinical.subjects WHERE ([subject_id]::INTEGER[])[1] > 0",
		"SELECT count(*) FROM clinical.subjects WHERE len(list_filter([subject_id], x -> x::INTEGER > 0)) > 0",
		"SELECT max(([subject_id]::INTEGER[])[1]) FROM clinical.subjects",
		"SELECT count(*) FROM clinical.subjects GROUP BY ([subject_id]::INTEGER[])[1]",
		"SELECT count(*) FROM clinical.subjects WHERE CAST(subject_id AS INTEGER) > 0",
		"SELECT count(*) FROM clinical.subjects WHERE site_id = 'S001' AND CAST(subject_id AS INTEGER) > 0",
		"SELECT list_filter([subject_id], x -> x::INTEGER > 0) FROM clinical.subjects",
		"SELECT ([subject_id]::INTEGER[])[1] FROM clinical.subjects",
		"SELECT max(CAST(subject_id AS INTEGER)) FROM clinical.subjects",
		"SELECT subject_id FROM clinical.subjects ORDER BY CAST(subject_id AS INTEGER)",
		"SELECT count(*) FROM clinical.subjects s WHERE EXISTS (SELECT 1 FROM clinical.subjects t WHERE CAST(t.subject_id AS INTEGER) = 101)",
	} {
		_, _, err := query(alice, q)
		if err != nil {
			t.Errorf("%s: %v — the expression ran on a hidden row", q, err)
		}
	}
	_, rows := MustQuery(t, alice, "SELECT count(*) FROM clinical.subjects")
	if rows[0][0] != int64(200_000) {
		t.Fatalf("alice counts %v rows, want 200000", rows[0][0])
	}
}

func TestMaskedColumn(t *testing.T) {
	e := MustEnvWithPolicy(t, subjectsPolicy)
	mustSubjects(t, e)
	stan := e.MustSessionAs(t, "stan")
	_, rows := MustQuery(t, stan, "SELECT subject_id FROM clinical.subjects WHERE age = 40")
	sum := sha256.Sum256([]byte("pepper" + "101"))
	if want := hex.EncodeToString(sum[:]); len(rows) != 1 || rows[0][0] != want {
		t.Fatalf("masked subject_id %v, want %s", rows, want)
	}
	// A predicate on the masked column sees the mask, not the value.
	_, rows = MustQuery(t, stan, "SELECT count(*) FROM clinical.subjects WHERE subject_id = '101'")
	if rows[0][0] != int64(0) {
		t.Fatalf("predicate on a masked column matched the raw value")
	}
}

func TestDeniedTableAndCatalog(t *testing.T) {
	e := MustEnvWithPolicy(t, subjectsPolicy)
	mustSubjects(t, e)
	eve := e.MustSessionAs(t, "eve")
	err := MustFail(t, eve, "SELECT count(*) FROM clinical.subjects", sqlstate.InsufficientPrivilege)
	if !strings.Contains(err.Message, "clinical.subjects") {
		t.Fatalf("denial %q does not name the table", err.Message)
	}
	_, rows := MustQuery(t, eve, "SELECT table_name FROM information_schema.tables")
	if len(rows) != 0 {
		t.Fatalf("eve sees tables %v", rows)
	}
	_, rows = MustQuery(t, eve, "SELECT nspname FROM pg_catalog.pg_namespace")
	var names []string
	for _, r := range rows {
		names = append(names, r[0].(string))
	}
	if slices.Contains(names, "clinical") {
		t.Fatalf("eve sees namespace clinical: %v", names)
	}
	// The bootstrap admin still sees everything.
	admin := e.MustSession(t)
	_, rows = MustQuery(t, admin, "SELECT count(*), count(ssn) FROM clinical.subjects")
	if rows[0][0] != int64(4) || rows[0][1] != int64(4) {
		t.Fatalf("admin reads %v", rows)
	}
}

// Client predicates copied into the fence (pushdown.go) must not change
// results, also when the table is referenced twice with different
// predicates, and must never copy an expression that could run on hidden
// rows.
func TestFencePushdownKeepsResults(t *testing.T) {
	e := MustEnvWithPolicy(t, subjectsPolicy)
	const n = 20_000
	mustManySubjects(t, e, n)
	alice := e.MustSessionAs(t, "alice")
	// Expected counts from the generator: even i are alice's (S001) rows,
	// with age i%90 and subject_id i%100.
	count := func(keep func(age int64, id string) bool) int64 {
		var c int64
		for i := 0; i < n; i += 2 {
			if keep(int64(i%90), fmt.Sprint(i%100)) {
				c++
			}
		}
		return c
	}
	for q, want := range map[string]int64{
		"SELECT count(*) FROM clinical.subjects WHERE age = 42":                  count(func(a int64, _ string) bool { return a == 42 }),
		"SELECT count(*) FROM clinical.subjects WHERE 42 < age":                  count(func(a int64, _ string) bool { return a > 42 }),
		"SELECT count(*) FROM clinical.subjects s WHERE s.age BETWEEN 10 AND 12": count(func(a int64, _ string) bool { return a >= 10 && a <= 12 }),
		"SELECT count(*) FROM clinical.subjects WHERE age IN (2, 4) AND subject_id = '2'": count(func(a int64, id string) bool {
			return (a == 2 || a == 4) && id == "2"
		}),
		"SELECT count(*) FROM clinical.subjects WHERE age = 42 OR age = 44": count(func(a int64, _ string) bool { return a == 42 || a == 44 }),
		"SELECT count(*) FROM clinical.subjects WHERE age = 4.5":            0,
		"SELECT (SELECT count(*) FROM clinical.subjects WHERE age = 2) + (SELECT count(*) FROM clinical.subjects WHERE age = 4)": count(func(a int64, _ string) bool {
			return a == 2 || a == 4
		}),
	} {
		_, rows := MustQuery(t, alice, q)
		if rows[0][0] != want {
			t.Errorf("%s = %v, want %d", q, rows[0][0], want)
		}
	}
}

// Fences select only the columns a statement can name (prune.go). Every
// construct that may use more — stars, whole rows as structs, positional
// references, NATURAL joins, column alias lists — must still see every
// visible column, and row counts must not change when no column is named.
func TestFencePruningKeepsResults(t *testing.T) {
	e := MustEnvWithPolicy(t, subjectsPolicy)
	mustSubjects(t, e)
	alice := e.MustSessionAs(t, "alice")
	for q, want := range map[string][][]any{
		"SELECT count(*) FROM clinical.subjects":                                                                   {{int64(2)}},
		"SELECT count(*) FROM clinical.subjects a, clinical.subjects b":                                            {{int64(4)}},
		"SELECT to_json(s)::VARCHAR FROM clinical.subjects s ORDER BY 1":                                           {{`{"subject_id":"101","site_id":"S001","age":40}`}, {`{"subject_id":"102","site_id":"S001","age":50}`}},
		"SELECT to_json(subjects)::VARCHAR FROM clinical.subjects ORDER BY 1":                                      {{`{"subject_id":"101","site_id":"S001","age":40}`}, {`{"subject_id":"102","site_id":"S001","age":50}`}},
		"SELECT count(*) FROM clinical.subjects a NATURAL JOIN clinical.subjects b":                                {{int64(2)}},
		"SELECT count(*) FROM clinical.subjects a JOIN clinical.subjects b USING (subject_id)":                     {{int64(2)}},
		"SELECT x, y, z FROM clinical.subjects AS t(x, y, z) ORDER BY x":                                           {{"101", "S001", int64(40)}, {"102", "S001", int64(50)}},
		"SELECT #3 FROM clinical.subjects ORDER BY 1":                                                              {{int64(40)}, {int64(50)}},
		"SELECT COLUMNS('a.*') FROM clinical.subjects ORDER BY 1":                                                  {{int64(40)}, {int64(50)}},
		"SELECT * EXCLUDE (subject_id) FROM clinical.subjects ORDER BY age":                                        {{"S001", int64(40)}, {"S001", int64(50)}},
		"FROM clinical.subjects SELECT age ORDER BY age":                                                           {{int64(40)}, {int64(50)}},
		"SELECT * FROM (SELECT * FROM clinical.subjects) s ORDER BY age":                                           {{"101", "S001", int64(40)}, {"102", "S001", int64(50)}},
		"SELECT age FROM clinical.subjects o WHERE EXISTS (SELECT 1 FROM clinical.subjects i WHERE i.age > o.age)": {{int64(40)}},
	} {
		_, rows := MustQuery(t, alice, q)
		if !reflect.DeepEqual(rows, want) {
			t.Errorf("%s\n got %v\nwant %v", q, rows, want)
		}
	}
	// A fence pruned to no column selects a placeholder; a misspelt
	// column's error must not offer it as a candidate.
	if e := MustFail(t, alice, "SELECT agee FROM clinical.subjects", "42703"); strings.Contains(e.Message, "__floe") {
		t.Errorf("error names floe's placeholder column: %s", e.Message)
	}
}
