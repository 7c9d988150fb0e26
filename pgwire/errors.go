package pgwire

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/floe-dev/floe/sqlstate"
)

// ErrServerClosed is returned by Serve after Close has been called.
var ErrServerClosed = errors.New("pgwire: server closed")

// SQLSTATEs pgwire needs that sqlstate does not name.
const (
	codeDuplicatePreparedStatement  = "42P05"
	codeDuplicateCursor             = "42P03"
	codeInvalidBinaryRepresentation = "22P03"
	codeNumericValueOutOfRange      = "22003"
	codeInvalidDatetimeFormat       = "22007"
	codeDatetimeFieldOverflow       = "22008"
)

// Causes of context cancellation, so that an engine error caused by them can
// be reported with the right SQLSTATE.
var (
	errCancelRequest = errors.New("pgwire: cancel request")
	errShutdown      = errors.New("pgwire: server shutting down")
)

const (
	severityError = "ERROR"
	severityFatal = "FATAL"
)

func protocolError(format string, args ...any) *sqlstate.Error {
	return sqlstate.New(sqlstate.ProtocolViolation, format, args...)
}

var (
	errQueryCanceled = sqlstate.New(sqlstate.QueryCanceled, "canceling statement due to user request")
	errAdminShutdown = sqlstate.New(sqlstate.AdminShutdown, "terminating connection due to administrator command")
)

// errorResponse builds the ErrorResponse for e.
func errorResponse(severity string, e *sqlstate.Error) *pgproto3.ErrorResponse {
	return &pgproto3.ErrorResponse{
		Severity:            severity,
		SeverityUnlocalized: severity,
		Code:                e.Code,
		Message:             e.Message,
		Detail:              e.Detail,
		Hint:                e.Hint,
	}
}

// publicError maps err (from the engine or from pgwire itself) to what the
// client may see. ctx is the context the failing call ran under: an uncoded
// error of a call whose context was cancelled by a CancelRequest becomes
// 57014, by server shutdown 57P01. fatal reports that the connection must end.
// internal reports an uncoded error, which the caller must log.
func publicError(ctx context.Context, err error) (pub *sqlstate.Error, fatal, internal bool) {
	if ctx != nil && ctx.Err() != nil {
		switch cause := context.Cause(ctx); {
		case errors.Is(cause, errShutdown):
			return errAdminShutdown, true, false
		case errors.Is(cause, errCancelRequest):
			if e := sqlstate.As(err); e != nil && e.Code != sqlstate.InternalError {
				return e, false, false
			}
			return errQueryCanceled, false, false
		}
	}
	if e := sqlstate.As(err); e != nil {
		return e, false, false
	}
	return sqlstate.Public(err), false, true
}

// encodeError marks a value the encoder could not send; it is an engine bug
// (a Go type that does not fit the column OID), logged and reported as XX000.
type encodeError struct {
	col int
	oid uint32
	err error
}

func (e *encodeError) Error() string {
	return fmt.Sprintf("encode column %d (oid %d): %v", e.col+1, e.oid, e.err)
}

func (e *encodeError) Unwrap() error { return e.err }
