package ingest

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/iceberg-go"

	"github.com/floe-dev/floe/catalog"
)

// checkKey checks the key of a debezium-json stream: column names, each
// once, and a partition spec whose columns are all key columns (see
// keyFieldIDs).
func checkKey(s KafkaStream) error {
	for i, name := range s.Key {
		switch {
		case name == "" || strings.Contains(name, "."):
			return fmt.Errorf("key[%d] %q: a key column is a top-level column name", i, name)
		case slices.Contains(s.Key[:i], name):
			return fmt.Errorf("key[%d] %q: repeated", i, name)
		}
	}
	if len(s.Key) == 0 {
		return nil
	}
	fields, err := ParsePartitionBy(s.PartitionBy)
	if err != nil {
		return fmt.Errorf("partition_by%w", err)
	}
	return partitionOnKey(fields, s.Key)
}

// partitionOnKey checks that every partition_by column is a key column:
// all rows of a key are then in one partition, the one its equality
// delete goes to.
func partitionOnKey(fields []PartitionField, key []string) error {
	for _, f := range fields {
		if !slices.Contains(key, f.Source) {
			return fmt.Errorf("partition_by %q: a debezium-json table can be partitioned by key columns only (key %v)", f.text, key)
		}
	}
	return nil
}

// attemptDebezium is the part of attempt (kafka.go) after the dead letters
// of the batch are known, for a debezium-json stream: merge the after
// images (and the keys of deletes) into the table's schema, commit the
// dead letters, reduce the events to the latest state per key (dedupe),
// then commit the rows and an equality delete on the key columns in one
// snapshot.
func (k *Kafka) attemptDebezium(ctx context.Context, tx *catalog.Tx, s *kstream, root *node, offs map[string]int64, dl *deadLetters, parts []*kpart, good, bad []*krec, res *kafkaCommit) error {
	ns, name := s.cfg.Namespace, s.cfg.Table
	t := tx.Base()
	if s.layout != nil && len(good) > 0 {
		// A key learned from the record keys is known only now.
		if err := partitionOnKey(s.layout.partition, s.dbz.key); err != nil {
			return fmt.Errorf("%w: %w", errLayout, err)
		}
	}
	fixed := s.cfg.FixedSchema && t != nil
	if !fixed {
		s.layout.seedColumns(root)
	}
	root, good, rejects := mergeRecords(root, good, s.layout.merge(fixed))
	bad = append(bad, rejects...)
	if len(bad) > 0 {
		if err := k.commitDeadLetters(ctx, ns, name+RejectedSuffix, dl, parts, bad); err != nil {
			return err
		}
	}
	res.rejected = len(bad)
	rows, dels := dedupe(good)
	if len(rows) == 0 && (t == nil || t.SnapshotID() == 0) {
		// Only deletes, and no rows to delete: nothing for the main
		// table (as when every record was rejected, a later commit
		// carries these offsets; re-reading them applies nothing).
		return nil
	}

	for _, p := range parts {
		offs[offsetKey(p.topic, p.partition)] = p.next
	}
	props := map[string]string{
		"floe.source":   "kafka",
		OffsetsProperty: encodeOffsets(offs),
	}
	images := make([]value, len(rows))
	for i, r := range rows {
		images[i] = r.v
	}
	if err := stageChanges(ctx, tx, k.log, root, pendingOf(images), pendingOf(dels), s.dbz.key, props, s.layout); err != nil {
		return err
	}
	res.rows = len(good)
	return nil
}

// pendingOf wraps objects as one pending request, the shape buildRecord
// takes.
func pendingOf(vs []value) []*pending {
	recs := make([]record, len(vs))
	for i, v := range vs {
		recs[i] = record{line: int32(i + 1), v: v}
	}
	return []*pending{{records: recs}}
}

// keyFieldIDs returns the field ids of the key columns of t and checks
// that equality deletes on them find every row of a key: each key column
// exists and is a primitive that is not floating-point (Iceberg compares
// no others), every partition field of t takes its value from key columns
// (a key's rows then live in the partition its delete goes to), and t has
// only ever had one partition spec (deletes reach only the files of their
// own spec). Otherwise the stream pauses (errLayout) until its
// configuration or table changes.
func keyFieldIDs(t catalog.Layout, key []string) ([]int, error) {
	sc := t.Schema
	ids := make([]int, len(key))
	for i, name := range key {
		f, ok := sc.FindFieldByName(name)
		if !ok {
			return nil, fmt.Errorf("%w: key column %q is not in the table", errLayout, name)
		}
		switch f.Type.(type) {
		case iceberg.Float32Type, iceberg.Float64Type:
			return nil, fmt.Errorf("%w: key column %q is a %s column; equality deletes cannot compare floating-point columns", errLayout, name, f.Type)
		case iceberg.PrimitiveType:
		default:
			return nil, fmt.Errorf("%w: key column %q is a %s column, not a single value", errLayout, name, f.Type)
		}
		ids[i] = f.ID
	}
	if len(t.Specs) > 1 {
		return nil, fmt.Errorf("%w: the table's partition spec has changed; equality deletes would not reach the files of the earlier spec", errLayout)
	}
	for _, pf := range t.Spec.Fields() {
		if !slices.Contains(ids, pf.SourceID()) {
			col, _ := sc.FindColumnName(pf.SourceID())
			return nil, fmt.Errorf("%w: the table is partitioned by %s(%s), which is not a key column %v", errLayout, pf.Transform, col, key)
		}
	}
	return ids, nil
}
