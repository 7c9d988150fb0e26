package gateway_test

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/floe-dev/floe/sqlstate"
)

// bypassEntry is one statement of testdata/bypass.txt with its outcome.
type bypassEntry struct {
	line  int
	sql   string
	ok    bool     // the statement must run
	value string   // with ok: the first value of the first row, as text ("": any)
	codes []string // otherwise: the SQLSTATEs it may be refused with
}

// readBypassCorpus parses the corpus (its format is described at its top).
func readBypassCorpus(tb testing.TB) []bypassEntry {
	tb.Helper()
	f, err := os.Open("testdata/bypass.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []bypassEntry
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#"):
		case line[0] == ' ' || line[0] == '\t':
			if len(out) == 0 {
				tb.Fatalf("bypass.txt:%d: continuation before any entry", n)
			}
			out[len(out)-1].sql += "\n" + line
		default:
			outcome, sql, ok := strings.Cut(line, " ")
			if !ok {
				tb.Fatalf("bypass.txt:%d: no statement", n)
			}
			e := bypassEntry{line: n, sql: sql}
			switch {
			case outcome == "ok":
				e.ok = true
			case strings.HasPrefix(outcome, "ok="):
				e.ok, e.value = true, strings.TrimPrefix(outcome, "ok=")
			default:
				e.codes = strings.Split(outcome, "|")
				for _, c := range e.codes {
					if len(c) != 5 {
						tb.Fatalf("bypass.txt:%d: outcome %q is neither ok nor SQLSTATEs", n, outcome)
					}
				}
			}
			out = append(out, e)
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestBypassCorpus runs the corpus as gov through the Session API (the path
// of every transport): each statement returns only what gov may see, or is
// refused with its SQLSTATE, and nothing hidden appears either way. The
// wire runs the same corpus in test/leak_test.go.
func TestBypassCorpus(t *testing.T) {
	e := mustLeakEnv(t)
	corpus := readBypassCorpus(t)
	gov := e.MustSessionAs(t, "gov")
	for _, c := range corpus {
		what := fmt.Sprintf("bypass.txt:%d: %s", c.line, c.sql)
		cols, rows, err := query(gov, c.sql)
		if !checkNoLeak(t, "gov", what, cols, rows, err) {
			continue
		}
		if msg := c.judge(rows, err); msg != "" {
			t.Errorf("%s: %s", what, msg)
		}
	}
	t.Logf("%d corpus entries", len(corpus))
}

// judge compares what a statement gave with the entry's outcome and
// returns what is wrong ("" if nothing).
func (c bypassEntry) judge(rows [][]any, err error) string {
	if c.ok {
		if err != nil {
			return fmt.Sprintf("failed (%v), want it to run", err)
		}
		if c.value != "" {
			if len(rows) == 0 || len(rows[0]) == 0 {
				return fmt.Sprintf("no rows, want %s", c.value)
			}
			if got := fmt.Sprint(rows[0][0]); got != c.value {
				return fmt.Sprintf("= %s, want %s", got, c.value)
			}
		}
		return ""
	}
	if err == nil {
		return fmt.Sprintf("ran (%d rows), want SQLSTATE %s", len(rows), strings.Join(c.codes, " or "))
	}
	if e := sqlstate.Public(err); !slices.Contains(c.codes, e.Code) {
		return fmt.Sprintf("got %s %q, want SQLSTATE %s", e.Code, e.Message, strings.Join(c.codes, " or "))
	}
	return ""
}
