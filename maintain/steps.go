package maintain

import (
	"context"
	"errors"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/table/compaction"

	"github.com/floe-dev/floe/catalog"
)

// The summary property maintenance's snapshots carry, with the step.
const stepProperty = "floe.maintenance"

// compact bin-packs, per partition, the small files and the files delete
// files apply to into files of the target size, deletes applied, and
// commits them as one replace snapshot with the delete files that no
// longer apply to anything removed.
func (m *Maintainer) compact(ctx context.Context, ns, name string, rep *Report) error {
	start := time.Now()
	defer func() { rep.Compaction.Duration = time.Since(start) }()
	t, err := m.cat.Current(ctx, ns, name)
	if err != nil {
		return err
	}
	tasks, err := t.Tasks(ctx)
	if err != nil {
		return err
	}
	target := m.target(t)
	groups, err := planGroups(tasks, target)
	if err != nil {
		return err
	}
	c := &rep.Compaction
	for _, g := range groups {
		c.Groups++
		c.FilesRewritten += len(g.Tasks)
		c.BytesRewritten += g.TotalSizeBytes
	}
	if rep.DryRun || len(groups) == 0 {
		return nil
	}

	// The new files are referenced by no metadata until the commit: orphan
	// removal of this process spares them meanwhile.
	done := m.cat.Writing(ns, name)
	defer done()
	var results []table.CompactionGroupResult
	var written []string
	removeWritten := func() {
		if _, err := m.cat.RemoveFiles(written); err != nil {
			m.cfg.Logger.Warn("maintenance: remove the files of an abandoned compaction (orphan removal will)", "table", ns+"."+name, "err", err)
		}
	}
	rewritten := map[string]struct{}{}
	for _, g := range groups {
		res, err := t.RewriteGroup(ctx, g, target)
		for _, f := range res.NewDataFiles {
			written = append(written, f.FilePath())
		}
		if err != nil {
			removeWritten()
			return err
		}
		results = append(results, res)
		for _, f := range res.OldDataFiles {
			rewritten[f.FilePath()] = struct{}{}
		}
	}
	dead, err := t.DeadDeletes(ctx, rewritten)
	if err != nil {
		removeWritten()
		return err
	}
	_, err = m.cat.Commit(ctx, ns, name, func(ctx context.Context, tx *catalog.Tx) error {
		return tx.Rewrite(ctx, catalog.Rewrite{Base: t, Groups: results, DeadDeletes: dead},
			map[string]string{stepProperty: "compaction"})
	})
	if err != nil {
		// Only an error that says the commit did not land lets the new
		// files go at once; after any other, they may be the table's now.
		if errors.Is(err, catalog.ErrRewriteStale) || catalog.IsConflict(err) {
			removeWritten()
		}
		if errors.Is(err, catalog.ErrRewriteStale) {
			c.Abandoned = err.Error()
			c.FilesRewritten, c.BytesRewritten = 0, 0
			return nil
		}
		return err
	}
	removed := map[string]bool{}
	for _, r := range results {
		c.FilesWritten += len(r.NewDataFiles)
		c.BytesWritten += r.BytesAfter
		for _, d := range append(append([]iceberg.DataFile{}, r.SafePosDeletes...), r.SafeDeletionVectors...) {
			removed[d.FilePath()] = true
		}
	}
	for _, d := range dead {
		removed[d.FilePath()] = true
	}
	c.DeleteFilesRemoved = len(removed)
	return nil
}

// planGroups chooses what a compaction of these tasks rewrites: in each
// partition with two small files or more, or with delete files, the small
// files and the files delete files apply to, bin-packed (iceberg-go's
// planner) into groups of about target bytes. A group of one small file
// with no deletes would be copied for nothing and is dropped.
func planGroups(tasks []table.FileScanTask, target int64) ([]table.CompactionTaskGroup, error) {
	type part struct{ small, deletes int }
	parts := map[string]*part{}
	hasDeletes := func(t table.FileScanTask) bool {
		return len(t.DeleteFiles)+len(t.EqualityDeleteFiles)+len(t.DeletionVectorFiles) > 0
	}
	for _, t := range tasks {
		key := catalog.PartitionKey(t.File)
		p := parts[key]
		if p == nil {
			p = &part{}
			parts[key] = p
		}
		if t.File.FileSizeBytes() < target*3/4 {
			p.small++
		}
		if hasDeletes(t) {
			p.deletes++
		}
	}
	var eligible []table.FileScanTask
	for _, t := range tasks {
		if p := parts[catalog.PartitionKey(t.File)]; p.small >= 2 || p.deletes > 0 {
			eligible = append(eligible, t)
		}
	}
	if len(eligible) == 0 {
		return nil, nil
	}
	cfg := compaction.DefaultConfig()
	cfg.TargetFileSizeBytes = target
	cfg.MinFileSizeBytes = target * 3 / 4
	cfg.MaxFileSizeBytes = target * 9 / 5
	cfg.MinInputFiles = 1
	cfg.DeleteFileThreshold = 1
	plan, err := cfg.PlanCompaction(eligible)
	if err != nil {
		return nil, err
	}
	var out []table.CompactionTaskGroup
	for _, g := range plan.Groups {
		if len(g.Tasks) == 1 && !hasDeletes(g.Tasks[0]) {
			continue
		}
		out = append(out, table.CompactionTaskGroup{PartitionKey: g.PartitionKey, Tasks: g.Tasks, TotalSizeBytes: g.TotalSizeBytes})
	}
	return out, nil
}

// mergeManifests merges the data manifests of the current snapshot.
func (m *Maintainer) mergeManifests(ctx context.Context, ns, name string, rep *Report) error {
	t, err := m.cat.Current(ctx, ns, name)
	if err != nil {
		return err
	}
	before, err := t.DataManifests(ctx)
	if err != nil || before < 2 {
		return err
	}
	if rep.DryRun {
		rep.ManifestsMerged = before
		return nil
	}
	after, err := m.cat.Commit(ctx, ns, name, func(ctx context.Context, tx *catalog.Tx) error {
		_, err := tx.MergeManifests(ctx, map[string]string{stepProperty: "manifests"})
		return err
	})
	if err != nil {
		return err
	}
	n, err := after.DataManifests(ctx)
	if err != nil {
		return err
	}
	rep.ManifestsMerged = before - n
	return nil
}

// expire expires the snapshots the retention does not keep; their files
// (those no kept snapshot references) are deleted as the commit lands. A
// table that says nothing of its old metadata files gets the properties
// that delete all but the newest ten at every commit.
func (m *Maintainer) expire(ctx context.Context, ns, name string, rep *Report) error {
	if rep.DryRun {
		t, err := m.cat.Current(ctx, ns, name)
		if err != nil {
			return err
		}
		rep.SnapshotsExpired = t.Expirable(m.retention())
		return nil
	}
	var ex catalog.Expiry
	_, err := m.cat.Commit(ctx, ns, name, func(ctx context.Context, tx *catalog.Tx) error {
		props := tx.Base().Properties()
		_, a := props[table.MetadataDeleteAfterCommitEnabledKey]
		_, b := props[table.MetadataPreviousVersionsMaxKey]
		if !a && !b {
			if err := tx.SetProperties(catalog.ManagedMetadataProperties()); err != nil {
				return err
			}
		}
		var err error
		ex, err = tx.ExpireSnapshots(m.retention())
		return err
	})
	if err != nil {
		return err
	}
	rep.SnapshotsExpired = len(ex.Removed)
	return nil
}

// removeOrphans removes the files under the table's location that no
// metadata references and that are older than the grace period — and
// older than every write of this process to the table still in flight.
func (m *Maintainer) removeOrphans(ctx context.Context, ns, name string, rep *Report) error {
	// The cutoff comes first: a commit that starts later writes newer
	// files, one that ends before the table is loaded is in its metadata.
	cutoff := time.Now().Add(-m.cfg.OrphanGrace)
	if since, ok := m.cat.InFlightSince(ns, name); ok && since.Before(cutoff.Add(time.Second)) {
		cutoff = since.Add(-time.Second)
	}
	t, err := m.cat.Current(ctx, ns, name)
	if err != nil {
		return err
	}
	orphans, err := t.Orphans(ctx, cutoff)
	if err != nil {
		return err
	}
	paths := make([]string, len(orphans))
	var bytes int64
	for i, o := range orphans {
		paths[i] = o.Path
		bytes += o.Size
	}
	if rep.DryRun {
		rep.OrphansRemoved, rep.OrphanBytesRemoved = paths, bytes
		return nil
	}
	removed, err := m.cat.RemoveFiles(paths)
	rep.OrphansRemoved = removed
	size := make(map[string]int64, len(orphans))
	for _, o := range orphans {
		size[o.Path] = o.Size
	}
	for _, r := range removed {
		rep.OrphanBytesRemoved += size[r]
	}
	return err
}
