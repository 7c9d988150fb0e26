package ingest

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// Debezium change events (format debezium-json): each record value is a
// Debezium envelope, as Kafka Connect's JsonConverter writes it with
// schemas ({"schema": ..., "payload": {...}}) or without (the payload
// alone): {"op": "c"|"r"|"u"|"d"|"t", "before": {...}, "after": {...},
// "source": {...}, ...}. The table holds the rows' latest state by key:
// every event replaces or removes the row of its key. The commit
// (kafka_debezium.go) writes the batch's rows and, in the same snapshot,
// an equality delete file on the key columns that removes the older rows
// of every key the batch touched. Equality deletes apply only to data
// files with a lower sequence number, so the rows of the same snapshot
// stay.

// change is what one decoded change event does to its key (krec.change).
// The record's v is the after image for c, r and u, and the key object
// for d, so that both go through the schema merge like JSON records.
type change struct {
	op byte // 'c', 'r', 'u' or 'd'
	// key holds the key columns' values: an object whose members are the
	// key columns, in key order.
	key value
	// oldKey is the before image's key of an update that changed the key
	// (nil otherwise): that key's row is removed too.
	oldKey *value
}

// debezium is a debezium-json stream's key.
type debezium struct {
	// key names the key columns: those configured, or else the fields of
	// the first record key decoded (every record key must then have the
	// same fields).
	key        []string
	configured bool
}

func newDebezium(key []string) *debezium {
	return &debezium{key: slices.Clone(key), configured: len(key) > 0}
}

// decode decodes kr's value as a change event. It marks kr: skip for a
// tombstone (a null value: its offset is consumed, nothing is written),
// bad with the reason when the event cannot be applied, otherwise v and
// change.
func (d *debezium) decode(ps *parser, kr *krec) {
	if kr.value == nil {
		kr.skip = true
		return
	}
	top, msg := ps.parseRecord(string(kr.value))
	switch {
	case msg != "":
		kr.bad = msg
		return
	case top.kind != kObject:
		kr.bad = "record is not a JSON object"
		return
	}
	env := top
	if p, ok := unwrap(&top); ok {
		switch p.kind {
		case kNull:
			kr.skip = true // the JsonConverter's rendering of a null value
			return
		case kObject:
			env = *p
		default:
			kr.bad = `Debezium envelope: "payload" is not an object`
			return
		}
	}
	opv := get(&env, "op")
	switch {
	case opv == nil:
		kr.bad = `not a Debezium change event: no "op" field`
		return
	case opv.kind != kString:
		kr.bad = `Debezium envelope: "op" is not a string`
		return
	}
	op := opv.s
	switch op {
	case "c", "r", "u":
		after := get(&env, "after")
		if after == nil || after.kind != kObject {
			kr.bad = fmt.Sprintf(`Debezium op %q without an "after" object`, op)
			return
		}
		names, why := d.keyNames(ps, kr.key)
		if why != "" {
			kr.bad = why
			return
		}
		key, why := pickKey(after, names, `"after"`)
		if why != "" {
			kr.bad = why
			return
		}
		ch := &change{op: op[0], key: key}
		if before := get(&env, "before"); op == "u" && before != nil && before.kind == kObject {
			// A before image that holds the key (a key change; or any
			// update with full row images) names the row the update
			// replaces. Without it the update replaces its after key.
			if old, why := pickKey(before, names, `"before"`); why == "" && keyString(&old) != keyString(&key) {
				if !sameKinds(&old, &key) {
					kr.bad = `Debezium op "u": the key columns of "before" and "after" have different types`
					return
				}
				ch.oldKey = &old
			}
		}
		kr.v, kr.change = *after, ch
	case "d":
		names, why := d.keyNames(ps, kr.key)
		if why != "" {
			kr.bad = why
			return
		}
		key, why := value{}, "no before image"
		if before := get(&env, "before"); before != nil && before.kind == kObject {
			key, why = pickKey(before, names, `"before"`)
		}
		if why != "" {
			// No before image with the key (PostgreSQL's default replica
			// identity has only the key there): take the record key.
			rk, ok := recordKey(ps, kr.key)
			if !ok {
				kr.bad = "Debezium delete without the key: " + why + " and the record key is not a JSON object"
				return
			}
			if key, why = pickKey(&rk, names, "the record key"); why != "" {
				kr.bad = "Debezium delete without the key: " + why
				return
			}
		}
		kr.v, kr.change = key, &change{op: 'd', key: key}
	case "t":
		kr.bad = "truncate events are not applied"
	default:
		kr.bad = fmt.Sprintf("unknown Debezium op %q", op)
	}
}

// keyNames returns the key columns for a record with record key rk: the
// configured ones, or the record key's fields (learned from the first
// record key; later ones must match).
func (d *debezium) keyNames(ps *parser, rk []byte) ([]string, string) {
	if d.configured {
		return d.key, ""
	}
	if rk == nil {
		return nil, "no key: the stream names no key columns and the record has no key"
	}
	k, ok := recordKey(ps, rk)
	if !ok || len(k.kids) == 0 {
		return nil, "no key: the stream names no key columns and the record key is not a JSON object with fields"
	}
	names := make([]string, len(k.kids))
	for i, m := range k.kids {
		names[i] = m.name
	}
	if d.key == nil {
		d.key = names
		return names, ""
	}
	if !sameSet(names, d.key) {
		return nil, fmt.Sprintf("the record key's fields %v are not the stream's key %v", names, d.key)
	}
	return d.key, ""
}

// recordKey parses a record key as a JSON object, unwrapping the
// JsonConverter's {"schema": ..., "payload": ...}.
func recordKey(ps *parser, rk []byte) (value, bool) {
	if rk == nil {
		return value{}, false
	}
	k, msg := ps.parseRecord(string(rk))
	if msg != "" || k.kind != kObject {
		return value{}, false
	}
	if p, ok := unwrap(&k); ok {
		k = *p
	}
	return k, k.kind == kObject
}

// unwrap returns the payload of a JsonConverter message with schemas: an
// object of exactly the members "schema" and "payload".
func unwrap(v *value) (*value, bool) {
	if len(v.kids) != 2 || get(v, "schema") == nil {
		return nil, false
	}
	p := get(v, "payload")
	return p, p != nil
}

// get returns the member name of object v (nil if it has none).
func get(v *value, name string) *value {
	for i := range v.kids {
		if v.kids[i].name == name {
			return &v.kids[i].v
		}
	}
	return nil
}

// pickKey returns an object of the key columns of image (named where in
// reasons), in key order. Every key column must hold a value that an
// equality delete can compare: not null, not a floating-point number (an
// Iceberg equality field cannot be one), not an object or array.
func pickKey(image *value, names []string, where string) (value, string) {
	kids := make([]member, len(names))
	for i, name := range names {
		v := get(image, name)
		switch {
		case v == nil:
			return value{}, fmt.Sprintf("%s lacks key column %q", where, name)
		case v.kind == kNull:
			return value{}, fmt.Sprintf("key column %q is null in %s", name, where)
		case v.kind == kFloat:
			return value{}, fmt.Sprintf("key column %q holds a floating-point number in %s, which an equality delete cannot compare", name, where)
		case v.kind == kObject || v.kind == kArray:
			return value{}, fmt.Sprintf("key column %q is not a single value in %s", name, where)
		}
		kids[i] = member{name: name, v: *v}
	}
	return value{kind: kObject, kids: kids}, ""
}

// keyString encodes a key object so that equal keys, as the table would
// compare them, give equal strings: times by their instant.
func keyString(k *value) string {
	var b strings.Builder
	var n [8]byte
	for i := range k.kids {
		v := &k.kids[i].v
		b.WriteByte(byte(v.kind))
		switch v.kind { // kTime: n is the instant, as a timestamptz column compares
		case kString:
			binary.BigEndian.PutUint64(n[:], uint64(len(v.s)))
			b.Write(n[:])
			b.WriteString(v.s)
		default:
			binary.BigEndian.PutUint64(n[:], v.n)
			b.Write(n[:])
		}
	}
	return b.String()
}

func sameKinds(a, b *value) bool {
	for i := range a.kids {
		if a.kids[i].v.kind != b.kids[i].v.kind {
			return false
		}
	}
	return true
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	return true
}

// dedupe reduces the change events of a batch, in order, to what the
// commit writes: the latest row of each key whose last event is not a
// delete, and the key of every row the batch touched, to delete older
// versions. So an insert and an update of one key in one batch write one
// row, a key whose last event is a delete writes only the delete, and an
// event delivered twice (Debezium delivers at least once) or a snapshot
// read of a row the table holds replaces the row instead of doubling it.
func dedupe(recs []*krec) (rows []*krec, dels []value) {
	last := map[string]*krec{} // nil: deleted
	var order []string
	keys := map[string]value{}
	touch := func(k *value, row *krec) {
		s := keyString(k)
		if _, ok := last[s]; !ok {
			order = append(order, s)
			keys[s] = *k
		}
		last[s] = row
	}
	for _, r := range recs {
		ch := r.change
		if ch.oldKey != nil {
			touch(ch.oldKey, nil)
		}
		if ch.op == 'd' {
			touch(&ch.key, nil)
		} else {
			touch(&ch.key, r)
		}
	}
	for _, s := range order {
		dels = append(dels, keys[s])
		if r := last[s]; r != nil {
			rows = append(rows, r)
		}
	}
	return rows, dels
}
