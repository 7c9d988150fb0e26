// Command bench measures floe against baselines measured in the same run,
// on the same machine, over the same data:
//
//   - (c) HTTP ingest: N rows of bench.events pushed as NDJSON by concurrent
//     pushers to a freshly built `floe serve`, in requests of 100k rows;
//     rows/s and MB/s from the first request to the last acknowledged
//     commit. No baseline.
//   - (a) Queries: aggregate and selective queries through floe's pgwire
//     (pgx, extended protocol, binary results) versus DuckDB in-process
//     reading the same Parquet files with read_parquet, both with the same
//     number of DuckDB threads. Median of -runs after one warm-up; the
//     ratio floe/DuckDB per query and its geometric mean.
//   - (b) Streaming: a 10M-row (or N-row, if smaller) 5-column result read
//     row by row and decoded by pgx, from floe and from a real PostgreSQL
//     holding the same rows (loaded with COPY), in binary and text formats.
//
// Usage (scripts/bench.sh starts PostgreSQL and sets BENCH_PG_URL):
//
//	go run ./bench [-rows N] [-out FILE]
//
// Without BENCH_PG_URL the PostgreSQL baseline of (b) is skipped. The
// program builds floe into a temporary directory, runs it on free loopback
// ports over a temporary data directory and removes both at the end. Every
// generated row is a pure function of its id, so floe and PostgreSQL hold
// identical data. It imports no floe package: it measures the binary as
// clients see it.
package main
