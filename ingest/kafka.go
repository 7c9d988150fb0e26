package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/floe-dev/floe/catalog"
)

// OffsetsProperty is the snapshot summary property in which every Kafka
// commit stores the next offset of every topic-partition the table has
// consumed: a JSON object {"topic/partition": next offset}. The main table's
// map is the source of truth for where consumption resumes; the dead-letter
// table's map only tells how far dead letters have been written.
const OffsetsProperty = catalog.OffsetsProperty

// RejectedSuffix is appended to a table's name to name its dead-letter
// table: clinical.vitals → clinical.vitals__rejected.
const RejectedSuffix = "__rejected"

// Defaults for KafkaConfig.
const (
	DefaultKafkaGroup     = "floe"
	DefaultMaxRecordBytes = 1 << 20
)

// KafkaConfig configures a Kafka source. Zero values take the defaults.
type KafkaConfig struct {
	Brokers []string // seed brokers, HOST:PORT (required)
	Group   string   // consumer group (default "floe")
	// InstanceID, when set, makes this process a static group member: a
	// restarted process with the same id takes its partitions back at once
	// instead of waiting for the session timeout.
	InstanceID string
	// SessionTimeout of the group member (default: franz-go's, 45s).
	SessionTimeout time.Duration
	// MaxRecordBytes: larger values go to the dead-letter table (default 1 MiB).
	MaxRecordBytes int
	// TLS and SASL, when set, secure the connections to the brokers
	// (kafka_auth.go).
	TLS  *KafkaTLS
	SASL *KafkaSASL
	// MetadataMaxAge bounds how old the client's metadata may get, and so
	// how soon a new topic matching a TopicRegex is consumed (default:
	// franz-go's, 5m).
	MetadataMaxAge time.Duration
	Streams        []KafkaStream
	Logger         *slog.Logger
	// Registerer receives the floe_kafka_* metrics (nil: not exported).
	Registerer prometheus.Registerer
}

// KafkaStream maps one topic, or every topic matching a regular
// expression, to one table.
type KafkaStream struct {
	Topic string
	// TopicRegex, instead of Topic, consumes every topic it matches (Go
	// syntax, unanchored unless it says ^...$), those created later
	// included. A topic named by a stream's Topic goes to that stream; one
	// matching several regexes goes to the first such stream.
	TopicRegex string
	Namespace  string
	Table      string
	// Format of the record values: "json" (the default), "avro" (the
	// Confluent wire format, writer schemas from Registry; avro.go) or
	// "debezium-json" (Debezium change events applied by key; debezium.go).
	Format string
	// Key names the columns that identify a row of a debezium-json
	// stream (top-level columns). Empty: the fields of the record keys.
	Key []string
	// Registry is the schema registry of an avro stream.
	Registry RegistryConfig
	// CommitInterval is the least time between two commits to the table
	// (default 1s).
	CommitInterval time.Duration
	// StartFrom is where a partition the table holds no offset for starts:
	// "earliest" (default) or "latest".
	StartFrom string
	// PartitionBy is the table's partition spec, as Iceberg transforms
	// (ParsePartitionBy): a table floe creates gets it, an existing table
	// with another spec evolves to it. Empty: the table keeps its spec.
	PartitionBy []string
	// TargetFileSize is the size in bytes at which the data files of a
	// commit are rolled (the table property write.target-file-size-bytes;
	// 0: the table keeps its own, by default 512 MiB).
	TargetFileSize int64
	// FixedSchema turns schema evolution off: records with fields the
	// table lacks, or values that would promote a column, go to the
	// dead-letter table. A table floe creates still takes its schema from
	// the first batch.
	FixedSchema bool
}

// Kafka consumes topics in a consumer group and commits their records to
// Iceberg tables exactly once. See doc.go for the protocol.
type Kafka struct {
	cat *catalog.Catalog
	cfg KafkaConfig
	log *slog.Logger

	// streams in configuration order; byTopic routes each topic seen to its
	// stream (nil: no stream consumes it), filled by route.
	streams []*kstream
	byTopic map[string]*kstream

	// mu guards the partition states and buffers. The poll loop holds it
	// from the end of a poll to AllowRebalance; the group callbacks (which
	// BlockRebalanceOnPoll runs between polls) take it too.
	mu     sync.Mutex
	ps     parser
	client *kgo.Client

	rows, rejected, commits, fenced atomic.Int64

	// generation returns the group generation this process is in now
	// (kafka_fence.go); revoking is set while the revoked callback commits.
	generation func() int32
	revoking   bool

	// want is the pause state asked for, per table and cause (none: run);
	// the poll loop applies it (kafka_pause.go). Guarded by wantMu.
	wantMu sync.Mutex
	want   map[string]map[string]string
	paused *prometheus.GaugeVec

	// stats is what Status and the metrics report; its own lock, so that
	// a status query never waits for a commit.
	stats *stats
}

// kstream is the state of one stream: its partitions owned by this process.
type kstream struct {
	cfg    KafkaStream
	re     *regexp.Regexp // of cfg.TopicRegex; nil for a single topic
	topics map[string]bool
	parts  map[tp]*kpart
	last   time.Time // start of the last commit
	n      int       // buffered records
	// paused is why the stream does not commit ("": it runs).
	paused string
	// layout is the table layout of cfg (partition spec, file size).
	layout *layout
	// reg is where an avro stream's writer schemas come from (avro.go).
	reg *registry
	// dbz is the key of a debezium-json stream (nil for other formats).
	dbz *debezium
}

// tp names a topic-partition.
type tp struct {
	topic     string
	partition int32
}

// kpart is one owned partition.
type kpart struct {
	topic     string
	partition int32
	// committed is the partition's offset in the main table as of our last
	// look (-1: none): a commit requires the table to still hold it.
	committed int64
	// next is the offset after the last record taken (-1: none taken yet).
	next int64
	recs []krec
	// gen is the group generation at which this process last learned it
	// owns the partition (assignment, or a rebalance that kept it).
	gen int32
	// stalled: a record could not be decoded yet (the schema registry is
	// unreachable); the partition takes nothing more this poll and then
	// seeks back to next (reseekStalled).
	stalled bool
}

// krec is one consumed record, decoded.
type krec struct {
	key, value []byte
	offset     int64
	ts         time.Time
	v          value
	avro       *writerSchema // format avro: the record's writer schema
	change     *change       // format debezium-json: what the event does (debezium.go)
	skip       bool          // a tombstone: consumed, nothing to write
	bad        string        // why the record cannot be written; "" if it may be
}

// NewKafka returns a Kafka source writing through cat. It does no I/O;
// cfg must name brokers and at least one stream.
func NewKafka(cat *catalog.Catalog, cfg KafkaConfig) (*Kafka, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("kafka: no brokers")
	}
	if len(cfg.Streams) == 0 {
		return nil, errors.New("kafka: no streams")
	}
	if cfg.Group == "" {
		cfg.Group = DefaultKafkaGroup
	}
	if cfg.MaxRecordBytes <= 0 {
		cfg.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	k := &Kafka{cat: cat, cfg: cfg, log: cfg.Logger, byTopic: map[string]*kstream{}, want: map[string]map[string]string{}}
	k.generation = k.clientGeneration
	topics := map[string]bool{}
	registries := registrySet{} // streams with the same registry share its schema cache
	for i, s := range cfg.Streams {
		if s.Format == "" {
			s.Format = "json"
		}
		if s.CommitInterval <= 0 {
			s.CommitInterval = DefaultCommitInterval
		}
		if s.StartFrom == "" {
			s.StartFrom = "earliest"
		}
		ks := &kstream{cfg: s, topics: map[string]bool{}, parts: map[tp]*kpart{}}
		if s.Format == "avro" {
			ks.reg = registries.get(s.Registry)
		}
		if s.Format == "debezium-json" {
			ks.dbz = newDebezium(s.Key)
		}
		switch {
		case s.Topic == "" && s.TopicRegex == "":
			return nil, fmt.Errorf("kafka: stream %d: no topic or topic_regex", i)
		case s.Topic != "" && s.TopicRegex != "":
			return nil, fmt.Errorf("kafka: stream %d: topic and topic_regex are exclusive", i)
		case s.Format != "json" && s.Format != "avro" && s.Format != "debezium-json":
			return nil, fmt.Errorf("kafka: stream %d: format %q is not supported (json, avro, debezium-json)", i, s.Format)
		case len(s.Key) > 0 && s.Format != "debezium-json":
			return nil, fmt.Errorf("kafka: stream %d: key applies to format debezium-json only", i)
		case s.Format == "avro" && s.Registry.URL == "":
			return nil, fmt.Errorf("kafka: stream %d: format avro needs a schema registry URL", i)
		case s.StartFrom != "earliest" && s.StartFrom != "latest":
			return nil, fmt.Errorf("kafka: stream %d: start_from %q is not earliest or latest", i, s.StartFrom)
		case s.Topic != "" && topics[s.Topic]:
			return nil, fmt.Errorf("kafka: stream %d: topic %q is consumed by another stream", i, s.Topic)
		}
		if s.TopicRegex != "" {
			re, err := regexp.Compile(s.TopicRegex)
			if err != nil {
				return nil, fmt.Errorf("kafka: stream %d: topic_regex: %w", i, err)
			}
			ks.re = re
		}
		topics[s.Topic] = true
		if err := validName("namespace", s.Namespace); err != nil {
			return nil, fmt.Errorf("kafka: stream %d: %w", i, err)
		}
		if err := validName("table", s.Table); err != nil {
			return nil, fmt.Errorf("kafka: stream %d: %w", i, err)
		}
		if err := checkKey(s); err != nil {
			return nil, fmt.Errorf("kafka: stream %d: %w", i, err)
		}
		var err error
		if ks.layout, err = newLayout(s); err != nil {
			return nil, fmt.Errorf("kafka: stream %d: %w", i, err)
		}
		k.streams = append(k.streams, ks)
	}
	k.stats = newStats("floe_kafka", "Kafka")
	k.paused = newPausedGauge()
	for _, s := range k.streams {
		k.paused.WithLabelValues(s.cfg.Namespace + "." + s.cfg.Table).Set(0)
	}
	if err := register(cfg.Registerer, newCollector(k.stats, "floe_kafka", true), k.paused); err != nil {
		return nil, fmt.Errorf("kafka: metrics: %w", err)
	}
	return k, nil
}

// Stats counts what a Kafka source did since it started.
type Stats struct {
	Rows, Rejected, Commits, Fenced int64
}

// Stats returns the counters.
func (k *Kafka) Stats() Stats {
	return Stats{Rows: k.rows.Load(), Rejected: k.rejected.Load(), Commits: k.commits.Load(), Fenced: k.fenced.Load()}
}

// Status returns a row per partition this process owns now. It is safe to
// call at any time, from any goroutine.
func (k *Kafka) Status() []StreamStatus { return k.stats.snapshot(true) }

// Run consumes until ctx ends, then commits what is buffered (within 30s)
// and leaves the group. It returns nil after a clean stop.
func (k *Kafka) Run(ctx context.Context) error {
	topics, regex := k.subscription()
	opts := []kgo.Opt{
		kgo.SeedBrokers(k.cfg.Brokers...),
		kgo.ConsumerGroup(k.cfg.Group),
		kgo.ConsumeTopics(topics...),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxWait(200 * time.Millisecond),
		kgo.OnPartitionsAssigned(k.assigned),
		kgo.AdjustFetchOffsetsFn(k.adjust),
		kgo.OnPartitionsRevoked(k.revoked),
		kgo.OnPartitionsLost(k.lost),
	}
	if k.cfg.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(k.cfg.InstanceID))
	}
	if k.cfg.SessionTimeout > 0 {
		opts = append(opts, kgo.SessionTimeout(k.cfg.SessionTimeout))
	}
	if regex {
		opts = append(opts, kgo.ConsumeRegex())
	}
	if k.cfg.MetadataMaxAge > 0 {
		opts = append(opts, kgo.MetadataMaxAge(k.cfg.MetadataMaxAge), kgo.MetadataMinAge(min(k.cfg.MetadataMaxAge, 100*time.Millisecond)))
	}
	conn, err := k.cfg.connOpts(ctx)
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	cl, err := kgo.NewClient(append(opts, conn...)...)
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	if err := k.checkAuth(ctx, cl); err != nil {
		cl.Close()
		return err
	}
	k.mu.Lock()
	k.client = cl
	k.mu.Unlock()
	k.log.Info("kafka: consuming", "brokers", strings.Join(k.cfg.Brokers, ","), "group", k.cfg.Group, "topics", strings.Join(topics, ","))

	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, k.pollWait())
		fs := cl.PollFetches(pctx)
		cancel()
		if fs.IsClientClosed() {
			break
		}
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				k.log.Warn("kafka: fetch", "topic", t, "partition", p, "err", err)
			}
		})
		parts := k.parseAhead(fs)
		k.mu.Lock()
		for _, fp := range parts {
			for i, r := range fp.records {
				var pv *parsedValue
				if fp.parsed != nil {
					pv = &fp.parsed[i]
				}
				k.takeParsed(r, pv)
			}
		}
		stalled := k.reseekStalled()
		k.applyPauses(ctx)
		k.commitDue(ctx, false)
		k.observe(fs)
		k.mu.Unlock()
		cl.AllowRebalance()
		if stalled {
			_ = sleep(ctx, stallWait) // the registry is down: do not spin on refetches
		}
	}

	// Commit what is buffered, then leave the group.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	k.mu.Lock()
	k.commitDue(fctx, true)
	k.mu.Unlock()
	cl.AllowRebalance()
	cl.Close()
	return nil
}

// pollWait is how long a poll may wait: until the earliest commit due.
func (k *Kafka) pollWait() time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	wait := time.Second
	for _, s := range k.streams {
		if s.n > 0 && s.paused == "" {
			wait = min(wait, time.Until(s.last.Add(s.cfg.CommitInterval)))
		}
	}
	return max(wait, 5*time.Millisecond)
}

// take buffers one record of an owned partition. Records of partitions not
// owned, and records before the partition's position (fetched before a
// seek), are ignored.
func (k *Kafka) take(r *kgo.Record) { k.takeParsed(r, nil) }

// takeParsed is take with the record's JSON value already parsed (pv, nil
// if it was not: kafka_decode.go).
func (k *Kafka) takeParsed(r *kgo.Record, pv *parsedValue) {
	s := k.route(r.Topic)
	if s == nil {
		return
	}
	if s.paused != "" {
		return // dropped: on resume the stream seeks to the table's offsets
	}
	p := s.parts[tp{r.Topic, r.Partition}]
	if p == nil || p.stalled || (p.next >= 0 && r.Offset < p.next) {
		return
	}
	kr := krec{key: r.Key, value: r.Value, offset: r.Offset, ts: r.Timestamp}
	switch {
	case len(r.Value) > k.cfg.MaxRecordBytes:
		kr.bad = fmt.Sprintf("record value of %d bytes is over the limit of %d", len(r.Value), k.cfg.MaxRecordBytes)
	case s.reg != nil:
		if !k.decodeAvro(s, p, &kr) {
			return // the registry cannot be asked now: the partition waits (stall)
		}
	case s.dbz != nil:
		s.dbz.decode(&k.ps, &kr)
	default:
		var v value
		var msg string
		if pv != nil {
			v, msg = pv.v, pv.msg
		} else {
			v, msg = k.ps.parseRecord(string(r.Value))
		}
		switch {
		case msg != "":
			kr.bad = msg
		case v.kind != kObject:
			kr.bad = "record is not a JSON object"
		default:
			kr.v = v
		}
	}
	if s.n == 0 && time.Since(s.last) > s.cfg.CommitInterval {
		// After a quiet spell the first record waits a little for company
		// rather than being committed alone.
		s.last = time.Now().Add(-s.cfg.CommitInterval / 2)
	}
	p.recs = append(p.recs, kr)
	p.next = r.Offset + 1
	s.n++
}

// commitDue commits the streams whose interval has passed (all with
// buffered records when force). Called with k.mu held.
func (k *Kafka) commitDue(ctx context.Context, force bool) {
	for _, s := range k.streams {
		if s.n > 0 && s.paused == "" && (force || !time.Now().Before(s.last.Add(s.cfg.CommitInterval))) {
			k.commitStream(ctx, s, true)
		}
	}
}

// errFenced: the table's offsets for a partition of the batch are not the
// ones the batch started from: another process committed them.
var errFenced = errors.New("table offsets moved: partition owned elsewhere")

// commitStream commits the buffered records of s. On success the
// partitions' committed offsets advance and the group offsets are
// committed to Kafka (for lag tools only). When the table's offsets moved,
// the buffered records are dropped and, if reseek, the partitions seek to
// the table's offsets. Other errors keep the records for the next try.
func (k *Kafka) commitStream(ctx context.Context, s *kstream, reseek bool) {
	start := time.Now()
	s.last = start
	table := s.cfg.Namespace + "." + s.cfg.Table
	batch := k.batch(s)
	if len(batch) == 0 {
		return
	}
	var res kafkaCommit
	t, err := k.cat.Commit(ctx, s.cfg.Namespace, s.cfg.Table, func(ctx context.Context, tx *catalog.Tx) error {
		res = kafkaCommit{}
		if err := k.attempt(ctx, tx, s, batch, &res); err != nil {
			return err
		}
		res.main = tx.HasSnapshot()
		return nil
	})
	if err == nil && res.main {
		res.snapshot = t.SnapshotID()
	}
	switch {
	case err == nil:
		group := map[string]map[int32]kgo.EpochOffset{}
		took := time.Since(start)
		files := 0
		if res.snapshot != 0 {
			files = addedFiles(t, res.snapshot)
		}
		k.stats.commitSeconds.WithLabelValues(table).Observe(took.Seconds())
		k.stats.commitFiles.WithLabelValues(table).Observe(float64(files))
		k.stats.mu.Lock()
		for _, p := range batch {
			var bytes, bad int64
			for i := range p.recs {
				bytes += int64(len(p.recs[i].key) + len(p.recs[i].value))
				if p.recs[i].bad != "" {
					bad++
				}
			}
			ps := k.partStat(table, p)
			ps.committed(start.Add(took), int64(len(p.recs))-bad, bytes, bad, took, files)
			if res.snapshot != 0 {
				ps.st.CommittedOffset = p.next
			}
			ps.oldest = time.Time{}
		}
		k.stats.mu.Unlock()
		for _, p := range batch {
			if res.snapshot != 0 {
				p.committed = p.next
			}
			s.n -= len(p.recs)
			p.recs = nil
			if group[p.topic] == nil {
				group[p.topic] = map[int32]kgo.EpochOffset{}
			}
			group[p.topic][p.partition] = kgo.EpochOffset{Epoch: -1, Offset: p.next}
		}
		k.rows.Add(int64(res.rows))
		k.rejected.Add(int64(res.rejected))
		k.commits.Add(1)
		k.log.Info("kafka: committed", "table", table, "rows", res.rows, "rejected", res.rejected,
			"snapshot_id", res.snapshot, "took", time.Since(start).Round(time.Millisecond))
		if k.client != nil {
			k.client.CommitOffsets(context.WithoutCancel(ctx), group, nil)
		}
	case errors.Is(err, errFenced):
		k.fenced.Add(1)
		k.stats.commitSeconds.WithLabelValues(table).Observe(time.Since(start).Seconds())
		k.log.Warn("kafka: dropped a batch whose partitions were committed by another process; seeking to the table's offsets", "table", table, "err", err)
		k.dropAndSeek(ctx, s, reseek)
	case errors.Is(err, errLayout):
		// Retrying cannot help: pause the stream (its buffer is dropped,
		// it resumes from the table's offsets) until the configuration
		// is fixed and floe restarted.
		k.log.Error("kafka: the stream's partition_by does not fit its table; pausing the stream", "table", table, "err", err)
		k.Pause(table, PausePartitionBy, err.Error())
	default:
		k.log.Error("kafka: commit failed; will retry", "table", table, "err", err)
	}
}

// dropAndSeek drops the buffered records of s and moves its partitions to
// the table's offsets (a table not created yet has none).
func (k *Kafka) dropAndSeek(ctx context.Context, s *kstream, seek bool) error {
	for _, p := range s.parts {
		p.recs = nil
	}
	s.n = 0
	offs := map[string]int64{}
	t, err := k.cat.Current(ctx, s.cfg.Namespace, s.cfg.Table)
	switch {
	case errors.Is(err, catalog.ErrNoSuchTable):
	case err != nil:
		k.log.Error("kafka: reload the table to seek to its offsets", "err", err)
		return err
	default:
		if offs, err = tableOffsets(t); err != nil {
			k.log.Error("kafka: read offsets", "err", err)
			return err
		}
	}
	set := map[string]map[int32]kgo.EpochOffset{}
	for _, p := range s.parts {
		n, ok := offs[offsetKey(p.topic, p.partition)]
		if !ok {
			n = -1
		}
		p.committed = n
		at := n
		if at < 0 {
			at = 0 // earliest; a reset policy moves it past retention
		}
		p.next = at
		if set[p.topic] == nil {
			set[p.topic] = map[int32]kgo.EpochOffset{}
		}
		set[p.topic][p.partition] = kgo.EpochOffset{Epoch: -1, Offset: at}
	}
	if seek && k.client != nil {
		k.client.SetOffsets(set)
	}
	return nil
}

// adjust replaces the group's committed offsets of newly assigned
// partitions with the table's: the table is the source of truth.
func (k *Kafka) adjust(ctx context.Context, assigned map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	gen := k.generation()
	for topic, parts := range assigned {
		s := k.route(topic)
		if s == nil {
			continue
		}
		var offs map[string]int64
		var err error
		for attempt := range commitAttempts {
			if attempt > 0 {
				if err = sleep(ctx, backoff(attempt)); err != nil {
					break
				}
			}
			var t *catalog.Table
			t, err = k.cat.Current(ctx, s.cfg.Namespace, s.cfg.Table)
			if errors.Is(err, catalog.ErrNoSuchTable) {
				offs, err = map[string]int64{}, nil
				break
			}
			if err == nil {
				offs, err = tableOffsets(t)
				break
			}
		}
		if err != nil {
			k.log.Error("kafka: read the table's offsets on assignment", "topic", topic, "err", err)
			return nil, err
		}
		for p := range parts {
			st := &kpart{topic: topic, partition: p, committed: -1, next: -1, gen: gen}
			if n, ok := offs[offsetKey(topic, p)]; ok {
				st.committed, st.next = n, n
				parts[p] = kgo.NewOffset().At(n).WithEpoch(-1)
			} else if s.cfg.StartFrom == "latest" {
				parts[p] = kgo.NewOffset().AtEnd()
			} else {
				parts[p] = kgo.NewOffset().AtStart()
			}
			if old := s.parts[tp{topic, p}]; old != nil {
				s.n -= len(old.recs)
			}
			s.parts[tp{topic, p}] = st
			if s.paused != "" {
				k.pauseTopic(s, topic)
			}
			k.stats.mu.Lock()
			ps := k.partStat(s.cfg.Namespace+"."+s.cfg.Table, st)
			ps.owned, ps.st.CommittedOffset, ps.oldest = true, st.committed, time.Time{}
			k.stats.mu.Unlock()
			k.log.Info("kafka: assigned", "topic", topic, "partition", p, "table_offset", st.committed, "start", parts[p])
		}
	}
	return assigned, nil
}

// revoked commits what is buffered for the streams losing partitions, then
// forgets the partitions.
// Until the callback returns the partitions are still this process's,
// whatever generation the group is at (the cooperative protocol gives them
// to another member only after this member has revoked them).
func (k *Kafka) revoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.revoking = true
	for topic := range revoked {
		if s := k.route(topic); s != nil && s.n > 0 && s.paused == "" {
			k.commitStream(ctx, s, false)
		}
	}
	k.revoking = false
	k.forget(revoked)
}

// lost forgets partitions (and drops their records) without committing.
func (k *Kafka) lost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.forget(lost)
}

func (k *Kafka) forget(parts map[string][]int32) {
	for topic, ps := range parts {
		s := k.route(topic)
		if s == nil {
			continue
		}
		for _, p := range ps {
			if st := s.parts[tp{topic, p}]; st != nil {
				s.n -= len(st.recs)
				delete(s.parts, tp{topic, p})
			}
			k.stats.mu.Lock()
			if ps := k.stats.m[offsetKey(topic, p)]; ps != nil {
				ps.owned, ps.oldest = false, time.Time{}
			}
			k.stats.mu.Unlock()
		}
	}
}

// partStat returns the status of p. Called with k.stats.mu held.
func (k *Kafka) partStat(table string, p *kpart) *pstat {
	return k.stats.get(offsetKey(p.topic, p.partition), StreamStatus{Source: "kafka", Table: table, Topic: p.topic, Partition: p.partition})
}

// observe updates the status after a poll: the high watermarks the fetches
// carried, and of each owned partition its table offset and the timestamp
// of its oldest uncommitted record. Called with k.mu held.
func (k *Kafka) observe(fs kgo.Fetches) {
	k.stats.mu.Lock()
	defer k.stats.mu.Unlock()
	fs.EachPartition(func(fp kgo.FetchTopicPartition) {
		if fp.Err != nil || fp.HighWatermark < 0 {
			return
		}
		if ps := k.stats.m[offsetKey(fp.Topic, fp.Partition)]; ps != nil {
			ps.st.HighWatermark = fp.HighWatermark
			ps.logStart = fp.LogStartOffset
		}
	})
	for _, s := range k.streams {
		table := s.cfg.Namespace + "." + s.cfg.Table
		for _, p := range s.parts {
			ps := k.partStat(table, p)
			ps.owned = true
			ps.st.Paused = s.paused
			ps.st.CommittedOffset = p.committed
			ps.oldest = time.Time{}
			if len(p.recs) > 0 {
				ps.oldest = p.recs[0].ts
			}
		}
	}
}

// addedFiles returns how many data files snapshot id of t added, from its
// summary (0 if unknown).
func addedFiles(t *catalog.Table, id int64) int {
	snap := t.Snapshot(id)
	if snap == nil || snap.Summary == nil {
		return 0
	}
	n, _ := strconv.Atoi(snap.Summary.Properties["added-data-files"])
	return n
}

func offsetKey(topic string, partition int32) string {
	return topic + "/" + strconv.FormatInt(int64(partition), 10)
}

// tableOffsets returns the offsets map of the newest snapshot of t's main
// branch that carries one (floe's snapshots all do, other writers' need
// not); empty if none.
func tableOffsets(t *catalog.Table) (map[string]int64, error) {
	offs := map[string]int64{}
	raw, ok := t.Carried(OffsetsProperty)
	if !ok {
		return offs, nil
	}
	if err := json.Unmarshal([]byte(raw), &offs); err != nil {
		return nil, fmt.Errorf("%s.%s: %s: %w", t.Namespace, t.Name, OffsetsProperty, err)
	}
	return offs, nil
}

func encodeOffsets(offs map[string]int64) string {
	b, _ := json.Marshal(offs) // map[string]int64 always encodes
	return string(b)
}

// kafkaCommit is what one committed batch held.
type kafkaCommit struct {
	rows, rejected int
	main           bool  // the batch staged a snapshot of the main table
	snapshot       int64 // 0: no main-table commit (every record was rejected)
}

// attempt stages on tx (the main table as it is now) the commit of the
// buffered records of batch, the partitions of s that may commit now:
//
//  1. check that the table's offsets for the batch's partitions are those
//     the batch started from (else errFenced);
//  2. load the dead-letter table; where its offsets reach into the batch
//     (an earlier try wrote dead letters and its main commit did not land),
//     read which offsets it holds: those records count as rejected and are
//     not written again;
//  3. merge the other records into the table's schema, record by record
//     when they conflict, rejecting what does not fit;
//  4. commit new dead letters, with offsets merged up to the batch's end;
//  5. stage the rows with the merged offsets map (catalog.Commit commits
//     them, or builds the whole attempt again after a conflict).
//
// Dead letters are idempotent by (topic, partition, offset), so a crash or a
// conflict between 4 and 5 loses and duplicates nothing.
func (k *Kafka) attempt(ctx context.Context, tx *catalog.Tx, s *kstream, batch []*kpart, res *kafkaCommit) error {
	ns, name := s.cfg.Namespace, s.cfg.Table
	t := tx.Base()
	offs := map[string]int64{}
	if t != nil {
		var err error
		if offs, err = tableOffsets(t); err != nil {
			return err
		}
	}
	var parts []*kpart
	for _, p := range batch {
		have, ok := offs[offsetKey(p.topic, p.partition)]
		if !ok {
			have = -1
		}
		if have != p.committed {
			return fmt.Errorf("%w: %s/%d: table holds offset %d, batch started from %d", errFenced, p.topic, p.partition, have, p.committed)
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return nil
	}

	dl, err := k.loadDeadLetters(ctx, ns, name+RejectedSuffix, parts)
	if err != nil {
		return err
	}

	root := schemaNode(nil)
	if t != nil {
		root = schemaNode(t.Schema())
	}
	var good []*krec
	var bad []*krec
	var written int
	for _, p := range parts {
		for i := range p.recs {
			r := &p.recs[i]
			switch {
			case dl.has(p.topic, p.partition, r.offset):
				written++
			case r.skip:
			case r.bad != "":
				bad = append(bad, r)
			default:
				good = append(good, r)
			}
		}
	}
	if s.reg != nil {
		return k.attemptAvro(ctx, tx, s, offs, dl, parts, good, bad, res)
	}
	if s.dbz != nil {
		return k.attemptDebezium(ctx, tx, s, root, offs, dl, parts, good, bad, res)
	}
	fixed := s.cfg.FixedSchema && t != nil
	if !fixed {
		s.layout.seedColumns(root)
	}
	root, good, rejects := mergeRecords(root, good, s.layout.merge(fixed))
	bad = append(bad, rejects...)

	if len(bad) > 0 {
		if err := k.commitDeadLetters(ctx, ns, name+RejectedSuffix, dl, parts, bad); err != nil {
			return err
		}
	}
	res.rejected = len(bad)
	if len(good) == 0 {
		// Nothing for the main table: its offsets stay, and the records
		// read past them are all in the dead-letter table.
		return nil
	}

	for _, p := range parts {
		offs[offsetKey(p.topic, p.partition)] = p.next
	}
	recs := make([]record, len(good))
	for i, r := range good {
		recs[i] = record{line: int32(i + 1), v: r.v}
	}
	props := map[string]string{
		"floe.source":   "kafka",
		OffsetsProperty: encodeOffsets(offs),
	}
	if err := appendRows(ctx, tx, k.log, root, []*pending{{records: recs}}, props, s.layout); err != nil {
		return err
	}
	res.rows = len(good)
	return nil
}

// mergeRecords merges the records into root's schema with merge (see
// layout.merge). It first merges them all at once; if that fails it merges
// them one by one, rejecting each record that does not fit the schema as
// the earlier ones left it.
func mergeRecords(root *node, recs []*krec, merge func(*node, *obs) *RecordError) (*node, []*krec, []*krec) {
	if len(recs) == 0 {
		return root, nil, nil
	}
	o := &obs{}
	ok := true
	for i, r := range recs {
		if o.observe(&r.v, int32(i+1), "") != nil {
			ok = false
			break
		}
	}
	if ok {
		trial := cloneNode(root)
		if merge(trial, o) == nil {
			return trial, recs, nil
		}
	}
	var good, bad []*krec
	for _, r := range recs {
		o := &obs{}
		rerr := o.observe(&r.v, 1, "")
		if rerr == nil {
			trial := cloneNode(root)
			if rerr = merge(trial, o); rerr == nil {
				root = trial
				good = append(good, r)
				continue
			}
		}
		if rerr.Field != "" {
			r.bad = fmt.Sprintf("field %q: %s", rerr.Field, rerr.Reason)
		} else {
			r.bad = rerr.Reason
		}
		bad = append(bad, r)
	}
	return root, good, bad
}
