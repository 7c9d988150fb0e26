package gateway

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/jackc/pgx/v5/pgtype"
)

// PostgreSQL type OIDs floe reports.
const (
	oidBool        = 16
	oidBytea       = 17
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidOID         = 26
	oidJSON        = 114
	oidFloat4      = 700
	oidFloat8      = 701
	oidUnknown     = 705
	oidVarchar     = 1043
	oidDate        = 1082
	oidTime        = 1083
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidInterval    = 1186
	oidNumeric     = 1700
	oidUUID        = 2950
)

// arrayOID maps an element type to its array type.
var arrayOID = map[uint32]uint32{
	oidBool: 1000, oidBytea: 1001, oidInt2: 1005, oidInt4: 1007, oidInt8: 1016, oidText: 1009,
	oidVarchar: 1015, oidFloat4: 1021, oidFloat8: 1022, oidDate: 1182, oidTime: 1183,
	oidTimestamp: 1115, oidTimestamptz: 1185, oidInterval: 1187, oidNumeric: 1231, oidUUID: 2951,
	oidJSON: 199, oidOID: 1028,
}

// typeLen is pg_type.typlen for the scalar types.
var typeLen = map[uint32]int16{
	oidBool: 1, oidInt2: 2, oidInt4: 4, oidInt8: 8, oidOID: 4, oidFloat4: 4, oidFloat8: 8,
	oidDate: 4, oidTime: 8, oidTimestamp: 8, oidTimestamptz: 8, oidInterval: 16, oidUUID: 16,
}

// converter turns a value scanned from DuckDB into the Go type pgwire
// encodes for the column's OID.
type converter func(v any, loc *time.Location) any

// pgColumnType maps a DuckDB column type to a PostgreSQL type and the
// converter of its values. Types PostgreSQL lacks (structs, maps, unions,
// unsigned and huge integers) are sent as the closest PostgreSQL type.
func pgColumnType(ti duckdb.TypeInfo) (oid uint32, mod int32, conv converter) {
	if ti.Alias() == "JSON" {
		return oidJSON, -1, convJSON
	}
	switch ti.InternalType() {
	case duckdb.TYPE_BOOLEAN:
		return oidBool, -1, convIdentity
	case duckdb.TYPE_TINYINT:
		return oidInt2, -1, func(v any, _ *time.Location) any { return int16(v.(int8)) }
	case duckdb.TYPE_UTINYINT:
		return oidInt2, -1, func(v any, _ *time.Location) any { return int16(v.(uint8)) }
	case duckdb.TYPE_SMALLINT:
		return oidInt2, -1, convIdentity
	case duckdb.TYPE_USMALLINT:
		return oidInt4, -1, func(v any, _ *time.Location) any { return int32(v.(uint16)) }
	case duckdb.TYPE_INTEGER:
		return oidInt4, -1, convIdentity
	case duckdb.TYPE_UINTEGER:
		return oidInt8, -1, func(v any, _ *time.Location) any { return int64(v.(uint32)) }
	case duckdb.TYPE_BIGINT:
		return oidInt8, -1, convIdentity
	case duckdb.TYPE_UBIGINT:
		return oidNumeric, -1, func(v any, _ *time.Location) any { return fmt.Sprint(v.(uint64)) }
	case duckdb.TYPE_HUGEINT, duckdb.TYPE_UHUGEINT, duckdb.TYPE_BIGNUM:
		return oidNumeric, -1, func(v any, _ *time.Location) any { return v.(*big.Int).String() }
	case duckdb.TYPE_FLOAT:
		return oidFloat4, -1, convIdentity
	case duckdb.TYPE_DOUBLE:
		return oidFloat8, -1, convIdentity
	case duckdb.TYPE_DECIMAL:
		d, _ := ti.Details().(*duckdb.DecimalDetails)
		mod := int32(-1)
		if d != nil {
			mod = (int32(d.Width)<<16 | int32(d.Scale)) + 4
		}
		return oidNumeric, mod, convDecimal
	case duckdb.TYPE_VARCHAR, duckdb.TYPE_ENUM, duckdb.TYPE_BIT:
		return oidText, -1, convIdentity
	case duckdb.TYPE_BLOB, duckdb.TYPE_GEOMETRY:
		return oidBytea, -1, convIdentity
	case duckdb.TYPE_DATE:
		return oidDate, -1, convIdentity
	case duckdb.TYPE_TIME, duckdb.TYPE_TIME_TZ:
		return oidTime, -1, convTime
	case duckdb.TYPE_TIMESTAMP, duckdb.TYPE_TIMESTAMP_S, duckdb.TYPE_TIMESTAMP_MS, duckdb.TYPE_TIMESTAMP_NS:
		return oidTimestamp, -1, convIdentity
	case duckdb.TYPE_TIMESTAMP_TZ:
		return oidTimestamptz, -1, func(v any, loc *time.Location) any { return v.(time.Time).In(loc) }
	case duckdb.TYPE_INTERVAL:
		return oidInterval, -1, convInterval
	case duckdb.TYPE_UUID:
		return oidUUID, -1, convUUID
	case duckdb.TYPE_LIST, duckdb.TYPE_ARRAY:
		var child duckdb.TypeInfo
		switch d := ti.Details().(type) {
		case *duckdb.ListDetails:
			child = d.Child
		case *duckdb.ArrayDetails:
			child = d.Child
		}
		if child != nil {
			eoid, _, econv := pgColumnType(child)
			if aoid, ok := arrayOID[eoid]; ok {
				return aoid, -1, func(v any, loc *time.Location) any {
					in := v.([]any)
					out := make([]any, len(in))
					for i, e := range in {
						if e != nil {
							out[i] = econv(e, loc)
						}
					}
					return out
				}
			}
		}
		return oidJSON, -1, convJSON
	case duckdb.TYPE_SQLNULL:
		return oidText, -1, convIdentity
	}
	// STRUCT, MAP, UNION, VARIANT: JSON text is what clients can read.
	return oidJSON, -1, convJSON
}

func convIdentity(v any, _ *time.Location) any { return v }

func convDecimal(v any, _ *time.Location) any {
	d := v.(duckdb.Decimal)
	return decimalString(d.Value, int(d.Scale))
}

func decimalString(v *big.Int, scale int) string {
	s := new(big.Int).Abs(v).String()
	if scale > 0 {
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if v.Sign() < 0 {
		s = "-" + s
	}
	return s
}

func convTime(v any, _ *time.Location) any {
	t := v.(time.Time)
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute +
		time.Duration(t.Second())*time.Second + time.Duration(t.Nanosecond())
}

func convInterval(v any, _ *time.Location) any {
	i := v.(duckdb.Interval)
	return pgtype.Interval{Months: i.Months, Days: i.Days, Microseconds: i.Micros, Valid: true}
}

func convUUID(v any, _ *time.Location) any {
	switch u := v.(type) {
	case []byte:
		var out [16]byte
		copy(out[:], u)
		return out
	case duckdb.UUID:
		return [16]byte(u)
	case *duckdb.UUID:
		return [16]byte(*u)
	}
	return v
}

// convJSON renders nested values (structs, maps, JSON) as JSON text.
func convJSON(v any, _ *time.Location) any {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(jsonable(v))
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func jsonable(v any) any {
	switch x := v.(type) {
	case duckdb.Map:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case duckdb.OrderedMap:
		m := map[string]any{}
		for i, k := range x.Keys() {
			m[fmt.Sprint(k)] = jsonable(x.Values()[i])
		}
		return m
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = jsonable(e)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonable(e)
		}
		return out
	case duckdb.Decimal:
		return json.Number(decimalString(x.Value, int(x.Scale)))
	case *big.Int:
		return json.Number(x.String())
	case duckdb.Interval:
		return x
	case []byte:
		return fmt.Sprintf("\\x%x", x)
	}
	return v
}

// duckParamType maps a DuckDB parameter type to the OID reported in
// ParameterDescription; unresolved parameters are text.
func duckParamType(t duckdb.Type) uint32 {
	switch t {
	case duckdb.TYPE_BOOLEAN:
		return oidBool
	case duckdb.TYPE_TINYINT, duckdb.TYPE_SMALLINT, duckdb.TYPE_UTINYINT:
		return oidInt2
	case duckdb.TYPE_INTEGER, duckdb.TYPE_USMALLINT:
		return oidInt4
	case duckdb.TYPE_BIGINT, duckdb.TYPE_UINTEGER:
		return oidInt8
	case duckdb.TYPE_FLOAT:
		return oidFloat4
	case duckdb.TYPE_DOUBLE:
		return oidFloat8
	case duckdb.TYPE_DECIMAL, duckdb.TYPE_HUGEINT, duckdb.TYPE_UBIGINT:
		return oidNumeric
	case duckdb.TYPE_DATE:
		return oidDate
	case duckdb.TYPE_TIME:
		return oidTime
	case duckdb.TYPE_TIMESTAMP:
		return oidTimestamp
	case duckdb.TYPE_TIMESTAMP_TZ:
		return oidTimestamptz
	case duckdb.TYPE_INTERVAL:
		return oidInterval
	case duckdb.TYPE_UUID:
		return oidUUID
	case duckdb.TYPE_BLOB:
		return oidBytea
	}
	return oidText
}
