package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// streamRows is the size of figure (b)'s result.
const streamRows = 10_000_000

// streamResult is one measured stream of figure (b).
type streamResult struct {
	source, format string
	rows           int64
	wall           time.Duration // median
	serverCPU      time.Duration // of the median run
	clientCPU      time.Duration // of the median run
}

func (r streamResult) rowsPerSec() float64 { return float64(r.rows) / r.wall.Seconds() }

// streamOnce runs q on conn in mode and reads every row into typed Go
// values, as an application would. It returns the row count and a checksum
// of the ids and flags, so that both sources are seen to send the same rows.
func streamOnce(ctx context.Context, conn *pgx.Conn, q string, mode pgx.QueryExecMode) (int64, int64, error) {
	rows, err := conn.Query(ctx, q, mode)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	var (
		n, sum int64
		id     int64
		site   string
		value  float64
		at     time.Time
		flag   bool
	)
	for rows.Next() {
		if err := rows.Scan(&id, &site, &value, &at, &flag); err != nil {
			return 0, 0, err
		}
		n++
		sum += id
		if flag {
			sum += 1 << 40
		}
	}
	return n, sum, rows.Err()
}

// streamTarget is one source of figure (b).
type streamTarget struct {
	source string
	conn   *pgx.Conn
	sql    string
	pid    int // the process doing the server's work: floe, or conn's PostgreSQL backend
}

// measureStreams streams from every target runs times in mode, alternating
// targets run by run so that other load on the machine affects them alike,
// and reports each target's median run. Each run must return want rows with
// checksum wantSum.
func measureStreams(ctx context.Context, targets []streamTarget, mode pgx.QueryExecMode, want, wantSum int64, runs int) ([]streamResult, error) {
	format := "binary"
	if mode == pgx.QueryExecModeSimpleProtocol {
		format = "text"
	}
	type run struct{ wall, server, client time.Duration }
	all := make([][]run, len(targets))
	for range runs {
		for i, tg := range targets {
			s0, c0 := procCPU(tg.pid), selfCPU()
			t := time.Now()
			n, sum, err := streamOnce(ctx, tg.conn, tg.sql, mode)
			r := run{time.Since(t), procCPU(tg.pid) - s0, selfCPU() - c0}
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", tg.source, format, err)
			}
			if n != want {
				return nil, fmt.Errorf("%s %s: %d rows, want %d", tg.source, format, n, want)
			}
			if sum != wantSum {
				return nil, fmt.Errorf("%s %s: rows differ from the generated ones (checksum)", tg.source, format)
			}
			all[i] = append(all[i], r)
		}
	}
	out := make([]streamResult, len(targets))
	for i, rs := range all {
		// The median run (the lower middle one for an even count), with its CPU.
		slices.SortFunc(rs, func(a, b run) int { return cmp.Compare(a.wall, b.wall) })
		m := rs[(len(rs)-1)/2]
		out[i] = streamResult{source: targets[i].source, format: format, rows: want, wall: m.wall, serverCPU: m.server, clientCPU: m.client}
	}
	return out, nil
}

// checksum is streamOnce's checksum of rows [0, n), computed locally.
func checksum(n int64) int64 {
	var sum int64
	for id := range n {
		sum += id
		if genRow(id).flag {
			sum += 1 << 40
		}
	}
	return sum
}

// loadPostgres creates table events with the streamed columns of rows
// [0, n) in the PostgreSQL of conn: created and filled by COPY in one
// transaction, then frozen and analysed so that reads set no hint bits.
func loadPostgres(ctx context.Context, conn *pgx.Conn, n int64) (time.Duration, error) {
	t := time.Now()
	if _, err := conn.Exec(ctx, "DROP TABLE IF EXISTS events"); err != nil {
		return 0, err
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `CREATE TABLE events (id bigint NOT NULL, site text NOT NULL,
		value double precision NOT NULL, at timestamptz NOT NULL, flag boolean NOT NULL)`); err != nil {
		return 0, err
	}
	copied, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, []string{"id", "site", "value", "at", "flag"}, &rowSource{n: n})
	if err != nil {
		return 0, fmt.Errorf("copy into PostgreSQL: %w", err)
	}
	if copied != n {
		return 0, fmt.Errorf("copied %d rows into PostgreSQL, want %d", copied, n)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, err
	}
	if _, err := conn.Exec(ctx, "VACUUM (FREEZE, ANALYZE) events"); err != nil {
		return 0, err
	}
	return time.Since(t), nil
}

// rowSource feeds generated rows to pgx's CopyFrom.
type rowSource struct {
	n, id int64
	vals  [5]any
}

func (s *rowSource) Next() bool { s.id++; return s.id <= s.n }
func (s *rowSource) Err() error { return nil }
func (s *rowSource) Values() ([]any, error) {
	r := genRow(s.id - 1)
	s.vals = [5]any{r.id, r.site, r.value, r.at, r.flag}
	return s.vals[:], nil
}
