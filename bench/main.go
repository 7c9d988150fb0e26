package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// options are the command-line flags.
type options struct {
	rows       int64
	out        string
	runs       int
	streamRuns int
	batch      int
	pushers    int
	threads    int
	keep       bool
}

func main() {
	var o options
	flag.Int64Var(&o.rows, "rows", 10_000_000, "rows to ingest into bench.events")
	flag.StringVar(&o.out, "out", "", "also write the markdown summary to this file")
	flag.IntVar(&o.runs, "runs", 5, "timed runs per query (after one warm-up); the median is reported")
	flag.IntVar(&o.streamRuns, "stream-runs", 3, "runs per stream; the median is reported")
	flag.IntVar(&o.batch, "batch", 100_000, "rows per ingest request")
	flag.IntVar(&o.pushers, "pushers", 4, "concurrent ingest clients")
	flag.IntVar(&o.threads, "threads", runtime.NumCPU(), "DuckDB threads, for floe and for the baseline")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (floe binary, data, log)")
	kafka := flag.Bool("kafka", false, "run the Kafka ingest benchmarks instead (a real broker: $KAFKA_BROKERS or test/services)")
	var ko kafkaOptions
	flag.Int64Var(&ko.backlog, "kafka-backlog", 1_000_000, "-kafka (a): events in the backlog")
	flag.IntVar(&ko.rate, "kafka-rate", 50_000, "-kafka (b): events produced per second")
	flag.DurationVar(&ko.duration, "kafka-duration", 20*time.Second, "-kafka (b): how long to produce")
	flag.Parse()
	if o.rows < 1 || o.runs < 1 || o.streamRuns < 1 || o.batch < 1 || o.pushers < 1 || o.threads < 1 {
		fmt.Fprintln(os.Stderr, "bench: -rows, -runs, -stream-runs, -batch, -pushers and -threads must be positive")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	if *kafka {
		err = runKafka(ctx, o, ko, os.Stdout)
	} else {
		err = run(ctx, o, os.Stdout)
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// report is everything the summary prints.
type report struct {
	opts        options
	machine     machine
	phases      []phase
	ingest      ingestResult
	queries     []queryResult
	streams     []streamResult
	streamN     int64
	streamSQL   string
	pgLoad      time.Duration
	pgSkipped   string
	floePeakRSS int64
	total       time.Duration
}

// phase is how long one part of the run took, set-up included.
type phase struct {
	name string
	d    time.Duration
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func run(ctx context.Context, o options, stdout io.Writer) error {
	start := time.Now()
	rep := &report{opts: o, machine: probeMachine()}
	tmp, err := os.MkdirTemp("", "floe-bench-")
	if err != nil {
		return err
	}
	if o.keep {
		progress("keeping %s", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}

	progress("building floe")
	t := time.Now()
	bin, err := buildFloe(ctx, tmp)
	if err != nil {
		return err
	}
	rep.phases = append(rep.phases, phase{"floe build", time.Since(t)})
	t = time.Now()
	srv, err := startFloe(ctx, bin, tmp, o.threads)
	if err != nil {
		return err
	}
	defer srv.stop()
	progress("floe serving pgwire on %s, HTTP on %s (log %s)", srv.pgAddr, srv.httpAddr, srv.logPath)

	// (c) HTTP ingest.
	progress("(c) generating and pushing %d rows, %d per request, %d pushers", o.rows, o.batch, o.pushers)
	rep.ingest, err = runIngest(ctx, srv, o.rows, o.batch, o.pushers)
	if err != nil {
		return fmt.Errorf("ingest: %w\nfloe log:\n%s", err, srv.logTail())
	}
	in := rep.ingest
	progress("(c) %d rows in %.2fs: %.0f rows/s, %.1f MB/s, %d commits, %d files (generation %.1fs, not timed)",
		in.rows, in.wall.Seconds(), in.rowsPerSec(), in.mbPerSec(), in.commits, len(in.files), in.generateTime.Seconds())

	// (a) Queries.
	duck, err := openDuck(ctx, in.files, o.threads)
	if err != nil {
		return fmt.Errorf("duckdb baseline: %w", err)
	}
	defer duck.close()
	rep.machine.duckdb = duck.version
	floeConn, err := pgx.Connect(ctx, srv.pgURL())
	if err != nil {
		return fmt.Errorf("connect to floe: %w", err)
	}
	defer floeConn.Close(context.Background())
	progress("(a) %d queries, median of %d runs after a warm-up, DuckDB threads %d both sides", len(queries(o.rows)), o.runs, o.threads)
	rep.queries, err = runQueries(ctx, floeConn, duck, queries(o.rows), o.runs, progress)
	if err != nil {
		return fmt.Errorf("queries: %w\nfloe log:\n%s", err, srv.logTail())
	}
	progress("(a) geometric mean floe/DuckDB %.2f", geomean(rep.queries))
	rep.phases = append(rep.phases, phase{"ingest (c) and queries (a)", time.Since(t)})
	t = time.Now()

	// (b) Streaming.
	rep.streamN = min(o.rows, streamRows)
	rep.streamSQL = `SELECT id, site, value, "at", flag FROM bench.events`
	if o.rows > streamRows {
		rep.streamSQL += fmt.Sprintf(" WHERE id < %d", streamRows)
	}
	wantSum := checksum(rep.streamN)
	var pgConn *pgx.Conn
	pgPID := 0
	if url := os.Getenv("BENCH_PG_URL"); url == "" {
		rep.pgSkipped = "BENCH_PG_URL not set (scripts/bench.sh starts PostgreSQL and sets it)"
		progress("(b) PostgreSQL baseline skipped: %s", rep.pgSkipped)
	} else {
		pgConn, err = pgx.Connect(ctx, url)
		if err != nil {
			return fmt.Errorf("connect to PostgreSQL: %w", err)
		}
		defer pgConn.Close(context.Background())
		var pid uint32
		if err := pgConn.QueryRow(ctx, "SELECT pg_backend_pid(), current_setting('server_version')").Scan(&pid, &rep.machine.postgres); err != nil {
			return fmt.Errorf("PostgreSQL: %w", err)
		}
		pgPID = int(pid)
		progress("(b) loading %d rows into PostgreSQL %s with COPY", rep.streamN, rep.machine.postgres)
		if rep.pgLoad, err = loadPostgres(ctx, pgConn, rep.streamN); err != nil {
			return err
		}
		progress("(b) loaded in %.1fs", rep.pgLoad.Seconds())
	}
	targets := []streamTarget{{"floe", floeConn, rep.streamSQL, srv.cmd.Process.Pid}}
	if pgConn != nil {
		targets = append(targets, streamTarget{"PostgreSQL", pgConn, "SELECT id, site, value, at, flag FROM events", pgPID})
	}
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeSimpleProtocol} {
		rs, err := measureStreams(ctx, targets, mode, rep.streamN, wantSum, o.streamRuns)
		if err != nil {
			return fmt.Errorf("stream: %w\nfloe log:\n%s", err, srv.logTail())
		}
		for _, r := range rs {
			progress("(b) %-10s %-6s %.2fs  %.0f rows/s  server CPU %.1fs  client CPU %.1fs",
				r.source, r.format, r.wall.Seconds(), r.rowsPerSec(), r.serverCPU.Seconds(), r.clientCPU.Seconds())
		}
		rep.streams = append(rep.streams, rs...)
	}
	rep.phases = append(rep.phases, phase{"streaming (b), PostgreSQL load included", time.Since(t)})
	rep.floePeakRSS = srv.peakRSS()
	rep.total = time.Since(start)
	rep.machine.loadEnd = loadAvg()

	md := rep.markdown()
	fmt.Fprint(stdout, md)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(md), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// machine describes where the run happened.
type machine struct {
	cpus     int
	cpuModel string
	memory   string
	goVer    string
	duckdb   string
	postgres string
	// load is /proc/loadavg's 1-minute figure at the start and the end:
	// other work on the machine shows here.
	loadStart, loadEnd string
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

func probeMachine() machine {
	m := machine{cpus: runtime.NumCPU(), goVer: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH, loadStart: loadAvg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpuModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				var kb int64
				fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb)
				m.memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
			}
		}
	}
	return m
}
