package gateway

import (
	"context"
	"fmt"
	"strings"

	"github.com/floe-dev/floe/pgwire"
	"github.com/floe-dev/floe/sqlstate"
)

// COPY ... TO STDOUT, which psql's \copy and drivers' copy_to send to
// export a query or a table as text or CSV. The query (or SELECT of the
// table) is prepared like any other statement — same analysis, same
// policy, same audit — and pgwire sends its rows as COPY data. COPY to or
// from a file or a program, and COPY FROM anything, stay refused.

// copyStatement is a query whose rows are sent as COPY data.
type copyStatement struct {
	*queryStatement
	format pgwire.CopyFormat
}

// CopyFormat implements pgwire.CopyOut.
func (c *copyStatement) CopyFormat() pgwire.CopyFormat { return c.format }

// Execute implements pgwire.Statement: the command tag is COPY n.
func (c *copyStatement) Execute(ctx context.Context, params []any) (pgwire.Result, error) {
	res, err := c.queryStatement.Execute(ctx, params)
	if err != nil {
		return nil, err
	}
	return copyResult{res}, nil
}

type copyResult struct{ pgwire.Result }

func (copyResult) Tag(rows int64) string { return fmt.Sprintf("COPY %d", rows) }

func (s *Session) prepareCopy(ctx context.Context, text string, toks []token, paramOIDs []uint32) (pgwire.Statement, error) {
	query, rest, err := copySource(text, toks)
	if err != nil {
		return nil, err
	}
	if len(rest) < 2 || !strings.EqualFold(rest[0].text, "to") || rest[0].kind != 'w' ||
		!strings.EqualFold(rest[1].text, "stdout") || rest[1].kind != 'w' {
		return nil, sqlstate.New(sqlstate.InsufficientPrivilege, "permission denied: COPY is allowed only TO STDOUT")
	}
	format, err := copyOptions(rest[2:])
	if err != nil {
		return nil, err
	}
	q, err := s.prepareQuery(ctx, query, paramOIDs)
	if err != nil {
		return nil, err
	}
	return &copyStatement{queryStatement: q, format: format}, nil
}

// copySource returns the query a COPY reads — the text of COPY (query), or
// a SELECT of COPY table [(columns)] built from its name tokens — and the
// tokens after it.
func copySource(text string, toks []token) (string, []token, error) {
	syntax := func(at []token) error {
		if len(at) == 0 {
			return sqlstate.New(sqlstate.SyntaxError, "syntax error at end of input")
		}
		return sqlstate.New(sqlstate.SyntaxError, "syntax error at or near %q", at[0].text)
	}
	toks = toks[1:] // COPY
	if len(toks) > 0 && toks[0].kind == 'p' && toks[0].text == "(" {
		depth := 0
		for i, t := range toks {
			if t.kind != 'p' {
				continue
			}
			switch t.text {
			case "(":
				depth++
			case ")":
				depth--
				if depth == 0 {
					return text[toks[0].end:t.pos], toks[i+1:], nil
				}
			}
		}
		return "", nil, syntax(nil)
	}
	// [schema.]table: words or quoted identifiers joined by dots, rebuilt
	// from the tokens so nothing but a name reaches the SELECT.
	ident := func(t token) (string, bool) {
		switch t.kind {
		case 'w':
			return t.text, true
		case 'i':
			return quoteIdent(t.text), true
		}
		return "", false
	}
	var name []string
	for {
		if len(toks) == 0 {
			return "", nil, syntax(nil)
		}
		part, ok := ident(toks[0])
		if !ok {
			return "", nil, syntax(toks)
		}
		name = append(name, part)
		toks = toks[1:]
		if len(toks) == 0 || toks[0].kind != 'p' || toks[0].text != "." {
			break
		}
		toks = toks[1:]
	}
	cols := "*"
	if len(toks) > 0 && toks[0].kind == 'p' && toks[0].text == "(" {
		var list []string
		toks = toks[1:]
		for {
			if len(toks) == 0 {
				return "", nil, syntax(nil)
			}
			c, ok := ident(toks[0])
			if !ok {
				return "", nil, syntax(toks)
			}
			list = append(list, c)
			if len(toks) < 2 || toks[1].kind != 'p' {
				return "", nil, syntax(toks[1:])
			}
			sep := toks[1].text
			toks = toks[2:]
			if sep == ")" {
				break
			}
			if sep != "," {
				return "", nil, syntax(toks)
			}
		}
		cols = strings.Join(list, ", ")
	}
	return "SELECT " + cols + " FROM " + strings.Join(name, "."), toks, nil
}

// copyOptions reads the options after TO STDOUT, in either syntax:
// WITH (FORMAT csv, HEADER, DELIMITER ';', NULL 'n/a') or the older
// WITH CSV HEADER DELIMITER AS ';' NULL AS 'n/a'.
func copyOptions(toks []token) (pgwire.CopyFormat, error) {
	type option struct{ name, value string }
	var opts []option
	if len(toks) > 0 && toks[0].kind == 'w' && strings.EqualFold(toks[0].text, "with") {
		toks = toks[1:]
	}
	syntax := func() error {
		if len(toks) == 0 {
			return sqlstate.New(sqlstate.SyntaxError, "syntax error at end of input")
		}
		return sqlstate.New(sqlstate.SyntaxError, "syntax error at or near %q", toks[0].text)
	}
	if len(toks) > 0 && toks[0].kind == 'p' && toks[0].text == "(" {
		toks = toks[1:]
		for {
			if len(toks) == 0 || toks[0].kind != 'w' {
				return pgwire.CopyFormat{}, syntax()
			}
			o := option{name: strings.ToLower(toks[0].text)}
			toks = toks[1:]
			if len(toks) > 0 && !(toks[0].kind == 'p' && (toks[0].text == "," || toks[0].text == ")")) {
				o.value = toks[0].text
				toks = toks[1:]
			}
			opts = append(opts, o)
			if len(toks) == 0 || toks[0].kind != 'p' {
				return pgwire.CopyFormat{}, syntax()
			}
			sep := toks[0].text
			toks = toks[1:]
			if sep == ")" {
				break
			}
			if sep != "," {
				return pgwire.CopyFormat{}, syntax()
			}
		}
	} else {
		for len(toks) > 0 {
			if toks[0].kind != 'w' {
				return pgwire.CopyFormat{}, syntax()
			}
			w := strings.ToLower(toks[0].text)
			toks = toks[1:]
			switch w {
			case "csv", "binary":
				opts = append(opts, option{"format", w})
			case "header":
				opts = append(opts, option{"header", "true"})
			case "delimiter", "null", "quote", "escape", "encoding":
				if len(toks) > 0 && toks[0].kind == 'w' && strings.EqualFold(toks[0].text, "as") {
					toks = toks[1:]
				}
				if len(toks) == 0 || toks[0].kind != 's' {
					return pgwire.CopyFormat{}, syntax()
				}
				opts = append(opts, option{w, toks[0].text})
				toks = toks[1:]
			default:
				return pgwire.CopyFormat{}, sqlstate.New(sqlstate.FeatureNotSupported, "COPY option %s is not supported", strings.ToUpper(w))
			}
		}
	}
	if len(toks) > 0 {
		return pgwire.CopyFormat{}, syntax()
	}

	f := pgwire.CopyFormat{}
	var delimiter, null *string
	for _, o := range opts {
		switch o.name {
		case "format":
			switch strings.ToLower(o.value) {
			case "text":
				f.CSV = false
			case "csv":
				f.CSV = true
			case "binary":
				return f, sqlstate.New(sqlstate.FeatureNotSupported, "COPY BINARY is not supported; use FORMAT text or csv")
			default:
				return f, sqlstate.New(sqlstate.InvalidParameterValue, "COPY format %q not recognized", o.value)
			}
		case "header":
			switch strings.ToLower(o.value) {
			case "", "true", "on", "1":
				f.Header = true
			case "false", "off", "0":
				f.Header = false
			default:
				return f, sqlstate.New(sqlstate.InvalidParameterValue, "header requires a Boolean value")
			}
		case "delimiter":
			if len(o.value) != 1 {
				return f, sqlstate.New(sqlstate.FeatureNotSupported, "COPY delimiter must be a single one-byte character")
			}
			delimiter = &o.value
		case "null":
			null = &o.value
		case "encoding":
			if e := strings.ToUpper(strings.ReplaceAll(o.value, "-", "")); e != "UTF8" {
				return f, sqlstate.New(sqlstate.FeatureNotSupported, "COPY encoding %q is not supported: floe sends UTF8", o.value)
			}
		case "quote", "escape":
			if o.value != `"` {
				return f, sqlstate.New(sqlstate.FeatureNotSupported, "COPY %s other than '\"' is not supported", strings.ToUpper(o.name))
			}
		default:
			return f, sqlstate.New(sqlstate.FeatureNotSupported, "COPY option %s is not supported", strings.ToUpper(o.name))
		}
	}
	f.Delimiter, f.Null = '\t', `\N`
	if f.CSV {
		f.Delimiter, f.Null = ',', ""
	}
	if delimiter != nil {
		f.Delimiter = (*delimiter)[0]
	}
	if null != nil {
		f.Null = *null
	}
	return f, nil
}
