// Package ingest turns pushed and consumed records into Iceberg commits. It
// owns the Kafka source (kafka.go, deadletter.go; see below) and
// the HTTP push endpoint (POST /v1/ingest/{namespace}/{table} with an NDJSON
// body): decoding JSON lines, inferring a table schema from them, checking
// records against the table's schema and evolving it by field id, converting
// records to Arrow and committing them as Parquet data files in one Iceberg
// snapshot per group commit.
//
// Imports: catalog, sqlstate, iceberg-go, arrow-go, franz-go, hamba/avro,
// aws-sdk-go-v2/config (MSK IAM credentials) and the standard library.
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
// after the Iceberg commit, for lag tools only. On top of the offsets check,
// a partition commits only at the group generation at which this process
// last learned it owns it (kafka_fence.go): during a rebalance its records
// wait for the outcome.
//
// Around it: kafka_auth.go turns TLS and SASL settings into client options
// (AWS_MSK_IAM with the AWS SDK's default credential chain) and fails Run
// at once when the brokers refuse the credentials; kafka_route.go maps
// topics to streams (a stream's TopicRegex matches topics created later
// too; offsets are kept per topic-partition); kafka_pause.go pauses and
// resumes a stream on cmd/floe's request (its principal lost floe:Insert):
// a paused stream drops its buffer, commits nothing and, on resume, seeks
// to the table's offsets.
//
// # Table layout
//
// partition.go parses a stream's partition_by (Iceberg transforms);
// layout.go applies it and target_file_size. A table floe creates gets the
// spec; an existing one with another spec evolves to it in the commit that
// appends (Iceberg partition evolution), as do the file size properties.
// iceberg-go's Append fans the rows out to one rolling writer per partition;
// floe hands it the batch in slices, since a writer rolls to a new file only
// between two. A spec that cannot apply to an existing column is errLayout,
// which pauses the stream; a record that would create a partition column of
// the wrong type is dead-lettered alone. schema_evolution: false merges with
// mergeFixed, which reports what merge would change as a record error.
//
// # Avro
//
// A stream with format avro reads the Confluent wire format (magic byte 0,
// a 4-byte schema id, Avro binary). registry.go fetches writer schemas by id
// from a Confluent-compatible schema registry and caches them; an unknown id
// (404) dead-letters the record, an unreachable registry stalls the
// partition (kafka_avro.go: it seeks back and waits, nothing is
// dead-lettered or lost). avro.go checks each record against its writer
// schema as it is consumed and later writes it straight into Arrow columns;
// avrotable.go merges each writer schema into the table schema once per
// batch, with the same evolution rules as JSON.
//
// # Debezium
//
// A stream with format debezium-json reads Debezium change events
// (debezium.go: the envelope with or without the JsonConverter's schema
// wrapper, tombstones skipped) and keeps the latest row per key: the
// stream's key columns, or the record keys' fields. kafka_debezium.go
// merges the after images into the schema as JSON records, dead-letters
// what cannot apply (truncates among it), reduces the batch to the last
// event per key (dedupe) and commits, through commitChanges in commit.go,
// one row delta: the new rows and an equality delete file on the key
// columns for every key the batch touched. Equality deletes apply only to
// files of lower sequence numbers, so the rows of the same snapshot stay.
// Offsets, fencing and dead letters are those of every Kafka commit.
// Equality deletes need format version 2 (a v1 table is upgraded) and a
// partition spec on key columns only, unchanged since the table began;
// otherwise the stream pauses (errLayout).
//
// # Status and metrics
//
// status.go keeps, per Kafka partition and per pushed table, what was
// committed, the lag and the last commit's figures, under a lock of its
// own (a status query never waits for a commit). Kafka.Status and
// Service.Status return them as StreamStatus rows (floe.ingest_status);
// the Prometheus collectors go to the Registerer of the config (nil: none).
package ingest
