// Package test holds floe's end-to-end suites and the harness that runs them
// against real components.
//
// # What it owns
//
// The harness (floe.go, client.go) builds the floe binary once per test
// process, starts `floe serve` as a real child process on free loopback
// ports with its own data directory and admin password, waits until it
// serves, and stops it at cleanup, printing its log when a test failed.
// Clients are the real ones a user has: net/http, pgx, psql, pgbench, PgJDBC
// (built with Maven from testdata/jdbc), psycopg and SQLAlchemy (Python).
// A missing tool is a test failure that says how to install it; nothing is
// skipped. scripts/test.sh installs every tool on a fresh machine.
//
// Helpers take testing.TB, call tb.Helper() and are named MustX: they fail
// the test at once when what they do goes wrong. Helpers without Must
// (Push, Query) return what the server answered, for tests of errors.
//
// # Suites
//
//	ingest_test.go   push then read back (HTTP, psql, pgx), schema evolution,
//	                 concurrent pushers, refused bodies commit nothing, body
//	                 limit, restart and `floe sql`
//	auth_test.go     wrong passwords on every listener; secrets never logged
//	sandbox_test.go  what SQL may not reach (files, extensions, settings,
//	                 writes); errors never reveal warehouse paths
//	pgx_test.go      client settings, query exec modes, transactions, cancel,
//	                 statement_timeout, a 10 M row result with bounded memory
//	compat_test.go   PostgreSQL semantics drivers rely on beyond the protocol
//	tools_test.go    psql meta-commands, pgbench
//	drivers_test.go  PgJDBC (testdata/jdbc), psycopg and SQLAlchemy
//	                 (testdata/python)
//	kafka_test.go    a real Kafka broker (MustKafka, test/services): exactly
//	                 once by id and by (partition, offset), dead letters,
//	                 freshness, 22 SIGKILLs during one stream
//
// # Lifecycle
//
// A test package that uses the harness runs through Main:
//
//	func TestMain(m *testing.M) { test.Main(m) }
//
// Main runs the tests, stops the process-wide shared floe (Shared) and
// removes the built binary. MustStartFloe starts a private floe owned by one
// test (for settings such as a small body limit, or a clean memory peak);
// Shared returns one floe that tests of this process share. Tests that share
// it use their own namespace or table names and never depend on each other.
//
// # What it may import
//
// Anything: it is the outermost ring (see shared/DESIGN.md, "Real components
// in tests"). No other package imports it except other suites under test/.
//
// # Environment
//
// FLOE_BINARY names a prebuilt floe binary to use instead of building one.
// Tests leave FLOE_* variables of the caller's environment out of the
// child's environment, so the configuration under test is only what the
// test sets.
package test
