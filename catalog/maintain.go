package catalog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/table/compaction"
)

// The maintenance operations: what package maintain plans, catalog does,
// so that the rules that keep data safe live beside the commit path.

// ErrRewriteStale marks a rewrite that can no longer be committed: a data
// file it replaces is gone from the table, or a position delete that the
// rewrite did not apply was added to one since the rewrite read it.
// Committing would lose or resurrect rows, so the rewrite is abandoned
// (its new files removed) and planned again later.
var ErrRewriteStale = errors.New("rewrite is stale")

// Tasks returns the scan tasks of the current snapshot (data files with
// the delete files that apply to them), for maintenance planning; cached
// per snapshot with the plan. The tasks are shared: callers must not
// change them.
func (t *Table) Tasks(ctx context.Context) ([]table.FileScanTask, error) {
	p, err := t.planned(ctx)
	if err != nil || p == nil {
		return nil, err
	}
	return p.tasks, nil
}

// RewriteGroup reads the rows of a compaction group of t, deletes applied,
// and writes them as new data files of about target bytes. Nothing is
// committed: Tx.Rewrite commits the result. The caller marks the write in
// flight (Writing) until the rewrite is committed or its files removed.
func (t *Table) RewriteGroup(ctx context.Context, group table.CompactionTaskGroup, target int64) (table.CompactionGroupResult, error) {
	return table.ExecuteCompactionGroup(ctx, t.ice, group, table.WithCompactionTargetFileSize(target))
}

// DeadDeletes returns the delete files of t's current snapshot that apply
// to nothing once the data files at the paths in rewritten are replaced:
// equality deletes no surviving data file of a lower sequence number is
// exposed to, and position deletes whose data files are all rewritten.
func (t *Table) DeadDeletes(ctx context.Context, rewritten map[string]struct{}) ([]iceberg.DataFile, error) {
	snap := t.ice.CurrentSnapshot()
	if snap == nil || len(rewritten) == 0 {
		return nil, nil
	}
	fs, err := t.ice.FS(ctx)
	if err != nil {
		return nil, err
	}
	eq, err := compaction.CollectDeadEqualityDeletesWithSpecs(ctx, fs, t.ice.Metadata(), snap, rewritten)
	if err != nil {
		return nil, fmt.Errorf("dead equality deletes: %w", err)
	}
	pos, err := compaction.CollectDeadPositionDeletes(ctx, fs, snap, rewritten)
	if err != nil {
		return nil, fmt.Errorf("dead position deletes: %w", err)
	}
	return append(eq, pos...), nil
}

// Rewrite is a compaction to commit: groups of data files of Base's
// current snapshot rewritten (Table.RewriteGroup), and the delete files
// that are dead once they are replaced (Table.DeadDeletes on Base).
type Rewrite struct {
	Base        *Table
	Groups      []table.CompactionGroupResult
	DeadDeletes []iceberg.DataFile
}

// Rewrite stages rw as one replace snapshot on the table as it is now,
// which may have moved on from rw.Base:
//
//   - appends since rw.Base are kept (they do not touch the rewritten files);
//   - the new files take the sequence number of rw.Base's snapshot, so
//     equality deletes committed since still apply to the rows they hold,
//     exactly as they applied to the files they replace;
//   - if a rewritten data file is no longer in the table, or a position
//     delete (or deletion vector) was added to one since rw.Base, the
//     rewrite fails with ErrRewriteStale: it would resurrect or lose rows.
func (tx *Tx) Rewrite(ctx context.Context, rw Rewrite, props map[string]string) error {
	base := rw.Base
	baseSnap := base.ice.CurrentSnapshot()
	if baseSnap == nil {
		return fmt.Errorf("%w: the rewrite's base has no snapshot", ErrRewriteStale)
	}
	p, err := tx.snapshotOp("rewrite", props)
	if err != nil {
		return err
	}
	if tx.base.SnapshotID() != baseSnap.SnapshotID {
		if err := stillApplies(ctx, base, tx.base, rw); err != nil {
			return err
		}
	}
	live, err := liveDeletes(ctx, tx.base)
	if err != nil {
		return err
	}
	r := tx.txn.NewRewrite(p)
	for _, g := range rw.Groups {
		r.ApplyResult(g)
	}
	for _, d := range rw.DeadDeletes {
		// Another writer may have removed it meanwhile.
		if live[d.FilePath()] {
			r.DeleteFile(d)
		}
	}
	r.DataSequenceNumber(baseSnap.SequenceNumber)
	if err := r.Commit(ctx); err != nil {
		return fmt.Errorf("rewrite: %w", err)
	}
	return nil
}

// stillApplies checks that rw, planned on base, can be committed on now:
// each data file it replaces is still live, with no position delete or
// deletion vector that base did not have.
func stillApplies(ctx context.Context, base, now *Table, rw Rewrite) error {
	before, err := deletesByFile(ctx, base)
	if err != nil {
		return err
	}
	after, err := deletesByFile(ctx, now)
	if err != nil {
		return err
	}
	for _, g := range rw.Groups {
		for _, df := range g.OldDataFiles {
			path := df.FilePath()
			dels, ok := after[path]
			if !ok {
				return fmt.Errorf("%w: data file %s was replaced or removed by another writer", ErrRewriteStale, filepath.Base(path))
			}
			for d := range dels {
				if !before[path][d] {
					return fmt.Errorf("%w: rows of data file %s were deleted since the rewrite read it", ErrRewriteStale, filepath.Base(path))
				}
			}
		}
	}
	return nil
}

// deletesByFile maps each live data file of t's current snapshot to its
// position delete and deletion vector files (equality deletes excluded:
// the rewrite's sequence number keeps those applying).
func deletesByFile(ctx context.Context, t *Table) (map[string]map[string]bool, error) {
	tasks, err := t.Tasks(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string]bool, len(tasks))
	for _, task := range tasks {
		m := map[string]bool{}
		for _, d := range task.DeleteFiles {
			m[d.FilePath()] = true
		}
		for _, d := range task.DeletionVectorFiles {
			m[d.FilePath()] = true
		}
		out[task.File.FilePath()] = m
	}
	return out, nil
}

// liveDeletes returns the paths of the delete files of t's current snapshot.
func liveDeletes(ctx context.Context, t *Table) (map[string]bool, error) {
	tasks, err := t.Tasks(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, task := range tasks {
		for _, d := range task.DeleteFiles {
			out[d.FilePath()] = true
		}
		for _, d := range task.EqualityDeleteFiles {
			out[d.FilePath()] = true
		}
		for _, d := range task.DeletionVectorFiles {
			out[d.FilePath()] = true
		}
	}
	return out, nil
}

// Retention is what snapshot expiry keeps.
type Retention struct {
	// MaxAge: every snapshot that was the table's current one at any
	// moment within MaxAge is kept, so that a query (of any process) or a
	// time-travel read within that window finds its files.
	MaxAge time.Duration
	// MinSnapshots: the newest MinSnapshots snapshots of the main branch
	// are kept whatever their age (at least 1).
	MinSnapshots int
}

// Expiry is what ExpireSnapshots removed.
type Expiry struct {
	Removed []int64
	Kept    int
}

// ExpireSnapshots stages the removal of the snapshots of the main branch's
// history that r does not keep; the files only they reference are deleted
// once the commit lands. Never removed: a snapshot a branch or tag
// references, a snapshot a running query of this process reads (Pin), the
// newest snapshot that carries the Kafka offsets, and snapshots of other
// branches' histories younger than r.MaxAge.
func (tx *Tx) ExpireSnapshots(r Retention) (Expiry, error) {
	if err := tx.must(); err != nil {
		return Expiry{}, err
	}
	keep := tx.base.retainLast(r)
	md := tx.base.ice.Metadata()
	before := len(md.Snapshots())
	if err := tx.txn.ExpireSnapshots(table.WithRetainLast(keep), table.WithOlderThan(r.MaxAge)); err != nil {
		return Expiry{}, fmt.Errorf("expire snapshots: %w", err)
	}
	st, err := tx.txn.StagedTable()
	if err != nil {
		return Expiry{}, err
	}
	kept := map[int64]bool{}
	for _, s := range st.Metadata().Snapshots() {
		kept[s.SnapshotID] = true
	}
	var ex Expiry
	for _, s := range md.Snapshots() {
		if !kept[s.SnapshotID] {
			ex.Removed = append(ex.Removed, s.SnapshotID)
		}
	}
	ex.Kept = before - len(ex.Removed)
	if len(ex.Removed) > 0 {
		tx.changed = true
	}
	return ex, nil
}

// Expirable returns how many snapshots of the main branch's history
// expiry under r would remove now.
func (t *Table) Expirable(r Retention) int {
	n := 0
	md := t.ice.Metadata()
	cutoff := time.Now().Add(-r.MaxAge).UnixMilli()
	keep := t.retainLast(r)
	depth := 0
	for snap := md.CurrentSnapshot(); snap != nil; depth++ {
		if depth >= keep && snap.TimestampMs < cutoff {
			n++
		}
		if snap.ParentSnapshotID == nil {
			break
		}
		snap = md.SnapshotByID(*snap.ParentSnapshotID)
	}
	return n
}

// retainLast is how many snapshots of the main branch's history expiry
// must keep, newest first: r.MinSnapshots, every snapshot superseded
// within r.MaxAge (and the current one), and as far back as the oldest
// snapshot a query pins and the newest one carrying the Kafka offsets.
func (t *Table) retainLast(r Retention) int {
	md := t.ice.Metadata()
	keep := max(r.MinSnapshots, 1)
	pinned := map[int64]bool{}
	for _, id := range t.cat.Pinned(t.Namespace, t.Name) {
		pinned[id] = true
	}
	cutoff := time.Now().Add(-r.MaxAge).UnixMilli()
	offsets := false
	// supersededAt is when the child of the snapshot at depth n replaced it.
	supersededAt := int64(1<<63 - 1)
	depth := 0
	for snap := md.CurrentSnapshot(); snap != nil; depth++ {
		n := depth + 1
		if supersededAt >= cutoff || pinned[snap.SnapshotID] {
			keep = max(keep, n)
		}
		if !offsets && snap.Summary != nil {
			if _, ok := snap.Summary.Properties[OffsetsProperty]; ok {
				keep, offsets = max(keep, n), true
			}
		}
		supersededAt = snap.TimestampMs
		if snap.ParentSnapshotID == nil {
			break
		}
		snap = md.SnapshotByID(*snap.ParentSnapshotID)
	}
	return keep
}

// MergeManifests stages one snapshot, carrying props (and the offsets),
// whose manifest list holds the current snapshot's data manifests merged
// into few manifests of commit.manifest.target-size-bytes: planning then
// reads as many manifests as the live files need, not one per commit ever
// made. iceberg-go's RewriteManifests cannot carry summary properties, so
// this is an append of no files made with manifest merging on for this
// one commit (the table's properties are left as they were). It reports
// whether there was anything to merge (fewer than two data manifests:
// nothing is staged).
func (tx *Tx) MergeManifests(ctx context.Context, props map[string]string) (bool, error) {
	if err := tx.must(); err != nil {
		return false, err
	}
	snap := tx.base.ice.CurrentSnapshot()
	if snap == nil {
		return false, nil
	}
	n, err := tx.base.DataManifests(ctx)
	if err != nil || n < 2 {
		return false, err
	}
	have, err := tx.Layout()
	if err != nil {
		return false, err
	}
	if err := tx.txn.SetProperties(map[string]string{
		table.ManifestMergeEnabledKey:  "true",
		table.ManifestMinMergeCountKey: "2",
	}); err != nil {
		return false, err
	}
	p, err := tx.snapshotOp("merge manifests", props)
	if err != nil {
		return false, err
	}
	if err := tx.txn.AddFiles(ctx, nil, p, false); err != nil {
		return false, fmt.Errorf("merge manifests: %w", err)
	}
	// Put the properties back as they were (AddFiles also adds a name
	// mapping, which files with field ids do not need).
	now, err := tx.Layout()
	if err != nil {
		return false, err
	}
	restore := iceberg.Properties{}
	var remove []string
	for k, v := range now.Properties {
		if old, ok := have.Properties[k]; !ok {
			remove = append(remove, k)
		} else if old != v {
			restore[k] = old
		}
	}
	sort.Strings(remove)
	if len(restore) > 0 {
		if err := tx.txn.SetProperties(restore); err != nil {
			return false, err
		}
	}
	if len(remove) > 0 {
		if err := tx.txn.RemoveProperties(remove); err != nil {
			return false, err
		}
	}
	return true, nil
}

// DataManifests returns how many data manifests the current snapshot's
// manifest list holds.
func (t *Table) DataManifests(ctx context.Context) (int, error) {
	snap := t.ice.CurrentSnapshot()
	if snap == nil {
		return 0, nil
	}
	fs, err := t.ice.FS(ctx)
	if err != nil {
		return 0, err
	}
	mans, err := snap.Manifests(fs)
	if err != nil {
		return 0, fmt.Errorf("manifest list of %s.%s: %w", t.Namespace, t.Name, err)
	}
	n := 0
	for _, m := range mans {
		if m.ManifestContent() == iceberg.ManifestContentData {
			n++
		}
	}
	return n, nil
}

// Orphan is a file under a table's location that no metadata references.
type Orphan struct {
	Path string
	Size int64
}

// Orphans lists the files under t's location that t's metadata (every
// snapshot, manifest, delete file, statistics file and metadata file it
// names) does not reference and that were last modified before cutoff.
// The caller picks cutoff older than any commit in flight (InFlightSince)
// and than the orphan grace period.
func (t *Table) Orphans(ctx context.Context, cutoff time.Time) ([]Orphan, error) {
	plan, err := t.ice.PlanOrphanFiles(ctx, table.WithFilesOlderThan(max(time.Since(cutoff), 0)))
	if err != nil {
		return nil, fmt.Errorf("orphan files of %s.%s: %w", t.Namespace, t.Name, err)
	}
	var out []Orphan
	for _, f := range plan.OrphanFiles() {
		out = append(out, Orphan{Path: f.Path, Size: f.SizeBytes})
	}
	return out, nil
}

// RemoveFiles deletes files of the local warehouse (orphans, or the files
// of an abandoned rewrite). It returns the paths deleted; a file already
// gone counts as deleted.
func (c *Catalog) RemoveFiles(paths []string) ([]string, error) {
	var done []string
	var errs []error
	for _, p := range paths {
		lp, err := LocalPath(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.Remove(lp); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		done = append(done, p)
	}
	return done, errors.Join(errs...)
}

// Writing notes, until done is called, that maintenance of ns.name writes
// files no metadata references yet (see InFlightSince).
func (c *Catalog) Writing(ns, name string) (done func()) { return c.writing(ns, name) }

// MetadataBytes returns the size of t's metadata file.
func (t *Table) MetadataBytes() int64 {
	lp, err := LocalPath(t.ice.MetadataLocation())
	if err != nil {
		return 0
	}
	fi, err := os.Stat(lp)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// ManagedMetadataProperties are the properties that make every commit of
// a table delete its metadata files beyond the newest ten: floe sets them
// on the tables it creates, and maintenance on tables that set neither.
func ManagedMetadataProperties() map[string]string {
	return map[string]string{
		table.MetadataDeleteAfterCommitEnabledKey: "true",
		table.MetadataPreviousVersionsMaxKey:      strconv.Itoa(10),
	}
}
