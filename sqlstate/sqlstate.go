// Package sqlstate holds floe's coded error type: an error that carries the
// PostgreSQL SQLSTATE a client should see. It is a leaf package: it imports
// nothing of floe, so every layer (catalog, ingest, authz, gateway, pgwire) can
// create and inspect coded errors without importing one another.
//
// Only pgwire turns these errors into ErrorResponse messages and only the HTTP
// handlers turn them into status codes; everything else just returns them.
package sqlstate

import (
	"errors"
	"fmt"
)

// SQLSTATE codes floe uses. The names follow PostgreSQL's errcodes.txt.
const (
	SuccessfulCompletion         = "00000"
	Warning                      = "01000"
	FeatureNotSupported          = "0A000"
	InvalidParameterValue        = "22023"
	InvalidTextRepresentation    = "22P02"
	DivisionByZero               = "22012"
	DataException                = "22000"
	InvalidAuthorizationSpec     = "28000"
	InvalidPassword              = "28P01"
	InFailedTransaction          = "25P02"
	ActiveSQLTransaction         = "25001"
	NoActiveSQLTransaction       = "25P01"
	InvalidSQLStatementName      = "26000"
	InvalidCursorName            = "34000"
	SyntaxError                  = "42601"
	InsufficientPrivilege        = "42501"
	UndefinedColumn              = "42703"
	UndefinedTable               = "42P01"
	UndefinedFunction            = "42883"
	UndefinedObject              = "42704"
	InvalidSchemaName            = "3F000"
	InvalidCatalogName           = "3D000"
	DuplicateTable               = "42P07"
	DatatypeMismatch             = "42804"
	IndeterminateDatatype        = "42P18"
	ProtocolViolation            = "08P01"
	QueryCanceled                = "57014"
	AdminShutdown                = "57P01"
	TooManyConnections           = "53300"
	ProgramLimitExceeded         = "54000"
	ObjectNotInPrerequisiteState = "55000"
	CantChangeRuntimeParam       = "55P02"
	InternalError                = "XX000"
)

// Error is an error with a SQLSTATE. Message is safe to show a client; Detail
// and Hint are optional client-visible extras. The wrapped cause, if any, is
// for logs only and never reaches a client.
type Error struct {
	Code    string
	Message string
	Detail  string
	Hint    string
	cause   error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return e.Message + ": " + e.cause.Error()
	}
	return e.Message
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.cause }

// New returns a coded error with a formatted client-visible message.
func New(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns a coded error whose client-visible message is msg and whose
// cause (kept for logs) is err.
func Wrap(err error, code, msg string) *Error {
	return &Error{Code: code, Message: msg, cause: err}
}

// WithHint returns a copy of e with a hint.
func (e *Error) WithHint(format string, args ...any) *Error {
	c := *e
	c.Hint = fmt.Sprintf(format, args...)
	return &c
}

// WithDetail returns a copy of e with a detail line.
func (e *Error) WithDetail(format string, args ...any) *Error {
	c := *e
	c.Detail = fmt.Sprintf(format, args...)
	return &c
}

// Code returns the SQLSTATE of err, or InternalError if err carries none.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return InternalError
}

// As returns the coded error inside err, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// Public returns what a client may see of err: the coded error if err carries
// one, otherwise a generic internal error that reveals nothing (the caller logs
// the original).
func Public(err error) *Error {
	if e := As(err); e != nil {
		return e
	}
	return &Error{Code: InternalError, Message: "internal error"}
}
