package gateway

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/floe-dev/floe/sqlstate"
)

var errUnknownSetting = errors.New("unknown setting")

// setting is a client session parameter the gateway answers itself. DuckDB's
// own configuration is locked; clients never reach it.
type setting struct {
	name     string // canonical spelling, as SHOW reports it
	def      string
	report   bool // sent as ParameterStatus
	validate func(string) (string, error)
}

var knownSettings = map[string]setting{}

func init() {
	for _, s := range []setting{
		{name: "application_name", def: "", report: true},
		{name: "client_encoding", def: "UTF8", report: true, validate: validateEncoding},
		{name: "DateStyle", def: "ISO, MDY", report: true, validate: validateDateStyle},
		{name: "TimeZone", def: "UTC", report: true, validate: validateTimeZone},
		{name: "IntervalStyle", def: "postgres", report: true, validate: oneOf("postgres")},
		{name: "extra_float_digits", def: "1", validate: validateInt(-15, 3)},
		{name: "search_path", def: `"$user", public`},
		{name: "statement_timeout", def: "0", validate: validateDuration},
		{name: "lock_timeout", def: "0", validate: validateDuration},
		{name: "idle_in_transaction_session_timeout", def: "0", validate: validateDuration},
		{name: "client_min_messages", def: "notice"},
		{name: "standard_conforming_strings", def: "on", report: true, validate: oneOf("on")},
		{name: "default_transaction_isolation", def: "read committed"},
		{name: "transaction_isolation", def: "read committed"},
		{name: "default_transaction_read_only", def: "on"},
		{name: "transaction_read_only", def: "on"},
		{name: "bytea_output", def: "hex", validate: oneOf("hex")},
		{name: "server_version", def: ServerVersion, report: true, validate: readOnly},
		{name: "server_version_num", def: "160004", validate: readOnly},
		{name: "server_encoding", def: "UTF8", report: true, validate: readOnly},
		{name: "integer_datetimes", def: "on", report: true, validate: readOnly},
		{name: "is_superuser", def: "off", report: true, validate: readOnly},
		{name: "session_authorization", def: "", report: true, validate: readOnly},
		{name: "max_identifier_length", def: "63", validate: readOnly},
		{name: "geqo", def: "on"},
		{name: "jit", def: "off"},
		{name: "row_security", def: "on"},
		{name: "intervalstyle", def: "postgres"},
		{name: "timezone_abbreviations", def: "Default"},
		{name: "lc_messages", def: "C"},
		{name: "lc_monetary", def: "C"},
		{name: "lc_numeric", def: "C"},
		{name: "lc_time", def: "C"},
		{name: "synchronous_commit", def: "on"},
		{name: "work_mem", def: "4MB"},
		{name: "enable_seqscan", def: "on"},
	} {
		knownSettings[strings.ToLower(s.name)] = s
	}
}

// settings holds one session's parameter values.
type settings struct {
	values map[string]string // lower-case name → value
	loc    *time.Location
	fp     string // cached fingerprint; "" after a change
}

func newSettings(user string) *settings {
	s := &settings{values: map[string]string{}, loc: time.UTC}
	for k, def := range knownSettings {
		s.values[k] = def.def
	}
	s.values["session_authorization"] = user
	return s
}

func (s *settings) get(name string) (string, error) {
	v, ok := s.values[strings.ToLower(name)]
	if !ok {
		return "", sqlstate.New(sqlstate.UndefinedObject, "unrecognized configuration parameter %q", name)
	}
	return v, nil
}

// set assigns a parameter. Startup parameters go through here too.
func (s *settings) set(name, value string) error {
	key := strings.ToLower(name)
	def, ok := knownSettings[key]
	if !ok {
		if engineSetting(key) {
			return sqlstate.New(sqlstate.InsufficientPrivilege, "permission denied to set parameter %q", name)
		}
		return errors.Join(errUnknownSetting,
			sqlstate.New(sqlstate.UndefinedObject, "unrecognized configuration parameter %q", name))
	}
	if def.validate != nil {
		v, err := def.validate(value)
		if err != nil {
			return err
		}
		value = v
	}
	if key == "timezone" {
		loc, err := loadLocation(value)
		if err != nil {
			return err
		}
		s.loc = loc
	}
	s.values[key] = value
	s.fp = ""
	return nil
}

func (s *settings) reset(name string) error {
	key := strings.ToLower(name)
	def, ok := knownSettings[key]
	if !ok {
		return sqlstate.New(sqlstate.UndefinedObject, "unrecognized configuration parameter %q", name)
	}
	return s.set(def.name, def.def)
}

func (s *settings) resetAll() {
	for k, def := range knownSettings {
		if def.validate == nil || !isReadOnly(def) {
			s.values[k] = def.def
		}
	}
	s.loc = time.UTC
	s.fp = ""
}

func isReadOnly(def setting) bool {
	_, err := def.validate("x")
	return err != nil && sqlstate.Code(err) == sqlstate.CantChangeRuntimeParam
}

// reported returns the ParameterStatus parameters with their canonical names.
func (s *settings) reported() map[string]string {
	out := map[string]string{}
	for k, def := range knownSettings {
		if def.report {
			out[def.name] = s.values[k]
		}
	}
	return out
}

// statementTimeout returns statement_timeout, 0 for none.
func (s *settings) statementTimeout() time.Duration {
	d, _ := parseDuration(s.values["statement_timeout"])
	return d
}

// engineSetting reports whether name is one of DuckDB's own settings, which
// no client may change.
func engineSetting(name string) bool {
	switch name {
	case "threads", "memory_limit", "enable_external_access", "allowed_directories", "allowed_paths",
		"lock_configuration", "autoinstall_known_extensions", "autoload_known_extensions",
		"disabled_optimizers", "temp_directory", "max_memory", "enable_profiling", "profiling_output",
		"custom_extension_repository", "extension_directory", "allow_unsigned_extensions",
		"home_directory", "enable_object_cache", "worker_threads", "access_mode", "secret_directory",
		"default_secret_storage", "enable_http_metadata_cache", "file_search_path", "profile_output",
		"enable_progress_bar", "errors_as_json", "storage_compatibility_version", "preserve_insertion_order":
		return true
	}
	return false
}

func readOnly(string) (string, error) {
	return "", sqlstate.New(sqlstate.CantChangeRuntimeParam, "parameter cannot be changed")
}

func oneOf(allowed ...string) func(string) (string, error) {
	return func(v string) (string, error) {
		for _, a := range allowed {
			if strings.EqualFold(v, a) {
				return a, nil
			}
		}
		return "", sqlstate.New(sqlstate.InvalidParameterValue, "invalid value %q (floe supports %s)", v, strings.Join(allowed, ", "))
	}
}

func validateEncoding(v string) (string, error) {
	switch strings.ToUpper(strings.ReplaceAll(v, "-", "")) {
	case "UTF8", "UNICODE":
		return "UTF8", nil
	}
	return "", sqlstate.New(sqlstate.InvalidParameterValue, "client_encoding %q is not supported; floe speaks UTF8", v)
}

func validateDateStyle(v string) (string, error) {
	// floe formats dates as ISO; accept the order part clients send.
	up := strings.ToUpper(v)
	if strings.Contains(up, "ISO") || !strings.ContainsAny(up, "SGP") {
		order := "MDY"
		for _, o := range []string{"DMY", "YMD", "MDY"} {
			if strings.Contains(up, o) {
				order = o
			}
		}
		return "ISO, " + order, nil
	}
	return "", sqlstate.New(sqlstate.InvalidParameterValue, "DateStyle %q is not supported; floe formats dates as ISO", v)
}

func validateTimeZone(v string) (string, error) {
	if _, err := loadLocation(v); err != nil {
		return "", err
	}
	return v, nil
}

func loadLocation(v string) (*time.Location, error) {
	switch strings.ToUpper(v) {
	case "UTC", "GMT", "Z", "ZULU", "ETC/UTC":
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(v)
	if err != nil {
		return nil, sqlstate.New(sqlstate.InvalidParameterValue, "invalid value for parameter \"TimeZone\": %q", v)
	}
	return loc, nil
}

func validateInt(lo, hi int) func(string) (string, error) {
	return func(v string) (string, error) {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < lo || n > hi {
			return "", sqlstate.New(sqlstate.InvalidParameterValue, "invalid value %q: must be an integer from %d to %d", v, lo, hi)
		}
		return strconv.Itoa(n), nil
	}
}

func validateDuration(v string) (string, error) {
	if _, err := parseDuration(v); err != nil {
		return "", sqlstate.New(sqlstate.InvalidParameterValue, "invalid value for a timeout: %q", v)
	}
	return v, nil
}

// parseDuration reads PostgreSQL time settings: a bare number is
// milliseconds; units ms, s, min, h, d are accepted.
func parseDuration(v string) (time.Duration, error) {
	v = strings.TrimSpace(strings.ToLower(v))
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(n) * time.Millisecond, nil
	}
	units := []struct {
		suffix string
		unit   time.Duration
	}{{"ms", time.Millisecond}, {"min", time.Minute}, {"s", time.Second}, {"h", time.Hour}, {"d", 24 * time.Hour}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(v, u.suffix); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			if err != nil || n < 0 {
				return 0, errors.New("bad duration")
			}
			return time.Duration(n * float64(u.unit)), nil
		}
	}
	return 0, errors.New("bad duration")
}
