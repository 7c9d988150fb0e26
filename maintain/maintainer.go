package maintain

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/floe-dev/floe/catalog"
)

// Maintainer maintains the tables of a catalog: Run schedules it, RunTable
// runs what is due on one table at once.
type Maintainer struct {
	cat *catalog.Catalog
	cfg Config
	met *metrics

	mu     sync.Mutex
	tables map[string]*tableState // by NAMESPACE.TABLE
	dirty  map[string]bool        // tables committed to since they were last looked at
	wake   chan struct{}
	// runMu makes runs of this process one at a time (a run reads and
	// writes whole partitions; two at once would only compete for the
	// cores).
	runMu sync.Mutex
}

// tableState is what the Maintainer knows of one table.
type tableState struct {
	ns, name string
	health   health
	checked  time.Time // health computed
	// When each step last ran (zero: never in this process).
	compacted, merged, expired, orphansScanned time.Time
	lastRun                                    time.Time
	lastResult                                 string
	totals                                     totals
}

// totals are what runs of this process did to a table.
type totals struct {
	runs, failures                     int64
	filesRewritten, filesWritten       int64
	bytesRewritten                     int64
	deleteFilesRemoved                 int64
	snapshotsExpired                   int64
	manifestsMerged                    int64
	orphansRemoved, orphanBytesRemoved int64
}

// New returns a Maintainer of cat. It does nothing until Run or RunTable.
// It learns of this process's commits from cat (catalog.OnCommit).
func New(cat *catalog.Catalog, cfg Config) (*Maintainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.fill()
	m := &Maintainer{cat: cat, cfg: cfg, tables: map[string]*tableState{}, dirty: map[string]bool{},
		wake: make(chan struct{}, 1)}
	m.met = newMetrics(m)
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(m.met); err != nil {
			return nil, fmt.Errorf("maintenance metrics: %w", err)
		}
	}
	cat.OnCommit(m.notify)
	return m, nil
}

// notify marks ns.name as committed to; the scheduler looks at it soon.
func (m *Maintainer) notify(ns, name string) {
	m.mu.Lock()
	m.dirty[ns+"."+name] = true
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// settle is how long the scheduler waits after a commit before it looks
// at the table: commits come in bursts, and one look covers them all.
const settle = 25 * time.Millisecond

// Run maintains every table until ctx ends: each table at least every
// Interval, and a table this process commits to as soon as its files call
// for it.
func (m *Maintainer) Run(ctx context.Context) {
	tick := time.NewTicker(m.cfg.Interval)
	defer tick.Stop()
	m.sweep(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			m.sweep(ctx)
		case <-m.wake:
			if sleepCtx(ctx, settle) != nil {
				return
			}
			m.mu.Lock()
			keys := make([]string, 0, len(m.dirty))
			for k := range m.dirty {
				keys = append(keys, k)
			}
			clear(m.dirty)
			m.mu.Unlock()
			sort.Strings(keys)
			for _, k := range keys {
				ns, name, _ := strings.Cut(k, ".")
				m.maybeRun(ctx, ns, name, false)
			}
		}
	}
}

// sweep looks at every table of the catalog.
func (m *Maintainer) sweep(ctx context.Context) {
	nss, err := m.cat.Namespaces(ctx)
	if err != nil {
		m.cfg.Logger.Warn("maintenance: list namespaces", "err", err)
		return
	}
	for _, ns := range nss {
		names, err := m.cat.Tables(ctx, ns)
		if err != nil {
			m.cfg.Logger.Warn("maintenance: list tables", "namespace", ns, "err", err)
			continue
		}
		for _, name := range names {
			if ctx.Err() != nil {
				return
			}
			m.maybeRun(ctx, ns, name, true)
		}
	}
}

// maybeRun runs what is due on ns.name. On a sweep the interval-driven
// steps may be due; after a commit only those the table's files call for.
func (m *Maintainer) maybeRun(ctx context.Context, ns, name string, sweep bool) {
	t, err := m.cat.Current(ctx, ns, name)
	if err != nil {
		if !errors.Is(err, catalog.ErrNoSuchTable) {
			m.cfg.Logger.Warn("maintenance: load table", "table", ns+"."+name, "err", err)
		}
		return
	}
	st := m.state(ns, name)
	h, err := m.look(ctx, t)
	if err != nil {
		m.cfg.Logger.Warn("maintenance: look at table", "table", ns+"."+name, "err", err)
		return
	}
	m.mu.Lock()
	st.health, st.checked = h, time.Now()
	due := m.due(st, h, time.Now())
	m.mu.Unlock()
	if !sweep {
		due.orphans = false
	}
	if m.cfg.Disabled || due.none() {
		return
	}
	rep, err := m.run(ctx, ns, name, due, Options{Principal: SystemPrincipal})
	if err != nil && !errors.Is(err, ErrLocked) && ctx.Err() == nil {
		m.cfg.Logger.Warn("maintenance: run failed", "table", ns+"."+name, "err", err, "report", rep.Summary())
	}
}

// SystemPrincipal is the principal of the runs the scheduler starts.
const SystemPrincipal = "floe-maintenance"

// Options adjust a triggered run.
type Options struct {
	// DryRun reports what is due and what would be done, changing nothing.
	DryRun bool
	// Principal is who triggered the run, for the audit record.
	Principal string
	// Protocol is how it was triggered ("cli", "http"; default
	// "maintenance").
	Protocol string
}

// ErrLocked: another process is maintaining the table now.
var ErrLocked = errors.New("the table is being maintained by another process")

// RunTable runs on ns.name, once, every step that is due now, whatever the
// interval says: compaction of partitions with small or delete files,
// manifest merging, snapshot expiry and orphan removal.
func (m *Maintainer) RunTable(ctx context.Context, ns, name string, opts Options) (Report, error) {
	t, err := m.cat.Current(ctx, ns, name)
	if err != nil {
		return Report{Table: ns + "." + name}, err
	}
	h, err := m.look(ctx, t)
	if err != nil {
		return Report{Table: ns + "." + name}, err
	}
	st := m.state(ns, name)
	m.mu.Lock()
	st.health, st.checked = h, time.Now()
	m.mu.Unlock()
	due := steps{compact: h.compactable(), merge: h.dataManifests >= 2, expire: h.expirable > 0, orphans: true}
	return m.run(ctx, ns, name, due, opts)
}

func (m *Maintainer) state(ns, name string) *tableState {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := ns + "." + name
	st := m.tables[key]
	if st == nil {
		st = &tableState{ns: ns, name: name}
		m.tables[key] = st
	}
	return st
}

// run runs the steps of due on ns.name, holding the table's lock, and
// records the result.
func (m *Maintainer) run(ctx context.Context, ns, name string, due steps, opts Options) (Report, error) {
	m.runMu.Lock()
	defer m.runMu.Unlock()
	rep := Report{Table: ns + "." + name, Started: time.Now(), DryRun: opts.DryRun, Principal: opts.Principal, Protocol: opts.Protocol}
	if rep.Protocol == "" {
		rep.Protocol = "maintenance"
	}
	unlock, err := m.lock(ns, name)
	if err != nil {
		rep.Err = err
		rep.Finished = time.Now()
		return rep, err
	}
	defer unlock()

	st := m.state(ns, name)
	var errs []error
	rep.StepMillis = map[string]int64{}
	step := func(name string, f func() error) {
		if ctx.Err() != nil {
			return
		}
		t0 := time.Now()
		err := f()
		rep.StepMillis[name] = time.Since(t0).Milliseconds()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	if due.compact {
		step("compaction", func() error { return m.compact(ctx, ns, name, &rep) })
	}
	if due.merge {
		step("manifests", func() error { return m.mergeManifests(ctx, ns, name, &rep) })
	}
	if due.expire {
		step("expiry", func() error { return m.expire(ctx, ns, name, &rep) })
	}
	if due.orphans {
		step("orphans", func() error { return m.removeOrphans(ctx, ns, name, &rep) })
	}
	rep.Finished = time.Now()
	if ctx.Err() != nil {
		errs = append(errs, context.Cause(ctx)) // a step was cut short, or never ran
	}
	rep.Err = errors.Join(errs...)
	if !opts.DryRun {
		m.record(st, due, rep)
	}
	if t, err := m.cat.Current(ctx, ns, name); err == nil {
		if h, err := m.look(ctx, t); err == nil {
			m.mu.Lock()
			st.health, st.checked = h, time.Now()
			m.mu.Unlock()
		}
	}
	if m.cfg.Audit != nil && (rep.did() || rep.Err != nil || opts.Protocol != "") {
		m.cfg.Audit(rep)
	}
	return rep, rep.Err
}

// record notes a run in the table's state and totals.
func (m *Maintainer) record(st *tableState, due steps, rep Report) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := rep.Finished
	if due.compact {
		st.compacted = now
	}
	if due.merge {
		st.merged = now
	}
	if due.expire {
		st.expired = now
	}
	if due.orphans {
		st.orphansScanned = now
	}
	st.lastRun, st.lastResult = now, rep.Summary()
	t := &st.totals
	t.runs++
	if rep.Err != nil {
		t.failures++
	}
	c := rep.Compaction
	t.filesRewritten += int64(c.FilesRewritten)
	t.filesWritten += int64(c.FilesWritten)
	t.bytesRewritten += c.BytesRewritten
	t.deleteFilesRemoved += int64(c.DeleteFilesRemoved)
	t.snapshotsExpired += int64(rep.SnapshotsExpired)
	t.manifestsMerged += int64(rep.ManifestsMerged)
	t.orphansRemoved += int64(len(rep.OrphansRemoved))
	t.orphanBytesRemoved += rep.OrphanBytesRemoved
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
