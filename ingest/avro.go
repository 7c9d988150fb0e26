package ingest

// Avro records in the Confluent wire format: a magic byte 0, the writer
// schema's registry id (4 bytes, big-endian), then the value in Avro binary.
//
// Schemas are parsed and the binary is read with github.com/hamba/avro/v2:
// a maintained, dependency-light library whose parser handles named types,
// references and logical types and whose Reader bounds every length it
// reads. Its generic decoding (into map[string]any) is not used: the walker
// below reads each value by its writer schema straight into the Arrow
// builder of its column, so a record costs no intermediate tree, and the
// same walk without builders checks a record when it is consumed.
//
// A writer schema maps to Iceberg columns (record → struct, array → list,
// map → map<string, V>, enum → string, a union of null and one type → that
// type; logical types date, time-*, timestamp-*, local-timestamp-*,
// decimal and uuid to their Iceberg types). Every column floe adds is
// optional, so a later schema may drop a field. The table evolves as for
// JSON: fields it lacks become columns; int → long and float → double (and
// a decimal's precision) widen the column; anything else that does not fit
// rejects the records of that schema to the dead-letter table.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/extensions"
	"github.com/apache/iceberg-go"
	"github.com/google/uuid"
	"github.com/hamba/avro/v2"
)

// writerSchema is a schema from the registry, by id.
type writerSchema struct {
	id       int
	schema   *avro.RecordSchema
	typ      *iceberg.StructType // its columns; field ids are placeholders
	unusable string              // why its records cannot be written; "" if they can
}

func (ws *writerSchema) init(sc avro.Schema) {
	if ref, ok := sc.(*avro.RefSchema); ok {
		sc = ref.Schema()
	}
	rs, ok := sc.(*avro.RecordSchema)
	if !ok {
		ws.unusable = fmt.Sprintf("schema id %d is an Avro %s, not a record", ws.id, sc.Type())
		return
	}
	st, err := avroStruct(rs, nil)
	if err != nil {
		ws.unusable = fmt.Sprintf("schema id %d: %v", ws.id, err)
		return
	}
	ws.schema, ws.typ = rs, st
}

// confluentFrame splits a value in the Confluent wire format into the
// schema id and the Avro payload, or says why it is not in that format.
func confluentFrame(b []byte) (int, []byte, string) {
	switch {
	case len(b) < 5:
		return 0, nil, fmt.Sprintf("value of %d bytes is too short for the Confluent wire format (magic byte 0, 4-byte schema id, Avro payload)", len(b))
	case b[0] != 0:
		return 0, nil, fmt.Sprintf("magic byte is 0x%02x, not 0: not the Confluent wire format", b[0])
	}
	return int(binary.BigEndian.Uint32(b[1:5])), b[5:], ""
}

// avroStruct maps a record schema to an Iceberg struct. Fields of type null
// (alone) carry nothing and get no column. outer holds the records being
// mapped, to refuse recursive types, which Iceberg cannot represent.
func avroStruct(rs *avro.RecordSchema, outer []string) (*iceberg.StructType, error) {
	name := rs.FullName()
	for _, o := range outer {
		if o == name {
			return nil, fmt.Errorf("record %s contains itself: recursive types have no Iceberg mapping", name)
		}
	}
	outer = append(outer, name)
	st := &iceberg.StructType{}
	for _, f := range rs.Fields() {
		t, err := avroType(f.Type(), outer)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", f.Name(), err)
		}
		if t == nil {
			continue
		}
		st.FieldList = append(st.FieldList, iceberg.NestedField{Name: f.Name(), Type: t, Required: false})
	}
	return st, nil
}

// avroType maps an Avro type to an Iceberg type; nil for null.
func avroType(s avro.Schema, outer []string) (iceberg.Type, error) {
	switch s := s.(type) {
	case *avro.RefSchema:
		return avroType(s.Schema(), outer)
	case *avro.NullSchema:
		return nil, nil
	case *avro.RecordSchema:
		return avroStruct(s, outer)
	case *avro.EnumSchema:
		return iceberg.PrimitiveTypes.String, nil
	case *avro.ArraySchema:
		e, err := avroType(s.Items(), outer)
		if err != nil || e == nil {
			return nil, orNull(err, "array of null")
		}
		return &iceberg.ListType{Element: e, ElementRequired: false}, nil
	case *avro.MapSchema:
		v, err := avroType(s.Values(), outer)
		if err != nil || v == nil {
			return nil, orNull(err, "map of null")
		}
		return &iceberg.MapType{KeyType: iceberg.PrimitiveTypes.String, ValueType: v, ValueRequired: false}, nil
	case *avro.UnionSchema:
		var only avro.Schema
		var names []string
		for _, t := range s.Types() {
			if t.Type() == avro.Null {
				continue
			}
			names = append(names, string(t.Type()))
			only = t
		}
		switch len(names) {
		case 0:
			return nil, nil
		case 1:
			return avroType(only, outer)
		}
		return nil, fmt.Errorf("union of %s: only a union of null and one type has an Iceberg mapping", strings.Join(names, ", "))
	case *avro.FixedSchema:
		switch l := s.Logical().(type) {
		case *avro.DecimalLogicalSchema:
			return decimalType(l)
		case nil:
		default:
			if l.Type() == avro.UUID && s.Size() == 16 {
				return iceberg.PrimitiveTypes.UUID, nil
			}
		}
		return iceberg.FixedTypeOf(s.Size()), nil
	case *avro.PrimitiveSchema:
		var lt avro.LogicalType
		if l := s.Logical(); l != nil {
			lt = l.Type()
			if d, ok := l.(*avro.DecimalLogicalSchema); ok {
				return decimalType(d)
			}
		}
		switch s.Type() {
		case avro.Boolean:
			return iceberg.PrimitiveTypes.Bool, nil
		case avro.Int:
			switch lt {
			case avro.Date:
				return iceberg.PrimitiveTypes.Date, nil
			case avro.TimeMillis:
				return iceberg.PrimitiveTypes.Time, nil
			}
			return iceberg.PrimitiveTypes.Int32, nil
		case avro.Long:
			switch lt {
			case avro.TimeMicros:
				return iceberg.PrimitiveTypes.Time, nil
			case avro.TimestampMillis, avro.TimestampMicros:
				return iceberg.PrimitiveTypes.TimestampTz, nil
			case avro.LocalTimestampMillis, avro.LocalTimestampMicros:
				return iceberg.PrimitiveTypes.Timestamp, nil
			}
			return iceberg.PrimitiveTypes.Int64, nil
		case avro.Float:
			return iceberg.PrimitiveTypes.Float32, nil
		case avro.Double:
			return iceberg.PrimitiveTypes.Float64, nil
		case avro.String:
			if lt == avro.UUID {
				return iceberg.PrimitiveTypes.UUID, nil
			}
			return iceberg.PrimitiveTypes.String, nil
		case avro.Bytes:
			return iceberg.PrimitiveTypes.Binary, nil
		}
	}
	return nil, fmt.Errorf("Avro type %s has no Iceberg mapping", s.Type())
}

func orNull(err error, what string) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("%s has no Iceberg mapping", what)
}

func decimalType(d *avro.DecimalLogicalSchema) (iceberg.Type, error) {
	if d.Precision() < 1 || d.Precision() > 38 || d.Scale() < 0 || d.Scale() > d.Precision() {
		return nil, fmt.Errorf("decimal(%d,%d) has no Iceberg mapping (precision 1 to 38)", d.Precision(), d.Scale())
	}
	return iceberg.DecimalTypeOf(d.Precision(), d.Scale()), nil
}

// avroWalker reads Avro values by their writer schema. With a nil builder
// it only checks a value (when the record is consumed); otherwise it
// appends the value to the builder, whose type is the column's type in the
// table, which the schema merge made sure the value fits. Both walks run
// the same checks, so a record that passed the first never fails the second.
type avroWalker struct {
	r     *avro.Reader
	items int // array and map entries read in this record
	limit int // at most this many (the payload's length: an entry takes a byte at least)

	// plans: for a record schema and the Arrow struct (or table root) it
	// is written to, the child column of each Avro field (-1: none).
	plans map[planKey][]int
}

type planKey struct {
	rs *avro.RecordSchema
	at arrow.DataType // nil: the table's root
}

// fieldError is an error inside a record, with the path of the field.
type fieldError struct {
	path string
	err  error
}

func (e *fieldError) Error() string { return fmt.Sprintf("field %q: %v", e.path, e.err) }
func (e *fieldError) Unwrap() error { return e.err }

func inField(name string, err error) error {
	var fe *fieldError
	if errors.As(err, &fe) {
		return &fieldError{path: name + "." + fe.path, err: fe.err}
	}
	return &fieldError{path: name, err: err}
}

// newAvroWalker returns a walker for values of at most maxBytes: no string
// or bytes value longer than that is allocated, whatever length a
// malformed value claims.
func newAvroWalker(maxBytes int) *avroWalker {
	api, _ := avroAPIs.Load(maxBytes)
	if api == nil {
		api, _ = avroAPIs.LoadOrStore(maxBytes, avro.Config{MaxByteSliceSize: maxBytes}.Freeze())
	}
	return &avroWalker{r: avro.NewReader(nil, 0, avro.WithReaderConfig(api.(avro.API)))}
}

// avroAPIs holds a frozen hamba configuration per value size limit.
var avroAPIs sync.Map

// check reads payload as a value of rs and reports what is wrong with it.
func (w *avroWalker) check(rs *avro.RecordSchema, payload []byte) error {
	return w.value(rs, payload, nil, nil)
}

// value reads payload as a value of rs into cols (the table's columns, with
// their Arrow fields), or only checks it when cols is nil.
func (w *avroWalker) value(rs *avro.RecordSchema, payload []byte, cols []array.Builder, fields []arrow.Field) error {
	w.r.Reset(payload)
	w.r.Error = nil // Reset keeps the last value's (io.EOF from Peek)
	w.items, w.limit = 0, len(payload)
	if err := w.record(rs, nil, cols, fields, 0); err != nil {
		return err
	}
	w.r.Peek() // io.EOF when every byte was read
	if w.r.Error == nil {
		return errors.New("unexpected data after the Avro value: the payload does not match its schema")
	}
	return nil
}

// record reads a record into the builders cols, children of the Arrow type
// at (nil: the table's root).
func (w *avroWalker) record(rs *avro.RecordSchema, at arrow.DataType, cols []array.Builder, fields []arrow.Field, depth int) error {
	var plan []int
	if cols != nil {
		plan = w.plan(rs, at, fields)
	}
	var written uint64 // bit i: column i got a value (records wider than 64 columns: see below)
	var wide []bool
	if len(cols) > 64 {
		wide = make([]bool, len(cols))
	}
	for i, f := range rs.Fields() {
		var b array.Builder
		if cols != nil && plan[i] >= 0 {
			b = cols[plan[i]]
			if wide != nil {
				wide[plan[i]] = true
			} else {
				written |= 1 << plan[i]
			}
		}
		if err := w.read(f.Type(), b, depth+1); err != nil {
			return inField(f.Name(), err)
		}
	}
	for i, c := range cols {
		if (wide == nil && written&(1<<i) == 0) || (wide != nil && !wide[i]) {
			c.AppendNull() // a column the writer schema does not have
		}
	}
	return nil
}

// plan maps the fields of rs to the children of the Arrow type at.
func (w *avroWalker) plan(rs *avro.RecordSchema, at arrow.DataType, fields []arrow.Field) []int {
	key := planKey{rs, at}
	if p, ok := w.plans[key]; ok {
		return p
	}
	byName := make(map[string]int, len(fields))
	for i, f := range fields {
		byName[f.Name] = i
	}
	p := make([]int, len(rs.Fields()))
	for i, f := range rs.Fields() {
		j, ok := byName[f.Name()]
		if !ok {
			j = -1
		}
		p[i] = j
	}
	if w.plans == nil {
		w.plans = map[planKey][]int{}
	}
	w.plans[key] = p
	return p
}

var errTruncated = errors.New("truncated Avro value")

// readErr turns the Reader's error into the record's reason.
func (w *avroWalker) readErr() error {
	if w.r.Error == nil {
		return nil
	}
	msg := w.r.Error.Error()
	if strings.Contains(msg, "EOF") {
		return errTruncated
	}
	return fmt.Errorf("malformed Avro value: %s", strings.TrimPrefix(msg, "avro: "))
}

func (w *avroWalker) read(s avro.Schema, b array.Builder, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("nesting deeper than %d", maxDepth)
	}
	r := w.r
	switch s := s.(type) {
	case *avro.RefSchema:
		return w.read(s.Schema(), b, depth)
	case *avro.NullSchema:
		if b != nil {
			b.AppendNull()
		}
		return nil
	case *avro.PrimitiveSchema:
		return w.primitive(s, b)
	case *avro.RecordSchema:
		if b == nil {
			return w.record(s, nil, nil, nil, depth)
		}
		sb, ok := b.(*array.StructBuilder)
		if !ok {
			return mismatch(s, b)
		}
		sb.Append(true)
		st := sb.Type().(*arrow.StructType)
		cols := make([]array.Builder, sb.NumField())
		for i := range cols {
			cols[i] = sb.FieldBuilder(i)
		}
		return w.record(s, st, cols, st.Fields(), depth)
	case *avro.EnumSchema:
		i := r.ReadInt()
		if err := w.readErr(); err != nil {
			return err
		}
		syms := s.Symbols()
		if i < 0 || int(i) >= len(syms) {
			return fmt.Errorf("enum index %d out of range (%d symbols)", i, len(syms))
		}
		if b != nil {
			sb, ok := b.(*array.StringBuilder)
			if !ok {
				return mismatch(s, b)
			}
			sb.Append(syms[i])
		}
		return nil
	case *avro.ArraySchema:
		var lb *array.ListBuilder
		var vb array.Builder
		if b != nil {
			var ok bool
			if lb, ok = b.(*array.ListBuilder); !ok {
				return mismatch(s, b)
			}
			lb.Append(true)
			vb = lb.ValueBuilder()
		}
		return w.blocks(func() error { return w.read(s.Items(), vb, depth+1) })
	case *avro.MapSchema:
		var mb *array.MapBuilder
		var kb *array.StringBuilder
		var vb array.Builder
		if b != nil {
			var ok bool
			if mb, ok = b.(*array.MapBuilder); !ok {
				return mismatch(s, b)
			}
			mb.Append(true)
			kb, vb = mb.KeyBuilder().(*array.StringBuilder), mb.ItemBuilder()
		}
		return w.blocks(func() error {
			k := r.ReadString()
			if err := w.readErr(); err != nil {
				return err
			}
			if !utf8.ValidString(k) {
				return errors.New("map key is not valid UTF-8")
			}
			if kb != nil {
				kb.Append(k)
			}
			return w.read(s.Values(), vb, depth+1)
		})
	case *avro.UnionSchema:
		i := r.ReadLong()
		if err := w.readErr(); err != nil {
			return err
		}
		types := s.Types()
		if i < 0 || i >= int64(len(types)) {
			return fmt.Errorf("union branch %d out of range (%d types)", i, len(types))
		}
		return w.read(types[i], b, depth)
	case *avro.FixedSchema:
		buf := make([]byte, s.Size())
		r.Read(buf)
		if err := w.readErr(); err != nil {
			return err
		}
		switch l := s.Logical().(type) {
		case *avro.DecimalLogicalSchema:
			return putDecimal(buf, l, b)
		case nil:
		default:
			if l.Type() == avro.UUID && s.Size() == 16 {
				if b != nil {
					ub, ok := b.(*extensions.UUIDBuilder)
					if !ok {
						return mismatch(s, b)
					}
					ub.AppendBytes([16]byte(buf))
				}
				return nil
			}
		}
		if b != nil {
			fb, ok := b.(*array.FixedSizeBinaryBuilder)
			if !ok {
				return mismatch(s, b)
			}
			fb.Append(buf)
		}
		return nil
	}
	return fmt.Errorf("Avro type %s has no Iceberg mapping", s.Type())
}

// blocks reads the blocks of an array or map, calling item for each entry.
func (w *avroWalker) blocks(item func() error) error {
	for {
		n, _ := w.r.ReadBlockHeader()
		if err := w.readErr(); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		w.items += int(n)
		if n < 0 || w.items > w.limit {
			return errors.New("array or map holds more entries than the value has bytes")
		}
		for range n {
			if err := item(); err != nil {
				return err
			}
		}
	}
}

func mismatch(s avro.Schema, b array.Builder) error {
	return fmt.Errorf("Avro %s does not fit column type %s", s.Type(), b.Type())
}

func (w *avroWalker) primitive(s *avro.PrimitiveSchema, b array.Builder) error {
	r := w.r
	var lt avro.LogicalType
	if l := s.Logical(); l != nil {
		lt = l.Type()
		if d, ok := l.(*avro.DecimalLogicalSchema); ok {
			v := r.ReadBytes()
			if err := w.readErr(); err != nil {
				return err
			}
			return putDecimal(v, d, b)
		}
	}
	switch s.Type() {
	case avro.Boolean:
		v := r.ReadBool()
		if err := w.readErr(); err != nil {
			return err
		}
		if b != nil {
			bb, ok := b.(*array.BooleanBuilder)
			if !ok {
				return mismatch(s, b)
			}
			bb.Append(v)
		}
		return nil
	case avro.Int:
		v := r.ReadInt()
		if err := w.readErr(); err != nil {
			return err
		}
		if b == nil {
			return nil
		}
		switch b := b.(type) {
		case *array.Date32Builder:
			if lt == avro.Date {
				b.Append(arrow.Date32(v))
				return nil
			}
		case *array.Time64Builder:
			if lt == avro.TimeMillis {
				b.Append(arrow.Time64(int64(v) * 1000))
				return nil
			}
		case *array.Int32Builder:
			b.Append(v)
			return nil
		case *array.Int64Builder:
			b.Append(int64(v))
			return nil
		}
		return mismatch(s, b)
	case avro.Long:
		v := r.ReadLong()
		if err := w.readErr(); err != nil {
			return err
		}
		if lt == avro.TimestampMillis || lt == avro.LocalTimestampMillis {
			if v > math.MaxInt64/1000 || v < math.MinInt64/1000 {
				return fmt.Errorf("timestamp of %d ms is out of range", v)
			}
			v *= 1000
		}
		if b == nil {
			return nil
		}
		switch b := b.(type) {
		case *array.TimestampBuilder:
			if lt == avro.TimestampMillis || lt == avro.TimestampMicros || lt == avro.LocalTimestampMillis || lt == avro.LocalTimestampMicros {
				b.Append(arrow.Timestamp(v))
				return nil
			}
		case *array.Time64Builder:
			if lt == avro.TimeMicros {
				b.Append(arrow.Time64(v))
				return nil
			}
		case *array.Int64Builder:
			b.Append(v)
			return nil
		}
		return mismatch(s, b)
	case avro.Float:
		v := r.ReadFloat()
		if err := w.readErr(); err != nil {
			return err
		}
		switch b := b.(type) {
		case nil:
			return nil
		case *array.Float32Builder:
			b.Append(v)
			return nil
		case *array.Float64Builder:
			b.Append(float64(v))
			return nil
		}
		return mismatch(s, b)
	case avro.Double:
		v := r.ReadDouble()
		if err := w.readErr(); err != nil {
			return err
		}
		switch b := b.(type) {
		case nil:
			return nil
		case *array.Float64Builder:
			b.Append(v)
			return nil
		}
		return mismatch(s, b)
	case avro.String:
		v := r.ReadString()
		if err := w.readErr(); err != nil {
			return err
		}
		if !utf8.ValidString(v) {
			return errors.New("string is not valid UTF-8")
		}
		if lt == avro.UUID {
			u, err := uuid.Parse(v)
			if err != nil {
				return fmt.Errorf("uuid %q: %v", v, err)
			}
			switch b := b.(type) {
			case nil:
				return nil
			case *extensions.UUIDBuilder:
				b.Append(u)
				return nil
			}
			return mismatch(s, b)
		}
		switch b := b.(type) {
		case nil:
			return nil
		case *array.StringBuilder:
			b.Append(v)
			return nil
		}
		return mismatch(s, b)
	case avro.Bytes:
		v := r.ReadBytes()
		if err := w.readErr(); err != nil {
			return err
		}
		switch b := b.(type) {
		case nil:
			return nil
		case *array.BinaryBuilder:
			b.Append(v)
			return nil
		}
		return mismatch(s, b)
	}
	return fmt.Errorf("Avro type %s has no Iceberg mapping", s.Type())
}

// putDecimal checks a decimal (big-endian two's complement, unscaled) against
// its precision and appends it.
func putDecimal(v []byte, d *avro.DecimalLogicalSchema, b array.Builder) error {
	n := new(big.Int).SetBytes(v)
	if len(v) > 0 && v[0]&0x80 != 0 { // negative: subtract 2^(8·len)
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(v))))
	}
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d.Precision())), nil)
	if new(big.Int).Abs(n).Cmp(limit) >= 0 {
		return fmt.Errorf("decimal %s has more than %d digits", n, d.Precision())
	}
	if b == nil {
		return nil
	}
	db, ok := b.(*array.Decimal128Builder)
	if !ok {
		return fmt.Errorf("Avro decimal does not fit column type %s", b.Type())
	}
	db.Append(decimal128.FromBigInt(n))
	return nil
}
