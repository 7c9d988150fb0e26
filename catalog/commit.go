package catalog

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// OffsetsProperty is the snapshot summary key under which Kafka ingest
// keeps, as JSON, the next offset of every topic-partition a table has
// consumed. Every snapshot committed through Commit carries the value of
// its parent forward unless the operation sets a new one (invariants 5
// and 7): whatever expiry removes, the current snapshot holds the
// offsets.
const OffsetsProperty = "floe.kafka.offsets"

// ErrConflict marks a commit that lost against another writer: the table
// changed between the load the commit was built on and the commit. It is
// safe to build the commit again on the table as it is now. Commit retries
// such commits itself; IsConflict tells callers that see one.
var ErrConflict = errors.New("commit conflict: the table changed concurrently")

// IsConflict reports whether err is a commit that lost against another
// writer and may succeed when built again on a fresh load of the table.
func IsConflict(err error) bool { return errors.Is(err, ErrConflict) }

const (
	// commitAttempts bounds the attempts of one Commit.
	commitAttempts = 10
)

// backoff returns a jittered wait before retry attempt n (n ≥ 1):
// 10 ms … 320 ms.
func backoff(n int) time.Duration {
	d := 10 * time.Millisecond << min(n-1, 5)
	return d/2 + rand.N(d/2)
}

// Commit commits one change to ns.name: build stages it on a Tx over the
// table as it is now (tx.Exists is false while there is no such table;
// build may create it with tx.Create). The commit requires the table to
// be unchanged since that load (compare-and-swap on the main branch); when
// another writer committed first, Commit loads the table again and calls
// build again, up to 10 attempts with backoff, so build must derive
// everything it stages from tx. Errors build returns end the Commit as
// they are, except conflicts (IsConflict).
//
// Commits of one table made through one Catalog are serialised: they never
// conflict with each other, only with other processes. A build that stages
// nothing commits nothing and returns the table as loaded (nil if it does
// not exist).
func (c *Catalog) Commit(ctx context.Context, ns, name string, build func(context.Context, *Tx) error) (*Table, error) {
	unlock := c.lockTable(ns, name)
	defer unlock()
	done := c.writing(ns, name)
	defer done()
	var err error
	for attempt := range commitAttempts {
		if attempt > 0 {
			c.conflicts.Add(1)
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return nil, err
			}
		}
		var base *Table
		base, err = c.current(ctx, ns, name)
		if err != nil && !errors.Is(err, ErrNoSuchTable) {
			return nil, err
		}
		tx := &Tx{cat: c, ns: ns, name: name}
		if base != nil {
			if err := tx.begin(base); err != nil {
				return nil, err
			}
		}
		if err = build(ctx, tx); err == nil {
			var t *Table
			if t, err = tx.commit(ctx); err == nil {
				if tx.op != "" || tx.changed {
					c.committed(ns, name)
				}
				return t, nil
			}
		}
		if !IsConflict(err) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("commit %s.%s: %d attempts lost against other writers: %w", ns, name, commitAttempts, err)
}

// OnCommit registers f to be called after every commit made through this
// Catalog, with the table's namespace and name. f runs on the committing
// goroutine and must not block.
func (c *Catalog) OnCommit(f func(ns, name string)) {
	c.mu.Lock()
	c.listeners = append(c.listeners, f)
	c.mu.Unlock()
}

func (c *Catalog) committed(ns, name string) {
	c.mu.Lock()
	ls := c.listeners
	c.mu.Unlock()
	for _, f := range ls {
		f(ns, name)
	}
}

// Conflicts returns how many commit attempts lost against another writer
// since the Catalog was opened.
func (c *Catalog) Conflicts() int64 { return c.conflicts.Load() }

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// lockTable serialises the commits of ns.name within this Catalog.
func (c *Catalog) lockTable(ns, name string) func() {
	c.mu.Lock()
	l := c.commitLocks[ns+"."+name]
	if l == nil {
		l = &sync.Mutex{}
		c.commitLocks[ns+"."+name] = l
	}
	c.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// writing notes that a writer of ns.name may be writing files that no
// metadata references yet, until done is called (see InFlightSince).
func (c *Catalog) writing(ns, name string) (done func()) {
	key := ns + "." + name
	start := time.Now()
	c.mu.Lock()
	c.inflight[key] = append(c.inflight[key], start)
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		list := c.inflight[key]
		for i, t := range list {
			if t.Equal(start) {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(c.inflight, key)
		} else {
			c.inflight[key] = list
		}
	}
}

// InFlightSince returns when the oldest write to ns.name still under way in
// this process began (a Commit, or a file rewrite of maintenance), and
// whether there is one. Files it writes may not be referenced by any
// metadata yet: orphan removal must spare files younger than that.
func (c *Catalog) InFlightSince(ns, name string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	list := c.inflight[ns+"."+name]
	if len(list) == 0 {
		return time.Time{}, false
	}
	oldest := list[0]
	for _, t := range list[1:] {
		if t.Before(oldest) {
			oldest = t
		}
	}
	return oldest, true
}

// Tx is one attempt at a commit to a table: what Commit's build stages.
// It holds one iceberg-go transaction on the table as loaded for the
// attempt. At most one snapshot-producing operation (Append, RowDelta,
// Rewrite, MergeManifests) may be staged, beside schema, spec and property
// changes and snapshot expiry.
type Tx struct {
	cat      *Catalog
	ns, name string
	base     *Table // the table as loaded; nil while it does not exist
	txn      *table.Transaction
	op       string // the snapshot operation staged, if any
	changed  bool   // other changes are staged (schema, spec, properties, expiry)
}

// begin starts the attempt on base. The transaction requires the main
// branch to be where base has it (a pinned requirement: iceberg-go never
// replays such a commit on a newer head, which would carry base's offsets
// over another writer's), so any commit made since is a conflict.
func (tx *Tx) begin(base *Table) error {
	tx.base = base
	tx.txn = base.ice.NewTransaction()
	if err := tx.txn.AssertRefSnapshotID(table.MainBranch); err != nil {
		return fmt.Errorf("begin commit to %s.%s: %w", tx.ns, tx.name, err)
	}
	return nil
}

// Name returns the table's name, NAMESPACE.TABLE.
func (tx *Tx) Name() string { return tx.ns + "." + tx.name }

// HasSnapshot reports whether a snapshot operation is staged.
func (tx *Tx) HasSnapshot() bool { return tx.op != "" }

// Exists reports whether the table exists (as loaded, or created by Create).
func (tx *Tx) Exists() bool { return tx.base != nil }

// Base returns the table as loaded for this attempt (or as Create made it);
// nil while it does not exist.
func (tx *Tx) Base() *Table { return tx.base }

// Create creates the table with schema sc (fresh field ids are assigned),
// properties props and, when spec is not nil, that partition spec (its
// source ids refer to sc). A table created concurrently by another writer
// is a conflict: Commit builds again on it.
func (tx *Tx) Create(ctx context.Context, sc *iceberg.Schema, props map[string]string, spec *iceberg.PartitionSpec) error {
	if tx.base != nil {
		return fmt.Errorf("create %s.%s: the table exists", tx.ns, tx.name)
	}
	var opts []CreateOption
	if spec != nil {
		opts = append(opts, WithPartitionSpec(spec))
	}
	t, err := tx.cat.CreateTable(ctx, tx.ns, tx.name, sc, props, opts...)
	if errors.Is(err, ErrTableExists) {
		return fmt.Errorf("%w: %s.%s was created by another writer", ErrConflict, tx.ns, tx.name)
	}
	if err != nil {
		return err
	}
	return tx.begin(t)
}

func (tx *Tx) must() error {
	if tx.txn == nil {
		return fmt.Errorf("%w: %s.%s", ErrNoSuchTable, tx.ns, tx.name)
	}
	return nil
}

// staged returns the table as the transaction stages it.
func (tx *Tx) staged() (*table.StagedTable, error) {
	if err := tx.must(); err != nil {
		return nil, err
	}
	return tx.txn.StagedTable()
}

// Schema returns the schema as staged.
func (tx *Tx) Schema() (*iceberg.Schema, error) {
	st, err := tx.staged()
	if err != nil {
		return nil, err
	}
	return st.Schema(), nil
}

// Layout returns the staged table's schema, default partition spec, all
// its partition specs, properties and format version.
func (tx *Tx) Layout() (Layout, error) {
	st, err := tx.staged()
	if err != nil {
		return Layout{}, err
	}
	return layoutOf(st.Metadata()), nil
}

// Layout is what a writer needs to know of a table version.
type Layout struct {
	Schema        *iceberg.Schema
	Spec          iceberg.PartitionSpec
	Specs         []iceberg.PartitionSpec
	Properties    iceberg.Properties
	FormatVersion int
}

func layoutOf(md table.Metadata) Layout {
	return Layout{Schema: md.CurrentSchema(), Spec: md.PartitionSpec(), Specs: md.PartitionSpecs(),
		Properties: md.Properties(), FormatVersion: md.Version()}
}

// TargetFileSize is the size at which the table's data files are rolled
// (write.target-file-size-bytes, iceberg-go's default when unset).
func (l Layout) TargetFileSize() int64 {
	return int64(l.Properties.GetInt(table.WriteTargetFileSizeBytesKey, table.WriteTargetFileSizeBytesDefault))
}

// EvolveSchema stages schema changes: edit adds and promotes columns on
// iceberg-go's schema update, which is then applied.
func (tx *Tx) EvolveSchema(edit func(*table.UpdateSchema)) error {
	if err := tx.must(); err != nil {
		return err
	}
	us := tx.txn.UpdateSchema(true, false)
	edit(us)
	if err := us.Commit(); err != nil {
		return fmt.Errorf("evolve schema: %w", err)
	}
	tx.changed = true
	return nil
}

// EvolveSpec stages a partition spec evolution: edit adds and removes
// fields on iceberg-go's spec update, which is then applied.
func (tx *Tx) EvolveSpec(edit func(*table.UpdateSpec) *table.UpdateSpec) error {
	if err := tx.must(); err != nil {
		return err
	}
	if err := edit(tx.txn.UpdateSpec(true)).Commit(); err != nil {
		return fmt.Errorf("evolve partition spec: %w", err)
	}
	tx.changed = true
	return nil
}

// SetProperties stages table property changes.
func (tx *Tx) SetProperties(props map[string]string) error {
	if err := tx.must(); err != nil {
		return err
	}
	if len(props) == 0 {
		return nil
	}
	if err := tx.txn.SetProperties(props); err != nil {
		return fmt.Errorf("set table properties: %w", err)
	}
	tx.changed = true
	return nil
}

// UpgradeFormatVersion stages an upgrade of the table format.
func (tx *Tx) UpgradeFormatVersion(v int) error {
	if err := tx.must(); err != nil {
		return err
	}
	if err := tx.txn.UpgradeFormatVersion(v); err != nil {
		return fmt.Errorf("upgrade format version to %d: %w", v, err)
	}
	tx.changed = true
	return nil
}

// snapshotOp notes the one snapshot operation of tx and returns props
// with the parent's Kafka offsets carried forward when props sets none.
func (tx *Tx) snapshotOp(op string, props map[string]string) (iceberg.Properties, error) {
	if err := tx.must(); err != nil {
		return nil, err
	}
	if tx.op != "" {
		return nil, fmt.Errorf("commit %s.%s: %s after %s: one snapshot per commit", tx.ns, tx.name, op, tx.op)
	}
	tx.op = op
	out := iceberg.Properties{}
	maps.Copy(out, props)
	if _, ok := out[OffsetsProperty]; !ok {
		if raw, ok := tx.base.carried(OffsetsProperty); ok {
			out[OffsetsProperty] = raw
		}
	}
	return out, nil
}

// Append stages an append of rec's rows, handed to iceberg-go's writer in
// slices of at most sliceRows rows (where it may roll to a new file; 0:
// one slice), as one snapshot whose summary carries props.
func (tx *Tx) Append(ctx context.Context, rec arrow.RecordBatch, sliceRows int64, props map[string]string) error {
	p, err := tx.snapshotOp("append", props)
	if err != nil {
		return err
	}
	var slices []arrow.RecordBatch
	if rows := rec.NumRows(); sliceRows <= 0 || rows <= sliceRows {
		slices = []arrow.RecordBatch{rec}
	} else {
		for lo := int64(0); lo < rows; lo += sliceRows {
			s := rec.NewSlice(lo, min(lo+sliceRows, rows))
			defer s.Release()
			slices = append(slices, s)
		}
	}
	rdr, err := array.NewRecordReader(rec.Schema(), slices)
	if err != nil {
		return err
	}
	defer rdr.Release()
	if err := tx.txn.Append(ctx, rdr, p); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	return nil
}

// WriteDataFiles writes rec as data files of the staged table, in slices
// of at most sliceRows rows (0: one slice), without committing them: for
// RowDelta.
func (tx *Tx) WriteDataFiles(ctx context.Context, rec arrow.RecordBatch, sliceRows int64) ([]iceberg.DataFile, error) {
	st, err := tx.staged()
	if err != nil {
		return nil, err
	}
	rows := rec.NumRows()
	if sliceRows <= 0 {
		sliceRows = max(rows, 1)
	}
	batches := func(yield func(arrow.RecordBatch, error) bool) {
		for lo := int64(0); lo < rows; lo += sliceRows {
			// WriteRecords releases each slice it takes.
			if !yield(rec.NewSlice(lo, min(lo+sliceRows, rows)), nil) {
				return
			}
		}
	}
	var files []iceberg.DataFile
	for df, err := range table.WriteRecords(ctx, st.Table, rec.Schema(), batches) {
		if err != nil {
			return nil, fmt.Errorf("write data files: %w", err)
		}
		files = append(files, df)
	}
	return files, nil
}

// WriteEqualityDeletes writes rec (the key columns of the rows to delete)
// as equality delete files on fieldIDs, without committing them: for
// RowDelta.
func (tx *Tx) WriteEqualityDeletes(ctx context.Context, fieldIDs []int, rec arrow.RecordBatch) ([]iceberg.DataFile, error) {
	if err := tx.must(); err != nil {
		return nil, err
	}
	files, err := tx.txn.WriteEqualityDeletes(ctx, fieldIDs, func(yield func(arrow.RecordBatch, error) bool) { yield(rec, nil) })
	if err != nil {
		return nil, fmt.Errorf("write equality deletes: %w", err)
	}
	return files, nil
}

// RowDelta stages data files and delete files (written by WriteDataFiles
// and WriteEqualityDeletes) as one snapshot whose summary carries props.
func (tx *Tx) RowDelta(ctx context.Context, data, deletes []iceberg.DataFile, props map[string]string) error {
	p, err := tx.snapshotOp("row delta", props)
	if err != nil {
		return err
	}
	rd := tx.txn.NewRowDelta(p)
	rd.AddRows(data...)
	rd.AddDeletes(deletes...)
	if err := rd.Commit(ctx); err != nil {
		return fmt.Errorf("row delta: %w", err)
	}
	return nil
}

// commit commits what tx staged and returns the table as committed.
//
// Whether a failed commit lost against another writer is decided by
// looking at the table afterwards rather than by error text: when the
// table now holds the snapshot this commit made, the commit landed (an
// error after the catalog accepted it); when its metadata moved on
// without it, another writer won (a conflict); otherwise the error is
// the commit's own.
func (tx *Tx) commit(ctx context.Context) (*Table, error) {
	if tx.txn == nil || (tx.op == "" && !tx.changed) {
		return tx.base, nil
	}
	var ours int64
	if tx.op != "" {
		st, err := tx.txn.StagedTable()
		if err != nil {
			return nil, err
		}
		if s := st.CurrentSnapshot(); s != nil {
			ours = s.SnapshotID
		}
	}
	c := tx.cat
	_, err := tx.txn.Commit(ctx)
	// iceberg-go's committed table keeps every earlier metadata version
	// of the table reachable (v0.7.0: 440 MB after 600 one-row commits),
	// so the handle kept is always one loaded from the catalog.
	fresh, lerr := c.reload(ctx, tx.ns, tx.name)
	if err == nil {
		if lerr != nil {
			c.forget(tx.ns, tx.name)
			return nil, fmt.Errorf("commit %s.%s landed, but reloading it failed: %w", tx.ns, tx.name, lerr)
		}
		return fresh, nil
	}
	if lerr != nil {
		return nil, fmt.Errorf("commit %s.%s: %w", tx.ns, tx.name, err)
	}
	if ours != 0 && fresh.ice.Metadata().SnapshotByID(ours) != nil {
		return fresh, nil // it landed; the error came after the catalog accepted it
	}
	if fresh.ice.MetadataLocation() != tx.base.ice.MetadataLocation() {
		return nil, fmt.Errorf("%w: %s.%s: %w", ErrConflict, tx.ns, tx.name, err)
	}
	return nil, fmt.Errorf("commit %s.%s: %w", tx.ns, tx.name, err)
}
