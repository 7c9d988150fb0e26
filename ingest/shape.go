package ingest

import (
	"fmt"
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
	cBool
	cTimestamp // timestamptz (or timestamp): RFC 3339 strings
	cString
	cStruct
	cList
	cOther // a type floe does not write (int, date, map, ...): only nulls fit
)

// node is one column of a schema being merged: the table's existing columns
// and those that the requests of a batch add.
type node struct {
	kind     colKind
	typ      iceberg.Type // existing columns: the table's type
	required bool         // existing columns only; added columns are optional
	added    bool         // added by a request, not yet in the table

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
	case iceberg.Float64Type:
		n.kind = cDouble
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
// A JSON integer widens into a double column and an RFC 3339 string is
// still a string; nothing else converts.
func (n *node) accepts(k kind) bool {
	switch k {
	case kNull:
		return true
	case kInt:
		return n.kind == cLong || n.kind == cDouble
	case kFloat:
		return n.kind == cDouble
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

// merge checks the request summary o against the schema tree root and adds
// the columns the request introduces (marked added). It returns the error of
// the earliest offending line, if any; then root may be partly extended and
// must be discarded.
func merge(root *node, o *obs) *RecordError {
	var es errs
	mergeStruct(root, o, "", &es)
	return es.e
}

func mergeStruct(n *node, o *obs, path string, es *errs) {
	for _, of := range o.fields {
		p := joinPath(path, of.name)
		if f := n.lookup(of.name); f != nil {
			if f.n.required && of.o.firstMissing != 0 {
				es.add(typeError(of.o.firstMissing, p, "required field is missing"))
			}
			check(f.n, of.o, p, es)
			continue
		}
		// SQL folds identifier case: "HR" beside "hr" could not be told
		// apart by a query.
		if other := n.lookupFold(of.name); other != nil {
			es.add(typeError(of.o.firstLine(), p, fmt.Sprintf("field name differs only in case from column %q", other.name)))
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

// check checks values summarised by o against the existing column n and
// merges nested additions into n.
func check(n *node, o *obs, path string, es *errs) {
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
	case cStruct:
		if o.seen(kObject) {
			mergeStruct(n, o, path, es)
		}
	case cList:
		if o.elem != nil {
			if n.elemRequired && o.elem.seen(kNull) {
				es.add(typeError(o.elem.first[kNull], path+"[]", "required element is null"))
			}
			e := *o.elem
			e.first[kNull] = 0
			check(n.elem, &e, path+"[]", es)
		}
	}
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
	var es errs
	for k := kInt; k < numKinds; k++ {
		if o.first[k] != 0 && !n.accepts(k) {
			es.add(typeError(o.first[k], path, fmt.Sprintf("expected %s, got %s", n.typeName(), k.name())))
		}
	}
	switch n.kind {
	case cStruct:
		mergeStruct(n, o, path, &es)
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
	if !n.added && n.typ != nil {
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

// addition is a column to add to an existing table: its path (list elements
// step through "element") and type.
type addition struct {
	path []string
	typ  iceberg.Type
}

// additions lists the columns added to root, outermost first, in order of
// appearance.
func additions(root *node) []addition {
	var out []addition
	id := 0
	next := func() int { id++; return id }
	var walk func(n *node, path []string)
	walk = func(n *node, path []string) {
		switch n.kind {
		case cStruct:
			for _, f := range n.fields {
				p := append(path[:len(path):len(path)], f.name)
				if f.n.added {
					out = append(out, addition{path: p, typ: f.n.icebergType(next)})
					continue
				}
				walk(f.n, p)
			}
		case cList:
			walk(n.elem, append(path[:len(path):len(path)], "element"))
		}
	}
	walk(root, nil)
	return out
}
