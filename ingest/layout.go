package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/floe-dev/floe/catalog"
)

// layout is how a stream lays its table out. The zero value leaves the
// table as it is.
type layout struct {
	// partition is the spec wanted: nil leaves the table's spec alone.
	partition []PartitionField
	// targetFileSize in bytes (0: leave the table's property alone).
	targetFileSize int64
}

// errLayout marks a layout that cannot apply to the table: a partition
// transform that does not fit its column's type. No retry can fix it; the
// configuration must change.
var errLayout = errors.New("table layout does not fit the table")

// seedColumns adds to root, as new timestamptz columns, the source columns
// of time transforms that the table lacks: the records' RFC 3339 strings
// then land in a column day() can partition, even when the first values
// seen are null or not times (those go to the dead-letter table as type
// conflicts instead of turning the column into a string).
func (l *layout) seedColumns(root *node) {
	if l == nil {
		return
	}
	for _, f := range l.partition {
		if isTime(f.Transform) && !strings.Contains(f.Source, ".") && root.lookup(f.Source) == nil && root.lookupFold(f.Source) == nil {
			root.addField(f.Source, &node{kind: cTimestamp, added: true})
		}
	}
}

// merge returns the merge of a stream's records: merge, or mergeFixed when
// schema evolution is off, followed by a check that the columns a record
// adds can be partitioned as the layout says. So a record that would
// create a partition column of the wrong type (a boolean for bucket[N], a
// struct for identity) is rejected alone instead of failing every commit.
func (l *layout) merge(fixed bool) func(*node, *obs) *RecordError {
	m := merge
	if fixed {
		m = mergeFixed
	}
	if l == nil || len(l.partition) == 0 {
		return m
	}
	return func(root *node, o *obs) *RecordError {
		if err := m(root, o); err != nil {
			return err
		}
		return l.checkAdded(root, o)
	}
}

// checkAdded checks the partition source columns that merging o added to
// root against their transforms.
func (l *layout) checkAdded(root *node, o *obs) *RecordError {
	for _, f := range l.partition {
		n, ob, added := root, o, false
		for _, name := range strings.Split(f.Source, ".") {
			fld := n.lookup(name)
			if fld == nil || n.kind != cStruct {
				n = nil
				break
			}
			n, added = fld.n, added || fld.n.added
			if ob != nil && ob.index != nil && ob.index[name] != nil {
				ob = ob.index[name].o
			} else {
				ob = nil
			}
		}
		if n == nil || !added {
			continue
		}
		typ := n.icebergType(func() int { return 0 })
		if !f.Transform.CanTransform(typ) {
			line := int32(1)
			if ob != nil {
				line = max(ob.firstLine(), 1)
			}
			return typeError(line, f.Source, fmt.Sprintf("partition_by %q cannot partition a %s column", f.text, typ))
		}
	}
	return nil
}

// specFields resolves the wanted partition fields against sc. Fields whose
// column sc lacks are left out (records without the column would all have
// a null partition value; the field joins the spec in the commit that adds
// the column). A transform that does not fit its column is an errLayout.
func (l *layout) specFields(sc *iceberg.Schema) ([]resolvedField, error) {
	var out []resolvedField
	for _, f := range l.partition {
		col, ok := sc.FindFieldByName(f.Source)
		if !ok {
			continue
		}
		if !f.Transform.CanTransform(col.Type) {
			return nil, fmt.Errorf("%w: partition_by %q: %s cannot partition column %q of type %s",
				errLayout, f.text, transformName(f.Transform), f.Source, col.Type)
		}
		out = append(out, resolvedField{PartitionField: f, sourceID: col.ID})
	}
	return out, nil
}

type resolvedField struct {
	PartitionField
	sourceID int
}

func (r resolvedField) key() string { return strconv.Itoa(r.sourceID) + "/" + r.Transform.String() }

func transformName(t iceberg.Transform) string {
	s := t.String()
	if i := strings.IndexByte(s, '['); i >= 0 {
		return s[:i]
	}
	return s
}

// newSpec returns the partition spec of a table created with schema sc
// (nil: unpartitioned).
func (l *layout) newSpec(sc *iceberg.Schema) (*iceberg.PartitionSpec, error) {
	if l == nil || len(l.partition) == 0 {
		return nil, nil
	}
	fields, err := l.specFields(sc)
	if err != nil || len(fields) == 0 {
		return nil, err
	}
	opts := make([]iceberg.PartitionOption, len(fields))
	for i, f := range fields {
		name, err := iceberg.GeneratePartitionFieldName(sc, iceberg.PartitionField{SourceIDs: []int{f.sourceID}, Transform: f.Transform})
		if err != nil {
			return nil, fmt.Errorf("%w: partition_by %q: %w", errLayout, f.text, err)
		}
		opts[i] = iceberg.AddPartitionFieldBySourceID(f.sourceID, name, f.Transform, sc, nil)
	}
	spec, err := iceberg.NewPartitionSpecOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: partition_by: %w", errLayout, err)
	}
	return &spec, nil
}

// createTable creates the table of tx with schema sc, laid out as l says
// (l may be nil: unpartitioned, iceberg-go's file sizes). A table another
// writer created first is a conflict: the commit is built again on it.
func (l *layout) createTable(ctx context.Context, tx *catalog.Tx, log *slog.Logger, sc *iceberg.Schema) error {
	props := map[string]string{table.ParquetCompressionKey: "zstd"}
	maps.Copy(props, l.fileProperties())
	spec, err := l.newSpec(sc)
	if err != nil {
		return err
	}
	if err := tx.Create(ctx, sc, props, spec); err != nil {
		return err
	}
	if spec != nil {
		log.Info("ingest: created table", "table", tx.Name(), "partition_by", specString(tx.Base().Layout()))
	} else {
		log.Info("ingest: created table", "table", tx.Name())
	}
	return nil
}

// apply brings the partition spec and file size properties of the table
// tx stages (after its schema changes) in line with l. With l nil it
// changes nothing.
func (l *layout) apply(tx *catalog.Tx, log *slog.Logger) error {
	if l == nil {
		return nil
	}
	staged, err := tx.Layout()
	if err != nil {
		return err
	}
	changed, err := l.evolveSpec(tx, staged)
	if err != nil {
		return err
	}
	setProps := changedProperties(staged.Properties, l.fileProperties())
	if err := tx.SetProperties(setProps); err != nil {
		return err
	}
	if !changed && len(setProps) == 0 {
		return nil
	}
	if staged, err = tx.Layout(); err != nil {
		return err
	}
	log.Info("ingest: changed the table layout", "table", tx.Name(), "partition_by", specString(staged), "properties", setProps)
	return nil
}

// evolveSpec makes the table's spec in tx the wanted one, as a partition
// spec evolution in the same commit: fields the configuration no longer
// names are removed, new ones added. Files written before keep the layout
// they were written with; Iceberg readers plan each file with its own spec.
// It reports whether the spec changed.
func (l *layout) evolveSpec(tx *catalog.Tx, staged catalog.Layout) (bool, error) {
	if l == nil || len(l.partition) == 0 {
		return false, nil
	}
	sc := staged.Schema
	want, err := l.specFields(sc)
	if err != nil {
		return false, err
	}
	wanted := map[string]bool{}
	for _, f := range want {
		wanted[f.key()] = true
	}
	have := map[string]bool{}
	var remove []string
	for _, pf := range staged.Spec.Fields() {
		k := resolvedField{PartitionField: PartitionField{Transform: pf.Transform}, sourceID: pf.SourceID()}.key()
		have[k] = true
		if !wanted[k] {
			remove = append(remove, pf.Name)
		}
	}
	var add []resolvedField
	for _, f := range want {
		if !have[f.key()] {
			add = append(add, f)
		}
	}
	if len(remove) == 0 && len(add) == 0 {
		return false, nil
	}
	err = tx.EvolveSpec(func(us *table.UpdateSpec) *table.UpdateSpec {
		for _, name := range remove {
			us = us.RemoveField(name)
		}
		for _, f := range add {
			col, _ := sc.FindColumnName(f.sourceID)
			us = us.AddField(col, f.Transform, "")
		}
		return us
	})
	if err != nil {
		return false, fmt.Errorf("%w: evolve the partition spec to %s: %w", errLayout, l.describe(), err)
	}
	return true, nil
}

// specString renders the partition spec of l as transform(column) terms,
// for logs: "[day(recorded_at), site_id]"; "[]" when unpartitioned.
func specString(l catalog.Layout) string {
	var parts []string
	for _, f := range l.Spec.Fields() {
		col, _ := l.Schema.FindColumnName(f.SourceID())
		if _, ok := f.Transform.(iceberg.IdentityTransform); ok {
			parts = append(parts, col)
		} else {
			parts = append(parts, f.Transform.String()+"("+col+")")
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// describe renders partition_by as configured.
func (l *layout) describe() string {
	parts := make([]string, len(l.partition))
	for i, f := range l.partition {
		parts[i] = f.text
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// fileProperties returns the table properties that make iceberg-go roll
// data files at the target size: the target itself, a Parquet row group no
// larger and, for small targets, pages and dictionaries well below it. The
// writer learns how large a file is only as they are written out, so
// larger ones would let files grow past the target. Nil when no target is
// set.
func (l *layout) fileProperties() map[string]string {
	if l == nil || l.targetFileSize <= 0 {
		return nil
	}
	target := l.targetFileSize
	// Pages and dictionaries count towards a file's size only once
	// written out; for small targets keep them at a sixteenth of it. All
	// four are set, so that a larger target restores the defaults.
	page := max(target/16, 4<<10)
	return map[string]string{
		table.WriteTargetFileSizeBytesKey: strconv.FormatInt(target, 10),
		table.ParquetRowGroupSizeBytesKey: strconv.FormatInt(min(target, table.ParquetRowGroupSizeBytesDefault), 10),
		table.ParquetPageSizeBytesKey:     strconv.FormatInt(min(page, table.ParquetPageSizeBytesDefault), 10),
		table.ParquetDictSizeBytesKey:     strconv.FormatInt(min(page, table.ParquetDictSizeBytesDefault), 10),
	}
}

// changedProperties returns those of want whose value differs in have.
func changedProperties(have iceberg.Properties, want map[string]string) iceberg.Properties {
	var out iceberg.Properties
	for k, v := range want {
		if have[k] != v {
			if out == nil {
				out = iceberg.Properties{}
			}
			out[k] = v
		}
	}
	return out
}

// Slices handed to the writer: it can roll to a new file only between two
// slices, so a slice is kept well below the target size.
const (
	minSliceRows = 1 << 10
	maxSliceRows = 1 << 16
)

// sliceRows returns how many rows of rec to write at a time for files of
// target bytes: about a quarter of the target by rec's in-memory size (an
// over-estimate of its Parquet size), within [minSliceRows, maxSliceRows].
func sliceRows(rec arrow.RecordBatch, target int64) int64 {
	rows := rec.NumRows()
	if rows == 0 {
		return 1
	}
	var size int64
	for _, col := range rec.Columns() {
		size += arrayBytes(col.Data())
	}
	perRow := max(size/rows, 1)
	return min(max(target/4/perRow, minSliceRows), maxSliceRows)
}

func arrayBytes(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(b.Len())
		}
	}
	for _, c := range d.Children() {
		n += arrayBytes(c)
	}
	return n
}

// newLayout returns the layout of stream s (nil when it sets none).
func newLayout(s KafkaStream) (*layout, error) {
	if len(s.PartitionBy) == 0 && s.TargetFileSize == 0 {
		return nil, nil
	}
	if s.TargetFileSize < 0 {
		return nil, fmt.Errorf("target_file_size %d must not be negative", s.TargetFileSize)
	}
	fields, err := ParsePartitionBy(s.PartitionBy)
	if err != nil {
		return nil, fmt.Errorf("partition_by%w", err)
	}
	return &layout{partition: fields, targetFileSize: s.TargetFileSize}, nil
}
