package pgwire_test

import (
	"context"
	"math"
	"math/big"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/floe-dev/floe/pgwire"
)

// scannedRow holds one "ROWS n" row as pgx scans it.
type scannedRow struct {
	b    bool
	i2   int16
	i4   int32
	i8   int64
	f4   float32
	f8   float64
	num  pgtype.Numeric
	t    string
	vc   string
	bpc  string
	nm   string
	by   []byte
	d    time.Time
	tm   pgtype.Time
	ts   time.Time
	tstz time.Time
	iv   pgtype.Interval
	u    pgtype.UUID
	j    string
	jb   string
	o    uint32
	ai8  []*int64
	at   []*string
	nul  *string
}

func (r *scannedRow) targets() []any {
	return []any{&r.b, &r.i2, &r.i4, &r.i8, &r.f4, &r.f8, &r.num, &r.t, &r.vc, &r.bpc, &r.nm, &r.by,
		&r.d, &r.tm, &r.ts, &r.tstz, &r.iv, &r.u, &r.j, &r.jb, &r.o, &r.ai8, &r.at, &r.nul}
}

func ratOf(tb testing.TB, s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		tb.Fatalf("bad decimal %q", s)
	}
	return r
}

func numericRat(n pgtype.Numeric) *big.Rat {
	r := new(big.Rat).SetInt(n.Int)
	e := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(n.Exp))), nil)
	if n.Exp >= 0 {
		return r.Mul(r, new(big.Rat).SetInt(e))
	}
	return r.Quo(r, new(big.Rat).SetInt(e))
}

func abs(x int32) int32 {
	if x < 0 {
		return -x
	}
	return x
}

func derefAll[T any](ps []*T) []any {
	out := make([]any, len(ps))
	for i, p := range ps {
		if p != nil {
			out[i] = *p
		}
	}
	return out
}

func checkRow(t *testing.T, i int, got *scannedRow) {
	t.Helper()
	want := allTypesRow(i)
	eq := func(name string, g, w any) {
		t.Helper()
		if !reflect.DeepEqual(g, w) {
			t.Errorf("row %d %s: got %#v, want %#v", i, name, g, w)
		}
	}
	eq("bool", got.b, want[0])
	eq("int2", got.i2, want[1])
	eq("int4", got.i4, want[2])
	eq("int8", got.i8, want[3])
	eq("float4", got.f4, want[4])
	if w := want[5].(float64); got.f8 != w && !(math.IsNaN(w) && math.IsNaN(got.f8)) {
		t.Errorf("row %d float8: got %v, want %v", i, got.f8, w)
	}
	if numericRat(got.num).Cmp(ratOf(t, want[6].(string))) != 0 {
		t.Errorf("row %d numeric: got %v, want %v", i, numericRat(got.num), want[6])
	}
	eq("text", got.t, want[7])
	eq("varchar", got.vc, want[8])
	eq("bpchar", got.bpc, want[9])
	eq("name", got.nm, want[10])
	eq("bytea", got.by, want[11])
	if !got.d.Equal(want[12].(time.Time)) {
		t.Errorf("row %d date: got %v, want %v", i, got.d, want[12])
	}
	eq("time", got.tm.Microseconds, int64(want[13].(time.Duration)/time.Microsecond))
	if !got.ts.Equal(want[14].(time.Time)) {
		t.Errorf("row %d timestamp: got %v, want %v", i, got.ts, want[14])
	}
	if !got.tstz.Equal(want[15].(time.Time)) {
		t.Errorf("row %d timestamptz: got %v, want %v", i, got.tstz, want[15])
	}
	eq("interval", got.iv, want[16])
	eq("uuid", got.u.Bytes, want[17])
	eq("json", got.j, want[18])
	eq("jsonb", got.jb, want[19])
	eq("oid", got.o, want[20])
	eq("int8[]", derefAll(got.ai8), want[21])
	eq("text[]", derefAll(got.at), want[22])
	if got.nul != nil {
		t.Errorf("row %d null: got %q", i, *got.nul)
	}
}

// TestAllTypesEveryMode reads every supported type through pgx in the four
// query modes: text results (simple protocol, exec) and binary results
// (cache statement, describe exec).
func TestAllTypesEveryMode(t *testing.T) {
	ts := MustStartServer(t, pgwire.Config{})
	for _, mode := range allModes {
		t.Run(mode.String(), func(t *testing.T) {
			conn := ts.MustConnect(t, mode)
			rows, err := conn.Query(context.Background(), "ROWS 8")
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for rows.Next() {
				var r scannedRow
				if err := rows.Scan(r.targets()...); err != nil {
					t.Fatalf("row %d: %v", n, err)
				}
				checkRow(t, n, &r)
				n++
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if n != 8 {
				t.Fatalf("got %d rows", n)
			}
			if tag := rows.CommandTag().String(); tag != "SELECT 8" {
				t.Errorf("tag %q", tag)
			}
			// Formats the server used, as the client asked for them.
			fds := rows.FieldDescriptions()
			if len(fds) != len(allTypeColumns) || fds[3].Name != "i8" || fds[3].DataTypeOID != pgtype.Int8OID {
				t.Errorf("field descriptions %+v", fds)
			}
		})
	}
}

// TestTextOutputLikePostgres pins the text form of row 1 and row 0 as
// PostgreSQL prints them.
func TestTextOutputLikePostgres(t *testing.T) {
	ts := MustStartServer(t, pgwire.Config{})
	conn := ts.MustConnect(t, pgx.QueryExecModeSimpleProtocol)
	rows, err := conn.Query(context.Background(), "ROWS 3")
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for rows.Next() {
		var row []string
		for _, v := range rows.RawValues() {
			if v == nil {
				row = append(row, "<NULL>")
			} else {
				row = append(row, string(v))
			}
		}
		got = append(got, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"t", "-15000", "-1000", "-5", "0.25", "1.5", "-3.000", `row 0 "q" {x}, é`, "v0", "c", "n0", `\x0000ff5c`,
			"2024-01-02", "00:00:00.123456", "2024-01-02 03:04:05", "2024-01-02 03:04:05.123456+05:30",
			"-2 mons -1 days +00:00:00.000001", "00010203-0405-0607-0809-0a0b0c0d0e0f",
			`{"a": [1, 2, "x"]}`, `{"b": true}`, "16384", "{0,NULL,-1}",
			`{a,"","NULL","with \"quote\"","back\\slash","sp ace",NULL,"{}"}`, "<NULL>"},
		{"f", "-14999", "-993", "999999999995", "1.25", "1e+20", "-2.001", `row 1 "q" {x}, é`, "v1", "c", "n1", `\x0100ff5c`,
			"2024-01-03", "00:00:01.123456", "2024-01-02 03:04:05.001", "2024-01-02 03:04:06.123456+05:30",
			"11 mons 01:00:00.000001", "01010203-0405-0607-0809-0a0b0c0d0e0f",
			`{"a": [1, 2, "x"]}`, `{"b": true}`, "16385", "{1,NULL,-1}",
			`{a,"","NULL","with \"quote\"","back\\slash","sp ace",NULL,"{}"}`, "<NULL>"},
		{"t", "-14998", "-986", "1999999999995", "2.25", "-1.2345e-05", "-1.002", `row 2 "q" {x}, é`, "v2", "c", "n2", `\x0200ff5c`,
			"2024-01-04", "00:00:02.123456", "2024-01-02 03:04:05.002", "2024-01-02 03:04:07.123456+05:30",
			"2 years 1 day 02:00:00.000001", "02010203-0405-0607-0809-0a0b0c0d0e0f",
			`{"a": [1, 2, "x"]}`, `{"b": true}`, "16386", "{2,NULL,-1}",
			`{a,"","NULL","with \"quote\"","back\\slash","sp ace",NULL,"{}"}`, "<NULL>"},
	}
	if !reflect.DeepEqual(got, want) {
		for i := range want {
			for j := range want[i] {
				if i < len(got) && j < len(got[i]) && got[i][j] != want[i][j] {
					t.Errorf("row %d col %s: got %q, want %q", i, allTypeColumns[j].Name, got[i][j], want[i][j])
				}
			}
		}
		if len(got) != len(want) {
			t.Errorf("got %d rows", len(got))
		}
	}
}

// TestParamEchoEveryMode sends parameters of every type and reads them back:
// binary parameters (cache statement, describe exec), text parameters
// (exec), and literals interpolated by pgx (simple protocol).
func TestParamEchoEveryMode(t *testing.T) {
	ts := MustStartServer(t, pgwire.Config{})
	var num pgtype.Numeric
	if err := num.Scan("-12.345"); err != nil {
		t.Fatal(err)
	}
	date := time.Date(2023, 12, 31, 0, 0, 0, 0, time.UTC)
	tsVal := time.Date(2024, 2, 29, 23, 59, 58, 123456000, time.UTC)
	tstz := time.Date(2024, 2, 29, 23, 59, 58, 500000000, zone0530)
	u := [16]byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	iv := pgtype.Interval{Microseconds: 3723_000_000, Days: 4, Months: 14, Valid: true}
	tm := pgtype.Time{Microseconds: 45296_789_000, Valid: true}
	const sql = "SELECT $1::int8, $2::int4, $3::int2, $4::float8, $5::float4, $6::bool, $7::text, $8::bytea, " +
		"$9::numeric, $10::date, $11::timestamp, $12::timestamptz, $13::uuid, $14::json, $15::jsonb, " +
		"$16::interval, $17::time, $18::int8[], $19::text[], $20::varchar, $21::int8"
	args := []any{int64(-42), int32(7), int16(-3), 1.5e-7, float32(2.25), true, "hé'llo \"x\"", []byte{0, 1, 2, '\\'},
		num, date, tsVal, tstz, pgtype.UUID{Bytes: u, Valid: true}, `{"k": "v"}`, `[1, 2]`,
		iv, tm, []int64{1, -2, 3}, []string{"a b", "", `q"`}, "vc", nil}
	for _, mode := range allModes {
		t.Run(mode.String(), func(t *testing.T) {
			conn := ts.MustConnect(t, mode)
			var (
				i8    int64
				i4    int32
				i2    int16
				f8    float64
				f4    float32
				b     bool
				s     string
				by    []byte
				n     pgtype.Numeric
				d     time.Time
				tsv   time.Time
				tstzv time.Time
				uv    pgtype.UUID
				j     string
				jb    string
				ivv   pgtype.Interval
				tmv   pgtype.Time
				ai8   []int64
				at    []string
				vc    string
				null  *int64
			)
			err := conn.QueryRow(context.Background(), sql, args...).Scan(&i8, &i4, &i2, &f8, &f4, &b, &s, &by,
				&n, &d, &tsv, &tstzv, &uv, &j, &jb, &ivv, &tmv, &ai8, &at, &vc, &null)
			if err != nil {
				t.Fatal(err)
			}
			check := func(name string, got, want any) {
				t.Helper()
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: got %#v, want %#v", name, got, want)
				}
			}
			check("int8", i8, args[0])
			check("int4", i4, args[1])
			check("int2", i2, args[2])
			check("float8", f8, args[3])
			check("float4", f4, args[4])
			check("bool", b, args[5])
			check("text", s, args[6])
			check("bytea", by, args[7])
			if numericRat(n).Cmp(ratOf(t, "-12.345")) != 0 {
				t.Errorf("numeric: got %v", numericRat(n))
			}
			if !d.Equal(date) {
				t.Errorf("date: got %v", d)
			}
			if !tsv.Equal(tsVal) {
				t.Errorf("timestamp: got %v", tsv)
			}
			if !tstzv.Equal(tstz) {
				t.Errorf("timestamptz: got %v, want %v", tstzv, tstz)
			}
			check("uuid", uv.Bytes, u)
			check("json", j, args[13])
			check("jsonb", jb, args[14])
			check("interval", ivv, iv)
			check("time", tmv, tm)
			check("int8[]", ai8, args[17])
			check("text[]", at, args[18])
			check("varchar", vc, args[19])
			if null != nil {
				t.Errorf("null: got %v", *null)
			}
		})
	}
}
