// Package ingest turns pushed and consumed records into Iceberg commits. It
// owns the Kafka source (kafka.go, deadletter.go; see below) and
// the HTTP push endpoint (POST /v1/ingest/{namespace}/{table} with an NDJSON
// body): decoding JSON lines, inferring a table schema from them, checking
// records against the table's schema and evolving it by field id, converting
// records to Arrow and committing them as Parquet data files in one Iceberg
// snapshot per group commit.
//
// Imports: catalog, sqlstate, iceberg-go, arrow-go, franz-go and the standard library.
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
//
// # Kafka
//
// Lifecycle: NewKafka (defaults, no I/O) → Run(ctx), which consumes until ctx
// ends, then commits what it buffered and leaves the group.
//
// Concurrency: one poll loop per Kafka value, with franz-go's
// BlockRebalanceOnPoll: the group callbacks (adjust on assignment, revoked,
// lost) run only between polls, and k.mu serialises them with the loop's
// work. Commits run in the loop (or in revoked, for the partitions leaving).
//
// Exactly once: the main table's snapshots carry OffsetsProperty, the next
// offset of every topic-partition it consumed. Assignment seeks to those
// offsets (adjust), never the group's. A commit reloads the table, checks
// that its offsets for the batch's partitions are those the batch started
// from (else errFenced: the batch is dropped and the partitions seek to the
// table's offsets), and commits with iceberg-go's requirement that the head
// is still the snapshot it read; a conflict reloads and retries. Dead
// letters go to `<table>__rejected` in a commit just before the rows, with
// that table's own offsets map; where it reaches into a batch, the offsets
// it holds are read back and not written again, so a crash between the two
// commits loses and duplicates nothing. Group offsets are committed to Kafka
// after the Iceberg commit, for lag tools only.
//
// # Status and metrics
//
// status.go keeps, per Kafka partition and per pushed table, what was
// committed, the lag and the last commit's figures, under a lock of its
// own (a status query never waits for a commit). Kafka.Status and
// Service.Status return them as StreamStatus rows (floe.ingest_status);
// the Prometheus collectors go to the Registerer of the config (nil: none).
package ingest
