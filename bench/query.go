package main

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // database/sql driver "duckdb"
	"github.com/jackc/pgx/v5"
)

// benchQuery is one query of figure (a), written once for both engines.
type benchQuery struct {
	name string
	sql  string
}

// queries returns the query set for a table of n rows. Identifiers that
// DuckDB 1.5 treats as keywords ("at") are quoted.
func queries(n int64) []benchQuery {
	ts := func(id int64) string {
		return baseTime.Add(time.Duration(id) * time.Second).Format("2006-01-02 15:04:05+00")
	}
	lo := n / 2
	hi := lo + max(n/100, 1)
	return []benchQuery{
		{"count", `SELECT count(*) FROM bench.events`},
		{"group by site", `SELECT site, count(*), sum(value), avg(value) FROM bench.events GROUP BY site ORDER BY site`},
		{"point id", fmt.Sprintf(`SELECT id, site, value, "at", flag, note FROM bench.events WHERE id = %d`, n*3/7)},
		{"range at (1%)", fmt.Sprintf(`SELECT count(*), avg(value) FROM bench.events WHERE "at" >= TIMESTAMPTZ '%s' AND "at" < TIMESTAMPTZ '%s'`, ts(lo), ts(hi))},
		{"top 10 value", `SELECT id, site, value FROM bench.events ORDER BY value DESC, id LIMIT 10`},
		{"count distinct", `SELECT count(DISTINCT note) FROM bench.events`},
		{"filter+group", `SELECT flag, count(*), min("at"), max("at") FROM bench.events WHERE value < 10 GROUP BY flag ORDER BY flag`},
		{"like", `SELECT count(*) FROM bench.events WHERE note LIKE '%zz%'`},
	}
}

// queryResult is one query's timings in figure (a).
type queryResult struct {
	q            benchQuery
	floe, duck   time.Duration // medians
	rows         int
	resultsMatch bool
	mismatch     string
}

func (r queryResult) ratio() float64 { return r.floe.Seconds() / r.duck.Seconds() }

// duckBaseline is DuckDB in-process over the Parquet files floe wrote,
// exposed as bench.events so the query text is the same on both sides.
type duckBaseline struct {
	db      *sql.DB
	conn    *sql.Conn
	version string
}

func openDuck(ctx context.Context, files []string, threads int) (*duckBaseline, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = "'" + strings.ReplaceAll(f, "'", "''") + "'"
	}
	setup := []string{
		fmt.Sprintf("SET threads = %d", threads),
		"CREATE SCHEMA bench",
		"CREATE VIEW bench.events AS SELECT * FROM read_parquet([" + strings.Join(quoted, ", ") + "], hive_partitioning=false)",
	}
	for _, s := range setup {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			conn.Close()
			db.Close()
			return nil, fmt.Errorf("duckdb %q: %w", s[:min(len(s), 40)], err)
		}
	}
	d := &duckBaseline{db: db, conn: conn}
	if err := conn.QueryRowContext(ctx, "SELECT version()").Scan(&d.version); err != nil {
		d.close()
		return nil, err
	}
	return d, nil
}

func (d *duckBaseline) close() {
	d.conn.Close()
	d.db.Close()
}

// query runs q and reads every row.
func (d *duckBaseline) query(ctx context.Context, q string) ([][]any, error) {
	rows, err := d.conn.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, vals)
	}
	return out, rows.Err()
}

// floeQuery runs q through pgx's default mode (prepared once per
// connection, binary results) and reads every row.
func floeQuery(ctx context.Context, conn *pgx.Conn, q string) ([][]any, error) {
	rows, err := conn.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// runQueries measures every query on both sides: one warm-up each, then
// runs alternating floe and DuckDB so drift affects both alike.
func runQueries(ctx context.Context, floe *pgx.Conn, duck *duckBaseline, qs []benchQuery, runs int, progress func(string, ...any)) ([]queryResult, error) {
	var out []queryResult
	for _, q := range qs {
		fr, err := floeQuery(ctx, floe, q.sql)
		if err != nil {
			return nil, fmt.Errorf("floe %s: %w", q.name, err)
		}
		dr, err := duck.query(ctx, q.sql)
		if err != nil {
			return nil, fmt.Errorf("duckdb %s: %w", q.name, err)
		}
		r := queryResult{q: q, rows: len(fr)}
		r.mismatch = compareResults(fr, dr)
		r.resultsMatch = r.mismatch == ""
		var ft, dt []time.Duration
		for range runs {
			t := time.Now()
			if _, err := floeQuery(ctx, floe, q.sql); err != nil {
				return nil, fmt.Errorf("floe %s: %w", q.name, err)
			}
			ft = append(ft, time.Since(t))
			t = time.Now()
			if _, err := duck.query(ctx, q.sql); err != nil {
				return nil, fmt.Errorf("duckdb %s: %w", q.name, err)
			}
			dt = append(dt, time.Since(t))
		}
		r.floe, r.duck = median(ft), median(dt)
		progress("  %-15s floe %9s  duckdb %9s  ratio %.2f", q.name, ms(r.floe), ms(r.duck), r.ratio())
		if !r.resultsMatch {
			progress("  %-15s RESULTS DIFFER: %s", q.name, r.mismatch)
		}
		out = append(out, r)
	}
	return out, nil
}

// compareResults returns "" when both result sets hold the same values
// (floats within a relative 1e-9: parallel sums may differ in the last
// bits), else a description of the first difference.
func compareResults(a, b [][]any) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d rows vs %d", len(a), len(b))
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return fmt.Sprintf("row %d: %d columns vs %d", i, len(a[i]), len(b[i]))
		}
		for j := range a[i] {
			if x, ok := a[i][j].(float64); ok {
				if y, ok := b[i][j].(float64); ok && math.Abs(x-y) <= 1e-9*max(math.Abs(x), math.Abs(y)) {
					continue
				}
			}
			if x, y := normalize(a[i][j]), normalize(b[i][j]); x != y {
				return fmt.Sprintf("row %d column %d: %s vs %s", i, j, x, y)
			}
		}
	}
	return ""
}

func normalize(v any) string {
	switch x := v.(type) {
	case float64, float32:
		return fmt.Sprintf("%g", x)
	case int32:
		return fmt.Sprint(int64(x))
	case int:
		return fmt.Sprint(int64(x))
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case nil:
		return "NULL"
	}
	return fmt.Sprint(v)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// geomean returns the geometric mean of the floe/DuckDB ratios.
func geomean(rs []queryResult) float64 {
	var sum float64
	for _, r := range rs {
		sum += math.Log(r.ratio())
	}
	return math.Exp(sum / float64(len(rs)))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", d.Seconds()*1000) }
