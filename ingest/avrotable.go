package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/floe-dev/floe/catalog"
)

// avroBatch is the Avro records of one commit, merged into the table's
// schema: the writer schemas that fit, in order of first appearance.
type avroBatch struct {
	t      *catalog.Table      // nil: the table does not exist yet
	work   *iceberg.StructType // the table's columns once the batch is in
	good   []*krec             // records to write
	fixed  bool                // schema evolution off
	layout *layout
	// maxBytes is the largest record value (the walker's allocation bound).
	maxBytes int
}

// mergeAvro merges the writer schemas of recs into the schema of t (nil:
// no table yet). The records of a schema that does not fit — a type
// conflict, or with fixed any change at all — are rejected with the reason.
func mergeAvro(t *catalog.Table, recs []*krec, fixed bool) (*avroBatch, []*krec) {
	b := &avroBatch{t: t, work: &iceberg.StructType{}, fixed: fixed && t != nil}
	if t != nil {
		b.work = cloneType(&iceberg.StructType{FieldList: t.Schema().Fields()}).(*iceberg.StructType)
	}
	verdict := map[*writerSchema]string{}
	var bad []*krec
	for _, r := range recs {
		ws := r.avro
		why, seen := verdict[ws]
		if !seen {
			trial := cloneType(b.work).(*iceberg.StructType)
			if err := evolveStruct(trial, ws.typ, ""); err != nil {
				why = fmt.Sprintf("schema id %d does not fit the table: %v", ws.id, err)
			} else if b.fixed && !trial.Equals(b.work) {
				why = fmt.Sprintf("schema id %d would change the table's schema and schema evolution is off", ws.id)
			} else {
				b.work = trial
			}
			verdict[ws] = why
		}
		if why != "" {
			r.bad = why
			bad = append(bad, r)
			continue
		}
		b.good = append(b.good, r)
	}
	return b, bad
}

// evolveStruct merges src (a writer schema's columns) into dst, which it
// extends: fields dst lacks are added as optional columns, int → long and
// float → double and a decimal's precision widen. Anything else that
// differs is an error naming the field.
func evolveStruct(dst, src *iceberg.StructType, path string) error {
	for _, sf := range src.FieldList {
		p := joinPath(path, sf.Name)
		i := fieldIndex(dst, sf.Name, false)
		if i < 0 {
			if j := fieldIndex(dst, sf.Name, true); j >= 0 {
				return fmt.Errorf("field %q differs only in case from column %q", p, dst.FieldList[j].Name)
			}
			dst.FieldList = append(dst.FieldList, iceberg.NestedField{Name: sf.Name, Type: optional(sf.Type)})
			continue
		}
		df := &dst.FieldList[i]
		t, err := evolveType(df.Type, sf.Type, p)
		if err != nil {
			return err
		}
		df.Type = t
	}
	for _, df := range dst.FieldList {
		if df.Required && fieldIndex(src, df.Name, false) < 0 {
			return fmt.Errorf("column %q is required and the schema has no such field", joinPath(path, df.Name))
		}
	}
	return nil
}

func evolveType(dst, src iceberg.Type, path string) (iceberg.Type, error) {
	switch d := dst.(type) {
	case *iceberg.StructType:
		if s, ok := src.(*iceberg.StructType); ok {
			return d, evolveStruct(d, s, path)
		}
	case *iceberg.ListType:
		if s, ok := src.(*iceberg.ListType); ok {
			e, err := evolveType(d.Element, s.Element, path+"[]")
			d.Element = e
			return d, err
		}
	case *iceberg.MapType:
		if s, ok := src.(*iceberg.MapType); ok && d.KeyType.Equals(s.KeyType) {
			v, err := evolveType(d.ValueType, s.ValueType, path+"{}")
			d.ValueType = v
			return d, err
		}
	default:
		if dst.Equals(src) {
			return dst, nil
		}
		switch {
		case dst.Equals(iceberg.PrimitiveTypes.Int32) && src.Equals(iceberg.PrimitiveTypes.Int64),
			dst.Equals(iceberg.PrimitiveTypes.Float32) && src.Equals(iceberg.PrimitiveTypes.Float64):
			return src, nil // the column widens
		case dst.Equals(iceberg.PrimitiveTypes.Int64) && src.Equals(iceberg.PrimitiveTypes.Int32),
			dst.Equals(iceberg.PrimitiveTypes.Float64) && src.Equals(iceberg.PrimitiveTypes.Float32):
			return dst, nil // the values widen
		}
		dd, ok1 := dst.(iceberg.DecimalType)
		sd, ok2 := src.(iceberg.DecimalType)
		if ok1 && ok2 && dd.Scale() == sd.Scale() {
			if sd.Precision() > dd.Precision() {
				return src, nil
			}
			return dst, nil
		}
	}
	return dst, fmt.Errorf("field %q: the column is %s, the schema has %s", path, dst, src)
}

// fieldIndex finds a field by name (ignoring case with fold); -1 if none.
func fieldIndex(st *iceberg.StructType, name string, fold bool) int {
	for i, f := range st.FieldList {
		if f.Name == name || (fold && strings.EqualFold(f.Name, name)) {
			return i
		}
	}
	return -1
}

// cloneType deep-copies the nested types of t (primitives are values).
func cloneType(t iceberg.Type) iceberg.Type {
	switch t := t.(type) {
	case *iceberg.StructType:
		c := &iceberg.StructType{FieldList: make([]iceberg.NestedField, len(t.FieldList))}
		for i, f := range t.FieldList {
			f.Type = cloneType(f.Type)
			c.FieldList[i] = f
		}
		return c
	case *iceberg.ListType:
		c := *t
		c.Element = cloneType(t.Element)
		return &c
	case *iceberg.MapType:
		c := *t
		c.ValueType = cloneType(t.ValueType)
		return &c
	}
	return t
}

// optional returns a copy of t in which nothing is required: the type of a
// column floe adds.
func optional(t iceberg.Type) iceberg.Type {
	switch t := t.(type) {
	case *iceberg.StructType:
		c := &iceberg.StructType{FieldList: make([]iceberg.NestedField, len(t.FieldList))}
		for i, f := range t.FieldList {
			f.Type, f.Required, f.ID = optional(f.Type), false, 0
			c.FieldList[i] = f
		}
		return c
	case *iceberg.ListType:
		return &iceberg.ListType{Element: optional(t.Element)}
	case *iceberg.MapType:
		return &iceberg.MapType{KeyType: t.KeyType, ValueType: optional(t.ValueType)}
	}
	return t
}

// schemaChange is a column to add (with its type) or to widen.
type schemaChange struct {
	path []string
	typ  iceberg.Type
	add  bool
}

// diffStruct lists what turns have into want (which evolveStruct made from
// it): added columns and widened ones.
func diffStruct(have, want *iceberg.StructType, path []string, out *[]schemaChange) {
	for _, wf := range want.FieldList {
		p := append(path[:len(path):len(path)], wf.Name)
		i := fieldIndex(have, wf.Name, false)
		if i < 0 {
			*out = append(*out, schemaChange{path: p, typ: wf.Type, add: true})
			continue
		}
		diffType(have.FieldList[i].Type, wf.Type, p, out)
	}
}

func diffType(have, want iceberg.Type, path []string, out *[]schemaChange) {
	switch h := have.(type) {
	case *iceberg.StructType:
		diffStruct(h, want.(*iceberg.StructType), path, out)
	case *iceberg.ListType:
		diffType(h.Element, want.(*iceberg.ListType).Element, append(path[:len(path):len(path)], "element"), out)
	case *iceberg.MapType:
		diffType(h.ValueType, want.(*iceberg.MapType).ValueType, append(path[:len(path):len(path)], "value"), out)
	default:
		if !have.Equals(want) {
			*out = append(*out, schemaChange{path: path, typ: want})
		}
	}
}

// freshSchema numbers the fields of st from 1: the schema of a new table.
func freshSchema(st *iceberg.StructType) (*iceberg.Schema, error) {
	id := 0
	return iceberg.AssignFreshSchemaIDs(iceberg.NewSchema(0, st.FieldList...), func() int { id++; return id })
}

// stage stages on tx the batch in one snapshot with props: it creates the
// table (laid out as b.layout says) or evolves its schema and layout, then
// appends the records, read straight into Arrow.
func (b *avroBatch) stage(ctx context.Context, tx *catalog.Tx, log *slog.Logger, props map[string]string) error {
	lay := b.layout
	if !tx.Exists() {
		sc, err := freshSchema(b.work)
		if err != nil {
			return err
		}
		if err := lay.createTable(ctx, tx, log, sc); err != nil {
			return err
		}
	}
	var changes []schemaChange
	if b.t != nil {
		diffStruct(&iceberg.StructType{FieldList: b.t.Schema().Fields()}, b.work, nil, &changes)
	}
	if len(changes) > 0 {
		err := tx.EvolveSchema(func(us *table.UpdateSchema) {
			for _, c := range changes {
				if c.add {
					us.AddColumn(c.path, c.typ, "", false, nil)
				} else {
					us.UpdateColumn(c.path, table.ColumnUpdate{FieldType: iceberg.Optional[iceberg.Type]{Val: c.typ, Valid: true}})
				}
			}
		})
		if err != nil {
			return err
		}
	}
	if err := lay.apply(tx, log); err != nil {
		return err
	}
	l, err := tx.Layout()
	if err != nil {
		return err
	}
	rec, err := b.build(l.Schema)
	if err != nil {
		return err
	}
	defer rec.Release()
	return tx.Append(ctx, rec, sliceRows(rec, l.TargetFileSize()), props)
}

// build reads the good records into one Arrow record batch of schema sc.
func (b *avroBatch) build(sc *iceberg.Schema) (arrow.RecordBatch, error) {
	asc, err := table.SchemaToArrowSchema(sc, nil, true, false)
	if err != nil {
		return nil, fmt.Errorf("arrow schema: %w", err)
	}
	rb := array.NewRecordBuilder(memory.DefaultAllocator, asc)
	defer rb.Release()
	cols := rb.Fields()
	w := newAvroWalker(b.maxBytes)
	for _, r := range b.good {
		_, payload, _ := confluentFrame(r.value)
		if err := w.value(r.avro.schema, payload, cols, asc.Fields()); err != nil {
			// The record passed the same walk when it was consumed: only
			// a bug gets here. The builders hold part of the record, so
			// the commit fails; the record is marked bad and the next
			// attempt sends it to the dead-letter table instead of
			// failing forever.
			r.bad = fmt.Sprintf("schema id %d: %v", r.avro.id, err)
			return nil, fmt.Errorf("offset %d: %w", r.offset, err)
		}
	}
	return rb.NewRecordBatch(), nil
}
