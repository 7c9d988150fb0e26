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
		{`{"id": 1, "n": 5}`, `line 1: field "n": expected int, got long`},
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
	for _, a := range additions(root) {
		got = append(got, strings.Join(a.path, ".")+" "+normType(a.typ.String()))
	}
	want := []string{"s.z boolean", "l.element.w string", "b struct<c: optional list<double>>"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Fatalf("additions %q, want %q", got, want)
	}
}
