package gateway_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/floe-dev/floe/gateway"
	"github.com/floe-dev/floe/sqlstate"
)

// The side-channel regression suite of SECURITY.md: for every leak class it
// measured, probes that would reveal a hidden row or an unmasked value if
// the fence failed, run by each kind of governed principal (leakdata_test.go)
// on the 4 000-row and the 4 M-row table. A probe passes when the statement
// returns only visible data (and the expected value, where given) or is
// refused with its SQLSTATE, and nothing hidden appears in its result or
// error. TestLeakProbesLeakWithoutFence shows that the probes can fail: the
// same statements over the naive rewrite leak.
//
// EXPLAIN, EXPLAIN ANALYZE, stats(), PRAGMA and profiling settings are
// refused before execution: one probe each here, their other spellings in
// the bypass corpus (testdata/bypass.txt).

// leakProbe is one statement run as each of who. {T} stands for the table.
type leakProbe struct {
	class string // the leak class of SECURITY.md it probes
	sql   string
	who   []string
	// big are the principals that also run it on the 4 M-row table:
	// probes whose outcome can depend on scale (pushdown, filter order,
	// dictionaries) run there as rows and orf, the two filter shapes,
	// masked-column probes as gov. Each run there costs a few hundred
	// milliseconds: the fence materialises 3 M rows.
	big  []string
	args []any
	// want is the expected first value of the first row on n rows, as
	// text (nil: only the absence of hidden values is checked); code, when
	// set, the SQLSTATE the statement must be refused with.
	want func(n int) any
	code string
	// naive marks the probes TestLeakProbesLeakWithoutFence runs over the
	// naive rewrite, where they must leak; cte, those that leak through a
	// MATERIALIZED CTE too while the cte_filter_pusher optimizer runs.
	naive naiveLeak
	cte   bool
}

// naiveLeak is how a probe leaks over the naive rewrite.
type naiveLeak int

const (
	naiveUnchecked naiveLeak = iota
	naiveQuotes              // an error quoting the hidden value
	naiveOracle              // a value-free error: a yes/no oracle on hidden rows
)

var (
	rowHiders    = []string{"rows", "orf", "gov"}
	bigRowHiders = []string{"rows", "orf"}
	maskers      = []string{"masked", "gov"}
	excluders    = []string{"excluded", "gov"}
)

func visible(n int) any { return leakCount(n, func(int) bool { return true }) }

func visibleWhere(keep func(i int) bool) func(n int) any {
	return func(n int) any { return leakCount(n, keep) }
}

func constant(v any) func(int) any { return func(int) any { return v } }

// below keeps rows with an id under 200 000: per-row regular expressions
// and time zone conversions are slow on 3 M rows. The bound is a simple
// conjunct the gateway copies into the fence, so those probes also test
// the client's predicate and the policy as neighbouring scan filters.
func below(i int) bool { return i < 200_000 }

// code and pin of row i as leakRecord writes them (visible rows).
func leakCode(i int) int { return i % 100 }
func leakPin(i int) int  { return i % 10000 }

var leakProbes = []leakProbe{
	// Throwing expressions DuckDB does not flag as such: pushed into the
	// scan by a naive rewrite, they run on hidden rows.
	{class: "nested cast", sql: "SELECT count(*) FROM {T} WHERE ([code]::INTEGER[])[1] >= 0",
		who: rowHiders, big: bigRowHiders, want: visible, naive: naiveQuotes, cte: true},
	{class: "lambda", sql: "SELECT count(*) FROM {T} WHERE len(list_filter([code], x -> x::INTEGER >= 0)) > 0",
		who: rowHiders, big: bigRowHiders, want: visible, naive: naiveQuotes, cte: true},
	{class: "cast", sql: "SELECT count(*) FROM {T} WHERE CAST(code AS INTEGER) >= 0", who: rowHiders, big: bigRowHiders, want: visible},
	{class: "regexp pattern from data", sql: "SELECT count(*) FROM {T} WHERE id < 200000 AND regexp_replace('abc', tag, 'x') <> ''",
		who: rowHiders, big: bigRowHiders, want: visibleWhere(below), naive: naiveQuotes, cte: true},
	{class: "regexp pattern from data", sql: "SELECT count(*) FROM {T} WHERE id < 200000 AND len(string_split_regex('a-b', tag)) > 0",
		who: rowHiders, big: bigRowHiders, want: visibleWhere(below), naive: naiveQuotes, cte: true},
	{class: "LIKE ESCAPE column", sql: "SELECT count(*) FROM {T} WHERE 'x' LIKE '%' ESCAPE tag",
		who: rowHiders, big: bigRowHiders, want: visible, naive: naiveOracle, cte: true},
	{class: "list_reduce on an empty list", sql: "SELECT count(*) FROM {T} WHERE list_reduce(list_filter([code], x -> x NOT LIKE 'sec%'), (a, b) -> a || b) IS NOT NULL",
		who: rowHiders, big: bigRowHiders, want: visible, naive: naiveOracle, cte: true},
	{class: "TIMESTAMPTZ to TIMESTAMP_NS", sql: "SELECT count(*) FROM {T} WHERE id < 200000 AND ts::TIMESTAMP_NS IS NOT NULL",
		who: rowHiders, big: bigRowHiders, want: visibleWhere(below), naive: naiveOracle, cte: true},
	{class: "TIMESTAMP to TIMESTAMP_NS", sql: "SELECT count(*) FROM {T} WHERE id < 200000 AND ([ts::TIMESTAMP]::TIMESTAMP_NS[])[1] IS NOT NULL",
		who: rowHiders, big: bigRowHiders, want: visibleWhere(below)},
	{class: "division by zero", sql: "SELECT count(*) FROM {T} WHERE 1 / (score - 95) IS NOT NULL", who: rowHiders, big: bigRowHiders, want: visible},
	{class: "division by zero", sql: "SELECT sum(1000 % (score - 95)) IS NOT NULL FROM {T}", who: rowHiders, want: constant(true)},

	// Adaptive filter order: the policy and the client's predicate both
	// scan filters (the client's simple conjunct is copied into the fence).
	{class: "adaptive filter order", sql: "SELECT count(*) FROM {T} WHERE site = 'S001' AND CAST(code AS INTEGER) >= 0",
		who: rowHiders, big: bigRowHiders, want: visibleWhere(func(i int) bool { return i%4 < 2 })},
	{class: "adaptive filter order", sql: "SELECT count(*) FROM {T} WHERE site IN ('S001', 'S003') AND ([code]::INTEGER[])[1] >= 0",
		who: rowHiders, big: bigRowHiders, want: visible, naive: naiveQuotes, cte: true},
	{class: "adaptive filter order", sql: "SELECT count(*) FROM {T} WHERE score < 100 AND ([code]::INTEGER[])[1] >= 0",
		who: rowHiders, big: bigRowHiders, want: visible, naive: naiveQuotes, cte: true},
	{class: "adaptive filter order", sql: "SELECT count(*) FROM {T} WHERE id >= 0 AND len(list_filter([code], x -> x::INTEGER >= 0)) > 0",
		who: rowHiders, big: bigRowHiders, want: visible, naive: naiveQuotes, cte: true},
	{class: "adaptive filter order", sql: "SELECT count(*) FROM {T} WHERE id % 2 = 1 AND 1 / (score - 95) IS NOT NULL",
		who: rowHiders, big: bigRowHiders, want: visibleWhere(func(i int) bool { return i%2 == 1 })},

	// Dictionary execution: a function over a dictionary-encoded column
	// runs once per dictionary entry, hidden rows' entries included — from
	// every clause, with no pushdown at all.
	{class: "dictionary: select list", sql: "SELECT sum(len(list_filter([code], x -> x::INTEGER > 0))) FROM {T}",
		who: rowHiders, big: bigRowHiders, want: visibleWhere(func(i int) bool { return leakCode(i) > 0 }), naive: naiveQuotes},
	{class: "dictionary: aggregate argument", sql: "SELECT max(([code]::INTEGER[])[1]) FROM {T}", who: rowHiders, big: bigRowHiders, want: constant(98)},
	{class: "dictionary: order by", sql: "SELECT id FROM {T} ORDER BY len(list_filter([code], x -> x::INTEGER > 0)) DESC, id LIMIT 1",
		who: rowHiders, big: bigRowHiders, want: constant(1), naive: naiveQuotes},
	{class: "dictionary: group by", sql: "SELECT len(list_filter([code], x -> x::INTEGER > 0)) AS n, count(*) FROM {T} GROUP BY n ORDER BY n",
		who: rowHiders, big: bigRowHiders, want: constant(0), naive: naiveQuotes},
	{class: "dictionary: having", sql: "SELECT score FROM {T} GROUP BY score HAVING sum(len(list_filter([code], x -> x::INTEGER > 0))) >= 0 ORDER BY score DESC LIMIT 1",
		who: rowHiders, big: bigRowHiders, want: constant(89), naive: naiveQuotes},
	{class: "dictionary: correlated EXISTS", sql: "SELECT count(*) FROM {T} a WHERE EXISTS (SELECT 1 FROM {T} b WHERE b.id = a.id AND len(list_filter([b.code], x -> x::INTEGER >= 0)) > 0)",
		who: rowHiders, big: []string{"orf"}, want: visible, naive: naiveQuotes},
	{class: "dictionary: select list", sql: "SELECT count(regexp_matches('abc', tag)) FROM {T} WHERE id < 200000",
		who: rowHiders, big: bigRowHiders, want: visibleWhere(below)},

	// Hidden rows are absent from every result and aggregate; client
	// predicates copied into the fence change nothing.
	{class: "rows", sql: "SELECT count(*) FROM {T}", who: rowHiders, big: rowHiders, want: visible},
	{class: "rows", sql: "SELECT max(score), max(ts), max(code), min(code), max(tag), count(DISTINCT site) FROM {T}", who: rowHiders, want: constant(89)},
	{class: "rows", sql: "SELECT count(DISTINCT code) FROM {T}", who: rowHiders, want: constant(75)},
	{class: "rows", sql: "SELECT DISTINCT site FROM {T} ORDER BY site", who: rowHiders, want: constant("S001")},
	{class: "rows", sql: "SELECT histogram(site), list(DISTINCT tag ORDER BY tag), approx_count_distinct(code) FROM {T}", who: rowHiders},
	{class: "rows", sql: "SELECT count(*) FROM {T} WHERE code = 'secret-3'", who: rowHiders, big: bigRowHiders, want: constant(0)},
	{class: "rows", sql: "SELECT count(*) FROM {T} WHERE site = 'S002' OR score >= 90", who: rowHiders, want: constant(0)},
	{class: "rows", sql: "SELECT count(*) FROM {T} WHERE score BETWEEN 90 AND 99", who: rowHiders, big: bigRowHiders, want: constant(0)},
	{class: "rows", sql: "SELECT code FROM {T} WHERE code LIKE 'sec%' OR tag LIKE 'sec%'", who: rowHiders},
	{class: "rows", sql: "SELECT count(*) FROM {T} WHERE ts > TIMESTAMPTZ '2400-01-01 00:00:00+00'", who: rowHiders, want: constant(0)},
	{class: "rows: parameter", sql: "SELECT count(*) FROM {T} WHERE code = $1", args: []any{"secret-3"}, who: rowHiders, want: constant(0)},
	{class: "rows: parameter", sql: "SELECT count(*) FROM {T} WHERE CAST(code AS INTEGER) > $1", args: []any{int64(-1)}, who: rowHiders, want: visible},

	// Masks apply before any expression of the client sees the column:
	// filters, joins, GROUP BY and aggregates see the masked value only.
	{class: "mask: predicate", sql: "SELECT count(*) FROM {T} WHERE pin = 'PIN-0004'", who: maskers, big: []string{"gov"}, want: constant(0)},
	{class: "mask: predicate", sql: "SELECT count(*) FROM {T} WHERE pin LIKE 'PIN%'", who: maskers, want: constant(0)},
	{class: "mask: predicate", sql: "SELECT count(*) FROM {T} WHERE pin = '0004'", who: []string{"masked"},
		want: func(n int) any { return (n + 9999 - 4) / 10000 }},
	// A predicate on a masked column copied into the fence would compare
	// the raw values ("PIN-…" sorts after "5"), and prune on their
	// statistics.
	{class: "mask: predicate", sql: "SELECT count(*) FROM {T} WHERE pin < '5'", who: maskers, big: []string{"gov"},
		want: visibleWhere(func(i int) bool { return leakPin(i) < 5000 })},
	{class: "mask: aggregates", sql: "SELECT min(pin), max(pin), count(DISTINCT pin) FROM {T}", who: maskers},
	{class: "mask: group by", sql: "SELECT pin, count(*) FROM {T} GROUP BY pin ORDER BY 2 DESC, 1 LIMIT 3", who: maskers},
	{class: "mask: join", sql: "SELECT count(*) FROM {T} a JOIN {T} b ON a.pin = b.pin WHERE a.id = 4", who: maskers,
		want: func(n int) any { return (n + 9999 - 4) / 10000 }},
	{class: "mask: raw value oracle", sql: "SELECT sum(([replace(pin, 's', '')]::INTEGER[])[1]) FROM {T}", who: []string{"masked"},
		want: func(n int) any {
			var s int64
			for i := range n {
				if leakHidden(i) {
					s += int64(i % 1000)
				} else {
					s += int64(leakPin(i))
				}
			}
			return s
		}},
	{class: "mask: dictionary", sql: "SELECT sum(len(list_filter([pin], x -> replace(x, 's', '')::INTEGER >= 0))) FROM {T}", who: []string{"masked"},
		want: func(n int) any { return n }},
	// With a row filter, the masked values of hidden rows ("sNNN") stay
	// hidden too: the lambda oracle of SECURITY.md.
	{class: "mask: dictionary", sql: "SELECT count(*) FROM {T} WHERE ([pin]::INTEGER[])[1] >= 0", who: []string{"gov"}, big: []string{"gov"}, want: visible},
	{class: "mask: dictionary", sql: "SELECT sum(len(list_filter([pin], x -> x::INTEGER >= 0))) FROM {T}", who: []string{"gov"}, big: []string{"gov"}, want: visible},
	{class: "mask: dictionary", sql: "SELECT count(*) FROM {T} WHERE pin LIKE 's%'", who: []string{"gov"}, want: constant(0)},

	// What reveals statistics, plans or scan counts of hidden rows is
	// refused (the corpus holds the spellings).
	{class: "stats()", sql: "SELECT stats(code) FROM {T}", who: rowHiders, code: sqlstate.InsufficientPrivilege},
	{class: "EXPLAIN", sql: "EXPLAIN SELECT * FROM {T} WHERE code = 'x'", who: rowHiders, code: sqlstate.InsufficientPrivilege},
	{class: "EXPLAIN ANALYZE", sql: "EXPLAIN ANALYZE SELECT count(*) FROM {T}", who: rowHiders, code: sqlstate.InsufficientPrivilege},
	{class: "profiling", sql: "PRAGMA enable_profiling", who: rowHiders, code: sqlstate.InsufficientPrivilege},
	{class: "profiling", sql: "SET enable_profiling = 'json'", who: rowHiders, code: sqlstate.InsufficientPrivilege},

	// A hashed column: errors about it never show the salt or a raw value.
	{class: "mask: hash", sql: "SELECT min(pin), max(length(pin)) FROM {T}", who: []string{"hashed"}},
	{class: "mask: hash", sql: "SELECT count(*) FROM {T} WHERE pin = sha256('PIN-0004')", who: []string{"hashed"}, want: constant(0)},
	{class: "mask: hash", sql: "SELECT count(*) FROM {T} WHERE pin = sha256('salt-of-the-pin-hash' || 'PIN-0004')", who: []string{"hashed"},
		want: func(n int) any { return (n + 9999 - 4) / 10000 }},
	{class: "mask: hash", sql: "SELECT pin + 1 FROM {T}", who: []string{"hashed"}, code: "42804"},
	{class: "mask: hash", sql: "SELECT sum(pin) FROM {T}", who: []string{"hashed"}, code: "42804"},
	{class: "mask: hash", sql: "SELECT pin FROM {T} GROUP BY id", who: []string{"hashed"}, code: "42703"},
	{class: "mask: hash", sql: "SELECT CAST(pin AS INTEGER) FROM {T}", who: []string{"hashed"}, code: "22P02"},
	{class: "mask: hash", sql: "SELECT count(*) FROM {T} WHERE pin = 1", who: []string{"hashed"}, code: "22P02"},

	// Excluded columns do not exist for the principal.
	{class: "excluded column", sql: "SELECT ssn FROM {T}", who: excluders, code: sqlstate.InsufficientPrivilege},
	{class: "excluded column", sql: "SELECT count(*) FROM {T} WHERE ssn LIKE 'ssn-%'", who: excluders, code: sqlstate.InsufficientPrivilege},
	{class: "excluded column", sql: "SELECT max(length(ssn)) FROM {T}", who: excluders, code: sqlstate.InsufficientPrivilege},
	{class: "excluded column", sql: "SELECT * FROM {T} WHERE id < 3", who: excluders},
	{class: "excluded column", sql: "SELECT t FROM {T} t WHERE id < 3", who: excluders},
	{class: "excluded column", sql: "SELECT to_json(t) FROM {T} t WHERE id < 3", who: excluders},
	{class: "excluded column", sql: "SELECT COLUMNS('.*') FROM {T} WHERE id < 3", who: excluders},
}

// TestLeakProbes runs every probe as each of its principals, on both
// tables.
func TestLeakProbes(t *testing.T) {
	e := mustLeakEnv(t)
	t.Logf("leak tables built in %s (%d + %d rows)", leakFixture.build.Round(time.Millisecond), leakBigRows, leakSmallRows)
	for _, tbl := range []struct {
		name string
		n    int
		big  bool
	}{{"leak.small", leakSmallRows, false}, {"leak.big", leakBigRows, true}} {
		t.Run(tbl.name, func(t *testing.T) {
			start := time.Now()
			runs := 0
			sessions := map[string]*gateway.Session{}
			for _, p := range leakProbes {
				who := p.who
				if tbl.big {
					who = p.big
				}
				q := strings.ReplaceAll(p.sql, "{T}", tbl.name)
				for _, w := range who {
					if sessions[w] == nil {
						sessions[w] = e.MustSessionAs(t, w)
					}
					runs++
					p.check(t, w, sessions[w], q, tbl.n)
				}
			}
			t.Logf("%d probe runs on %s in %s", runs, tbl.name, time.Since(start).Round(time.Millisecond))
		})
	}
}

func (p leakProbe) check(t *testing.T, who string, s *gateway.Session, q string, n int) {
	t.Helper()
	what := fmt.Sprintf("%s [%s, as %s]", q, p.class, who)
	cols, rows, err := query(s, q, p.args...)
	if !checkNoLeak(t, who, what, cols, rows, err) {
		return
	}
	switch {
	case p.code != "":
		if err == nil {
			t.Errorf("%s: ran, want SQLSTATE %s", what, p.code)
		} else if got := sqlstate.Public(err); got.Code != p.code {
			t.Errorf("%s: got %s %q, want SQLSTATE %s", what, got.Code, got.Message, p.code)
		}
	case err != nil:
		// Any error is an oracle: every probe succeeds on visible data.
		t.Errorf("%s: %v — an expression ran on a hidden row or an unmasked value", what, err)
	case p.want != nil:
		want := p.want(n)
		if len(rows) == 0 || len(rows[0]) == 0 {
			t.Errorf("%s: no rows, want %v", what, want)
			return
		}
		// Compared as text: sums come back as big integers.
		if got := fmt.Sprint(rows[0][0]); got != fmt.Sprint(want) {
			t.Errorf("%s = %s, want %v", what, got, want)
		}
	}
}

// TestLeakProbesInAnotherTimeZone: a session's TimeZone gets a DuckDB
// instance of its own (engine.go), which must be sealed and fenced like the
// first: the probes that leak without the fence pass there too.
func TestLeakProbesInAnotherTimeZone(t *testing.T) {
	e := mustLeakEnv(t)
	for _, who := range []string{"rows", "gov"} {
		s := e.MustSessionAs(t, who)
		MustQuery(t, s, "SET TimeZone = 'America/New_York'")
		for _, p := range leakProbes {
			if p.naive != naiveUnchecked {
				p.check(t, who, s, strings.ReplaceAll(p.sql, "{T}", "leak.small"), leakSmallRows)
			}
		}
	}
}

// TestLeakProbesLeakWithoutFence: the probes can fail. Over the rewrite
// SECURITY.md calls naive — the table replaced by a filtered subquery over
// the same Parquet files, here for the policies of rows and orf — the
// probes marked naive leak on the 4 M-row table: an error quoting a hidden
// value, or a value-free error that is itself an oracle. The filters marked
// cte leak through a MATERIALIZED CTE too while DuckDB's cte_filter_pusher
// optimizer runs. (Through the gateway, whose engine disables that
// optimizer, TestLeakProbes runs the same statements without error.) If a
// DuckDB upgrade makes the naive rewrite stop leaking, this test fails: the
// probes then no longer prove the fence and need measuring anew.
func TestLeakProbesLeakWithoutFence(t *testing.T) {
	e := mustLeakEnv(t)
	ctx := context.Background()
	tbl, err := e.cat.Table(ctx, "leak", "big")
	if err != nil {
		t.Fatal(err)
	}
	scan, err := tbl.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	paths := make([]string, len(scan.Files))
	for i, f := range scan.Files {
		paths[i] = "'" + f.Path + "'"
	}
	naive := mustPlainDuckDB(t, "")
	fenced := mustPlainDuckDB(t, "&disabled_optimizers=cte_filter_pusher")
	var version string
	if err := naive.QueryRow("SELECT version()").Scan(&version); err != nil {
		t.Fatal(err)
	}
	t.Logf("DuckDB %s", version)
	checked := 0
	// The policies of rows and orf (testdata/leakpolicy), as SQL.
	for _, policy := range []string{"site IN ('S001', 'S003')", "site = 'S001' OR score < 90"} {
		rel := fmt.Sprintf("SELECT id, site, code, tag, pin, score, ts FROM read_parquet([%s], hive_partitioning=false) WHERE %s",
			strings.Join(paths, ", "), policy)
		for _, p := range leakProbes {
			if p.naive == naiveUnchecked {
				continue
			}
			checked++
			what := fmt.Sprintf("%s [%s; policy %s; DuckDB %s]", p.sql, p.class, policy, version)
			err := plainQuery(naive, strings.ReplaceAll(p.sql, "{T}", "("+rel+")"))
			switch {
			case err == nil:
				t.Errorf("%s: the naive rewrite no longer leaks: the probe proves nothing", what)
			case p.naive != naiveOracle && !strings.Contains(err.Error(), "secret-"):
				t.Errorf("%s: the naive rewrite fails with %q, which no longer quotes the hidden value", what, err)
			}
			withCTE := "WITH f AS MATERIALIZED (" + rel + ") " + strings.ReplaceAll(p.sql, "{T}", "f")
			if p.cte && plainQuery(naive, withCTE) == nil {
				t.Errorf("%s: a MATERIALIZED CTE with cte_filter_pusher on no longer leaks", what)
			}
		}
	}
	t.Logf("%d probe runs leak without the fence", checked)

	// stats() and EXPLAIN, which the gateway refuses: over the naive
	// rewrite of the one-file table, stats() reports the hidden maximum
	// and EXPLAIN the policy; through the fence stats() reports nothing.
	small, err := e.cat.Table(ctx, "leak", "small")
	if err != nil {
		t.Fatal(err)
	}
	if scan, err = small.Plan(ctx); err != nil || len(scan.Files) != 1 {
		t.Fatalf("leak.small: %v, %d files; want one", err, len(scan.Files))
	}
	rel := fmt.Sprintf("SELECT code FROM read_parquet(['%s'], hive_partitioning=false) WHERE site IN ('S001', 'S003')", scan.Files[0].Path)
	var stats, fencedStats string
	if err := naive.QueryRow("SELECT stats(code)::VARCHAR FROM (" + rel + ") LIMIT 1").Scan(&stats); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stats, "secret-") {
		t.Errorf("stats() over the naive rewrite (%s) no longer reveals the hidden maximum", stats)
	}
	if err := fenced.QueryRow("WITH f AS MATERIALIZED (" + rel + ") SELECT stats(code)::VARCHAR FROM f LIMIT 1").Scan(&fencedStats); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(fencedStats, "secret-") {
		t.Errorf("stats() through the fence reveals the hidden maximum: %s", fencedStats)
	}
	var plan strings.Builder
	rows, err := naive.Query("EXPLAIN SELECT count(*) FROM (" + rel + ")")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(v)
	}
	rows.Close()
	if !strings.Contains(plan.String(), "S003") {
		t.Errorf("EXPLAIN over the naive rewrite no longer shows the policy:\n%s", plan.String())
	}
}

// TestLeakDataShape: the leak tables have the shape SECURITY.md measured
// leaks on: a column dictionary-encoded in every data file, and 4 M rows.
func TestLeakDataShape(t *testing.T) {
	e := mustLeakEnv(t)
	ctx := context.Background()
	db := mustPlainDuckDB(t, "")
	for name, rows := range map[string]int64{"small": leakSmallRows, "big": leakBigRows} {
		tbl, err := e.cat.Table(ctx, "leak", name)
		if err != nil {
			t.Fatal(err)
		}
		scan, err := tbl.Plan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		paths := make([]string, len(scan.Files))
		for i, f := range scan.Files {
			total += f.Records
			paths[i] = "'" + f.Path + "'"
		}
		if total != rows {
			t.Errorf("leak.%s holds %d rows, want %d", name, total, rows)
		}
		// Every row group of every file encodes these columns with a dictionary.
		for _, col := range []string{"site", "code", "tag", "pin"} {
			var groups, dict int64
			q := fmt.Sprintf("SELECT count(*), count(*) FILTER (WHERE encodings LIKE '%%DICTIONARY%%') FROM parquet_metadata([%s]) WHERE path_in_schema = '%s'",
				strings.Join(paths, ", "), col)
			if err := db.QueryRow(q).Scan(&groups, &dict); err != nil {
				t.Fatal(err)
			}
			if groups == 0 || dict != groups {
				t.Errorf("leak.%s.%s: %d of %d row groups dictionary-encoded", name, col, dict, groups)
			}
		}
	}
}

// TestLeakRewriteCacheKeepsPrincipalsApart: the rewrite of a statement is
// cached, but never shared between principals: the same text run first by
// the unrestricted admin and then by each governed principal gives each its
// own rows.
func TestLeakRewriteCacheKeepsPrincipalsApart(t *testing.T) {
	e := mustLeakEnv(t)
	const q = "SELECT count(*), count(DISTINCT site), max(score) FROM leak.small"
	_, rows := MustQuery(t, e.MustSession(t), q)
	if fmt.Sprint(rows[0]) != fmt.Sprintf("[%d 3 99]", leakSmallRows) {
		t.Fatalf("admin: %v", rows[0])
	}
	for _, who := range []string{"rows", "orf", "gov", "rows"} {
		_, rows := MustQuery(t, e.MustSessionAs(t, who), q)
		if want := fmt.Sprintf("[%v 2 89]", visible(leakSmallRows)); fmt.Sprint(rows[0]) != want {
			t.Errorf("%s after admin: %v, want %s", who, rows[0], want)
		}
	}
	_, rows = MustQuery(t, e.MustSessionAs(t, "masked"), "SELECT max(pin) FROM leak.small")
	_, raw := MustQuery(t, e.MustSession(t), "SELECT max(pin) FROM leak.small")
	if rows[0][0] == raw[0][0] || leakIn(fmt.Sprint(rows[0][0]), leakMarkers("masked")) != "" {
		t.Errorf("masked max(pin) %v after admin's %v", rows[0][0], raw[0][0])
	}
}

// mustPlainDuckDB opens an in-memory DuckDB with none of floe's sandbox,
// as the control of the probes.
func mustPlainDuckDB(tb testing.TB, dsn string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("duckdb", "?threads=2"+dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// plainQuery runs q to its end and returns its error.
func plainQuery(db *sql.DB, q string) error {
	rows, err := db.Query(q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}
