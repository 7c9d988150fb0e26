// Package maintain will own table maintenance: compaction of small files,
// manifest rewrites, snapshot expiry and orphan-file removal, run on a
// schedule per table as ordinary Iceberg commits that retry on conflict
// with ingest (DESIGN.md invariant 7: never remove a file a retained
// snapshot references).
//
// It imports catalog and iceberg-go only. Nothing is implemented yet; the
// package exists so the layout of DESIGN.md holds from the first commit.
package maintain
