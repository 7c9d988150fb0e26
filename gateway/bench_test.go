package gateway_test

import (
	"context"
	"database/sql"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

// BenchmarkStatementOverhead measures what the gateway adds to a small
// query (classification, DuckDB parse-tree round trip, resolution, prepare)
// against the same query run directly in DuckDB on the same files.
func BenchmarkStatementOverhead(b *testing.B) {
	e := MustEnv(b)
	tbl := e.MustTable(b, "clinical", "vitals")
	tbl = e.MustAppend(b, tbl, []int64{1, 2, 3}, []string{"a", "b", "c"})
	s := e.MustSession(b)
	const q = "SELECT name FROM clinical.vitals WHERE id = 2"
	b.Run("floe", func(b *testing.B) {
		for b.Loop() {
			if _, rows := MustQuery(b, s, q); len(rows) != 1 {
				b.Fatal(rows)
			}
		}
	})
	b.Run("duckdb", func(b *testing.B) {
		scan, err := tbl.Plan(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		db, err := sql.Open("duckdb", "")
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		direct := "SELECT name FROM read_parquet('" + scan.Files[0].Path + "') WHERE id = 2"
		for b.Loop() {
			var name string
			if err := db.QueryRow(direct).Scan(&name); err != nil {
				b.Fatal(err)
			}
		}
	})
}
