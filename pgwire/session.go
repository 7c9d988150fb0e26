package pgwire

import (
	"context"
	"net"
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
type SCRAMSecret struct {
	Iterations int
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
}

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

// Session is one client connection's SQL state. The server calls it from one
// goroutine at a time, except that the context of a running Execute or Next
// may be cancelled from another goroutine (CancelRequest).
type Session interface {
	// Parameters returns the run-time parameters reported to the client with
	// ParameterStatus (server_version, client_encoding, DateStyle, TimeZone,
	// ...). The server sends all of them after authentication and, after each
	// statement, those whose value changed.
	Parameters() map[string]string

	// Split cuts a simple-query string into its statements, in order. Empty
	// input gives no statements (EmptyQueryResponse).
	Split(sql string) ([]string, error)

	// Prepare analyses one statement. paramOIDs are the types the client
	// declared (0 = unspecified); the statement reports the types it resolved.
	Prepare(ctx context.Context, sql string, paramOIDs []uint32) (Statement, error)

	// TxStatus is the transaction status for ReadyForQuery: 'I' idle, 'T' in
	// a transaction block, 'E' in a failed transaction block.
	TxStatus() byte

	// Close ends the session.
	Close() error
}

// Statement is a prepared statement.
type Statement interface {
	// ParamOIDs are the parameter types, one per $n placeholder.
	ParamOIDs() []uint32
	// Columns describes the rows Execute returns; nil for statements that
	// return no rows (the server answers Describe with NoData).
	Columns() []Column
	// Execute runs the statement with decoded parameter values (nil = NULL;
	// see Value for the Go types). The result is consumed with Next.
	Execute(ctx context.Context, params []any) (Result, error)
	// Close releases the statement.
	Close() error
}

// Result streams the rows of one execution.
type Result interface {
	// Next returns the next row, or (nil, io.EOF) after the last one. The
	// slice may be reused by the following call. Values use the Go types of
	// Value for the column's OID.
	Next(ctx context.Context) ([]any, error)
	// Tag is the CommandComplete tag (for example "SELECT 42", "SET",
	// "BEGIN"), valid after Next returned io.EOF. rows is how many rows were
	// returned; a Result may ignore it for non-row statements.
	Tag(rows int64) string
	// Close releases the result; it may be called before the end.
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
