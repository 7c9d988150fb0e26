package gateway

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/floe-dev/floe/pgwire"
	"github.com/floe-dev/floe/sqlstate"
)

// Session is one client's SQL session: its settings, its transaction state
// and its DuckDB connection (one per time zone the session has used).
type Session struct {
	engine   *Engine
	conn     *sql.Conn            // the connection for the current TimeZone
	connTZ   string               // the time zone of conn
	conns    map[string]*sql.Conn // by time zone
	user     string
	settings *settings
	tx       byte
	pid      int32 // what pg_backend_pid() answers
	sourceIP netip.Addr
	tls      bool

	// Audit (audit.go): what the record of a statement needs to know.
	clientAddr string
	protocol   string        // "http" for the HTTP API, "cli" for floe sql; "" is pgwire
	accessed   []tableAccess // tables resolved by the rewrite in progress
}

var _ pgwire.Session = (*Session)(nil)

func newSession(e *Engine, user string) *Session {
	return &Session{engine: e, user: user, settings: newSettings(user), tx: 'I',
		conns: map[string]*sql.Conn{}, pid: e.nextSession.Add(1)}
}

// useInstance points the session at the DuckDB instance of its TimeZone,
// so that timestamptz functions (date_trunc, extract, casts to date and
// text) follow the session's zone as in PostgreSQL. Statements prepared on
// another instance are prepared again when they next run.
func (s *Session) useInstance(ctx context.Context) error {
	tz := s.settings.loc.String()
	if s.conn != nil && s.connTZ == tz {
		return nil
	}
	if c, ok := s.conns[tz]; ok {
		s.conn, s.connTZ = c, tz
		return nil
	}
	in, err := s.engine.instance(ctx, tz)
	if err != nil {
		return err
	}
	c, err := in.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("open duckdb connection: %w", err)
	}
	s.conns[tz] = c
	s.conn, s.connTZ = c, tz
	return nil
}

// User returns the session's principal.
func (s *Session) User() string { return s.user }

// Parameters implements pgwire.Session.
func (s *Session) Parameters() map[string]string { return s.settings.reported() }

// Split implements pgwire.Session.
func (s *Session) Split(sql string) ([]string, error) { return splitStatements(sql), nil }

// TxStatus implements pgwire.Session.
func (s *Session) TxStatus() byte { return s.tx }

// SetProtocol names the entry point the session's audit records report
// ("pgwire" by default; "http" and "cli" for the HTTP API and floe sql).
func (s *Session) SetProtocol(p string) { s.protocol = p }

// Close implements pgwire.Session.
func (s *Session) Close() error {
	var errs []error
	for _, c := range s.conns {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// failed moves an open transaction block to the failed state, as
// PostgreSQL does on any error inside it.
func (s *Session) failed(err error) error {
	if err != nil && s.tx == 'T' {
		s.tx = 'E'
	}
	return err
}

// Prepare implements pgwire.Session: it classifies the statement, refuses
// what clients may not run and analyses queries.
func (s *Session) Prepare(ctx context.Context, text string, paramOIDs []uint32) (pgwire.Statement, error) {
	start := time.Now()
	s.accessed = nil
	if err := s.useInstance(ctx); err != nil {
		s.auditError(text, start, nil, err)
		return nil, s.failed(err)
	}
	st, err := s.prepare(ctx, text, paramOIDs)
	if err != nil {
		s.auditError(text, start, s.accessed, err)
		return nil, s.failed(err)
	}
	return s.audited(st, text, start), nil
}

func (s *Session) prepare(ctx context.Context, text string, paramOIDs []uint32) (pgwire.Statement, error) {
	toks := lex(text)
	kw := keywords(toks, 4)
	if len(kw) == 0 {
		if len(toks) > 0 && toks[0].kind == 'p' && toks[0].text == "(" {
			kw = []string{"select"}
		} else if len(toks) == 0 {
			return &commandStatement{tag: ""}, nil
		} else {
			return nil, sqlstate.New(sqlstate.SyntaxError, "syntax error at or near %q", toks[0].text)
		}
	}
	if s.tx == 'E' && kw[0] != "rollback" && kw[0] != "abort" && kw[0] != "commit" && kw[0] != "end" {
		return nil, sqlstate.New(sqlstate.InFailedTransaction, "current transaction is aborted, commands ignored until end of transaction block")
	}
	switch kw[0] {
	case "select", "with", "values", "table", "from":
		return s.prepareQuery(ctx, text, paramOIDs)
	case "show":
		return s.prepareShow(toks)
	case "set":
		return s.prepareSet(toks)
	case "reset":
		return s.prepareReset(toks)
	case "begin", "start":
		return &commandStatement{tag: "BEGIN", run: func() error {
			if s.tx == 'T' {
				return nil // PostgreSQL warns and stays in the block
			}
			s.tx = 'T'
			return nil
		}}, nil
	case "savepoint", "release":
		// Savepoints have nothing to undo in a read-only session; they
		// keep clients that wrap each unit of work in one (SQLAlchemy) going.
		if s.tx == 'I' {
			return nil, sqlstate.New(sqlstate.NoActiveSQLTransaction, "%s can only be used in transaction blocks", strings.ToUpper(kw[0]))
		}
		return &commandStatement{tag: strings.ToUpper(kw[0])}, nil
	case "rollback", "abort":
		if len(kw) > 1 && kw[1] == "to" {
			// ROLLBACK TO [SAVEPOINT] x leaves the block open and clears
			// its failed state.
			if s.tx == 'I' {
				return nil, sqlstate.New(sqlstate.NoActiveSQLTransaction, "ROLLBACK TO SAVEPOINT can only be used in transaction blocks")
			}
			return &commandStatement{tag: "ROLLBACK", run: func() error { s.tx = 'T'; return nil }}, nil
		}
		return &commandStatement{tag: "ROLLBACK", run: func() error { s.tx = 'I'; return nil }}, nil
	case "commit", "end":
		tag := "COMMIT"
		if s.tx == 'E' {
			tag = "ROLLBACK"
		}
		return &commandStatement{tag: tag, run: func() error { s.tx = 'I'; return nil }}, nil
	case "discard":
		return &commandStatement{tag: "DISCARD ALL", run: func() error { s.settings.resetAll(); return nil }}, nil
	case "deallocate":
		return &commandStatement{tag: "DEALLOCATE"}, nil
	case "listen", "unlisten":
		return &commandStatement{tag: strings.ToUpper(kw[0])}, nil
	case "explain", "summarize", "describe":
		return nil, sqlstate.New(sqlstate.InsufficientPrivilege, "%s is not available in floe", strings.ToUpper(kw[0]))
	case "copy":
		return s.prepareCopy(ctx, text, toks, paramOIDs)
	case "export", "import", "attach", "detach", "install", "load", "pragma", "checkpoint",
		"force", "call", "use", "vacuum", "analyze":
		return nil, sqlstate.New(sqlstate.InsufficientPrivilege, "permission denied: %s is not allowed", strings.ToUpper(kw[0]))
	case "create", "drop", "alter", "insert", "update", "delete", "merge", "truncate", "grant", "revoke",
		"comment", "prepare", "execute", "pivot", "unpivot", "refresh", "reindex", "cluster", "lock":
		return nil, sqlstate.New(sqlstate.FeatureNotSupported,
			"%s is not supported: floe serves read-only SQL; write through the ingest API", strings.ToUpper(kw[0]))
	}
	return nil, sqlstate.New(sqlstate.SyntaxError, "syntax error at or near %q", kw[0])
}

// Query prepares and executes one statement and returns its columns and a
// streaming result, for callers outside pgwire (floe sql, the HTTP API).
func (s *Session) Query(ctx context.Context, text string, params ...any) ([]pgwire.Column, pgwire.Result, error) {
	st, err := s.Prepare(ctx, text, nil)
	if err != nil {
		return nil, nil, err
	}
	res, err := st.Execute(ctx, params)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st.Columns(), &closingResult{Result: res, stmt: st}, nil
}

type closingResult struct {
	pgwire.Result
	stmt pgwire.Statement
}

func (r *closingResult) Close() error {
	err := r.Result.Close()
	r.stmt.Close()
	return err
}

// queryStatement is an analysed query with its DuckDB prepared statement.
type queryStatement struct {
	s         *Session
	text      string
	rewritten string
	governed  bool
	casts     map[string]string // parameters cast because DuckDB could not type them
	conn      *sql.Conn         // the connection stmt was prepared on
	stmt      *duckdb.Stmt
	cols      []pgwire.Column
	conv      []converter
	params    []uint32
	reads     []tableSnapshot // the snapshots rewritten reads
}

func (s *Session) prepareQuery(ctx context.Context, text string, paramOIDs []uint32) (*queryStatement, error) {
	q := &queryStatement{s: s, text: text}
	if err := q.build(ctx, paramOIDs); err != nil {
		return nil, err
	}
	return q, nil
}

// build analyses the text against the current snapshots and prepares it in
// DuckDB. It runs again at Execute when a table moved on since.
func (q *queryStatement) build(ctx context.Context, paramOIDs []uint32) error {
	r, err := q.s.rewriteQuery(ctx, q.text, q.casts)
	if err != nil {
		return err
	}
	if q.stmt != nil && r.sql == q.rewritten && q.conn == q.s.conn {
		return nil
	}
	if q.stmt != nil {
		q.stmt.Close()
		q.stmt = nil
	}
	stmt, err := q.s.prepareDuck(ctx, r)
	if err != nil {
		return err
	}
	if q.casts == nil {
		// Parameters DuckDB could not type leave the statement untyped:
		// retry once with them cast (params.go).
		if casts := unresolvedParams(paramTypes(stmt), paramOIDs); len(casts) > 0 {
			stmt.Close()
			q.casts = casts
			if r, err = q.s.rewriteQuery(ctx, q.text, q.casts); err != nil {
				return err
			}
			if stmt, err = q.s.prepareDuck(ctx, r); err != nil {
				return err
			}
		}
	}
	// DuckDB binds some functions (its JSON builders) only once parameter
	// values are known and then reports no result types; the types do not
	// depend on the values, so a copy with NULL for each parameter tells.
	typed := stmt
	if stmt.NumInput() > 0 && !resultTyped(stmt) {
		probe, err := q.s.prepareTypeProbe(ctx, r)
		if err != nil {
			stmt.Close()
			return err
		}
		defer probe.Close()
		typed = probe
	}
	n, err := typed.ColumnCount()
	if err != nil {
		stmt.Close()
		return err
	}
	cols := make([]pgwire.Column, n)
	conv := make([]converter, n)
	for i := range n {
		name, _ := typed.ColumnName(i)
		ti, err := typed.ColumnTypeInfo(i)
		if err != nil {
			stmt.Close()
			return sqlstate.Wrap(err, sqlstate.IndeterminateDatatype, "could not determine the data type of a result column")
		}
		oid, mod, c := pgColumnType(ti)
		cols[i] = pgwire.Column{Name: name, OID: oid, Size: sizeOf(oid), Modifier: mod}
		conv[i] = c
	}
	params := make([]uint32, stmt.NumInput())
	for i := range params {
		if i < len(paramOIDs) && paramOIDs[i] != 0 {
			params[i] = paramOIDs[i]
			continue
		}
		t, err := stmt.ParamType(i + 1)
		if err != nil {
			params[i] = oidText
			continue
		}
		params[i] = duckParamType(t)
	}
	if q.params != nil && len(q.params) != len(params) {
		stmt.Close()
		return sqlstate.New(sqlstate.FeatureNotSupported, "cached plan must not change result type")
	}
	q.rewritten, q.governed, q.stmt, q.conn, q.cols, q.conv = r.sql, r.governed, stmt, q.s.conn, cols, conv
	q.reads = r.reads
	if q.params == nil {
		q.params = params
	}
	return nil
}

// prepareDuck prepares rewritten SQL on the session's DuckDB connection. A
// column the client names but may not see is a denial (42501), not an
// unknown column.
func (s *Session) prepareDuck(ctx context.Context, r rewritten) (*duckdb.Stmt, error) {
	var stmt *duckdb.Stmt
	err := rawConn(s.conn, func(c *duckdb.Conn) error {
		ds, err := c.PrepareContext(ctx, r.sql)
		if err != nil {
			return err
		}
		stmt = ds.(*duckdb.Stmt)
		return nil
	})
	if err != nil {
		var de *duckdb.Error
		if errors.As(err, &de) && de.Type == duckdb.ErrorTypeBinder {
			for _, col := range r.hidden {
				// DuckDB quotes the name as the client wrote it.
				if strings.Contains(strings.ToLower(de.Msg), `"`+strings.ToLower(col)+`"`) {
					return nil, sqlstate.Wrap(err, sqlstate.InsufficientPrivilege, fmt.Sprintf("permission denied for column %s", col))
				}
			}
		}
		return nil, s.engine.publicError(err)
	}
	return stmt, nil
}

// resultTyped reports whether DuckDB knows every result column's type.
func resultTyped(stmt *duckdb.Stmt) bool {
	n, err := stmt.ColumnCount()
	if err != nil {
		return false
	}
	for i := range n {
		if _, err := stmt.ColumnTypeInfo(i); err != nil {
			return false
		}
	}
	return true
}

// prepareTypeProbe prepares r with every parameter replaced by NULL (kept
// inside its casts), only to read the result's names and types: it is
// never executed, so the fence it loses on the way through the parse tree
// (json_serialize_sql drops MATERIALIZED) does not matter.
func (s *Session) prepareTypeProbe(ctx context.Context, r rewritten) (*duckdb.Stmt, error) {
	tree, err := s.serialize(ctx, r.sql)
	if err != nil {
		return nil, err
	}
	var nullParams func(any)
	nullParams = func(n any) {
		switch v := n.(type) {
		case []any:
			for _, e := range v {
				nullParams(e)
			}
		case map[string]any:
			if v["class"] == "PARAMETER" {
				replaceWithConstant(v, nil, "NULL", "", false)
				return
			}
			for _, e := range v {
				nullParams(e)
			}
		}
	}
	nullParams(tree)
	sql, err := s.deserialize(ctx, tree)
	if err != nil {
		return nil, err
	}
	return s.prepareDuck(ctx, rewritten{sql: sql, hidden: r.hidden})
}

// paramTypes lists DuckDB's type of each parameter (0: unresolved).
func paramTypes(stmt *duckdb.Stmt) []int {
	out := make([]int, stmt.NumInput())
	for i := range out {
		if t, err := stmt.ParamType(i + 1); err == nil {
			out[i] = int(t)
		}
	}
	return out
}

func sizeOf(oid uint32) int16 {
	if n, ok := typeLen[oid]; ok {
		return n
	}
	return -1
}

func (q *queryStatement) ParamOIDs() []uint32      { return q.params }
func (q *queryStatement) Columns() []pgwire.Column { return q.cols }

func (q *queryStatement) Close() error {
	if q.stmt != nil {
		return q.stmt.Close()
	}
	return nil
}

// Execute runs the query on the current snapshot of every table it reads.
func (q *queryStatement) Execute(ctx context.Context, params []any) (pgwire.Result, error) {
	res, err := q.execute(ctx, params)
	return res, q.s.failed(err)
}

func (q *queryStatement) execute(ctx context.Context, params []any) (pgwire.Result, error) {
	if err := q.s.useInstance(ctx); err != nil {
		return nil, err
	}
	if err := q.build(ctx, q.params); err != nil {
		return nil, err
	}
	// The snapshots read stay pinned until the result is closed: snapshot
	// expiry in this process keeps their files (catalog.Pin).
	unpin := q.s.engine.pin(q.reads)
	var cancel context.CancelFunc = unpin
	if d := q.s.settings.statementTimeout(); d > 0 {
		var cancelTimeout context.CancelFunc
		ctx, cancelTimeout = context.WithTimeout(ctx, d)
		cancel = func() { cancelTimeout(); unpin() }
	}
	args := make([]driver.NamedValue, len(params))
	for i, p := range params {
		args[i] = driver.NamedValue{Ordinal: i + 1, Value: paramValue(p)}
	}
	var rows driver.Rows
	err := rawConn(q.conn, func(*duckdb.Conn) error {
		var err error
		rows, err = q.stmt.QueryContext(ctx, args)
		return err
	})
	if err != nil {
		cancel()
		return nil, q.runtimeError(ctx, err)
	}
	return &queryResult{q: q, ctx: ctx, cancel: cancel, rows: rows,
		raw: make([]driver.Value, len(q.cols)), out: make([]any, len(q.cols))}, nil
}

// paramValue adapts decoded wire parameters to what duckdb-go binds.
func paramValue(p any) any {
	switch v := p.(type) {
	case [16]byte:
		return duckdb.UUID(v)
	}
	return p
}

type queryResult struct {
	q      *queryStatement
	ctx    context.Context
	cancel context.CancelFunc
	rows   driver.Rows
	raw    []driver.Value
	out    []any
}

func (r *queryResult) Next(ctx context.Context) ([]any, error) {
	if err := r.rows.Next(r.raw); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, r.q.s.failed(r.q.runtimeError(r.ctx, err))
	}
	loc := r.q.s.settings.loc
	for i, v := range r.raw {
		if v == nil {
			r.out[i] = nil
			continue
		}
		r.out[i] = r.q.conv[i](v, loc)
	}
	return r.out, nil
}

func (r *queryResult) Tag(rows int64) string { return fmt.Sprintf("SELECT %d", rows) }

func (r *queryResult) Close() error {
	r.cancel()
	return r.rows.Close()
}

// commandStatement is a session command the gateway answers itself.
type commandStatement struct {
	tag  string
	cols []pgwire.Column
	run  func() error
	// rows computes the result at Execute, so that a prepared SHOW reports
	// the value current when it runs.
	rows func() [][]any
}

func (c *commandStatement) ParamOIDs() []uint32      { return nil }
func (c *commandStatement) Columns() []pgwire.Column { return c.cols }
func (c *commandStatement) Close() error             { return nil }

func (c *commandStatement) Execute(ctx context.Context, params []any) (pgwire.Result, error) {
	if c.run != nil {
		if err := c.run(); err != nil {
			return nil, err
		}
	}
	var rows [][]any
	if c.rows != nil {
		rows = c.rows()
	}
	return &rowsResult{tag: c.tag, rows: rows}, nil
}

type rowsResult struct {
	tag  string
	rows [][]any
	i    int
}

func (r *rowsResult) Next(context.Context) ([]any, error) {
	if r.i >= len(r.rows) {
		return nil, io.EOF
	}
	r.i++
	return r.rows[r.i-1], nil
}

func (r *rowsResult) Tag(rows int64) string {
	if r.tag == "SELECT" || r.tag == "SHOW" {
		return fmt.Sprintf("%s %d", r.tag, rows)
	}
	return r.tag
}

func (r *rowsResult) Close() error { return nil }

func (s *Session) prepareShow(toks []token) (pgwire.Statement, error) {
	words := wordsAfter(toks, 1)
	if len(words) == 0 {
		return nil, sqlstate.New(sqlstate.SyntaxError, "syntax error at end of input")
	}
	name := strings.Join(words, " ")
	switch strings.ToLower(name) {
	case "all":
		rows := func() [][]any {
			var rows [][]any
			for _, k := range sortedSettingNames() {
				rows = append(rows, []any{knownSettings[k].name, s.settings.values[k], ""})
			}
			return rows
		}
		return &commandStatement{tag: "SHOW", rows: rows, cols: []pgwire.Column{
			textColumn("name"), textColumn("setting"), textColumn("description")}}, nil
	case "time zone":
		name = "TimeZone"
	case "transaction isolation level":
		name = "transaction_isolation"
	}
	if _, err := s.settings.get(name); err != nil {
		return nil, err
	}
	key := strings.ToLower(name)
	// PostgreSQL names the column by the setting's canonical spelling.
	if def, ok := knownSettings[key]; ok {
		name = def.name
	}
	rows := func() [][]any { return [][]any{{s.settings.values[key]}} }
	return &commandStatement{tag: "SHOW", rows: rows, cols: []pgwire.Column{textColumn(name)}}, nil
}

func textColumn(name string) pgwire.Column {
	return pgwire.Column{Name: name, OID: oidText, Size: -1, Modifier: -1}
}

// prepareSet handles SET [SESSION|LOCAL] name {TO|=} value[, ...], SET TIME
// ZONE, SET NAMES and SET [SESSION CHARACTERISTICS AS] TRANSACTION.
func (s *Session) prepareSet(toks []token) (pgwire.Statement, error) {
	rest := toks[1:]
	if len(rest) > 0 && rest[0].kind == 'w' && (strings.EqualFold(rest[0].text, "session") || strings.EqualFold(rest[0].text, "local")) {
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return nil, sqlstate.New(sqlstate.SyntaxError, "syntax error at end of input")
	}
	first := strings.ToLower(rest[0].text)
	var name string
	var valueToks []token
	switch {
	case first == "transaction" || first == "characteristics":
		return &commandStatement{tag: "SET"}, nil
	case first == "time" && len(rest) > 1 && strings.EqualFold(rest[1].text, "zone"):
		name, valueToks = "TimeZone", rest[2:]
	case first == "names":
		name, valueToks = "client_encoding", rest[1:]
	case first == "role" || first == "session_authorization" || (first == "session" && len(rest) > 1):
		return nil, sqlstate.New(sqlstate.InsufficientPrivilege, "permission denied to set role")
	default:
		name = rest[0].text
		i := 1
		for i+1 < len(rest) && rest[i].kind == 'p' && rest[i].text == "." { // dotted names
			name += "." + rest[i+1].text
			i += 2
		}
		if i < len(rest) && (rest[i].text == "=" || strings.EqualFold(rest[i].text, "to")) {
			i++
		} else if !(rest[0].kind == 'w' && strings.EqualFold(rest[0].text, "variable")) {
			return nil, sqlstate.New(sqlstate.SyntaxError, "syntax error in SET")
		}
		valueToks = rest[i:]
	}
	if strings.EqualFold(name, "variable") {
		return nil, sqlstate.New(sqlstate.InsufficientPrivilege, "permission denied: SET VARIABLE is not allowed")
	}
	var parts []string
	isDefault := false
	for _, t := range valueToks {
		if t.kind == 'p' && t.text == "," {
			continue
		}
		if t.kind == 'w' && (strings.EqualFold(t.text, "default") || strings.EqualFold(t.text, "local")) && len(valueToks) == 1 {
			isDefault = true
		}
		if t.kind == 'p' && t.text == "-" {
			parts = append(parts, "-")
			continue
		}
		if len(parts) > 0 && parts[len(parts)-1] == "-" {
			parts[len(parts)-1] = "-" + t.text
			continue
		}
		parts = append(parts, t.text)
	}
	if len(parts) == 0 {
		return nil, sqlstate.New(sqlstate.SyntaxError, "syntax error at end of input")
	}
	value := strings.Join(parts, ", ")
	return &commandStatement{tag: "SET", run: func() error {
		if isDefault {
			return s.settings.reset(name)
		}
		err := s.settings.set(name, value)
		if errors.Is(err, errUnknownSetting) {
			return sqlstate.As(err)
		}
		return err
	}}, nil
}

func (s *Session) prepareReset(toks []token) (pgwire.Statement, error) {
	words := wordsAfter(toks, 1)
	if len(words) == 0 {
		return nil, sqlstate.New(sqlstate.SyntaxError, "syntax error at end of input")
	}
	name := strings.Join(words, " ")
	return &commandStatement{tag: "RESET", run: func() error {
		switch strings.ToLower(name) {
		case "all":
			s.settings.resetAll()
			return nil
		case "time zone":
			return s.settings.reset("TimeZone")
		}
		if engineSetting(strings.ToLower(name)) {
			return sqlstate.New(sqlstate.InsufficientPrivilege, "permission denied to set parameter %q", name)
		}
		return s.settings.reset(name)
	}}, nil
}

func wordsAfter(toks []token, skip int) []string {
	var out []string
	for _, t := range toks[skip:] {
		out = append(out, t.text)
	}
	return out
}

// publicError maps a DuckDB error met while preparing a client's query to
// a coded error that names only the client's own identifiers. DuckDB's
// message may quote the rewritten statement (with file paths), so the
// LINE context is dropped and paths are replaced.
func (e *Engine) publicError(err error) error {
	if se := sqlstate.As(err); se != nil {
		return err
	}
	var de *duckdb.Error
	if !errors.As(err, &de) {
		return err
	}
	msg := e.scrub(de.Msg)
	if strings.HasSuffix(msg, "division by zero") {
		return sqlstate.Wrap(err, sqlstate.DivisionByZero, "division by zero")
	}
	switch de.Type {
	case duckdb.ErrorTypeParser:
		return sqlstate.Wrap(err, sqlstate.SyntaxError, msg)
	case duckdb.ErrorTypeBinder:
		code := sqlstate.UndefinedColumn
		switch {
		case strings.Contains(msg, "Table Function") || strings.Contains(msg, "Function"):
			code = sqlstate.UndefinedFunction
		case strings.Contains(msg, "Table") && strings.Contains(msg, "does not exist"):
			code = sqlstate.UndefinedTable
		case strings.Contains(msg, "type") || strings.Contains(msg, "Cannot compare") || strings.Contains(msg, "cast"):
			code = sqlstate.DatatypeMismatch
		}
		return sqlstate.Wrap(err, code, msg)
	case duckdb.ErrorTypeCatalog:
		if strings.Contains(msg, "Function") || strings.Contains(msg, "function") {
			return sqlstate.Wrap(err, sqlstate.UndefinedFunction, msg)
		}
		return sqlstate.Wrap(err, sqlstate.UndefinedObject, msg)
	case duckdb.ErrorTypeConversion, duckdb.ErrorTypeInvalidInput:
		return sqlstate.Wrap(err, sqlstate.InvalidTextRepresentation, msg)
	case duckdb.ErrorTypeDivideByZero:
		return sqlstate.Wrap(err, sqlstate.DivisionByZero, msg)
	case duckdb.ErrorTypeOutOfRange:
		return sqlstate.Wrap(err, "22003", msg)
	case duckdb.ErrorTypeNotImplemented:
		return sqlstate.Wrap(err, sqlstate.FeatureNotSupported, msg)
	case duckdb.ErrorTypeInterrupt:
		return sqlstate.Wrap(err, sqlstate.QueryCanceled, "canceling statement due to user request")
	case duckdb.ErrorTypePermission:
		return sqlstate.Wrap(err, sqlstate.InsufficientPrivilege, "permission denied")
	case duckdb.ErrorTypeIO, duckdb.ErrorTypeHTTP:
		return sqlstate.Wrap(err, sqlstate.InternalError, "could not read table data")
	}
	return sqlstate.Wrap(err, sqlstate.DataException, msg)
}

// runtimeError maps an execution error. On governed data the message is
// withheld (SECURITY.md step 5): even a value-free message is an oracle.
func (q *queryStatement) runtimeError(ctx context.Context, err error) error {
	err = q.s.engine.runtimeError(ctx, err)
	if e := sqlstate.As(err); q.governed && e != nil && e.Code != sqlstate.QueryCanceled {
		q.s.engine.log.Info("query on governed data failed", "user", q.s.user, "err", err)
		return sqlstate.Wrap(err, e.Code, "query failed; the message is withheld because the query reads governed data")
	}
	return err
}

// runtimeError maps an execution error; a cancelled context wins.
func (e *Engine) runtimeError(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return sqlstate.Wrap(err, sqlstate.QueryCanceled, "canceling statement due to statement timeout")
	}
	if ctx.Err() != nil {
		return sqlstate.Wrap(err, sqlstate.QueryCanceled, "canceling statement due to user request")
	}
	return e.publicError(err)
}

// scrub removes what a DuckDB message may carry of floe's own rewrite:
// statement context lines and local file paths.
func (e *Engine) scrub(msg string) string {
	if i := strings.Index(msg, "\n\nLINE "); i >= 0 {
		msg = msg[:i]
	}
	if i := strings.Index(msg, "\nLINE "); i >= 0 {
		msg = msg[:i]
	}
	if i := strings.Index(msg, " Error: "); i > 0 && i < 30 {
		msg = msg[i+len(" Error: "):] // "Binder Error: ..." → "..."
	}
	msg = strings.ReplaceAll(msg, e.cat.Warehouse(), "<warehouse>")
	if e.cfg.CacheDir != "" {
		msg = strings.ReplaceAll(msg, e.cfg.CacheDir, "<cache>")
	}
	msg = pathPattern.ReplaceAllString(msg, "<path>")
	msg = strings.ReplaceAll(msg, "__floe_file", "<internal>")
	msg = strings.ReplaceAll(msg, "__floe_row", "<internal>")
	return strings.TrimSpace(msg)
}
