// Package icebergtest gives tests another writer of floe's tables: the
// iceberg-go SQL catalog opened directly on a data directory's catalog.db,
// as another engine (PyIceberg, Java's JDBC catalog) would open it. floe's
// own code commits only through catalog.Catalog.Commit; tests use this
// package to make the commits, deletes and schema changes of other
// writers. Test code only.
package icebergtest

import (
	"context"
	"database/sql"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/apache/iceberg-go"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"
	"github.com/uptrace/bun/driver/sqliteshim"
)

// Open opens the SQL catalog of data directory dir (DIR/catalog.db, the
// warehouse DIR/warehouse), closed at cleanup.
func Open(tb testing.TB, dir string) *sqlcat.Catalog {
	tb.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		tb.Fatal(err)
	}
	db, err := sql.Open(sqliteshim.ShimName, "file:"+filepath.Join(abs, "catalog.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() { db.Close() })
	cat, err := sqlcat.NewCatalog("floe", db, sqlcat.SQLite, iceberg.Properties{
		"warehouse": (&url.URL{Scheme: "file", Path: filepath.Join(abs, "warehouse")}).String(),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return cat
}

// Load loads ns.name.
func Load(tb testing.TB, cat *sqlcat.Catalog, ns, name string) *table.Table {
	tb.Helper()
	t, err := cat.LoadTable(context.Background(), table.Identifier{ns, name})
	if err != nil {
		tb.Fatalf("load %s.%s: %v", ns, name, err)
	}
	return t
}
