package maintain

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config configures maintenance. Zero values take the defaults.
type Config struct {
	// Disabled turns the scheduler's runs off: tables are still looked at
	// (floe.maintenance_status, metrics) and RunTable still runs.
	Disabled bool
	// Interval is how often every table is looked at (default 1m); a
	// table whose files call for it is maintained sooner, at commit.
	Interval time.Duration
	// TargetFileSize is the compaction target of tables that set no
	// write.target-file-size-bytes (default 128 MiB).
	TargetFileSize int64
	// SnapshotMaxAge and MinSnapshots are what expiry keeps: every
	// snapshot that was current within SnapshotMaxAge (default 1h), and
	// at least the newest MinSnapshots (default 10).
	SnapshotMaxAge time.Duration
	MinSnapshots   int
	// OrphanGrace is how old a file no metadata references must be before
	// it is removed (default 24h): longer than any commit takes.
	OrphanGrace time.Duration
	// LockDir holds the lock files that keep one maintainer per table
	// across processes (cmd/floe: DATA/maintenance/locks). Empty: no
	// cross-process lock.
	LockDir string
	// Logger (default: discard); Registerer, when set, gets the metrics.
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Audit, when set, receives every run (automatic or triggered).
	Audit func(Report)
}

// Defaults.
const (
	DefaultInterval       = time.Minute
	DefaultTargetFileSize = 128 << 20
	DefaultSnapshotMaxAge = time.Hour
	DefaultMinSnapshots   = 10
	DefaultOrphanGrace    = 24 * time.Hour
)

func (c *Config) fill() {
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.TargetFileSize == 0 {
		c.TargetFileSize = DefaultTargetFileSize
	}
	if c.SnapshotMaxAge == 0 {
		c.SnapshotMaxAge = DefaultSnapshotMaxAge
	}
	if c.MinSnapshots == 0 {
		c.MinSnapshots = DefaultMinSnapshots
	}
	if c.OrphanGrace == 0 {
		c.OrphanGrace = DefaultOrphanGrace
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate checks the settings, naming the one that is wrong by the name
// of the maintenance configuration block.
func (c Config) Validate() error {
	switch {
	case c.Interval < 0 || (c.Interval > 0 && c.Interval < 100*time.Millisecond) || c.Interval > 24*time.Hour:
		return fmt.Errorf("interval: %s is outside 100ms..24h", c.Interval)
	case c.TargetFileSize < 0 || (c.TargetFileSize > 0 && c.TargetFileSize < 64<<10):
		return fmt.Errorf("target_file_size: %d bytes is below 64KiB", c.TargetFileSize)
	case c.SnapshotMaxAge < 0:
		return fmt.Errorf("snapshot_max_age: %s must not be negative", c.SnapshotMaxAge)
	case c.MinSnapshots < 0:
		return fmt.Errorf("min_snapshots: %d must not be negative", c.MinSnapshots)
	case c.OrphanGrace < 0 || (c.OrphanGrace > 0 && c.OrphanGrace < time.Second):
		return fmt.Errorf("orphan_grace: %s is below 1s (a commit in flight could lose its files)", c.OrphanGrace)
	}
	return nil
}
