package maintain

import (
	"context"
	"sort"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/floe-dev/floe/catalog"
)

// health is what a table holds, as far as maintenance is concerned: read
// from the scan tasks of its current snapshot (cached by the catalog per
// snapshot) and its metadata.
type health struct {
	snapshotID    int64
	dataFiles     int
	dataBytes     int64
	medianSize    int64
	smallFiles    int // below 3/4 of the target size
	maxSmall      int // small files in the partition with most
	maxPartition  int // data files in the partition with most
	deleteFiles   int // distinct position and equality delete files
	dataManifests int
	snapshots     int
	expirable     int // snapshots expiry would remove now
	metadataBytes int64
	target        int64 // compaction target
}

// Triggers: what makes a step due as soon as a commit brings it about,
// rather than at the next Interval.
const (
	// smallFileTrigger small files in one partition are compacted at once.
	smallFileTrigger = 6
	// manifestTrigger data manifests are merged at once.
	manifestTrigger = 8
	// metadataTrigger bytes of metadata JSON, or expirableTrigger
	// snapshots past their retention, make expiry due at once.
	metadataTrigger  = 1 << 20
	expirableTrigger = 16
)

// compactable reports whether a compaction would change anything: a
// partition with two small files or more, or delete files.
func (h health) compactable() bool { return h.maxSmall >= 2 || h.deleteFiles > 0 }

// look computes the health of t.
func (m *Maintainer) look(ctx context.Context, t *catalog.Table) (health, error) {
	h := health{snapshotID: t.SnapshotID(), snapshots: len(t.Metadata().Snapshots()),
		metadataBytes: t.MetadataBytes(), target: m.target(t)}
	h.expirable = t.Expirable(m.retention())
	tasks, err := t.Tasks(ctx)
	if err != nil {
		return h, err
	}
	small, all := map[string]int{}, map[string]int{}
	deletes := map[string]bool{}
	sizes := make([]int64, 0, len(tasks))
	for _, task := range tasks {
		size, part := task.File.FileSizeBytes(), catalog.PartitionKey(task.File)
		h.dataFiles++
		h.dataBytes += size
		sizes = append(sizes, size)
		all[part]++
		h.maxPartition = max(h.maxPartition, all[part])
		if size < h.target*3/4 {
			h.smallFiles++
			small[part]++
			h.maxSmall = max(h.maxSmall, small[part])
		}
		for _, ds := range [][]iceberg.DataFile{task.DeleteFiles, task.EqualityDeleteFiles, task.DeletionVectorFiles} {
			for _, d := range ds {
				deletes[d.FilePath()] = true
			}
		}
	}
	h.deleteFiles = len(deletes)
	if len(sizes) > 0 {
		sort.Slice(sizes, func(i, j int) bool { return sizes[i] < sizes[j] })
		h.medianSize = sizes[len(sizes)/2]
	}
	if h.dataManifests, err = m.dataManifests(ctx, t); err != nil {
		return h, err
	}
	return h, nil
}

// dataManifests returns t's data manifest count, remembered per snapshot.
func (m *Maintainer) dataManifests(ctx context.Context, t *catalog.Table) (int, error) {
	st := m.state(t.Namespace, t.Name)
	m.mu.Lock()
	if st.health.snapshotID == t.SnapshotID() && !st.checked.IsZero() {
		n := st.health.dataManifests
		m.mu.Unlock()
		return n, nil
	}
	m.mu.Unlock()
	return t.DataManifests(ctx)
}

// target is t's compaction target: its write.target-file-size-bytes, else
// the configured one.
func (m *Maintainer) target(t *catalog.Table) int64 {
	if v := t.Properties().GetInt(table.WriteTargetFileSizeBytesKey, 0); v > 0 {
		return int64(v)
	}
	return m.cfg.TargetFileSize
}

func (m *Maintainer) retention() catalog.Retention {
	return catalog.Retention{MaxAge: m.cfg.SnapshotMaxAge, MinSnapshots: m.cfg.MinSnapshots}
}

// steps are the steps of one run.
type steps struct{ compact, merge, expire, orphans bool }

func (s steps) none() bool { return !s.compact && !s.merge && !s.expire && !s.orphans }

// due decides which steps st's table needs now, given its health h: a step
// is due when the table calls for it beyond its trigger, or when it could
// do something and has not run for an Interval. Called with m.mu held.
func (m *Maintainer) due(st *tableState, h health, now time.Time) steps {
	every := m.cfg.Interval
	return steps{
		compact: h.maxSmall >= smallFileTrigger || (h.compactable() && now.Sub(st.compacted) >= every),
		merge:   h.dataManifests >= manifestTrigger || (h.dataManifests >= 2 && now.Sub(st.merged) >= every),
		expire: h.expirable > 0 &&
			(now.Sub(st.expired) >= every || h.expirable >= expirableTrigger || h.metadataBytes >= metadataTrigger),
		orphans: now.Sub(st.orphansScanned) >= m.orphanEvery(),
	}
}

// orphanEvery is how often a table's directory is scanned for orphans:
// half the grace period (a file is removed within 1.5 graces of its
// last change), at most hourly, at least every Interval.
func (m *Maintainer) orphanEvery() time.Duration {
	return max(m.cfg.Interval, min(m.cfg.OrphanGrace/2, time.Hour))
}
