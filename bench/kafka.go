package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The Kafka benchmarks of issue 3 (go run ./bench -kafka), against a real
// broker: $KAFKA_BROKERS, or one started with test/services for the run.
//
//	(a) sustained rows/s from Kafka to committed Iceberg: a backlog of
//	    200-byte, 10-field JSON events drained by floe serve, measured
//	    from floe.ingest_status between its first and last commit;
//	(b) freshness, produce → visible through a pgwire query, p50/p99, at a
//	    fixed produce rate with commit_interval 1s;
//	(c) the snapshots and data files per hour that interval produces.

type kafkaOptions struct {
	backlog  int64         // (a) events
	rate     int           // (b) events per second
	duration time.Duration // (b)
}

const kafkaPartitions = 4

func runKafka(ctx context.Context, o options, ko kafkaOptions, stdout io.Writer) error {
	tmp, err := os.MkdirTemp("", "floe-bench-kafka-")
	if err != nil {
		return err
	}
	if o.keep {
		progress("keeping %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	brokers, stopBroker, err := benchBroker(tmp)
	if err != nil {
		return err
	}
	defer stopBroker()
	progress("kafka broker %s", brokers)
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.ProducerLinger(5*time.Millisecond),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchMaxBytes(1<<20), kgo.MaxBufferedRecords(200_000))
	if err != nil {
		return err
	}
	defer cl.Close()
	for _, t := range []string{"bench-a", "bench-b"} {
		if err := createTopic(ctx, cl, t, kafkaPartitions); err != nil {
			return err
		}
	}

	// (a) The backlog is produced before floe starts.
	progress("(a) producing a backlog of %d events (~200 bytes, 10 fields)", ko.backlog)
	t0 := time.Now()
	if _, err := produceEvents(ctx, cl, "bench-a", ko.backlog, 0, nil); err != nil {
		return err
	}
	progress("(a) produced in %.1fs", time.Since(t0).Seconds())

	progress("building floe")
	bin, err := buildFloe(ctx, tmp)
	if err != nil {
		return err
	}
	cfg := filepath.Join(tmp, "floe.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`ingest:
  kafka:
    brokers: [%q]
    group: bench
    streams:
      - {topic: bench-a, table: bench.kafka_a, commit_interval: 1s}
      - {topic: bench-b, table: bench.kafka_b, commit_interval: 1s}
`, brokers)), 0o644); err != nil {
		return err
	}
	started := time.Now()
	srv, err := startFloe(ctx, bin, tmp, o.threads, "--config", cfg)
	if err != nil {
		return err
	}
	defer srv.stop()
	conn, err := pgx.Connect(ctx, srv.pgURL())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())

	type sample struct {
		at time.Time
		n  int64
	}
	var samples []sample
	for {
		var n int64
		err := conn.QueryRow(ctx, `SELECT coalesce(sum(records_total), 0) FROM floe.ingest_status WHERE table_name = 'bench.kafka_a'`).Scan(&n)
		if err != nil {
			return fmt.Errorf("ingest_status: %w\n%s", err, srv.logTail())
		}
		if len(samples) == 0 || n != samples[len(samples)-1].n {
			samples = append(samples, sample{time.Now(), n})
		}
		if n >= ko.backlog {
			break
		}
		if time.Since(started) > 10*time.Minute {
			return fmt.Errorf("(a) %d of %d events committed after 10 minutes", n, ko.backlog)
		}
		time.Sleep(100 * time.Millisecond)
	}
	first, last := samples[0], samples[len(samples)-1]
	if first.n == 0 && len(samples) > 1 {
		first = samples[1]
	}
	steady := float64(last.n-first.n) / last.at.Sub(first.at).Seconds()
	whole := float64(ko.backlog) / last.at.Sub(started).Seconds()
	progress("(a) %d events committed %.1fs after floe started: %.0f rows/s from the start, %.0f rows/s between the first and last commit",
		ko.backlog, last.at.Sub(started).Seconds(), whole, steady)

	// (b) Fixed produce rate; a poller sees, per partition, the highest
	// sequence number committed (commits cover a prefix of each partition).
	progress("(b) producing %d events/s for %s; polling visibility through pgwire", ko.rate, ko.duration)
	type pos struct{ p, seq int64 }
	var mu sync.Mutex
	sent := map[pos]time.Time{}
	visible := map[pos]time.Time{} // first time each partition's max seq was seen
	pctx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	var pollWG sync.WaitGroup
	pollWG.Add(1)
	var polls atomic.Int64
	go func() {
		defer pollWG.Done()
		poll, err := pgx.Connect(ctx, srv.pgURL())
		if err != nil {
			progress("(b) poller: %v", err)
			return
		}
		defer poll.Close(context.Background())
		seen := map[int64]int64{}
		for pctx.Err() == nil {
			rows, err := poll.Query(pctx, `SELECT p, max(pseq) FROM bench.kafka_b GROUP BY p`)
			if err == nil {
				now := time.Now()
				for rows.Next() {
					var p, m int64
					if rows.Scan(&p, &m) == nil && m > seen[p] {
						mu.Lock()
						for s := seen[p] + 1; s <= m; s++ {
							visible[pos{p, s}] = now
						}
						mu.Unlock()
						seen[p] = m
					}
				}
				rows.Close()
				polls.Add(1)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	metaBefore, filesBefore := countFiles(srv.dir, "kafka_b")
	bStart := time.Now()
	produced, err := produceEvents(ctx, cl, "bench-b", int64(ko.rate)*int64(ko.duration/time.Second), ko.rate, func(p, seq int64, at time.Time) {
		mu.Lock()
		sent[pos{p, seq}] = at
		mu.Unlock()
	})
	if err != nil {
		return err
	}
	bWall := time.Since(bStart)
	achieved := float64(produced) / bWall.Seconds()
	// Wait for the tail, then stop polling.
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		n := len(visible)
		mu.Unlock()
		if int64(n) >= produced || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	stopPoll()
	pollWG.Wait()
	span := time.Since(bStart)
	metaAfter, filesAfter := countFiles(srv.dir, "kafka_b")
	var lat []time.Duration
	mu.Lock()
	for k, at := range sent {
		if v, ok := visible[k]; ok {
			lat = append(lat, v.Sub(at))
		}
	}
	missing := len(sent) - len(lat)
	mu.Unlock()
	slices.Sort(lat)
	pct := func(q float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(q*float64(len(lat))))]
	}
	progress("(b) produced %d events in %.1fs (%.0f/s); freshness p50 %s p99 %s max %s over %d events (%d never seen; %d polls)",
		produced, bWall.Seconds(), achieved, pct(.5).Round(time.Millisecond), pct(.99).Round(time.Millisecond),
		pct(1).Round(time.Millisecond), len(lat), missing, polls.Load())
	snaps, files := metaAfter-metaBefore, filesAfter-filesBefore
	perHour := func(n int) float64 { return float64(n) / span.Seconds() * 3600 }
	progress("(c) bench.kafka_b: %d snapshots and %d data files in %.1fs: %.0f snapshots/h, %.0f files/h",
		snaps, files, span.Seconds(), perHour(snaps), perHour(files))

	fmt.Fprintf(stdout, `## Kafka ingest (%d CPUs, load %s)

| what | figure |
| --- | ---: |
| (a) backlog of %s events (~200 B, 10 fields, 4 partitions) drained to committed Iceberg | %.0f rows/s between the first and last commit; %.0f rows/s including floe's start |
| (b) freshness produce → visible through pgwire at %.0f events/s (target %d/s), commit_interval 1s | p50 %s, p99 %s, max %s (%d events) |
| (c) snapshots / data files per hour, one table, commit_interval 1s | %.0f / %.0f |
`, probeMachine().cpus, loadAvg(), thousands(ko.backlog), steady, whole, achieved, ko.rate,
		pct(.5).Round(time.Millisecond), pct(.99).Round(time.Millisecond), pct(1).Round(time.Millisecond), len(lat),
		perHour(snaps), perHour(files))
	if missing > 0 {
		return fmt.Errorf("(b) %d produced events were never seen", missing)
	}
	return nil
}

// event is one ~200-byte JSON event with 10 fields.
func event(buf []byte, p, seq int64, at time.Time) []byte {
	buf = fmt.Appendf(buf[:0], `{"p":%d,"pseq":%d,"ts":%d,"site":"S-%04d","subject":"SUBJ-%06d","kind":"vital_signs","hr":%d,"temp":%.1f,"ok":%t,"note":"`,
		p, seq, at.UnixMicro(), seq%500, seq%100000, 50+seq%70, 36+float64(seq%30)/10, seq%3 == 0)
	for len(buf) < 198 {
		buf = append(buf, 'a'+byte((seq+int64(len(buf)))%26))
	}
	return append(buf, '"', '}')
}

// produceEvents produces n events round-robin over the partitions, at rate
// events per second (0: as fast as possible), with per-partition sequence
// numbers from 1; sent is told the produce time of each. It returns when
// all are acknowledged.
func produceEvents(ctx context.Context, cl *kgo.Client, topic string, n int64, rate int, sent func(p, seq int64, at time.Time)) (int64, error) {
	var wg sync.WaitGroup
	var firstErr atomic.Value
	seqs := make([]int64, kafkaPartitions)
	start := time.Now()
	var buf []byte
	for i := range n {
		if rate > 0 && i%100 == 0 {
			if d := time.Until(start.Add(time.Duration(float64(i) / float64(rate) * float64(time.Second)))); d > 0 {
				time.Sleep(d)
			}
		}
		if ctx.Err() != nil {
			return i, ctx.Err()
		}
		p := i % kafkaPartitions
		seqs[p]++
		now := time.Now()
		buf = event(buf, p, seqs[p], now)
		if sent != nil {
			sent(p, seqs[p], now)
		}
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Topic: topic, Partition: int32(p), Value: slices.Clone(buf)}, func(_ *kgo.Record, err error) {
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
			}
			wg.Done()
		})
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return n, fmt.Errorf("produce to %s: %w", topic, err)
	}
	return n, nil
}

func createTopic(ctx context.Context, cl *kgo.Client, topic string, partitions int32) error {
	req := kmsg.NewPtrCreateTopicsRequest()
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = topic, partitions, 1
	req.Topics = append(req.Topics, t)
	req.TimeoutMillis = 20000
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	if c := resp.Topics[0].ErrorCode; c != 0 && c != 36 {
		return fmt.Errorf("create topic %s: error code %d", topic, c)
	}
	time.Sleep(time.Second) // leaders elected
	return nil
}

// countFiles counts the metadata files (one per commit) and data files of
// bench.<table> under the data directory.
func countFiles(dataDir, table string) (meta, data int) {
	base := filepath.Join(dataDir, "warehouse", "bench.db", table)
	m, _ := filepath.Glob(filepath.Join(base, "metadata", "*.metadata.json"))
	d, _ := filepath.Glob(filepath.Join(base, "data", "*.parquet"))
	return len(m), len(d)
}

// benchBroker returns $KAFKA_BROKERS, or starts a broker with the test
// harness's test/services script in a state directory under tmp.
func benchBroker(tmp string) (string, func(), error) {
	if b := os.Getenv("KAFKA_BROKERS"); b != "" {
		return b, func() {}, nil
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", nil, err
	}
	script := filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), "test", "services")
	env := append(os.Environ(), "FLOE_SERVICES_DIR="+filepath.Join(tmp, "services"))
	up := exec.Command(script, "up", "kafka")
	up.Env = env
	up.Stderr = os.Stderr
	raw, err := up.Output()
	if err != nil {
		return "", nil, fmt.Errorf("test/services up kafka: %w", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if b, ok := strings.CutPrefix(line, "KAFKA_BROKERS="); ok {
			stop := func() {
				down := exec.Command(script, "down", "kafka")
				down.Env = env
				_ = down.Run()
			}
			return strings.TrimSpace(b), stop, nil
		}
	}
	return "", nil, errors.New("test/services up kafka printed no KAFKA_BROKERS")
}
