package ingest

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// kind is the JSON type of a decoded value, with two refinements the schema
// mapping needs: integers apart from other numbers, and RFC 3339 strings apart
// from other strings.
type kind uint8

const (
	kNull   kind = iota
	kInt         // a JSON number without fraction or exponent that fits int64
	kFloat       // any other JSON number
	kBool        //
	kTime        // a string that parses as time.RFC3339Nano
	kString      // any other string
	kObject      //
	kArray       //
	numKinds
)

// name is how a value kind is named in error messages: the Iceberg type it
// would infer.
func (k kind) name() string {
	switch k {
	case kNull:
		return "null"
	case kInt:
		return "long"
	case kFloat:
		return "double"
	case kBool:
		return "boolean"
	case kTime, kString:
		return "string"
	case kObject:
		return "struct"
	case kArray:
		return "list"
	}
	return "unknown"
}

// value is one decoded JSON value. Object members keep their order.
type value struct {
	kind kind
	n    uint64   // kInt: int64 bits; kFloat: float64 bits; kBool: 0/1; kTime: Unix microseconds
	s    string   // kString, kTime: the text
	kids []member // kObject: the members; kArray: the elements (no names)
}

type member struct {
	name string
	v    value
}

func (v *value) int() int64     { return int64(v.n) }
func (v *value) float() float64 { return math.Float64frombits(v.n) }

// maxDepth bounds the nesting of objects and arrays in one record.
const maxDepth = 64

// parser decodes JSON records from lines of one request body. Strings without
// escapes are substrings of the body, so the body stays alive as long as the
// records do. Slices are carved from slabs to keep allocations few.
type parser struct {
	s    string
	pos  int
	errs string

	stack []member // members and elements of the objects and arrays being parsed
	slab  []member // where finished objects and arrays get their kids
}

// parseRecord decodes one line. It returns the value or a description of what
// is wrong with the line.
func (p *parser) parseRecord(line string) (value, string) {
	p.s, p.pos, p.errs = line, 0, ""
	p.stack = p.stack[:0]
	p.skipSpace()
	v, ok := p.value(0)
	if !ok {
		return value{}, p.errs
	}
	p.skipSpace()
	if p.pos != len(p.s) {
		return value{}, p.fail("unexpected data after the JSON value")
	}
	return v, ""
}

func (p *parser) fail(msg string) string {
	if p.errs == "" {
		p.errs = "invalid JSON at column " + strconv.Itoa(p.pos+1) + ": " + msg
	}
	return p.errs
}

func (p *parser) skipSpace() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\r', '\n':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (value, bool) {
	if p.pos >= len(p.s) {
		p.fail("unexpected end of input")
		return value{}, false
	}
	switch c := p.s[p.pos]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		s, ok := p.str()
		if !ok {
			return value{}, false
		}
		if us, ok := parseTime(s); ok {
			return value{kind: kTime, n: uint64(us), s: s}, true
		}
		return value{kind: kString, s: s}, true
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return value{kind: kBool, n: 1}, p.literal("true")
	case c == 'f':
		return value{kind: kBool}, p.literal("false")
	case c == 'n':
		return value{kind: kNull}, p.literal("null")
	default:
		p.fail("unexpected character " + strconv.QuoteRune(rune(c)))
		return value{}, false
	}
}

func (p *parser) literal(word string) bool {
	if !strings.HasPrefix(p.s[p.pos:], word) {
		p.fail("invalid literal")
		return false
	}
	p.pos += len(word)
	return true
}

func (p *parser) object(depth int) (value, bool) {
	if depth > maxDepth {
		p.fail("nesting deeper than " + strconv.Itoa(maxDepth))
		return value{}, false
	}
	p.pos++              // {
	base := len(p.stack) // on errors parseRecord resets the stack
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == '}' {
		p.pos++
		return value{kind: kObject}, true
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.s) || p.s[p.pos] != '"' {
			p.fail("expected a member name")
			return value{}, false
		}
		name, ok := p.str()
		if !ok {
			return value{}, false
		}
		p.skipSpace()
		if p.pos >= len(p.s) || p.s[p.pos] != ':' {
			p.fail("expected ':' after member name")
			return value{}, false
		}
		p.pos++
		p.skipSpace()
		v, ok := p.value(depth)
		if !ok {
			return value{}, false
		}
		p.stack = append(p.stack, member{name: name, v: v})
		p.skipSpace()
		if p.pos >= len(p.s) {
			p.fail("unexpected end of input in object")
			return value{}, false
		}
		if p.s[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.s[p.pos] == '}' {
			p.pos++
			break
		}
		p.fail("expected ',' or '}' in object")
		return value{}, false
	}
	ms := p.stack[base:]
	obj := p.allocMembers(len(ms))
	copy(obj, ms)
	clear(ms)
	p.stack = p.stack[:base]
	return value{kind: kObject, kids: obj}, true
}

func (p *parser) array(depth int) (value, bool) {
	if depth > maxDepth {
		p.fail("nesting deeper than " + strconv.Itoa(maxDepth))
		return value{}, false
	}
	p.pos++              // [
	base := len(p.stack) // on errors parseRecord resets the stack
	p.skipSpace()
	if p.pos < len(p.s) && p.s[p.pos] == ']' {
		p.pos++
		return value{kind: kArray}, true
	}
	for {
		p.skipSpace()
		v, ok := p.value(depth)
		if !ok {
			return value{}, false
		}
		p.stack = append(p.stack, member{v: v})
		p.skipSpace()
		if p.pos >= len(p.s) {
			p.fail("unexpected end of input in array")
			return value{}, false
		}
		if p.s[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.s[p.pos] == ']' {
			p.pos++
			break
		}
		p.fail("expected ',' or ']' in array")
		return value{}, false
	}
	vs := p.stack[base:]
	arr := p.allocMembers(len(vs))
	copy(arr, vs)
	clear(vs)
	p.stack = p.stack[:base]
	return value{kind: kArray, kids: arr}, true
}

const slabSize = 1024

func (p *parser) allocMembers(n int) []member {
	if n > slabSize/4 {
		return make([]member, n)
	}
	if cap(p.slab)-len(p.slab) < n {
		p.slab = make([]member, 0, slabSize)
	}
	l := len(p.slab)
	p.slab = p.slab[:l+n]
	return p.slab[l : l+n : l+n]
}

// number scans a JSON number (RFC 8259 grammar) and converts it.
func (p *parser) number() (value, bool) {
	start := p.pos
	s := p.s
	i := p.pos
	if s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		p.pos = i
		p.fail("invalid number")
		return value{}, false
	}
	integer := true
	if i < len(s) && s[i] == '.' {
		integer = false
		i++
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			p.pos = i
			p.fail("invalid number")
			return value{}, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		integer = false
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			p.pos = i
			p.fail("invalid number")
			return value{}, false
		}
	}
	p.pos = i
	text := s[start:i]
	if integer {
		if n, err := strconv.ParseInt(text, 10, 64); err == nil {
			return value{kind: kInt, n: uint64(n)}, true
		}
		// Out of int64 range: fall through to a double.
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) {
		p.pos = start
		p.fail("number out of range")
		return value{}, false
	}
	return value{kind: kFloat, n: math.Float64bits(f)}, true
}

// str scans a JSON string starting at the opening quote and returns its
// decoded text. Invalid UTF-8 and lone surrogates become U+FFFD, as in
// encoding/json.
func (p *parser) str() (string, bool) {
	p.pos++ // opening quote
	start := p.pos
	s := p.s
	i := start
	ascii := true
	for i < len(s) {
		c := s[i]
		if c == '"' {
			out := s[start:i]
			if !ascii && !utf8.ValidString(out) {
				return p.strSlow(start) // replaces invalid bytes
			}
			p.pos = i + 1
			return out, true
		}
		if c == '\\' {
			return p.strSlow(start)
		}
		if c < 0x20 {
			p.pos = i
			p.fail("control character in string")
			return "", false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
		i++
	}
	p.pos = i
	p.fail("unterminated string")
	return "", false
}

func (p *parser) strSlow(start int) (string, bool) {
	s := p.s
	var b strings.Builder
	i := start
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			p.pos = i + 1
			return b.String(), true
		case c < 0x20:
			p.pos = i
			p.fail("control character in string")
			return "", false
		case c == '\\':
			if i+1 >= len(s) {
				p.pos = i
				p.fail("unterminated string")
				return "", false
			}
			switch e := s[i+1]; e {
			case '"', '\\', '/':
				b.WriteByte(e)
				i += 2
			case 'b':
				b.WriteByte('\b')
				i += 2
			case 'f':
				b.WriteByte('\f')
				i += 2
			case 'n':
				b.WriteByte('\n')
				i += 2
			case 'r':
				b.WriteByte('\r')
				i += 2
			case 't':
				b.WriteByte('\t')
				i += 2
			case 'u':
				r, ok := hex4(s, i+2)
				if !ok {
					p.pos = i
					p.fail("invalid \\u escape")
					return "", false
				}
				i += 6
				if utf16.IsSurrogate(r) {
					r2, ok := rune(-1), false
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						r2, ok = hex4(s, i+2)
					}
					if d := utf16.DecodeRune(r, r2); ok && d != utf8.RuneError {
						r = d
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				b.WriteRune(r)
			default:
				p.pos = i
				p.fail("invalid escape")
				return "", false
			}
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			b.WriteRune(r) // RuneError for invalid bytes
			i += size
		}
	}
	p.pos = i
	p.fail("unterminated string")
	return "", false
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// parseTime reports whether s is an RFC 3339 timestamp (as time.RFC3339Nano
// parses it) and returns it in Unix microseconds. A cheap check on the shape
// of the date comes first: most strings are not timestamps.
func parseTime(s string) (int64, bool) {
	if len(s) < 15 || s[4] != '-' || s[0] < '0' || s[0] > '9' || s[3] < '0' || s[3] > '9' {
		return 0, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, false
	}
	return t.UnixMicro(), true
}
