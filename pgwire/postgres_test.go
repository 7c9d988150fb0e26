package pgwire_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/floe-dev/floe/pgwire"
)

// mustPostgres connects to the real PostgreSQL in FLOE_TEST_POSTGRES (its
// connection string), closed at cleanup. scripts/test.sh starts one and sets
// it, so in CI a missing server fails the test; a bare `go test ./pgwire`
// skips it.
func mustPostgres(t *testing.T) *pgconn.PgConn {
	t.Helper()
	dsn := os.Getenv("FLOE_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("FLOE_TEST_POSTGRES is not set: run the tests with scripts/test.sh, which starts PostgreSQL")
		}
		t.Skip("FLOE_TEST_POSTGRES not set (scripts/test.sh sets it)")
	}
	pc, err := pgconn.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close(context.Background()) })
	return pc
}

// TestEncodingMatchesPostgres compares the encoder's text and binary output
// with a real PostgreSQL's for the same values.
func TestEncodingMatchesPostgres(t *testing.T) {
	ctx := context.Background()
	pc := mustPostgres(t)
	utc := time.UTC
	cases := []struct {
		sql string // one value; the session's TimeZone is UTC
		oid uint32
		v   any
	}{
		{"1.5::float8", pgtype.Float8OID, 1.5},
		{"1e20::float8", pgtype.Float8OID, 1e20},
		{"1e-5::float8", pgtype.Float8OID, 1e-5},
		{"999999999999999::float8", pgtype.Float8OID, 999999999999999.0},
		{"'-Infinity'::float8", pgtype.Float8OID, math.Inf(-1)},
		{"1e6::float4", pgtype.Float4OID, float32(1e6)},
		{"0.1::float4", pgtype.Float4OID, float32(0.1)},
		{"-7::int2", pgtype.Int2OID, int16(-7)},
		{"true", pgtype.BoolOID, true},
		{"'-12.3400'::numeric", pgtype.NumericOID, "-12.3400"},
		{"'0.000123'::numeric", pgtype.NumericOID, "0.000123"},
		{"'100000000'::numeric", pgtype.NumericOID, "100000000"},
		{"'NaN'::numeric", pgtype.NumericOID, "NaN"},
		{`'\xdead00'::bytea`, pgtype.ByteaOID, []byte{0xde, 0xad, 0}},
		{"'0044-03-15 BC'::date", pgtype.DateOID, time.Date(-43, 3, 15, 0, 0, 0, 0, utc)},
		{"'2024-01-02 03:04:05.00012'::timestamp", pgtype.TimestampOID, time.Date(2024, 1, 2, 3, 4, 5, 120000, utc)},
		{"'2024-01-02 03:04:05.5+05:30'::timestamptz", pgtype.TimestamptzOID, time.Date(2024, 1, 1, 21, 34, 5, 5e8, utc)},
		{"'0001-01-02 03:04:05+00 BC'::timestamptz", pgtype.TimestamptzOID, time.Date(0, 1, 2, 3, 4, 5, 0, utc)},
		{"'24:00:00'::time", pgtype.TimeOID, 24 * time.Hour},
		{"'-1 day +2 hours'::interval", pgtype.IntervalOID, pgtype.Interval{Days: -1, Microseconds: 7200e6, Valid: true}},
		{"'-13 mons'::interval", pgtype.IntervalOID, pgtype.Interval{Months: -13, Valid: true}},
		{"'14 mons 3 days 04:05:06.789'::interval", pgtype.IntervalOID, pgtype.Interval{Months: 14, Days: 3, Microseconds: 14706789000, Valid: true}},
		{"'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid", pgtype.UUIDOID,
			[16]byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11}},
		{`'{"a": 1}'::jsonb`, pgtype.JSONBOID, `{"a": 1}`},
		{"'{}'::int8[]", pgtype.Int8ArrayOID, []any{}},
		{"'{{1,2},{3,NULL}}'::int8[]", pgtype.Int8ArrayOID, []any{[]any{int64(1), int64(2)}, []any{int64(3), nil}}},
		{`ARRAY['null','a,b','x y',E'\t','a"b\c','é','']`, pgtype.TextArrayOID, []any{"null", "a,b", "x y", "\t", `a"b\c`, "é", ""}},
		{`ARRAY['\x01'::bytea]`, pgtype.ByteaArrayOID, []any{[]byte{1}}},
		{"ARRAY['2024-01-02 03:04:05+00'::timestamptz]", pgtype.TimestamptzArrayOID, []any{time.Date(2024, 1, 2, 3, 4, 5, 0, utc)}},
	}
	if err := pc.Exec(ctx, "SET TimeZone = 'UTC'; SET extra_float_digits = 1").Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		for _, format := range []int16{0, 1} {
			rr := pc.ExecParams(ctx, "SELECT "+tc.sql, nil, nil, nil, []int16{format})
			var pg []byte
			for rr.NextRow() {
				pg = bytes.Clone(rr.Values()[0])
			}
			if _, err := rr.Close(); err != nil {
				t.Fatalf("%s: %v", tc.sql, err)
			}
			mine, err := pgwire.EncodeValue(tc.oid, format, tc.v)
			if err != nil {
				t.Fatalf("%s: %v", tc.sql, err)
			}
			if !bytes.Equal(pg, mine) {
				t.Errorf("%s (format %d):\n postgres %q\n pgwire   %q", tc.sql, format, pg, mine)
			}
		}
	}
}

// TestCopyMatchesPostgres compares COPY ... TO STDOUT data in text and CSV
// with a real PostgreSQL's for rows with every character that needs
// escaping or quoting, NULLs, and values that look like the NULL marker.
func TestCopyMatchesPostgres(t *testing.T) {
	ctx := context.Background()
	pc := mustPostgres(t)
	if err := pc.Exec(ctx, "SET TimeZone = 'UTC'; SET extra_float_digits = 1").Close(); err != nil {
		t.Fatal(err)
	}
	const values = `VALUES
		(1, E'tab\there', 1.5::float8, true, '2024-01-02 03:04:05+00'::timestamptz, ARRAY['a b', 'c,d']),
		(2, E'line\nbreak\r\\back', NULL, false, NULL, NULL),
		(3, 'comma, "quoted"', -0.25::float8, NULL, '1999-12-31 23:59:59.5+00'::timestamptz, ARRAY[]::text[]),
		(4, '', 0::float8, true, NULL, ARRAY[NULL, 'x']),
		(5, E'\\N', 1e20::float8, false, NULL, NULL),
		(6, E'\\.', NULL, NULL, NULL, NULL),
		(7, 'é|ü', NULL, NULL, NULL, NULL)`
	cols := []pgwire.Column{{Name: "id", OID: pgtype.Int4OID}, {Name: "s", OID: pgtype.TextOID},
		{Name: "f", OID: pgtype.Float8OID}, {Name: "b", OID: pgtype.BoolOID},
		{Name: "ts", OID: pgtype.TimestamptzOID}, {Name: "a", OID: pgtype.TextArrayOID}}
	utc := time.UTC
	rows := [][]any{
		{int32(1), "tab\there", 1.5, true, time.Date(2024, 1, 2, 3, 4, 5, 0, utc), []any{"a b", "c,d"}},
		{int32(2), "line\nbreak\r\\back", nil, false, nil, nil},
		{int32(3), `comma, "quoted"`, -0.25, nil, time.Date(1999, 12, 31, 23, 59, 59, 5e8, utc), []any{}},
		{int32(4), "", 0.0, true, nil, []any{nil, "x"}},
		{int32(5), `\N`, 1e20, false, nil, nil},
		{int32(6), `\.`, nil, nil, nil, nil},
		{int32(7), "é|ü", nil, nil, nil, nil},
	}
	for _, tc := range []struct {
		options string
		format  pgwire.CopyFormat
	}{
		{"", pgwire.CopyFormat{Delimiter: '\t', Null: `\N`}},
		{"(FORMAT csv)", pgwire.CopyFormat{CSV: true, Delimiter: ',', Null: ""}},
		{"(FORMAT csv, HEADER)", pgwire.CopyFormat{CSV: true, Header: true, Delimiter: ',', Null: ""}},
		{"(FORMAT csv, DELIMITER '|', NULL 'NULL')", pgwire.CopyFormat{CSV: true, Delimiter: '|', Null: "NULL"}},
		{"(FORMAT text, DELIMITER '|', HEADER)", pgwire.CopyFormat{Header: true, Delimiter: '|', Null: `\N`}},
	} {
		var pg bytes.Buffer
		if _, err := pc.CopyTo(ctx, &pg, "COPY (SELECT * FROM ("+values+") AS v(id, s, f, b, ts, a) ORDER BY id) TO STDOUT "+tc.options); err != nil {
			t.Fatalf("postgres COPY %s: %v", tc.options, err)
		}
		mine, err := pgwire.CopyData(rows, cols, tc.format)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(pg.Bytes(), mine) {
			t.Errorf("COPY %s:\n postgres %q\n pgwire   %q", tc.options, pg.Bytes(), mine)
		}
	}
	// A lone \. in a one-column row is quoted in CSV, elsewhere it is not.
	var pg bytes.Buffer
	if _, err := pc.CopyTo(ctx, &pg, `COPY (SELECT E'\\.' AS s) TO STDOUT (FORMAT csv)`); err != nil {
		t.Fatal(err)
	}
	mine, err := pgwire.CopyData([][]any{{`\.`}}, cols[1:2], pgwire.CopyFormat{CSV: true, Delimiter: ',', Null: ""})
	if err != nil || !bytes.Equal(pg.Bytes(), mine) {
		t.Errorf("one-column \\.: postgres %q, pgwire %q (%v)", pg.Bytes(), mine, err)
	}
}
