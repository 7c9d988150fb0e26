// Package catalog opens floe's Iceberg catalog and warehouse, owns the one
// path by which floe commits to a table, and answers what the rest of floe
// asks of them: which namespaces and tables exist, what a table's current
// snapshot and schema are, and which files a snapshot reads (data files
// with the position and equality delete files that apply).
//
// The embedded default is iceberg-go's SQL catalog on SQLite in DIR/catalog.db
// with a local warehouse in DIR/warehouse.
//
// Commits (commit.go): every change floe makes to a table — ingest's
// appends and row deltas, schema and spec evolution, maintenance's
// rewrites, manifest merges and expiry — is built by a function on a Tx
// over the table as the catalog has it now and committed by Commit, which
// retries it against other writers, serialises it with the other commits
// of this process, and carries the Kafka offsets forward. The maintenance
// operations live here too (maintain.go) because their safety rules are
// commit rules: what a rewrite may replace, what expiry must keep (pins.go
// records the snapshots running queries read).
//
// It imports iceberg-go and nothing of floe. Lifecycle: Open → use → Close.
// A Catalog is safe for concurrent use. Table handles are cached and
// refreshed at most RefreshInterval after a commit made elsewhere; commits
// made through this Catalog update the cache at once. Scan plans are
// cached per snapshot (the newest few per table): Iceberg files never
// change once written.
package catalog
