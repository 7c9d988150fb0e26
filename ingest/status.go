package ingest

import (
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Observability of ingest: per table and per Kafka partition, what was
// committed (records, bytes, rejected), how far behind the source is (lag in
// records and seconds), and how commits go (last commit time, latency, files
// per commit). The same numbers feed Prometheus (Kafka.Collector,
// Service.Collector: counters and gauges read at scrape time, histograms
// observed at commit) and Status, the rows of the floe.ingest_status table.
// Counters are per process: several ingest processes each report the
// partitions they own.

// StreamStatus is one row of floe.ingest_status: a Kafka partition owned by
// this process, or a table written by HTTP pushes (Topic "", Partition -1).
type StreamStatus struct {
	Source    string // "kafka" or "http"
	Table     string // NAMESPACE.TABLE
	Topic     string
	Partition int32
	// RecordsPerSecond and BytesPerSecond are committed records and their
	// bytes (key and value; HTTP: body bytes) over the last rateWindow.
	RecordsPerSecond, BytesPerSecond float64
	// LagRecords is the high watermark minus the table's next offset
	// (-1: unknown until the first fetch); LagSeconds is the age of the
	// oldest record consumed and not yet committed (0: none).
	LagRecords      int64
	LagSeconds      float64
	CommittedOffset int64 // next offset the table holds for the partition (-1: none)
	HighWatermark   int64 // -1: unknown
	LastCommit      time.Time
	CommitLatency   time.Duration // of the last commit
	FilesLastCommit int           // data files the last commit added
	Records         int64         // committed records since the process started
	Bytes           int64
	Rejected        int64 // records sent to the dead-letter table
	Commits         int64
	// Paused is why a Kafka stream does not commit ("": it runs); the
	// columns state ('running' or 'paused') and reason.
	Paused string

	owned bool // Kafka: assigned to this process now
}

// StatusColumns and StatusTypes describe StatusRows: the columns of
// floe.ingest_status and their DuckDB types.
var (
	StatusColumns = []string{"source", "table_name", "topic", "partition", "records_per_second", "bytes_per_second",
		"lag_records", "lag_seconds", "committed_offset", "high_watermark", "last_commit", "commit_latency_ms",
		"files_last_commit", "records_total", "bytes_total", "rejected_total", "commits_total", "state", "reason"}
	StatusTypes = []string{"VARCHAR", "VARCHAR", "VARCHAR", "INTEGER", "DOUBLE", "DOUBLE",
		"BIGINT", "DOUBLE", "BIGINT", "BIGINT", "TIMESTAMPTZ", "DOUBLE",
		"INTEGER", "BIGINT", "BIGINT", "BIGINT", "BIGINT", "VARCHAR", "VARCHAR"}
)

// StatusRows renders statuses as rows of StatusColumns (nil for unknown
// values; last_commit as an RFC 3339 string).
func StatusRows(sts []StreamStatus) [][]any {
	rows := make([][]any, 0, len(sts))
	opt := func(n int64) any {
		if n < 0 {
			return nil
		}
		return n
	}
	for _, s := range sts {
		var topic, part, last any
		if s.Source == "kafka" {
			topic, part = s.Topic, int64(s.Partition)
		}
		if !s.LastCommit.IsZero() {
			last = s.LastCommit.UTC().Format("2006-01-02 15:04:05.999999Z07:00")
		}
		lag := any(s.LagSeconds)
		if s.Source != "kafka" {
			lag = nil
		}
		state, reason := "running", any(nil)
		if s.Paused != "" {
			state, reason = "paused", s.Paused
		}
		rows = append(rows, []any{s.Source, s.Table, topic, part, s.RecordsPerSecond, s.BytesPerSecond,
			opt(s.LagRecords), lag, opt(s.CommittedOffset), opt(s.HighWatermark), last,
			float64(s.CommitLatency.Microseconds()) / 1000, int64(s.FilesLastCommit),
			s.Records, s.Bytes, s.Rejected, s.Commits, state, reason})
	}
	return rows
}

// rateWindow is the window of the per-second rates.
const rateWindow = 10 * time.Second

// meter counts events in one-second buckets to give a recent rate.
type meter struct {
	sec [16]int64 // unix second of each bucket
	n   [16]int64
}

func (m *meter) add(now time.Time, n int64) {
	s := now.Unix()
	i := s % int64(len(m.sec))
	if m.sec[i] != s {
		m.sec[i], m.n[i] = s, 0
	}
	m.n[i] += n
}

// rate is the events per second over the rateWindow seconds before now.
func (m *meter) rate(now time.Time) float64 {
	end := now.Unix()
	w := int64(rateWindow / time.Second)
	var sum int64
	for i := range m.sec {
		if s := m.sec[i]; s > end-w && s <= end {
			sum += m.n[i]
		}
	}
	return float64(sum) / float64(w)
}

// pstat is what the status knows of one partition (Kafka) or table (HTTP).
// It lives as long as the process so that counters stay monotonic; owned
// tells whether a Kafka partition is assigned to this process now.
type pstat struct {
	st           StreamStatus
	owned        bool
	oldest       time.Time // timestamp of the oldest uncommitted record; zero if none
	logStart     int64
	records, bts meter
}

// stats holds the pstats of a Kafka source or an HTTP Service.
type stats struct {
	mu sync.Mutex
	m  map[string]*pstat

	commitSeconds *prometheus.HistogramVec
	commitFiles   *prometheus.HistogramVec
}

func newStats(prefix, help string) *stats {
	return &stats{
		m: map[string]*pstat{},
		commitSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    prefix + "_commit_duration_seconds",
			Help:    "Time to commit one " + help + " batch to its Iceberg table, retries included.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"table"}),
		commitFiles: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    prefix + "_commit_files",
			Help:    "Data files added by one " + help + " commit.",
			Buckets: []float64{0, 1, 2, 4, 8, 16, 32, 64},
		}, []string{"table"}),
	}
}

// get returns the pstat of key, creating it. Called with s.mu held.
func (s *stats) get(key string, init StreamStatus) *pstat {
	p := s.m[key]
	if p == nil {
		init.LagRecords, init.CommittedOffset, init.HighWatermark = -1, -1, -1
		p = &pstat{st: init, logStart: -1}
		s.m[key] = p
	}
	return p
}

// committed records a commit of records (bytes) to p.
func (p *pstat) committed(now time.Time, records, bytes, rejected int64, took time.Duration, files int) {
	p.st.Records += records
	p.st.Bytes += bytes
	p.st.Rejected += rejected
	p.st.Commits++
	p.st.LastCommit = now
	p.st.CommitLatency = took
	p.st.FilesLastCommit = files
	p.records.add(now, records+rejected)
	p.bts.add(now, bytes)
}

// snapshot returns the statuses (only owned partitions when ownedOnly),
// sorted by table, topic and partition.
func (s *stats) snapshot(ownedOnly bool) []StreamStatus {
	now := time.Now()
	s.mu.Lock()
	out := make([]StreamStatus, 0, len(s.m))
	for _, p := range s.m {
		if ownedOnly && !p.owned && p.st.Source == "kafka" {
			continue
		}
		st := p.st
		st.owned = p.owned || st.Source != "kafka"
		st.RecordsPerSecond = p.records.rate(now)
		st.BytesPerSecond = p.bts.rate(now)
		if st.Source == "kafka" {
			st.LagRecords = -1
			if st.HighWatermark >= 0 {
				from := max(st.CommittedOffset, p.logStart, 0)
				st.LagRecords = max(st.HighWatermark-from, 0)
			}
			if !p.oldest.IsZero() {
				st.LagSeconds = max(now.Sub(p.oldest).Seconds(), 0)
			}
		}
		out = append(out, st)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Table != b.Table {
			return a.Table < b.Table
		}
		if a.Topic != b.Topic {
			return a.Topic < b.Topic
		}
		return a.Partition < b.Partition
	})
	return out
}

// collector exports stats to Prometheus: counters and gauges built from a
// snapshot at scrape time, plus the commit histograms.
type collector struct {
	s      *stats
	kafka  bool
	descs  map[string]*prometheus.Desc
	labels []string
}

func newCollector(s *stats, prefix string, kafka bool) *collector {
	labels := []string{"table"}
	if kafka {
		labels = []string{"table", "topic", "partition"}
	}
	c := &collector{s: s, kafka: kafka, descs: map[string]*prometheus.Desc{}, labels: labels}
	add := func(name, help string) {
		c.descs[name] = prometheus.NewDesc(prefix+"_"+name, help, labels, nil)
	}
	add("records_total", "Records committed to the table.")
	add("bytes_total", "Bytes of the records committed (Kafka: key and value; HTTP: request bodies).")
	add("rejected_total", "Records written to the dead-letter table instead.")
	add("commits_total", "Commits that included records of this source.")
	add("last_commit_timestamp_seconds", "Unix time of the last commit.")
	if kafka {
		add("lag_records", "High watermark minus the table's next offset.")
		add("lag_seconds", "Age of the oldest record consumed and not yet committed.")
		add("committed_offset", "Next offset the table holds for the partition.")
		add("high_watermark", "High watermark of the partition as of the last fetch.")
	}
	return c
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
	c.s.commitSeconds.Describe(ch)
	c.s.commitFiles.Describe(ch)
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.s.snapshot(false) {
		lv := []string{st.Table}
		if c.kafka {
			lv = []string{st.Table, st.Topic, strconv.FormatInt(int64(st.Partition), 10)}
		}
		counter := func(name string, v int64) {
			ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.CounterValue, float64(v), lv...)
		}
		gauge := func(name string, v float64) {
			ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.GaugeValue, v, lv...)
		}
		counter("records_total", st.Records)
		counter("bytes_total", st.Bytes)
		counter("rejected_total", st.Rejected)
		counter("commits_total", st.Commits)
		if !st.LastCommit.IsZero() {
			gauge("last_commit_timestamp_seconds", float64(st.LastCommit.UnixMicro())/1e6)
		}
		if c.kafka && st.owned {
			if st.LagRecords >= 0 {
				gauge("lag_records", float64(st.LagRecords))
			}
			gauge("lag_seconds", st.LagSeconds)
			if st.CommittedOffset >= 0 {
				gauge("committed_offset", float64(st.CommittedOffset))
			}
			if st.HighWatermark >= 0 {
				gauge("high_watermark", float64(st.HighWatermark))
			}
		}
	}
	c.s.commitSeconds.Collect(ch)
	c.s.commitFiles.Collect(ch)
}

// register registers c with reg (nil: nothing).
func register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
