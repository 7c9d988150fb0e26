package test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Maintenance suites (issue 9): compaction, manifest merging, expiry and
// orphan removal running every few hundred milliseconds beside Kafka
// streams that commit every 100 ms, HTTP pushes, SIGKILLs and long
// queries; other engines (PyIceberg) read what maintenance wrote.

// aggressiveMaintenance runs every step as often as it can: every 300 ms,
// snapshots older than a second expire, orphans older than 3 s go.
const aggressiveMaintenance = `maintenance:
  interval: 300ms
  snapshot_max_age: 1s
  min_snapshots: 2
  orphan_grace: 3s
`

// writeMaintainedKafkaConfig writes a config file: one stream committing
// every 100 ms, maintenance as given.
func writeMaintainedKafkaConfig(tb testing.TB, brokers, group, topic, table, format, kafkaExtra, maintenance string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "floe.yaml")
	yaml := fmt.Sprintf(`ingest:
  kafka:
    brokers: [%q]
    group: %s
%s    streams:
      - topic: %s
        table: %s
        format: %s
        commit_interval: 100ms
        start_from: earliest
%s`, brokers, group, kafkaExtra, topic, table, format, maintenance)
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// maintenanceStatus returns floe.maintenance_status's row of table by column.
func maintenanceStatus(tb testing.TB, f *Floe, table string) map[string]any {
	tb.Helper()
	res := f.MustQuery(tb, "SELECT * FROM floe.maintenance_status WHERE table_name = '"+table+"'")
	if len(res.Rows) != 1 {
		return nil
	}
	out := map[string]any{}
	for i, c := range res.Columns {
		out[c.Name] = res.Rows[0][i]
	}
	return out
}

func statusInt(row map[string]any, col string) int64 {
	n, _ := strconv.ParseInt(fmt.Sprint(row[col]), 10, 64)
	return n
}

// waitMaintained waits until floe.maintenance_status shows table with at
// most files live data files, no delete file, at most snapshots snapshots.
func waitMaintained(tb testing.TB, f *Floe, table string, files, snapshots int64, limit time.Duration) map[string]any {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for {
		st := maintenanceStatus(tb, f, table)
		if st != nil && statusInt(st, "live_data_files") <= files && statusInt(st, "delete_files") == 0 &&
			statusInt(st, "snapshots") <= snapshots {
			return st
		}
		if time.Now().After(deadline) {
			tb.Fatalf("after %s maintenance left %s at %v (want ≤ %d files, no delete file, ≤ %d snapshots)", limit, table, st, files, snapshots)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// tableParquet counts the Parquet files under the table's directory.
func tableParquet(dir, ns, name string) int {
	n := 0
	filepath.Walk(filepath.Join(dir, "warehouse", ns+".db", name), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && strings.HasSuffix(p, ".parquet") {
			n++
		}
		return nil
	})
	return n
}

// TestMaintainKafkaSIGKILL: a Kafka stream commits every 100 ms while
// maintenance compacts, merges and expires every 300 ms, and floe is
// SIGKILLed 12 times. Every produced (partition, offset) ends in the table
// or its __rejected exactly once — the offsets survive compactions and
// expiry — and, once the stream stops, maintenance leaves a few files, a
// few snapshots and nothing on disk but what the metadata references.
func TestMaintainKafkaSIGKILL(t *testing.T) {
	brokers := MustKafka(t)
	cl := MustKafkaClient(t, brokers)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	topic, group := "e2e-maint-"+run, "e2e-maint-"+run
	const ns, name = "e2e_maint", "kill"
	table := ns + "." + name
	MustCreateTopic(t, cl, topic, 4)
	cfg := writeMaintainedKafkaConfig(t, brokers, group, topic, table, "json",
		"    instance_id: "+group+"-1\n    session_timeout: 6s\n", aggressiveMaintenance)
	dir := t.TempDir()

	l := newKafkaLog()
	stop := l.stream(t, cl, topic, 0, 200)
	const kills = 12
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	for range kills {
		f := MustStartFloe(t, WithDataDir(dir), WithConfigFile(cfg))
		time.Sleep(time.Duration(800+rng.IntN(1700)) * time.Millisecond)
		f.Kill()
	}
	stop()
	f := MustStartFloe(t, WithDataDir(dir), WithConfigFile(cfg))
	good, poison := l.counts()
	t.Logf("produced %d good and %d poison records during %d kills", good, poison, kills)
	waitCounts(t, f, table, good, poison, 90*time.Second)
	time.Sleep(1500 * time.Millisecond)
	checkExactlyOnce(t, f, table, l)

	st := waitMaintained(t, f, table, 2, 4, 30*time.Second)
	t.Logf("maintained: %v", st)
	// Expiry and orphan removal (grace 3 s) leave on disk only the files of
	// the snapshots kept, none of the commits SIGKILL interrupted.
	deadline := time.Now().Add(20 * time.Second)
	for {
		onDisk := tableParquet(dir, ns, name)
		live := statusInt(maintenanceStatus(t, f, table), "live_data_files")
		if onDisk <= 2*int(live) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d Parquet files under the table's directory, %d live: expired and orphan files were not removed", onDisk, live)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// The offsets are in the current snapshot: a restart resumes exactly.
	f.Kill()
	f = MustStartFloe(t, WithDataDir(dir), WithConfigFile(cfg))
	stop = l.stream(t, cl, topic, 10_000_000, 200)
	time.Sleep(1500 * time.Millisecond)
	stop()
	good, poison = l.counts()
	waitCounts(t, f, table, good, poison, 60*time.Second)
	time.Sleep(1500 * time.Millisecond)
	checkExactlyOnce(t, f, table, l)
}

// TestMaintainBesideKafkaAndPushes: a Kafka stream and two HTTP pushers
// commit to one table while maintenance runs every 300 ms; the table ends
// with every produced record and every pushed id exactly once, and
// maintenance did compact and expire meanwhile.
func TestMaintainBesideKafkaAndPushes(t *testing.T) {
	brokers := MustKafka(t)
	cl := MustKafkaClient(t, brokers)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	topic, group := "e2e-maintw-"+run, "e2e-maintw-"+run
	const ns, name = "e2e_maint", "writers"
	table := ns + "." + name
	MustCreateTopic(t, cl, topic, 4)
	cfg := writeMaintainedKafkaConfig(t, brokers, group, topic, table, "json", "", aggressiveMaintenance)
	f := MustStartFloe(t, WithConfigFile(cfg), WithCommitInterval(50*time.Millisecond))

	l := newKafkaLog()
	stop := l.stream(t, cl, topic, 0, 200)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := int64(w+1) * 1_000_000_000
			for ctx.Err() == nil {
				var body strings.Builder
				ids := make([]int64, 0, 20)
				for range 20 {
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
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	time.Sleep(10 * time.Second)
	cancel()
	wg.Wait()
	stop()
	good, poison := l.counts()
	t.Logf("produced %d good and %d poison records; pushed %d", good-int64(len(l.pushed)), poison, len(l.pushed))
	waitCounts(t, f, table, good, poison, 60*time.Second)
	time.Sleep(1500 * time.Millisecond)
	checkExactlyOnce(t, f, table, l)
	st := waitMaintained(t, f, table, 2, 4, 30*time.Second)
	if statusInt(st, "files_rewritten") < 50 || statusInt(st, "snapshots_expired") < 50 {
		t.Fatalf("maintenance barely ran beside the writers: %v", st)
	}
	t.Logf("maintained beside the writers: %v", st)
}

// TestMaintainDebezium: change events (inserts, updates, deletes) stream
// into a debezium-json table committing every 100 ms, with maintenance
// every 300 ms and SIGKILLs; the table ends equal to the source row by row,
// compaction folds every equality delete away, and PyIceberg reads the
// maintained table with the same rows.
func TestMaintainDebezium(t *testing.T) {
	brokers := MustKafka(t)
	cl := MustKafkaClient(t, brokers)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	topic, group := "e2e-maintdbz-"+run, "e2e-maintdbz-"+run
	const ns, name = "e2e_maint", "items"
	table := ns + "." + name
	MustCreateTopic(t, cl, topic, 4)
	cfg := writeMaintainedKafkaConfig(t, brokers, group, topic, table, "debezium-json",
		"    instance_id: "+group+"-1\n    session_timeout: 6s\n", aggressiveMaintenance)
	dir := t.TempDir()
	src := &dbzSource{rows: map[int64]map[string]any{}, poison: map[kafkaPos]string{}}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 13))

	var evs []dbzEvent
	for id := range int64(300) {
		evs = append(evs, src.upsert("r", id, map[string]any{"name": "v1-" + strconv.FormatInt(id, 10), "qty": id}))
	}
	src.mustProduce(t, cl, topic, evs)
	f := MustStartFloe(t, WithDataDir(dir), WithConfigFile(cfg))
	for round := range 10 {
		var evs []dbzEvent
		for id := range int64(300) {
			switch {
			case (id+int64(round))%11 == 0:
				evs = append(evs, src.remove(id)...)
			case (id+int64(round))%3 == 0:
				evs = append(evs, src.upsert("u", id, map[string]any{"name": fmt.Sprintf("r%d-%d", round, id), "qty": id * int64(round)}))
			case (id+int64(round))%11 == 1:
				evs = append(evs, src.upsert("c", id, map[string]any{"name": fmt.Sprintf("back%d-%d", round, id), "qty": 0}))
			}
		}
		for i := 0; i < len(evs); i += 40 {
			src.mustProduce(t, cl, topic, evs[i:min(i+40, len(evs))])
			time.Sleep(100 * time.Millisecond)
		}
		if round%2 == 1 {
			time.Sleep(time.Duration(rng.IntN(800)) * time.Millisecond)
			f.Kill()
			f = MustStartFloe(t, WithDataDir(dir), WithConfigFile(cfg))
		}
	}
	waitState(t, f, table, src, 90*time.Second)
	st := waitMaintained(t, f, table, 2, 4, 30*time.Second)
	t.Logf("maintained: %v", st)
	waitState(t, f, table, src, 10*time.Second)

	// Another engine reads the maintained table: the same rows.
	got := pyicebergRows(t, dir, ns, name, []string{"id", "name", "qty", "note"})
	want := src.want()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("PyIceberg reads %d rows, the source has %d; first PyIceberg rows %v, source %v",
			len(got), len(want), got[:min(len(got), 3)], want[:min(len(want), 3)])
	}
}

// pyicebergRows reads ns.name with PyIceberg (SQL catalog on the data
// directory's catalog.db) and renders the columns as dbzSource.want does.
func pyicebergRows(tb testing.TB, dir, ns, name string, cols []string) []string {
	tb.Helper()
	python := MustTool(tb, "python3")
	if out, err := exec.Command(python, "-c", "import pyiceberg.catalog.sql, pyarrow").CombinedOutput(); err != nil {
		tb.Fatalf("PyIceberg is not importable by %s (scripts/test.sh installs it: pip install 'pyiceberg[sql-sqlite,pyarrow]'): %v\n%s", python, err, out)
	}
	cmd := exec.Command(python, filepath.Join("testdata", "python", "pyiceberg_rows.py"), dir, ns+"."+name, strings.Join(cols, ","))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("pyiceberg_rows.py: %v\n%s", err, stderr.String())
	}
	var rows [][]any
	if err := json.Unmarshal(out, &rows); err != nil {
		tb.Fatalf("pyiceberg_rows.py printed %q: %v", out, err)
	}
	res := make([]string, len(rows))
	for i, r := range rows {
		parts := make([]string, len(r))
		for j, v := range r {
			if f, ok := v.(float64); ok && f == float64(int64(f)) {
				v = int64(f)
			}
			parts[j] = fmt.Sprint(nullable(v))
		}
		res[i] = strings.Join(parts, "|")
	}
	sort.Strings(res)
	return res
}

// TestMaintainLongQueryAcrossExpiry: a query that takes seconds in DuckDB
// keeps reading the snapshot it started on while maintenance (triggered
// over HTTP: POST /v1/maintenance) compacts the table and expires that
// snapshot: its files stay until the query ends, and go after it.
func TestMaintainLongQueryAcrossExpiry(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "floe.yaml")
	if err := os.WriteFile(cfg, []byte(aggressiveMaintenance), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// Only triggered runs: the test says when maintenance happens.
	f := MustStartFloe(t, WithDataDir(dir), WithConfigFile(cfg), WithEnv("FLOE_MAINTENANCE_ENABLED", "false"),
		WithCommitInterval(10*time.Millisecond))
	const ns, name = "e2e_maint", "long"
	const files, perFile = 24, 20_000
	var body strings.Builder
	var wantSum int64
	for i := range files {
		body.Reset()
		for j := range perFile {
			id := i*perFile + j
			fmt.Fprintf(&body, `{"id": %d, "pad": "%s"}`+"\n", id, strings.Repeat("x", 40))
			wantSum += 40*8*2 + int64(len(strconv.Itoa(id)))
		}
		f.MustPush(t, ns, name, body.String())
	}
	// Each row costs DuckDB a regular expression over 320 characters:
	// seconds for the whole table, its files opened as the scan goes.
	const q = `SELECT count(*), sum(length(regexp_replace(repeat(pad, 8) || id::VARCHAR, 'x', 'yy', 'g'))) FROM ` + ns + "." + name
	type result struct {
		n, sum int64
		err    error
	}
	done := make(chan result, 1)
	conn := f.MustConnect(t)
	go func() {
		var r result
		r.err = conn.QueryRow(context.Background(), q).Scan(&r.n, &r.sum)
		done <- r
	}()
	time.Sleep(300 * time.Millisecond)
	maintainNow := func() string {
		resp := f.Post(t, f.User, f.Password, "/v1/maintenance/"+ns+"/"+name, "")
		if resp.Status != 200 {
			t.Fatalf("POST /v1/maintenance: HTTP %d %s", resp.Status, resp.Body)
		}
		var out struct{ Result string }
		json.Unmarshal(resp.Body, &out)
		return out.Result
	}
	f.MustPush(t, ns, name, `{"id": -1, "pad": "later"}`+"\n")
	t.Logf("first run: %s", maintainNow())
	time.Sleep(1200 * time.Millisecond)
	f.MustPush(t, ns, name, `{"id": -2, "pad": "later"}`+"\n")
	second := maintainNow()
	t.Logf("second run while the query runs: %s", second)
	if !strings.Contains(second, "expired") {
		t.Fatalf("the second run expired nothing (%s): the test would not test expiry", second)
	}
	select {
	case r := <-done:
		t.Fatalf("the query ended before maintenance expired its snapshot (%v): make it longer", r)
	default:
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("the query failed across expiry: %v", r.err)
	}
	if r.n != files*perFile || r.sum != wantSum {
		t.Fatalf("the query answered (%d, %d), want (%d, %d)", r.n, r.sum, files*perFile, wantSum)
	}
	// Released: the next run expires the snapshot and its files go.
	before := tableParquet(dir, ns, name)
	time.Sleep(1200 * time.Millisecond)
	third := maintainNow()
	if after := tableParquet(dir, ns, name); after >= before-files+1 {
		t.Fatalf("after the query: %d Parquet files on disk, were %d (%s): the query's snapshot was not released", after, before, third)
	}
}

// TestMaintainGoverned: triggered maintenance needs floe:Maintain on the
// table, over HTTP and for floe maintain; every run and every refusal is
// in the audit trail; floe.maintenance_status needs floe:Select on it.
func TestMaintainGoverned(t *testing.T) {
	dir := t.TempDir()
	writePolicy := func(principals string) {
		t.Helper()
		files := map[string]string{
			"principals.json": principals,
			"policies/maintain-t.json": `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
				"Action": ["floe:Maintain", "floe:Select"], "Resource": "arn:floe:table/e2e_gov/t"}]}`,
			"policies/read-t.json": `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
				"Action": ["floe:Select", "floe:Insert"], "Resource": ["arn:floe:table/e2e_gov/t", "arn:floe:table/floe/maintenance_status"]}]}`,
		}
		for name, body := range files {
			p := filepath.Join(dir, "policy", name)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	writePolicy(`{"users": {"maya": {"policies": ["maintain-t"]}, "sam": {"policies": ["read-t"]}}}`)
	bin := MustBuildFloe(t)
	for _, u := range []string{"maya", "sam"} {
		cmd := exec.Command(bin, "user", "passwd", "--data", dir, u)
		cmd.Stdin = strings.NewReader(u + "-password\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("floe user passwd %s: %v %s", u, err, out)
		}
	}
	f := MustStartFloe(t, WithDataDir(dir), WithEnv("FLOE_MAINTENANCE_ENABLED", "false"))
	for i := range 10 {
		f.MustPush(t, "e2e_gov", "t", fmt.Sprintf(`{"id": %d}`+"\n", i))
	}
	// The status is what maintenance saw when it last looked: 25 ms after a
	// commit of this process.
	files := func() int64 {
		time.Sleep(300 * time.Millisecond)
		return statusInt(maintenanceStatus(t, f, "e2e_gov.t"), "live_data_files")
	}
	// Pushes close together may share a commit: n files.
	n := files()
	if n < 3 {
		t.Fatalf("%d live data files before maintenance, want several", n)
	}
	trigger := func(user, query string) Response {
		return f.Post(t, user, user+"-password", "/v1/maintenance/e2e_gov/t"+query, "")
	}
	if r := trigger("sam", ""); r.Status != 403 || !strings.Contains(string(r.Body), "42501") {
		t.Fatalf("sam (no floe:Maintain): HTTP %d %s, want 403", r.Status, r.Body)
	}
	r := trigger("maya", "?dry_run=true")
	if r.Status != 200 || !strings.Contains(string(r.Body), fmt.Sprintf("would compact %d files", n)) || files() != n {
		t.Fatalf("maya's dry run: HTTP %d %s; %d files", r.Status, r.Body, files())
	}
	if r := trigger("maya", "?dry_run=maybe"); r.Status != 400 {
		t.Fatalf("dry_run=maybe: HTTP %d %s, want 400", r.Status, r.Body)
	}
	r = trigger("maya", "")
	if r.Status != 200 || !strings.Contains(string(r.Body), fmt.Sprintf("compacted %d files", n)) || files() != 1 {
		t.Fatalf("maya's run: HTTP %d %s; %d files", r.Status, r.Body, files())
	}
	if r := f.Post(t, f.User, f.Password, "/v1/maintenance/e2e_gov/nosuch", ""); r.Status != 404 {
		t.Fatalf("unknown table: HTTP %d %s, want 404", r.Status, r.Body)
	}
	// sam may read the status table; maya may not.
	if resp := f.Query(t, "sam", "sam-password", "SELECT live_data_files FROM floe.maintenance_status"); resp.Status != 200 {
		t.Fatalf("sam reading floe.maintenance_status: HTTP %d %s", resp.Status, resp.Body)
	}
	if resp := f.Query(t, "maya", "maya-password", "SELECT * FROM floe.maintenance_status"); resp.Status != 403 {
		t.Fatalf("maya reading floe.maintenance_status: HTTP %d %s, want 403", resp.Status, resp.Body)
	}
	for i := range 3 {
		f.MustPush(t, "e2e_gov", "t", fmt.Sprintf(`{"id": %d}`+"\n", 100+i))
	}
	m := files()
	f.Stop()

	// floe maintain runs as the admin: allowed while the admin is implicit,
	// refused once principals.json defines it without floe:Maintain.
	out, err := exec.Command(bin, "maintain", "--data", dir, "--table", "e2e_gov.t").CombinedOutput()
	if err != nil || !strings.Contains(string(out), fmt.Sprintf("e2e_gov.t: compacted %d files", m)) {
		t.Fatalf("floe maintain: %v\n%s", err, out)
	}
	writePolicy(`{"users": {"admin": {"policies": ["read-t"]}, "maya": {"policies": ["maintain-t"]}, "sam": {"policies": ["read-t"]}}}`)
	out, err = exec.Command(bin, "maintain", "--data", dir, "--table", "e2e_gov.t").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "permission denied (floe:Maintain)") {
		t.Fatalf("floe maintain without floe:Maintain: %v\n%s", err, out)
	}

	// The audit trail has the runs and the refusals.
	audit, err := os.ReadFile(filepath.Join(dir, "audit", "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		`"principal":"maya","client_addr":`: false, `"statement":"MAINTAIN e2e_gov.t DRY RUN"`: false,
		`"statement":"POST /v1/maintenance/e2e_gov/t"`: false, `"protocol":"cli"`: false, `"decision":"denied","sqlstate":"42501","message":"permission denied: floe:Maintain on e2e_gov.t"`: false,
	}
	for _, line := range strings.Split(string(audit), "\n") {
		for w := range want {
			if strings.Contains(line, w) && (strings.Contains(line, "MAINTAIN") || strings.Contains(line, "/v1/maintenance/")) {
				want[w] = true
			}
		}
	}
	for w, ok := range want {
		if !ok {
			t.Errorf("the audit log has no maintenance record with %s", w)
		}
	}
}
