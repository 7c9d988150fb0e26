package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

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
// Conflicts with other writers are retried by catalog.Commit, which calls
// attempt again on the table as it is then.
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
	var accepted []int
	t, err := s.cat.Commit(ctx, ns, name, func(ctx context.Context, tx *catalog.Tx) error {
		return c.attempt(ctx, tx, batch, answered, answer, &accepted)
	})
	if err == nil {
		snap := t.SnapshotID()
		c.observe(t, batch, accepted, snap, start)
		for _, i := range accepted {
			answer(i, outcome{res: Result{Rows: int64(len(batch[i].records)), SnapshotID: snap}})
		}
		return true
	}
	if errors.Is(err, errNothingToCommit) {
		return false
	}
	// The callers of Push log the error (HTTP: with the principal).
	for i := range batch {
		answer(i, outcome{err: fmt.Errorf("commit %s.%s: %w", ns, name, err)})
	}
	return true
}

// observe records a successful commit of the accepted requests of batch in
// the status and metrics.
func (c *committer) observe(t *catalog.Table, batch []*pending, accepted []int, snapshot int64, start time.Time) {
	s := c.s
	table := c.key.ns + "." + c.key.name
	now := time.Now()
	took := now.Sub(start)
	files := addedFiles(t, snapshot)
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

var errNothingToCommit = errors.New("nothing to commit")

// attempt stages the commit of batch on tx: merge the requests not yet
// answered into the table's schema, create or evolve the table and append
// the rows. It sets accepted to the requests the snapshot holds.
func (c *committer) attempt(ctx context.Context, tx *catalog.Tx, batch []*pending, answered []bool, answer func(int, outcome), accepted *[]int) error {
	root := schemaNode(nil)
	if tx.Exists() {
		root = schemaNode(tx.Base().Schema())
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
		return errNothingToCommit
	}

	props := map[string]string{
		"floe.source":   "http",
		"floe.requests": fmt.Sprint(len(kept)),
	}
	return appendRows(ctx, tx, c.s.log, root, kept, props, nil)
}

// appendRows stages on tx the append of the records of kept, in one
// snapshot whose summary carries props: it stages the table (stage) and
// appends the rows, which iceberg-go writes to one or more files per
// partition. lay may be nil: the table keeps its layout.
func appendRows(ctx context.Context, tx *catalog.Tx, log *slog.Logger, root *node, kept []*pending, props map[string]string, lay *layout) error {
	if err := stage(ctx, tx, log, root, lay); err != nil {
		return err
	}
	l, err := tx.Layout()
	if err != nil {
		return err
	}
	rec, err := buildRecord(l.Schema, kept)
	if err != nil {
		return err
	}
	defer rec.Release()
	return tx.Append(ctx, rec, sliceRows(rec, l.TargetFileSize()), props)
}

// stage starts the commit of records merged into root: it creates the
// table from root (laid out as lay says) when it does not exist, otherwise
// adds the columns root adds to its schema, promotes those it promotes and
// brings the partition spec and file size properties in line with lay.
func stage(ctx context.Context, tx *catalog.Tx, log *slog.Logger, root *node, lay *layout) error {
	existed := tx.Exists()
	if !existed {
		if err := lay.createTable(ctx, tx, log, newSchema(root)); err != nil {
			return err
		}
	}
	if adds, proms := additions(root); existed && len(adds)+len(proms) > 0 {
		err := tx.EvolveSchema(func(us *table.UpdateSchema) {
			for _, a := range adds {
				us.AddColumn(a.path, a.typ, "", false, nil)
			}
			for _, p := range proms {
				us.UpdateColumn(p.path, table.ColumnUpdate{FieldType: iceberg.Optional[iceberg.Type]{Val: p.typ, Valid: true}})
			}
		})
		if err != nil {
			return err
		}
	}
	return lay.apply(tx, log)
}

// stageChanges stages on tx change events in one snapshot (an Iceberg row
// delta) whose summary carries props: the objects of images as new data
// files and, when the table holds rows already, the key objects of dels as
// equality delete files on the key columns. The table is staged as for
// appendRows and upgraded to format version 2, which delete files need.
// Equality deletes apply only to data files of lower sequence numbers, so
// they remove the older rows of their keys and not the rows the same
// snapshot adds. Nothing is staged when there is nothing to write.
func stageChanges(ctx context.Context, tx *catalog.Tx, log *slog.Logger, root *node, images, dels []*pending, key []string, props map[string]string, lay *layout) error {
	hasRows := tx.Exists() && tx.Base().SnapshotID() != 0
	if err := stage(ctx, tx, log, root, lay); err != nil {
		return err
	}
	l, err := tx.Layout()
	if err != nil {
		return err
	}
	if v := l.FormatVersion; v < 2 {
		if err := tx.UpgradeFormatVersion(2); err != nil {
			return err
		}
		if l, err = tx.Layout(); err != nil {
			return err
		}
		log.Info("ingest: upgraded the table to format version 2 for equality deletes", "table", tx.Name())
	}
	ids, err := keyFieldIDs(l, key)
	if err != nil {
		return err
	}
	var data, deletes []iceberg.DataFile
	if len(images[0].records) > 0 {
		rec, err := buildRecord(l.Schema, images)
		if err != nil {
			return err
		}
		defer rec.Release()
		if data, err = tx.WriteDataFiles(ctx, rec, sliceRows(rec, l.TargetFileSize())); err != nil {
			return err
		}
	}
	if hasRows && len(dels[0].records) > 0 {
		ksc, err := l.Schema.Select(true, key...)
		if err != nil {
			return fmt.Errorf("key columns: %w", err)
		}
		rec, err := buildRecord(ksc, dels)
		if err != nil {
			return err
		}
		defer rec.Release()
		if deletes, err = tx.WriteEqualityDeletes(ctx, ids, rec); err != nil {
			return err
		}
	}
	if len(data)+len(deletes) == 0 {
		return nil
	}
	return tx.RowDelta(ctx, data, deletes, props)
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
