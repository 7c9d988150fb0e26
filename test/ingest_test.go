package test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// events is pushed by TestPushThenQuery; every client must read it back
// exactly.
const events = `{"id":1,"name":"Ada","ts":"2024-01-02T03:04:05Z","score":1.5,"ok":true}
{"id":2,"name":"Grüße, \"quoted\"","ts":"2024-06-30T23:59:59.123456Z","score":-0.25,"ok":false}
{"id":3,"name":null,"ts":"2025-12-31T00:00:00Z","score":1e20,"ok":true}
`

// TestPushThenQuery pushes three records over HTTP and reads them back over
// HTTP, with psql and with pgx: same rows, same values, same types.
func TestPushThenQuery(t *testing.T) {
	f := Shared(t)
	res := f.MustPush(t, "e2e_push", "events", events)
	if res.Rows != 3 {
		t.Errorf("push answered rows=%d, want 3", res.Rows)
	}
	// The answer comes after the commit: the catalog already points at it.
	if snap, _ := f.MustCurrentSnapshot(t, "e2e_push", "events"); snap != res.SnapshotID {
		t.Errorf("push answered snapshot %d, catalog's current snapshot is %d", res.SnapshotID, snap)
	}
	const q = "SELECT id, name, ts, score, ok FROM e2e_push.events ORDER BY id"

	t.Run("http", func(t *testing.T) {
		got := f.MustQuery(t, q)
		var cols []string
		for _, c := range got.Columns {
			cols = append(cols, c.Name+" "+c.Type)
		}
		if want := "id int8, name text, ts timestamptz, score float8, ok bool"; strings.Join(cols, ", ") != want {
			t.Errorf("columns = %s, want %s", strings.Join(cols, ", "), want)
		}
		rows, _ := json.Marshal(got.Rows)
		want := `[[1,"Ada","2024-01-02T03:04:05Z",1.5,true],` +
			`[2,"Grüße, \"quoted\"","2024-06-30T23:59:59.123456Z",-0.25,false],` +
			`[3,null,"2025-12-31T00:00:00Z",100000000000000000000,true]]`
		if string(rows) != want {
			t.Errorf("rows =\n%s\nwant\n%s", rows, want)
		}
		if got.RowCount != 3 {
			t.Errorf("row_count = %d, want 3", got.RowCount)
		}
	})

	t.Run("psql", func(t *testing.T) {
		out := f.MustPsql(t, "-A", "-t", "-F", "|", "-P", "null=NULL", "-c", q)
		want := "1|Ada|2024-01-02 03:04:05+00|1.5|t\n" +
			"2|Grüße, \"quoted\"|2024-06-30 23:59:59.123456+00|-0.25|f\n" +
			"3|NULL|2025-12-31 00:00:00+00|1e+20|t\n"
		if out != want {
			t.Errorf("psql printed\n%s\nwant\n%s", out, want)
		}
	})

	t.Run("pgx", func(t *testing.T) {
		conn := f.MustConnect(t)
		rows, err := conn.Query(testContext(t, 30*time.Second), q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		type row struct {
			id    int64
			name  *string
			ts    time.Time
			score float64
			ok    bool
		}
		var got []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.name, &r.ts, &r.score, &r.ok); err != nil {
				t.Fatal(err)
			}
			got = append(got, r)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		str := func(s string) *string { return &s }
		want := []row{
			{1, str("Ada"), time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), 1.5, true},
			{2, str(`Grüße, "quoted"`), time.Date(2024, 6, 30, 23, 59, 59, 123456000, time.UTC), -0.25, false},
			{3, nil, time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC), 1e20, true},
		}
		if len(got) != len(want) {
			t.Fatalf("got %d rows, want %d", len(got), len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.id != w.id || (g.name == nil) != (w.name == nil) || (g.name != nil && *g.name != *w.name) ||
				!g.ts.Equal(w.ts) || g.score != w.score || g.ok != w.ok {
				t.Errorf("row %d = %+v (name %v), want %+v (name %v)", i, g, deref(g.name), w, deref(w.name))
			}
		}
	})
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// TestSchemaEvolution: a second push with a new field adds a nullable
// column; the rows pushed before read NULL there, and a third push without
// the field still works.
func TestSchemaEvolution(t *testing.T) {
	f := Shared(t)
	f.MustPush(t, "e2e_evolve", "people", `{"id":1,"name":"a"}`+"\n"+`{"id":2,"name":"b"}`+"\n")
	f.MustPush(t, "e2e_evolve", "people", `{"id":3,"name":"c","height_cm":181.5,"tags":"x"}`+"\n")
	f.MustPush(t, "e2e_evolve", "people", `{"id":4,"name":"d"}`+"\n")

	out := f.MustPsql(t, "-A", "-t", "-F", "|", "-P", "null=NULL", "-c",
		"SELECT id, name, height_cm, tags FROM e2e_evolve.people ORDER BY id")
	want := "1|a|NULL|NULL\n2|b|NULL|NULL\n3|c|181.5|x\n4|d|NULL|NULL\n"
	if out != want {
		t.Errorf("psql printed\n%s\nwant\n%s", out, want)
	}
	// The new columns follow the old ones, nullable, with inferred types.
	out = f.MustPsql(t, "-A", "-t", "-F", "|", "-c",
		`SELECT column_name, data_type, is_nullable FROM information_schema.columns
		 WHERE table_schema = 'e2e_evolve' AND table_name = 'people' ORDER BY ordinal_position`)
	want = "id|bigint|YES\nname|text|YES\nheight_cm|double precision|YES\ntags|text|YES\n"
	if out != want {
		t.Errorf("information_schema.columns:\n%s\nwant\n%s", out, want)
	}
}

// TestConcurrentPushers: four clients push 25 requests of 40 rows each at
// the same time into one table. Every request is answered after its commit,
// and the table then holds each of the 4,000 ids exactly once.
func TestConcurrentPushers(t *testing.T) {
	f := Shared(t)
	const pushers, requests, rowsPer = 4, 25, 40
	var wg sync.WaitGroup
	errs := make(chan error, pushers*requests)
	var mu sync.Mutex
	snapshots := map[int64]bool{}
	for p := range pushers {
		wg.Go(func() {
			for r := range requests {
				var b strings.Builder
				for i := range rowsPer {
					id := p*requests*rowsPer + r*rowsPer + i
					fmt.Fprintf(&b, `{"id":%d,"pusher":%d,"request":%d,"payload":"p%d-r%d-i%d"}`+"\n", id, p, r, p, r, i)
				}
				res, err := push(f, "e2e_concurrent", "events", b.String())
				if err != nil {
					errs <- fmt.Errorf("pusher %d request %d: %w", p, r, err)
					return
				}
				if res.Rows != rowsPer {
					errs <- fmt.Errorf("pusher %d request %d: rows=%d, want %d", p, r, res.Rows, rowsPer)
				}
				mu.Lock()
				snapshots[res.SnapshotID] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	const total = pushers * requests * rowsPer
	got := f.MustQuery(t, `SELECT count(*), count(DISTINCT id), min(id), max(id), sum(id)::bigint,
		count(DISTINCT payload) FROM e2e_concurrent.events`)
	row, _ := json.Marshal(got.Rows)
	if want := fmt.Sprintf("[[%d,%d,0,%d,%d,%d]]", total, total, total-1, total*(total-1)/2, total); string(row) != want {
		t.Errorf("count, distinct ids, min, max, sum, distinct payloads = %s, want %s", row, want)
	}
	dups := f.MustQuery(t, "SELECT id, count(*) FROM e2e_concurrent.events GROUP BY id HAVING count(*) <> 1 LIMIT 5")
	if len(dups.Rows) != 0 {
		t.Errorf("ids present more than once: %v", dups.Rows)
	}
	// Each request's answer names a snapshot of the table's history; the
	// last of them is the current one.
	cur, _ := f.MustCurrentSnapshot(t, "e2e_concurrent", "events")
	if !snapshots[cur] {
		t.Errorf("current snapshot %d was not answered to any request (answered: %d snapshots)", cur, len(snapshots))
	}
	t.Logf("%d requests were committed in %d snapshots", pushers*requests, len(snapshots))
}

// push is MustPush for goroutines: it returns an error instead of failing.
func push(f *Floe, ns, table, body string) (PushResult, error) {
	req, err := http.NewRequest(http.MethodPost, f.URL("/v1/ingest/"+ns+"/"+table), strings.NewReader(body))
	if err != nil {
		return PushResult{}, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.SetBasicAuth(f.User, f.Password)
	resp, err := httpClient.Do(req)
	if err != nil {
		return PushResult{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return PushResult{}, fmt.Errorf("HTTP %d: %s", resp.StatusCode, raw)
	}
	var res PushResult
	return res, json.Unmarshal(raw, &res)
}

// TestBadNDJSONCommitsNothing: a request with a malformed line or a type
// conflict is refused with 400 naming the line (and the field), and nothing
// of it is committed: same rows, same snapshot, same schema.
func TestBadNDJSONCommitsNothing(t *testing.T) {
	f := Shared(t)
	const ns, table = "e2e_bad", "readings"
	good := f.MustPush(t, ns, table, `{"id":1,"sensor":"a","value":1.5}`+"\n"+`{"id":2,"sensor":"b","value":2.5}`+"\n")
	snap, meta := f.MustCurrentSnapshot(t, ns, table)
	if snap != good.SnapshotID {
		t.Fatalf("current snapshot %d, push answered %d", snap, good.SnapshotID)
	}
	columns := func() string {
		return f.MustPsql(t, "-A", "-t", "-F", " ", "-c", `SELECT column_name, data_type FROM information_schema.columns
			WHERE table_schema = 'e2e_bad' AND table_name = 'readings' ORDER BY ordinal_position`)
	}
	schema := columns()

	for _, tc := range []struct {
		name, body, code string
		mention          []string
	}{
		{"malformed line", `{"id":3,"sensor":"c","value":3.5}` + "\n" + `{"id":4,"sensor":` + "\n" + `{"id":5,"sensor":"e","value":5.5}` + "\n",
			"22P02", []string{"line 2"}},
		{"not an object", `{"id":3,"sensor":"c","value":3.5}` + "\n" + `[1,2,3]` + "\n",
			"22P02", []string{"line 2"}},
		{"type conflict with the table", `{"id":3,"sensor":"c","value":3.5}` + "\n" + `{"id":4,"sensor":"d","value":4.5}` + "\n" + `{"id":"five","sensor":"e","value":5.5}` + "\n",
			"42804", []string{"line 3", "id"}},
		{"type conflict in a new field", `{"id":3,"sensor":"c","value":3.5,"unit":"C"}` + "\n" + `{"id":4,"sensor":"d","value":4.5,"unit":7}` + "\n",
			"42804", []string{"line 2", "unit"}},
		{"object for a number", `{"id":3,"sensor":"c","value":{"v":3.5}}` + "\n",
			"42804", []string{"line 1", "value"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := f.Push(t, f.User, f.Password, ns, table, strings.NewReader(tc.body))
			if resp.Status != http.StatusBadRequest {
				t.Fatalf("got %s, want HTTP 400", resp)
			}
			e := resp.Error()
			if e.Code != tc.code {
				t.Errorf("error code %q, want %q (%s)", e.Code, tc.code, resp)
			}
			for _, m := range tc.mention {
				if !strings.Contains(e.Message, m) {
					t.Errorf("error message %q does not name %q", e.Message, m)
				}
			}
			got := f.MustQuery(t, "SELECT count(*), sum(id)::bigint FROM e2e_bad.readings")
			if row, _ := json.Marshal(got.Rows); string(row) != "[[2,3]]" {
				t.Errorf("after the refused push: count, sum(id) = %s, want [[2,3]]", row)
			}
			if s, m := f.MustCurrentSnapshot(t, ns, table); s != snap || m != meta {
				t.Errorf("after the refused push the table moved: snapshot %d (%s), want %d (%s)", s, m, snap, meta)
			}
			if c := columns(); c != schema {
				t.Errorf("after the refused push the schema changed:\n%s\nwas\n%s", c, schema)
			}
		})
	}
}

// TestBodyLimit: a body over FLOE_MAX_BODY_BYTES is refused with 413 whether
// its length is announced or not, and nothing of it is committed.
func TestBodyLimit(t *testing.T) {
	const limit = 4096
	f := MustStartFloe(t, WithMaxBodyBytes(limit))
	f.MustPush(t, "e2e_limit", "t", `{"id":1,"pad":"small"}`+"\n")
	snap, _ := f.MustCurrentSnapshot(t, "e2e_limit", "t")

	var big strings.Builder
	for i := 2; big.Len() <= 3*limit; i++ {
		fmt.Fprintf(&big, `{"id":%d,"pad":"%s"}`+"\n", i, strings.Repeat("x", 100))
	}
	for _, tc := range []struct {
		name string
		body io.Reader
	}{
		{"with Content-Length", strings.NewReader(big.String())},
		// io.MultiReader hides the length: the request is chunked and the
		// limit is met while reading.
		{"chunked", io.MultiReader(strings.NewReader(big.String()))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := f.Push(t, f.User, f.Password, "e2e_limit", "t", tc.body)
			if resp.Status != http.StatusRequestEntityTooLarge {
				t.Fatalf("got %s, want HTTP 413", resp)
			}
			if e := resp.Error(); e.Code != "54000" || !strings.Contains(e.Message, "4096") {
				t.Errorf("error %+v, want code 54000 naming the limit 4096", e)
			}
			got := f.MustQuery(t, "SELECT count(*) FROM e2e_limit.t")
			if row, _ := json.Marshal(got.Rows); string(row) != "[[1]]" {
				t.Errorf("count after the refused push = %s, want [[1]]", row)
			}
			if s, _ := f.MustCurrentSnapshot(t, "e2e_limit", "t"); s != snap {
				t.Errorf("snapshot moved from %d to %d", snap, s)
			}
		})
	}
	// A body just under the limit still goes through.
	f.MustPush(t, "e2e_limit", "t", `{"id":2,"pad":"`+strings.Repeat("y", limit-100)+`"}`+"\n")
	got := f.MustQuery(t, "SELECT count(*) FROM e2e_limit.t")
	if row, _ := json.Marshal(got.Rows); string(row) != "[[2]]" {
		t.Errorf("count = %s, want [[2]]", row)
	}
}

// TestRestartAndSQLCommand: what was committed survives a restart, and
// `floe sql --data DIR` reads it without a server.
func TestRestartAndSQLCommand(t *testing.T) {
	dir := t.TempDir()
	f := MustStartFloe(t, WithDataDir(dir))
	f.MustPush(t, "e2e_restart", "t", `{"id":1,"name":"one"}`+"\n"+`{"id":2,"name":"two"}`+"\n")
	if err := f.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if _, err := f.Exited(); err != nil {
		t.Errorf("floe exited with %v after SIGTERM, want a clean exit\n%s", err, f.Log())
	}

	cmd := execCommand(t, MustBuildFloe(t), "sql", "--data", dir, "SELECT id, name FROM e2e_restart.t ORDER BY id")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("floe sql: %v\n%s", err, out)
	}
	want := " id | name\n----+------\n 1  | one\n 2  | two\n(2 rows)\n"
	if string(out) != want {
		t.Errorf("floe sql printed\n%q\nwant\n%q", out, want)
	}
	cmd = execCommand(t, MustBuildFloe(t), "sql", "--data", dir, "COPY (SELECT 1) TO 'x.csv'")
	out, err = cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "42501") {
		t.Errorf("floe sql COPY: err=%v output %q, want a failure with SQLSTATE 42501", err, out)
	}

	g := MustStartFloe(t, WithDataDir(dir))
	got := g.MustQuery(t, "SELECT id, name FROM e2e_restart.t ORDER BY id")
	if row, _ := json.Marshal(got.Rows); string(row) != `[[1,"one"],[2,"two"]]` {
		t.Errorf("after restart: %s", row)
	}
	g.MustPush(t, "e2e_restart", "t", `{"id":3,"name":"three"}`+"\n")
	got = g.MustQuery(t, "SELECT count(*) FROM e2e_restart.t")
	if row, _ := json.Marshal(got.Rows); string(row) != `[[3]]` {
		t.Errorf("after restart and push: count %s, want 3", row)
	}
}

// TestReadmeRecordQueriesByItsFields pushes the README's example record and
// queries it by its own field names with psql. `at` is a keyword of
// DuckDB's (time travel) that PostgreSQL takes as a column name.
func TestReadmeRecordQueriesByItsFields(t *testing.T) {
	f := Shared(t)
	f.MustPush(t, "e2e_readme", "vitals", `{"subject_id":"S-1","hr":72,"at":"2024-05-01T10:00:00Z"}`+"\n")
	out := f.MustPsql(t, "-A", "-t", "-F", "|", "-c",
		"SELECT subject_id, hr, at FROM e2e_readme.vitals WHERE at > '2024-01-01' ORDER BY at")
	if want := "S-1|72|2024-05-01 10:00:00+00\n"; out != want {
		t.Errorf("psql printed %q, want %q", out, want)
	}
}
