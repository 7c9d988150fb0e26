package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/floe-dev/floe/ingest"
	"github.com/floe-dev/floe/pgwire"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/floe-dev/floe/sqlstate"
)

// runSQL runs one query against the data directory without a server and
// prints the result as an aligned table. It runs as the admin user: whoever
// can read the data directory can read the data. The statement is audited
// like any other (application_name "floe sql", protocol "cli"): the record
// goes to DATA/audit/audit.log and floe_audit.queries before runSQL returns.
func runSQL(ctx context.Context, cfg Config, query string, out io.Writer) (err error) {
	log := newLogger(os.Stderr, "warn")
	n, err := openNode(ctx, cfg, log, nil)
	if err != nil {
		return err
	}
	defer n.close()
	flush, err := openCLIAudit(ctx, n, log)
	if err != nil {
		return err
	}
	defer func() {
		// The session's record exists once it is closed (below, first).
		err = errors.Join(err, flush())
	}()
	sess, err := n.engine.NewSession(ctx, pgwire.StartupInfo{User: cfg.Admin.User, Database: "floe",
		Params: map[string]string{"application_name": "floe sql"}})
	if err != nil {
		return err
	}
	sess.SetProtocol("cli")
	defer sess.Close()
	cols, res, err := sess.Query(ctx, query)
	if err != nil {
		return sqlError(err)
	}
	defer res.Close()
	var rows [][]string
	for {
		row, err := res.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return sqlError(err)
		}
		cells := make([]string, len(row))
		for i, v := range row {
			cells[i] = formatCell(v)
		}
		rows = append(rows, cells)
	}
	if cols == nil {
		fmt.Fprintln(out, res.Tag(int64(len(rows))))
		return nil
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	printTable(out, names, rows)
	return nil
}

func sqlError(err error) error {
	e := sqlstate.Public(err)
	return fmt.Errorf("ERROR: %s (SQLSTATE %s)", e.Message, e.Code)
}

// openCLIAudit opens the audit log of a command run without a server
// (floe sql, floe maintain): its records go to DATA/audit/audit.log and,
// through an ingest service of its own, to floe_audit.queries. flush writes
// and pushes what was recorded, then closes both.
func openCLIAudit(ctx context.Context, n *node, log *slog.Logger) (flush func() error, err error) {
	ing := ingest.New(n.cat, ingest.Config{Logger: log})
	if err := n.audit.Open(func(ctx context.Context, ndjson []byte) error {
		_, err := ing.Push(ctx, "floe_audit", "queries", bytes.NewReader(ndjson))
		return err
	}); err != nil {
		ing.Close(ctx)
		return nil, err
	}
	return func() error { return errors.Join(n.audit.Close(ctx), ing.Close(ctx)) }, nil
}

func formatCell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case time.Time:
		return x.Format("2006-01-02 15:04:05.999999Z07:00")
	case []byte:
		return "\\x" + hex.EncodeToString(x)
	case [16]byte:
		h := hex.EncodeToString(x[:])
		return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	case bool:
		if x {
			return "t"
		}
		return "f"
	case pgtype.Interval:
		return fmt.Sprintf("%d mons %d days %s", x.Months, x.Days, time.Duration(x.Microseconds)*time.Microsecond)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = formatCell(e)
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return fmt.Sprint(v)
}

// printTable prints rows like psql's aligned format.
func printTable(out io.Writer, names []string, rows [][]string) {
	width := make([]int, len(names))
	for i, n := range names {
		width[i] = utf8.RuneCountInString(n)
	}
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	line := func(cells []string) {
		parts := make([]string, len(cells))
		for i, c := range cells {
			parts[i] = " " + c + strings.Repeat(" ", width[i]-utf8.RuneCountInString(c)) + " "
		}
		fmt.Fprintln(out, strings.TrimRight(strings.Join(parts, "|"), " "))
	}
	line(names)
	sep := make([]string, len(names))
	for i := range names {
		sep[i] = strings.Repeat("-", width[i]+2)
	}
	fmt.Fprintln(out, strings.Join(sep, "+"))
	for _, r := range rows {
		line(r)
	}
	if len(rows) == 1 {
		fmt.Fprintln(out, "(1 row)")
	} else {
		fmt.Fprintf(out, "(%d rows)\n", len(rows))
	}
}
