package ingest

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

var jsonSamples = []string{
	`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `1`, `-12`, `1.5`, `1e3`, `1E-3`, `-0.0e+1`,
	`9223372036854775807`, `-9223372036854775808`, `9223372036854775808`, `1e400`,
	`01`, `1.`, `.5`, `+1`, `1e`, `-`, `0x10`, `NaN`, `Infinity`, `tru`, `nulls`,
	`"a"`, `"\u00e9\n\t\"\\\/\b\f\r"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ude00x"`, `"\u12"`, `"\x"`,
	"\"\xff\xfe\"", "\"a\x01\"", `"unterminated`, "\"caf\xc3\xa9\"",
	`{"a":1,"b":[1,2,{"c":null}],"d":{"e":"f"}}`, `{"a" 1}`, `{"a":1,}`, `[1,]`, `[1 2]`, `{1:2}`,
	` { "a" : [ ] , "b" : { } } `, `{"a":1}x`, `{"a":1}{"b":2}`, `{"a":1,"a":2}`,
	`"2024-01-02T03:04:05Z"`, `"2024-01-02T03:04:05.123456789+05:30"`, `"2024-13-02T03:04:05Z"`, `"2024-01-02"`,
}

func TestParserAgainstEncodingJSON(t *testing.T) {
	for _, s := range jsonSamples {
		compareWithEncodingJSON(t, s)
	}
}

func FuzzParseRecord(f *testing.F) {
	for _, s := range jsonSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.ContainsAny(s, "\n") || depth(s) > maxDepth-1 {
			return // one line per record; nesting is limited by design
		}
		compareWithEncodingJSON(t, s)
	})
}

// depth over-estimates the nesting of s.
func depth(s string) int {
	d, m := 0, 0
	for _, c := range s {
		switch c {
		case '{', '[':
			d++
			m = max(m, d)
		case '}', ']':
			d--
		}
	}
	return m
}

func compareWithEncodingJSON(t *testing.T, s string) {
	t.Helper()
	var p parser
	v, msg := p.parseRecord(s)
	var want any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	err := dec.Decode(&want)
	if err == nil && !json.Valid([]byte(s)) {
		err = json.Unmarshal([]byte(s), new(any)) // trailing data
	}
	if err == nil {
		// Numbers that overflow float64 are valid JSON that floe refuses.
		if hasHugeNumber(want) {
			if msg == "" {
				t.Errorf("%q: accepted a number out of range", s)
			}
			return
		}
	}
	if (err == nil) != (msg == "") {
		t.Fatalf("%q: encoding/json error %v, parser error %q", s, err, msg)
	}
	if err != nil {
		return
	}
	if !sameValue(&v, want) {
		t.Fatalf("%q: parsed %+v, encoding/json %#v", s, v, want)
	}
}

func hasHugeNumber(v any) bool {
	switch v := v.(type) {
	case json.Number:
		f, err := v.Float64()
		return err != nil || math.IsInf(f, 0)
	case []any:
		for _, e := range v {
			if hasHugeNumber(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range v {
			if hasHugeNumber(e) {
				return true
			}
		}
	}
	return false
}

func sameValue(v *value, want any) bool {
	switch w := want.(type) {
	case nil:
		return v.kind == kNull
	case bool:
		return v.kind == kBool && (v.n != 0) == w
	case string:
		if v.kind == kTime {
			tt, err := time.Parse(time.RFC3339Nano, w)
			return err == nil && v.s == w && tt.UnixMicro() == int64(v.n)
		}
		if _, err := time.Parse(time.RFC3339Nano, w); err == nil {
			return false // should have been recognised as a timestamp
		}
		return v.kind == kString && v.s == w
	case json.Number:
		isInt := !strings.ContainsAny(string(w), ".eE")
		if i, err := w.Int64(); err == nil && isInt {
			return v.kind == kInt && v.int() == i
		}
		f, _ := w.Float64()
		return v.kind == kFloat && v.float() == f
	case []any:
		if v.kind != kArray || len(v.kids) != len(w) {
			return false
		}
		for i := range w {
			if !sameValue(&v.kids[i].v, w[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		if v.kind != kObject {
			return false
		}
		last := map[string]*value{}
		for i := range v.kids {
			last[v.kids[i].name] = &v.kids[i].v
		}
		if len(last) != len(w) {
			return false
		}
		for k, e := range w {
			if lv, ok := last[k]; !ok || !sameValue(lv, e) {
				return false
			}
		}
		return true
	}
	return false
}

func TestParserKeepsMemberOrder(t *testing.T) {
	var p parser
	v, msg := p.parseRecord(`{"z": 1, "a": {"y": 2, "b": 3}, "m": [ {"q": 1, "c": 2} ]}`)
	if msg != "" {
		t.Fatal(msg)
	}
	var b bytes.Buffer
	var walk func(v *value)
	walk = func(v *value) {
		for _, m := range v.kids {
			if v.kind == kObject {
				b.WriteString(m.name + " ")
			}
			walk(&m.v)
		}
	}
	walk(&v)
	if got := b.String(); got != "z a y b m q c " {
		t.Fatalf("member order %q", got)
	}
}

func TestParserDepthLimit(t *testing.T) {
	var p parser
	deep := strings.Repeat(`{"a":`, maxDepth) + "1" + strings.Repeat("}", maxDepth)
	if _, msg := p.parseRecord(deep); msg != "" {
		t.Fatalf("depth %d refused: %s", maxDepth, msg)
	}
	deeper := strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)
	if _, msg := p.parseRecord(deeper); !strings.Contains(msg, "nesting") {
		t.Fatalf("depth %d: %q", maxDepth+1, msg)
	}
}
