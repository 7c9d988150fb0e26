package gateway

import (
	"strings"
	"unicode"
)

// token is a lexical token of PostgreSQL-flavoured SQL, enough to split
// statements and classify them; the real analysis is DuckDB's parser.
type token struct {
	kind     byte // 'w' word, 's' string literal, 'i' quoted identifier, 'p' punctuation, 'n' number, '$' parameter
	text     string
	pos, end int // byte offsets of the token in the input
}

// lex tokenizes sql. Unterminated quotes and comments end at the end of the
// input; DuckDB's parser reports those errors precisely later.
func lex(sql string) []token {
	var toks []token
	i, n := 0, len(sql)
	start := 0
	add := func(kind byte, text string, end int) { toks = append(toks, token{kind, text, start, end}) }
	for i < n {
		c := sql[i]
		start = i
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c == '-' && i+1 < n && sql[i+1] == '-':
			for i < n && sql[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < n && sql[i+1] == '*':
			depth := 0
			for i < n {
				if sql[i] == '/' && i+1 < n && sql[i+1] == '*' {
					depth++
					i += 2
				} else if sql[i] == '*' && i+1 < n && sql[i+1] == '/' {
					depth--
					i += 2
					if depth == 0 {
						break
					}
				} else {
					i++
				}
			}
		case c == '\'' || ((c == 'E' || c == 'e') && i+1 < n && sql[i+1] == '\''):
			escapes := c != '\''
			if escapes {
				i++
			}
			i++
			var b strings.Builder
			for i < n {
				if escapes && sql[i] == '\\' && i+1 < n {
					b.WriteByte(sql[i+1])
					i += 2
					continue
				}
				if sql[i] == '\'' {
					if i+1 < n && sql[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(sql[i])
				i++
			}
			add('s', b.String(), i)
		case c == '"':
			i++
			var b strings.Builder
			for i < n {
				if sql[i] == '"' {
					if i+1 < n && sql[i+1] == '"' {
						b.WriteByte('"')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(sql[i])
				i++
			}
			add('i', b.String(), i)
		case c == '$':
			// $n parameter or $tag$ dollar-quoted string.
			j := i + 1
			for j < n && (sql[j] == '_' || isAlnum(sql[j])) {
				j++
			}
			if j < n && sql[j] == '$' {
				tag := sql[i : j+1]
				end := strings.Index(sql[j+1:], tag)
				if end < 0 {
					add('s', sql[j+1:], n)
					i = n
				} else {
					i = j + 1 + end + len(tag)
					add('s', sql[j+1:j+1+end], i)
				}
				continue
			}
			add('$', sql[i:j], j)
			i = j
		case c == '_' || unicode.IsLetter(rune(c)) || c >= 0x80:
			j := i
			for j < n && (sql[j] == '_' || sql[j] == '$' || isAlnum(sql[j]) || sql[j] >= 0x80) {
				j++
			}
			add('w', sql[i:j], j)
			i = j
		case c >= '0' && c <= '9' || (c == '.' && i+1 < n && sql[i+1] >= '0' && sql[i+1] <= '9'):
			j := i
			for j < n && (isAlnum(sql[j]) || sql[j] == '.') {
				j++
			}
			add('n', sql[i:j], j)
			i = j
		default:
			add('p', string(c), i+1)
			i++
		}
	}
	return toks
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// splitStatements cuts sql at top-level semicolons, keeping quotes, comments
// and dollar-quoted bodies intact. Statements holding only whitespace and
// comments are dropped.
func splitStatements(sql string) []string {
	var out []string
	start, i, n := 0, 0, len(sql)
	flush := func(end int) {
		s := strings.TrimSpace(sql[start:end])
		if len(lex(s)) > 0 {
			out = append(out, s)
		}
	}
	for i < n {
		c := sql[i]
		switch {
		case c == '-' && i+1 < n && sql[i+1] == '-':
			for i < n && sql[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < n && sql[i+1] == '*':
			depth := 0
			for i < n {
				if sql[i] == '/' && i+1 < n && sql[i+1] == '*' {
					depth++
					i += 2
				} else if sql[i] == '*' && i+1 < n && sql[i+1] == '/' {
					depth--
					i += 2
					if depth == 0 {
						break
					}
				} else {
					i++
				}
			}
		case c == '\'' || c == '"':
			escapes := c == '\'' && i > 0 && (sql[i-1] == 'E' || sql[i-1] == 'e') && (i < 2 || !isAlnum(sql[i-2]))
			i++
			for i < n {
				if escapes && sql[i] == '\\' {
					i += 2
					continue
				}
				if sql[i] == c {
					if i+1 < n && sql[i+1] == c {
						i += 2
						continue
					}
					break
				}
				i++
			}
			i++
		case c == '$':
			j := i + 1
			for j < n && (sql[j] == '_' || isAlnum(sql[j])) {
				j++
			}
			if j < n && sql[j] == '$' && (j == i+1 || !(sql[i+1] >= '0' && sql[i+1] <= '9')) {
				tag := sql[i : j+1]
				end := strings.Index(sql[j+1:], tag)
				if end < 0 {
					i = n
				} else {
					i = j + 1 + end + len(tag)
				}
			} else {
				i = j
			}
		case c == ';':
			flush(i)
			i++
			start = i
		default:
			i++
		}
	}
	flush(n)
	return out
}

// keywords returns the first n words of sql, lower-cased, skipping comments
// and opening parentheses.
func keywords(toks []token, n int) []string {
	var out []string
	for _, t := range toks {
		if len(out) == n {
			break
		}
		if t.kind == 'p' && t.text == "(" && len(out) == 0 {
			continue
		}
		if t.kind != 'w' {
			break
		}
		out = append(out, strings.ToLower(t.text))
	}
	return out
}
