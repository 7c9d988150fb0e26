package catalog

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// ErrUnsupported marks table content floe cannot read yet (for example
// deletion vectors or a remote warehouse).
var ErrUnsupported = errors.New("unsupported table content")

// Table is a handle on one version of an Iceberg table. It is immutable:
// a newer version is a new handle.
type Table struct {
	Namespace string
	Name      string
	ice       *table.Table
	cat       *Catalog
}

// Iceberg returns the iceberg-go table, for writers.
func (t *Table) Iceberg() *table.Table { return t.ice }

// Schema returns the current schema.
func (t *Table) Schema() *iceberg.Schema { return t.ice.Schema() }

// SnapshotID returns the current snapshot id, or 0 for a table with no
// snapshot yet.
func (t *Table) SnapshotID() int64 {
	if s := t.ice.CurrentSnapshot(); s != nil {
		return s.SnapshotID
	}
	return 0
}

// Scan is the plan for reading one snapshot: its files and the schema to
// read them with.
type Scan struct {
	SnapshotID int64
	Schema     *iceberg.Schema
	Files      []File
	// SchemaEvolved is false while the table has had one schema only: its
	// files then hold the columns under the schema's own names and can be
	// read by name, which DuckDB does faster than by field id.
	SchemaEvolved bool
}

// File is one data file of a scan with the delete files that apply to it.
type File struct {
	Path            string // local filesystem path
	Records         int64
	PositionDeletes []string
	EqualityDeletes []EqualityDelete
}

// EqualityDelete is an equality delete file and the field ids it compares.
type EqualityDelete struct {
	Path     string
	FieldIDs []int
}

type planKey struct {
	table    string
	snapshot int64
}

// Plan returns the scan of the current snapshot. Plans are cached per
// snapshot.
func (t *Table) Plan(ctx context.Context) (*Scan, error) {
	snap := t.ice.CurrentSnapshot()
	if snap == nil {
		return &Scan{Schema: t.ice.Schema()}, nil
	}
	key := planKey{t.Namespace + "." + t.Name, snap.SnapshotID}
	c := t.cat
	c.mu.Lock()
	if p, ok := c.plans[key]; ok {
		c.mu.Unlock()
		return p, nil
	}
	c.mu.Unlock()

	tasks, err := t.ice.Scan().PlanFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("plan %s.%s: %w", t.Namespace, t.Name, err)
	}
	scan := &Scan{SnapshotID: snap.SnapshotID, Schema: t.ice.Schema(), Files: make([]File, 0, len(tasks)),
		SchemaEvolved: len(t.ice.Metadata().Schemas()) > 1}
	for _, task := range tasks {
		if len(task.DeletionVectorFiles) > 0 {
			return nil, fmt.Errorf("%w: %s.%s uses deletion vectors", ErrUnsupported, t.Namespace, t.Name)
		}
		if task.File.FileFormat() != iceberg.ParquetFile {
			return nil, fmt.Errorf("%w: %s.%s has %s data files", ErrUnsupported, t.Namespace, t.Name, task.File.FileFormat())
		}
		p, err := LocalPath(task.File.FilePath())
		if err != nil {
			return nil, err
		}
		f := File{Path: p, Records: task.File.Count()}
		for _, d := range task.DeleteFiles {
			dp, err := LocalPath(d.FilePath())
			if err != nil {
				return nil, err
			}
			f.PositionDeletes = append(f.PositionDeletes, dp)
		}
		for _, d := range task.EqualityDeleteFiles {
			dp, err := LocalPath(d.FilePath())
			if err != nil {
				return nil, err
			}
			f.EqualityDeletes = append(f.EqualityDeletes, EqualityDelete{Path: dp, FieldIDs: d.EqualityFieldIDs()})
		}
		scan.Files = append(scan.Files, f)
	}
	c.mu.Lock()
	if len(c.plans) > 4096 {
		clear(c.plans)
	}
	c.plans[key] = scan
	c.mu.Unlock()
	return scan, nil
}

// LocalPath turns a file location of the local warehouse (file:///x or /x)
// into a filesystem path.
func LocalPath(loc string) (string, error) {
	if strings.HasPrefix(loc, "/") {
		return loc, nil
	}
	u, err := url.Parse(loc)
	if err != nil || u.Scheme != "file" {
		return "", fmt.Errorf("%w: file location scheme of %q", ErrUnsupported, redactLocation(loc))
	}
	return u.Path, nil
}

func redactLocation(loc string) string {
	if i := strings.Index(loc, "://"); i >= 0 {
		return loc[:i+3] + "..."
	}
	return "..."
}
