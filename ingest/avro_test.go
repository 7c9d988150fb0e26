package ingest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/hamba/avro/v2"
)

const testRecord = `{"type": "record", "name": "R", "fields": [
  {"name": "id", "type": "long"},
  {"name": "name", "type": "string"},
  {"name": "kind", "type": {"type": "enum", "name": "K", "symbols": ["A", "B"]}},
  {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 2}}
]}`

func TestConfluentFrame(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		id   int
		want string
	}{
		{[]byte{0, 0, 0, 1, 2, 9}, 258, ""},
		{[]byte{0, 0, 0}, 0, "value of 3 bytes is too short"},
		{[]byte(`{"id":1}`), 0, "magic byte is 0x7b, not 0"},
	} {
		id, _, why := confluentFrame(c.in)
		if id != c.id || (c.want == "") != (why == "") || !strings.Contains(why, c.want) {
			t.Errorf("confluentFrame(%v) = %d, %q; want %d, %q", c.in, id, why, c.id, c.want)
		}
	}
}

// TestAvroCheck: each way a payload can be wrong gets its own reason.
func TestAvroCheck(t *testing.T) {
	sc := avro.MustParse(testRecord).(*avro.RecordSchema)
	good, err := avro.Marshal(sc, map[string]any{"id": int64(7), "name": "x", "kind": "B", "amount": []byte{0x03, 0xe8}}) // 10.00
	if err != nil {
		t.Fatal(err)
	}
	w := newAvroWalker(1 << 20)
	if err := w.check(sc, good); err != nil {
		t.Fatalf("a good value: %v", err)
	}
	// zigzag: id 7 = 0x0e; name "x" = 0x02 'x'; kind index; amount bytes.
	for _, c := range []struct {
		name    string
		payload []byte
		want    string
	}{
		{"truncated", good[:len(good)-1], "truncated Avro value"},
		{"trailing bytes", append(append([]byte{}, good...), 0), "unexpected data after the Avro value"},
		{"invalid UTF-8", []byte{0x0e, 0x02, 0xff, 0x02, 0x02, 0x03, 0xe8}, `field "name": string is not valid UTF-8`},
		{"enum out of range", []byte{0x0e, 0x02, 'x', 0x04, 0x02, 0x03, 0xe8}, `field "kind": enum index 2 out of range`},
		{"decimal over its precision", []byte{0x0e, 0x02, 'x', 0x02, 0x06, 0x01, 0x86, 0xa0}, `field "amount": decimal 100000 has more than 4 digits`},
		{"huge string length", []byte{0x0e, 0xfe, 0xff, 0xff, 0xff, 0x0f}, `field "name"`},
	} {
		err := newAvroWalker(1<<20).check(sc, c.payload)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
}

func TestAvroTypeMapping(t *testing.T) {
	for _, c := range []struct{ schema, want string }{
		{`{"type": "record", "name": "L", "fields": [{"name": "next", "type": ["null", "L"]}]}`, "record L contains itself"},
		{`{"type": "record", "name": "U", "fields": [{"name": "u", "type": ["string", "long"]}]}`, `field "u": union of string, long`},
		{`{"type": "record", "name": "D", "fields": [{"name": "d", "type": {"type": "bytes", "logicalType": "decimal", "precision": 40, "scale": 2}}]}`, "decimal(40,2) has no Iceberg mapping"},
	} {
		ws := &writerSchema{id: 3}
		ws.init(avro.MustParse(c.schema))
		if !strings.Contains(ws.unusable, c.want) {
			t.Errorf("%s: unusable = %q, want %q", c.schema, ws.unusable, c.want)
		}
	}
	ws := &writerSchema{id: 4}
	ws.init(avro.MustParse(`{"type": "record", "name": "T", "fields": [
	  {"name": "a", "type": ["null", "int"]}, {"name": "n", "type": "null"},
	  {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-micros"}},
	  {"name": "m", "type": {"type": "map", "values": "double"}}]}`))
	if ws.unusable != "" {
		t.Fatal(ws.unusable)
	}
	got := ws.typ.String()
	want := "struct<0: a: optional int, 0: ts: optional timestamptz, 0: m: optional map<string, double>>"
	if got != want {
		t.Errorf("mapped type = %s, want %s", got, want)
	}
}

func st(fields ...iceberg.NestedField) *iceberg.StructType {
	return &iceberg.StructType{FieldList: fields}
}

func TestEvolveStruct(t *testing.T) {
	table := st(
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int32},
		iceberg.NestedField{ID: 2, Name: "x", Type: iceberg.PrimitiveTypes.Float64},
		iceberg.NestedField{ID: 3, Name: "s", Type: iceberg.PrimitiveTypes.String},
	)
	writer := st(
		iceberg.NestedField{Name: "id", Type: iceberg.PrimitiveTypes.Int64},
		iceberg.NestedField{Name: "x", Type: iceberg.PrimitiveTypes.Float32},
		iceberg.NestedField{Name: "new", Type: iceberg.PrimitiveTypes.Date, Required: true},
	)
	work := cloneType(table).(*iceberg.StructType)
	if err := evolveStruct(work, writer, ""); err != nil {
		t.Fatal(err)
	}
	var changes []schemaChange
	diffStruct(table, work, nil, &changes)
	if len(changes) != 2 || changes[0].add || changes[0].typ.String() != "long" || !changes[1].add || changes[1].path[0] != "new" {
		t.Errorf("changes = %+v; want id widened to long, new added", changes)
	}
	if work.FieldList[3].Required {
		t.Errorf("an added column is required")
	}
	if table.FieldList[0].Type.String() != "int" {
		t.Errorf("the table's struct was changed")
	}
	for _, c := range []struct {
		w    *iceberg.StructType
		want string
	}{
		{st(iceberg.NestedField{Name: "s", Type: iceberg.PrimitiveTypes.Int64}), `field "s": the column is string, the schema has long`},
		{st(iceberg.NestedField{Name: "S", Type: iceberg.PrimitiveTypes.String}), `field "S" differs only in case from column "s"`},
		{st(iceberg.NestedField{Name: "x", Type: iceberg.PrimitiveTypes.Int64}), `field "x": the column is double, the schema has long`},
	} {
		err := evolveStruct(cloneType(table).(*iceberg.StructType), c.w, "")
		if err == nil || err.Error() != c.want {
			t.Errorf("evolve with %s: %v, want %q", c.w, err, c.want)
		}
	}
}

// TestRegistry: a missing id is permanent, a failing registry is not, and a
// schema that is not Avro is known but unusable.
func TestRegistry(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, _ := r.BasicAuth(); u != "reader" || p != "pw" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/schemas/ids/1":
			if status != http.StatusOK {
				http.Error(w, "down", status)
				return
			}
			w.Write([]byte(`{"schema": "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"c\",\"type\":\"Common\"}]}",
			  "references": [{"name": "Common", "subject": "common", "version": 1}]}`))
		case "/subjects/common/versions/1":
			w.Write([]byte(`{"schema": "{\"type\":\"record\",\"name\":\"Common\",\"fields\":[{\"name\":\"v\",\"type\":\"long\"}]}"}`))
		case "/schemas/ids/2":
			w.Write([]byte(`{"schema": "syntax = \"proto3\";", "schemaType": "PROTOBUF"}`))
		default:
			http.Error(w, `{"error_code": 40403}`, http.StatusNotFound)
		}
	}))
	defer srv.Close()
	ctx := context.Background()

	r := newRegistry(RegistryConfig{URL: srv.URL + "/", Username: "reader", Password: "pw"})
	status = http.StatusInternalServerError
	if _, err := r.schema(ctx, 1); !errors.Is(err, errRegistryUnavailable) {
		t.Errorf("a registry answering 500: %v, want errRegistryUnavailable", err)
	}
	if _, err := r.schema(ctx, 1); !errors.Is(err, errRegistryUnavailable) {
		t.Errorf("within the back-off: %v, want errRegistryUnavailable", err)
	}
	status = http.StatusOK
	r.retryAt = r.retryAt.AddDate(-1, 0, 0) // the back-off has passed
	ws, err := r.schema(ctx, 1)
	if err != nil || ws.unusable != "" || ws.typ.String() != "struct<0: c: optional struct<0: v: optional long>>" {
		t.Fatalf("schema 1 with a reference: %v %+v", err, ws)
	}
	if ws2, _ := r.schema(ctx, 1); ws2 != ws {
		t.Errorf("schema 1 was not cached")
	}
	if ws, err := r.schema(ctx, 2); err != nil || !strings.Contains(ws.unusable, "PROTOBUF schema, not Avro") {
		t.Errorf("a Protobuf schema: %v %+v", err, ws)
	}
	if _, err := r.schema(ctx, 9); !errors.Is(err, errUnknownSchema) {
		t.Errorf("an unknown id: %v, want errUnknownSchema", err)
	}

	bad := newRegistry(RegistryConfig{URL: srv.URL, Username: "reader", Password: "wrong"})
	if _, err := bad.schema(ctx, 1); !errors.Is(err, errRegistryUnavailable) || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("wrong credentials: %v, want errRegistryUnavailable naming HTTP 401 (records wait, none is rejected)", err)
	}
}

// fuzzSchema has every kind of Avro value a record can hold.
const fuzzSchema = `{"type": "record", "name": "F", "fields": [
  {"name": "id", "type": "long"},
  {"name": "n", "type": ["null", "int"]},
  {"name": "s", "type": "string"},
  {"name": "b", "type": "bytes"},
  {"name": "f", "type": "float"},
  {"name": "d", "type": "double"},
  {"name": "ok", "type": "boolean"},
  {"name": "k", "type": {"type": "enum", "name": "E", "symbols": ["A", "B", "C"]}},
  {"name": "fx", "type": {"type": "fixed", "name": "X", "size": 3}},
  {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 6, "scale": 2}},
  {"name": "day", "type": {"type": "int", "logicalType": "date"}},
  {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
  {"name": "tags", "type": {"type": "array", "items": "string"}},
  {"name": "attrs", "type": {"type": "map", "values": ["null", "double"]}},
  {"name": "inner", "type": {"type": "record", "name": "I", "fields": [{"name": "x", "type": "int"}]}}
]}`

// FuzzAvroCheck: a Kafka record's value is untrusted input. Checking it —
// frame and payload — must never panic or allocate what a malformed length
// claims; it either accepts the value or says why not.
func FuzzAvroCheck(f *testing.F) {
	sc := avro.MustParse(fuzzSchema).(*avro.RecordSchema)
	good, err := avro.Marshal(sc, map[string]any{
		"id": int64(1), "n": map[string]any{"int": 3}, "s": "x", "b": []byte{1}, "f": float32(1.5), "d": 2.5,
		"ok": true, "k": "B", "fx": [3]byte{1, 2, 3}, "amount": []byte{0x03, 0xe8}, "day": 19000, "at": int64(1),
		"tags": []string{"a"}, "attrs": map[string]any{"p": map[string]any{"double": 1.0}}, "inner": map[string]any{"x": 1},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(append([]byte{0, 0, 0, 0, 1}, good...))
	f.Add([]byte{0, 0, 0, 0, 1, 0xfe, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte(`{"id": 1}`))
	f.Fuzz(func(t *testing.T, value []byte) {
		_, payload, why := confluentFrame(value)
		if why != "" {
			return
		}
		if err := newAvroWalker(1<<16).check(sc, payload); err != nil && err.Error() == "" {
			t.Fatal("an error without a reason")
		}
	})
}
