package pgwire

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/floe-dev/floe/sqlstate"
)

// decodeParam turns one Bind parameter into the Go value the engine receives
// (see doc.go). src nil is NULL. n is the 1-based parameter number for
// messages. Errors are *sqlstate.Error.
func (c *codec) decodeParam(n int, oid uint32, format int16, src []byte) (any, error) {
	if src == nil {
		return nil, nil
	}
	if format != textFormat && format != binaryFormat {
		return nil, sqlstate.New(sqlstate.InvalidParameterValue, "unsupported format code: %d", format)
	}
	bin := format == binaryFormat
	badBinary := func() (any, error) {
		return nil, sqlstate.New(codeInvalidBinaryRepresentation, "incorrect binary data format in bind parameter %d", n)
	}
	switch oid {
	case pgtype.Int8OID, pgtype.Int4OID, pgtype.Int2OID:
		size, name := intTypeInfo(oid)
		if bin {
			if len(src) != size/8 {
				return badBinary()
			}
			switch size {
			case 64:
				return int64(binary.BigEndian.Uint64(src)), nil
			case 32:
				return int32(binary.BigEndian.Uint32(src)), nil
			default:
				return int16(binary.BigEndian.Uint16(src)), nil
			}
		}
		s := string(src)
		i, err := strconv.ParseInt(strings.TrimSpace(s), 10, size)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return nil, sqlstate.New(codeNumericValueOutOfRange, "value %q is out of range for type %s", s, name)
			}
			return nil, invalidInput(name, s)
		}
		switch size {
		case 64:
			return i, nil
		case 32:
			return int32(i), nil
		default:
			return int16(i), nil
		}

	case pgtype.Float8OID, pgtype.Float4OID:
		name, size := "double precision", 64
		if oid == pgtype.Float4OID {
			name, size = "real", 32
		}
		if bin {
			if len(src) != size/8 {
				return badBinary()
			}
			if size == 64 {
				return math.Float64frombits(binary.BigEndian.Uint64(src)), nil
			}
			return math.Float32frombits(binary.BigEndian.Uint32(src)), nil
		}
		s := string(src)
		f, err := strconv.ParseFloat(strings.TrimSpace(s), size)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
				return nil, invalidInput(name, s)
			}
			return nil, sqlstate.New(codeNumericValueOutOfRange, "%q is out of range for type %s", s, name)
		}
		if size == 32 {
			return float32(f), nil
		}
		return f, nil

	case pgtype.BoolOID:
		if bin {
			if len(src) != 1 {
				return badBinary()
			}
			return src[0] != 0, nil
		}
		if b, ok := parseBool(string(src)); ok {
			return b, nil
		}
		return nil, invalidInput("boolean", string(src))

	case pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID, pgtype.UnknownOID, 0,
		pgtype.JSONOID:
		if err := checkText(src); err != nil {
			return nil, err
		}
		return string(src), nil

	case pgtype.JSONBOID:
		if bin {
			if len(src) == 0 || src[0] != 1 {
				return nil, sqlstate.New(codeInvalidBinaryRepresentation, "unsupported jsonb version number in bind parameter %d", n)
			}
			src = src[1:]
		}
		if err := checkText(src); err != nil {
			return nil, err
		}
		return string(src), nil

	case pgtype.ByteaOID:
		if bin {
			return bytes.Clone(src), nil
		}
		b, ok := parseBytea(src)
		if !ok {
			return nil, sqlstate.New(sqlstate.InvalidTextRepresentation, "invalid input syntax for type bytea")
		}
		return b, nil

	case pgtype.NumericOID:
		if bin {
			s, ok := numericBinaryToText(src)
			if !ok {
				return badBinary()
			}
			return s, nil
		}
		s, ok := normalizeNumericText(string(src))
		if !ok {
			return nil, invalidInput("numeric", string(src))
		}
		return s, nil

	case pgtype.DateOID, pgtype.TimestampOID, pgtype.TimestamptzOID:
		return decodeDateTime(n, oid, bin, src)

	case pgtype.UUIDOID:
		if bin {
			if len(src) != 16 {
				return badBinary()
			}
			return [16]byte(src), nil
		}
		u, ok := parseUUID(string(src))
		if !ok {
			return nil, invalidInput("uuid", string(src))
		}
		return u, nil
	}
	if bin {
		return bytes.Clone(src), nil
	}
	if err := checkText(src); err != nil {
		return nil, err
	}
	return string(src), nil
}

func intTypeInfo(oid uint32) (bits int, name string) {
	switch oid {
	case pgtype.Int8OID:
		return 64, "bigint"
	case pgtype.Int4OID:
		return 32, "integer"
	}
	return 16, "smallint"
}

func invalidInput(typ, s string) *sqlstate.Error {
	return sqlstate.New(sqlstate.InvalidTextRepresentation, "invalid input syntax for type %s: %q", typ, s)
}

// checkText refuses what PostgreSQL refuses in UTF8 text: invalid UTF-8 and
// NUL bytes.
func checkText(b []byte) error {
	if bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b) {
		return sqlstate.New("22021", "invalid byte sequence for encoding \"UTF8\"")
	}
	return nil
}

// parseBool accepts what PostgreSQL's boolin accepts: unique prefixes of
// true/false/yes/no, on/off, 1/0, case-insensitive, surrounding whitespace.
func parseBool(s string) (bool, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return false, false
	}
	switch {
	case strings.HasPrefix("true", s), strings.HasPrefix("yes", s), s == "on", s == "1":
		return true, true
	case strings.HasPrefix("false", s), strings.HasPrefix("no", s), s == "of" || s == "off", s == "0":
		return false, true
	}
	return false, false
}

// parseBytea accepts the hex format (\x0102) and the escape format (octal
// \ooo and \\).
func parseBytea(src []byte) ([]byte, bool) {
	if len(src) >= 2 && src[0] == '\\' && src[1] == 'x' {
		h := make([]byte, 0, len(src)-2)
		for _, c := range src[2:] {
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				continue
			}
			h = append(h, c)
		}
		if len(h)%2 != 0 {
			return nil, false
		}
		out := make([]byte, len(h)/2)
		if _, err := hex.Decode(out, h); err != nil {
			return nil, false
		}
		return out, true
	}
	out := make([]byte, 0, len(src))
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i+1 < len(src) && src[i+1] == '\\' {
			out = append(out, '\\')
			i++
			continue
		}
		if i+3 < len(src) && isOctal(src[i+1]) && src[i+1] <= '3' && isOctal(src[i+2]) && isOctal(src[i+3]) {
			out = append(out, (src[i+1]-'0')<<6|(src[i+2]-'0')<<3|(src[i+3]-'0'))
			i += 3
			continue
		}
		return nil, false
	}
	return out, true
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

func parseUUID(s string) ([16]byte, bool) {
	var u [16]byte
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '{' && s[len(s)-1] == '}' {
		s = s[1 : len(s)-1]
	}
	// As uuid_in: a hyphen may follow any group of four hex digits.
	j, prevHyphen := 0, false
	for i := 0; i < len(s); {
		if s[i] == '-' {
			if j == 0 || j%2 != 0 || j == 16 || prevHyphen {
				return u, false
			}
			prevHyphen = true
			i++
			continue
		}
		prevHyphen = false
		if j == 16 || i+1 >= len(s) {
			return u, false
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[j] = hi<<4 | lo
		j++
		i += 2
	}
	return u, j == 16 && !prevHyphen
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// normalizeNumericText validates numeric input text and returns it as plain
// decimal text (no exponent): "  1.50 " → "1.50", "1e3" → "1000",
// "nan" → "NaN", "-inf" → "-Infinity".
func normalizeNumericText(s string) (string, bool) {
	s = strings.TrimSpace(s)
	switch strings.ToLower(s) {
	case "nan":
		return "NaN", true
	case "infinity", "+infinity", "inf", "+inf":
		return "Infinity", true
	case "-infinity", "-inf":
		return "-Infinity", true
	}
	mant, expText, hasExp := strings.Cut(strings.ToLower(s), "e")
	sign := ""
	switch {
	case strings.HasPrefix(mant, "-"):
		sign, mant = "-", mant[1:]
	case strings.HasPrefix(mant, "+"):
		mant = mant[1:]
	}
	intPart, frac, hasDot := strings.Cut(mant, ".")
	if intPart == "" && frac == "" || !isDigits(intPart) || !isDigits(frac) {
		return "", false
	}
	if strings.Trim(intPart+frac, "0") == "" {
		sign = "" // numeric has no negative zero
	}
	if !hasExp {
		if intPart == "" {
			intPart = "0"
		}
		out := sign + strings.TrimLeft(intPart, "0")
		if out == sign {
			out += "0"
		}
		if hasDot && frac != "" {
			out += "." + frac
		}
		return out, true
	}
	exp, err := strconv.Atoi(expText)
	if err != nil || exp > 1000 || exp < -1000 {
		return "", false
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	scale := len(frac) - exp // digits after the decimal point
	if digits == "" {
		if scale < 0 {
			scale = 0
		}
		if scale == 0 {
			return "0", true
		}
		return "0." + strings.Repeat("0", scale), true
	}
	if scale <= 0 {
		return sign + digits + strings.Repeat("0", -scale), true
	}
	if len(digits) <= scale {
		return sign + "0." + strings.Repeat("0", scale-len(digits)) + digits, true
	}
	return sign + digits[:len(digits)-scale] + "." + digits[len(digits)-scale:], true
}

// numericBinaryToText converts PostgreSQL's binary numeric (base-10000
// digits, weight, sign, display scale) to decimal text.
func numericBinaryToText(src []byte) (string, bool) {
	if len(src) < 8 {
		return "", false
	}
	ndigits := int(binary.BigEndian.Uint16(src))
	weight := int(int16(binary.BigEndian.Uint16(src[2:])))
	sign := binary.BigEndian.Uint16(src[4:])
	dscale := int(binary.BigEndian.Uint16(src[6:]))
	if len(src) != 8+2*ndigits {
		return "", false
	}
	switch sign {
	case 0xC000:
		return "NaN", true
	case 0xD000:
		return "Infinity", true
	case 0xF000:
		return "-Infinity", true
	case 0x0000, 0x4000:
	default:
		return "", false
	}
	if dscale > 0x3FFF {
		return "", false
	}
	digit := func(i int) int {
		if i < 0 || i >= ndigits {
			return 0
		}
		return int(binary.BigEndian.Uint16(src[8+2*i:]))
	}
	for i := range ndigits {
		if digit(i) > 9999 {
			return "", false
		}
	}
	var b strings.Builder
	if sign == 0x4000 {
		b.WriteByte('-')
	}
	// Integer part, without leading zeros (a sender may not strip zero
	// groups as PostgreSQL does).
	started := false
	for i := 0; i <= weight; i++ {
		d := digit(i)
		switch {
		case started:
			b.WriteString(pad4(d))
		case d != 0:
			b.WriteString(strconv.Itoa(d))
			started = true
		}
	}
	if !started {
		b.WriteByte('0')
	}
	if dscale > 0 {
		b.WriteByte('.')
		written := 0
		for i := weight + 1; written < dscale; i++ {
			s := pad4(digit(i))
			if rest := dscale - written; rest < 4 {
				s = s[:rest]
			}
			b.WriteString(s)
			written += len(s)
		}
	}
	out := b.String()
	if out == "-0" || strings.HasPrefix(out, "-0.") && strings.Trim(out[3:], "0") == "" {
		out = out[1:] // PostgreSQL has no negative zero numeric
	}
	return out, true
}

func pad4(d int) string {
	s := strconv.Itoa(d)
	return strings.Repeat("0", 4-len(s)) + s
}

// Infinite dates and timestamps in binary form.
const (
	dateInfinity    = math.MaxInt32
	dateNegInfinity = math.MinInt32
)

// decodeDateTime decodes date, timestamp and timestamptz parameters into
// time.Time in UTC.
func decodeDateTime(n int, oid uint32, bin bool, src []byte) (any, error) {
	typeName := map[uint32]string{pgtype.DateOID: "date", pgtype.TimestampOID: "timestamp",
		pgtype.TimestamptzOID: "timestamp with time zone"}[oid]
	infinite := sqlstate.New(sqlstate.FeatureNotSupported, "infinite %s values are not supported", typeName)
	if bin {
		if oid == pgtype.DateOID {
			if len(src) != 4 {
				return nil, sqlstate.New(codeInvalidBinaryRepresentation, "incorrect binary data format in bind parameter %d", n)
			}
			days := int32(binary.BigEndian.Uint32(src))
			if days == dateInfinity || days == dateNegInfinity {
				return nil, infinite
			}
			return time.Unix((int64(days)+pgEpochDays)*86400, 0).UTC(), nil
		}
		if len(src) != 8 {
			return nil, sqlstate.New(codeInvalidBinaryRepresentation, "incorrect binary data format in bind parameter %d", n)
		}
		us := int64(binary.BigEndian.Uint64(src))
		if us == math.MaxInt64 || us == math.MinInt64 {
			return nil, infinite
		}
		sec, frac := us/1e6, us%1e6
		if frac < 0 {
			sec, frac = sec-1, frac+1e6
		}
		return time.Unix(sec+pgEpochUnix, frac*1000).UTC(), nil
	}
	s := strings.TrimSpace(string(src))
	switch strings.ToLower(s) {
	case "infinity", "+infinity", "-infinity":
		return nil, infinite
	}
	dt, ok := parseDateTime(s)
	if !ok {
		return nil, sqlstate.New(codeInvalidDatetimeFormat, "invalid input syntax for type %s: %q", typeName, s)
	}
	switch oid {
	case pgtype.DateOID:
		return time.Date(dt.year, time.Month(dt.month), dt.day, 0, 0, 0, 0, time.UTC), nil
	case pgtype.TimestampOID:
		return time.Date(dt.year, time.Month(dt.month), dt.day, dt.hour, dt.min, dt.sec, dt.nsec, time.UTC), nil
	}
	t := time.Date(dt.year, time.Month(dt.month), dt.day, dt.hour, dt.min, dt.sec, dt.nsec, time.UTC)
	return t.Add(-time.Duration(dt.offset) * time.Second), nil
}

type dateTime struct {
	year, month, day     int
	hour, min, sec, nsec int
	offset               int // seconds east of UTC; 0 when absent
}

// parseDateTime parses ISO 8601 / PostgreSQL ISO style input:
// YYYY-MM-DD[( |T)HH:MM[:SS[.fraction]]][ ][Z|UTC|GMT|±HH[[:]MM[[:]SS]]][ BC].
func parseDateTime(s string) (dateTime, bool) {
	var dt dateTime
	bc := false
	if rest, ok := strings.CutSuffix(s, " BC"); ok {
		s, bc = rest, true
	} else if rest, ok := strings.CutSuffix(s, " AD"); ok {
		s = rest
	}
	num := func(width int, exact bool) (int, bool) {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' && (i < width || !exact) {
			i++
		}
		if i == 0 || (exact && i != width) || i > 9 {
			return 0, false
		}
		v, _ := strconv.Atoi(s[:i])
		s = s[i:]
		return v, true
	}
	sep := func(c byte) bool {
		if len(s) > 0 && s[0] == c {
			s = s[1:]
			return true
		}
		return false
	}
	var ok bool
	if dt.year, ok = num(4, false); !ok || !sep('-') {
		return dt, false
	}
	if dt.month, ok = num(2, true); !ok || !sep('-') {
		return dt, false
	}
	if dt.day, ok = num(2, true); !ok {
		return dt, false
	}
	if bc {
		dt.year = 1 - dt.year
	}
	if s != "" && (s[0] == ' ' || s[0] == 'T' || s[0] == 't') {
		s = s[1:]
		if dt.hour, ok = num(2, true); !ok || !sep(':') {
			return dt, false
		}
		if dt.min, ok = num(2, true); !ok {
			return dt, false
		}
		if sep(':') {
			if dt.sec, ok = num(2, true); !ok {
				return dt, false
			}
			if sep('.') {
				i := 0
				for i < len(s) && s[i] >= '0' && s[i] <= '9' {
					i++
				}
				if i == 0 {
					return dt, false
				}
				frac := s[:i]
				s = s[i:]
				if len(frac) > 9 {
					frac = frac[:9]
				}
				f, _ := strconv.Atoi(frac + strings.Repeat("0", 9-len(frac)))
				// Round to microseconds as PostgreSQL does.
				dt.nsec = (f + 500) / 1000 * 1000
			}
		}
		s = strings.TrimPrefix(s, " ")
		switch {
		case s == "":
		case s == "Z" || s == "z" || strings.EqualFold(s, "UTC") || strings.EqualFold(s, "GMT"):
			s = ""
		case s[0] == '+' || s[0] == '-':
			sign := 1
			if s[0] == '-' {
				sign = -1
			}
			s = s[1:]
			h, ok := num(2, false)
			if !ok {
				return dt, false
			}
			var m, sec int
			if h >= 100 { // +0530
				h, m = h/100, h%100
			} else if sep(':') {
				if m, ok = num(2, true); !ok {
					return dt, false
				}
				if sep(':') {
					if sec, ok = num(2, true); !ok {
						return dt, false
					}
				}
			}
			if h > 15 || m > 59 || sec > 59 {
				return dt, false
			}
			dt.offset = sign * (h*3600 + m*60 + sec)
		default:
			return dt, false
		}
	}
	if s != "" {
		return dt, false
	}
	if dt.month < 1 || dt.month > 12 || dt.day < 1 || dt.day > daysIn(dt.year, dt.month) ||
		dt.hour > 24 || dt.min > 59 || dt.sec > 60 || (dt.hour == 24 && (dt.min > 0 || dt.sec > 0 || dt.nsec > 0)) {
		return dt, false
	}
	return dt, true
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
