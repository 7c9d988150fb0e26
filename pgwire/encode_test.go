package pgwire_test

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/floe-dev/floe/pgwire"
	"github.com/floe-dev/floe/sqlstate"
)

// TestTextEncoding pins text output against what PostgreSQL 16 prints with
// default settings (DateStyle ISO, IntervalStyle postgres,
// extra_float_digits 1).
func TestTextEncoding(t *testing.T) {
	lmt := time.FixedZone("LMT", 75) // +00:01:15
	cases := []struct {
		oid  uint32
		v    any
		want string
	}{
		{pgtype.BoolOID, true, "t"},
		{pgtype.BoolOID, false, "f"},
		{pgtype.Int8OID, int64(math.MinInt64), "-9223372036854775808"},
		{pgtype.Int4OID, 42, "42"},
		{pgtype.Int2OID, int16(-7), "-7"},
		{pgtype.NumericOID, uint64(math.MaxUint64), "18446744073709551615"},
		{pgtype.OIDOID, uint32(4294967295), "4294967295"},
		{pgtype.Float8OID, 1.5, "1.5"},
		{pgtype.Float8OID, 1e20, "1e+20"},
		{pgtype.Float8OID, 1e15, "1e+15"},
		{pgtype.Float8OID, 999999999999999.0, "999999999999999"},
		{pgtype.Float8OID, 1e-4, "0.0001"},
		{pgtype.Float8OID, 1e-5, "1e-05"},
		{pgtype.Float8OID, pointOne + 0.2, "0.30000000000000004"},
		{pgtype.Float8OID, math.Copysign(0, -1), "-0"},
		{pgtype.Float8OID, math.NaN(), "NaN"},
		{pgtype.Float8OID, math.Inf(1), "Infinity"},
		{pgtype.Float8OID, math.Inf(-1), "-Infinity"},
		{pgtype.Float8OID, 123456789012345678.0, "1.2345678901234568e+17"},
		{pgtype.Float8OID, math.MaxFloat64, "1.7976931348623157e+308"},
		{pgtype.Float8OID, 5e-324, "5e-324"},
		{pgtype.Float4OID, float32(1e6), "1e+06"},
		{pgtype.Float4OID, float32(123456), "123456"},
		{pgtype.Float4OID, float32(0.1), "0.1"},
		{pgtype.Float4OID, 0.1, "0.1"}, // a float64 for a float4 column
		{pgtype.Float4OID, float32(1.5e-5), "1.5e-05"},
		{pgtype.Float4OID, float32(math.MaxFloat32), "3.4028235e+38"},
		{pgtype.NumericOID, "-12.3400", "-12.3400"},
		{pgtype.TextOID, "plain", "plain"},
		{pgtype.TextOID, []byte("raw"), "raw"},
		{pgtype.ByteaOID, []byte{}, `\x`},
		{pgtype.ByteaOID, []byte{0xde, 0xad, 0x00}, `\xdead00`},
		{pgtype.UUIDOID, [16]byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11},
			"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
		{pgtype.DateOID, time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), "2024-01-02"},
		{pgtype.DateOID, time.Date(-43, 3, 15, 0, 0, 0, 0, time.UTC), "0044-03-15 BC"},
		{pgtype.DateOID, time.Date(5, 1, 1, 0, 0, 0, 0, time.UTC), "0005-01-01"},
		{pgtype.DateOID, time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "10000-01-01"},
		{pgtype.TimestampOID, time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), "2024-01-02 03:04:05"},
		{pgtype.TimestampOID, time.Date(2024, 1, 2, 3, 4, 5, 120000, time.UTC), "2024-01-02 03:04:05.00012"},
		{pgtype.TimestampOID, time.Date(2024, 1, 2, 3, 4, 5, 999999999, time.UTC), "2024-01-02 03:04:06"},
		{pgtype.TimestamptzOID, time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC), "2024-01-02 03:04:05.123456+00"},
		{pgtype.TimestamptzOID, time.Date(2024, 1, 2, 3, 4, 5, 0, zone0530), "2024-01-02 03:04:05+05:30"},
		{pgtype.TimestamptzOID, time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("", -3*3600)), "2024-01-02 03:04:05-03"},
		{pgtype.TimestamptzOID, time.Date(1890, 1, 2, 3, 4, 5, 0, lmt), "1890-01-02 03:04:05+00:01:15"},
		{pgtype.TimestamptzOID, time.Date(0, 1, 2, 3, 4, 5, 0, time.UTC), "0001-01-02 03:04:05+00 BC"},
		{pgtype.TimeOID, 24 * time.Hour, "24:00:00"},
		{pgtype.TimeOID, time.Hour + 2*time.Minute + 3500*time.Millisecond, "01:02:03.5"},
		{pgtype.IntervalOID, pgtype.Interval{Valid: true}, "00:00:00"},
		{pgtype.IntervalOID, pgtype.Interval{Days: 1, Microseconds: 2 * 3600e6, Valid: true}, "1 day 02:00:00"},
		{pgtype.IntervalOID, pgtype.Interval{Months: 1, Valid: true}, "1 mon"},
		{pgtype.IntervalOID, pgtype.Interval{Months: 12, Valid: true}, "1 year"},
		{pgtype.IntervalOID, pgtype.Interval{Months: -1, Valid: true}, "-1 mons"},
		{pgtype.IntervalOID, pgtype.Interval{Months: -13, Valid: true}, "-1 years -1 mons"},
		{pgtype.IntervalOID, pgtype.Interval{Days: -1, Microseconds: 2 * 3600e6, Valid: true}, "-1 days +02:00:00"},
		{pgtype.IntervalOID, pgtype.Interval{Microseconds: -3600e6, Valid: true}, "-01:00:00"},
		{pgtype.IntervalOID, pgtype.Interval{Months: 14, Days: 3, Microseconds: 14706789000, Valid: true}, "1 year 2 mons 3 days 04:05:06.789"},
		{pgtype.IntervalOID, pgtype.Interval{Microseconds: 100 * 3600e6, Valid: true}, "100:00:00"},
		{pgtype.IntervalOID, 90 * time.Minute, "01:30:00"},
		{pgtype.Int4ArrayOID, []any{}, "{}"},
		{pgtype.Int4ArrayOID, []any{[]any{int32(1), int32(2)}, []any{int32(3), nil}}, "{{1,2},{3,NULL}}"},
		{pgtype.TextArrayOID, []any{"null", "a,b", "x y", "\t", `a"b\c`, "é"}, `{"null","a,b","x y","	","a\"b\\c",é}`},
		{pgtype.Float8ArrayOID, []any{math.NaN(), math.Inf(-1), 1e20}, "{NaN,-Infinity,1e+20}"},
		{pgtype.TimestamptzArrayOID, []any{time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}, `{"2024-01-02 03:04:05+00"}`},
		{pgtype.ByteaArrayOID, []any{[]byte{1}}, `{"\\x01"}`},
		{pgtype.BoolArrayOID, []any{true, false, nil}, "{t,f,NULL}"},
		{pgtype.JSONBOID, `{"a":1}`, `{"a":1}`},
	}
	for _, tc := range cases {
		got, err := pgwire.EncodeValue(tc.oid, 0, tc.v)
		if err != nil {
			t.Errorf("oid %d %#v: %v", tc.oid, tc.v, err)
			continue
		}
		if string(got) != tc.want {
			t.Errorf("oid %d %#v: got %q, want %q", tc.oid, tc.v, got, tc.want)
		}
	}
	if b, err := pgwire.EncodeValue(pgtype.Int8OID, 0, nil); err != nil || b != nil {
		t.Errorf("NULL: %q %v", b, err)
	}
}

// TestBinaryEncoding checks binary output against pgx's own encoder for an
// equivalent value.
func TestBinaryEncoding(t *testing.T) {
	m := pgtype.NewMap()
	one, three := int64(1), int64(3)
	a := "a"
	u := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	cases := []struct {
		oid    uint32
		v      any
		pgxVal any
	}{
		{pgtype.BoolOID, true, true},
		{pgtype.Int8OID, int64(-5), int64(-5)},
		{pgtype.Int4OID, int64(5), int32(5)},
		{pgtype.Int2OID, 7, int16(7)},
		{pgtype.OIDOID, uint32(99), uint32(99)},
		{pgtype.Float8OID, 1.25, 1.25},
		{pgtype.Float4OID, 1.25, float32(1.25)},
		{pgtype.Float4OID, float32(2.5), float32(2.5)},
		{pgtype.TextOID, "héllo", "héllo"},
		{pgtype.VarcharOID, "x", "x"},
		{pgtype.ByteaOID, []byte{0, 1}, []byte{0, 1}},
		{pgtype.DateOID, time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), pgtype.Date{Time: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), Valid: true}},
		{pgtype.DateOID, time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC), pgtype.Date{Time: time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC), Valid: true}},
		{pgtype.TimestampOID, time.Date(2024, 1, 2, 3, 4, 5, 6000, zone0530),
			pgtype.Timestamp{Time: time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC), Valid: true}},
		{pgtype.TimestamptzOID, time.Date(2024, 1, 2, 3, 4, 5, 6000, zone0530),
			pgtype.Timestamptz{Time: time.Date(2024, 1, 2, 3, 4, 5, 6000, zone0530), Valid: true}},
		{pgtype.TimestamptzOID, time.Date(1960, 1, 2, 3, 4, 5, 6000, time.UTC),
			pgtype.Timestamptz{Time: time.Date(1960, 1, 2, 3, 4, 5, 6000, time.UTC), Valid: true}},
		{pgtype.TimeOID, 3*time.Hour + time.Microsecond, pgtype.Time{Microseconds: 3*3600e6 + 1, Valid: true}},
		{pgtype.IntervalOID, pgtype.Interval{Microseconds: 5, Days: -2, Months: 3, Valid: true},
			pgtype.Interval{Microseconds: 5, Days: -2, Months: 3, Valid: true}},
		{pgtype.UUIDOID, u, pgtype.UUID{Bytes: u, Valid: true}},
		{pgtype.JSONBOID, `{"a": 1}`, `{"a": 1}`},
		{pgtype.JSONOID, `[1]`, `[1]`},
		{pgtype.NumericOID, "-12.3400", mustNumeric(t, "-12.3400")},
		{pgtype.NumericOID, int64(42), mustNumeric(t, "42")},
		{pgtype.NumericOID, "0.000123", mustNumeric(t, "0.000123")},
		{pgtype.NumericOID, "123456789012345678901234567890.5", mustNumeric(t, "123456789012345678901234567890.5")},
		{pgtype.NumericOID, "NaN", pgtype.Numeric{NaN: true, Valid: true}},
		{pgtype.Int8ArrayOID, []any{int64(1), nil, int64(3)}, []*int64{&one, nil, &three}},
		{pgtype.TextArrayOID, []any{"a", nil}, []*string{&a, nil}},
		{pgtype.Int8ArrayOID, []any{[]any{int64(1), int64(2)}, []any{int64(3), int64(4)}}, pgtype.Array[int64]{Elements: []int64{1, 2, 3, 4},
			Dims: []pgtype.ArrayDimension{{Length: 2, LowerBound: 1}, {Length: 2, LowerBound: 1}}, Valid: true}},
	}
	for _, tc := range cases {
		got, err := pgwire.EncodeValue(tc.oid, 1, tc.v)
		if err != nil {
			t.Errorf("oid %d %#v: %v", tc.oid, tc.v, err)
			continue
		}
		want, err := m.Encode(tc.oid, 1, tc.pgxVal, nil)
		if err != nil {
			t.Fatalf("pgx encode %#v: %v", tc.pgxVal, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("oid %d %#v:\n got  % x\n want % x", tc.oid, tc.v, got, want)
		}
	}

	// Numeric binary round trip, including forms pgx spells differently.
	for _, tc := range []struct{ in, want string }{
		{"0", "0"}, {"-0.00", "0.00"}, {"100000000", "100000000"}, {"1.5e3", "1500"}, {"-1.5E-3", "-0.0015"},
		{"12345.6789", "12345.6789"}, {"0.10", "0.10"}, {"-Infinity", "-Infinity"}, {".5", "0.5"},
		{"99999999999999999999999999999999999999", "99999999999999999999999999999999999999"},
	} {
		b, err := pgwire.EncodeValue(pgtype.NumericOID, 1, tc.in)
		if err != nil {
			t.Errorf("numeric %q: %v", tc.in, err)
			continue
		}
		got, err := pgwire.DecodeParam(pgtype.NumericOID, 1, b)
		if err != nil || got != tc.want {
			t.Errorf("numeric %q: round trip %v %v, want %q", tc.in, got, err, tc.want)
		}
		if strings.HasSuffix(tc.want, "Infinity") {
			continue
		}
		var n pgtype.Numeric
		if err := m.Scan(pgtype.NumericOID, 1, b, &n); err != nil || numericRat(n).Cmp(ratOf(t, tc.want)) != 0 {
			t.Errorf("numeric %q: pgx reads %v %v", tc.in, n, err)
		}
	}
	for _, bad := range []string{"", "1.2.3", "abc", "1e", "--1", "1e99999"} {
		if _, err := pgwire.EncodeValue(pgtype.NumericOID, 1, bad); err == nil {
			t.Errorf("numeric %q encoded", bad)
		}
	}

	// A string in binary format is the text form of the column's type.
	for _, tc := range []struct {
		oid  uint32
		text string
		v    any
	}{
		{pgtype.Int4OID, "12", int32(12)},
		{pgtype.Int8OID, "-5", int64(-5)},
		{pgtype.BoolOID, "t", true},
		{pgtype.Float8OID, "1.5", 1.5},
		{pgtype.DateOID, "2024-01-02", time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)},
		{pgtype.TimestamptzOID, "2024-01-02 03:04:05+05:30", time.Date(2024, 1, 1, 21, 34, 5, 0, time.UTC)},
		{pgtype.UUIDOID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
			[16]byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11}},
		{pgtype.ByteaOID, `02`, []byte(`02`)}, // bytea: a string is the bytes
	} {
		got, err := pgwire.EncodeValue(tc.oid, 1, tc.text)
		want, err2 := pgwire.EncodeValue(tc.oid, 1, tc.v)
		if err != nil || err2 != nil || !bytes.Equal(got, want) {
			t.Errorf("oid %d %q: % x (%v), want % x (%v)", tc.oid, tc.text, got, err, want, err2)
		}
	}

	// An empty array has no dimensions, as PostgreSQL's array_send.
	if got, _ := pgwire.EncodeValue(pgtype.Int8ArrayOID, 1, []any{}); !bytes.Equal(got, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20}) {
		t.Errorf("empty array % x", got)
	}

	// Values that do not fit their column are errors, not garbage.
	for _, tc := range []struct {
		oid uint32
		v   any
	}{
		{pgtype.Int2OID, int64(70000)},
		{pgtype.Int4OID, "twelve"},
		{pgtype.IntervalOID, "1 day"},
		{pgtype.Int8ArrayOID, []any{[]any{int64(1)}, []any{int64(1), int64(2)}}},
		{pgtype.Int8ArrayOID, []any{[]any{int64(1)}, int64(2)}},
	} {
		if b, err := pgwire.EncodeValue(tc.oid, 1, tc.v); err == nil {
			t.Errorf("oid %d %#v encoded as % x", tc.oid, tc.v, b)
		}
	}
}

var pointOne = 0.1

func mustNumeric(tb testing.TB, s string) pgtype.Numeric {
	var n pgtype.Numeric
	if err := n.Scan(s); err != nil {
		tb.Fatal(err)
	}
	return n
}

func TestDecodeParams(t *testing.T) {
	m := pgtype.NewMap()
	bin := func(oid uint32, v any) []byte {
		b, err := m.Encode(oid, 1, v, nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	utc := time.UTC
	cases := []struct {
		oid    uint32
		format int16
		src    []byte
		want   any
	}{
		{pgtype.Int8OID, 0, []byte(" 42 "), int64(42)},
		{pgtype.Int4OID, 0, []byte("-7"), int32(-7)},
		{pgtype.Int2OID, 1, []byte{0xff, 0xfe}, int16(-2)},
		{pgtype.Int8OID, 1, bin(pgtype.Int8OID, int64(-1)), int64(-1)},
		{pgtype.Float8OID, 0, []byte("-Infinity"), math.Inf(-1)},
		{pgtype.Float8OID, 0, []byte("1e-3"), 0.001},
		{pgtype.Float4OID, 1, bin(pgtype.Float4OID, float32(1.5)), float32(1.5)},
		{pgtype.BoolOID, 0, []byte("yes"), true},
		{pgtype.BoolOID, 0, []byte(" OFF"), false},
		{pgtype.BoolOID, 0, []byte("t"), true},
		{pgtype.BoolOID, 1, []byte{1}, true},
		{pgtype.TextOID, 0, []byte("héllo"), "héllo"},
		{0, 1, []byte("unknown"), "unknown"},
		{pgtype.ByteaOID, 0, []byte(`\x01Ff`), []byte{1, 0xff}},
		{pgtype.ByteaOID, 0, []byte(`a\\b\001`), []byte{'a', '\\', 'b', 1}},
		{pgtype.ByteaOID, 1, []byte{9}, []byte{9}},
		{pgtype.NumericOID, 0, []byte(" 12.50 "), "12.50"},
		{pgtype.NumericOID, 0, []byte("1e3"), "1000"},
		{pgtype.NumericOID, 0, []byte("-1.5e-3"), "-0.0015"},
		{pgtype.NumericOID, 0, []byte("-.5e1"), "-5"},
		{pgtype.NumericOID, 0, []byte("-0.00"), "0.00"},
		{pgtype.NumericOID, 0, []byte("nan"), "NaN"},
		{pgtype.NumericOID, 1, bin(pgtype.NumericOID, mustNumeric(t, "-12.3400")), "-12.3400"},
		{pgtype.NumericOID, 1, bin(pgtype.NumericOID, mustNumeric(t, "0.000123")), "0.000123"},
		{pgtype.NumericOID, 1, bin(pgtype.NumericOID, mustNumeric(t, "123456789012345678901234567890")), "123456789012345678901234567890"},
		{pgtype.NumericOID, 1, bin(pgtype.NumericOID, pgtype.Numeric{NaN: true, Valid: true}), "NaN"},
		{pgtype.DateOID, 0, []byte("2024-01-02"), time.Date(2024, 1, 2, 0, 0, 0, 0, utc)},
		{pgtype.DateOID, 0, []byte("2023-12-31 00:00:00Z"), time.Date(2023, 12, 31, 0, 0, 0, 0, utc)},
		{pgtype.DateOID, 0, []byte("0044-03-15 BC"), time.Date(-43, 3, 15, 0, 0, 0, 0, utc)},
		{pgtype.DateOID, 1, bin(pgtype.DateOID, time.Date(1999, 12, 31, 0, 0, 0, 0, utc)), time.Date(1999, 12, 31, 0, 0, 0, 0, utc)},
		{pgtype.TimestampOID, 0, []byte("2024-01-02 03:04:05.1234567"), time.Date(2024, 1, 2, 3, 4, 5, 123457000, utc)},
		{pgtype.TimestampOID, 0, []byte("2024-01-02 03:04:05+02"), time.Date(2024, 1, 2, 3, 4, 5, 0, utc)},
		{pgtype.TimestamptzOID, 0, []byte("2024-01-02 03:04:05.5+05:30"), time.Date(2024, 1, 1, 21, 34, 5, 500000000, utc)},
		{pgtype.TimestamptzOID, 0, []byte("2024-01-02T03:04:05Z"), time.Date(2024, 1, 2, 3, 4, 5, 0, utc)},
		{pgtype.TimestamptzOID, 0, []byte("2024-01-02 03:04"), time.Date(2024, 1, 2, 3, 4, 0, 0, utc)},
		{pgtype.TimestamptzOID, 0, []byte("2024-01-02 03:04:05-0330"), time.Date(2024, 1, 2, 6, 34, 5, 0, utc)},
		{pgtype.TimestamptzOID, 1, bin(pgtype.TimestamptzOID, time.Date(1950, 1, 2, 3, 4, 5, 6000, zone0530)), time.Date(1950, 1, 1, 21, 34, 5, 6000, utc)},
		{pgtype.UUIDOID, 0, []byte("{A0EEBC99-9C0B4EF8-BB6D6BB9-BD380A11}"),
			[16]byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11}},
		{pgtype.UUIDOID, 0, []byte("a0eebc999c0b4ef8bb6d6bb9bd380a11"),
			[16]byte{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11}},
		{pgtype.JSONBOID, 1, []byte("\x01{}"), "{}"},
		{pgtype.JSONOID, 1, []byte("[]"), "[]"},
		{pgtype.InetOID, 0, []byte("10.0.0.1"), "10.0.0.1"},
		{pgtype.InetOID, 1, []byte{2, 32, 0, 4, 10, 0, 0, 1}, []byte{2, 32, 0, 4, 10, 0, 0, 1}},
		{pgtype.Int8OID, 0, nil, nil},
	}
	for _, tc := range cases {
		got, err := pgwire.DecodeParam(tc.oid, tc.format, tc.src)
		if err != nil {
			t.Errorf("oid %d %q: %v", tc.oid, tc.src, err)
			continue
		}
		if gt, ok := got.(time.Time); ok {
			if wt := tc.want.(time.Time); !gt.Equal(wt) || gt.Location() != time.UTC {
				t.Errorf("oid %d %q: got %v, want %v", tc.oid, tc.src, gt, wt)
			}
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("oid %d %q: got %#v, want %#v", tc.oid, tc.src, got, tc.want)
		}
	}

	errs := []struct {
		oid    uint32
		format int16
		src    string
		code   string
	}{
		{pgtype.Int8OID, 0, "abc", "22P02"},
		{pgtype.Int4OID, 0, "99999999999", "22003"},
		{pgtype.Int4OID, 1, "abc", "22P03"},
		{pgtype.Float8OID, 0, "1e400", "22003"},
		{pgtype.Float8OID, 0, "one", "22P02"},
		{pgtype.BoolOID, 0, "maybe", "22P02"},
		{pgtype.BoolOID, 0, "o", "22P02"},
		{pgtype.NumericOID, 0, "1.2.3", "22P02"},
		{pgtype.NumericOID, 0, "", "22P02"},
		{pgtype.NumericOID, 1, "\x00\x01", "22P03"},
		{pgtype.ByteaOID, 0, `\xzz`, "22P02"},
		{pgtype.ByteaOID, 0, `\9`, "22P02"},
		{pgtype.DateOID, 0, "2024-02-30", "22007"},
		{pgtype.DateOID, 0, "infinity", "0A000"},
		{pgtype.TimestamptzOID, 0, "2024-01-02 25:00:00", "22007"},
		{pgtype.TimestamptzOID, 0, "yesterday", "22007"},
		{pgtype.UUIDOID, 0, "a0eebc99-9c0b", "22P02"},
		{pgtype.UUIDOID, 0, "a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11", "22P02"},
		{pgtype.TextOID, 0, "bad \xff utf8", "22021"},
		{pgtype.TextOID, 0, "nul \x00 byte", "22021"},
		{pgtype.JSONBOID, 1, "\x02{}", "22P03"},
		{pgtype.Int8OID, 2, "1", "22023"},
	}
	for _, tc := range errs {
		_, err := pgwire.DecodeParam(tc.oid, tc.format, []byte(tc.src))
		if got := sqlstate.Code(err); err == nil || got != tc.code {
			t.Errorf("oid %d %q: got %v (%s), want %s", tc.oid, tc.src, err, got, tc.code)
		}
	}
}
