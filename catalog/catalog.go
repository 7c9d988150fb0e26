package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/iceberg-go"
	icecat "github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	"github.com/apache/iceberg-go/table"
	"github.com/uptrace/bun/driver/sqliteshim"
)

// catalogName is the catalog_name of floe's tables in the SQL catalog.
const catalogName = "floe"

// Sentinel errors. Callers test them with errors.Is.
var (
	ErrNoSuchTable     = errors.New("table does not exist")
	ErrNoSuchNamespace = errors.New("namespace does not exist")
	ErrTableExists     = errors.New("table already exists")
)

// Config configures a Catalog. Zero values take the defaults.
type Config struct {
	// Dir is the data directory: DIR/catalog.db and DIR/warehouse.
	Dir string
	// RefreshInterval bounds how stale a cached table handle may be
	// (default 500ms, so a commit made elsewhere shows within a second).
	RefreshInterval time.Duration
}

// Catalog is an open Iceberg catalog with its warehouse.
type Catalog struct {
	cfg       Config
	warehouse string // absolute local path
	db        *sql.DB
	ice       *sqlcat.Catalog

	mu          sync.Mutex
	tables      map[string]*cachedTable
	lists       *cachedLists
	plans       map[string][]*plan      // by "ns.name": the newest plansPerTable, newest last
	commitLocks map[string]*sync.Mutex  // by "ns.name": commits of one table are serialised
	inflight    map[string][]time.Time  // by "ns.name": start of writes under way (Commit, rewrites)
	pins        map[pinKey]int          // snapshots running queries read (pins.go)
	conflicts   atomic.Int64            // commit attempts lost against another writer
	listeners   []func(ns, name string) // OnCommit
}

type cachedTable struct {
	tbl      *Table
	loadedAt time.Time
}

type cachedLists struct {
	byNS     map[string][]string
	loadedAt time.Time
}

// Open opens (creating on first use) the catalog in cfg.Dir.
func Open(ctx context.Context, cfg Config) (*Catalog, error) {
	if cfg.Dir == "" {
		return nil, errors.New("catalog: data directory not set")
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = 500 * time.Millisecond
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("catalog: data directory: %w", err)
	}
	wh := filepath.Join(dir, "warehouse")
	if err := os.MkdirAll(wh, 0o755); err != nil {
		return nil, fmt.Errorf("catalog: create warehouse: %w", err)
	}
	dsn := "file:" + filepath.Join(dir, "catalog.db") +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open(sqliteshim.ShimName, dsn)
	if err != nil {
		return nil, fmt.Errorf("catalog: open catalog.db: %w", err)
	}
	// SQLite takes one writer at a time; one connection avoids SQLITE_BUSY
	// inside this process (other processes wait on busy_timeout).
	db.SetMaxOpenConns(1)
	ice, err := sqlcat.NewCatalog(catalogName, db, sqlcat.SQLite, iceberg.Properties{
		"warehouse": (&url.URL{Scheme: "file", Path: wh}).String(),
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("catalog: %w", err)
	}
	if err := ice.CreateSQLTables(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("catalog: create catalog tables: %w", err)
	}
	return &Catalog{
		cfg:         cfg,
		warehouse:   wh,
		db:          db,
		ice:         ice,
		tables:      map[string]*cachedTable{},
		plans:       map[string][]*plan{},
		commitLocks: map[string]*sync.Mutex{},
		inflight:    map[string][]time.Time{},
		pins:        map[pinKey]int{},
	}, nil
}

// Close releases the catalog database.
func (c *Catalog) Close() error { return c.db.Close() }

// Warehouse returns the absolute local path of the warehouse directory.
func (c *Catalog) Warehouse() string { return c.warehouse }

// Namespaces lists the namespaces, sorted.
func (c *Catalog) Namespaces(ctx context.Context) ([]string, error) {
	l, err := c.listing(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(l))
	for ns := range l {
		out = append(out, ns)
	}
	sort.Strings(out)
	return out, nil
}

// Tables lists the tables of namespace ns, sorted.
func (c *Catalog) Tables(ctx context.Context, ns string) ([]string, error) {
	l, err := c.listing(ctx)
	if err != nil {
		return nil, err
	}
	t, ok := l[ns]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoSuchNamespace, ns)
	}
	return t, nil
}

// listing returns namespace → sorted table names, cached like tables.
func (c *Catalog) listing(ctx context.Context) (map[string][]string, error) {
	c.mu.Lock()
	if l := c.lists; l != nil && time.Since(l.loadedAt) < c.cfg.RefreshInterval {
		c.mu.Unlock()
		return l.byNS, nil
	}
	c.mu.Unlock()
	nss, err := c.ice.ListNamespaces(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	byNS := make(map[string][]string, len(nss))
	for _, ns := range nss {
		name := strings.Join(ns, ".")
		names := []string{}
		for id, err := range c.ice.ListTables(ctx, ns) {
			if err != nil {
				return nil, fmt.Errorf("list tables of %s: %w", name, err)
			}
			names = append(names, id[len(id)-1])
		}
		sort.Strings(names)
		byNS[name] = names
	}
	c.mu.Lock()
	c.lists = &cachedLists{byNS: byNS, loadedAt: time.Now()}
	c.mu.Unlock()
	return byNS, nil
}

// Table returns the table ns.name as of at most RefreshInterval ago.
func (c *Catalog) Table(ctx context.Context, ns, name string) (*Table, error) {
	key := ns + "." + name
	c.mu.Lock()
	if e, ok := c.tables[key]; ok && time.Since(e.loadedAt) < c.cfg.RefreshInterval {
		c.mu.Unlock()
		return e.tbl, nil
	}
	c.mu.Unlock()
	return c.reload(ctx, ns, name)
}

// Reload loads ns.name from the catalog, bypassing the cache.
func (c *Catalog) Reload(ctx context.Context, ns, name string) (*Table, error) {
	return c.reload(ctx, ns, name)
}

func (c *Catalog) reload(ctx context.Context, ns, name string) (*Table, error) {
	t, err := c.ice.LoadTable(ctx, table.Identifier{ns, name})
	if err != nil {
		if errors.Is(err, icecat.ErrNoSuchTable) || errors.Is(err, icecat.ErrNoSuchNamespace) {
			return nil, fmt.Errorf("%w: %s.%s", ErrNoSuchTable, ns, name)
		}
		return nil, fmt.Errorf("load table %s.%s: %w", ns, name, err)
	}
	tbl := &Table{Namespace: ns, Name: name, ice: t, cat: c}
	c.remember(tbl)
	return tbl, nil
}

func (c *Catalog) remember(tbl *Table) {
	c.mu.Lock()
	c.tables[tbl.Namespace+"."+tbl.Name] = &cachedTable{tbl: tbl, loadedAt: time.Now()}
	c.mu.Unlock()
}

func (c *Catalog) forget(ns, name string) {
	c.mu.Lock()
	delete(c.tables, ns+"."+name)
	c.mu.Unlock()
}

// current returns ns.name as it is in the catalog now: the cached handle
// when the catalog still points at its metadata file (one small query),
// else a fresh load.
func (c *Catalog) current(ctx context.Context, ns, name string) (*Table, error) {
	key := ns + "." + name
	c.mu.Lock()
	e := c.tables[key]
	c.mu.Unlock()
	if e != nil {
		loc, err := c.metadataLocation(ctx, ns, name)
		switch {
		case err == nil && loc == e.tbl.ice.MetadataLocation():
			c.remember(e.tbl)
			return e.tbl, nil
		case errors.Is(err, ErrNoSuchTable):
			c.forget(ns, name)
			return nil, err
		}
	}
	return c.reload(ctx, ns, name)
}

// Current returns ns.name as it is in the catalog now, bypassing the
// RefreshInterval staleness of Table (cheaply: one query when unchanged).
func (c *Catalog) Current(ctx context.Context, ns, name string) (*Table, error) {
	return c.current(ctx, ns, name)
}

// metadataLocation reads where the SQL catalog points ns.name now.
func (c *Catalog) metadataLocation(ctx context.Context, ns, name string) (string, error) {
	var loc sql.NullString
	err := c.db.QueryRowContext(ctx,
		`SELECT metadata_location FROM iceberg_tables WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?`,
		catalogName, ns, name).Scan(&loc)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !loc.Valid) {
		return "", fmt.Errorf("%w: %s.%s", ErrNoSuchTable, ns, name)
	}
	return loc.String, err
}

// CreateOption adjusts a table that CreateTable creates.
type CreateOption func(*createConfig)

type createConfig struct {
	spec *iceberg.PartitionSpec
}

// WithPartitionSpec creates the table partitioned by spec, whose source ids
// refer to the fields of the schema given to CreateTable (the catalog
// assigns fresh ids to both).
func WithPartitionSpec(spec *iceberg.PartitionSpec) CreateOption {
	return func(c *createConfig) { c.spec = spec }
}

// CreateTable creates ns.name with schema sc (and the namespace if needed),
// unpartitioned unless an option says otherwise. If the table exists
// already it returns ErrTableExists.
func (c *Catalog) CreateTable(ctx context.Context, ns, name string, sc *iceberg.Schema, props map[string]string, opts ...CreateOption) (*Table, error) {
	var cfg createConfig
	for _, o := range opts {
		o(&cfg)
	}
	id := table.Identifier{ns, name}
	if err := c.ice.CreateNamespace(ctx, table.Identifier{ns}, nil); err != nil && !errors.Is(err, icecat.ErrNamespaceAlreadyExists) {
		return nil, fmt.Errorf("create namespace %s: %w", ns, err)
	}
	p := iceberg.Properties{"format-version": "2"}
	maps.Copy(p, ManagedMetadataProperties())
	for k, v := range props {
		p[k] = v
	}
	copts := []icecat.CreateTableOpt{icecat.WithProperties(p)}
	if cfg.spec != nil {
		copts = append(copts, icecat.WithPartitionSpec(cfg.spec))
	}
	t, err := c.ice.CreateTable(ctx, id, sc, copts...)
	if err != nil {
		if errors.Is(err, icecat.ErrTableAlreadyExists) {
			return nil, fmt.Errorf("%w: %s.%s", ErrTableExists, ns, name)
		}
		return nil, fmt.Errorf("create table %s.%s: %w", ns, name, err)
	}
	c.mu.Lock()
	c.lists = nil
	c.mu.Unlock()
	tbl := &Table{Namespace: ns, Name: name, ice: t, cat: c}
	c.remember(tbl)
	return tbl, nil
}
