// Package bypass reads the escape corpus gateway/testdata/bypass.txt: the
// statements with which a governed principal tries to reach what its
// policy hides, each with its expected outcome. The gateway's in-process
// tests and the wire tests in test/ run the same corpus; the format is
// described at the top of the file.
package bypass

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// Entry is one statement of the corpus with its outcome.
type Entry struct {
	Line  int // in the file, for messages
	SQL   string
	OK    bool     // the statement must run
	Value string   // with OK: the first value of the first row, as text ("": any)
	Codes []string // otherwise: the SQLSTATEs it may be refused with
}

// Read parses the corpus at path.
func Read(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#"):
		case line[0] == ' ' || line[0] == '\t':
			if len(out) == 0 {
				return nil, fmt.Errorf("%s:%d: continuation before any entry", path, n)
			}
			out[len(out)-1].SQL += "\n" + line
		default:
			outcome, sql, ok := strings.Cut(line, " ")
			if !ok {
				return nil, fmt.Errorf("%s:%d: no statement", path, n)
			}
			e := Entry{Line: n, SQL: sql}
			if v, isOK := strings.CutPrefix(outcome, "ok"); isOK && (v == "" || v[0] == '=') {
				e.OK, e.Value = true, strings.TrimPrefix(v, "=")
			} else {
				e.Codes = strings.Split(outcome, "|")
				for _, c := range e.Codes {
					if len(c) != 5 {
						return nil, fmt.Errorf("%s:%d: outcome %q is neither ok nor SQLSTATEs", path, n, outcome)
					}
				}
			}
			out = append(out, e)
		}
	}
	return out, sc.Err()
}
