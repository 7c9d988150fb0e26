package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/floe-dev/floe/catalog"
)

const (
	// commitAttempts bounds the attempts of one group commit that loses
	// races with other writers.
	commitAttempts = 10
	// minIdle is how long at least a committer without requests lives on
	// (and at least two commit intervals, so that its last commit time
	// still spaces the next commit when it is needed).
	minIdle = 30 * time.Second
)

// committer group-commits the requests to one table. It runs in its own
// goroutine, owned by the Service (s.wg), from the first request to the table
// until it has been idle for a while or the Service closes.
type committer struct {
	s     *Service
	key   tableKey
	queue []*pending // guarded by s.mu
	wake  chan struct{}
	last  time.Time // start of the last commit
}

// enqueue hands p to the committer of key, starting one if needed.
func (s *Service) enqueue(key tableKey, p *pending) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	c := s.committers[key]
	if c == nil {
		c = &committer{s: s, key: key, wake: make(chan struct{}, 1)}
		s.committers[key] = c
		s.wg.Add(1)
		go c.run()
	}
	c.queue = append(c.queue, p)
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

func (c *committer) run() {
	s := c.s
	defer s.wg.Done()
	idleAfter := max(minIdle, 2*s.cfg.CommitInterval)
	idle := time.NewTimer(idleAfter)
	defer idle.Stop()
	var wait *time.Timer
	for {
		s.mu.Lock()
		n, closed := len(c.queue), s.closed
		if n == 0 && closed {
			delete(s.committers, c.key)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()

		if n == 0 {
			idle.Reset(idleAfter)
			select {
			case <-c.wake:
			case <-s.stopping:
			case <-idle.C:
				s.mu.Lock()
				if len(c.queue) == 0 {
					delete(s.committers, c.key)
					s.mu.Unlock()
					return
				}
				s.mu.Unlock()
			}
			continue
		}

		// At most one commit per interval: wait until the interval since
		// the last commit has passed, gathering requests meanwhile. A lone
		// request after a quiet spell commits at once. Closing commits now.
		if d := time.Until(c.last.Add(s.cfg.CommitInterval)); d > 0 && !closed {
			if wait == nil {
				wait = time.NewTimer(d)
			} else {
				wait.Reset(d)
			}
			select {
			case <-wait.C:
			case <-s.stopping:
				wait.Stop()
			}
		}

		s.mu.Lock()
		batch := c.queue
		c.queue = nil
		s.mu.Unlock()
		start := time.Now()
		if c.commit(s.ctx, batch) {
			c.last = start
		}
	}
}

// commit commits the requests of batch in one Iceberg commit and answers
// each of them. Requests whose records conflict with the schema as the
// earlier requests of the batch leave it are rejected alone. It reports
// whether it tried to commit (false when every request was rejected).
func (c *committer) commit(ctx context.Context, batch []*pending) bool {
	s := c.s
	ns, name := c.key.ns, c.key.name
	answered := make([]bool, len(batch))
	answer := func(i int, o outcome) {
		if !answered[i] {
			answered[i] = true
			batch[i].done <- o
		}
	}
	defer func() {
		// Whatever happened, nobody waits forever.
		for i := range batch {
			answer(i, outcome{err: errors.New("ingest: request not committed")})
		}
	}()

	start := time.Now()
	var lastErr error
	for attempt := range commitAttempts {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt)); err != nil {
				lastErr = err
				break
			}
		}
		var accepted []int
		res, err := c.attempt(ctx, batch, answered, answer, attempt > 0, &accepted)
		if err == nil {
			c.observe(ctx, batch, accepted, res, start)
			for _, i := range accepted {
				answer(i, outcome{res: Result{Rows: int64(len(batch[i].records)), SnapshotID: res}})
			}
			return true
		}
		lastErr = err
		if !retriable(err) {
			break
		}
		s.conflicts.Add(1)
		s.log.Debug("ingest: commit conflict, retrying", "table", ns+"."+name, "attempt", attempt+1, "err", err)
	}
	if errors.Is(lastErr, errNothingToCommit) {
		return false
	}
	// The callers of Push log the error (HTTP: with the principal).
	for i := range batch {
		answer(i, outcome{err: fmt.Errorf("commit %s.%s: %w", ns, name, lastErr)})
	}
	return true
}

// observe records a successful commit of the accepted requests of batch in
// the status and metrics.
func (c *committer) observe(ctx context.Context, batch []*pending, accepted []int, snapshot int64, start time.Time) {
	s := c.s
	table := c.key.ns + "." + c.key.name
	now := time.Now()
	took := now.Sub(start)
	files := addedFiles(ctx, s.cat, c.key.ns, c.key.name, snapshot)
	var records, bytes int64
	for _, i := range accepted {
		records += int64(len(batch[i].records))
		bytes += batch[i].bytes
	}
	s.stats.commitSeconds.WithLabelValues(table).Observe(took.Seconds())
	s.stats.commitFiles.WithLabelValues(table).Observe(float64(files))
	s.stats.mu.Lock()
	s.stats.get(table, StreamStatus{Source: "http", Table: table, Partition: -1}).committed(now, records, bytes, 0, took, files)
	s.stats.mu.Unlock()
}

var (
	errNothingToCommit = errors.New("nothing to commit")
	errTableCreated    = errors.New("table created concurrently")
)

// attempt makes one try at committing batch: load the table, merge the
// requests not yet answered into its schema, create or evolve the table,
// append the rows and commit. It returns the new snapshot id and sets
// accepted to the requests the snapshot holds.
func (c *committer) attempt(ctx context.Context, batch []*pending, answered []bool, answer func(int, outcome), reload bool, accepted *[]int) (int64, error) {
	s := c.s
	ns, name := c.key.ns, c.key.name

	var t *catalog.Table
	var err error
	if reload {
		t, err = s.cat.Reload(ctx, ns, name)
	} else {
		t, err = s.cat.Table(ctx, ns, name)
	}
	exists := err == nil
	if err != nil && !errors.Is(err, catalog.ErrNoSuchTable) {
		return 0, err
	}
	var root *node
	if exists {
		root = schemaNode(t.Schema())
	} else {
		root = schemaNode(nil)
	}

	// Merge request by request; a request that conflicts is rejected and
	// leaves the schema as it was.
	*accepted = (*accepted)[:0]
	var kept []*pending
	for i, p := range batch {
		if answered[i] {
			continue
		}
		if err := p.ctx.Err(); err != nil {
			answer(i, outcome{err: context.Cause(p.ctx)})
			continue
		}
		trial := cloneNode(root)
		if rerr := merge(trial, p.shape); rerr != nil {
			answer(i, outcome{err: rerr})
			continue
		}
		root = trial
		*accepted = append(*accepted, i)
		kept = append(kept, p)
	}
	if len(kept) == 0 {
		return 0, errNothingToCommit
	}

	props := iceberg.Properties{
		"floe.source":   "http",
		"floe.requests": fmt.Sprint(len(kept)),
	}
	return appendRows(ctx, s.cat, s.log, ns, name, t, root, kept, props, nil)
}

// appendRows commits the records of kept to ns.name in one snapshot whose
// summary carries props: it stages the table (stage) and appends the rows,
// which iceberg-go writes to one or more files per partition. lay may be
// nil: the table keeps its layout. The commit requires t's current
// snapshot to still be the branch head, so a concurrent writer makes it
// fail with an error for which retriable is true. It returns the new
// snapshot id.
func appendRows(ctx context.Context, cat *catalog.Catalog, log *slog.Logger, ns, name string, t *catalog.Table, root *node, kept []*pending, props iceberg.Properties, lay *layout) (int64, error) {
	txn, staged, err := stage(ctx, cat, log, ns, name, t, root, lay)
	if err != nil {
		return 0, err
	}
	rec, err := buildRecord(staged.Schema(), kept)
	if err != nil {
		return 0, err
	}
	defer rec.Release()
	return appendSlices(ctx, cat, ns, name, txn, rec, props, sliceRows(rec, targetFileSize(staged)))
}

// stage starts the commit of records merged into root: it creates the
// table from root (laid out as lay says) when t is nil, otherwise adds
// the columns root adds to t's schema, promotes those it promotes and
// brings the partition spec and file size properties in line with lay. It
// returns the transaction and the table as the transaction stages it.
func stage(ctx context.Context, cat *catalog.Catalog, log *slog.Logger, ns, name string, t *catalog.Table, root *node, lay *layout) (*table.Transaction, *table.StagedTable, error) {
	exists := t != nil
	if !exists {
		var err error
		if t, err = lay.createTable(ctx, cat, log, ns, name, newSchema(root)); err != nil {
			return nil, nil, err
		}
	}

	txn := t.Iceberg().NewTransaction()
	if adds, proms := additions(root); exists && len(adds)+len(proms) > 0 {
		us := txn.UpdateSchema(true, false)
		for _, a := range adds {
			us.AddColumn(a.path, a.typ, "", false, nil)
		}
		for _, p := range proms {
			us.UpdateColumn(p.path, table.ColumnUpdate{FieldType: iceberg.Optional[iceberg.Type]{Val: p.typ, Valid: true}})
		}
		if err := us.Commit(); err != nil {
			return nil, nil, fmt.Errorf("evolve schema: %w", err)
		}
	}
	staged, err := lay.apply(txn, log, ns+"."+name)
	if err != nil {
		return nil, nil, err
	}
	return txn, staged, nil
}

// appendBatch appends rec in txn and commits it.
func appendBatch(ctx context.Context, cat *catalog.Catalog, ns, name string, txn *table.Transaction, rec arrow.RecordBatch, props iceberg.Properties) (int64, error) {
	return appendSlices(ctx, cat, ns, name, txn, rec, props, rec.NumRows())
}

// appendSlices appends rec in txn, handing it to the writer in slices of at
// most n rows (where it may roll to a new file), and commits.
func appendSlices(ctx context.Context, cat *catalog.Catalog, ns, name string, txn *table.Transaction, rec arrow.RecordBatch, props iceberg.Properties, n int64) (int64, error) {
	var slices []arrow.RecordBatch
	if rows := rec.NumRows(); n <= 0 || rows <= n {
		slices = []arrow.RecordBatch{rec}
	} else {
		for lo := int64(0); lo < rows; lo += n {
			s := rec.NewSlice(lo, min(lo+n, rows))
			defer s.Release()
			slices = append(slices, s)
		}
	}
	rdr, err := array.NewRecordReader(rec.Schema(), slices)
	if err != nil {
		return 0, err
	}
	defer rdr.Release()
	if err := txn.Append(ctx, rdr, props); err != nil {
		return 0, fmt.Errorf("append: %w", err)
	}
	committed, err := txn.Commit(ctx)
	if err != nil {
		return 0, err
	}
	ct := cat.Committed(ns, name, committed)
	return ct.SnapshotID(), nil
}

// commitChanges commits change events to ns.name in one snapshot (an
// Iceberg row delta) whose summary carries props: the objects of images as
// new data files and, when the table holds rows already, the key objects
// of dels as equality delete files on the key columns. The table is staged
// as for appendRows and upgraded to format version 2, which delete files
// need. Equality deletes apply only to data files of lower sequence
// numbers, so they remove the older rows of their keys and not the rows
// the same snapshot adds. The commit requires t's current snapshot to
// still be the branch head (retriable otherwise). It returns the new
// snapshot id; 0 when there was nothing to write.
func commitChanges(ctx context.Context, cat *catalog.Catalog, log *slog.Logger, ns, name string, t *catalog.Table, root *node, images, dels []*pending, key []string, props iceberg.Properties, lay *layout) (int64, error) {
	hasRows := t != nil && t.SnapshotID() != 0
	txn, staged, err := stage(ctx, cat, log, ns, name, t, root, lay)
	if err != nil {
		return 0, err
	}
	if v := staged.Metadata().Version(); v < 2 {
		if err := txn.UpgradeFormatVersion(2); err != nil {
			return 0, fmt.Errorf("upgrade format version %d to 2: %w", v, err)
		}
		if staged, err = txn.StagedTable(); err != nil {
			return 0, err
		}
		log.Info("ingest: upgraded the table to format version 2 for equality deletes", "table", ns+"."+name)
	}
	ids, err := keyFieldIDs(staged, key)
	if err != nil {
		return 0, err
	}
	rd := txn.NewRowDelta(props)
	files := 0
	if len(images[0].records) > 0 {
		rec, err := buildRecord(staged.Schema(), images)
		if err != nil {
			return 0, err
		}
		defer rec.Release()
		data, err := writeDataFiles(ctx, staged, rec, sliceRows(rec, targetFileSize(staged)))
		if err != nil {
			return 0, err
		}
		rd.AddRows(data...)
		files += len(data)
	}
	if hasRows && len(dels[0].records) > 0 {
		ksc, err := staged.Schema().Select(true, key...)
		if err != nil {
			return 0, fmt.Errorf("key columns: %w", err)
		}
		rec, err := buildRecord(ksc, dels)
		if err != nil {
			return 0, err
		}
		defer rec.Release()
		eq, err := txn.WriteEqualityDeletes(ctx, ids, func(yield func(arrow.RecordBatch, error) bool) { yield(rec, nil) })
		if err != nil {
			return 0, fmt.Errorf("write equality deletes: %w", err)
		}
		rd.AddDeletes(eq...)
		files += len(eq)
	}
	if files == 0 {
		return 0, nil
	}
	if err := rd.Commit(ctx); err != nil {
		return 0, fmt.Errorf("row delta: %w", err)
	}
	committed, err := txn.Commit(ctx)
	if err != nil {
		return 0, err
	}
	return cat.Committed(ns, name, committed).SnapshotID(), nil
}

// writeDataFiles writes rec as data files of t, handing it to the writer
// in slices of at most n rows (where it may roll to a new file), and
// returns the files (not yet committed).
func writeDataFiles(ctx context.Context, t *table.StagedTable, rec arrow.RecordBatch, n int64) ([]iceberg.DataFile, error) {
	rows := rec.NumRows()
	if n <= 0 {
		n = rows
	}
	batches := func(yield func(arrow.RecordBatch, error) bool) {
		for lo := int64(0); lo < rows; lo += n {
			// WriteRecords releases each slice it takes.
			if !yield(rec.NewSlice(lo, min(lo+n, rows)), nil) {
				return
			}
		}
	}
	var files []iceberg.DataFile
	for df, err := range table.WriteRecords(ctx, t.Table, rec.Schema(), batches) {
		if err != nil {
			return nil, fmt.Errorf("write data files: %w", err)
		}
		files = append(files, df)
	}
	return files, nil
}

// retriable reports whether a failed attempt may succeed after reloading
// the table: another writer committed first. The SQL catalog reports a
// moved metadata location as table.ErrCommitFailed, but a failed
// requirement (`requirement failed: branch "main" has changed`, `branch
// "main" was created concurrently`, "current schema id has changed") as a
// plain error, so those are recognised by their text.
func retriable(err error) bool {
	if errors.Is(err, table.ErrCommitFailed) || errors.Is(err, errTableCreated) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "equirement failed") &&
		(strings.Contains(msg, "has changed") || strings.Contains(msg, "was created concurrently"))
}

// backoff returns a jittered wait before retry attempt n (n ≥ 1).
func backoff(n int) time.Duration {
	d := 10 * time.Millisecond << min(n-1, 5) // 10ms … 320ms
	return d/2 + rand.N(d/2)
}

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

// cloneNode deep-copies a merge tree so a rejected request leaves no trace.
func cloneNode(n *node) *node {
	c := *n
	c.fields, c.byName = nil, nil
	for _, f := range n.fields {
		c.addField(f.name, cloneNode(f.n))
	}
	if n.elem != nil {
		c.elem = cloneNode(n.elem)
	}
	return &c
}
