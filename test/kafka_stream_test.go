package test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// checkIDsOnce checks that table holds every good record of logs exactly
// once by id (the logs use disjoint ids), and that floe.ingest_status has,
// for every topic-partition produced to, the table's next offset at the
// partition's end: offsets are kept per topic.
func checkIDsOnce(tb testing.TB, f *Floe, table string, logs map[string]*kafkaLog) {
	tb.Helper()
	want := map[int64]bool{}
	for _, l := range logs {
		l.mu.Lock()
		for id := range l.good {
			want[id] = true
		}
		l.mu.Unlock()
	}
	seen := map[int64]int{}
	for _, row := range f.MustQuery(tb, "SELECT id FROM "+table).Rows {
		id, _ := strconv.ParseInt(fmt.Sprint(row[0]), 10, 64)
		seen[id]++
	}
	var missing, dup, unknown int
	for id := range want {
		if seen[id] == 0 {
			missing++
		}
	}
	for id, n := range seen {
		if n > 1 {
			dup++
		}
		if !want[id] {
			unknown++
		}
	}
	if missing+dup+unknown > 0 {
		tb.Fatalf("%s: %d missing, %d duplicated, %d unknown of %d produced", table, missing, dup, unknown, len(want))
	}
	st := f.MustQuery(tb, `SELECT topic, "partition", committed_offset FROM floe.ingest_status WHERE table_name = '`+table+`'`)
	got := map[string]string{}
	for _, r := range st.Rows {
		got[fmt.Sprint(r[0], "/", r[1])] = fmt.Sprint(r[2])
	}
	for topic, l := range logs {
		for p, end := range l.ends {
			if k := fmt.Sprint(topic, "/", p); got[k] != strconv.FormatInt(end, 10) {
				tb.Errorf("floe.ingest_status: %s committed_offset %q, want %d (all: %v)", k, got[k], end, got)
			}
		}
	}
}

// TestKafkaTopicRegex: one stream with topic_regex consumes two topics that
// exist at start and a third created while floe runs, into one table,
// each record once, offsets kept per topic.
func TestKafkaTopicRegex(t *testing.T) {
	brokers := MustKafka(t)
	cl := MustKafkaClient(t, brokers)
	logs := map[string]*kafkaLog{"e2e-rx-a": newKafkaLog(), "e2e-rx-b": newKafkaLog(), "e2e-rx-c": newKafkaLog()}
	MustCreateTopic(t, cl, "e2e-rx-a", 3)
	MustCreateTopic(t, cl, "e2e-rx-b", 2)
	MustCreateTopic(t, cl, "e2e-other", 1) // does not match
	logs["e2e-rx-a"].mustProduce(t, cl, "e2e-rx-a", 0, 3000, 0)
	logs["e2e-rx-b"].mustProduce(t, cl, "e2e-rx-b", 10_000, 2000, 0)
	newKafkaLog().mustProduce(t, cl, "e2e-other", 50_000, 100, 0)

	path := filepath.Join(t.TempDir(), "floe.yaml")
	os.WriteFile(path, []byte(fmt.Sprintf(`ingest:
  kafka:
    brokers: [%q]
    group: e2e-regex
    metadata_max_age: 1s
    streams:
      - topic_regex: ^e2e-rx-
        table: e2e_regex.events
        commit_interval: 500ms
`, brokers)), 0o644)
	f := MustStartFloe(t, WithConfigFile(path))
	waitCounts(t, f, "e2e_regex.events", 5000, 0, 60*time.Second)

	MustCreateTopic(t, cl, "e2e-rx-c", 2)
	start := time.Now()
	logs["e2e-rx-c"].mustProduce(t, cl, "e2e-rx-c", 20_000, 1500, 0)
	waitCounts(t, f, "e2e_regex.events", 6500, 0, 60*time.Second)
	t.Logf("records of a topic created after start visible %s after producing them", time.Since(start).Round(time.Millisecond))
	logs["e2e-rx-a"].mustProduce(t, cl, "e2e-rx-a", 3000, 500, 0)
	waitCounts(t, f, "e2e_regex.events", 7000, 0, 30*time.Second)
	time.Sleep(1500 * time.Millisecond) // anything extra would be committed by now
	checkIDsOnce(t, f, "e2e_regex.events", logs)
	if n := count(t, f, "e2e_regex.events"); n != 7000 {
		t.Errorf("e2e_regex.events holds %d rows, want 7000 (e2e-other must not match)", n)
	}
}

// TestKafkaIngestMetrics: floe ingest serves /metrics on its HTTP address,
// to principals that may read floe.ingest_status only.
func TestKafkaIngestMetrics(t *testing.T) {
	brokers := MustKafka(t)
	cl := MustKafkaClient(t, brokers)
	const topic = "e2e-ingest-metrics"
	MustCreateTopic(t, cl, topic, 2)
	newKafkaLog().mustProduce(t, cl, topic, 0, 200, 0)
	cfg := writeKafkaConfig(t, brokers, "e2e-ingest-metrics", topic, "e2e_kafka.metrics", "")
	in := MustStartIngest(t, t.TempDir(), cfg)
	if in.HTTPAddr == "" {
		t.Fatalf("floe ingest logged no http_addr:\n%s", in.Log())
	}
	url := "http://" + in.HTTPAddr + "/metrics"
	get := func(user, pw string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if user != "" {
			req.SetBasicAuth(user, pw)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	want := `floe_kafka_records_total{partition="0",table="e2e_kafka.metrics",topic="e2e-ingest-metrics"}`
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := get(AdminUser, DefaultPassword)
		if code != http.StatusOK {
			t.Fatalf("GET /metrics as the admin: HTTP %d %s", code, body)
		}
		if strings.Contains(body, want) && strings.Contains(body, "go_goroutines") &&
			strings.Contains(body, `floe_kafka_stream_paused{table="e2e_kafka.metrics"} 0`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics of floe ingest lacks %s after 30s:\n%s", want, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code, _ := get("", ""); code != http.StatusUnauthorized {
		t.Errorf("GET /metrics without credentials: HTTP %d, want 401", code)
	}
	if code, _ := get(AdminUser, "wrong"); code != http.StatusUnauthorized {
		t.Errorf("GET /metrics with a wrong password: HTTP %d, want 401", code)
	}
}

// TestKafkaPolicyReloadPauses: a policy reload that revokes the service
// principal's floe:Insert on the stream's table pauses the stream (nothing
// committed; floe.ingest_status and the metrics say so, with the reason);
// granting it again resumes it from the table's offsets, losing and
// doubling nothing.
func TestKafkaPolicyReloadPauses(t *testing.T) {
	brokers := MustKafka(t)
	cl := MustKafkaClient(t, brokers)
	const topic, table = "e2e-policy", "e2e_policy.vitals"
	MustCreateTopic(t, cl, topic, 4)
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy")
	os.MkdirAll(filepath.Join(pol, "policies"), 0o755)
	os.WriteFile(filepath.Join(pol, "principals.json"), []byte(`{"users": {"kafka-svc": {"policies": ["ingest"]}}}`), 0o644)
	grant := func(table string) {
		doc := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "floe:Insert", "Resource": "arn:floe:table/` + table + `"}]}`
		if err := os.WriteFile(filepath.Join(pol, "policies", "ingest.json"), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	grant("e2e_policy/vitals")
	cfg := writeKafkaConfig(t, brokers, "e2e-policy", topic, table, "    principal: kafka-svc\n")
	f := MustStartFloe(t, WithDataDir(dir), WithConfigFile(cfg))

	l := newKafkaLog()
	l.mustProduce(t, cl, topic, 0, 1000, 100)
	waitCounts(t, f, table, int64(len(l.good)), int64(len(l.poison)), 60*time.Second)
	committed := count(t, f, table)

	grant("e2e_policy/other_table") // revokes floe:Insert on e2e_policy.vitals
	state := func() (string, string) {
		res := f.MustQuery(t, `SELECT min(state), max(state), max(reason) FROM floe.ingest_status WHERE table_name = '`+table+`'`)
		return fmt.Sprint(res.Rows[0][0], "/", res.Rows[0][1]), fmt.Sprint(res.Rows[0][2])
	}
	waitState := func(want string) string {
		deadline := time.Now().Add(15 * time.Second)
		for {
			s, reason := state()
			if s == want {
				return reason
			}
			if time.Now().After(deadline) {
				t.Fatalf("floe.ingest_status state of %s is %s (reason %s), want %s", table, s, reason, want)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	reason := waitState("paused/paused")
	if !strings.Contains(reason, `"kafka-svc"`) || !strings.Contains(reason, "floe:Insert denied") {
		t.Errorf("pause reason %q does not name the principal and the denied action", reason)
	}
	l.mustProduce(t, cl, topic, 1000, 1000, 100)
	time.Sleep(3 * time.Second) // three commit intervals
	if n := count(t, f, table); n != committed {
		t.Fatalf("a paused stream committed: %d rows, had %d", n, committed)
	}
	if body := mustMetrics(t, f); !strings.Contains(body, `floe_kafka_stream_paused{table="`+table+`"} 1`) {
		t.Errorf("/metrics does not show the stream paused")
	}
	if !strings.Contains(f.Log(), "stream paused") {
		t.Errorf("floe logged no pause")
	}

	grant("e2e_policy/vitals")
	waitState("running/running")
	waitCounts(t, f, table, int64(len(l.good)), int64(len(l.poison)), 60*time.Second)
	time.Sleep(1500 * time.Millisecond) // anything extra would be committed by now
	checkExactlyOnce(t, f, table, l)
	if body := mustMetrics(t, f); !strings.Contains(body, `floe_kafka_stream_paused{table="`+table+`"} 0`) {
		t.Errorf("/metrics does not show the stream running again")
	}
}
