package test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Fault suites of issue 3 against a real broker. Each streams keyed JSON
// records while the fault happens and ends with checkExactlyOnce: every
// produced record in the table once, by id and by (partition, offset).

// stream produces batch records (with a poison one every 97) every 100ms
// from id from on, until stop is called; stop waits for the last batch and
// returns the next id.
func (l *kafkaLog) stream(t *testing.T, cl *kgo.Client, topic string, from int64, batch int64) (stop func() int64) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	id := from
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			if err := l.produce(cl, topic, id, batch, 97); err != nil {
				t.Errorf("produce: %v", err)
				return
			}
			id += batch
			time.Sleep(100 * time.Millisecond)
		}
	}()
	return func() int64 {
		cancel()
		wg.Wait()
		return id
	}
}

func (l *kafkaLog) counts() (good, poison int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int64(len(l.good) + len(l.pushed)), int64(len(l.poison))
}

// TestKafkaGroupJoinLeave: while records stream into a 6-partition topic
// that floe serve consumes, a second and a third `floe ingest` process join
// the group, then the second leaves cleanly (SIGTERM) and the third dies
// (SIGKILL; its partitions move after the session timeout). Every process
// commits to the same table from the offsets the table holds.
func TestKafkaGroupJoinLeave(t *testing.T) {
	brokers := MustKafka(t)
	cl := MustKafkaClient(t, brokers)
	const topic, table = "e2e-group", "e2e_kafka.grp"
	MustCreateTopic(t, cl, topic, 6)
	cfg := writeKafkaConfig(t, brokers, "e2e-group", topic, table, "    session_timeout: 6s\n")
	dir := t.TempDir()
	f := MustStartFloe(t, WithDataDir(dir), WithConfigFile(cfg))

	l := newKafkaLog()
	stop := l.stream(t, cl, topic, 0, 300)
	time.Sleep(2 * time.Second)
	second := MustStartIngest(t, dir, cfg)
	time.Sleep(3 * time.Second)
	third := MustStartIngest(t, dir, cfg)
	time.Sleep(4 * time.Second)
	second.Stop()
	time.Sleep(2 * time.Second)
	third.Kill()
	time.Sleep(2 * time.Second)
	stop()

	good, poison := l.counts()
	t.Logf("produced %d good and %d poison records", good, poison)
	waited := time.Now()
	waitCounts(t, f, table, good, poison, 60*time.Second)
	t.Logf("all committed %s after the stream stopped", time.Since(waited).Round(time.Millisecond))
	time.Sleep(1500 * time.Millisecond) // anything extra would be committed by now
	checkExactlyOnce(t, f, table, l)
	for name, log := range map[string]string{"second": second.Log(), "third": third.Log()} {
		if !strings.Contains(log, "kafka: committed") {
			t.Errorf("the %s process committed nothing: it never shared the partitions", name)
		}
	}

	// The status table and the metrics of floe serve: all six partitions
	// are back with it, caught up.
	deadline := time.Now().Add(15 * time.Second)
	for {
		res := f.MustQuery(t, `SELECT count(*), sum(lag_records), min(committed_offset) FROM floe.ingest_status
			WHERE source = 'kafka' AND table_name = '`+table+`'`)
		if fmt.Sprint(res.Rows[0][0]) == "6" && fmt.Sprint(res.Rows[0][1]) == "0" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("floe.ingest_status of %s: %v (want 6 partitions, no lag)", table, res.Rows)
		}
		time.Sleep(300 * time.Millisecond)
	}
	body := mustMetrics(t, f)
	for _, want := range []string{`floe_kafka_records_total{partition="0",table="e2e_kafka.grp",topic="e2e-group"}`,
		`floe_kafka_lag_records{partition="5",table="e2e_kafka.grp",topic="e2e-group"} 0`,
		"floe_kafka_commit_duration_seconds_bucket", "floe_kafka_commit_files_bucket", "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// mustMetrics scrapes /metrics as the admin.
func mustMetrics(tb testing.TB, f *Floe) string {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.URL("/metrics"), nil)
	req.SetBasicAuth(f.User, f.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET /metrics: HTTP %d %s", resp.StatusCode, raw)
	}
	return string(raw)
}

// TestKafkaBrokerRestart stops the broker (its own, so no other test sees
// it) mid-stream and starts it again; producer and floe both reconnect.
func TestKafkaBrokerRestart(t *testing.T) {
	b := MustStartBroker(t)
	cl := MustKafkaClient(t, b.Brokers)
	const topic, table = "e2e-restart", "e2e_kafka.restart"
	MustCreateTopic(t, cl, topic, 4)
	cfg := writeKafkaConfig(t, b.Brokers, "e2e-restart", topic, table, "    session_timeout: 6s\n")
	f := MustStartFloe(t, WithConfigFile(cfg))

	l := newKafkaLog()
	stop := l.stream(t, cl, topic, 0, 300)
	time.Sleep(3 * time.Second)
	b.MustStop(t)
	t.Log("broker stopped")
	time.Sleep(3 * time.Second)
	b.MustStart(t)
	t.Log("broker started again")
	time.Sleep(4 * time.Second)
	stop()

	good, poison := l.counts()
	t.Logf("produced %d good and %d poison records", good, poison)
	waitCounts(t, f, table, good, poison, 60*time.Second)
	time.Sleep(1500 * time.Millisecond)
	checkExactlyOnce(t, f, table, l)
}

// TestKafkaConcurrentWriter: HTTP pushes commit to the table the stream
// commits to, so Kafka commits lose races (commit conflicts) and retry on
// the new head; nothing is lost or doubled on either side.
func TestKafkaConcurrentWriter(t *testing.T) {
	brokers := MustKafka(t)
	cl := MustKafkaClient(t, brokers)
	const topic, ns, name = "e2e-writer", "e2e_kafka", "writer"
	table := ns + "." + name
	MustCreateTopic(t, cl, topic, 4)
	cfg := writeKafkaConfig(t, brokers, "e2e-writer", topic, table, "")
	// Pushes commit every 50ms: several per Kafka commit interval.
	f := MustStartFloe(t, WithConfigFile(cfg), WithCommitInterval(50*time.Millisecond))

	l := newKafkaLog()
	stop := l.stream(t, cl, topic, 0, 300)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() { // pushers: ids from 1e9 (and 2e9) on, 50 per request
			defer wg.Done()
			id := int64(w+1) * 1_000_000_000
			for ctx.Err() == nil {
				var body strings.Builder
				ids := make([]int64, 0, 50)
				for range 50 {
					fmt.Fprintf(&body, `{"id": %d, "site": "HTTP", "hr": 60, "temp": 36.6, "ok": true, "at": %q}`+"\n",
						id, time.Now().UTC().Format(time.RFC3339Nano))
					ids = append(ids, id)
					id++
				}
				if _, err := push(f, ns, name, body.String()); err != nil {
					t.Errorf("push: %v", err)
					return
				}
				l.mu.Lock()
				for _, id := range ids {
					l.pushed[id] = true
				}
				l.mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	time.Sleep(8 * time.Second)
	cancel()
	wg.Wait()
	stop()

	good, poison := l.counts()
	t.Logf("produced %d good and %d poison records; pushed %d", good-int64(len(l.pushed)), poison, len(l.pushed))
	waitCounts(t, f, table, good, poison, 60*time.Second)
	time.Sleep(1500 * time.Millisecond)
	checkExactlyOnce(t, f, table, l)
	st := f.MustQuery(t, `SELECT source, commits_total FROM floe.ingest_status WHERE table_name = '`+table+`' AND source = 'http'`)
	if len(st.Rows) != 1 {
		t.Errorf("floe.ingest_status has no http row for %s: %v", table, st.Rows)
	}
}
