package main

import (
	"fmt"
	"strings"
)

// markdown renders the summary.
func (r *report) markdown() string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	m := r.machine
	p("# floe benchmark\n\n")
	p("| machine | |\n| --- | --- |\n")
	p("| CPUs (nproc) | %d (%s) |\n", m.cpus, m.cpuModel)
	p("| memory | %s |\n", m.memory)
	p("| load average (1 min) at start / end | %s / %s |\n", m.loadStart, m.loadEnd)
	p("| Go | %s |\n", m.goVer)
	p("| DuckDB | %s (in floe and in the baseline; %d threads each) |\n", m.duckdb, r.opts.threads)
	if m.postgres != "" {
		p("| PostgreSQL | %s |\n", m.postgres)
	}
	p("| rows | %s |\n", thousands(r.opts.rows))
	parts := make([]string, len(r.phases))
	for i, ph := range r.phases {
		parts[i] = fmt.Sprintf("%s %.0f s", ph.name, ph.d.Seconds())
	}
	p("| run time | %.0f s (%s) |\n\n", r.total.Seconds(), strings.Join(parts, ", "))

	in := r.ingest
	p("## (c) HTTP ingest (no baseline)\n\n")
	p("%s rows of bench.events (id bigint, site text, value double, at timestamptz, flag bool, note text of %d chars) as NDJSON, "+
		"%d pushers, %s rows per request; wall time from the first request to the last acknowledged commit. "+
		"Bodies are generated before the clock starts.\n\n", thousands(in.rows), noteBytes, in.pushers, thousands(int64(in.batch)))
	p("| rows/s | MB/s | wall | requests | request p50 / max | commits | Parquet files | floe CPU | floe peak RSS |\n")
	p("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	p("| %s | %.1f | %.2f s | %d | %.2f s / %.2f s | %d | %d | %.1f s | %s |\n\n",
		thousands(int64(in.rowsPerSec())), in.mbPerSec(), in.wall.Seconds(), in.requests,
		in.p50.Seconds(), in.max.Seconds(), in.commits, len(in.files), in.floeCPU.Seconds(), mib(in.floePeakRSS))

	p("## (a) Queries: floe pgwire (pgx, binary) vs DuckDB in-process over the same %d Parquet files\n\n", len(in.files))
	p("Median of %d runs after one warm-up, floe and DuckDB alternating. floe: pgx's default mode (statement prepared once, "+
		"binary results), every row read; DuckDB: database/sql over `read_parquet([...], hive_partitioning=false)` "+
		"exposed as the view bench.events, every row scanned.\n\n", r.opts.runs)
	p("| query | rows | floe | DuckDB | floe/DuckDB | same result |\n| --- | ---: | ---: | ---: | ---: | --- |\n")
	for _, q := range r.queries {
		same := "yes"
		if !q.resultsMatch {
			same = "NO: " + q.mismatch
		}
		p("| %s | %d | %s | %s | %.2f | %s |\n", q.q.name, q.rows, ms(q.floe), ms(q.duck), q.ratio(), same)
	}
	p("| **geometric mean** | | | | **%.2f** | (target ≤ 1.10) |\n\n", geomean(r.queries))
	p("<details><summary>queries</summary>\n\n")
	for _, q := range r.queries {
		p("- %s: `%s`\n", q.q.name, q.q.sql)
	}
	p("\n</details>\n\n")

	p("## (b) Streaming %s rows × 5 columns to pgx (every row scanned into Go values)\n\n", thousands(r.streamN))
	p("floe: `%s`; PostgreSQL: the same rows loaded with COPY (%.1f s), `SELECT id, site, value, at, flag FROM events`. "+
		"Plain TCP on loopback, no TLS, both sides. binary = pgx's default (extended protocol, cached statement); "+
		"text = simple protocol. Median of %d runs, floe and PostgreSQL alternating; CPU is of the median run "+
		"(server: floe's process or the PostgreSQL backend; client: this program, which also decodes).\n\n", r.streamSQL, r.pgLoad.Seconds(), r.opts.streamRuns)
	p("| source | format | wall | rows/s | floe/PostgreSQL | server CPU | client CPU | rows per server CPU-second |\n")
	p("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	pg := map[string]streamResult{}
	for _, s := range r.streams {
		if s.source == "PostgreSQL" {
			pg[s.format] = s
		}
	}
	for _, s := range r.streams {
		ratio := ""
		if base, ok := pg[s.format]; ok && s.source == "floe" {
			ratio = fmt.Sprintf("**%.2f×** (target ≥ 1.5×)", s.rowsPerSec()/base.rowsPerSec())
		}
		perCPU := "?"
		if s.serverCPU > 0 {
			perCPU = thousands(int64(float64(s.rows) / s.serverCPU.Seconds()))
		}
		p("| %s | %s | %.2f s | %s | %s | %.1f s | %.1f s | %s |\n", s.source, s.format, s.wall.Seconds(),
			thousands(int64(s.rowsPerSec())), ratio, s.serverCPU.Seconds(), s.clientCPU.Seconds(), perCPU)
	}
	if r.pgSkipped != "" {
		p("\nPostgreSQL baseline skipped: %s.\n", r.pgSkipped)
	}
	p("\nfloe peak RSS over the run: %s.\n", mib(r.floePeakRSS))
	return b.String()
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func mib(b int64) string {
	if b <= 0 {
		return "?"
	}
	return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
}
