package awsimport

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"
)

// pred is the policy-directory form of a row filter (docs/policy.md), for
// the shapes a Lake Formation row filter expression can be mapped from.
type pred struct {
	And    []pred `json:"and,omitempty"`
	Or     []pred `json:"or,omitempty"`
	Column string `json:"column,omitempty"`
	Op     string `json:"op,omitempty"`
	Value  any    `json:"value,omitempty"`
	Values []any  `json:"values,omitempty"`
}

// parseRowFilter maps a Lake Formation row filter expression (PartiQL) to
// a structured predicate. Only these shapes are understood:
//
//	col = 'lit'    col = 42    col IN ('a', 'b', 3)    TRUE
//	P AND P        P OR P      ( P )
//
// with bare or "double-quoted" column names and keywords in any case.
// Anything else (NOT, <>, <, LIKE, IS NULL, functions, column-to-column
// comparisons, …) is an error naming what was found, and the caller skips
// the filter: floe never reinterprets SQL text.
func parseRowFilter(expr string) (*pred, error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	out, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, fmt.Errorf("unsupported %s at offset %d (only col = literal, col IN (…), AND, OR and parentheses are mapped)", t, t.pos)
	}
	return out, nil
}

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tQuotedIdent
	tString
	tNumber
	tSymbol
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of expression"
	case tString:
		return fmt.Sprintf("string '%s'", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

func lex(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := rune(s[i])
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return nil, fmt.Errorf("unterminated string at offset %d", i)
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			out = append(out, token{tString, b.String(), i})
			i = j + 1
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return nil, fmt.Errorf("unterminated quoted name at offset %d", i)
			}
			out = append(out, token{tQuotedIdent, s[i+1 : i+1+j], i})
			i += j + 2
		case c >= '0' && c <= '9' || c == '-' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i + 1
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
				j++
			}
			out = append(out, token{tNumber, s[i:j], i})
			i = j
		case c == '_' || unicode.IsLetter(c):
			j := i
			for j < len(s) && (s[j] == '_' || s[j] >= '0' && s[j] <= '9' || unicode.IsLetter(rune(s[j]))) {
				j++
			}
			out = append(out, token{tIdent, s[i:j], i})
			i = j
		default:
			j := i + 1
			if j < len(s) && strings.ContainsRune("<>=!|", rune(s[j])) && strings.ContainsRune("<>!|", c) {
				j++
			}
			out = append(out, token{tSymbol, s[i:j], i})
			i = j
		}
	}
	return append(out, token{kind: tEOF, pos: len(s)}), nil
}

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token { t := p.toks[p.i]; p.i++; return t }

func (p *parser) keyword(k string) bool {
	if t := p.peek(); t.kind == tIdent && strings.EqualFold(t.text, k) {
		p.i++
		return true
	}
	return false
}

func (p *parser) symbol(s string) bool {
	if t := p.peek(); t.kind == tSymbol && t.text == s {
		p.i++
		return true
	}
	return false
}

func (p *parser) or() (*pred, error) {
	first, err := p.and()
	if err != nil {
		return nil, err
	}
	args := []pred{*first}
	for p.keyword("OR") {
		a, err := p.and()
		if err != nil {
			return nil, err
		}
		args = append(args, *a)
	}
	if len(args) == 1 {
		return first, nil
	}
	return &pred{Or: flatten(args, true)}, nil
}

func (p *parser) and() (*pred, error) {
	first, err := p.factor()
	if err != nil {
		return nil, err
	}
	args := []pred{*first}
	for p.keyword("AND") {
		a, err := p.factor()
		if err != nil {
			return nil, err
		}
		args = append(args, *a)
	}
	if len(args) == 1 {
		return first, nil
	}
	return &pred{And: flatten(args, false)}, nil
}

// flatten merges nested ORs into an OR (AND into AND).
func flatten(args []pred, or bool) []pred {
	var out []pred
	for _, a := range args {
		if or && a.Or != nil {
			out = append(out, a.Or...)
		} else if !or && a.And != nil {
			out = append(out, a.And...)
		} else {
			out = append(out, a)
		}
	}
	return out
}

var reserved = map[string]bool{"and": true, "or": true, "not": true, "in": true, "is": true, "null": true, "like": true, "between": true, "true": true, "false": true}

func (p *parser) factor() (*pred, error) {
	if p.symbol("(") {
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.symbol(")") {
			t := p.peek()
			return nil, fmt.Errorf("unsupported %s at offset %d: want )", t, t.pos)
		}
		return e, nil
	}
	if p.keyword("TRUE") {
		return &pred{Op: "true"}, nil
	}
	col := p.next()
	if col.kind == tIdent && reserved[strings.ToLower(col.text)] || col.kind != tIdent && col.kind != tQuotedIdent {
		return nil, fmt.Errorf("unsupported %s at offset %d: want a column name", col, col.pos)
	}
	if p.symbol("=") {
		v, err := p.literal()
		if err != nil {
			return nil, err
		}
		return &pred{Column: col.text, Op: "=", Value: v}, nil
	}
	if p.keyword("IN") {
		if !p.symbol("(") {
			t := p.peek()
			return nil, fmt.Errorf("unsupported %s at offset %d: want ( after IN", t, t.pos)
		}
		var vals []any
		for {
			v, err := p.literal()
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
			if p.symbol(")") {
				break
			}
			if !p.symbol(",") {
				t := p.peek()
				return nil, fmt.Errorf("unsupported %s at offset %d: want , or ) in the IN list", t, t.pos)
			}
		}
		return &pred{Column: col.text, Op: "in", Values: vals}, nil
	}
	t := p.peek()
	return nil, fmt.Errorf("unsupported %s after column %s at offset %d (only = and IN are mapped)", t, col.text, t.pos)
}

func (p *parser) literal() (any, error) {
	t := p.next()
	switch t.kind {
	case tString:
		if strings.Contains(t.text, "${") {
			return nil, fmt.Errorf("string '%s' at offset %d holds ${, which floe would read as a policy variable", t.text, t.pos)
		}
		return t.text, nil
	case tNumber:
		if !json.Valid([]byte(t.text)) {
			return nil, fmt.Errorf("bad number %q at offset %d", t.text, t.pos)
		}
		return json.Number(t.text), nil
	}
	return nil, fmt.Errorf("unsupported %s at offset %d: want a 'string' or number literal", t, t.pos)
}
