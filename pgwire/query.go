package pgwire

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/floe-dev/floe/sqlstate"
)

// statement is a prepared statement of the extended protocol.
type statement struct {
	name      string
	st        Statement // nil for an empty query
	paramOIDs []uint32
	cols      []Column
}

// portal is a bound statement, possibly partly executed.
type portal struct {
	name    string
	stmt    *statement
	params  []any
	formats []int16 // one per column

	ctx    context.Context // lives as long as the Result
	cancel context.CancelCauseFunc
	result Result
	done   bool
	endTag string // CommandComplete of an execution after the end
}

// loop reads and answers messages until the session ends.
func (c *conn) loop() {
	ready := true
	for !c.fatal && c.w.err == nil {
		if ready {
			c.w.send(&pgproto3.ReadyForQuery{TxStatus: c.sess.TxStatus()})
			if c.w.flush() != nil {
				return
			}
			if !c.enterIdle() {
				c.goodbye()
				return
			}
			ready = false
		}
		msg, err := c.be.Receive()
		c.leaveIdle()
		if err != nil {
			switch {
			case c.srv.draining.Load():
				c.goodbye()
			case isIOError(err):
				c.log.Debug("connection closed", "err", err)
			default:
				c.log.Debug("bad message", "err", err)
				c.sendFatal(protocolError("invalid frontend message: %v", err))
			}
			return
		}
		if c.skipUntilSync {
			switch msg.(type) {
			case *pgproto3.Sync, *pgproto3.Terminate:
			default:
				continue
			}
		}
		switch m := msg.(type) {
		case *pgproto3.Query:
			c.simpleQuery(m.String)
			ready = true
		case *pgproto3.Parse:
			c.parse(m)
		case *pgproto3.Bind:
			c.bind(m)
		case *pgproto3.Describe:
			c.describe(m)
		case *pgproto3.Execute:
			c.execute(m)
		case *pgproto3.Close:
			if m.ObjectType == 'S' {
				c.closeStatement(m.Name)
			} else {
				c.closePortal(m.Name)
			}
			c.w.send(&pgproto3.CloseComplete{})
		case *pgproto3.Sync:
			c.skipUntilSync = false
			c.closePortal("")
			c.endOfTransactionPortals()
			ready = true
		case *pgproto3.Flush:
			c.w.flush()
		case *pgproto3.Terminate:
			return
		case *pgproto3.CopyData, *pgproto3.CopyDone, *pgproto3.CopyFail:
			// Ignored outside COPY FROM, as PostgreSQL does (the rest of a
			// failed COPY).
		case *pgproto3.FunctionCall:
			c.extError(nil, sqlstate.New(sqlstate.FeatureNotSupported, "function call messages are not supported"))
		default:
			c.sendFatal(protocolError("unexpected message %T", msg))
			return
		}
	}
}

// endOfTransactionPortals destroys all portals outside a transaction block:
// they end with the (implicit) transaction, as in PostgreSQL.
func (c *conn) endOfTransactionPortals() {
	if c.sess.TxStatus() != 'I' {
		return
	}
	for name := range c.portals {
		c.closePortal(name)
	}
}

// sendError reports err of a call that ran under ctx (nil if none).
func (c *conn) sendError(ctx context.Context, err error) {
	pub, fatal, internal := publicError(ctx, err)
	if internal {
		c.log.Error("internal error", "err", err)
	}
	if fatal {
		c.sendFatal(pub)
		return
	}
	c.w.send(errorResponse(severityError, pub))
}

// extError reports an error of an extended-protocol message and skips the
// following messages until Sync.
func (c *conn) extError(ctx context.Context, err error) {
	c.sendError(ctx, err)
	c.skipUntilSync = true
}

// reportParameters sends ParameterStatus for run-time parameters whose value
// changed since they were last reported.
func (c *conn) reportParameters() {
	var changed []string
	for k, v := range c.sess.Parameters() {
		if old, ok := c.reported[k]; !ok || old != v {
			changed = append(changed, k)
			c.reported[k] = v
		}
	}
	slices.Sort(changed)
	for _, k := range changed {
		c.w.send(&pgproto3.ParameterStatus{Name: k, Value: c.reported[k]})
	}
}

// runCtx starts the context of one statement run, cancellable by a
// CancelRequest while it is active.
func (c *conn) runCtx() (context.Context, context.CancelCauseFunc) {
	ctx, cancel := context.WithCancelCause(c.ctx)
	c.setActive(cancel)
	return ctx, cancel
}

func (c *conn) endRun(cancel context.CancelCauseFunc) {
	c.setActive(nil)
	cancel(context.Canceled)
}

// simpleQuery runs a Query message: each statement in turn until one fails.
func (c *conn) simpleQuery(sql string) {
	c.closePortal("")
	defer c.endOfTransactionPortals()
	if err := checkText([]byte(sql)); err != nil {
		c.sendError(nil, err)
		return
	}
	stmts, err := c.sess.Split(sql)
	if err != nil {
		c.sendError(nil, err)
		return
	}
	if len(stmts) == 0 {
		c.w.send(&pgproto3.EmptyQueryResponse{})
		return
	}
	for _, s := range stmts {
		if !c.runSimple(s) || c.fatal {
			return
		}
	}
}

func (c *conn) runSimple(sql string) bool {
	ctx, cancel := c.runCtx()
	defer c.endRun(cancel)
	st, err := c.sess.Prepare(ctx, sql, nil)
	if err != nil {
		c.sendError(ctx, err)
		return false
	}
	defer c.closeQuietly("statement", st.Close)
	res, err := st.Execute(ctx, nil)
	if err != nil {
		c.sendError(ctx, err)
		return false
	}
	defer c.closeQuietly("result", res.Close)
	cols := st.Columns()
	var n int64
	if cp, ok := st.(CopyOut); ok {
		n, err = c.sendCopyOut(ctx, res, cols, cp.CopyFormat())
	} else {
		if cols != nil {
			c.w.send(rowDescription(cols, nil))
		}
		n, _, err = c.sendRows(ctx, res, cols, nil, 0)
	}
	c.sendNotices(res)
	if err != nil {
		c.sendError(ctx, err)
		return false
	}
	c.w.send(&pgproto3.CommandComplete{CommandTag: []byte(res.Tag(n))})
	c.reportParameters()
	return c.w.err == nil
}

// sendNotices sends the notices a Result collected (see Noticer).
func (c *conn) sendNotices(res Result) {
	n, ok := res.(Noticer)
	if !ok {
		return
	}
	for _, e := range n.Notices() {
		severity := "NOTICE"
		if strings.HasPrefix(e.Code, "01") {
			severity = "WARNING"
		}
		c.w.send(&pgproto3.NoticeResponse{Severity: severity, SeverityUnlocalized: severity,
			Code: e.Code, Message: e.Message, Detail: e.Detail, Hint: e.Hint})
	}
}

func (c *conn) closeQuietly(what string, close func() error) {
	if err := close(); err != nil {
		c.log.Warn("close "+what, "err", err)
	}
}

// sendRows sends up to max rows (0 = all) of res as DataRows. It returns
// how many it sent and whether res reached its end.
func (c *conn) sendRows(ctx context.Context, res Result, cols []Column, formats []int16, max int64) (n int64, end bool, err error) {
	for max <= 0 || n < max {
		if n&1023 == 1023 && ctx.Err() != nil {
			return n, false, ctx.Err()
		}
		row, err := res.Next(ctx)
		if err == io.EOF {
			return n, true, nil
		}
		if err != nil {
			return n, false, err
		}
		if err := c.writeRow(row, cols, formats); err != nil {
			return n, false, err
		}
		n++
	}
	return n, false, nil
}

// writeRow appends one DataRow to the output buffer, flushing when it is
// full. formats nil means text for every column.
func (c *conn) writeRow(row []any, cols []Column, formats []int16) error {
	if len(row) != len(cols) {
		return fmt.Errorf("row has %d values, statement has %d columns", len(row), len(cols))
	}
	buf := c.w.buf
	start := len(buf)
	buf = append(buf, 'D', 0, 0, 0, 0, byte(len(row)>>8), byte(len(row)))
	for i, v := range row {
		f := textFormat
		if formats != nil {
			f = formats[i]
		}
		var err error
		buf, err = c.codec.appendField(buf, cols[i].OID, f, v)
		if err != nil {
			c.w.buf = buf[:start]
			return &encodeError{col: i, oid: cols[i].OID, err: err}
		}
	}
	if len(buf)-start-1 > math.MaxInt32 {
		c.w.buf = buf[:start]
		return errors.New("row too large for one message")
	}
	binary.BigEndian.PutUint32(buf[start+1:], uint32(len(buf)-start-1))
	c.w.buf = buf
	return c.w.maybeFlush()
}

func rowDescription(cols []Column, formats []int16) *pgproto3.RowDescription {
	fields := make([]pgproto3.FieldDescription, len(cols))
	for i, col := range cols {
		fields[i] = pgproto3.FieldDescription{
			Name:                 []byte(col.Name),
			TableOID:             col.TableOID,
			TableAttributeNumber: uint16(col.Attr),
			DataTypeOID:          col.OID,
			DataTypeSize:         col.Size,
			TypeModifier:         col.Modifier,
		}
		if formats != nil {
			fields[i].Format = formats[i]
		}
	}
	return &pgproto3.RowDescription{Fields: fields}
}

func (c *conn) parse(m *pgproto3.Parse) {
	if m.Name != "" {
		if _, ok := c.stmts[m.Name]; ok {
			c.extError(nil, sqlstate.New(codeDuplicatePreparedStatement, "prepared statement %q already exists", m.Name))
			return
		}
	}
	if err := checkText([]byte(m.Query)); err != nil {
		c.extError(nil, err)
		return
	}
	s := &statement{name: m.Name, paramOIDs: slices.Clone(m.ParameterOIDs)}
	if strings.TrimSpace(m.Query) != "" {
		ctx, cancel := c.runCtx()
		st, err := c.sess.Prepare(ctx, m.Query, s.paramOIDs)
		if err != nil {
			c.extError(ctx, err)
			c.endRun(cancel)
			return
		}
		c.endRun(cancel)
		s.st, s.paramOIDs, s.cols = st, slices.Clone(st.ParamOIDs()), st.Columns()
	}
	if m.Name == "" {
		c.closeStatement("")
	}
	c.stmts[m.Name] = s
	c.w.send(&pgproto3.ParseComplete{})
}

func statementMissing(name string) *sqlstate.Error {
	if name == "" {
		return sqlstate.New(sqlstate.InvalidSQLStatementName, "unnamed prepared statement does not exist")
	}
	return sqlstate.New(sqlstate.InvalidSQLStatementName, "prepared statement %q does not exist", name)
}

func portalMissing(name string) *sqlstate.Error {
	return sqlstate.New(sqlstate.InvalidCursorName, "portal %q does not exist", name)
}

// formatCodes expands the 0/1/n format-code shorthand of Bind to n codes.
// mismatch formats the error for a count that fits neither.
func formatCodes(codes []int16, n int, mismatch string) ([]int16, error) {
	out := make([]int16, n)
	switch len(codes) {
	case 0:
	case 1:
		for i := range out {
			out[i] = codes[0]
		}
	case n:
		copy(out, codes)
	default:
		return nil, protocolError(mismatch, len(codes), n)
	}
	for _, f := range out {
		if f != textFormat && f != binaryFormat {
			return nil, sqlstate.New(sqlstate.InvalidParameterValue, "unsupported format code: %d", f)
		}
	}
	return out, nil
}

func (c *conn) bind(m *pgproto3.Bind) {
	s, ok := c.stmts[m.PreparedStatement]
	if !ok {
		c.extError(nil, statementMissing(m.PreparedStatement))
		return
	}
	if m.DestinationPortal != "" {
		if _, ok := c.portals[m.DestinationPortal]; ok {
			c.extError(nil, sqlstate.New(codeDuplicateCursor, "portal %q already exists", m.DestinationPortal))
			return
		}
	}
	if len(m.Parameters) != len(s.paramOIDs) {
		c.extError(nil, protocolError("bind message supplies %d parameters, but prepared statement %q requires %d",
			len(m.Parameters), s.name, len(s.paramOIDs)))
		return
	}
	pf, err := formatCodes(m.ParameterFormatCodes, len(m.Parameters), "bind message has %d parameter formats but %d parameters")
	if err != nil {
		c.extError(nil, err)
		return
	}
	params := make([]any, len(m.Parameters))
	for i, raw := range m.Parameters {
		if params[i], err = c.codec.decodeParam(i+1, s.paramOIDs[i], pf[i], raw); err != nil {
			c.extError(nil, err)
			return
		}
	}
	var rf []int16
	if s.cols != nil {
		if rf, err = formatCodes(m.ResultFormatCodes, len(s.cols), "bind message has %d result formats but query has %d columns"); err != nil {
			c.extError(nil, err)
			return
		}
	}
	c.closePortal(m.DestinationPortal)
	c.portals[m.DestinationPortal] = &portal{name: m.DestinationPortal, stmt: s, params: params, formats: rf}
	c.w.send(&pgproto3.BindComplete{})
}

func (c *conn) describe(m *pgproto3.Describe) {
	if m.ObjectType == 'S' {
		s, ok := c.stmts[m.Name]
		if !ok {
			c.extError(nil, statementMissing(m.Name))
			return
		}
		c.w.send(&pgproto3.ParameterDescription{ParameterOIDs: s.paramOIDs})
		if _, copyOut := s.st.(CopyOut); s.cols == nil || copyOut {
			c.w.send(&pgproto3.NoData{})
		} else {
			c.w.send(rowDescription(s.cols, nil))
		}
		return
	}
	p, ok := c.portals[m.Name]
	if !ok {
		c.extError(nil, portalMissing(m.Name))
		return
	}
	if _, copyOut := p.stmt.st.(CopyOut); p.stmt.cols == nil || copyOut {
		c.w.send(&pgproto3.NoData{})
	} else {
		c.w.send(rowDescription(p.stmt.cols, p.formats))
	}
}

func (c *conn) execute(m *pgproto3.Execute) {
	p, ok := c.portals[m.Portal]
	if !ok {
		c.extError(nil, portalMissing(m.Portal))
		return
	}
	if p.stmt.st == nil {
		c.w.send(&pgproto3.EmptyQueryResponse{})
		return
	}
	if p.done {
		c.w.send(&pgproto3.CommandComplete{CommandTag: []byte(p.endTag)})
		return
	}
	if p.result == nil {
		// The context lives with the Result, across Executes of a suspended
		// portal; it is active (cancellable) only while an Execute runs.
		p.ctx, p.cancel = context.WithCancelCause(c.ctx)
		c.setActive(p.cancel)
		res, err := p.stmt.st.Execute(p.ctx, p.params)
		if err != nil {
			c.setActive(nil)
			c.extError(p.ctx, err)
			c.closePortal(p.name)
			return
		}
		p.result = res
	} else {
		c.setActive(p.cancel)
	}
	defer c.setActive(nil)
	var n int64
	var end bool
	var err error
	if cp, ok := p.stmt.st.(CopyOut); ok {
		// COPY sends everything at once; row limits do not apply.
		n, err = c.sendCopyOut(p.ctx, p.result, p.stmt.cols, cp.CopyFormat())
		end = err == nil
	} else {
		n, end, err = c.sendRows(p.ctx, p.result, p.stmt.cols, p.formats, int64(m.MaxRows))
	}
	c.sendNotices(p.result)
	if err != nil {
		c.extError(p.ctx, err)
		c.closePortal(p.name)
		return
	}
	if !end {
		c.w.send(&pgproto3.PortalSuspended{})
		return
	}
	tag := p.result.Tag(n)
	p.endTag = p.result.Tag(0)
	p.done = true
	c.closeResult(p)
	c.w.send(&pgproto3.CommandComplete{CommandTag: []byte(tag)})
	c.reportParameters()
}

func (c *conn) closeResult(p *portal) {
	if p.result != nil {
		c.closeQuietly("result", p.result.Close)
		p.result = nil
	}
	if p.cancel != nil {
		p.cancel(context.Canceled)
		p.cancel = nil
	}
}

// closePortal destroys a portal; absent portals are fine.
func (c *conn) closePortal(name string) {
	p, ok := c.portals[name]
	if !ok {
		return
	}
	delete(c.portals, name)
	c.closeResult(p)
}

// closeStatement destroys a prepared statement and the portals made from it.
func (c *conn) closeStatement(name string) {
	s, ok := c.stmts[name]
	if !ok {
		return
	}
	delete(c.stmts, name)
	for pn, p := range c.portals {
		if p.stmt == s {
			c.closePortal(pn)
		}
	}
	if s.st != nil {
		c.closeQuietly("statement", s.st.Close)
	}
}
