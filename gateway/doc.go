// Package gateway owns sessions and SQL. For every statement it classifies the
// text, answers session commands (SET, SHOW, BEGIN, ...) itself, analyses
// queries with DuckDB's own parser (json_serialize_sql), resolves every table
// reference — Iceberg tables to the relation that reads exactly one snapshot's
// files minus deleted rows, pg_catalog and information_schema to relations
// generated from the Iceberg catalog — and runs the rewritten query in a
// sandboxed DuckDB. It implements pgwire.Engine and serves the HTTP SQL API.
//
// Resolution (resolve.go) is the single point where a table reference becomes
// data: the central policy adds row filters and column rules there.
// Config.Audit, when set, receives one authz.AuditRecord per executed
// statement (audit.go), with the tables, filters and masks noted there.
//
// Imports: catalog, authz, sqlstate, pgwire (only the interfaces it
// implements), duckdb-go. Never ingest or cmd.
//
// Lifecycle: New → Start (starts DuckDB and locks its configuration) → Close.
// An Engine is safe for concurrent use; a Session is used by one goroutine at
// a time (pgwire's contract), except that a running query's context may be
// cancelled from another goroutine.
package gateway
