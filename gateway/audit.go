package gateway

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/apache/iceberg-go"

	"github.com/floe-dev/floe/authz"
	"github.com/floe-dev/floe/pgwire"
	"github.com/floe-dev/floe/sqlstate"
)

// The audit hook (Config.Audit, docs/audit.md). Every statement a session
// prepares and executes produces one authz.AuditRecord: a statement refused
// at Prepare at its error; an executed one when its Result is closed, so the
// rows returned and the duration are known; one whose Execute fails at that
// error. Statements prepared but never executed, and empty statements,
// produce none. The tables, filters and masks come from the decisions taken
// at resolution (resolve.go calls noteAccess) and travel with the cached
// rewrite (rewritten.tables), so a statement served from the rewrite cache
// reports them too: rewriteQuery leaves them in Session.accessed.

// tableAccess is what the policy decided for one table a statement read.
type tableAccess struct {
	table    string   // NAMESPACE.TABLE
	filters  []string // granted data filters applied
	masked   []string // COLUMN:MASK
	excluded []string // columns hidden
}

// noteAccess records the decision taken for ref (allowed or not) for the
// statement's audit record.
func (s *Session) noteAccess(ref tableRef, sc *iceberg.Schema, d authz.Decision, rel relation) {
	if s.engine.cfg.Audit == nil {
		return
	}
	a := tableAccess{table: ref.namespace + "." + ref.name}
	if d.Allowed && !d.WholeTable {
		a.filters = d.Filters
	}
	if d.Allowed && !d.Columns.Unrestricted() {
		for _, f := range sc.Fields() {
			if visible, mask := d.Columns.Visible(f.Name); visible && mask != nil {
				a.masked = append(a.masked, f.Name+":"+mask.String())
			}
		}
		a.excluded = rel.hidden
	}
	s.accessed = append(s.accessed, a)
}

// audited wraps st so that its executions are audited; st itself when
// there is no hook or nothing to audit.
func (s *Session) audited(st pgwire.Statement, text string, start time.Time) pgwire.Statement {
	if s.engine.cfg.Audit == nil {
		return st
	}
	if c, ok := st.(*commandStatement); ok && c.tag == "" {
		return st // an empty statement (only comments)
	}
	a := &auditedStatement{Statement: st, s: s, text: text, prepared: start}
	if c, ok := st.(pgwire.CopyOut); ok {
		return &auditedCopy{auditedStatement: a, format: c.CopyFormat()}
	}
	return a
}

// auditedCopy keeps a COPY statement recognisable as one (pgwire.CopyOut).
type auditedCopy struct {
	*auditedStatement
	format pgwire.CopyFormat
}

func (a *auditedCopy) CopyFormat() pgwire.CopyFormat { return a.format }

// auditError records a statement that failed before it produced a result.
func (s *Session) auditError(text string, start time.Time, tables []tableAccess, err error) {
	if s.engine.cfg.Audit == nil {
		return
	}
	s.engine.cfg.Audit(s.auditRecord(text, start, tables, 0, err))
}

func (s *Session) auditRecord(text string, start time.Time, tables []tableAccess, rows int64, err error) authz.AuditRecord {
	rec := authz.AuditRecord{
		Time:        start,
		Principal:   s.user,
		ClientAddr:  s.clientAddr,
		Application: s.settings.values["application_name"],
		Protocol:    s.protocol,
		Session:     int64(s.pid),
		Statement:   text,
		Decision:    authz.AuditAllowed,
		Rows:        rows,
		DurationUS:  time.Since(start).Microseconds(),
	}
	if rec.Protocol == "" {
		rec.Protocol = "pgwire"
	}
	seen := map[string]bool{}
	for _, t := range tables {
		if seen[t.table] {
			continue
		}
		seen[t.table] = true
		rec.Tables = append(rec.Tables, t.table)
		for _, f := range t.filters {
			rec.Filters = append(rec.Filters, t.table+"/"+f)
		}
		for _, m := range t.masked {
			rec.Masked = append(rec.Masked, t.table+"."+m)
		}
		for _, c := range t.excluded {
			rec.Excluded = append(rec.Excluded, t.table+"."+c)
		}
	}
	if err != nil {
		pe := sqlstate.Public(err)
		rec.SQLState, rec.Message, rec.Decision = pe.Code, pe.Message, authz.AuditFailed
		if pe.Code == sqlstate.InsufficientPrivilege {
			rec.Decision = authz.AuditDenied
		}
	}
	return rec
}

// auditedStatement audits each execution of a statement.
type auditedStatement struct {
	pgwire.Statement
	s        *Session
	text     string
	prepared time.Time // the first execution's duration counts from Prepare
}

func (a *auditedStatement) Execute(ctx context.Context, params []any) (pgwire.Result, error) {
	start := a.prepared
	if start.IsZero() {
		start = time.Now()
	}
	a.prepared = time.Time{}
	a.s.accessed = nil
	res, err := a.Statement.Execute(ctx, params)
	tables := a.s.accessed // set by the statement's rewrite, cached or not
	if err != nil {
		a.s.engine.cfg.Audit(a.s.auditRecord(a.text, start, tables, 0, err))
		return nil, err
	}
	return &auditedResult{Result: res, a: a, start: start, tables: tables}, nil
}

// auditedResult counts rows and records the statement when closed.
type auditedResult struct {
	pgwire.Result
	a      *auditedStatement
	start  time.Time
	tables []tableAccess
	rows   int64
	err    error
}

func (r *auditedResult) Next(ctx context.Context) ([]any, error) {
	row, err := r.Result.Next(ctx)
	switch {
	case err == nil:
		r.rows++
	case !errors.Is(err, io.EOF) && r.err == nil:
		r.err = err
	}
	return row, err
}

// Notices passes on the notices of a Result that has them (pgwire.Noticer).
func (r *auditedResult) Notices() []*sqlstate.Error {
	if n, ok := r.Result.(pgwire.Noticer); ok {
		return n.Notices()
	}
	return nil
}

func (r *auditedResult) Close() error {
	err := r.Result.Close()
	s := r.a.s
	s.engine.cfg.Audit(s.auditRecord(r.a.text, r.start, r.tables, r.rows, r.err))
	return err
}

var _ pgwire.Noticer = (*auditedResult)(nil)
