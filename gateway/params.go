package gateway

import (
	"strconv"
)

// Parameters DuckDB cannot type on its own ($1 % 10, SELECT $1, $1 IS NULL)
// leave the whole statement untyped, where PostgreSQL infers them from the
// context or takes them as text. When that happens the statement is
// rewritten once more with those parameters cast: to the type the client
// declared, else to the type of a constant they meet in an operator, else
// to text.

// paramCastType maps a declared parameter OID to a DuckDB type id of the
// parse tree; "" for OIDs without a simple DuckDB equivalent.
func paramCastType(oid uint32) string {
	switch oid {
	case oidBool:
		return "BOOLEAN"
	case oidInt2:
		return "SMALLINT"
	case oidInt4:
		return "INTEGER"
	case oidInt8:
		return "BIGINT"
	case oidFloat4:
		return "FLOAT"
	case oidFloat8, oidNumeric:
		return "DOUBLE"
	case oidText, oidVarchar, oidUnknown, oidJSON:
		return "VARCHAR"
	case oidBytea:
		return "BLOB"
	case oidDate:
		return "DATE"
	case oidTime:
		return "TIME"
	case oidTimestamp:
		return "TIMESTAMP"
	case oidTimestamptz:
		return "TIMESTAMP WITH TIME ZONE"
	case oidInterval:
		return "INTERVAL"
	case oidUUID:
		return "UUID"
	}
	return ""
}

// inferParamCasts fills in casts[i] == "" from the operators parameter i
// meets: the type of a constant operand, else VARCHAR.
func inferParamCasts(n any, casts map[string]string) {
	switch v := n.(type) {
	case []any:
		for _, e := range v {
			inferParamCasts(e, casts)
		}
	case map[string]any:
		var operands []any
		switch v["class"] {
		case "FUNCTION", "OPERATOR", "CONJUNCTION":
			operands, _ = v["children"].([]any)
		case "COMPARISON":
			operands = []any{v["left"], v["right"]}
		}
		if len(operands) > 0 {
			constType := ""
			for _, o := range operands {
				if om, _ := o.(map[string]any); om != nil && om["class"] == "CONSTANT" {
					t, _ := om["value"].(map[string]any)["type"].(map[string]any)
					constType = constantCastType(t["id"])
				}
			}
			for _, o := range operands {
				if om, _ := o.(map[string]any); om != nil && om["class"] == "PARAMETER" {
					id, _ := om["identifier"].(string)
					if t, want := casts[id]; want && t == "" && constType != "" {
						casts[id] = constType
					}
				}
			}
		}
		for _, c := range v {
			inferParamCasts(c, casts)
		}
	}
}

func constantCastType(id any) string {
	switch id {
	case "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT":
		return "BIGINT"
	case "DECIMAL", "DOUBLE", "FLOAT":
		return "DOUBLE"
	case "VARCHAR":
		return "VARCHAR"
	case "BOOLEAN":
		return "BOOLEAN"
	}
	return ""
}

// castParams wraps every parameter listed in casts in a CAST.
func castParams(n any, casts map[string]string) {
	switch v := n.(type) {
	case []any:
		for _, e := range v {
			castParams(e, casts)
		}
	case map[string]any:
		if v["class"] == "PARAMETER" {
			id, _ := v["identifier"].(string)
			t, ok := casts[id]
			if !ok {
				return
			}
			if t == "" {
				t = "VARCHAR"
			}
			param := map[string]any{}
			for k, e := range v {
				param[k] = e
			}
			param["alias"] = ""
			clear(v)
			v["class"], v["type"], v["alias"], v["query_location"] = "CAST", "OPERATOR_CAST", param["alias"], param["query_location"]
			v["child"] = param
			v["cast_type"] = map[string]any{"id": t, "type_info": nil}
			v["try_cast"] = false
			return
		}
		for _, c := range v {
			castParams(c, casts)
		}
	}
}

// unresolvedParams returns the casts to retry a statement with: the
// parameters DuckDB left untyped (type 0), keyed by their $n identifier.
func unresolvedParams(duckTypes []int, declared []uint32) map[string]string {
	casts := map[string]string{}
	for i, t := range duckTypes {
		if t != 0 {
			continue
		}
		var oid uint32
		if i < len(declared) {
			oid = declared[i]
		}
		casts[strconv.Itoa(i+1)] = paramCastType(oid)
	}
	return casts
}
