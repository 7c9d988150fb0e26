package authz

import (
	"regexp"
	"strings"
	"time"
)

// Audit trail, part 1: the record and the redaction of statement text.
//
// The gateway builds one AuditRecord per executed statement (docs/audit.md)
// and hands it to AuditLog.Record. authz treats the statement as an opaque
// string: it only redacts it (a lexical pass, see RedactStatement) and
// stores it; it never interprets it.

// Decisions an AuditRecord can carry.
const (
	AuditAllowed = "allowed" // the statement ran (possibly closed before its last row)
	AuditDenied  = "denied"  // refused by the policy or the sandbox: SQLSTATE 42501
	AuditFailed  = "error"   // any other error (syntax, unknown table, runtime)
)

// AuditRecord is one statement as the audit trail stores it. The JSON form
// is both a line of DATA/audit/audit.log and a row of floe_audit.queries,
// so every field is always present (lists as [], strings as "") and keeps
// one type: the table's schema is inferred from the first batch.
type AuditRecord struct {
	Time        time.Time `json:"started_at"`       // when the statement started (UTC)
	Principal   string    `json:"principal"`        // the authenticated user
	ClientAddr  string    `json:"client_addr"`      // host:port of the client, "" in process
	Application string    `json:"application_name"` // the session's application_name at the time
	Protocol    string    `json:"protocol"`         // "pgwire" or "http"
	Session     int64     `json:"session_id"`       // the session's backend pid
	Statement   string    `json:"statement"`        // the text, secrets redacted (RedactStatement)
	// Tables read (NAMESPACE.TABLE), including one the policy refused.
	Tables []string `json:"tables"`
	// Filters are the granted data filters applied (NAMESPACE.TABLE/FILTER).
	Filters []string `json:"filters"`
	// Masked columns (NAMESPACE.TABLE.COLUMN:MASK) and excluded columns
	// (NAMESPACE.TABLE.COLUMN) of the principal's view of the tables read.
	Masked   []string `json:"masked_columns"`
	Excluded []string `json:"excluded_columns"`
	Decision string   `json:"decision"` // AuditAllowed, AuditDenied or AuditFailed
	SQLState string   `json:"sqlstate"` // "" when allowed
	Message  string   `json:"message"`  // the error message the client saw, "" when allowed
	Rows     int64    `json:"row_count"`
	// DurationUS is from the start of the statement to the close of its
	// result (or its error), in microseconds.
	DurationUS int64 `json:"duration_us"`
}

// normalize makes the record's JSON form stable: UTC time, no null lists.
func (r *AuditRecord) normalize() {
	r.Time = r.Time.UTC()
	for _, l := range []*[]string{&r.Tables, &r.Filters, &r.Masked, &r.Excluded} {
		if *l == nil {
			*l = []string{}
		}
	}
}

// Redacted is what a redacted secret becomes.
const Redacted = "***"

// secretWords are the key names whose values RedactStatement removes: a key
// is secret-like when its lower-case form contains one of them, or is
// exactly one of secretExact.
var (
	secretWords = []string{"password", "passwd", "secret", "token", "credential", "apikey", "api_key",
		"access_key", "accesskey", "private_key", "privatekey", "key_id", "session_key"}
	secretExact = []string{"pwd", "pass"}
)

func secretKey(s string) bool {
	s = strings.ToLower(s)
	for _, w := range secretExact {
		if s == w {
			return true
		}
	}
	for _, w := range secretWords {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// Inside a string literal that is kept: key=value / key: value pairs with a
// secret-like key, and the password of a URL's user info.
var (
	innerPair = regexp.MustCompile(`(?i)((?:password|passwd|pwd|secret|token|credential|api_?key|access_?key|private_?key|key_id|session_key)[\w.-]*"?\s*[=:]\s*)("[^"]*"|[^\s&;,"}]+)`)
	innerURL  = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://[^/\s:@"]+:)[^@/\s"]+@`)
)

func redactInner(s string) string {
	s = innerPair.ReplaceAllString(s, "${1}"+Redacted)
	return innerURL.ReplaceAllString(s, "${1}"+Redacted+"@")
}

// RedactStatement removes passwords and secrets from statement text and
// keeps every other literal. The rule (docs/audit.md), applied to the
// text's tokens — comments, 'strings' (E” and $tag$ strings too),
// "identifiers", words, numbers, punctuation — without parsing SQL:
//
//  1. A key is a word, "identifier" or 'string' whose lower-case form
//     contains password, passwd, secret, token, credential, apikey,
//     api_key, access_key, accesskey, private_key, privatekey, key_id or
//     session_key, or is exactly pwd or pass.
//  2. The value of a key is the next token, after any of = : => := TO.
//     A string value is replaced by '***'. A word or number value is
//     replaced by *** only after an explicit = : => := or TO (so that
//     "CREATE SECRET name (...)" keeps the name). Anything else (a comma,
//     a parenthesis, an operator) means the key had no value.
//  3. In every string that is kept, key=value and key: value pairs whose
//     key matches rule 1 and the password of a URL's user info
//     (scheme://user:PASSWORD@host) are replaced by ***.
//
// So PASSWORD 'x', SECRET 'x', KEY_ID 'x', s3_secret_access_key = 'x',
// WHERE api_token = 42, {'password': 'x'} and 'host=h password=x' lose
// their secrets; WHERE site = 'S001' and 'password' alone are kept. The
// rule errs on the side of redaction: the literal compared with a column
// named like a secret is redacted even when it is not one.
func RedactStatement(text string) string {
	var out strings.Builder
	out.Grow(len(text))
	armed, assigned := false, false // after a key; after its = : => := TO
	for i := 0; i < len(text); {
		tok, kind := nextToken(text, i)
		i += len(tok)
		switch kind {
		case tokSpace, tokComment:
			out.WriteString(tok)
			continue
		case tokString:
			if armed {
				out.WriteString("'" + Redacted + "'")
				armed = false
				continue
			}
			out.WriteString(redactInner(tok))
			armed, assigned = secretKey(stringBody(tok)), false
			continue
		case tokParam:
			out.WriteString(tok)
			armed = false
			continue
		case tokPunct:
			if armed && (tok == "=" || tok == ":" || tok == "=>" || tok == ":=") {
				assigned = true
				out.WriteString(tok)
				continue
			}
			armed = false
			out.WriteString(tok)
			continue
		case tokWord, tokNumber, tokIdent:
			if armed && kind == tokWord && strings.EqualFold(tok, "to") {
				assigned = true
				out.WriteString(tok)
				continue
			}
			if armed && assigned {
				out.WriteString(Redacted)
				armed = false
				continue
			}
			out.WriteString(tok)
			key := tok
			if kind == tokIdent {
				key = strings.Trim(tok, `"`)
			}
			armed, assigned = kind != tokNumber && secretKey(key), false
		}
	}
	return out.String()
}

const (
	tokSpace = iota
	tokComment
	tokString
	tokIdent // "quoted identifier"
	tokWord
	tokNumber
	tokPunct
	tokParam // $1: a parameter, whose value the record does not carry
)

// nextToken returns the token of text starting at i and its kind. An
// unterminated string or comment runs to the end of the text.
func nextToken(text string, i int) (string, int) {
	c := text[i]
	rest := text[i:]
	switch {
	case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
		j := i
		for j < len(text) && strings.IndexByte(" \t\n\r\f\v", text[j]) >= 0 {
			j++
		}
		return text[i:j], tokSpace
	case strings.HasPrefix(rest, "--"):
		if k := strings.IndexByte(rest, '\n'); k >= 0 {
			return rest[:k], tokComment
		}
		return rest, tokComment
	case strings.HasPrefix(rest, "/*"):
		depth, j := 0, 0
		for j < len(rest) {
			switch {
			case strings.HasPrefix(rest[j:], "/*"):
				depth++
				j += 2
			case strings.HasPrefix(rest[j:], "*/"):
				depth--
				j += 2
				if depth == 0 {
					return rest[:j], tokComment
				}
			default:
				j++
			}
		}
		return rest, tokComment
	case c == '\'':
		return rest[:quotedEnd(rest, '\'', false)], tokString
	case (c == 'E' || c == 'e') && len(rest) > 1 && rest[1] == '\'':
		return rest[:1+quotedEnd(rest[1:], '\'', true)], tokString
	case c == '"':
		return rest[:quotedEnd(rest, '"', false)], tokIdent
	case c == '$':
		// $tag$ ... $tag$ (tag empty or a word); otherwise $1 is a parameter.
		j := 1
		for j < len(rest) && isWordByte(rest[j]) && !(j == 1 && rest[j] >= '0' && rest[j] <= '9') {
			j++
		}
		if j < len(rest) && rest[j] == '$' {
			tag := rest[:j+1]
			if k := strings.Index(rest[j+1:], tag); k >= 0 {
				return rest[:j+1+k+len(tag)], tokString
			}
			return rest, tokString
		}
		j = 1
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		return rest[:j], tokParam
	case isWordByte(c) && !(c >= '0' && c <= '9'):
		j := 1
		for j < len(rest) && (isWordByte(rest[j]) || rest[j] == '$') {
			j++
		}
		return rest[:j], tokWord
	case c >= '0' && c <= '9' || c == '.' && len(rest) > 1 && rest[1] >= '0' && rest[1] <= '9':
		j := 1
		for j < len(rest) && (isWordByte(rest[j]) || rest[j] == '.') {
			j++
		}
		return rest[:j], tokNumber
	case strings.HasPrefix(rest, "=>") || strings.HasPrefix(rest, ":=") || strings.HasPrefix(rest, "::"):
		return rest[:2], tokPunct
	}
	// One byte of punctuation, or one whole UTF-8 character.
	j := 1
	for j < len(rest) && rest[j]&0xC0 == 0x80 {
		j++
	}
	return rest[:j], tokPunct
}

// quotedEnd returns the length of the quoted token at the start of s (quote
// doubled to escape it; backslash escapes too when backslash is set).
func quotedEnd(s string, quote byte, backslash bool) int {
	for j := 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if backslash {
				j++
			}
		case quote:
			if j+1 < len(s) && s[j+1] == quote {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

// stringBody is the content of a string token without its quotes.
func stringBody(tok string) string {
	tok = strings.TrimPrefix(strings.TrimPrefix(tok, "E"), "e")
	if strings.HasPrefix(tok, "'") {
		return strings.TrimSuffix(tok[1:], "'")
	}
	if k := strings.IndexByte(tok[1:], '$'); k >= 0 { // $tag$body$tag$
		tag := tok[:k+2]
		return strings.TrimSuffix(tok[len(tag):], tag)
	}
	return tok
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}
