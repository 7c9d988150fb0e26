package awsimport

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseRowFilter(t *testing.T) {
	ok := map[string]string{
		`site_id = 'S001'`:                           `{"column":"site_id","op":"=","value":"S001"}`,
		`"Site ID" = 'it''s'`:                        `{"column":"Site ID","op":"=","value":"it's"}`,
		`n = -4.5`:                                   `{"column":"n","op":"=","value":-4.5}`,
		`site IN ('a', 'b', 3)`:                      `{"column":"site","op":"in","values":["a","b",3]}`,
		`a = 'x' and (b = 'y' OR c in ('z'))`:        `{"and":[{"column":"a","op":"=","value":"x"},{"or":[{"column":"b","op":"=","value":"y"},{"column":"c","op":"in","values":["z"]}]}]}`,
		`a = '1' OR b = '2' OR (c = '3' OR d = '4')`: `{"or":[{"column":"a","op":"=","value":"1"},{"column":"b","op":"=","value":"2"},{"column":"c","op":"=","value":"3"},{"column":"d","op":"=","value":"4"}]}`,
		`TRUE`: `{"op":"true"}`,
	}
	for expr, want := range ok {
		p, err := parseRowFilter(expr)
		if err != nil {
			t.Errorf("%s: %v", expr, err)
			continue
		}
		got, _ := json.Marshal(p)
		if string(got) != want {
			t.Errorf("%s:\n got %s\nwant %s", expr, got, want)
		}
	}
	bad := map[string]string{
		`a <> 'x'`:               `unsupported "<>"`,
		`NOT a = 'x'`:            `unsupported "NOT"`,
		`a LIKE 'x%'`:            `unsupported "LIKE"`,
		`a IS NULL`:              `unsupported "IS"`,
		`a = b`:                  `want a 'string' or number literal`,
		`lower(a) = 'x'`:         `unsupported "("`,
		`a = 'x' AND`:            `unsupported end of expression`,
		`a = 'x`:                 `unterminated string`,
		`a = '${floe:username}'`: `policy variable`,
		`a IN ('x' 'y')`:         `want , or )`,
		`(a = 'x'`:               `want )`,
		`a = 'x'; DROP TABLE t`:  `unsupported ";"`,
	}
	for expr, want := range bad {
		if _, err := parseRowFilter(expr); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", expr, err, want)
		}
	}
}
