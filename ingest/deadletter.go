package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/floe-dev/floe/catalog"
)

// deadLetterSchema is the schema of a `<table>__rejected` table: one row per
// record that could not be written, with its raw key and value, where it
// came from and why it was rejected.
func deadLetterSchema() *iceberg.Schema {
	return iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "topic", Type: iceberg.PrimitiveTypes.String},
		iceberg.NestedField{ID: 2, Name: "partition", Type: iceberg.PrimitiveTypes.Int64},
		iceberg.NestedField{ID: 3, Name: "offset", Type: iceberg.PrimitiveTypes.Int64},
		iceberg.NestedField{ID: 4, Name: "timestamp", Type: iceberg.PrimitiveTypes.TimestampTz},
		iceberg.NestedField{ID: 5, Name: "key", Type: iceberg.PrimitiveTypes.Binary},
		iceberg.NestedField{ID: 6, Name: "value", Type: iceberg.PrimitiveTypes.Binary},
		iceberg.NestedField{ID: 7, Name: "reason", Type: iceberg.PrimitiveTypes.String},
		iceberg.NestedField{ID: 8, Name: "rejected_at", Type: iceberg.PrimitiveTypes.TimestampTz},
	)
}

// deadLetters is what a dead-letter table holds as far as one batch is
// concerned: its table handle (nil if it does not exist), its offsets map,
// and the offsets it already holds within the batch's partitions.
type deadLetters struct {
	t     *catalog.Table // nil: the table does not exist
	offs  map[string]int64
	holds map[string]map[int64]bool // offsetKey → offsets already written
}

func (d *deadLetters) has(topic string, partition int32, offset int64) bool {
	return d.holds[offsetKey(topic, partition)][offset]
}

func toMicros(t time.Time) arrow.Timestamp { return arrow.Timestamp(t.UnixMicro()) }

// loadDeadLetters loads ns.name and, for each partition of the batch whose
// dead-letter offset lies past the batch's first record, reads which
// offsets from there on the table holds. Normally no partition needs that
// read: dead letters run ahead of the main table only after a commit of the
// main table failed or never happened.
func (k *Kafka) loadDeadLetters(ctx context.Context, ns, name string, parts []*kpart) (*deadLetters, error) {
	d := &deadLetters{offs: map[string]int64{}, holds: map[string]map[int64]bool{}}
	t, err := k.cat.Current(ctx, ns, name)
	if errors.Is(err, catalog.ErrNoSuchTable) {
		return d, nil
	}
	if err != nil {
		return nil, err
	}
	d.t = t
	if d.offs, err = tableOffsets(t); err != nil {
		return nil, err
	}
	for _, p := range parts {
		key := offsetKey(p.topic, p.partition)
		first := p.recs[0].offset
		if n, ok := d.offs[key]; !ok || n <= first {
			continue
		}
		held, err := scanOffsets(ctx, t, p.topic, p.partition, first)
		if err != nil {
			return nil, fmt.Errorf("read %s.%s: %w", ns, name, err)
		}
		d.holds[key] = held
	}
	return d, nil
}

// scanOffsets returns the offsets at or after from of topic/partition that
// the dead-letter table t holds.
func scanOffsets(ctx context.Context, t *catalog.Table, topic string, partition int32, from int64) (map[int64]bool, error) {
	filter := iceberg.NewAnd(
		iceberg.EqualTo(iceberg.Reference("topic"), topic),
		iceberg.EqualTo(iceberg.Reference("partition"), int64(partition)),
		iceberg.GreaterThanEqual(iceberg.Reference("offset"), from),
	)
	_, batches, err := t.ReadArrow(ctx, filter, "topic", "partition", "offset")
	if err != nil {
		return nil, err
	}
	held := map[int64]bool{}
	for rec, err := range batches {
		if err != nil {
			return nil, err
		}
		sc := rec.Schema()
		ti, pi, oi := sc.FieldIndices("topic"), sc.FieldIndices("partition"), sc.FieldIndices("offset")
		if len(ti) != 1 || len(pi) != 1 || len(oi) != 1 {
			rec.Release()
			return nil, errors.New("dead-letter table lacks topic, partition or offset")
		}
		tc, ok1 := rec.Column(ti[0]).(*array.String)
		pc, ok2 := rec.Column(pi[0]).(*array.Int64)
		oc, ok3 := rec.Column(oi[0]).(*array.Int64)
		if !ok1 || !ok2 || !ok3 {
			rec.Release()
			return nil, errors.New("dead-letter table has unexpected column types")
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			if tc.Value(i) == topic && pc.Value(i) == int64(partition) && oc.Value(i) >= from {
				held[oc.Value(i)] = true
			}
		}
		rec.Release()
	}
	return held, nil
}

// errDeadLettersMoved: the dead-letter table changed since the batch's
// attempt read it, so what it holds of the batch must be read again.
var errDeadLettersMoved = errors.New("the dead-letter table changed")

// commitDeadLetters appends bad to the dead-letter table ns.name (creating
// it), with its offsets map advanced to the end of the batch for each of
// its partitions. The commit requires the table as d saw it: when another
// writer changed it, the error is a conflict of the main table's attempt,
// which then starts over (and reads the dead letters again).
func (k *Kafka) commitDeadLetters(ctx context.Context, ns, name string, d *deadLetters, parts []*kpart, bad []*krec) error {
	_, err := k.cat.Commit(ctx, ns, name, func(ctx context.Context, tx *catalog.Tx) error {
		switch {
		case d.t == nil && tx.Exists(), d.t != nil && (!tx.Exists() || tx.Base().MetadataLocation() != d.t.MetadataLocation()):
			return errDeadLettersMoved
		case !tx.Exists():
			if err := tx.Create(ctx, deadLetterSchema(), map[string]string{table.ParquetCompressionKey: "zstd"}, nil); err != nil {
				return err
			}
			k.log.Info("kafka: created dead-letter table", "table", ns+"."+name)
		}
		return k.stageDeadLetters(ctx, tx, d, parts, bad)
	})
	if errors.Is(err, errDeadLettersMoved) || catalog.IsConflict(err) {
		return fmt.Errorf("%w: dead letters %s.%s: %w", catalog.ErrConflict, ns, name, err)
	}
	if err != nil {
		return fmt.Errorf("dead letters: %w", err)
	}
	return nil
}

// stageDeadLetters stages the append of bad to the dead-letter table of tx.
func (k *Kafka) stageDeadLetters(ctx context.Context, tx *catalog.Tx, d *deadLetters, parts []*kpart, bad []*krec) error {
	offs := make(map[string]int64, len(d.offs)+len(parts))
	for key, n := range d.offs {
		offs[key] = n
	}
	for _, p := range parts {
		key := offsetKey(p.topic, p.partition)
		offs[key] = max(offs[key], p.next)
	}

	sc, err := tx.Schema()
	if err != nil {
		return err
	}
	asc, err := table.SchemaToArrowSchema(sc, nil, true, false)
	if err != nil {
		return fmt.Errorf("arrow schema: %w", err)
	}
	rb := array.NewRecordBuilder(memory.DefaultAllocator, asc)
	defer rb.Release()
	byName := map[string]int{}
	for i, f := range asc.Fields() {
		byName[f.Name] = i
	}
	// Which partition each bad record belongs to.
	where := map[*krec]*kpart{}
	for _, p := range parts {
		for i := range p.recs {
			where[&p.recs[i]] = p
		}
	}
	now := time.Now()
	for _, r := range bad {
		p := where[r]
		for name, i := range byName {
			b := rb.Field(i)
			switch name {
			case "topic":
				b.(*array.StringBuilder).Append(p.topic)
			case "partition":
				b.(*array.Int64Builder).Append(int64(p.partition))
			case "offset":
				b.(*array.Int64Builder).Append(r.offset)
			case "timestamp":
				b.(*array.TimestampBuilder).Append(toMicros(r.ts))
			case "key":
				if r.key == nil {
					b.AppendNull()
				} else {
					b.(*array.BinaryBuilder).Append(r.key)
				}
			case "value":
				if r.value == nil {
					b.AppendNull()
				} else {
					b.(*array.BinaryBuilder).Append(r.value)
				}
			case "reason":
				b.(*array.StringBuilder).Append(r.bad)
			case "rejected_at":
				b.(*array.TimestampBuilder).Append(toMicros(now))
			default:
				b.AppendNull()
			}
		}
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	props := map[string]string{
		"floe.source":   "kafka",
		OffsetsProperty: encodeOffsets(offs),
	}
	return tx.Append(ctx, rec, 0, props)
}
