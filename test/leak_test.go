package test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/floe-dev/floe/internal/bypass"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// TestBypassCorpusOverTheWire runs the bypass corpus
// (gateway/testdata/bypass.txt) as its governed principal gov against a
// running floe, over pgx in the simple and the extended protocol and over
// HTTP: every statement gets its outcome, nothing hidden appears in a
// result or an error, and the connection stays usable. COPY ... TO STDOUT
// entries run as COPY on the wire. The gateway runs the same corpus
// in-process (gateway/bypass_test.go), with the side-channel probes of
// SECURITY.md (gateway/leak_test.go).
func TestBypassCorpusOverTheWire(t *testing.T) {
	f := MustStartFloe(t, WithDataDir(mustLeakDataDir(t)))
	var b strings.Builder
	for i := range 4000 {
		leakRecord(&b, i)
	}
	f.MustPush(t, "leak", "small", b.String())
	f.MustPush(t, "leak", "open", `{"id":0,"code":"open-0"}`+"\n"+`{"id":1,"code":"open-1"}`+"\n"+`{"id":2,"code":"open-2"}`+"\n")
	f.MustPush(t, "leak", "denied", `{"id":0,"code":"denied-0"}`+"\n")
	corpus := readBypassCorpus(t)

	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		t.Run("pgx "+mode.String(), func(t *testing.T) {
			conn := f.MustConnect(t, func(c *pgx.ConnConfig) {
				c.User, c.Password, c.DefaultQueryExecMode = "gov", "gov-password", mode
			})
			for _, c := range corpus {
				ctx := testContext(t, 30*time.Second)
				var values [][]any
				var err error
				if c.OK && strings.HasPrefix(c.SQL, "COPY") {
					var out bytes.Buffer
					_, err = conn.PgConn().CopyTo(ctx, &out, c.SQL)
					values = [][]any{{out.String()}}
				} else {
					values, err = pgxRows(ctx, conn, c.SQL)
				}
				var code, msg string
				var pgErr *pgconn.PgError
				if errors.As(err, &pgErr) {
					code, msg = pgErr.Code, pgErr.Message+" "+pgErr.Detail+" "+pgErr.Hint
				} else if err != nil {
					t.Errorf("bypass.txt:%d: %s: %v, want a PostgreSQL error or rows", c.Line, c.SQL, err)
					continue
				}
				c.check(t, values, code, msg)
				var one int
				if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
					t.Fatalf("bypass.txt:%d: after %q the connection is unusable: %v", c.Line, c.SQL, err)
				}
			}
		})
	}

	t.Run("pgx parameters", func(t *testing.T) {
		conn := f.MustConnect(t, func(c *pgx.ConnConfig) { c.User, c.Password = "gov", "gov-password" })
		for _, tc := range []struct {
			sql  string
			arg  any
			want int64
		}{
			{"SELECT count(*) FROM leak.small WHERE code = $1", "secret-3", 0},
			{"SELECT count(*) FROM leak.small WHERE site = $1", "S002", 0},
			{"SELECT count(*) FROM leak.small WHERE score >= $1", 90, 0},
			{"SELECT count(*) FROM leak.small WHERE CAST(code AS INTEGER) > $1", -1, 3000},
			{"SELECT count(*) FROM leak.small WHERE ([code]::INTEGER[])[1] > $1", -1, 3000},
			{"SELECT count(*) FROM leak.small WHERE pin = $1", "PIN-0004", 0},
			{"SELECT count(*) FROM leak.small WHERE pin = $1", "0004", 1},
		} {
			var n int64
			if err := conn.QueryRow(testContext(t, 30*time.Second), tc.sql, tc.arg).Scan(&n); err != nil || n != tc.want {
				t.Errorf("%s with %v: %d, %v; want %d", tc.sql, tc.arg, n, err, tc.want)
			}
		}
	})

	t.Run("http", func(t *testing.T) {
		for _, c := range corpus {
			resp := f.Query(t, "gov", "gov-password", c.SQL)
			var doc struct {
				Rows  [][]any   `json:"rows"`
				Error *APIError `json:"error"`
			}
			dec := json.NewDecoder(bytes.NewReader(resp.Body))
			dec.UseNumber()
			if err := dec.Decode(&doc); err != nil {
				t.Errorf("bypass.txt:%d: %s: %s: %v", c.Line, c.SQL, resp, err)
				continue
			}
			var code, msg string
			if doc.Error != nil {
				code, msg = doc.Error.Code, doc.Error.Message
			}
			if doc.Error == nil && resp.Status != http.StatusOK || doc.Error != nil && len(doc.Rows) == 0 && resp.Status == http.StatusOK {
				t.Errorf("bypass.txt:%d: %s: %s: the status does not match the outcome", c.Line, c.SQL, resp)
			}
			c.check(t, doc.Rows, code, msg)
		}
	})
}

// pgxRows runs sql and returns its rows' values; numerics (the sums of
// DuckDB's big integers) come back as their text.
func pgxRows(ctx context.Context, conn *pgx.Conn, sql string) ([][]any, error) {
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			return nil, err
		}
		for i, x := range v {
			if n, ok := x.(pgtype.Numeric); ok {
				if t, err := n.Value(); err == nil {
					v[i] = t
				}
			}
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// mustLeakDataDir returns a data directory holding the policy of the leak
// suites (gateway/testdata/leakpolicy) and the password "gov-password" for
// gov.
func mustLeakDataDir(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "policy"), os.DirFS("../gateway/testdata/leakpolicy")); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(MustBuildFloe(tb), "user", "passwd", "--data", dir, "gov")
	cmd.Stdin = strings.NewReader("gov-password\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("floe user passwd gov: %v %s", err, out)
	}
	return dir
}

// leakRecord appends row i of leak.small as an NDJSON line: the generator
// of gateway/leakdata_test.go (which documents it), which the corpus's
// expected values count on.
func leakRecord(b *strings.Builder, i int) {
	site, code, tag, pin := "S001", fmt.Sprint(i%100), string(rune('a'+i%26)), fmt.Sprintf("PIN-%04d", i%10000)
	score, ts := i%90, "2024-05-01T10:00:00Z"
	switch i % 4 {
	case 2:
		site = "S003"
	case 3:
		site, code, tag, pin = "S002", fmt.Sprintf("secret-%d", i%50), fmt.Sprintf("secret-tag-(%d", i%7), fmt.Sprintf("PIN-s%03d", i%1000)
		score, ts = 90+i%10, "2500-01-01T00:00:00Z"
	}
	fmt.Fprintf(b, `{"id":%d,"site":"%s","code":"%s","tag":"%s","pin":"%s","ssn":"ssn-%07d","score":%d,"ts":"%s"}`+"\n",
		i, site, code, tag, pin, i, score, ts)
}

// govLeakMarkers are texts only what gov may not see holds (lower case):
// hidden rows, the excluded column, unmasked pins, the denied table.
var govLeakMarkers = []string{"secret", "s002", "2500-", "pin-", "ssn", "denied-"}

// bypassEntry is one statement of the corpus with its outcome.
type bypassEntry struct{ bypass.Entry }

// readBypassCorpus parses gateway/testdata/bypass.txt.
func readBypassCorpus(tb testing.TB) []bypassEntry {
	tb.Helper()
	entries, err := bypass.Read("../gateway/testdata/bypass.txt")
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]bypassEntry, len(entries))
	for i, e := range entries {
		out[i] = bypassEntry{e}
	}
	return out
}

// check fails tb unless rows or the error (code, msg) is the entry's
// outcome and holds no leak marker. A marker the statement itself holds may
// come back in an error (a denial naming the column asked for), never in a
// value.
func (c bypassEntry) check(tb testing.TB, rows [][]any, code, msg string) {
	tb.Helper()
	what := fmt.Sprintf("bypass.txt:%d: %s", c.Line, c.SQL)
	own := strings.ToLower(c.SQL)
	for _, m := range govLeakMarkers {
		if strings.Contains(strings.ToLower(msg), m) && !strings.Contains(own, m) {
			tb.Errorf("%s: error %q reveals %q", what, msg, m)
		}
		for _, r := range rows {
			for _, v := range r {
				if strings.Contains(strings.ToLower(fmt.Sprint(v)), m) {
					tb.Errorf("%s: value %v reveals %q", what, v, m)
					return
				}
			}
		}
	}
	switch {
	case c.OK && code != "":
		tb.Errorf("%s: failed (%s %s), want it to run", what, code, msg)
	case c.OK && c.Value != "":
		if len(rows) == 0 || len(rows[0]) == 0 || fmt.Sprint(rows[0][0]) != c.Value {
			tb.Errorf("%s: got %v, want first value %s", what, rows, c.Value)
		}
	case !c.OK && code == "":
		tb.Errorf("%s: ran (%d rows), want SQLSTATE %s", what, len(rows), strings.Join(c.Codes, " or "))
	case !c.OK && !slices.Contains(c.Codes, code):
		tb.Errorf("%s: got %s %q, want SQLSTATE %s", what, code, msg, strings.Join(c.Codes, " or "))
	}
}
