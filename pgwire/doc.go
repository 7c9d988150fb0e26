// Package pgwire is floe's PostgreSQL protocol server (protocol 3.0).
//
// # What it owns
//
// Framing and the startup sequence (SSLRequest and TLS, direct TLS with the
// "postgresql" ALPN protocol, GSSENCRequest refused, NegotiateProtocolVersion
// for 3.x clients that ask for more than 3.0), authentication
// (SCRAM-SHA-256 without channel binding; optionally a cleartext password
// over TLS, checked against the same SCRAM secret), the simple and extended
// query protocols (prepared statements, portals, partial Execute with
// PortalSuspended, skip-to-Sync after errors), text and binary encoding of
// results and decoding of parameters, CancelRequest, ParameterStatus, and the
// mapping of errors to ErrorResponse. Verifiers themselves (SCRAMSecret) are
// package scram's, shared with authz; LoadOrCreateCertificate makes the
// self-signed certificate TLS falls back on.
//
// # What it must not import
//
// Only the standard library, github.com/jackc/pgx/v5/pgproto3 and pgtype,
// and the leaf packages github.com/floe-dev/floe/sqlstate and scram. It knows nothing of DuckDB, Iceberg
// or SQL text: statements are split, analysed and run by an Engine (package
// gateway implements it; cmd/floe connects the two).
//
// # Lifecycle
//
//	srv := pgwire.NewServer(engine, pgwire.Config{...}) // defaults, no I/O
//	go srv.Serve(ctx, ln)                              // one or more listeners
//	...
//	err := srv.Close(shutdownCtx)                      // drain, then force
//
// Serve accepts until ctx is done or Close is called, and closes its
// listener. Close stops accepting, ends idle sessions at once (FATAL 57P01),
// lets running statements finish, and when shutdownCtx is done cancels the
// contexts of what still runs and closes those connections. It returns after
// every connection goroutine has ended (the Engine must honour ctx).
//
// # Concurrency
//
// One goroutine per connection, owned by the Server and waited for by Close.
// A Session's methods, and those of its Statements and Results, are called
// from that goroutine only, one at a time. The one exception is
// cancellation: a CancelRequest (arriving on another connection, matched by
// process id and secret key) cancels the ctx given to the running Prepare,
// Execute or Next from another goroutine. The statement then fails; an
// uncoded error (such as context.Canceled) is reported as 57014 "canceling
// statement due to user request", a *sqlstate.Error is reported as is. A
// Result is Closed before its context is cancelled for good, and the ctx
// passed to Statement.Execute stays valid until that Result is closed (a
// portal can be executed in several steps).
//
// # Errors
//
// A *sqlstate.Error (found with errors.As) is sent with its Code, Message,
// Detail and Hint. Anything else is logged and sent as XX000 "internal
// error". Protocol violations are 08P01. Severity is ERROR, FATAL for
// startup and authentication failures (then the connection ends).
//
// # Result values
//
// Result.Next returns one Go value per Column (nil = NULL); the Go type
// depends on Column.OID:
//
//	bool                     bool
//	int2, int4, int8, oid    int16, int32, int64 (any Go integer type works); oid also uint32
//	float4, float8           float32, float64
//	numeric                  string, decimal text ("-12.340"; "NaN", "Infinity")
//	text, varchar, bpchar, name, json, jsonb   string
//	bytea                    []byte
//	date                     time.Time (its Y-M-D)
//	time                     time.Duration since midnight
//	timestamp                time.Time whose wall clock is the value (use UTC)
//	timestamptz              time.Time in the session's time zone: the text
//	                         form uses its offset ("2024-01-02 03:04:05.5+05:30")
//	interval                 pgtype.Interval (or time.Duration)
//	uuid                     [16]byte
//	arrays of the above      []any with nil for NULL elements; nested []any
//	                         for more dimensions
//
// A string is accepted for any OID: in text format it is sent as is, in
// binary format it is parsed as that type's text (as a parameter would be)
// and sent in binary; and
// a []byte for any OID other than bytea is taken as the value already
// encoded in the requested format (so a parameter of a type pgwire does not
// decode can be returned unchanged). Other Go types fall back to pgtype's
// encoders. A value the encoder cannot send for its OID fails the statement
// with XX000 (and a log line).
//
// A Result may also implement Noticer; its notices are sent as
// NoticeResponse before CommandComplete.
//
// Text output matches PostgreSQL's defaults (DateStyle ISO, IntervalStyle
// postgres, extra_float_digits 1): bool t/f, floats shortest round-trip
// (1.5, 1e+20, Infinity, NaN), bytea \x0102, dates 2024-01-02, timestamps
// without zero fractional seconds, intervals "1 day 02:00:00", arrays
// {1,2,NULL} with array_out's quoting. Binary output is PostgreSQL's send
// format. Rows are appended to one reusable buffer and written every
// Config.FlushBytes, so a result is never held whole in memory.
//
// Columns() nil means the statement returns no rows (Describe answers
// NoData); an empty non-nil slice is a row type with no columns.
//
// # Parameter values
//
// Bind parameters reach Statement.Execute decoded by the statement's
// ParamOIDs, from text or binary format:
//
//	int8, int4, int2         int64, int32, int16
//	float8, float4           float64, float32
//	bool                     bool
//	text, varchar, bpchar, name, unknown (0), json, jsonb   string
//	bytea                    []byte
//	numeric                  string, plain decimal text (no exponent)
//	date                     time.Time, midnight UTC
//	timestamp                time.Time, the wall clock in UTC
//	timestamptz              time.Time in UTC
//	uuid                     [16]byte
//	anything else            string (text format) or []byte (binary)
//
// Malformed values fail the Bind with PostgreSQL's SQLSTATE (22P02, 22003,
// 22P03, 22007). Text must be valid UTF-8 without NUL bytes (22021).
package pgwire
