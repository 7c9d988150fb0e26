package pgwire_test

import (
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/floe-dev/floe/pgwire"
)

// BenchmarkEncodeRows encodes 1,000,000 rows of five mixed columns (int8,
// text, float8, timestamptz, numeric) through the connection's DataRow
// encoder and output buffer to io.Discard, in text and in binary format.
func BenchmarkEncodeRows(b *testing.B) {
	cols := []pgwire.Column{
		{Name: "id", OID: pgtype.Int8OID, Size: 8, Modifier: -1},
		{Name: "name", OID: pgtype.TextOID, Size: -1, Modifier: -1},
		{Name: "value", OID: pgtype.Float8OID, Size: 8, Modifier: -1},
		{Name: "at", OID: pgtype.TimestamptzOID, Size: 8, Modifier: -1},
		{Name: "amount", OID: pgtype.NumericOID, Size: -1, Modifier: -1},
	}
	const rows = 1_000_000
	base := time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC)
	// A ring of prebuilt rows: the benchmark measures the encoder, not the
	// boxing of values into interfaces.
	ring := make([][]any, 1024)
	for i := range ring {
		ring[i] = []any{int64(i) * 7919, "subject-0042 visit", float64(i) * 0.25,
			base.Add(time.Duration(i) * time.Second), "1234.50"}
	}
	for _, tc := range []struct {
		name    string
		formats []int16
	}{
		{"text", nil},
		{"binary", []int16{1, 1, 1, 1, 1}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			w := pgwire.NewRowWriter(io.Discard)
			b.ReportAllocs()
			for b.Loop() {
				for i := range rows {
					if err := w.WriteRow(ring[i&1023], cols, tc.formats); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Flush(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/row")
		})
	}
}
