package maintain

import (
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// StatusColumns and StatusTypes describe StatusRows: the columns of
// floe.maintenance_status and their DuckDB types.
var (
	StatusColumns = []string{"table_name", "live_data_files", "max_partition_files", "small_data_files", "median_file_size", "data_bytes",
		"delete_files", "data_manifests", "snapshots", "expirable_snapshots", "metadata_bytes", "checked_at",
		"last_run", "last_result", "runs_total", "bytes_rewritten", "files_rewritten", "delete_files_removed",
		"snapshots_expired", "orphans_removed"}
	StatusTypes = []string{"VARCHAR", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT",
		"BIGINT", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "TIMESTAMPTZ",
		"TIMESTAMPTZ", "VARCHAR", "BIGINT", "BIGINT", "BIGINT", "BIGINT",
		"BIGINT", "BIGINT"}
)

// StatusRows returns one row per table the Maintainer has looked at, in
// the order of StatusColumns: what the table holds when last looked at
// (every Interval at least), and what this process's runs did to it.
func (m *Maintainer) StatusRows() [][]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	keys := make([]string, 0, len(m.tables))
	for k, st := range m.tables {
		if !st.checked.IsZero() {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	rows := make([][]any, 0, len(keys))
	for _, k := range keys {
		st := m.tables[k]
		h, t := st.health, st.totals
		var lastRun, lastResult any
		if !st.lastRun.IsZero() {
			lastRun, lastResult = timestamp(st.lastRun), st.lastResult
		}
		rows = append(rows, []any{k, int64(h.dataFiles), int64(h.maxPartition), int64(h.smallFiles), h.medianSize, h.dataBytes,
			int64(h.deleteFiles), int64(h.dataManifests), int64(h.snapshots), int64(h.expirable), h.metadataBytes,
			timestamp(st.checked), lastRun, lastResult, t.runs, t.bytesRewritten, t.filesRewritten, t.deleteFilesRemoved,
			t.snapshotsExpired, t.orphansRemoved})
	}
	return rows
}

// timestamp renders t as the TIMESTAMPTZ text the virtual table takes.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.999999Z07:00") }

// metrics is the Prometheus collector of a Maintainer: the figures of
// floe.maintenance_status, read at scrape time.
type metrics struct {
	m     *Maintainer
	descs map[string]*prometheus.Desc
}

var metricHelp = map[string]string{
	"live_data_files":            "Data files of the table's current snapshot.",
	"max_partition_files":        "Data files of the current snapshot in the partition that has most.",
	"small_data_files":           "Data files below three quarters of the compaction target.",
	"median_file_size_bytes":     "Median size of the current snapshot's data files.",
	"delete_files":               "Position and equality delete files of the current snapshot.",
	"data_manifests":             "Data manifests of the current snapshot.",
	"snapshots":                  "Snapshots the table's metadata holds.",
	"metadata_bytes":             "Size of the table's current metadata file.",
	"last_run_timestamp_seconds": "When this process last ran maintenance on the table.",
	"runs_total":                 "Maintenance runs of this process on the table.",
	"failures_total":             "Maintenance runs of this process on the table that failed.",
	"bytes_rewritten_total":      "Bytes of data files compaction replaced.",
	"files_rewritten_total":      "Data files compaction replaced.",
	"delete_files_removed_total": "Delete files compaction folded away.",
	"snapshots_expired_total":    "Snapshots expiry removed.",
	"orphan_files_removed_total": "Orphan files removed.",
	"orphan_bytes_removed_total": "Bytes of orphan files removed.",
	"manifests_merged_total":     "Data manifests merging made redundant.",
}

func newMetrics(m *Maintainer) *metrics {
	c := &metrics{m: m, descs: map[string]*prometheus.Desc{}}
	for name, help := range metricHelp {
		c.descs[name] = prometheus.NewDesc("floe_maintenance_"+name, help, []string{"table"}, nil)
	}
	return c
}

func (c *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *metrics) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	m.mu.Lock()
	defer m.mu.Unlock()
	for key, st := range m.tables {
		if st.checked.IsZero() {
			continue
		}
		h, t := st.health, st.totals
		gauge := func(name string, v float64) {
			ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.GaugeValue, v, key)
		}
		counter := func(name string, v int64) {
			ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.CounterValue, float64(v), key)
		}
		gauge("live_data_files", float64(h.dataFiles))
		gauge("max_partition_files", float64(h.maxPartition))
		gauge("small_data_files", float64(h.smallFiles))
		gauge("median_file_size_bytes", float64(h.medianSize))
		gauge("delete_files", float64(h.deleteFiles))
		gauge("data_manifests", float64(h.dataManifests))
		gauge("snapshots", float64(h.snapshots))
		gauge("metadata_bytes", float64(h.metadataBytes))
		if !st.lastRun.IsZero() {
			gauge("last_run_timestamp_seconds", float64(st.lastRun.UnixNano())/float64(time.Second))
		}
		counter("runs_total", t.runs)
		counter("failures_total", t.failures)
		counter("bytes_rewritten_total", t.bytesRewritten)
		counter("files_rewritten_total", t.filesRewritten)
		counter("delete_files_removed_total", t.deleteFilesRemoved)
		counter("snapshots_expired_total", t.snapshotsExpired)
		counter("orphan_files_removed_total", t.orphansRemoved)
		counter("orphan_bytes_removed_total", t.orphanBytesRemoved)
		counter("manifests_merged_total", t.manifestsMerged)
	}
}
