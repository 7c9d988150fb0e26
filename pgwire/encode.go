package pgwire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// Format codes of the protocol.
const (
	textFormat   int16 = 0
	binaryFormat int16 = 1
)

// pgEpochUnix is 2000-01-01 00:00:00 UTC, PostgreSQL's epoch, in Unix seconds.
const (
	pgEpochUnix = 946684800
	pgEpochDays = 10957 // days from 1970-01-01 to 2000-01-01
)

// errNullValue reports that a fallback encoding produced SQL NULL (a nil
// pointer or a driver.Valuer returning nil).
var errNullValue = errors.New("null value")

// codec encodes result values and decodes parameters for one connection. It
// is not safe for concurrent use. The fast paths below cover the Go types of
// doc.go; anything else goes to a pgtype.Map, created on first use.
type codec struct {
	m       *pgtype.Map
	scratch []byte // array elements, before quoting
}

func (c *codec) typeMap() *pgtype.Map {
	if c.m == nil {
		c.m = pgtype.NewMap()
	}
	return c.m
}

// appendField appends one DataRow field: the int32 length (-1 for NULL) and
// the value encoded for oid in format. On error buf is returned unchanged.
func (c *codec) appendField(buf []byte, oid uint32, format int16, v any) ([]byte, error) {
	if v == nil {
		return append(buf, 0xff, 0xff, 0xff, 0xff), nil
	}
	lp := len(buf)
	buf = append(buf, 0, 0, 0, 0)
	var err error
	if format == textFormat {
		buf, err = c.appendText(buf, oid, v)
	} else {
		buf, err = c.appendBinary(buf, oid, v)
	}
	if err != nil {
		if err == errNullValue {
			return append(buf[:lp], 0xff, 0xff, 0xff, 0xff), nil
		}
		return buf[:lp], err
	}
	n := len(buf) - lp - 4
	if n > math.MaxInt32 {
		return buf[:lp], errors.New("value too large")
	}
	binary.BigEndian.PutUint32(buf[lp:], uint32(n))
	return buf, nil
}

// appendText appends the PostgreSQL text form of v as a value of type oid.
func (c *codec) appendText(buf []byte, oid uint32, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		// Whatever the OID: a string is the text form itself (numeric as
		// decimal text, json, ...).
		return append(buf, x...), nil
	case int64:
		return strconv.AppendInt(buf, x, 10), nil
	case int32:
		return strconv.AppendInt(buf, int64(x), 10), nil
	case float64:
		if oid == pgtype.Float4OID {
			return appendFloat(buf, float64(float32(x)), 32), nil
		}
		return appendFloat(buf, x, 64), nil
	case bool:
		if x {
			return append(buf, 't'), nil
		}
		return append(buf, 'f'), nil
	case time.Time:
		return appendTimeText(buf, oid, x), nil
	case []byte:
		if oid == pgtype.ByteaOID {
			return appendByteaHex(buf, x), nil
		}
		return append(buf, x...), nil // the text form itself
	case int16:
		return strconv.AppendInt(buf, int64(x), 10), nil
	case float32:
		return appendFloat(buf, float64(x), 32), nil
	case int, int8, uint8, uint16, uint32, uint64, uint:
		if i, ok := asInt64(v); ok {
			return strconv.AppendInt(buf, i, 10), nil
		}
		if u, ok := x.(uint); ok {
			return strconv.AppendUint(buf, uint64(u), 10), nil
		}
		return strconv.AppendUint(buf, x.(uint64), 10), nil
	case time.Duration:
		if oid == pgtype.IntervalOID {
			return appendIntervalText(buf, pgtype.Interval{Microseconds: durationMicros(x), Valid: true}), nil
		}
		return appendTimeOfDay(buf, durationMicros(x)), nil
	case pgtype.Interval:
		if !x.Valid {
			return buf, errNullValue
		}
		return appendIntervalText(buf, x), nil
	case [16]byte:
		return appendUUIDText(buf, x), nil
	case []any:
		elem := arrayElemOID(oid)
		return c.appendArrayText(buf, elem, x)
	}
	return c.fallback(buf, oid, textFormat, v)
}

// appendBinary appends the PostgreSQL binary form of v as a value of type oid.
func (c *codec) appendBinary(buf []byte, oid uint32, v any) ([]byte, error) {
	switch x := v.(type) {
	case int64:
		return c.appendIntBinary(buf, oid, x)
	case int32:
		return c.appendIntBinary(buf, oid, int64(x))
	case float64:
		return c.appendFloatBinary(buf, oid, x)
	case string:
		switch {
		case isTextLike(oid), oid == pgtype.ByteaOID:
			return append(buf, x...), nil
		case oid == pgtype.JSONBOID:
			return append(append(buf, 1), x...), nil
		case oid == pgtype.NumericOID:
			return appendNumericBinary(buf, x)
		}
		// The text form of another type (int8, date, uuid, ...): parse it
		// as a parameter of that type, then send that value.
		if v2, err := c.decodeParam(1, oid, textFormat, []byte(x)); err == nil {
			if _, still := v2.(string); !still && v2 != nil {
				return c.appendBinary(buf, oid, v2)
			}
		}
	case bool:
		if oid == pgtype.BoolOID {
			if x {
				return append(buf, 1), nil
			}
			return append(buf, 0), nil
		}
	case time.Time:
		switch oid {
		case pgtype.TimestamptzOID:
			return binary.BigEndian.AppendUint64(buf, uint64(timeMicros(x))), nil
		case pgtype.TimestampOID:
			_, off := x.Zone()
			return binary.BigEndian.AppendUint64(buf, uint64(timeMicros(x)+int64(off)*1e6)), nil
		case pgtype.DateOID:
			y, m, d := x.Date()
			return binary.BigEndian.AppendUint32(buf, uint32(int32(civilDays(y, m, d)-pgEpochDays))), nil
		case pgtype.TimeOID:
			h, m, s := x.Clock()
			us := (int64(h)*3600+int64(m)*60+int64(s))*1e6 + int64(x.Nanosecond()/1000)
			return binary.BigEndian.AppendUint64(buf, uint64(us)), nil
		}
	case []byte:
		if oid == pgtype.JSONBOID {
			return append(append(buf, 1), x...), nil
		}
		return append(buf, x...), nil // bytea, or the binary form itself
	case int16:
		return c.appendIntBinary(buf, oid, int64(x))
	case float32:
		return c.appendFloatBinary(buf, oid, float64(x))
	case int, int8, uint8, uint16, uint32, uint64, uint:
		if i, ok := asInt64(v); ok {
			return c.appendIntBinary(buf, oid, i)
		}
	case time.Duration:
		switch oid {
		case pgtype.TimeOID:
			return binary.BigEndian.AppendUint64(buf, uint64(durationMicros(x))), nil
		case pgtype.IntervalOID:
			buf = binary.BigEndian.AppendUint64(buf, uint64(durationMicros(x)))
			return append(buf, 0, 0, 0, 0, 0, 0, 0, 0), nil
		}
	case pgtype.Interval:
		if oid == pgtype.IntervalOID {
			if !x.Valid {
				return buf, errNullValue
			}
			buf = binary.BigEndian.AppendUint64(buf, uint64(x.Microseconds))
			buf = binary.BigEndian.AppendUint32(buf, uint32(x.Days))
			return binary.BigEndian.AppendUint32(buf, uint32(x.Months)), nil
		}
	case [16]byte:
		if oid == pgtype.UUIDOID {
			return append(buf, x[:]...), nil
		}
	case []any:
		if elem := arrayElemOID(oid); elem != 0 {
			return c.appendArrayBinary(buf, elem, x)
		}
	}
	return c.fallback(buf, oid, binaryFormat, v)
}

// fallback encodes v with pgtype. It is the slow path for Go types without a
// fast path above.
func (c *codec) fallback(buf []byte, oid uint32, format int16, v any) ([]byte, error) {
	nb, err := c.typeMap().Encode(oid, format, v, buf)
	if err != nil {
		return buf, err
	}
	if nb == nil {
		return buf, errNullValue
	}
	return nb, nil
}

func asInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case int16:
		return int64(x), true
	case int8:
		return int64(x), true
	case int:
		return int64(x), true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	case uint:
		if uint64(x) <= math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}

func (c *codec) appendIntBinary(buf []byte, oid uint32, i int64) ([]byte, error) {
	switch oid {
	case pgtype.Int8OID:
		return binary.BigEndian.AppendUint64(buf, uint64(i)), nil
	case pgtype.Int4OID:
		if i < math.MinInt32 || i > math.MaxInt32 {
			return buf, fmt.Errorf("%d out of range for int4", i)
		}
		return binary.BigEndian.AppendUint32(buf, uint32(i)), nil
	case pgtype.Int2OID:
		if i < math.MinInt16 || i > math.MaxInt16 {
			return buf, fmt.Errorf("%d out of range for int2", i)
		}
		return binary.BigEndian.AppendUint16(buf, uint16(i)), nil
	case pgtype.OIDOID:
		if i < 0 || i > math.MaxUint32 {
			return buf, fmt.Errorf("%d out of range for oid", i)
		}
		return binary.BigEndian.AppendUint32(buf, uint32(i)), nil
	case pgtype.Float8OID:
		return binary.BigEndian.AppendUint64(buf, math.Float64bits(float64(i))), nil
	case pgtype.Float4OID:
		return binary.BigEndian.AppendUint32(buf, math.Float32bits(float32(i))), nil
	case pgtype.NumericOID:
		var tmp [24]byte
		return appendNumericBinary(buf, string(strconv.AppendInt(tmp[:0], i, 10)))
	}
	return buf, fmt.Errorf("cannot encode an integer as oid %d", oid)
}

func (c *codec) appendFloatBinary(buf []byte, oid uint32, f float64) ([]byte, error) {
	switch oid {
	case pgtype.Float8OID:
		return binary.BigEndian.AppendUint64(buf, math.Float64bits(f)), nil
	case pgtype.Float4OID:
		return binary.BigEndian.AppendUint32(buf, math.Float32bits(float32(f))), nil
	case pgtype.NumericOID:
		return appendNumericBinary(buf, strconv.FormatFloat(f, 'f', -1, 64))
	}
	return buf, fmt.Errorf("cannot encode a float as oid %d", oid)
}

// isTextLike reports types whose text and binary forms are the same bytes.
func isTextLike(oid uint32) bool {
	switch oid {
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID,
		pgtype.JSONOID, pgtype.UnknownOID, 0:
		return true
	}
	return false
}

// appendFloat formats f as PostgreSQL 12+ does with extra_float_digits >= 1:
// the shortest text that reads back exactly, in fixed notation when the
// decimal exponent is in [-4, 15) (float8) or [-4, 6) (float4), else
// exponential (1e+20, 1.5e-05).
func appendFloat(buf []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(buf, "NaN"...)
	case math.IsInf(f, 1):
		return append(buf, "Infinity"...)
	case math.IsInf(f, -1):
		return append(buf, "-Infinity"...)
	}
	a := math.Abs(f)
	lo, hi := 1e-4, 1e15
	if bits == 32 {
		lo, hi = float64(float32(1e-4)), 1e6
	}
	if a == 0 || (a >= lo && a < hi) {
		return strconv.AppendFloat(buf, f, 'f', -1, bits)
	}
	return strconv.AppendFloat(buf, f, 'e', -1, bits)
}

const hexDigits = "0123456789abcdef"

func appendByteaHex(buf, b []byte) []byte {
	buf = append(buf, '\\', 'x')
	for _, c := range b {
		buf = append(buf, hexDigits[c>>4], hexDigits[c&15])
	}
	return buf
}

func appendUUIDText(buf []byte, u [16]byte) []byte {
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			buf = append(buf, '-')
		}
		buf = append(buf, hexDigits[c>>4], hexDigits[c&15])
	}
	return buf
}

// appendPadded appends n (>= 0) in decimal, zero-padded to width digits.
func appendPadded(buf []byte, n int64, width int) []byte {
	var tmp [20]byte
	i := len(tmp)
	for n >= 10 || width > 1 {
		i--
		tmp[i] = byte('0' + n%10)
		n /= 10
		width--
	}
	i--
	tmp[i] = byte('0' + n)
	return append(buf, tmp[i:]...)
}

// appendFraction appends ".ffffff" with trailing zeros removed, or nothing
// when us is 0. us is in [0, 1e6).
func appendFraction(buf []byte, us int64) []byte {
	if us == 0 {
		return buf
	}
	buf = append(buf, '.')
	digits := 6
	for us%10 == 0 {
		us /= 10
		digits--
	}
	return appendPadded(buf, us, digits)
}

// appendTimeText formats t as PostgreSQL does with DateStyle ISO: date
// "2024-01-02", timestamp "2024-01-02 03:04:05.123456", timestamptz with the
// offset of t's location ("+00", "+05:30"), time "03:04:05". Years before 1
// get " BC" as in PostgreSQL.
func appendTimeText(buf []byte, oid uint32, t time.Time) []byte {
	if t.Nanosecond()%1000 != 0 {
		t = t.Round(time.Microsecond)
	}
	// One zone lookup, then calendar arithmetic on the local seconds
	// (faster than t.Date, t.Clock and t.Zone separately).
	_, off := t.Zone()
	sec := t.Unix() + int64(off)
	days := sec / 86400
	if sec%86400 < 0 {
		days--
	}
	secOfDay := sec - days*86400
	us := int64(t.Nanosecond() / 1000)
	if oid == pgtype.TimeOID {
		return appendTimeOfDay(buf, secOfDay*1e6+us)
	}
	y, mo, d := civilFromDays(days)
	bc := y <= 0
	if bc {
		y = 1 - y
	}
	buf = appendPadded(buf, y, 4)
	buf = append(buf, '-')
	buf = appendPadded(buf, mo, 2)
	buf = append(buf, '-')
	buf = appendPadded(buf, d, 2)
	if oid != pgtype.DateOID {
		buf = append(buf, ' ')
		buf = appendPadded(buf, secOfDay/3600, 2)
		buf = append(buf, ':')
		buf = appendPadded(buf, secOfDay/60%60, 2)
		buf = append(buf, ':')
		buf = appendPadded(buf, secOfDay%60, 2)
		buf = appendFraction(buf, us)
		if oid != pgtype.TimestampOID {
			buf = appendOffset(buf, off)
		}
	}
	if bc {
		buf = append(buf, " BC"...)
	}
	return buf
}

// civilFromDays converts days since 1970-01-01 to a proleptic Gregorian
// date (Howard Hinnant's civil_from_days); year 0 is 1 BC.
func civilFromDays(days int64) (y, m, d int64) {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// appendOffset appends a UTC offset as PostgreSQL prints it: +HH, +HH:MM or
// +HH:MM:SS.
func appendOffset(buf []byte, off int) []byte {
	if off < 0 {
		buf = append(buf, '-')
		off = -off
	} else {
		buf = append(buf, '+')
	}
	buf = appendPadded(buf, int64(off/3600), 2)
	if m, s := off/60%60, off%60; m != 0 || s != 0 {
		buf = append(buf, ':')
		buf = appendPadded(buf, int64(m), 2)
		if s != 0 {
			buf = append(buf, ':')
			buf = appendPadded(buf, int64(s), 2)
		}
	}
	return buf
}

// appendTimeOfDay formats microseconds since midnight as HH:MM:SS[.ffffff].
func appendTimeOfDay(buf []byte, us int64) []byte {
	if us < 0 {
		buf = append(buf, '-')
		us = -us
	}
	buf = appendPadded(buf, us/3600e6, 2)
	buf = append(buf, ':')
	buf = appendPadded(buf, us/60e6%60, 2)
	buf = append(buf, ':')
	buf = appendPadded(buf, us/1e6%60, 2)
	return appendFraction(buf, us%1e6)
}

// appendIntervalText formats an interval in PostgreSQL's default
// IntervalStyle (postgres): "1 year 2 mons 3 days 04:05:06.5", "-1 days
// +02:00:00", "00:00:00".
func appendIntervalText(buf []byte, iv pgtype.Interval) []byte {
	isZero, isBefore := true, false
	part := func(v int64, unit string) {
		if v == 0 {
			return
		}
		if !isZero {
			buf = append(buf, ' ')
		}
		if isBefore && v > 0 {
			buf = append(buf, '+')
		}
		buf = strconv.AppendInt(buf, v, 10)
		buf = append(buf, ' ')
		buf = append(buf, unit...)
		if v != 1 {
			buf = append(buf, 's')
		}
		isBefore = v < 0
		isZero = false
	}
	part(int64(iv.Months/12), "year")
	part(int64(iv.Months%12), "mon")
	part(int64(iv.Days), "day")
	us := iv.Microseconds
	if isZero || us != 0 {
		if !isZero {
			buf = append(buf, ' ')
		}
		neg := us < 0
		switch {
		case neg:
			buf = append(buf, '-')
		case isBefore:
			buf = append(buf, '+')
		}
		// Magnitude as uint64: -MinInt64 does not fit an int64.
		mag := uint64(us)
		if neg {
			mag = -mag
		}
		buf = appendPaddedU(buf, mag/3600e6, 2)
		buf = append(buf, ':')
		buf = appendPaddedU(buf, mag/60e6%60, 2)
		buf = append(buf, ':')
		buf = appendPaddedU(buf, mag/1e6%60, 2)
		buf = appendFraction(buf, int64(mag%1e6))
	}
	return buf
}

func appendPaddedU(buf []byte, n uint64, width int) []byte {
	if n <= math.MaxInt64 {
		return appendPadded(buf, int64(n), width)
	}
	return strconv.AppendUint(buf, n, 10)
}

// durationMicros rounds d to whole microseconds.
func durationMicros(d time.Duration) int64 {
	us := int64(d / time.Microsecond)
	if r := d % time.Microsecond; r >= 500 {
		us++
	} else if r <= -500 {
		us--
	}
	return us
}

// timeMicros is t as microseconds since the PostgreSQL epoch.
func timeMicros(t time.Time) int64 {
	us := (t.Unix()-pgEpochUnix)*1e6 + int64(t.Nanosecond()/1000)
	if t.Nanosecond()%1000 >= 500 {
		us++
	}
	return us
}

// civilDays is the number of days from 1970-01-01 to y-m-d in the proleptic
// Gregorian calendar (Howard Hinnant's days_from_civil).
func civilDays(y int, m time.Month, d int) int64 {
	yy := int64(y)
	if m <= 2 {
		yy--
	}
	era := yy / 400
	if yy < 0 && yy%400 != 0 {
		era = (yy - 399) / 400
	}
	yoe := yy - era*400
	mp := (int64(m) + 9) % 12
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// arrayElemOID returns the element type of an array type, or 0.
func arrayElemOID(oid uint32) uint32 {
	switch oid {
	case pgtype.BoolArrayOID:
		return pgtype.BoolOID
	case pgtype.Int2ArrayOID:
		return pgtype.Int2OID
	case pgtype.Int4ArrayOID:
		return pgtype.Int4OID
	case pgtype.Int8ArrayOID:
		return pgtype.Int8OID
	case pgtype.Float4ArrayOID:
		return pgtype.Float4OID
	case pgtype.Float8ArrayOID:
		return pgtype.Float8OID
	case pgtype.NumericArrayOID:
		return pgtype.NumericOID
	case pgtype.TextArrayOID:
		return pgtype.TextOID
	case pgtype.VarcharArrayOID:
		return pgtype.VarcharOID
	case pgtype.BPCharArrayOID:
		return pgtype.BPCharOID
	case pgtype.NameArrayOID:
		return pgtype.NameOID
	case pgtype.ByteaArrayOID:
		return pgtype.ByteaOID
	case pgtype.DateArrayOID:
		return pgtype.DateOID
	case pgtype.TimeArrayOID:
		return pgtype.TimeOID
	case pgtype.TimestampArrayOID:
		return pgtype.TimestampOID
	case pgtype.TimestamptzArrayOID:
		return pgtype.TimestamptzOID
	case pgtype.IntervalArrayOID:
		return pgtype.IntervalOID
	case pgtype.UUIDArrayOID:
		return pgtype.UUIDOID
	case pgtype.JSONArrayOID:
		return pgtype.JSONOID
	case pgtype.JSONBArrayOID:
		return pgtype.JSONBOID
	case pgtype.OIDArrayOID:
		return pgtype.OIDOID
	}
	return 0
}

// appendArrayText formats a one- or multi-dimensional array ({1,2,NULL},
// {{1,2},{3,4}}); nested []any are inner dimensions. Elements are quoted as
// PostgreSQL's array_out does.
func (c *codec) appendArrayText(buf []byte, elem uint32, a []any) ([]byte, error) {
	buf = append(buf, '{')
	for i, v := range a {
		if i > 0 {
			buf = append(buf, ',')
		}
		switch x := v.(type) {
		case nil:
			buf = append(buf, "NULL"...)
			continue
		case []any:
			var err error
			if buf, err = c.appendArrayText(buf, elem, x); err != nil {
				return buf, err
			}
			continue
		}
		s, err := c.appendText(c.scratch[:0], elem, v)
		if err != nil {
			if err == errNullValue {
				buf = append(buf, "NULL"...)
				continue
			}
			return buf, err
		}
		c.scratch = s[:0]
		if !arrayNeedsQuote(s) {
			buf = append(buf, s...)
			continue
		}
		buf = append(buf, '"')
		for _, ch := range s {
			if ch == '"' || ch == '\\' {
				buf = append(buf, '\\')
			}
			buf = append(buf, ch)
		}
		buf = append(buf, '"')
	}
	return append(buf, '}'), nil
}

func arrayNeedsQuote(s []byte) bool {
	if len(s) == 0 {
		return true
	}
	if len(s) == 4 && (s[0]|0x20) == 'n' && (s[1]|0x20) == 'u' && (s[2]|0x20) == 'l' && (s[3]|0x20) == 'l' {
		return true
	}
	for _, ch := range s {
		switch ch {
		case '{', '}', ',', '"', '\\', ' ', '\t', '\n', '\r', '\v', '\f':
			return true
		}
	}
	return false
}

// appendArrayBinary writes the binary array format: ndim, has-null flag,
// element OID, (length, lower bound 1) per dimension, then the elements.
// Nested []any must form a rectangular array.
func (c *codec) appendArrayBinary(buf []byte, elem uint32, a []any) ([]byte, error) {
	var dims []int
	for cur := a; ; {
		dims = append(dims, len(cur))
		if len(cur) == 0 {
			break
		}
		inner, ok := cur[0].([]any)
		if !ok {
			break
		}
		cur = inner
	}
	if len(a) == 0 {
		dims = dims[:0]
	}
	if len(dims) > 6 {
		return buf, errors.New("array has more than 6 dimensions")
	}
	start := len(buf)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(dims)))
	buf = binary.BigEndian.AppendUint32(buf, 0) // has-null, patched below
	buf = binary.BigEndian.AppendUint32(buf, elem)
	for _, n := range dims {
		buf = binary.BigEndian.AppendUint32(buf, uint32(n))
		buf = binary.BigEndian.AppendUint32(buf, 1)
	}
	hasNull := false
	var walk func(level int, v []any) error
	walk = func(level int, v []any) error {
		if len(v) != dims[level] {
			return errors.New("multidimensional arrays must have sub-arrays with matching dimensions")
		}
		for _, e := range v {
			if level < len(dims)-1 {
				inner, ok := e.([]any)
				if !ok {
					return errors.New("multidimensional arrays must have sub-arrays with matching dimensions")
				}
				if err := walk(level+1, inner); err != nil {
					return err
				}
				continue
			}
			if _, ok := e.([]any); ok {
				return errors.New("multidimensional arrays must have sub-arrays with matching dimensions")
			}
			if e == nil {
				hasNull = true
			}
			var err error
			nb, err := c.appendField(buf, elem, binaryFormat, e)
			if err != nil {
				return err
			}
			if len(nb) == len(buf)+4 && binary.BigEndian.Uint32(nb[len(buf):]) == 0xffffffff {
				hasNull = true
			}
			buf = nb
		}
		return nil
	}
	if len(dims) > 0 {
		if err := walk(0, a); err != nil {
			return buf[:start], err
		}
	}
	if hasNull {
		binary.BigEndian.PutUint32(buf[start+4:], 1)
	}
	return buf, nil
}

// appendNumericBinary converts decimal text ("-12.340", "1.5e3", "NaN",
// "Infinity") to numeric's binary form: base-10000 digits with weight, sign
// and display scale. It runs in time linear in the text.
func appendNumericBinary(buf []byte, s string) ([]byte, error) {
	bad := func() ([]byte, error) { return buf, fmt.Errorf("invalid numeric %q", s) }
	special := func(sign uint16) ([]byte, error) {
		buf = binary.BigEndian.AppendUint32(buf, 0) // ndigits, weight
		buf = binary.BigEndian.AppendUint16(buf, sign)
		return binary.BigEndian.AppendUint16(buf, 0), nil
	}
	switch s {
	case "NaN":
		return special(0xC000)
	case "Infinity", "+Infinity":
		return special(0xD000)
	case "-Infinity":
		return special(0xF000)
	}
	var neg bool
	t := s
	if len(t) > 0 && (t[0] == '-' || t[0] == '+') {
		neg = t[0] == '-'
		t = t[1:]
	}
	mant, expText, hasExp := strings.Cut(t, "e")
	if !hasExp {
		mant, expText, hasExp = strings.Cut(t, "E")
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	if intPart == "" && frac == "" || !isDigits(intPart) || !isDigits(frac) {
		return bad()
	}
	if hasExp {
		e, err := strconv.Atoi(expText)
		if err != nil || e > 1000 || e < -1000 {
			return bad()
		}
		// Move the decimal point e places.
		if e > 0 {
			if len(frac) < e {
				frac += strings.Repeat("0", e-len(frac))
			}
			intPart, frac = intPart+frac[:e], frac[e:]
		} else if e < 0 {
			if len(intPart) < -e {
				intPart = strings.Repeat("0", -e-len(intPart)) + intPart
			}
			intPart, frac = intPart[:len(intPart)+e], intPart[len(intPart)+e:]+frac
		}
	}
	dscale := len(frac)
	intPart = strings.TrimLeft(intPart, "0")
	// Align both parts to groups of four decimal digits.
	lead := (4 - len(intPart)%4) % 4
	trail := (4 - len(frac)%4) % 4
	nInt := (len(intPart) + lead) / 4
	nFrac := (len(frac) + trail) / 4
	digits := make([]uint16, 0, nInt+nFrac)
	group := func(src string, pos int) uint16 {
		var d uint16
		for k := 0; k < 4; k++ {
			d *= 10
			if i := pos + k; i >= 0 && i < len(src) {
				d += uint16(src[i] - '0')
			}
		}
		return d
	}
	for g := 0; g < nInt; g++ {
		digits = append(digits, group(intPart, g*4-lead))
	}
	for g := 0; g < nFrac; g++ {
		digits = append(digits, group(frac, g*4))
	}
	weight := nInt - 1
	for len(digits) > 0 && digits[0] == 0 {
		digits = digits[1:]
		weight--
	}
	for len(digits) > 0 && digits[len(digits)-1] == 0 {
		digits = digits[:len(digits)-1]
	}
	sign := uint16(0)
	if len(digits) == 0 {
		weight = 0
	} else if neg {
		sign = 0x4000
	}
	if weight > math.MaxInt16 || weight < math.MinInt16 || dscale > 0x3FFF || len(digits) > math.MaxUint16 {
		return buf, fmt.Errorf("numeric %q out of range", s)
	}
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(digits)))
	buf = binary.BigEndian.AppendUint16(buf, uint16(int16(weight)))
	buf = binary.BigEndian.AppendUint16(buf, sign)
	buf = binary.BigEndian.AppendUint16(buf, uint16(dscale))
	for _, d := range digits {
		buf = binary.BigEndian.AppendUint16(buf, d)
	}
	return buf, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
