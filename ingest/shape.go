package ingest

import (
	"fmt"
	"math"
	"strings"

	"github.com/apache/iceberg-go"
)

// obs summarises what one request's records hold at one field path: which
// kinds of value occur and on which line each kind occurs first. Schema
// inference and type checks work on this summary, so the committer can merge
// a request into a table's schema without walking its records again.
type obs struct {
	first [numKinds]int32 // 1-based line where each kind occurs first; 0: never

	// Objects at this path.
	objects int32       // how many objects were seen (a serial for stamps)
	fields  []*obsField // members in order of first appearance
	index   map[string]*obsField

	// Arrays at this path: the merged summary of all their elements.
	elem *obs

	// As a member of an object: the first line where an object at the parent
	// path lacked this member, and the parent's object serial that last had it.
	firstMissing int32
	stamp        int32

	// Numbers that a narrower column cannot hold: the first line of an
	// integer outside the int range, and of a number that a float cannot
	// hold exactly. They decide whether an int or float column must be
	// promoted to long or double.
	firstWide, firstInexact int32
}

type obsField struct {
	name string
	o    *obs
}

func (o *obs) seen(k kind) bool { return o.first[k] != 0 }

// firstLine is the first line where anything was seen at this path.
func (o *obs) firstLine() int32 {
	var line int32
	for _, l := range o.first {
		if l != 0 && (line == 0 || l < line) {
			line = l
		}
	}
	return line
}

// nonNull reports whether any value other than null was seen.
func (o *obs) nonNull() bool {
	for k := kInt; k < numKinds; k++ {
		if o.first[k] != 0 {
			return true
		}
	}
	return false
}

// observe adds value v on line to the summary. It rejects member names that
// cannot be column names and duplicate members, reporting the path.
func (o *obs) observe(v *value, line int32, path string) *RecordError {
	if o.first[v.kind] == 0 {
		o.first[v.kind] = line
	}
	switch v.kind {
	case kInt:
		// Every integer within ±2^24 is a float (and an int); past that,
		// few are floats. Once both lines are known there is nothing to do.
		if i := v.int(); (o.firstInexact == 0 || o.firstWide == 0) && (i < -1<<24 || i > 1<<24) {
			if o.firstInexact == 0 {
				o.firstInexact = line
			}
			if o.firstWide == 0 && (i < math.MinInt32 || i > math.MaxInt32) {
				o.firstWide = line
			}
		}
	case kFloat:
		if f := v.float(); o.firstInexact == 0 && float64(float32(f)) != f {
			o.firstInexact = line
		}
	case kObject:
		o.objects++
		serial := o.objects
		for i := range v.kids {
			m := &v.kids[i]
			var f *obsField
			if i < len(o.fields) && o.fields[i].name == m.name {
				f = o.fields[i] // members usually come in the same order
			} else {
				f = o.index[m.name]
			}
			if f == nil {
				if m.name == "" || strings.Contains(m.name, ".") {
					return typeError(line, joinPath(path, m.name), "field names must not be empty or contain '.'")
				}
				f = &obsField{name: m.name, o: &obs{}}
				if serial > 1 {
					// Every earlier object here lacked this member.
					f.o.firstMissing = o.first[kObject]
				}
				if o.index == nil {
					o.index = map[string]*obsField{}
				}
				o.index[m.name] = f
				o.fields = append(o.fields, f)
			} else if f.o.stamp == serial {
				return typeError(line, joinPath(path, m.name), "duplicate field")
			}
			f.o.stamp = serial
			if err := f.o.observe(&m.v, line, joinPath(path, m.name)); err != nil {
				return err
			}
		}
		if len(v.kids) < len(o.fields) {
			for _, f := range o.fields {
				if f.o.stamp != serial && f.o.firstMissing == 0 {
					f.o.firstMissing = line
				}
			}
		}
	case kArray:
		if o.elem == nil {
			o.elem = &obs{}
		}
		for i := range v.kids {
			if err := o.elem.observe(&v.kids[i].v, line, path+"[]"); err != nil {
				return err
			}
		}
	}
	return nil
}

func joinPath(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// colKind is the kind of column a node stands for.
type colKind uint8

const (
	cLong colKind = iota
	cDouble
	cInt   // int: integers that fit, until a wider one promotes it to long
	cFloat // float: numbers it holds exactly, until another promotes it to double
	cBool
	cTimestamp // timestamptz (or timestamp): RFC 3339 strings
	cString
	cStruct
	cList
	cOther // a type floe does not write (date, decimal, map, ...): only nulls fit
)

// node is one column of a schema being merged: the table's existing columns
// and those that the requests of a batch add.
type node struct {
	kind     colKind
	typ      iceberg.Type // existing columns: the table's type
	required bool         // existing columns only; added columns are optional
	added    bool         // added by a request, not yet in the table
	promoted bool         // an existing int or float column that becomes long or double

	fields []*field // cStruct, and the root
	byName map[string]*field

	elem         *node // cList
	elemRequired bool
}

type field struct {
	name string
	n    *node
}

func (n *node) lookup(name string) *field {
	if n.byName == nil {
		return nil
	}
	return n.byName[name]
}

// lookupFold finds a field whose name equals name ignoring case.
func (n *node) lookupFold(name string) *field {
	for _, f := range n.fields {
		if strings.EqualFold(f.name, name) {
			return f
		}
	}
	return nil
}

func (n *node) addField(name string, c *node) {
	if n.byName == nil {
		n.byName = map[string]*field{}
	}
	f := &field{name: name, n: c}
	n.fields = append(n.fields, f)
	n.byName[name] = f
}

// schemaNode builds the merge tree of sc; sc may be nil (no table yet).
func schemaNode(sc *iceberg.Schema) *node {
	root := &node{kind: cStruct}
	if sc == nil {
		return root
	}
	for _, f := range sc.Fields() {
		root.addField(f.Name, typeNode(f.Type, f.Required))
	}
	return root
}

func typeNode(t iceberg.Type, required bool) *node {
	n := &node{typ: t, required: required}
	switch t := t.(type) {
	case iceberg.Int64Type:
		n.kind = cLong
	case iceberg.Int32Type:
		n.kind = cInt
	case iceberg.Float64Type:
		n.kind = cDouble
	case iceberg.Float32Type:
		n.kind = cFloat
	case iceberg.BooleanType:
		n.kind = cBool
	case iceberg.TimestampTzType, iceberg.TimestampType:
		n.kind = cTimestamp
	case iceberg.StringType:
		n.kind = cString
	case *iceberg.StructType:
		n.kind = cStruct
		for _, f := range t.FieldList {
			n.addField(f.Name, typeNode(f.Type, f.Required))
		}
	case *iceberg.ListType:
		n.kind = cList
		n.elem = typeNode(t.Element, t.ElementRequired)
		n.elemRequired = t.ElementRequired
	default:
		n.kind = cOther
	}
	return n
}

// typeName names the column type in error messages.
func (n *node) typeName() string {
	switch n.kind {
	case cLong:
		return "long"
	case cDouble:
		return "double"
	case cInt:
		return "int"
	case cFloat:
		return "float"
	case cBool:
		return "boolean"
	case cTimestamp:
		if n.typ != nil {
			return n.typ.String()
		}
		return "timestamptz"
	case cString:
		return "string"
	case cStruct:
		return "struct"
	case cList:
		return "list"
	}
	if n.typ != nil {
		return n.typ.String()
	}
	return "unknown"
}

// accepts reports whether a value of kind k may be written to the column.
// A JSON integer widens into a double or float column and an RFC 3339
// string is still a string; nothing else converts. Whether an int or float
// column can hold the very values is checked apart (see check).
func (n *node) accepts(k kind) bool {
	switch k {
	case kNull:
		return true
	case kInt:
		return n.kind == cLong || n.kind == cDouble || n.kind == cInt || n.kind == cFloat
	case kFloat:
		return n.kind == cDouble || n.kind == cFloat
	case kBool:
		return n.kind == cBool
	case kTime:
		return n.kind == cTimestamp || n.kind == cString
	case kString:
		return n.kind == cString
	case kObject:
		return n.kind == cStruct
	case kArray:
		return n.kind == cList
	}
	return false
}

// errs keeps the error with the smallest line number, so a request is
// rejected for its first bad line whatever order the checks run in.
type errs struct{ e *RecordError }

func (es *errs) add(e *RecordError) {
	if e != nil && (es.e == nil || e.Line < es.e.Line) {
		es.e = e
	}
}

// merger is one merge of a request into a schema: whether it may change the
// schema, and the error of the earliest offending line.
type merger struct {
	// fixed: schema evolution is off. A field the table lacks, or a value
	// that would promote a column, is an error instead.
	fixed bool
	errs
}

// merge checks the request summary o against the schema tree root, adds
// the columns the request introduces (marked added) and promotes int and
// float columns that receive values they cannot hold (marked promoted). It
// returns the error of the earliest offending line, if any; then root may
// be partly changed and must be discarded.
func merge(root *node, o *obs) *RecordError {
	m := merger{}
	m.mergeStruct(root, o, "")
	return m.e
}

// mergeFixed is merge with schema evolution off: root does not change,
// and what would change it is an error.
func mergeFixed(root *node, o *obs) *RecordError {
	m := merger{fixed: true}
	m.mergeStruct(root, o, "")
	return m.e
}

func (m *merger) mergeStruct(n *node, o *obs, path string) {
	es := &m.errs
	for _, of := range o.fields {
		p := joinPath(path, of.name)
		if f := n.lookup(of.name); f != nil {
			if f.n.required && of.o.firstMissing != 0 {
				es.add(typeError(of.o.firstMissing, p, "required field is missing"))
			}
			m.check(f.n, of.o, p)
			continue
		}
		// SQL folds identifier case: "HR" beside "hr" could not be told
		// apart by a query.
		if other := n.lookupFold(of.name); other != nil {
			es.add(typeError(of.o.firstLine(), p, fmt.Sprintf("field name differs only in case from column %q", other.name)))
			continue
		}
		if m.fixed {
			// Nulls and empty objects carry nothing to lose: they are
			// left out, as the writer leaves out fields without a column.
			if line := firstData(of.o); line != 0 {
				es.add(typeError(line, p, "the table has no such column and schema evolution is off"))
			}
			continue
		}
		c, err := infer(of.o, p)
		if err != nil {
			es.add(err)
			continue
		}
		if c != nil {
			n.addField(of.name, c)
		}
	}
	// Required columns the request never mentions.
	if o.objects > 0 {
		for _, f := range n.fields {
			if f.n.required && o.index[f.name] == nil {
				es.add(typeError(o.first[kObject], joinPath(path, f.name), "required field is missing"))
			}
		}
	}
}

// firstData returns the first line where o holds anything but nulls and
// objects or arrays of nothing (0: nowhere).
func firstData(o *obs) int32 {
	var line int32
	at := func(l int32) {
		if l != 0 && (line == 0 || l < line) {
			line = l
		}
	}
	for k := kInt; k <= kString; k++ {
		at(o.first[k])
	}
	for _, f := range o.fields {
		at(firstData(f.o))
	}
	if o.elem != nil {
		at(firstData(o.elem))
	}
	return line
}

// check checks values summarised by o against the existing column n and
// merges nested additions and promotions into n.
func (m *merger) check(n *node, o *obs, path string) {
	es := &m.errs
	for k := kNull; k < numKinds; k++ {
		if o.first[k] == 0 {
			continue
		}
		if k == kNull && n.required {
			es.add(typeError(o.first[k], path, "required field is null"))
			continue
		}
		if !n.accepts(k) {
			es.add(typeError(o.first[k], path, fmt.Sprintf("expected %s, got %s", n.typeName(), k.name())))
		}
	}
	switch n.kind {
	case cInt:
		if o.firstWide != 0 && o.seen(kInt) {
			m.promote(n, cLong, o.firstWide, path)
		}
	case cFloat:
		if o.firstInexact != 0 && (o.seen(kInt) || o.seen(kFloat)) {
			m.promote(n, cDouble, o.firstInexact, path)
		}
	case cStruct:
		if o.seen(kObject) {
			m.mergeStruct(n, o, path)
		}
	case cList:
		if o.elem != nil {
			if n.elemRequired && o.elem.seen(kNull) {
				es.add(typeError(o.elem.first[kNull], path+"[]", "required element is null"))
			}
			e := *o.elem
			e.first[kNull] = 0
			m.check(n.elem, &e, path+"[]")
		}
	}
}

// promote widens the int or float column n to long or double (the type
// promotions Iceberg allows) for a value on line that n cannot hold.
func (m *merger) promote(n *node, to colKind, line int32, path string) {
	if m.fixed {
		m.add(typeError(line, path, fmt.Sprintf("value does not fit %s, and schema evolution is off (it would promote the column to %s)",
			n.typeName(), (&node{kind: to}).typeName())))
		return
	}
	n.kind, n.promoted = to, true
}

// infer derives the column type of a new field from the values seen. It
// returns nil (no column) when the values carry no type at all: objects
// that are always empty, or arrays holding only such objects.
func infer(o *obs, path string) (*node, *RecordError) {
	// The type is set by the earliest non-null kind; compatible kinds widen
	// it (long to double, timestamptz to string), others conflict.
	primary, line := kNull, int32(0)
	for k := kInt; k < numKinds; k++ {
		if l := o.first[k]; l != 0 && (line == 0 || l < line) {
			primary, line = k, l
		}
	}
	n := &node{added: true}
	switch primary {
	case kNull:
		n.kind = cString // only ever null
	case kInt, kFloat:
		n.kind = cLong
		if o.seen(kFloat) {
			n.kind = cDouble
		}
	case kBool:
		n.kind = cBool
	case kTime, kString:
		n.kind = cTimestamp
		if o.seen(kString) {
			n.kind = cString
		}
	case kObject:
		n.kind = cStruct
	case kArray:
		n.kind = cList
	}
	m := merger{}
	es := &m.errs
	for k := kInt; k < numKinds; k++ {
		if o.first[k] != 0 && !n.accepts(k) {
			es.add(typeError(o.first[k], path, fmt.Sprintf("expected %s, got %s", n.typeName(), k.name())))
		}
	}
	switch n.kind {
	case cStruct:
		m.mergeStruct(n, o, path)
		if es.e == nil && len(n.fields) == 0 {
			return nil, nil
		}
	case cList:
		if o.elem == nil || !o.elem.nonNull() {
			n.elem = &node{kind: cString, added: true}
			break
		}
		e, err := infer(o.elem, path+"[]")
		es.add(err)
		if es.e == nil && e == nil {
			return nil, nil
		}
		n.elem = e
	}
	if es.e != nil {
		return nil, es.e
	}
	return n, nil
}

// icebergType returns the Iceberg type of a column. Field ids of added
// columns are placeholders: AddColumn and table creation assign real ones.
func (n *node) icebergType(nextID func() int) iceberg.Type {
	if !n.added && !n.promoted && n.typ != nil {
		return n.typ
	}
	switch n.kind {
	case cLong:
		return iceberg.PrimitiveTypes.Int64
	case cDouble:
		return iceberg.PrimitiveTypes.Float64
	case cBool:
		return iceberg.PrimitiveTypes.Bool
	case cTimestamp:
		return iceberg.PrimitiveTypes.TimestampTz
	case cStruct:
		st := &iceberg.StructType{}
		for _, f := range n.fields {
			st.FieldList = append(st.FieldList, iceberg.NestedField{
				ID: nextID(), Name: f.name, Type: f.n.icebergType(nextID), Required: false,
			})
		}
		return st
	case cList:
		id := nextID()
		return &iceberg.ListType{ElementID: id, Element: n.elem.icebergType(nextID), ElementRequired: false}
	}
	return iceberg.PrimitiveTypes.String
}

// newSchema returns the schema of a table created from root, with field ids
// numbered from 1 in order of appearance.
func newSchema(root *node) *iceberg.Schema {
	id := 0
	next := func() int { id++; return id }
	fields := make([]iceberg.NestedField, 0, len(root.fields))
	for _, f := range root.fields {
		fid := next()
		fields = append(fields, iceberg.NestedField{ID: fid, Name: f.name, Type: f.n.icebergType(next)})
	}
	return iceberg.NewSchema(0, fields...)
}

// addition is a column to add to an existing table, or an existing column
// to promote: its path (list elements step through "element") and type.
type addition struct {
	path []string
	typ  iceberg.Type
}

// additions lists the columns added to root, outermost first, in order of
// appearance, and the existing columns it promotes.
func additions(root *node) (adds, promotions []addition) {
	id := 0
	next := func() int { id++; return id }
	var walk func(n *node, path []string)
	walk = func(n *node, path []string) {
		switch n.kind {
		case cStruct:
			for _, f := range n.fields {
				p := append(path[:len(path):len(path)], f.name)
				if f.n.added {
					adds = append(adds, addition{path: p, typ: f.n.icebergType(next)})
					continue
				}
				if f.n.promoted {
					promotions = append(promotions, addition{path: p, typ: f.n.icebergType(next)})
				}
				walk(f.n, p)
			}
		case cList:
			p := append(path[:len(path):len(path)], "element")
			if n.elem.promoted {
				promotions = append(promotions, addition{path: p, typ: n.elem.icebergType(next)})
			}
			walk(n.elem, p)
		}
	}
	walk(root, nil)
	return adds, promotions
}
