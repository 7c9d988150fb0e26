package gateway

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"unicode/utf8"
)

// DuckDB reserves words PostgreSQL lets a column or table be called: `at`
// (DuckDB's time travel), `by`, `map`, `struct`, `columns`, `qualify`,
// `show`, `pivot` and more. `SELECT at FROM t` is valid PostgreSQL and a
// syntax error in DuckDB. floe parses client SQL with DuckDB's parser, so
// where that parser stops after such a word floe quotes the word and
// parses again — the word is then the identifier PostgreSQL would have
// read (Session.serialize). A word used as DuckDB's keyword parses and is
// never touched; a statement that is wrong gets the error of the parse
// that got furthest.

// pgReservedWords are PostgreSQL 16's reserved and type/function-name
// keywords (pg_get_keywords() catcodes R and T): PostgreSQL does not take
// them as bare column names either, so floe never quotes them.
var pgReservedWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`all analyse analyze and any array as asc asymmetric both case cast
		check collate column constraint create current_catalog current_date current_role current_time
		current_timestamp current_user default deferrable desc distinct do else end except false fetch
		for foreign from grant group having in initially intersect into lateral leading limit localtime
		localtimestamp not null offset on only or order placing primary references returning select
		session_user some symmetric system_user table then to trailing true union unique user using
		variadic when where window with
		authorization binary collation concurrently cross current_schema freeze full ilike inner is
		isnull join left like natural notnull outer overlaps right similar tablesample verbose`) {
		pgReservedWords[w] = true
	}
}

// nameKeywords returns the words DuckDB's parser does not take as a column
// name (its reserved and type/function-name keywords) but PostgreSQL does.
func nameKeywords(ctx context.Context, conn *sql.Conn) (map[string]bool, error) {
	rows, err := conn.QueryContext(ctx,
		"SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category IN ('reserved', 'type_function')")
	if err != nil {
		return nil, fmt.Errorf("list duckdb keywords: %w", err)
	}
	defer rows.Close()
	words := map[string]bool{}
	for rows.Next() {
		var w string
		if err := rows.Scan(&w); err != nil {
			return nil, err
		}
		if w = strings.ToLower(w); !pgReservedWords[w] {
			words[w] = true
		}
	}
	return words, rows.Err()
}

// maxKeywordQuotes bounds the re-parses of one statement.
const maxKeywordQuotes = 32

// quoteKeywordBefore returns query with one word of words quoted: of the
// unquoted ones at or before the error position (a character offset, as
// DuckDB reports it), the nearest after skipping skip of them. ok is false
// when there is no such word.
func quoteKeywordBefore(query string, pos, skip int, words map[string]bool) (string, bool) {
	at := byteOffset(query, pos)
	toks := lex(query)
	for j := len(toks) - 1; j >= 0; j-- {
		t := toks[j]
		if t.pos > at || t.kind != 'w' || !words[strings.ToLower(t.text)] {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		// PostgreSQL folds an unquoted name to lower case.
		return query[:t.pos] + `"` + strings.ToLower(t.text) + `"` + query[t.end:], true
	}
	return query, false
}

// byteOffset converts a character offset of s into a byte offset.
func byteOffset(s string, chars int) int {
	b := 0
	for n := 0; n < chars && b < len(s); n++ {
		_, size := utf8.DecodeRuneInString(s[b:])
		b += size
	}
	return b
}
