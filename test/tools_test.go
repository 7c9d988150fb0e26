package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// execCommand runs a program with the caller's environment less FLOE_* and
// PG* variables, bounded to two minutes.
func execCommand(tb testing.TB, name string, args ...string) *exec.Cmd {
	tb.Helper()
	cmd := exec.CommandContext(testContext(tb, 2*time.Minute), name, args...)
	cmd.Env = libpqFreeEnv()
	return cmd
}

// TestPsqlMetaCommands: psql's \dt, \dn, \d TABLE and \l show floe's
// tables, namespaces, columns with their types, and the database.
func TestPsqlMetaCommands(t *testing.T) {
	f := Shared(t)
	f.MustPush(t, "clinical", "x", `{"subject_id":"S-1","visit":1,"heart_rate":72.5,"fasting":true,"seen_at":"2024-05-06T07:08:09Z"}`+"\n")

	for _, tc := range []struct {
		cmd  string
		want []string // regular expressions, each must match a line
	}{
		{`\dt clinical.*`, []string{`^ clinical \| x +\| table \| `}},
		{`\dt *.*`, []string{`^ clinical +\| x +\| table \| `}},
		{`\dn`, []string{`^ clinical +\| `, `^ public +\| `}},
		{`\d clinical.x`, []string{
			`Table "clinical\.x"`,
			`^ subject_id +\| text +\|`,
			`^ visit +\| bigint +\|`,
			`^ heart_rate +\| double precision +\|`,
			`^ fasting +\| boolean +\|`,
			`^ seen_at +\| timestamp with time zone +\|`,
		}},
		{`\d+ clinical.x`, []string{`Table "clinical\.x"`, `^ subject_id +\| text +\|`}},
		{`\l`, []string{`^ floe +\| \S+ +\| UTF8 +\|`}},
		{`\dt`, []string{`^ clinical +\| x +\| table \| `}},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			out := f.MustPsql(t, "-c", tc.cmd)
			for _, re := range tc.want {
				if !regexp.MustCompile(`(?m)` + re).MatchString(out) {
					t.Errorf("%s: no line matches %s in\n%s", tc.cmd, re, out)
				}
			}
		})
	}
	// \d of an unknown table is psql's usual message.
	_, stderr, err := f.Psql(t, "-c", `\d clinical.nosuch`)
	if err == nil || !strings.Contains(stderr, `Did not find any relation named "clinical.nosuch"`) {
		t.Errorf(`\d clinical.nosuch: err=%v stderr=%q`, err, stderr)
	}
	// A script of several statements in one simple query, as psql -f sends.
	script := filepath.Join(t.TempDir(), "q.sql")
	if err := os.WriteFile(script, []byte("SELECT count(*) AS n FROM clinical.x;\nSELECT subject_id FROM clinical.x;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := f.MustPsql(t, "-A", "-t", "-f", script)
	if out != "1\nS-1\n" {
		t.Errorf("psql -f printed %q", out)
	}
}

// TestPgbench runs pgbench with a custom read-only script in extended and
// prepared mode against a pushed table: two clients, 50 transactions each,
// no failures.
func TestPgbench(t *testing.T) {
	f := Shared(t)
	var b strings.Builder
	for i := 1; i <= 100; i++ {
		fmt.Fprintf(&b, `{"aid":%d,"bid":%d,"abalance":%d,"filler":"row %d"}`+"\n", i, i%10, i*7, i)
	}
	f.MustPush(t, "e2e_bench", "accounts", b.String())
	script := filepath.Join(t.TempDir(), "read.sql")
	if err := os.WriteFile(script, []byte(`\set aid random(1, 100)
\set bid random(0, 9)
SELECT abalance, filler FROM e2e_bench.accounts WHERE aid = :aid;
SELECT bid, count(*), sum(abalance) FROM e2e_bench.accounts WHERE bid = :bid GROUP BY bid;
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"extended", "prepared", "simple"} {
		t.Run(mode, func(t *testing.T) {
			cmd := f.Command(t, "pgbench", "-n", "-f", script, "-t", "50", "-c", "2", "-M", mode)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("pgbench -M %s: %v\n%s", mode, err, out)
			}
			for _, want := range []string{
				"number of transactions actually processed: 100/100",
				"number of failed transactions: 0",
				"query mode: " + mode,
			} {
				if !strings.Contains(string(out), want) {
					t.Errorf("pgbench output lacks %q:\n%s", want, out)
				}
			}
		})
	}
}
