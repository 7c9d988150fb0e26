// Package catalog opens floe's Iceberg catalog and warehouse and answers what
// the rest of floe asks of them: which namespaces and tables exist, what a
// table's current snapshot and schema are, and which files a snapshot reads
// (data files with the position and equality delete files that apply).
//
// The embedded default is iceberg-go's SQL catalog on SQLite in DIR/catalog.db
// with a local warehouse in DIR/warehouse.
//
// It imports iceberg-go and nothing of floe. Lifecycle: Open → use → Close.
// A Catalog is safe for concurrent use. Table handles are cached and
// refreshed at most RefreshInterval after a commit made elsewhere; commits
// made through this Catalog (Commit) invalidate the cache at once. Scan plans
// are cached per snapshot: Iceberg files never change once written.
package catalog
