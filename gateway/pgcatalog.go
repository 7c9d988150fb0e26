package gateway

import (
	"context"
	"fmt"
	"hash/fnv"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/floe-dev/floe/authz"

	"github.com/apache/iceberg-go"

	"github.com/floe-dev/floe/sqlstate"
)

// The emulated pg_catalog and information_schema: relations generated per
// statement from the Iceberg catalog, so psql, drivers and BI tools see
// floe's tables (and, under the central policy, only what the principal may
// describe). DuckDB's own catalog views are never reachable.

// Fixed oids, as in PostgreSQL.
const (
	oidPgCatalogNS   = 11
	oidPublicNS      = 2200
	oidInfoSchemaNS  = 13000
	oidDatabase      = 16384
	oidOwner         = 10
	oidHeapAM        = 2
	oidDefaultColl   = 100
	oidPgDefaultTbsp = 1663
)

var pathPattern = regexp.MustCompile(`(?:file://)?/[^\s'"]*\.(?:parquet|avro|json|db)`)

// nameOID gives namespaces and tables stable oids (same in every process).
func nameOID(kind, name string) int64 {
	h := fnv.New32a()
	h.Write([]byte(kind + "\x00" + name))
	return 16385 + int64(h.Sum32()%2_000_000_000)
}

func namespaceOID(ns string) int64 {
	switch ns {
	case "pg_catalog":
		return oidPgCatalogNS
	case "public":
		return oidPublicNS
	case "information_schema":
		return oidInfoSchemaNS
	}
	return nameOID("namespace", ns)
}

func tableOID(ns, name string) int64 { return nameOID("table", ns+"."+name) }

type pgCol struct{ name, typ string }

type catalogTable struct {
	cols []pgCol
	rows func(*catalogSnapshot) [][]any
}

// catalogSnapshot is what the catalog relations of one statement show.
type catalogSnapshot struct {
	user       string
	namespaces []string
	tables     []catalogTableInfo
	settings   *settings
}

type catalogTableInfo struct {
	ns, name string
	schema   *iceberg.Schema
}

func cols(spec string) []pgCol {
	var out []pgCol
	for _, part := range strings.Split(spec, ",") {
		f := strings.Fields(part)
		out = append(out, pgCol{f[0], strings.Join(f[1:], " ")})
	}
	return out
}

const (
	colsNamespace = "oid BIGINT, nspname VARCHAR, nspowner BIGINT, nspacl VARCHAR[]"
	colsClass     = "oid BIGINT, relname VARCHAR, relnamespace BIGINT, reltype BIGINT, reloftype BIGINT, relowner BIGINT, relam BIGINT, relfilenode BIGINT, reltablespace BIGINT, relpages INTEGER, reltuples FLOAT, relallvisible INTEGER, reltoastrelid BIGINT, relhasindex BOOLEAN, relisshared BOOLEAN, relpersistence VARCHAR, relkind VARCHAR, relnatts SMALLINT, relchecks SMALLINT, relhasrules BOOLEAN, relhastriggers BOOLEAN, relhassubclass BOOLEAN, relrowsecurity BOOLEAN, relforcerowsecurity BOOLEAN, relispopulated BOOLEAN, relreplident VARCHAR, relispartition BOOLEAN, relrewrite BIGINT, relfrozenxid BIGINT, relminmxid BIGINT, relacl VARCHAR[], reloptions VARCHAR[], relpartbound VARCHAR"
	colsAttribute = "attrelid BIGINT, attname VARCHAR, atttypid BIGINT, attstattarget INTEGER, attlen SMALLINT, attnum SMALLINT, attndims INTEGER, attcacheoff INTEGER, atttypmod INTEGER, attbyval BOOLEAN, attalign VARCHAR, attstorage VARCHAR, attcompression VARCHAR, attnotnull BOOLEAN, atthasdef BOOLEAN, atthasmissing BOOLEAN, attidentity VARCHAR, attgenerated VARCHAR, attisdropped BOOLEAN, attislocal BOOLEAN, attinhcount INTEGER, attcollation BIGINT, attacl VARCHAR[], attoptions VARCHAR[], attfdwoptions VARCHAR[]"
	colsType      = "oid BIGINT, typname VARCHAR, typnamespace BIGINT, typowner BIGINT, typlen SMALLINT, typbyval BOOLEAN, typtype VARCHAR, typcategory VARCHAR, typispreferred BOOLEAN, typisdefined BOOLEAN, typdelim VARCHAR, typrelid BIGINT, typsubscript VARCHAR, typelem BIGINT, typarray BIGINT, typinput VARCHAR, typoutput VARCHAR, typreceive VARCHAR, typsend VARCHAR, typmodin VARCHAR, typmodout VARCHAR, typanalyze VARCHAR, typalign VARCHAR, typstorage VARCHAR, typnotnull BOOLEAN, typbasetype BIGINT, typtypmod INTEGER, typndims INTEGER, typcollation BIGINT, typdefaultbin VARCHAR, typdefault VARCHAR, typacl VARCHAR[]"
	colsDatabase  = "oid BIGINT, datname VARCHAR, datdba BIGINT, encoding INTEGER, datlocprovider VARCHAR, datistemplate BOOLEAN, datallowconn BOOLEAN, datconnlimit INTEGER, datfrozenxid BIGINT, datminmxid BIGINT, dattablespace BIGINT, datcollate VARCHAR, datctype VARCHAR, daticulocale VARCHAR, daticurules VARCHAR, datcollversion VARCHAR, datacl VARCHAR[]"
	colsRoles     = "oid BIGINT, rolname VARCHAR, rolsuper BOOLEAN, rolinherit BOOLEAN, rolcreaterole BOOLEAN, rolcreatedb BOOLEAN, rolcanlogin BOOLEAN, rolreplication BOOLEAN, rolconnlimit INTEGER, rolpassword VARCHAR, rolvaliduntil TIMESTAMPTZ, rolbypassrls BOOLEAN, rolconfig VARCHAR[]"
)

// typeRow describes one pg_type row: oid, name, len, category, elem, array.
type typeRow struct {
	oid           int64
	name          string
	length        int
	category      string
	elem, array   int64
	input, output string
}

var pgTypes = []typeRow{
	{16, "bool", 1, "B", 0, 1000, "boolin", "boolout"},
	{17, "bytea", -1, "U", 0, 1001, "byteain", "byteaout"},
	{18, "char", 1, "Z", 0, 1002, "charin", "charout"},
	{19, "name", 64, "S", 0, 1003, "namein", "nameout"},
	{20, "int8", 8, "N", 0, 1016, "int8in", "int8out"},
	{21, "int2", 2, "N", 0, 1005, "int2in", "int2out"},
	{23, "int4", 4, "N", 0, 1007, "int4in", "int4out"},
	{25, "text", -1, "S", 0, 1009, "textin", "textout"},
	{26, "oid", 4, "N", 0, 1028, "oidin", "oidout"},
	{114, "json", -1, "U", 0, 199, "json_in", "json_out"},
	{700, "float4", 4, "N", 0, 1021, "float4in", "float4out"},
	{701, "float8", 8, "N", 0, 1022, "float8in", "float8out"},
	{705, "unknown", -2, "X", 0, 0, "unknownin", "unknownout"},
	{1042, "bpchar", -1, "S", 0, 1014, "bpcharin", "bpcharout"},
	{1043, "varchar", -1, "S", 0, 1015, "varcharin", "varcharout"},
	{1082, "date", 4, "D", 0, 1182, "date_in", "date_out"},
	{1083, "time", 8, "D", 0, 1183, "time_in", "time_out"},
	{1114, "timestamp", 8, "D", 0, 1115, "timestamp_in", "timestamp_out"},
	{1184, "timestamptz", 8, "D", 0, 1185, "timestamptz_in", "timestamptz_out"},
	{1186, "interval", 16, "T", 0, 1187, "interval_in", "interval_out"},
	{1700, "numeric", -1, "N", 0, 1231, "numeric_in", "numeric_out"},
	{2950, "uuid", 16, "U", 0, 2951, "uuid_in", "uuid_out"},
	{3802, "jsonb", -1, "U", 0, 3807, "jsonb_in", "jsonb_out"},
	{199, "_json", -1, "A", 114, 0, "array_in", "array_out"},
	{1000, "_bool", -1, "A", 16, 0, "array_in", "array_out"},
	{1001, "_bytea", -1, "A", 17, 0, "array_in", "array_out"},
	{1005, "_int2", -1, "A", 21, 0, "array_in", "array_out"},
	{1007, "_int4", -1, "A", 23, 0, "array_in", "array_out"},
	{1009, "_text", -1, "A", 25, 0, "array_in", "array_out"},
	{1015, "_varchar", -1, "A", 1043, 0, "array_in", "array_out"},
	{1016, "_int8", -1, "A", 20, 0, "array_in", "array_out"},
	{1021, "_float4", -1, "A", 700, 0, "array_in", "array_out"},
	{1022, "_float8", -1, "A", 701, 0, "array_in", "array_out"},
	{1028, "_oid", -1, "A", 26, 0, "array_in", "array_out"},
	{1115, "_timestamp", -1, "A", 1114, 0, "array_in", "array_out"},
	{1182, "_date", -1, "A", 1082, 0, "array_in", "array_out"},
	{1183, "_time", -1, "A", 1083, 0, "array_in", "array_out"},
	{1185, "_timestamptz", -1, "A", 1184, 0, "array_in", "array_out"},
	{1187, "_interval", -1, "A", 1186, 0, "array_in", "array_out"},
	{1231, "_numeric", -1, "A", 1700, 0, "array_in", "array_out"},
	{2951, "_uuid", -1, "A", 2950, 0, "array_in", "array_out"},
}

// icebergPgType maps an Iceberg column type to PostgreSQL (oid, typmod).
func icebergPgType(t iceberg.Type) (int64, int32) {
	switch t := t.(type) {
	case iceberg.BooleanType:
		return oidBool, -1
	case iceberg.Int32Type:
		return oidInt4, -1
	case iceberg.Int64Type:
		return oidInt8, -1
	case iceberg.Float32Type:
		return oidFloat4, -1
	case iceberg.Float64Type:
		return oidFloat8, -1
	case iceberg.DecimalType:
		return oidNumeric, int32(t.Precision()<<16|t.Scale()) + 4
	case iceberg.StringType:
		return oidText, -1
	case iceberg.BinaryType, iceberg.FixedType:
		return oidBytea, -1
	case iceberg.DateType:
		return oidDate, -1
	case iceberg.TimeType:
		return oidTime, -1
	case iceberg.TimestampType, iceberg.TimestampNsType:
		return oidTimestamp, -1
	case iceberg.TimestampTzType, iceberg.TimestampTzNsType:
		return oidTimestamptz, -1
	case iceberg.UUIDType:
		return oidUUID, -1
	case *iceberg.ListType:
		e, _ := icebergPgType(t.Element)
		if a, ok := arrayOID[uint32(e)]; ok {
			return int64(a), -1
		}
	}
	return oidJSON, -1
}

var catalogTables = map[string]catalogTable{
	"pg_catalog.pg_namespace": {cols(colsNamespace), func(c *catalogSnapshot) [][]any {
		rows := [][]any{
			{oidPgCatalogNS, "pg_catalog", oidOwner, nil},
			{oidInfoSchemaNS, "information_schema", oidOwner, nil},
		}
		hasPublic := false
		for _, ns := range c.namespaces {
			hasPublic = hasPublic || ns == "public"
			rows = append(rows, []any{namespaceOID(ns), ns, oidOwner, nil})
		}
		if !hasPublic {
			rows = append(rows, []any{oidPublicNS, "public", oidOwner, nil})
		}
		return rows
	}},
	"pg_catalog.pg_class": {cols(colsClass), func(c *catalogSnapshot) [][]any {
		var rows [][]any
		for _, t := range c.tables {
			rows = append(rows, []any{tableOID(t.ns, t.name), t.name, namespaceOID(t.ns), 0, 0, oidOwner, oidHeapAM,
				0, 0, 0, -1.0, 0, 0, false, false, "p", "r", len(t.schema.Fields()), 0, false, false, false, false,
				false, true, "d", false, 0, 0, 0, nil, nil, nil})
		}
		return rows
	}},
	"pg_catalog.pg_attribute": {cols(colsAttribute), func(c *catalogSnapshot) [][]any {
		var rows [][]any
		for _, t := range c.tables {
			for i, f := range t.schema.Fields() {
				oid, mod := icebergPgType(f.Type)
				rows = append(rows, []any{tableOID(t.ns, t.name), f.Name, oid, -1, int(sizeOf(uint32(oid))), i + 1, 0, -1,
					mod, false, "i", "x", "", f.Required, false, false, "", "", false, true, 0, 0, nil, nil, nil})
			}
		}
		return rows
	}},
	"pg_catalog.pg_type": {cols(colsType), func(*catalogSnapshot) [][]any {
		var rows [][]any
		for _, t := range pgTypes {
			delim := ","
			typtype := "b"
			rows = append(rows, []any{t.oid, t.name, oidPgCatalogNS, oidOwner, t.length, t.length > 0 && t.length <= 8,
				typtype, t.category, false, true, delim, 0, "-", t.elem, t.array, t.input, t.output, "", "", "-", "-",
				"-", "i", "p", false, 0, -1, 0, 0, nil, nil, nil})
		}
		return rows
	}},
	"pg_catalog.pg_database": {cols(colsDatabase), func(*catalogSnapshot) [][]any {
		return [][]any{{oidDatabase, DatabaseName, oidOwner, 6, "c", false, true, -1, 0, 0, oidPgDefaultTbsp,
			"C.UTF-8", "C.UTF-8", nil, nil, nil, nil}}
	}},
	"pg_catalog.pg_roles": {cols(colsRoles), func(c *catalogSnapshot) [][]any {
		return [][]any{{oidOwner, c.user, false, true, false, false, true, false, -1, "********", nil, false, nil}}
	}},
	"pg_catalog.pg_user": {cols("usename VARCHAR, usesysid BIGINT, usecreatedb BOOLEAN, usesuper BOOLEAN, userepl BOOLEAN, usebypassrls BOOLEAN, passwd VARCHAR, valuntil TIMESTAMPTZ, useconfig VARCHAR[]"), func(c *catalogSnapshot) [][]any {
		return [][]any{{c.user, oidOwner, false, false, false, false, "********", nil, nil}}
	}},
	"pg_catalog.pg_settings": {cols("name VARCHAR, setting VARCHAR, unit VARCHAR, category VARCHAR, short_desc VARCHAR, extra_desc VARCHAR, context VARCHAR, vartype VARCHAR, source VARCHAR, min_val VARCHAR, max_val VARCHAR, enumvals VARCHAR[], boot_val VARCHAR, reset_val VARCHAR, sourcefile VARCHAR, sourceline INTEGER, pending_restart BOOLEAN"), func(c *catalogSnapshot) [][]any {
		var rows [][]any
		for _, k := range sortedSettingNames() {
			def := knownSettings[k]
			rows = append(rows, []any{def.name, c.settings.values[k], nil, "", "", nil, "user", "string", "default",
				nil, nil, nil, def.def, def.def, nil, nil, false})
		}
		return rows
	}},
	"pg_catalog.pg_tables": {cols("schemaname VARCHAR, tablename VARCHAR, tableowner VARCHAR, tablespace VARCHAR, hasindexes BOOLEAN, hasrules BOOLEAN, hastriggers BOOLEAN, rowsecurity BOOLEAN"), func(c *catalogSnapshot) [][]any {
		var rows [][]any
		for _, t := range c.tables {
			rows = append(rows, []any{t.ns, t.name, c.user, nil, false, false, false, false})
		}
		return rows
	}},
	"pg_catalog.pg_am": {cols("oid BIGINT, amname VARCHAR, amhandler VARCHAR, amtype VARCHAR"), func(*catalogSnapshot) [][]any {
		return [][]any{{oidHeapAM, "heap", "heap_tableam_handler", "t"}, {403, "btree", "bthandler", "i"}}
	}},
	"pg_catalog.pg_collation": {cols("oid BIGINT, collname VARCHAR, collnamespace BIGINT, collowner BIGINT, collprovider VARCHAR, collisdeterministic BOOLEAN, collencoding INTEGER, collcollate VARCHAR, collctype VARCHAR, colliculocale VARCHAR, collicurules VARCHAR, collversion VARCHAR"), func(*catalogSnapshot) [][]any {
		return [][]any{{oidDefaultColl, "default", oidPgCatalogNS, oidOwner, "d", true, -1, nil, nil, nil, nil, nil}}
	}},
	"pg_catalog.pg_tablespace": {cols("oid BIGINT, spcname VARCHAR, spcowner BIGINT, spcacl VARCHAR[], spcoptions VARCHAR[]"), func(*catalogSnapshot) [][]any {
		return [][]any{{oidPgDefaultTbsp, "pg_default", oidOwner, nil, nil}}
	}},
	"information_schema.schemata": {cols("catalog_name VARCHAR, schema_name VARCHAR, schema_owner VARCHAR, default_character_set_catalog VARCHAR, default_character_set_schema VARCHAR, default_character_set_name VARCHAR, sql_path VARCHAR"), func(c *catalogSnapshot) [][]any {
		rows := [][]any{{DatabaseName, "pg_catalog", c.user, nil, nil, nil, nil}, {DatabaseName, "information_schema", c.user, nil, nil, nil, nil}}
		for _, ns := range c.namespaces {
			rows = append(rows, []any{DatabaseName, ns, c.user, nil, nil, nil, nil})
		}
		return rows
	}},
	"information_schema.tables": {cols("table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, table_type VARCHAR, self_referencing_column_name VARCHAR, reference_generation VARCHAR, user_defined_type_catalog VARCHAR, user_defined_type_schema VARCHAR, user_defined_type_name VARCHAR, is_insertable_into VARCHAR, is_typed VARCHAR, commit_action VARCHAR"), func(c *catalogSnapshot) [][]any {
		var rows [][]any
		for _, t := range c.tables {
			rows = append(rows, []any{DatabaseName, t.ns, t.name, "BASE TABLE", nil, nil, nil, nil, nil, "NO", "NO", nil})
		}
		return rows
	}},
	"information_schema.columns": {cols("table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, column_name VARCHAR, ordinal_position INTEGER, column_default VARCHAR, is_nullable VARCHAR, data_type VARCHAR, character_maximum_length INTEGER, character_octet_length INTEGER, numeric_precision INTEGER, numeric_precision_radix INTEGER, numeric_scale INTEGER, datetime_precision INTEGER, interval_type VARCHAR, interval_precision INTEGER, udt_catalog VARCHAR, udt_schema VARCHAR, udt_name VARCHAR, is_identity VARCHAR, is_generated VARCHAR, is_updatable VARCHAR"), func(c *catalogSnapshot) [][]any {
		var rows [][]any
		for _, t := range c.tables {
			for i, f := range t.schema.Fields() {
				oid, mod := icebergPgType(f.Type)
				nullable := "YES"
				if f.Required {
					nullable = "NO"
				}
				var prec, scale any
				if oid == oidNumeric && mod > 0 {
					prec, scale = int((mod-4)>>16), int((mod-4)&0xffff)
				}
				rows = append(rows, []any{DatabaseName, t.ns, t.name, f.Name, i + 1, nil, nullable, sqlTypeName(oid, mod),
					nil, nil, prec, nil, scale, nil, nil, nil, DatabaseName, "pg_catalog", typeName(oid), "NO", "NEVER", "NO"})
			}
		}
		return rows
	}},
}

// emptyCatalogTables are catalog relations floe has no rows for (no
// indexes, constraints, triggers, ...); they exist with PostgreSQL's
// columns so that client queries bind.
var emptyCatalogTables = map[string]string{
	"pg_catalog.pg_index":                        "indexrelid BIGINT, indrelid BIGINT, indnatts SMALLINT, indnkeyatts SMALLINT, indisunique BOOLEAN, indnullsnotdistinct BOOLEAN, indisprimary BOOLEAN, indisexclusion BOOLEAN, indimmediate BOOLEAN, indisclustered BOOLEAN, indisvalid BOOLEAN, indcheckxmin BOOLEAN, indisready BOOLEAN, indislive BOOLEAN, indisreplident BOOLEAN, indkey SMALLINT[], indcollation BIGINT[], indclass BIGINT[], indoption SMALLINT[], indexprs VARCHAR, indpred VARCHAR",
	"pg_catalog.pg_constraint":                   "oid BIGINT, conname VARCHAR, connamespace BIGINT, contype VARCHAR, condeferrable BOOLEAN, condeferred BOOLEAN, convalidated BOOLEAN, conrelid BIGINT, contypid BIGINT, conindid BIGINT, conparentid BIGINT, confrelid BIGINT, confupdtype VARCHAR, confdeltype VARCHAR, confmatchtype VARCHAR, conislocal BOOLEAN, coninhcount INTEGER, connoinherit BOOLEAN, conkey SMALLINT[], confkey SMALLINT[], conpfeqop BIGINT[], conppeqop BIGINT[], conffeqop BIGINT[], confdelsetcols SMALLINT[], conexclop BIGINT[], conbin VARCHAR",
	"pg_catalog.pg_description":                  "objoid BIGINT, classoid BIGINT, objsubid INTEGER, description VARCHAR",
	"pg_catalog.pg_shdescription":                "objoid BIGINT, classoid BIGINT, description VARCHAR",
	"pg_catalog.pg_attrdef":                      "oid BIGINT, adrelid BIGINT, adnum SMALLINT, adbin VARCHAR",
	"pg_catalog.pg_inherits":                     "inhrelid BIGINT, inhparent BIGINT, inhseqno INTEGER, inhdetachpending BOOLEAN",
	"pg_catalog.pg_policy":                       "oid BIGINT, polname VARCHAR, polrelid BIGINT, polcmd VARCHAR, polpermissive BOOLEAN, polroles BIGINT[], polqual VARCHAR, polwithcheck VARCHAR",
	"pg_catalog.pg_trigger":                      "oid BIGINT, tgrelid BIGINT, tgparentid BIGINT, tgname VARCHAR, tgfoid BIGINT, tgtype SMALLINT, tgenabled VARCHAR, tgisinternal BOOLEAN, tgconstrrelid BIGINT, tgconstrindid BIGINT, tgconstraint BIGINT, tgdeferrable BOOLEAN, tginitdeferred BOOLEAN, tgnargs SMALLINT, tgattr SMALLINT[], tgargs BLOB, tgqual VARCHAR, tgoldtable VARCHAR, tgnewtable VARCHAR",
	"pg_catalog.pg_statistic_ext":                "oid BIGINT, stxrelid BIGINT, stxname VARCHAR, stxnamespace BIGINT, stxowner BIGINT, stxstattarget INTEGER, stxkeys SMALLINT[], stxkind VARCHAR[], stxexprs VARCHAR",
	"pg_catalog.pg_publication":                  "oid BIGINT, pubname VARCHAR, pubowner BIGINT, puballtables BOOLEAN, pubinsert BOOLEAN, pubupdate BOOLEAN, pubdelete BOOLEAN, pubtruncate BOOLEAN, pubviaroot BOOLEAN",
	"pg_catalog.pg_publication_rel":              "oid BIGINT, prpubid BIGINT, prrelid BIGINT, prqual VARCHAR, prattrs SMALLINT[]",
	"pg_catalog.pg_publication_namespace":        "oid BIGINT, pnpubid BIGINT, pnnspid BIGINT",
	"pg_catalog.pg_proc":                         "oid BIGINT, proname VARCHAR, pronamespace BIGINT, proowner BIGINT, prolang BIGINT, procost FLOAT, prorows FLOAT, provariadic BIGINT, prosupport VARCHAR, prokind VARCHAR, prosecdef BOOLEAN, proleakproof BOOLEAN, proisstrict BOOLEAN, proretset BOOLEAN, provolatile VARCHAR, proparallel VARCHAR, pronargs SMALLINT, pronargdefaults SMALLINT, prorettype BIGINT, proargtypes BIGINT[], proallargtypes BIGINT[], proargmodes VARCHAR[], proargnames VARCHAR[], proargdefaults VARCHAR, protrftypes BIGINT[], prosrc VARCHAR, probin VARCHAR, prosqlbody VARCHAR, proconfig VARCHAR[], proacl VARCHAR[]",
	"pg_catalog.pg_extension":                    "oid BIGINT, extname VARCHAR, extowner BIGINT, extnamespace BIGINT, extrelocatable BOOLEAN, extversion VARCHAR, extconfig BIGINT[], extcondition VARCHAR[]",
	"pg_catalog.pg_enum":                         "oid BIGINT, enumtypid BIGINT, enumsortorder FLOAT, enumlabel VARCHAR",
	"pg_catalog.pg_range":                        "rngtypid BIGINT, rngsubtype BIGINT, rngmultitypid BIGINT, rngcollation BIGINT, rngsubopc BIGINT, rngcanonical VARCHAR, rngsubdiff VARCHAR",
	"pg_catalog.pg_foreign_table":                "ftrelid BIGINT, ftserver BIGINT, ftoptions VARCHAR[]",
	"pg_catalog.pg_foreign_server":               "oid BIGINT, srvname VARCHAR, srvowner BIGINT, srvfdw BIGINT, srvtype VARCHAR, srvversion VARCHAR, srvacl VARCHAR[], srvoptions VARCHAR[]",
	"pg_catalog.pg_partitioned_table":            "partrelid BIGINT, partstrat VARCHAR, partnatts SMALLINT, partdefid BIGINT, partattrs SMALLINT[], partclass BIGINT[], partcollation BIGINT[], partexprs VARCHAR",
	"pg_catalog.pg_sequence":                     "seqrelid BIGINT, seqtypid BIGINT, seqstart BIGINT, seqincrement BIGINT, seqmax BIGINT, seqmin BIGINT, seqcache BIGINT, seqcycle BOOLEAN",
	"pg_catalog.pg_depend":                       "classid BIGINT, objid BIGINT, objsubid INTEGER, refclassid BIGINT, refobjid BIGINT, refobjsubid INTEGER, deptype VARCHAR",
	"pg_catalog.pg_rewrite":                      "oid BIGINT, rulename VARCHAR, ev_class BIGINT, ev_type VARCHAR, ev_enabled VARCHAR, is_instead BOOLEAN, ev_qual VARCHAR, ev_action VARCHAR",
	"pg_catalog.pg_auth_members":                 "oid BIGINT, roleid BIGINT, member BIGINT, grantor BIGINT, admin_option BOOLEAN, inherit_option BOOLEAN, set_option BOOLEAN",
	"pg_catalog.pg_views":                        "schemaname VARCHAR, viewname VARCHAR, viewowner VARCHAR, definition VARCHAR",
	"pg_catalog.pg_matviews":                     "schemaname VARCHAR, matviewname VARCHAR, matviewowner VARCHAR, tablespace VARCHAR, hasindexes BOOLEAN, ispopulated BOOLEAN, definition VARCHAR",
	"pg_catalog.pg_indexes":                      "schemaname VARCHAR, tablename VARCHAR, indexname VARCHAR, tablespace VARCHAR, indexdef VARCHAR",
	"pg_catalog.pg_event_trigger":                "oid BIGINT, evtname VARCHAR, evtevent VARCHAR, evtowner BIGINT, evtfoid BIGINT, evtenabled VARCHAR, evttags VARCHAR[]",
	"pg_catalog.pg_language":                     "oid BIGINT, lanname VARCHAR, lanowner BIGINT, lanispl BOOLEAN, lanpltrusted BOOLEAN, lanplcallfoid BIGINT, laninline BIGINT, lanvalidator BIGINT, lanacl VARCHAR[]",
	"pg_catalog.pg_stat_activity":                "datid BIGINT, datname VARCHAR, pid INTEGER, usename VARCHAR, application_name VARCHAR, client_addr VARCHAR, state VARCHAR, query VARCHAR",
	"pg_catalog.pg_locks":                        "locktype VARCHAR, database BIGINT, relation BIGINT, pid INTEGER, mode VARCHAR, granted BOOLEAN",
	"pg_catalog.pg_cursors":                      "name VARCHAR, statement VARCHAR, is_holdable BOOLEAN, is_binary BOOLEAN, is_scrollable BOOLEAN, creation_time TIMESTAMPTZ",
	"pg_catalog.pg_prepared_statements":          "name VARCHAR, statement VARCHAR, prepare_time TIMESTAMPTZ, parameter_types BIGINT[], result_types BIGINT[], from_sql BOOLEAN",
	"pg_catalog.pg_sequences":                    "schemaname VARCHAR, sequencename VARCHAR, sequenceowner VARCHAR, data_type VARCHAR, start_value BIGINT, min_value BIGINT, max_value BIGINT, increment_by BIGINT, cycle BOOLEAN, cache_size BIGINT, last_value BIGINT",
	"pg_catalog.pg_opclass":                      "oid BIGINT, opcmethod BIGINT, opcname VARCHAR, opcnamespace BIGINT, opcowner BIGINT, opcfamily BIGINT, opcintype BIGINT, opcdefault BOOLEAN, opckeytype BIGINT",
	"pg_catalog.pg_conversion":                   "oid BIGINT, conname VARCHAR, connamespace BIGINT, conowner BIGINT, conforencoding INTEGER, contoencoding INTEGER, conproc VARCHAR, condefault BOOLEAN",
	"pg_catalog.pg_foreign_data_wrapper":         "oid BIGINT, fdwname VARCHAR, fdwowner BIGINT, fdwhandler BIGINT, fdwvalidator BIGINT, fdwacl VARCHAR[], fdwoptions VARCHAR[]",
	"pg_catalog.pg_rules":                        "schemaname VARCHAR, tablename VARCHAR, rulename VARCHAR, definition VARCHAR",
	"pg_catalog.pg_stat_user_tables":             "relid BIGINT, schemaname VARCHAR, relname VARCHAR, seq_scan BIGINT, seq_tup_read BIGINT, idx_scan BIGINT, idx_tup_fetch BIGINT, n_tup_ins BIGINT, n_tup_upd BIGINT, n_tup_del BIGINT, n_live_tup BIGINT, n_dead_tup BIGINT, last_vacuum TIMESTAMPTZ, last_autovacuum TIMESTAMPTZ, last_analyze TIMESTAMPTZ, last_autoanalyze TIMESTAMPTZ",
	"pg_catalog.pg_statio_user_tables":           "relid BIGINT, schemaname VARCHAR, relname VARCHAR, heap_blks_read BIGINT, heap_blks_hit BIGINT, idx_blks_read BIGINT, idx_blks_hit BIGINT",
	"information_schema.views":                   "table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, view_definition VARCHAR, check_option VARCHAR, is_updatable VARCHAR, is_insertable_into VARCHAR",
	"information_schema.table_constraints":       "constraint_catalog VARCHAR, constraint_schema VARCHAR, constraint_name VARCHAR, table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, constraint_type VARCHAR, is_deferrable VARCHAR, initially_deferred VARCHAR, enforced VARCHAR, nulls_distinct VARCHAR",
	"information_schema.key_column_usage":        "constraint_catalog VARCHAR, constraint_schema VARCHAR, constraint_name VARCHAR, table_catalog VARCHAR, table_schema VARCHAR, table_name VARCHAR, column_name VARCHAR, ordinal_position INTEGER, position_in_unique_constraint INTEGER",
	"information_schema.referential_constraints": "constraint_catalog VARCHAR, constraint_schema VARCHAR, constraint_name VARCHAR, unique_constraint_catalog VARCHAR, unique_constraint_schema VARCHAR, unique_constraint_name VARCHAR, match_option VARCHAR, update_rule VARCHAR, delete_rule VARCHAR",
	"information_schema.routines":                "specific_catalog VARCHAR, specific_schema VARCHAR, specific_name VARCHAR, routine_catalog VARCHAR, routine_schema VARCHAR, routine_name VARCHAR, routine_type VARCHAR, data_type VARCHAR",
}

func init() {
	for name, spec := range emptyCatalogTables {
		catalogTables[name] = catalogTable{cols: cols(spec), rows: func(*catalogSnapshot) [][]any { return nil }}
	}
}

// catalogRelationName returns the canonical name of an emulated relation,
// or "" if schema.name is none.
func catalogRelationName(schema, name string) string {
	key := schema + "." + strings.ToLower(name)
	if _, ok := catalogTables[key]; ok {
		return strings.ToLower(name)
	}
	return ""
}

// isCatalogRelation reports whether name is an emulated relation in any
// catalog schema.
func isCatalogRelation(name string) bool {
	return catalogRelationName("pg_catalog", name) != "" || catalogRelationName("information_schema", name) != ""
}

// catalogRelation builds the VALUES relation of an emulated catalog table.
func (s *Session) catalogRelation(ctx context.Context, ref tableRef) (relation, error) {
	ct, ok := catalogTables[ref.namespace+"."+ref.name]
	if !ok {
		return relation{}, sqlstate.New(sqlstate.UndefinedTable, "relation \"%s.%s\" does not exist", ref.namespace, ref.name)
	}
	snap, err := s.catalogSnapshot(ctx)
	if err != nil {
		return relation{}, err
	}
	return relation{sql: valuesSQL(ct.cols, ct.rows(snap))}, nil
}

func (s *Session) catalogSnapshot(ctx context.Context) (*catalogSnapshot, error) {
	cat := s.engine.cat
	nss, err := cat.Namespaces(ctx)
	if err != nil {
		return nil, err
	}
	// The catalog shows only what the principal may describe, and of a
	// table only the columns it may see.
	policy := s.engine.policy()
	snap := &catalogSnapshot{user: s.user, settings: s.settings}
	for _, ns := range nss {
		names, err := cat.Tables(ctx, ns)
		if err != nil {
			return nil, err
		}
		shown := false
		for _, n := range names {
			ok, rule := policy.Visible(s.request(authz.ActionDescribe, ns, n))
			if !ok {
				continue
			}
			t, err := cat.Table(ctx, ns, n)
			if err != nil {
				continue // dropped since the listing
			}
			var fields []iceberg.NestedField
			for _, f := range t.Schema().Fields() {
				if visible, _ := rule.Visible(f.Name); visible {
					fields = append(fields, f)
				}
			}
			snap.tables = append(snap.tables, catalogTableInfo{ns: ns, name: n, schema: iceberg.NewSchema(0, fields...)})
			shown = true
		}
		if shown || func() bool { ok, _ := policy.Visible(s.request(authz.ActionDescribe, ns, "")); return ok }() {
			snap.namespaces = append(snap.namespaces, ns)
		}
	}
	return snap, nil
}

// valuesSQL renders rows as a typed relation.
func valuesSQL(cols []pgCol, rows [][]any) string {
	var b strings.Builder
	if len(rows) == 0 {
		b.WriteString("SELECT ")
		for i, c := range cols {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "CAST(NULL AS %s) AS %s", c.typ, quoteIdent(c.name))
		}
		b.WriteString(" WHERE false")
		return b.String()
	}
	b.WriteString("SELECT ")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "CAST(v.c%d AS %s) AS %s", i, c.typ, quoteIdent(c.name))
	}
	b.WriteString(" FROM (VALUES ")
	for r, row := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		for i, v := range row {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(sqlLiteral(v))
		}
		b.WriteString(")")
	}
	b.WriteString(") AS v(")
	for i := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "c%d", i)
	}
	b.WriteString(")")
	return b.String()
}

func sqlLiteral(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return quoteString(x)
	case bool:
		if x {
			return "true"
		}
		return "false"
	case int:
		return strconv.Itoa(x)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return quoteString(fmt.Sprint(v))
}

func typeName(oid int64) string {
	for _, t := range pgTypes {
		if t.oid == oid {
			return t.name
		}
	}
	return "unknown"
}

// sqlTypeName is information_schema's data_type spelling.
func sqlTypeName(oid int64, mod int32) string {
	switch oid {
	case oidBool:
		return "boolean"
	case oidInt2:
		return "smallint"
	case oidInt4:
		return "integer"
	case oidInt8:
		return "bigint"
	case oidFloat4:
		return "real"
	case oidFloat8:
		return "double precision"
	case oidNumeric:
		return "numeric"
	case oidText:
		return "text"
	case oidVarchar:
		return "character varying"
	case oidBytea:
		return "bytea"
	case oidDate:
		return "date"
	case oidTime:
		return "time without time zone"
	case oidTimestamp:
		return "timestamp without time zone"
	case oidTimestamptz:
		return "timestamp with time zone"
	case oidInterval:
		return "interval"
	case oidUUID:
		return "uuid"
	case oidJSON:
		return "json"
	}
	if typeName(oid)[0] == '_' {
		return "ARRAY"
	}
	return "USER-DEFINED"
}

func sortedSettingNames() []string {
	names := make([]string, 0, len(knownSettings))
	for k := range knownSettings {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// catalogMacros are installed once, before DuckDB's configuration is
// locked; rewriteFunction points PostgreSQL function calls at them.
func catalogMacros() []string {
	var cases strings.Builder
	names := map[string]string{
		"bool": "boolean", "int8": "bigint", "int2": "smallint", "int4": "integer", "float4": "real",
		"float8": "double precision", "varchar": "character varying", "bpchar": "character",
		"timestamp": "timestamp without time zone", "timestamptz": "timestamp with time zone",
		"time": "time without time zone", "char": `"char"`,
	}
	display := func(n string) string {
		if d, ok := names[n]; ok {
			return d
		}
		return n
	}
	for _, t := range pgTypes {
		name := display(t.name)
		if t.elem != 0 {
			name = display(typeName(t.elem)) + "[]"
		}
		fmt.Fprintf(&cases, " WHEN %d THEN %s", t.oid, quoteString(name))
	}
	var known []string
	for _, t := range pgTypes {
		known = append(known, quoteString(t.name), quoteString(display(t.name)))
	}
	return []string{
		// to_regtype: the type's name if floe knows it, else NULL (hstore,
		// PostGIS types, ... are absent; clients probe for them).
		"CREATE MACRO floe_to_regtype(t) AS CASE WHEN lower(t) IN (" + strings.Join(known, ", ") + ") THEN lower(t) END",
		"CREATE MACRO floe_format_type(t, m) AS CASE WHEN t IS NULL THEN NULL WHEN t = 1700 AND m > 4 THEN " +
			"'numeric(' || ((m - 4) >> 16) || ',' || ((m - 4) & 65535) || ')' ELSE CASE t" + cases.String() +
			" ELSE '???' END END",
		"CREATE MACRO floe_pg_relation_size(r, f := NULL) AS 0::BIGINT",
		"CREATE MACRO floe_pg_get_expr(e, r, p := false) AS NULL::VARCHAR",
		"CREATE MACRO floe_pg_relation_is_publishable(r) AS false",
		"CREATE MACRO floe_div(a, b) AS CASE WHEN b = 0 THEN error('division by zero') ELSE a / b END",
		"CREATE MACRO floe_mod(a, b) AS CASE WHEN b = 0 THEN error('division by zero') ELSE a % b END",
		`CREATE MACRO floe_quote_ident(s) AS CASE WHEN regexp_full_match(s, '[a-z_][a-z0-9_$]*') THEN s ` +
			`ELSE '"' || replace(s, '"', '""') || '"' END`,
		`CREATE MACRO floe_quote_literal(s) AS '''' || replace(CAST(s AS VARCHAR), '''', '''''') || ''''`,
		`CREATE MACRO floe_quote_nullable(s) AS CASE WHEN s IS NULL THEN 'NULL' ` +
			`ELSE '''' || replace(CAST(s AS VARCHAR), '''', '''''') || '''' END`,
		"CREATE MACRO floe_pg_is_in_recovery() AS false",
		"CREATE MACRO floe_pg_get_serial_sequence(t, c) AS NULL::VARCHAR",
		"CREATE MACRO floe_pg_get_viewdef(v, p := false) AS NULL::VARCHAR",
		"CREATE MACRO floe_txid_current() AS 1::BIGINT",
		"CREATE MACRO floe_array_upper(a, d) AS CASE WHEN len(a) > 0 THEN len(a) END",
		"CREATE MACRO floe_array_lower(a, d) AS CASE WHEN len(a) > 0 THEN 1 END",
		"CREATE MACRO floe_obj_description(o, c := NULL) AS NULL::VARCHAR",
		"CREATE MACRO floe_col_description(o, c) AS NULL::VARCHAR",
		"CREATE MACRO floe_shobj_description(o, c) AS NULL::VARCHAR",
		"CREATE MACRO floe_pg_total_relation_size(r) AS 0::BIGINT",
		"CREATE MACRO floe_pg_table_size(r) AS 0::BIGINT",
		"CREATE MACRO floe_pg_indexes_size(r) AS 0::BIGINT",
		"CREATE MACRO floe_pg_get_indexdef(i, c := 0, p := false) AS NULL::VARCHAR",
		"CREATE MACRO floe_pg_get_triggerdef(t, p := false) AS NULL::VARCHAR",
		"CREATE MACRO floe_pg_get_partkeydef(t) AS NULL::VARCHAR",
		"CREATE MACRO floe_pg_get_ruledef(r, p := false) AS NULL::VARCHAR",
		"CREATE MACRO floe_pg_get_statisticsobjdef_columns(s) AS NULL::VARCHAR",
	}
}
