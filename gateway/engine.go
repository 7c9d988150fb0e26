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
}

// Engine runs SQL for sessions over one sandboxed DuckDB instance.
type Engine struct {
	cfg   Config
	cat   *catalog.Catalog
	users *authz.Directory
	log   *slog.Logger

	db        *sql.DB
	connector *duckdb.Connector
	// systemNames are the relation names DuckDB itself can resolve (its
	// pg_catalog, information_schema and duckdb_* views). A CTE may not take
	// one of these names: see resolve.go.
	systemNames map[string]bool

	nextSession atomic.Int32
	rewrites    *rewriteCache
}

var _ pgwire.Engine = (*Engine)(nil)

// New returns an Engine over cat that authenticates against users. It does
// no I/O; call Open.
func New(cat *catalog.Catalog, users *authz.Directory, cfg Config) *Engine {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Engine{cfg: cfg, cat: cat, users: users, log: cfg.Logger, rewrites: newRewriteCache()}
}

// Start starts DuckDB and seals its sandbox (DESIGN.md invariant 2): only the
// warehouse and cache directories are reachable, external access is off,
// extensions never load, and the configuration is locked.
func (e *Engine) Start(ctx context.Context) error {
	dsn := "?autoinstall_known_extensions=false&autoload_known_extensions=false" +
		"&disabled_optimizers=cte_filter_pusher"
	if e.cfg.Threads > 0 {
		dsn += fmt.Sprintf("&threads=%d", e.cfg.Threads)
	}
	if e.cfg.MemoryLimit != "" {
		dsn += "&memory_limit=" + e.cfg.MemoryLimit
	}
	connector, err := duckdb.NewConnector(dsn, nil)
	if err != nil {
		return fmt.Errorf("start duckdb: %w", err)
	}
	db := sql.OpenDB(connector)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return fmt.Errorf("start duckdb: %w", err)
	}
	defer conn.Close()

	dirs := []string{e.cat.Warehouse()}
	if e.cfg.CacheDir != "" {
		if err := os.MkdirAll(e.cfg.CacheDir, 0o755); err != nil {
			db.Close()
			return fmt.Errorf("create cache directory: %w", err)
		}
		abs, _ := filepath.Abs(e.cfg.CacheDir)
		dirs = append(dirs, abs)
	}
	quoted := make([]string, len(dirs))
	for i, d := range dirs {
		quoted[i] = quoteString(d + "/")
	}
	setup := append(catalogMacros(),
		"SET allowed_directories=["+strings.Join(quoted, ",")+"]",
		"SET enable_external_access=false",
		"SET lock_configuration=true",
	)
	for _, s := range setup {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			db.Close()
			return fmt.Errorf("seal duckdb sandbox (%s): %w", strings.SplitN(s, "=", 2)[0], err)
		}
	}
	names, err := systemRelationNames(ctx, conn)
	if err != nil {
		db.Close()
		return err
	}
	e.db, e.connector, e.systemNames = db, connector, names
	return nil
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
	if e.db == nil {
		return nil
	}
	err := e.db.Close()
	if cerr := e.connector.Close(); err == nil {
		err = cerr
	}
	return err
}

// SCRAMSecret implements pgwire.Engine.
func (e *Engine) SCRAMSecret(ctx context.Context, user string) (pgwire.SCRAMSecret, error) {
	return e.users.Secret(user)
}

// Open implements pgwire.Engine.
func (e *Engine) Open(ctx context.Context, info pgwire.StartupInfo) (pgwire.Session, error) {
	return e.NewSession(ctx, info.User, info.Database, info.Params)
}

// NewSession starts a session for an authenticated principal.
func (e *Engine) NewSession(ctx context.Context, user, database string, params map[string]string) (*Session, error) {
	if database != "" && database != DatabaseName {
		return nil, sqlstate.New(sqlstate.InvalidCatalogName, "database %q does not exist", database)
	}
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("open duckdb connection: %w", err)
	}
	s := newSession(e, conn, user)
	for k, v := range params {
		if err := s.settings.set(k, v); err != nil && !errors.Is(err, errUnknownSetting) {
			conn.Close()
			return nil, err
		}
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
