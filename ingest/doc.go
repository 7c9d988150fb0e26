// Package ingest turns pushed records into Iceberg commits. This part owns
// the HTTP push endpoint (POST /v1/ingest/{namespace}/{table} with an NDJSON
// body): decoding JSON lines, inferring a table schema from them, checking
// records against the table's schema and evolving it by field id, converting
// records to Arrow and committing them as Parquet data files in one Iceberg
// snapshot per group commit.
//
// Imports: catalog, sqlstate, iceberg-go, arrow-go and the standard library.
// It must not import gateway, pgwire or authz; authentication happens in a
// middleware before Handler, which only receives the principal's name.
//
// Lifecycle: New (defaults, no I/O) → Push / Handler → Close(ctx). Close
// stops taking requests (ErrClosed, HTTP 503), commits what is pending and
// waits for the committers within ctx.
//
// Concurrency: Push is safe for concurrent use. A request is decoded and
// checked against the table's current schema in the caller's goroutine, then
// handed to the table's committer: one goroutine per table with pending
// requests, owned by the Service (Close waits for all of them; an idle one
// exits by itself). A committer makes at most one commit per CommitInterval:
// it commits at once when the table's last commit is older than that,
// otherwise at lastCommit+CommitInterval, covering every request that arrived
// meanwhile. It merges the requests one by one into the table's schema as
// committed (a request whose types conflict is rejected alone), then in one
// iceberg-go transaction adds the new columns and appends one Arrow record
// batch. When another writer committed first it reloads the table and redoes
// the merge and the append (bounded attempts). A request is answered only
// after its commit, with the new snapshot id; it never gets a success for
// rows that were not committed.
package ingest
