package gateway

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/floe-dev/floe/authz"
	"github.com/floe-dev/floe/catalog"
	"github.com/floe-dev/floe/pgwire"
	"github.com/floe-dev/floe/sqlstate"
)

// ServerVersion is what floe reports as the PostgreSQL server version.
// Clients pick their dialect from it; 16 is what they know best.
const ServerVersion = "16.4"

// Config configures an Engine. Zero values take the defaults.
type Config struct {
	// CacheDir is the local file cache DuckDB may read besides the
	// warehouse (default: none).
	CacheDir string
	// Threads and MemoryLimit bound DuckDB (defaults: all cores, 80% RAM).
	Threads     int
	MemoryLimit string
	Logger      *slog.Logger
	// Policy returns the central policy in force (authz.Holder.Policy).
	// Nil: the policy compiled once from the policy directory beside the
	// warehouse (DATA/policy), which without files lets only the bootstrap
	// admin in.
	Policy func() *authz.Policy
	// Virtual maps "namespace.table" (lower case) to a provider of the rows
	// of a table that floe computes rather than reads from Iceberg, such as
	// floe.ingest_status: column names, their DuckDB types, and rows of
	// nil, string, bool, int, int32, int64 or float64. A query reads it
	// like any table, with floe:Select on arn:floe:table/NAMESPACE/TABLE;
	// it takes precedence over an Iceberg table of the same name.
	Virtual map[string]func() (cols, types []string, rows [][]any)
	// Audit, when set, receives one record per executed statement (audit.go):
	// for a query when its result is closed, for a refused statement at its
	// error. It is called on the session's goroutine and must not block
	// (authz.AuditLog.Record).
	Audit func(authz.AuditRecord)
}

// Engine runs SQL for sessions over sandboxed DuckDB instances: one per
// session TimeZone in use, because DuckDB's TimeZone (which its timestamptz
// functions follow) is part of the configuration locked by the sandbox.
type Engine struct {
	cfg   Config
	cat   *catalog.Catalog
	users *authz.Directory
	log   *slog.Logger

	mu        sync.Mutex
	instances map[string]*instance // by time zone name
	// systemNames are the relation names DuckDB itself can resolve (its
	// pg_catalog, information_schema and duckdb_* views). A CTE may not take
	// one of these names: see resolve.go.
	systemNames map[string]bool
	// nameKeywords are the words DuckDB reserves that PostgreSQL takes as
	// names; keywords.go quotes them where DuckDB's parser stops on them.
	nameKeywords map[string]bool

	nextSession atomic.Int32
	rewrites    *rewriteCache
	emptyPolicy *authz.Policy // the policy when Config.Policy is nil
}

// instance is one sealed DuckDB database.
type instance struct {
	db        *sql.DB
	connector *duckdb.Connector
}

// maxInstances bounds the DuckDB instances (distinct session time zones):
// each has its own buffer pool.
const maxInstances = 8

var _ pgwire.Engine = (*Engine)(nil)

// New returns an Engine over cat that authenticates against users. It does
// no I/O; call Start.
func New(cat *catalog.Catalog, users *authz.Directory, cfg Config) *Engine {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Engine{cfg: cfg, cat: cat, users: users, log: cfg.Logger, rewrites: newRewriteCache(),
		instances: map[string]*instance{}}
}

// Start starts the UTC DuckDB instance, checking that the sandbox seals.
func (e *Engine) Start(ctx context.Context) error {
	if e.cfg.Policy == nil {
		p, err := authz.Compile(filepath.Join(filepath.Dir(e.cat.Warehouse()), "policy"), authz.Options{})
		if err != nil {
			return err
		}
		e.emptyPolicy = p
	}
	_, err := e.instance(ctx, "UTC")
	return err
}

// instance returns the DuckDB instance for time zone tz, starting it on
// first use.
func (e *Engine) instance(ctx context.Context, tz string) (*instance, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if in, ok := e.instances[tz]; ok {
		return in, nil
	}
	if len(e.instances) >= maxInstances {
		return nil, sqlstate.New(sqlstate.ProgramLimitExceeded,
			"too many distinct session time zones in use (floe runs at most %d at once)", maxInstances)
	}
	in, names, err := e.startInstance(ctx, tz)
	if err != nil {
		return nil, err
	}
	if e.systemNames == nil {
		e.systemNames, e.nameKeywords = names.relations, names.keywords
	}
	e.instances[tz] = in
	return in, nil
}

// startInstance starts DuckDB and seals its sandbox (DESIGN.md invariant 2):
// only the warehouse and cache directories are reachable, external access is
// off, extensions never load, and the configuration is locked — in that
// order, once, on the first connection.
func (e *Engine) startInstance(ctx context.Context, tz string) (*instance, duckdbNames, error) {
	// integer_division: 5 / 2 is 2 for integers, as in PostgreSQL.
	dsn := "?autoinstall_known_extensions=false&autoload_known_extensions=false" +
		"&disabled_optimizers=cte_filter_pusher&integer_division=true"
	if e.cfg.Threads > 0 {
		dsn += fmt.Sprintf("&threads=%d", e.cfg.Threads)
	}
	if e.cfg.MemoryLimit != "" {
		dsn += "&memory_limit=" + e.cfg.MemoryLimit
	}
	connector, err := duckdb.NewConnector(dsn, nil)
	if err != nil {
		return nil, duckdbNames{}, fmt.Errorf("start duckdb: %w", err)
	}
	db := sql.OpenDB(connector)
	fail := func(err error) (*instance, duckdbNames, error) {
		db.Close()
		connector.Close()
		return nil, duckdbNames{}, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fail(fmt.Errorf("start duckdb: %w", err))
	}
	defer conn.Close()

	dirs := []string{e.cat.Warehouse()}
	if e.cfg.CacheDir != "" {
		if err := os.MkdirAll(e.cfg.CacheDir, 0o755); err != nil {
			return fail(fmt.Errorf("create cache directory: %w", err))
		}
		abs, _ := filepath.Abs(e.cfg.CacheDir)
		dirs = append(dirs, abs)
	}
	quoted := make([]string, len(dirs))
	for i, d := range dirs {
		quoted[i] = quoteString(d + "/")
	}
	setup := append(catalogMacros(),
		"SET GLOBAL TimeZone="+quoteString(tz),
		"SET allowed_directories=["+strings.Join(quoted, ",")+"]",
		"SET enable_external_access=false",
		"SET lock_configuration=true",
	)
	for _, s := range setup {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return fail(fmt.Errorf("seal duckdb sandbox (%s): %w", strings.SplitN(s, "=", 2)[0], err))
		}
	}
	var names duckdbNames
	if names.relations, err = systemRelationNames(ctx, conn); err != nil {
		return fail(err)
	}
	if names.keywords, err = nameKeywords(ctx, conn); err != nil {
		return fail(err)
	}
	return &instance{db: db, connector: connector}, names, nil
}

// duckdbNames is what an engine learns of DuckDB's names from its first
// instance.
type duckdbNames struct {
	relations map[string]bool // systemNames
	keywords  map[string]bool // nameKeywords
}

func systemRelationNames(ctx context.Context, conn *sql.Conn) (map[string]bool, error) {
	rows, err := conn.QueryContext(ctx,
		"SELECT view_name FROM duckdb_views() UNION SELECT table_name FROM duckdb_tables()")
	if err != nil {
		return nil, fmt.Errorf("list duckdb system relations: %w", err)
	}
	defer rows.Close()
	names := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names[strings.ToLower(n)] = true
	}
	return names, rows.Err()
}

// Close shuts DuckDB down. Sessions must be closed first.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	for tz, in := range e.instances {
		errs = append(errs, in.db.Close(), in.connector.Close())
		delete(e.instances, tz)
	}
	return errors.Join(errs...)
}

// SCRAMSecret implements pgwire.Engine.
func (e *Engine) SCRAMSecret(ctx context.Context, user string) (pgwire.SCRAMSecret, error) {
	return e.users.Secret(user)
}

// Open implements pgwire.Engine.
func (e *Engine) Open(ctx context.Context, info pgwire.StartupInfo) (pgwire.Session, error) {
	return e.NewSession(ctx, info)
}

// NewSession starts a session for an authenticated client; its address and
// transport are what policy conditions (floe:SourceIp,
// floe:SecureTransport) test.
func (e *Engine) NewSession(ctx context.Context, info pgwire.StartupInfo) (*Session, error) {
	if info.Database != "" && info.Database != DatabaseName {
		return nil, sqlstate.New(sqlstate.InvalidCatalogName, "database %q does not exist", info.Database)
	}
	s := newSession(e, info.User)
	s.sourceIP, s.tls = addrIP(info.RemoteAddr), info.TLS
	if info.RemoteAddr != nil {
		s.clientAddr = info.RemoteAddr.String()
	}
	for k, v := range info.Params {
		if err := s.settings.set(k, v); err != nil && !errors.Is(err, errUnknownSetting) {
			return nil, err
		}
	}
	if err := s.useInstance(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// DatabaseName is the one database floe serves.
const DatabaseName = "floe"

// rawConn runs fn with the DuckDB driver connection behind conn.
func rawConn(conn *sql.Conn, fn func(*duckdb.Conn) error) error {
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*duckdb.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		return fn(c)
	})
}

var _ driver.Conn = (*duckdb.Conn)(nil)

func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// pin pins the snapshots a statement reads until the returned function is
// called (catalog.Pin): snapshot expiry keeps their files meanwhile.
func (e *Engine) pin(reads []tableSnapshot) func() {
	if len(reads) == 0 {
		return func() {}
	}
	releases := make([]func(), len(reads))
	for i, r := range reads {
		releases[i] = e.cat.Pin(r.ref.namespace, r.ref.name, r.snapshot)
	}
	return func() {
		for _, release := range releases {
			release()
		}
	}
}
