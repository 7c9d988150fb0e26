// Package maintain keeps tables fast and small however many commits they
// take: it compacts small files (folding the delete files that apply to
// them), merges manifests, expires snapshots and removes orphan files, per
// table, when what the table holds calls for it — small files or delete
// files in a partition, many manifests, snapshots past their retention —
// and at least every Config.Interval.
//
// Every change is an ordinary Iceberg commit through catalog.Commit, which
// serialises it with this process's ingest commits and retries it against
// other processes'. The rules that keep data safe are the catalog's
// (catalog/maintain.go): a compaction never commits over a delete it did not
// apply, expiry never removes a snapshot a running query reads or the one
// holding the Kafka offsets, orphan removal spares files of commits in
// flight. This package decides what is due and when.
//
// Across processes on one data directory, one maintainer per table at a
// time: a run holds an exclusive lock file (DATA/maintenance/locks). It
// imports catalog and iceberg-go only.
package maintain
