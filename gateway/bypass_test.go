package gateway_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/floe-dev/floe/internal/bypass"
	"github.com/floe-dev/floe/sqlstate"
)

// bypassEntry is one statement of the corpus with its outcome.
type bypassEntry struct{ bypass.Entry }

// readBypassCorpus parses gateway/testdata/bypass.txt.
func readBypassCorpus(tb testing.TB) []bypassEntry {
	tb.Helper()
	entries, err := bypass.Read("testdata/bypass.txt")
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]bypassEntry, len(entries))
	for i, e := range entries {
		out[i] = bypassEntry{e}
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
		what := fmt.Sprintf("bypass.txt:%d: %s", c.Line, c.SQL)
		cols, rows, err := query(gov, c.SQL)
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
	if c.OK {
		if err != nil {
			return fmt.Sprintf("failed (%v), want it to run", err)
		}
		if c.Value != "" {
			if len(rows) == 0 || len(rows[0]) == 0 {
				return fmt.Sprintf("no rows, want %s", c.Value)
			}
			if got := fmt.Sprint(rows[0][0]); got != c.Value {
				return fmt.Sprintf("= %s, want %s", got, c.Value)
			}
		}
		return ""
	}
	if err == nil {
		return fmt.Sprintf("ran (%d rows), want SQLSTATE %s", len(rows), strings.Join(c.Codes, " or "))
	}
	if e := sqlstate.Public(err); !slices.Contains(c.Codes, e.Code) {
		return fmt.Sprintf("got %s %q, want SQLSTATE %s", e.Code, e.Message, strings.Join(c.Codes, " or "))
	}
	return ""
}
