package ingest

import (
	"fmt"
	"strings"
	"testing"
)

// event renders a Debezium envelope without schema; before and after are
// JSON objects or "null".
func event(op, before, after string) string {
	return fmt.Sprintf(`{"before":%s,"after":%s,"source":{"connector":"postgresql","table":"orders"},"op":%q,"ts_ms":1}`, before, after, op)
}

// withSchema wraps a payload as Kafka Connect's JsonConverter does with
// schemas enabled.
func withSchema(payload string) string {
	return `{"schema":{"type":"struct","optional":false,"name":"dbserver1.public.orders.Envelope"},"payload":` + payload + `}`
}

func decodeOne(d *debezium, key, val *string) krec {
	kr := krec{}
	if key != nil {
		kr.key = []byte(*key)
	}
	if val != nil {
		kr.value = []byte(*val)
	}
	d.decode(&parser{}, &kr)
	return kr
}

func str(s string) *string { return &s }

// render shows a key object as name=value pairs.
func render(v value) string {
	var parts []string
	for _, m := range v.kids {
		switch m.v.kind {
		case kInt:
			parts = append(parts, fmt.Sprintf("%s=%d", m.name, m.v.int()))
		default:
			parts = append(parts, fmt.Sprintf("%s=%s", m.name, m.v.s))
		}
	}
	return strings.Join(parts, ",")
}

func TestDebeziumDecode(t *testing.T) {
	row := `{"id":1,"name":"a","qty":2}`
	cases := []struct {
		name     string
		key      []string // configured key (nil: from the record key)
		recKey   *string
		val      *string
		skip     bool
		bad      string // substring of the reason
		op       byte
		wantKey  string
		oldKey   string
		afterLen int
	}{
		{name: "tombstone", key: []string{"id"}, recKey: str(`{"id":1}`), skip: true},
		{name: "null payload", key: []string{"id"}, val: str(withSchema("null")), skip: true},
		{name: "insert", key: []string{"id"}, val: str(event("c", "null", row)), op: 'c', wantKey: "id=1", afterLen: 3},
		{name: "snapshot read, schema wrapper", key: []string{"id"}, val: str(withSchema(event("r", "null", row))), op: 'r', wantKey: "id=1", afterLen: 3},
		{name: "update, same key", key: []string{"id"}, val: str(event("u", row, `{"id":1,"name":"b","qty":3}`)), op: 'u', wantKey: "id=1", afterLen: 3},
		{name: "update, no before", key: []string{"id"}, val: str(event("u", "null", row)), op: 'u', wantKey: "id=1", afterLen: 3},
		{name: "update, key changed", key: []string{"id"}, val: str(event("u", `{"id":7}`, row)), op: 'u', wantKey: "id=1", oldKey: "id=7", afterLen: 3},
		{name: "delete, key from before", key: []string{"id"}, val: str(event("d", row, "null")), op: 'd', wantKey: "id=1"},
		{name: "delete, key from record key", key: []string{"id"}, recKey: str(withSchema(`{"id":9}`)), val: str(event("d", "null", "null")), op: 'd', wantKey: "id=9"},
		{name: "key learned from record key", recKey: str(withSchema(`{"id":1}`)), val: str(event("c", "null", row)), op: 'c', wantKey: "id=1", afterLen: 3},
		{name: "composite key", key: []string{"name", "id"}, val: str(event("c", "null", row)), op: 'c', wantKey: "name=a,id=1", afterLen: 3},

		{name: "malformed JSON", key: []string{"id"}, val: str(`{"op":"c",`), bad: "invalid JSON"},
		{name: "not an object", key: []string{"id"}, val: str(`[1]`), bad: "record is not a JSON object"},
		{name: "payload not an object", key: []string{"id"}, val: str(withSchema(`"x"`)), bad: `"payload" is not an object`},
		{name: "no op", key: []string{"id"}, val: str(`{"before":null,"after":` + row + `}`), bad: `not a Debezium change event: no "op" field`},
		{name: "op not a string", key: []string{"id"}, val: str(`{"op":1,"after":` + row + `}`), bad: `"op" is not a string`},
		{name: "truncate", key: []string{"id"}, val: str(event("t", "null", "null")), bad: "truncate events are not applied"},
		{name: "unknown op", key: []string{"id"}, val: str(event("m", "null", "null")), bad: `unknown Debezium op "m"`},
		{name: "insert without after", key: []string{"id"}, val: str(event("c", "null", "null")), bad: `Debezium op "c" without an "after" object`},
		{name: "after lacks key", key: []string{"sku"}, val: str(event("c", "null", row)), bad: `"after" lacks key column "sku"`},
		{name: "null key", key: []string{"id"}, val: str(event("c", "null", `{"id":null}`)), bad: `key column "id" is null in "after"`},
		{name: "float key", key: []string{"id"}, val: str(event("c", "null", `{"id":1.5}`)), bad: "floating-point"},
		{name: "object key", key: []string{"id"}, val: str(event("c", "null", `{"id":{"a":1}}`)), bad: "not a single value"},
		{name: "no key at all", val: str(event("c", "null", row)), bad: "no key: the stream names no key columns and the record has no key"},
		{name: "record key not JSON", recKey: str("k-1"), val: str(event("c", "null", row)), bad: "record key is not a JSON object"},
		{name: "record key empty object", recKey: str("{}"), val: str(event("c", "null", row)), bad: "record key is not a JSON object with fields"},
		{name: "delete without any key", key: []string{"id"}, val: str(event("d", "null", "null")), bad: "Debezium delete without the key: no before image and the record key is not a JSON object"},
		{name: "delete, record key lacks key", key: []string{"id"}, recKey: str(`{"sku":1}`), val: str(event("d", "null", "null")), bad: `the record key lacks key column "id"`},
		{name: "update, key types differ", key: []string{"id"}, val: str(event("u", `{"id":"7"}`, row)), bad: "different types"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			kr := decodeOne(newDebezium(c.key), c.recKey, c.val)
			switch {
			case c.skip:
				if !kr.skip || kr.bad != "" {
					t.Fatalf("skip %v bad %q, want a skipped tombstone", kr.skip, kr.bad)
				}
				return
			case c.bad != "":
				if !strings.Contains(kr.bad, c.bad) || kr.change != nil || kr.skip {
					t.Fatalf("bad %q (change %v), want a reason containing %q", kr.bad, kr.change, c.bad)
				}
				return
			}
			if kr.bad != "" || kr.skip || kr.change == nil {
				t.Fatalf("bad %q skip %v, want a change", kr.bad, kr.skip)
			}
			ch := kr.change
			if ch.op != c.op || render(ch.key) != c.wantKey {
				t.Errorf("op %c key %s, want %c %s", ch.op, render(ch.key), c.op, c.wantKey)
			}
			old := ""
			if ch.oldKey != nil {
				old = render(*ch.oldKey)
			}
			if old != c.oldKey {
				t.Errorf("old key %q, want %q", old, c.oldKey)
			}
			if c.op == 'd' {
				// The record's value is the key, for the schema merge.
				if render(kr.v) != c.wantKey {
					t.Errorf("delete carries %s, want its key", render(kr.v))
				}
			} else if kr.v.kind != kObject || len(kr.v.kids) != c.afterLen {
				t.Errorf("row image has %d fields, want the %d of after", len(kr.v.kids), c.afterLen)
			}
		})
	}
}

// A stream without configured key columns takes the first record key's
// fields; a later record whose key has other fields is rejected.
func TestDebeziumLearnedKeyMustMatch(t *testing.T) {
	d := newDebezium(nil)
	row := `{"id":1,"site":"s"}`
	if kr := decodeOne(d, str(`{"id":1}`), str(event("c", "null", row))); kr.bad != "" {
		t.Fatal(kr.bad)
	}
	kr := decodeOne(d, str(`{"site":"s"}`), str(event("c", "null", row)))
	if !strings.Contains(kr.bad, "the record key's fields [site] are not the stream's key [id]") {
		t.Fatalf("bad %q", kr.bad)
	}
	// The same fields in another order are the same key.
	d2 := newDebezium(nil)
	decodeOne(d2, str(`{"a":1,"b":2}`), str(event("c", "null", `{"a":1,"b":2}`)))
	if kr := decodeOne(d2, str(`{"b":3,"a":4}`), str(event("c", "null", `{"a":4,"b":3}`))); kr.bad != "" || render(kr.change.key) != "a=4,b=3" {
		t.Fatalf("bad %q key %v", kr.bad, kr.change)
	}
}

func TestDebeziumDedupe(t *testing.T) {
	d := newDebezium([]string{"id"})
	var recs []*krec
	add := func(op, before, after string) {
		kr := decodeOne(d, nil, str(event(op, before, after)))
		if kr.bad != "" {
			t.Fatal(kr.bad)
		}
		recs = append(recs, &kr)
	}
	add("c", "null", `{"id":1,"v":"a"}`)           // 1: inserted, then updated: one row, the update's
	add("c", "null", `{"id":2,"v":"a"}`)           // 2: inserted, then deleted: only the delete
	add("u", `{"id":1}`, `{"id":1,"v":"b"}`)       //
	add("d", `{"id":2,"v":"a"}`, "null")           //
	add("d", `{"id":3}`, "null")                   // 3: deleted, then inserted again: the row
	add("c", "null", `{"id":3,"v":"c"}`)           //
	add("u", `{"id":4}`, `{"id":5,"v":"moved"}`)   // 4 → 5: 4 deleted, 5 written
	add("r", "null", `{"id":6,"v":"x"}`)           // 6 read twice (a redelivery): one row
	add("r", "null", `{"id":6,"v":"x"}`)           //
	add("c", "null", `{"id":4,"v":"back"}`)        // 4 inserted again after the move
	add("d", `{"id":7}`, "null")                   // 7: only deleted
	add("u", `{"id":8,"v":"x"}`, `{"id":8,"v":1}`) // 8: updated, value type changed

	rows, dels := dedupe(recs)
	var got []string
	for _, r := range rows {
		got = append(got, render(r.change.key)+":"+fmt.Sprint(len(r.v.kids)))
		if r.change.key.kids[0].v.int() == 1 && get(&r.v, "v").s != "b" {
			t.Errorf("key 1 wrote %q, want the update's value", get(&r.v, "v").s)
		}
		if r.change.key.kids[0].v.int() == 4 && get(&r.v, "v").s != "back" {
			t.Errorf("key 4 wrote %q, want the re-insert", get(&r.v, "v").s)
		}
	}
	if want := "id=1:2 id=3:2 id=4:2 id=5:2 id=6:2 id=8:2"; strings.Join(got, " ") != want {
		t.Errorf("rows %v, want %s", got, want)
	}
	var ds []string
	for _, k := range dels {
		ds = append(ds, render(k))
	}
	if want := "id=1 id=2 id=3 id=4 id=5 id=6 id=7 id=8"; strings.Join(ds, " ") != want {
		t.Errorf("deletes %v, want every key touched: %s", ds, want)
	}
}

// Keys compare as the table does: a timestamp by its instant, numbers by
// value, strings by text; "1" and 1 are different keys.
func TestDebeziumKeyString(t *testing.T) {
	var p parser
	key := func(s string) string {
		v, msg := p.parseRecord(s)
		if msg != "" {
			t.Fatal(msg)
		}
		return keyString(&v)
	}
	if key(`{"at":"2025-01-01T00:00:00Z"}`) != key(`{"at":"2025-01-01T01:00:00+01:00"}`) {
		t.Error("one instant gave two keys")
	}
	if key(`{"id":1}`) == key(`{"id":"1"}`) || key(`{"a":"x","b":"yz"}`) == key(`{"a":"xy","b":"z"}`) {
		t.Error("different keys collide")
	}
}

// Any key and value decode to exactly one outcome: skipped, rejected with
// a reason, or a change whose key holds every key column.
func FuzzDebeziumDecode(f *testing.F) {
	f.Add([]byte(`{"id":1}`), []byte(event("u", `{"id":2}`, `{"id":1,"a":[1,{"b":null}]}`)))
	f.Add([]byte(withSchema(`{"id":"x"}`)), []byte(withSchema(event("d", "null", "null"))))
	f.Add([]byte(nil), []byte(`{"schema":1,"payload":{"op":"c","after":{"id":1.5}}}`))
	f.Fuzz(func(t *testing.T, key, val []byte) {
		for _, d := range []*debezium{newDebezium(nil), newDebezium([]string{"id"})} {
			kr := krec{key: key, value: val}
			d.decode(&parser{}, &kr)
			outcomes := 0
			for _, b := range []bool{kr.skip, kr.bad != "", kr.change != nil} {
				if b {
					outcomes++
				}
			}
			if outcomes != 1 {
				t.Fatalf("skip %v bad %q change %v", kr.skip, kr.bad, kr.change)
			}
			if ch := kr.change; ch != nil && len(ch.key.kids) != len(d.key) {
				t.Fatalf("key %v for key columns %v", ch.key.kids, d.key)
			}
		}
	})
}
