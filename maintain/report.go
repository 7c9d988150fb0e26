package maintain

import (
	"fmt"
	"strings"
	"time"
)

// Report is what one run on a table did (or, for a dry run, would do).
type Report struct {
	Table     string    `json:"table"`
	Started   time.Time `json:"started_at"`
	Finished  time.Time `json:"finished_at"`
	DryRun    bool      `json:"dry_run"`
	Principal string    `json:"principal"`
	Protocol  string    `json:"protocol"`

	Compaction       CompactionReport `json:"compaction"`
	ManifestsMerged  int              `json:"manifests_merged"`  // data manifests fewer after the merge
	SnapshotsExpired int              `json:"snapshots_expired"` // dry run: that would be expired
	// OrphansRemoved are the orphan files removed (dry run: found).
	OrphansRemoved     []string `json:"orphans_removed"`
	OrphanBytesRemoved int64    `json:"orphan_bytes_removed"`

	// StepMillis is how long each step took, in milliseconds.
	StepMillis map[string]int64 `json:"step_ms"`

	Err error `json:"-"`
}

// CompactionReport is what a compaction rewrote.
type CompactionReport struct {
	Groups             int           `json:"groups"`
	FilesRewritten     int           `json:"files_rewritten"` // data files replaced
	BytesRewritten     int64         `json:"bytes_rewritten"` // their size
	FilesWritten       int           `json:"files_written"`
	BytesWritten       int64         `json:"bytes_written"`
	DeleteFilesRemoved int           `json:"delete_files_removed"`
	Abandoned          string        `json:"abandoned,omitempty"` // why a stale rewrite was not committed
	Duration           time.Duration `json:"-"`
}

// did reports whether the run changed (or would change) anything.
func (r Report) did() bool {
	return r.Compaction.Groups > 0 || r.ManifestsMerged > 0 || r.SnapshotsExpired > 0 || len(r.OrphansRemoved) > 0
}

// Summary is the run in one line, as floe.maintenance_status shows it.
func (r Report) Summary() string {
	var parts []string
	c := r.Compaction
	verb := func(done, dry string) string {
		if r.DryRun {
			return dry
		}
		return done
	}
	switch {
	case c.Abandoned != "":
		parts = append(parts, "compaction abandoned: "+c.Abandoned)
	case c.Groups > 0 && r.DryRun:
		parts = append(parts, fmt.Sprintf("would compact %d files (%s)", c.FilesRewritten, bytesString(c.BytesRewritten)))
	case c.Groups > 0:
		s := fmt.Sprintf("compacted %d files (%s) into %d", c.FilesRewritten, bytesString(c.BytesRewritten), c.FilesWritten)
		if c.DeleteFilesRemoved > 0 {
			s += fmt.Sprintf(", %d delete files folded", c.DeleteFilesRemoved)
		}
		parts = append(parts, s)
	}
	if r.ManifestsMerged > 0 {
		parts = append(parts, fmt.Sprintf("%s %d manifests", verb("merged", "would merge"), r.ManifestsMerged))
	}
	if r.SnapshotsExpired > 0 {
		parts = append(parts, fmt.Sprintf("%s %d snapshots", verb("expired", "would expire"), r.SnapshotsExpired))
	}
	if n := len(r.OrphansRemoved); n > 0 {
		parts = append(parts, fmt.Sprintf("%s %d orphan files (%s)", verb("removed", "would remove"), n, bytesString(r.OrphanBytesRemoved)))
	}
	if len(parts) == 0 {
		parts = append(parts, "nothing due")
	}
	s := strings.Join(parts, "; ")
	if r.Err != nil {
		s = "error: " + r.Err.Error() + " (" + s + ")"
	}
	return s
}

func bytesString(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
