package ingest

import (
	"strings"
	"testing"

	"github.com/apache/iceberg-go"
)

func mustShape(t *testing.T, body string) *obs {
	t.Helper()
	p, err := parseBody(body)
	if err != nil {
		t.Fatal(err)
	}
	return p.shape
}

// Tables written by other engines may have required columns and types floe
// does not infer.
func TestMergeForeignSchema(t *testing.T) {
	sc := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "n", Type: iceberg.PrimitiveTypes.Int32},
		iceberg.NestedField{ID: 3, Name: "s", Type: &iceberg.StructType{FieldList: []iceberg.NestedField{
			{ID: 4, Name: "r", Type: iceberg.PrimitiveTypes.String, Required: true},
		}}},
		iceberg.NestedField{ID: 5, Name: "l", Type: &iceberg.ListType{ElementID: 6, Element: iceberg.PrimitiveTypes.Int64, ElementRequired: true}},
	)
	cases := []struct{ body, want string }{
		{`{"id": 1}`, ""},
		{`{"id": 1, "n": null, "s": null, "l": [1]}`, ""},
		{`{"n": null}`, `line 1: field "id": required field is missing`},
		{`{"id": 1}` + "\n" + `{"id": null}`, `line 2: field "id": required field is null`},
		{`{"id": 1}` + "\n" + `{"x": 1}` + "\n" + `{"id": 3}`, `line 2: field "id": required field is missing`},
		{`{"x": 1}` + "\n" + `{"id": 3}`, `line 1: field "id": required field is missing`},
		{`{"id": 1, "n": 5}`, ""},
		{`{"id": 1, "n": 1.5}`, `line 1: field "n": expected int, got double`},
		{`{"id": 1, "n": "5"}`, `line 1: field "n": expected int, got string`},
		{`{"id": 1, "s": {}}`, `line 1: field "s.r": required field is missing`},
		{`{"id": 1, "s": {"r": "x", "new": 1}}`, ""},
		{`{"id": 1, "l": [1, null]}`, `line 1: field "l[]": required element is null`},
	}
	for _, c := range cases {
		root := schemaNode(sc)
		err := merge(root, mustShape(t, c.body))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("%q: %q, want %q", c.body, got, c.want)
		}
	}
}

func TestAdditions(t *testing.T) {
	sc := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "a", Type: iceberg.PrimitiveTypes.Int64},
		iceberg.NestedField{ID: 2, Name: "s", Type: &iceberg.StructType{FieldList: []iceberg.NestedField{
			{ID: 3, Name: "x", Type: iceberg.PrimitiveTypes.Int64},
		}}},
		iceberg.NestedField{ID: 4, Name: "l", Type: &iceberg.ListType{ElementID: 5, Element: &iceberg.StructType{FieldList: []iceberg.NestedField{
			{ID: 6, Name: "y", Type: iceberg.PrimitiveTypes.Int64},
		}}}},
	)
	root := schemaNode(sc)
	if err := merge(root, mustShape(t, `{"s": {"x": 1, "z": true}, "b": {"c": [1.5]}, "l": [{"y": 1, "w": "v"}], "e": {}}`)); err != nil {
		t.Fatal(err)
	}
	var got []string
	adds, _ := additions(root)
	for _, a := range adds {
		got = append(got, strings.Join(a.path, ".")+" "+normType(a.typ.String()))
	}
	want := []string{"s.z boolean", "l.element.w string", "b struct<c: optional list<double>>"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Fatalf("additions %q, want %q", got, want)
	}
}

// An int or float column takes the values it holds exactly; a value it
// cannot hold promotes it to long or double (Iceberg's type promotions), or
// with schema evolution off is an error naming the line.
func TestMergePromotes(t *testing.T) {
	sc := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "n", Type: iceberg.PrimitiveTypes.Int32},
		iceberg.NestedField{ID: 2, Name: "f", Type: iceberg.PrimitiveTypes.Float32},
		iceberg.NestedField{ID: 3, Name: "l", Type: &iceberg.ListType{ElementID: 4, Element: iceberg.PrimitiveTypes.Int32}},
		iceberg.NestedField{ID: 5, Name: "s", Type: &iceberg.StructType{FieldList: []iceberg.NestedField{
			{ID: 6, Name: "m", Type: iceberg.PrimitiveTypes.Float32},
		}}},
	)
	cases := []struct{ body, promoted, fixedErr string }{
		{`{"n": 2147483647, "f": 1.5, "l": [-2147483648], "s": {"m": 16777216}}`, "", ""},
		{`{"n": 1}` + "\n" + `{"n": 2147483648}`, "n long",
			`line 2: field "n": value does not fit int, and schema evolution is off (it would promote the column to long)`},
		{`{"f": 0.25}` + "\n" + `{"f": 36.6}`, "f double",
			`line 2: field "f": value does not fit float, and schema evolution is off (it would promote the column to double)`},
		{`{"f": 16777217}`, "f double", `line 1: field "f": value does not fit float, and schema evolution is off (it would promote the column to double)`},
		{`{"l": [1, -3000000000]}`, "l.element long", `line 1: field "l[]": value does not fit int, and schema evolution is off (it would promote the column to long)`},
		{`{"s": {"m": 0.1}}`, "s.m double", `line 1: field "s.m": value does not fit float, and schema evolution is off (it would promote the column to double)`},
	}
	for _, c := range cases {
		root := schemaNode(sc)
		if err := merge(root, mustShape(t, c.body)); err != nil {
			t.Errorf("%q: %v", c.body, err)
			continue
		}
		adds, proms := additions(root)
		var got []string
		for _, p := range proms {
			got = append(got, strings.Join(p.path, ".")+" "+p.typ.String())
		}
		if len(adds) != 0 || strings.Join(got, "; ") != c.promoted {
			t.Errorf("%q: added %v, promoted %q, want %q", c.body, adds, got, c.promoted)
		}
		got2 := ""
		if err := mergeFixed(schemaNode(sc), mustShape(t, c.body)); err != nil {
			got2 = err.Error()
		}
		if got2 != c.fixedErr {
			t.Errorf("%q with schema evolution off: %q, want %q", c.body, got2, c.fixedErr)
		}
	}
}

// With schema evolution off, a field the table lacks is an error unless it
// carries nothing (null, {}, [] or nests of them).
func TestMergeFixedRefusesNewFields(t *testing.T) {
	sc := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64},
		iceberg.NestedField{ID: 2, Name: "s", Type: &iceberg.StructType{FieldList: []iceberg.NestedField{
			{ID: 3, Name: "x", Type: iceberg.PrimitiveTypes.Int64},
		}}},
	)
	cases := []struct{ body, want string }{
		{`{"id": 1, "s": {"x": 2}}`, ""},
		{`{"id": 1, "gone": null, "e": {}, "a": [], "n": {"m": [null]}}`, ""},
		{`{"id": 1}` + "\n" + `{"id": 2, "new": "v"}`, `line 2: field "new": the table has no such column and schema evolution is off`},
		{`{"id": 1, "s": {"x": 2, "y": true}}`, `line 1: field "s.y": the table has no such column and schema evolution is off`},
		{`{"id": 1, "n": {"m": [{"k": 1}]}}`, `line 1: field "n": the table has no such column and schema evolution is off`},
		{`{"id": "one"}`, `line 1: field "id": expected long, got string`},
	}
	for _, c := range cases {
		root := schemaNode(sc)
		got := ""
		if err := mergeFixed(root, mustShape(t, c.body)); err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("%q: %q, want %q", c.body, got, c.want)
		}
		if adds, proms := additions(root); len(adds)+len(proms) != 0 {
			t.Errorf("%q: schema evolution off changed the schema: %v %v", c.body, adds, proms)
		}
	}
}
