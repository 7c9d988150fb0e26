package pgwire

import (
	"context"
	"net"

	"github.com/floe-dev/floe/scram"

	"github.com/floe-dev/floe/sqlstate"
)

// Engine is what the server needs from the SQL side: credentials and
// sessions. gateway implements it; cmd/floe connects the two.
type Engine interface {
	// SCRAMSecret returns the stored SCRAM-SHA-256 secret of user. An unknown
	// user returns an error; the client then sees the same 28P01 as for a
	// wrong password, so user names cannot be probed.
	SCRAMSecret(ctx context.Context, user string) (SCRAMSecret, error)

	// Open starts a session for an authenticated user.
	Open(ctx context.Context, info StartupInfo) (Session, error)
}

// SCRAMSecret is a SCRAM-SHA-256 verifier as PostgreSQL stores it
// (SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey), decoded.
type SCRAMSecret = scram.Secret

// StartupInfo describes an authenticated connection.
type StartupInfo struct {
	User     string
	Database string
	// Params holds the startup parameters other than user and database
	// (application_name, DateStyle, TimeZone, options, ...).
	Params     map[string]string
	RemoteAddr net.Addr
	TLS        bool
}

// Session is one client connection's SQL state. The server calls it, its
// Statements and its Results from one goroutine at a time, except that the
// context of a running Prepare, Execute or Next may be cancelled from another
// goroutine (CancelRequest, or a forced server shutdown).
type Session interface {
	// Parameters returns the run-time parameters reported to the client with
	// ParameterStatus (server_version, client_encoding, DateStyle, TimeZone,
	// ...). The server sends all of them after authentication and, after each
	// statement, those whose value changed. It is called after every
	// statement; the server only reads the map and does not keep it.
	Parameters() map[string]string

	// Split cuts a simple-query string into its statements, in order. Empty
	// input (or only comments) gives no statements (EmptyQueryResponse). It
	// is called for Query messages only; Parse passes its text to Prepare
	// as is (whitespace-only text is answered as an empty query without
	// calling Prepare).
	Split(sql string) ([]string, error)

	// Prepare analyses one statement. paramOIDs are the types the client
	// declared (0 = unspecified; nil for simple queries); the statement
	// reports the types it resolved. Text that holds several statements is
	// the Prepare's to refuse (PostgreSQL: 42601).
	Prepare(ctx context.Context, sql string, paramOIDs []uint32) (Statement, error)

	// TxStatus is the transaction status for ReadyForQuery: 'I' idle, 'T' in
	// a transaction block, 'E' in a failed transaction block.
	TxStatus() byte

	// Close ends the session.
	Close() error
}

// Statement is a prepared statement.
type Statement interface {
	// ParamOIDs are the parameter types, one per $n placeholder; 0 means
	// unknown (the client's text is passed as a string).
	ParamOIDs() []uint32
	// Columns describes the rows Execute returns; nil for statements that
	// return no rows (the server answers Describe with NoData). An empty,
	// non-nil slice is a row type without columns ("SELECT;").
	Columns() []Column
	// Execute runs the statement with decoded parameter values (nil = NULL;
	// the Go types are listed in the package documentation). The result is
	// consumed with Next. ctx stays valid until the Result is closed (a
	// portal may be executed in several steps), and is cancelled by a
	// CancelRequest or a forced shutdown: the engine must honour it.
	// Execute may be called many times; with named portals a new Result may
	// be started while an earlier one of the same Statement is still open.
	Execute(ctx context.Context, params []any) (Result, error)
	// Close releases the statement.
	Close() error
}

// CopyOut is implemented by a Statement whose rows are sent as the data of
// COPY ... TO STDOUT (CopyOutResponse, CopyData per row, CopyDone) instead
// of DataRows; Columns still describes the rows, Describe answers NoData,
// and row limits of Execute do not apply.
type CopyOut interface {
	CopyFormat() CopyFormat
}

// CopyFormat is how COPY TO STDOUT renders rows: PostgreSQL's text format
// (tab-delimited, backslash escapes, NULL as \N) or CSV (comma-delimited,
// quoted where needed, NULL as an empty unquoted field), each value in its
// text form.
type CopyFormat struct {
	CSV       bool
	Header    bool   // a first line with the column names
	Delimiter byte   // between fields
	Null      string // how NULL is written
}

// Result streams the rows of one execution.
type Result interface {
	// Next returns the next row, or (nil, io.EOF) after the last one. The
	// slice and its values are read before the following call, so both may
	// be reused. Values use the Go types listed in the package documentation
	// for the column's OID; nil is NULL.
	Next(ctx context.Context) ([]any, error)
	// Tag is the CommandComplete tag (for example "SELECT 42", "SET",
	// "BEGIN"), valid after Next returned io.EOF. rows is how many rows were
	// returned; a Result may ignore it for non-row statements. When a portal
	// is executed in several steps (Execute with a row limit), rows counts
	// the last step only, as PostgreSQL's CommandComplete does.
	Tag(rows int64) string
	// Close releases the result; it may be called before the end. It is
	// called exactly once, before the Execute ctx is cancelled for good.
	Close() error
}

// Column describes one result column for RowDescription.
type Column struct {
	Name     string
	OID      uint32 // PostgreSQL type OID
	Size     int16  // pg_type.typlen
	Modifier int32  // type modifier, -1 if none
	TableOID uint32 // 0 if not a plain table column
	Attr     int16  // attribute number, 0 if not a plain table column
}

// Noticer is an optional interface of Result: notices (warnings and
// informational messages) the execution produced. The server sends them as
// NoticeResponse, severity WARNING for class 01 codes and NOTICE otherwise,
// after the rows and before CommandComplete (or the error).
type Noticer interface {
	Notices() []*sqlstate.Error
}
