package catalog

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/url"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
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

// Schema returns the current schema.
func (t *Table) Schema() *iceberg.Schema { return t.ice.Schema() }

// Spec returns the default partition spec.
func (t *Table) Spec() iceberg.PartitionSpec { return t.ice.Spec() }

// Properties returns the table properties.
func (t *Table) Properties() iceberg.Properties { return t.ice.Properties() }

// Layout returns the schema, partition specs, properties and format
// version of this version of the table.
func (t *Table) Layout() Layout { return layoutOf(t.ice.Metadata()) }

// Metadata returns the table metadata (read only: commits go through
// Catalog.Commit).
func (t *Table) Metadata() table.Metadata { return t.ice.Metadata() }

// MetadataLocation returns where this version's metadata file is.
func (t *Table) MetadataLocation() string { return t.ice.MetadataLocation() }

// Snapshot returns the snapshot with id of this version, nil if none.
func (t *Table) Snapshot(id int64) *table.Snapshot { return t.ice.Metadata().SnapshotByID(id) }

// Carried returns the value of the snapshot summary property key in the
// newest snapshot of the main branch's history that has it. Every
// snapshot floe commits carries OffsetsProperty forward; other writers'
// snapshots need not, hence the walk.
func (t *Table) Carried(key string) (string, bool) { return t.carried(key) }

func (t *Table) carried(key string) (string, bool) {
	md := t.ice.Metadata()
	for snap := md.CurrentSnapshot(); snap != nil; {
		if snap.Summary != nil {
			if v, ok := snap.Summary.Properties[key]; ok {
				return v, true
			}
		}
		if snap.ParentSnapshotID == nil {
			break
		}
		snap = md.SnapshotByID(*snap.ParentSnapshotID)
	}
	return "", false
}

// ReadArrow reads the rows of the current snapshot that filter may match
// (nil: all), deletes applied, with the named columns (none: all), through
// iceberg-go's reader.
func (t *Table) ReadArrow(ctx context.Context, filter iceberg.BooleanExpression, columns ...string) (*arrow.Schema, iter.Seq2[arrow.RecordBatch, error], error) {
	var opts []table.ScanOption
	if filter != nil {
		opts = append(opts, table.WithRowFilter(filter))
	}
	if len(columns) > 0 {
		opts = append(opts, table.WithSelectedFields(columns...))
	}
	return t.ice.Scan(opts...).ToArrowRecords(ctx)
}

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
	Size            int64  // bytes
	Partition       string // the spec id and partition values: files of one partition share it
	PositionDeletes []string
	EqualityDeletes []EqualityDelete
}

// EqualityDelete is an equality delete file and the field ids it compares.
type EqualityDelete struct {
	Path     string
	FieldIDs []int
}

// plansPerTable is how many plans (of the newest snapshots planned) the
// catalog keeps per table: a query plans the current snapshot, and a few
// older plans serve statements prepared a moment before a commit and
// maintenance, which plans a snapshot several times. Memory does not grow
// with the commits a table takes.
const plansPerTable = 4

// plan is what the catalog knows of one snapshot's files: iceberg-go's
// scan tasks, and the Scan made of them once asked for.
type plan struct {
	snapshot int64
	tasks    []table.FileScanTask
	scan     *Scan
}

// planned returns the plan of t's current snapshot (nil for a table with
// no snapshot), planning it on first use.
func (t *Table) planned(ctx context.Context) (*plan, error) {
	snap := t.ice.CurrentSnapshot()
	if snap == nil {
		return nil, nil
	}
	key := t.Namespace + "." + t.Name
	c := t.cat
	c.mu.Lock()
	for _, p := range c.plans[key] {
		if p.snapshot == snap.SnapshotID {
			c.mu.Unlock()
			return p, nil
		}
	}
	c.mu.Unlock()
	tasks, err := t.ice.Scan().PlanFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("plan %s.%s: %w", t.Namespace, t.Name, err)
	}
	p := &plan{snapshot: snap.SnapshotID, tasks: tasks}
	c.mu.Lock()
	ps := append(c.plans[key], p)
	if len(ps) > plansPerTable {
		ps = append([]*plan(nil), ps[len(ps)-plansPerTable:]...)
	}
	c.plans[key] = ps
	c.mu.Unlock()
	return p, nil
}

// Plan returns the scan of the current snapshot. Plans are cached per
// snapshot.
func (t *Table) Plan(ctx context.Context) (*Scan, error) {
	p, err := t.planned(ctx)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return &Scan{Schema: t.ice.Schema()}, nil
	}
	c := t.cat
	c.mu.Lock()
	scan := p.scan
	c.mu.Unlock()
	if scan != nil {
		return scan, nil
	}
	scan = &Scan{SnapshotID: p.snapshot, Schema: t.ice.Schema(), Files: make([]File, 0, len(p.tasks)),
		SchemaEvolved: len(t.ice.Metadata().Schemas()) > 1}
	for _, task := range p.tasks {
		if len(task.DeletionVectorFiles) > 0 {
			return nil, fmt.Errorf("%w: %s.%s uses deletion vectors", ErrUnsupported, t.Namespace, t.Name)
		}
		if task.File.FileFormat() != iceberg.ParquetFile {
			return nil, fmt.Errorf("%w: %s.%s has %s data files", ErrUnsupported, t.Namespace, t.Name, task.File.FileFormat())
		}
		lp, err := LocalPath(task.File.FilePath())
		if err != nil {
			return nil, err
		}
		f := File{Path: lp, Records: task.File.Count(), Size: task.File.FileSizeBytes(), Partition: PartitionKey(task.File)}
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
	p.scan = scan
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

// PartitionKey renders the spec id and partition tuple of df: files of
// one partition (of one spec) have the same key.
func PartitionKey(df iceberg.DataFile) string {
	part := df.Partition()
	ids := make([]int, 0, len(part))
	for id := range part {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	var b strings.Builder
	fmt.Fprintf(&b, "%d", df.SpecID())
	for _, id := range ids {
		fmt.Fprintf(&b, "/%d=%v", id, part[id])
	}
	return b.String()
}
