package pgwire_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/floe-dev/floe/scram"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/floe-dev/floe/pgwire"
	"github.com/floe-dev/floe/sqlstate"
)

// fakeEngine is an in-process Engine with a tiny table of canned statements:
//
//	ROWS n         n rows of every supported type (allTypeColumns)
//	NARROW n       n rows of (int8, text, float8)
//	BEGIN, COMMIT, ROLLBACK   move the transaction status
//	SET k = v      changes a reported parameter
//	FAIL           fails in Execute with 42P01 (detail and hint set)
//	FAILPREPARE    fails in Prepare with 42601
//	FAILMID n      n rows, then 22012 from Next
//	INTERNAL       fails with an uncoded error
//	SLOW           blocks in Next until its ctx is cancelled
//	SLEEP ms       one row after ms milliseconds (ctx-aware)
//	NOTICE         a result with two notices (Noticer)
//	SELECT a::t, ... echoes $n parameters and literals cast to t
type fakeEngine struct {
	users map[string]pgwire.SCRAMSecret

	opened, closed atomic.Int64
	slowStarted    chan struct{} // receives when SLOW starts its wait
	noSlow         bool          // SLOW returns at once (fuzzing)

	mu      sync.Mutex
	infos   []pgwire.StartupInfo
	queries []string
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{
		users:       make(map[string]pgwire.SCRAMSecret),
		slowStarted: make(chan struct{}, 16),
	}
}

func (e *fakeEngine) addUser(tb interface{ Fatal(...any) }, user, password string, iterations int) {
	s, err := scram.New(password, iterations)
	if err != nil {
		tb.Fatal(err)
	}
	e.users[user] = s
}

func (e *fakeEngine) SCRAMSecret(ctx context.Context, user string) (pgwire.SCRAMSecret, error) {
	s, ok := e.users[user]
	if !ok {
		return pgwire.SCRAMSecret{}, fmt.Errorf("no user %q", user)
	}
	return s, nil
}

func (e *fakeEngine) Open(ctx context.Context, info pgwire.StartupInfo) (pgwire.Session, error) {
	if info.Database == "nodb" {
		return nil, sqlstate.New(sqlstate.InvalidCatalogName, "database %q does not exist", info.Database)
	}
	e.opened.Add(1)
	e.mu.Lock()
	e.infos = append(e.infos, info)
	e.mu.Unlock()
	return &fakeSession{e: e, tx: 'I', params: map[string]string{
		"server_version":              "16.0 (floe)",
		"server_encoding":             "UTF8",
		"client_encoding":             "UTF8",
		"DateStyle":                   "ISO, MDY",
		"IntervalStyle":               "postgres",
		"TimeZone":                    "UTC",
		"integer_datetimes":           "on",
		"standard_conforming_strings": "on",
		"application_name":            info.Params["application_name"],
	}}, nil
}

func (e *fakeEngine) lastInfo() pgwire.StartupInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.infos[len(e.infos)-1]
}

func (e *fakeEngine) executed() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.queries...)
}

type fakeSession struct {
	e      *fakeEngine
	tx     byte
	params map[string]string
	closed bool
}

func (s *fakeSession) Parameters() map[string]string { return s.params }
func (s *fakeSession) TxStatus() byte                { return s.tx }

func (s *fakeSession) Close() error {
	if s.closed {
		return errors.New("session closed twice")
	}
	s.closed = true
	s.e.closed.Add(1)
	return nil
}

func (s *fakeSession) Split(sql string) ([]string, error) {
	if strings.HasPrefix(strings.TrimSpace(sql), "--") { // pgx's Ping
		return nil, nil
	}
	var out []string
	start, quoted := 0, false
	for i := 0; i <= len(sql); i++ {
		if i < len(sql) && sql[i] == '\'' {
			quoted = !quoted
		}
		if i == len(sql) || (sql[i] == ';' && !quoted) {
			if st := strings.TrimSpace(sql[start:i]); st != "" {
				out = append(out, st)
			}
			start = i + 1
		}
	}
	return out, nil
}

func (s *fakeSession) Prepare(ctx context.Context, sql string, paramOIDs []uint32) (pgwire.Statement, error) {
	sql = strings.TrimSpace(sql)
	if strings.Contains(strings.TrimSuffix(sql, ";"), ";") {
		return nil, sqlstate.New(sqlstate.SyntaxError, "cannot insert multiple commands into a prepared statement")
	}
	sql = strings.TrimSuffix(sql, ";")
	word, arg, _ := strings.Cut(sql, " ")
	if copyKind, ok := strings.CutPrefix(strings.ToUpper(word), "COPY"); ok && copyKind != "" {
		// COPYNARROW n, COPYFAILMID n: NARROW and FAILMID sent as COPY CSV.
		st, err := s.Prepare(ctx, copyKind+" "+arg, paramOIDs)
		if err != nil {
			return nil, err
		}
		return &fakeCopy{st.(*fakeStatement)}, nil
	}
	st := &fakeStatement{s: s, sql: sql, kind: strings.ToUpper(word)}
	switch st.kind {
	case "ROWS", "NARROW", "FAILMID", "SLEEP":
		n, err := strconv.Atoi(strings.TrimSpace(arg))
		if err != nil {
			return nil, sqlstate.New(sqlstate.SyntaxError, "syntax error at or near %q", arg)
		}
		st.n = n
		if s.e.noSlow {
			st.n = min(n, 100)
		}
		switch st.kind {
		case "ROWS":
			st.cols = allTypeColumns
		case "NARROW", "FAILMID":
			st.cols = narrowColumns
		case "SLEEP":
			st.cols = []pgwire.Column{{Name: "slept", OID: pgtype.BoolOID, Size: 1, Modifier: -1}}
		}
	case "SLOW":
		st.cols = []pgwire.Column{{Name: "never", OID: pgtype.Int4OID, Size: 4, Modifier: -1}}
	case "BEGIN", "COMMIT", "ROLLBACK", "FAIL", "INTERNAL", "NOTICE":
	case "SET":
		k, v, ok := strings.Cut(arg, "=")
		if !ok {
			return nil, sqlstate.New(sqlstate.SyntaxError, "syntax error at end of input")
		}
		st.setKey, st.setValue = strings.TrimSpace(k), strings.Trim(strings.TrimSpace(v), "'")
	case "FAILPREPARE":
		return nil, sqlstate.New(sqlstate.SyntaxError, "syntax error at or near \"FAILPREPARE\"")
	case "SELECT":
		if err := st.parseEcho(arg, paramOIDs); err != nil {
			return nil, err
		}
	default:
		return nil, sqlstate.New(sqlstate.SyntaxError, "syntax error at or near %q", word)
	}
	return st, nil
}

var typeOIDs = map[string]uint32{
	"bool": pgtype.BoolOID, "int2": pgtype.Int2OID, "int4": pgtype.Int4OID, "int8": pgtype.Int8OID,
	"float4": pgtype.Float4OID, "float8": pgtype.Float8OID, "numeric": pgtype.NumericOID,
	"text": pgtype.TextOID, "varchar": pgtype.VarcharOID, "bpchar": pgtype.BPCharOID, "name": pgtype.NameOID,
	"bytea": pgtype.ByteaOID, "date": pgtype.DateOID, "time": pgtype.TimeOID,
	"timestamp": pgtype.TimestampOID, "timestamptz": pgtype.TimestamptzOID, "interval": pgtype.IntervalOID,
	"uuid": pgtype.UUIDOID, "json": pgtype.JSONOID, "jsonb": pgtype.JSONBOID, "oid": pgtype.OIDOID,
	"int8[]": pgtype.Int8ArrayOID, "text[]": pgtype.TextArrayOID, "unknown": 0,
}

type echoItem struct {
	param int // 1-based, 0 for a literal
	value any
}

// parseEcho parses "a::t, b::t": a is $n or a literal ('quoted' or bare).
func (st *fakeStatement) parseEcho(list string, declared []uint32) error {
	var items []string
	start, quoted := 0, false
	for i := 0; i <= len(list); i++ {
		if i < len(list) && list[i] == '\'' {
			quoted = !quoted
		}
		if i == len(list) || (list[i] == ',' && !quoted) {
			items = append(items, strings.TrimSpace(list[start:i]))
			start = i + 1
		}
	}
	maxParam := 0
	for i, it := range items {
		expr, typ := it, ""
		if j := strings.LastIndex(it, "::"); j >= 0 && !strings.Contains(it[j:], "'") {
			expr, typ = strings.TrimSpace(it[:j]), strings.TrimSpace(it[j+2:])
		}
		expr = strings.TrimSpace(strings.Trim(expr, "() "))
		var oid uint32
		if typ != "" {
			o, ok := typeOIDs[typ]
			if !ok {
				return sqlstate.New(sqlstate.UndefinedObject, "type %q does not exist", typ)
			}
			oid = o
		}
		col := pgwire.Column{Name: fmt.Sprintf("c%d", i+1), Size: -1, Modifier: -1}
		if strings.HasPrefix(expr, "$") {
			n, err := strconv.Atoi(expr[1:])
			if err != nil || n < 1 || n > 100 {
				return sqlstate.New(sqlstate.SyntaxError, "syntax error at or near %q", expr)
			}
			if typ == "" && n <= len(declared) {
				oid = declared[n-1]
			}
			maxParam = max(maxParam, n)
			for len(st.paramOIDs) < n {
				st.paramOIDs = append(st.paramOIDs, 0)
			}
			st.paramOIDs[n-1] = oid
			st.echo = append(st.echo, echoItem{param: n})
		} else {
			lit := expr
			if strings.HasPrefix(lit, "'") {
				lit = strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(lit, "'"), "'"), "''", "'")
			}
			var v any
			if !strings.EqualFold(lit, "null") {
				var err error
				if v, err = pgwire.DecodeParam(oid, 0, []byte(lit)); err != nil {
					return err
				}
			}
			st.echo = append(st.echo, echoItem{value: v})
		}
		if oid == 0 {
			oid = pgtype.TextOID
		}
		col.OID = oid
		st.cols = append(st.cols, col)
	}
	_ = maxParam
	return nil
}

type fakeStatement struct {
	s         *fakeSession
	sql       string
	kind      string
	n         int
	cols      []pgwire.Column
	paramOIDs []uint32
	echo      []echoItem
	setKey    string
	setValue  string
	closed    bool
}

func (st *fakeStatement) ParamOIDs() []uint32      { return st.paramOIDs }
func (st *fakeStatement) Columns() []pgwire.Column { return st.cols }

func (st *fakeStatement) Close() error {
	if st.closed {
		return errors.New("statement closed twice")
	}
	st.closed = true
	return nil
}

func (st *fakeStatement) Execute(ctx context.Context, params []any) (pgwire.Result, error) {
	s := st.s
	s.e.mu.Lock()
	s.e.queries = append(s.e.queries, st.sql)
	s.e.mu.Unlock()
	if len(params) != len(st.paramOIDs) {
		return nil, fmt.Errorf("fake: %d params for %d placeholders", len(params), len(st.paramOIDs))
	}
	if s.tx == 'E' && st.kind != "ROLLBACK" && st.kind != "COMMIT" {
		return nil, sqlstate.New(sqlstate.InFailedTransaction, "current transaction is aborted, commands ignored until end of transaction block")
	}
	fail := func(err error) (pgwire.Result, error) {
		if s.tx == 'T' {
			s.tx = 'E'
		}
		return nil, err
	}
	r := &fakeResult{st: st, ctx: ctx}
	switch st.kind {
	case "BEGIN":
		s.tx = 'T'
		r.tag = "BEGIN"
	case "COMMIT":
		r.tag = "COMMIT"
		if s.tx == 'E' {
			r.tag = "ROLLBACK"
		}
		s.tx = 'I'
	case "ROLLBACK":
		s.tx = 'I'
		r.tag = "ROLLBACK"
	case "SET":
		s.params[st.setKey] = st.setValue
		r.tag = "SET"
	case "FAIL":
		return fail(sqlstate.New(sqlstate.UndefinedTable, "relation \"nope\" does not exist").
			WithDetail("detail text").WithHint("hint text"))
	case "INTERNAL":
		return fail(errors.New("secret internal detail /warehouse/path"))
	case "NOTICE":
		r.tag = "NOTICE"
		r.notices = []*sqlstate.Error{
			sqlstate.New(sqlstate.Warning, "settings ignored"),
			sqlstate.New(sqlstate.SuccessfulCompletion, "nothing to do"),
		}
	case "SELECT":
		row := make([]any, len(st.echo))
		for i, it := range st.echo {
			if it.param > 0 {
				row[i] = params[it.param-1]
			} else {
				row[i] = it.value
			}
		}
		r.rows = [][]any{row}
	}
	return r, nil
}

type fakeResult struct {
	st   *fakeStatement
	ctx  context.Context
	i    int
	rows [][]any // canned rows (echo)
	tag  string
	row  []any // reused by NARROW
	done bool

	notices []*sqlstate.Error
}

var _ pgwire.Noticer = (*fakeResult)(nil)

func (r *fakeResult) Notices() []*sqlstate.Error { return r.notices }

func (r *fakeResult) Next(ctx context.Context) ([]any, error) {
	if r.ctx.Err() != nil && r.st.kind != "SLOW" {
		// The ctx of Execute must outlive the Result.
		return nil, fmt.Errorf("fake: execute ctx ended early: %w", r.ctx.Err())
	}
	st := r.st
	switch st.kind {
	case "ROWS":
		if r.i >= st.n {
			return nil, io.EOF
		}
		r.i++
		return allTypesRow(r.i - 1), nil
	case "NARROW", "FAILMID":
		if r.i >= st.n {
			if st.kind == "FAILMID" {
				return nil, sqlstate.New(sqlstate.DivisionByZero, "division by zero")
			}
			return nil, io.EOF
		}
		if r.row == nil {
			r.row = make([]any, 3)
		}
		r.row[0] = int64(r.i)
		r.row[1] = "some text value"
		r.row[2] = float64(r.i) * 0.5
		r.i++
		return r.row, nil
	case "SLOW":
		if r.st.s.e.noSlow {
			return nil, io.EOF
		}
		r.st.s.e.slowStarted <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	case "SLEEP":
		if r.i > 0 {
			return nil, io.EOF
		}
		r.i++
		select {
		case <-time.After(time.Duration(st.n) * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return []any{true}, nil
	case "SELECT":
		if r.i >= len(r.rows) {
			return nil, io.EOF
		}
		r.i++
		return r.rows[r.i-1], nil
	}
	return nil, io.EOF
}

func (r *fakeResult) Tag(rows int64) string {
	if r.tag != "" {
		return r.tag
	}
	return "SELECT " + strconv.FormatInt(rows, 10)
}

func (r *fakeResult) Close() error {
	if r.done {
		return errors.New("result closed twice")
	}
	r.done = true
	return nil
}

var narrowColumns = []pgwire.Column{
	{Name: "id", OID: pgtype.Int8OID, Size: 8, Modifier: -1, TableOID: 16400, Attr: 1},
	{Name: "label", OID: pgtype.TextOID, Size: -1, Modifier: -1, TableOID: 16400, Attr: 2},
	{Name: "half", OID: pgtype.Float8OID, Size: 8, Modifier: -1, TableOID: 16400, Attr: 3},
}

var allTypeColumns = []pgwire.Column{
	{Name: "b", OID: pgtype.BoolOID, Size: 1, Modifier: -1},
	{Name: "i2", OID: pgtype.Int2OID, Size: 2, Modifier: -1},
	{Name: "i4", OID: pgtype.Int4OID, Size: 4, Modifier: -1},
	{Name: "i8", OID: pgtype.Int8OID, Size: 8, Modifier: -1},
	{Name: "f4", OID: pgtype.Float4OID, Size: 4, Modifier: -1},
	{Name: "f8", OID: pgtype.Float8OID, Size: 8, Modifier: -1},
	{Name: "num", OID: pgtype.NumericOID, Size: -1, Modifier: -1},
	{Name: "t", OID: pgtype.TextOID, Size: -1, Modifier: -1},
	{Name: "vc", OID: pgtype.VarcharOID, Size: -1, Modifier: -1},
	{Name: "bpc", OID: pgtype.BPCharOID, Size: -1, Modifier: -1},
	{Name: "nm", OID: pgtype.NameOID, Size: 64, Modifier: -1},
	{Name: "by", OID: pgtype.ByteaOID, Size: -1, Modifier: -1},
	{Name: "d", OID: pgtype.DateOID, Size: 4, Modifier: -1},
	{Name: "tm", OID: pgtype.TimeOID, Size: 8, Modifier: -1},
	{Name: "ts", OID: pgtype.TimestampOID, Size: 8, Modifier: -1},
	{Name: "tstz", OID: pgtype.TimestamptzOID, Size: 8, Modifier: -1},
	{Name: "iv", OID: pgtype.IntervalOID, Size: 16, Modifier: -1},
	{Name: "u", OID: pgtype.UUIDOID, Size: 16, Modifier: -1},
	{Name: "j", OID: pgtype.JSONOID, Size: -1, Modifier: -1},
	{Name: "jb", OID: pgtype.JSONBOID, Size: -1, Modifier: -1},
	{Name: "o", OID: pgtype.OIDOID, Size: 4, Modifier: -1},
	{Name: "ai8", OID: pgtype.Int8ArrayOID, Size: -1, Modifier: -1},
	{Name: "at", OID: pgtype.TextArrayOID, Size: -1, Modifier: -1},
	{Name: "nul", OID: pgtype.TextOID, Size: -1, Modifier: -1},
}

var specialFloats = []float64{1.5, 1e20, -0.000012345, math.Inf(1), math.Inf(-1), 0, 123456789012345678, 1e-300}

var zone0530 = time.FixedZone("IST", 5*3600+30*60)

// allTypesRow is row i of "ROWS n": the Go values of doc.go.
func allTypesRow(i int) []any {
	return []any{
		i%2 == 0,
		int16(i%30000 - 15000),
		int32(i*7 - 1000),
		int64(i)*1_000_000_000_000 - 5,
		float32(i) + 0.25,
		specialFloats[i%len(specialFloats)],
		fmt.Sprintf("%d.%03d", i-3, i%1000),
		fmt.Sprintf("row %d \"q\" {x}, é", i),
		"v" + strconv.Itoa(i),
		"c",
		"n" + strconv.Itoa(i),
		[]byte{byte(i), 0, 255, '\\'},
		time.Date(2024, 1, 2+i, 0, 0, 0, 0, time.UTC),
		time.Duration(i)*time.Second + 123456*time.Microsecond,
		time.Date(2024, 1, 2, 3, 4, 5, i*1_000_000, time.UTC),
		time.Date(2024, 1, 2, 3, 4, 5+i, 123456000, zone0530),
		pgtype.Interval{Microseconds: int64(i)*3600_000_000 + 1, Days: int32(i) - 1, Months: int32(i)*13 - 2, Valid: true},
		[16]byte{byte(i), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
		`{"a": [1, 2, "x"]}`,
		`{"b": true}`,
		uint32(i + 16384),
		[]any{int64(i), nil, int64(-1)},
		[]any{"a", "", "NULL", `with "quote"`, `back\slash`, "sp ace", nil, "{}"},
		nil,
	}
}

// fakeCopy sends its statement's rows as COPY ... TO STDOUT (FORMAT csv).
type fakeCopy struct{ *fakeStatement }

func (*fakeCopy) CopyFormat() pgwire.CopyFormat {
	return pgwire.CopyFormat{CSV: true, Header: true, Delimiter: ',', Null: ""}
}
