package ingest

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// colWriter appends decoded values to the Arrow builder of one column. The
// tree of writers mirrors the Arrow schema converted from the table's schema.
type colWriter struct {
	name string
	b    array.Builder

	// Structs (and the record itself).
	kids  []*colWriter
	index map[string]int
	seen  []bool

	elem *colWriter // lists
}

// buildRecord converts the records of reqs to one Arrow record batch with the
// schema of sc (field ids included). The values have been checked against sc.
func buildRecord(sc *iceberg.Schema, reqs []*pending) (arrow.RecordBatch, error) {
	asc, err := table.SchemaToArrowSchema(sc, nil, true, false)
	if err != nil {
		return nil, fmt.Errorf("arrow schema: %w", err)
	}
	rb := array.NewRecordBuilder(memory.DefaultAllocator, asc)
	defer rb.Release()

	root := &colWriter{}
	for i, f := range asc.Fields() {
		root.addKid(newColWriter(f.Name, rb.Field(i)))
	}
	var rows int
	for _, p := range reqs {
		rows += len(p.records)
	}
	rb.Reserve(rows)
	for _, p := range reqs {
		for i := range p.records {
			if err := root.putMembers(p.records[i].v.kids); err != nil {
				return nil, fmt.Errorf("record on line %d: %w", p.records[i].line, err)
			}
		}
	}
	return rb.NewRecordBatch(), nil
}

func (w *colWriter) addKid(k *colWriter) {
	if w.index == nil {
		w.index = map[string]int{}
	}
	w.index[k.name] = len(w.kids)
	w.kids = append(w.kids, k)
	w.seen = append(w.seen, false)
}

func newColWriter(name string, b array.Builder) *colWriter {
	w := &colWriter{name: name, b: b}
	switch b := b.(type) {
	case *array.StructBuilder:
		st := b.Type().(*arrow.StructType)
		for i, f := range st.Fields() {
			w.addKid(newColWriter(f.Name, b.FieldBuilder(i)))
		}
	case *array.ListBuilder:
		w.elem = newColWriter("element", b.ValueBuilder())
	}
	return w
}

// putMembers appends one object's members to the child columns and nulls to
// the columns the object lacks.
func (w *colWriter) putMembers(ms []member) error {
	clear(w.seen)
	for i := range ms {
		m := &ms[i]
		idx := -1
		if i < len(w.kids) && w.kids[i].name == m.name {
			idx = i // members usually come in column order
		} else if j, ok := w.index[m.name]; ok {
			idx = j
		}
		if idx < 0 {
			if carriesData(&m.v) {
				return fmt.Errorf("field %q has no column", m.name)
			}
			continue // empty objects and arrays of them have no column
		}
		w.seen[idx] = true
		if err := w.kids[idx].put(&m.v); err != nil {
			return err
		}
	}
	for i, s := range w.seen {
		if !s {
			w.kids[i].b.AppendNull()
		}
	}
	return nil
}

// carriesData reports whether v holds anything but empty objects and arrays
// and nulls.
func carriesData(v *value) bool {
	switch v.kind {
	case kNull:
		return false
	case kObject:
		for i := range v.kids {
			if carriesData(&v.kids[i].v) {
				return true
			}
		}
		return false
	case kArray:
		for i := range v.kids {
			if carriesData(&v.kids[i].v) {
				return true
			}
		}
		return false
	}
	return true
}

func (w *colWriter) put(v *value) error {
	if v.kind == kNull {
		w.b.AppendNull()
		return nil
	}
	switch b := w.b.(type) {
	case *array.Int64Builder:
		if v.kind == kInt {
			b.Append(v.int())
			return nil
		}
	case *array.Int32Builder:
		// The merge checked that every value fits (else it promoted the
		// column to long).
		if v.kind == kInt {
			b.Append(int32(v.int()))
			return nil
		}
	case *array.Float32Builder:
		// The merge checked that float holds every value exactly.
		switch v.kind {
		case kInt:
			b.Append(float32(v.int()))
			return nil
		case kFloat:
			b.Append(float32(v.float()))
			return nil
		}
	case *array.Float64Builder:
		switch v.kind {
		case kInt:
			b.Append(float64(v.int()))
			return nil
		case kFloat:
			b.Append(v.float())
			return nil
		}
	case *array.BooleanBuilder:
		if v.kind == kBool {
			b.Append(v.n != 0)
			return nil
		}
	case *array.StringBuilder:
		if v.kind == kString || v.kind == kTime {
			b.Append(v.s)
			return nil
		}
	case *array.TimestampBuilder:
		if v.kind == kTime && b.Type().(*arrow.TimestampType).Unit == arrow.Microsecond {
			b.Append(arrow.Timestamp(int64(v.n)))
			return nil
		}
	case *array.StructBuilder:
		if v.kind == kObject {
			b.Append(true)
			return w.putMembers(v.kids)
		}
	case *array.ListBuilder:
		if v.kind == kArray {
			b.Append(true)
			for i := range v.kids {
				if err := w.elem.put(&v.kids[i].v); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return fmt.Errorf("field %q: %s value does not fit %s", w.name, v.kind.name(), w.b.Type())
}
