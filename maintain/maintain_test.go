package maintain_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/floe-dev/floe/catalog"
	"github.com/floe-dev/floe/maintain"
)

var kvSchema = iceberg.NewSchema(0,
	iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64},
	iceberg.NestedField{ID: 2, Name: "v", Type: iceberg.PrimitiveTypes.String},
)

func mustCatalog(tb testing.TB, dir string) *catalog.Catalog {
	tb.Helper()
	c, err := catalog.Open(context.Background(), catalog.Config{Dir: dir})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

func mustMaintainer(tb testing.TB, c *catalog.Catalog, cfg maintain.Config) *maintain.Maintainer {
	tb.Helper()
	m, err := maintain.New(c, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

func record(tb testing.TB, sc *iceberg.Schema, rows map[int64]string) arrow.RecordBatch {
	tb.Helper()
	asc, err := table.SchemaToArrowSchema(sc, nil, true, false)
	if err != nil {
		tb.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, asc)
	defer b.Release()
	ids := make([]int64, 0, len(rows))
	for id := range rows {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		b.Field(0).(*array.Int64Builder).Append(id)
		if len(b.Fields()) > 1 {
			b.Field(1).(*array.StringBuilder).Append(rows[id])
		}
	}
	return b.NewRecordBatch()
}

// write commits rows (and, when upsert, an equality delete of their keys
// and of deleted, as Debezium streams commit) with offsets off.
func write(tb testing.TB, c *catalog.Catalog, upsert bool, off int, rows map[int64]string, deleted ...int64) *catalog.Table {
	tb.Helper()
	props := map[string]string{catalog.OffsetsProperty: fmt.Sprintf(`{"t/0":%d}`, off)}
	t, err := c.Commit(context.Background(), "ns", "kv", func(ctx context.Context, tx *catalog.Tx) error {
		if !tx.Exists() {
			if err := tx.Create(ctx, kvSchema, nil, nil); err != nil {
				return err
			}
		}
		sc, err := tx.Schema()
		if err != nil {
			return err
		}
		rec := record(tb, sc, rows)
		defer rec.Release()
		if !upsert {
			return tx.Append(ctx, rec, 0, props)
		}
		data, err := tx.WriteDataFiles(ctx, rec, 0)
		if err != nil {
			return err
		}
		keys := map[int64]string{}
		for id := range rows {
			keys[id] = ""
		}
		for _, id := range deleted {
			keys[id] = ""
		}
		ksc, _ := sc.Select(true, "id")
		krec := record(tb, ksc, keys)
		defer krec.Release()
		dels, err := tx.WriteEqualityDeletes(ctx, []int{1}, krec)
		if err != nil {
			return err
		}
		return tx.RowDelta(ctx, data, dels, props)
	})
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func rows(tb testing.TB, c *catalog.Catalog) map[int64]string {
	tb.Helper()
	t, err := c.Current(context.Background(), "ns", "kv")
	if err != nil {
		tb.Fatal(err)
	}
	_, recs, err := t.ReadArrow(context.Background(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	out := map[int64]string{}
	for rec, err := range recs {
		if err != nil {
			tb.Fatal(err)
		}
		ids, vs := rec.Column(0).(*array.Int64), rec.Column(1).(*array.String)
		for i := range ids.Len() {
			if _, dup := out[ids.Value(i)]; dup {
				tb.Fatalf("key %d twice", ids.Value(i))
			}
			out[ids.Value(i)] = vs.Value(i)
		}
		rec.Release()
	}
	return out
}

// status returns floe.maintenance_status's row of ns.kv as a map.
func status(tb testing.TB, m *maintain.Maintainer) map[string]any {
	tb.Helper()
	for _, r := range m.StatusRows() {
		if r[0] == "ns.kv" {
			out := map[string]any{}
			for i, c := range maintain.StatusColumns {
				out[c] = r[i]
			}
			return out
		}
	}
	tb.Fatal("no status row for ns.kv")
	return nil
}

func liveFiles(tb testing.TB, c *catalog.Catalog) (data, deletes int) {
	tb.Helper()
	t, err := c.Current(context.Background(), "ns", "kv")
	if err != nil {
		tb.Fatal(err)
	}
	scan, err := t.Plan(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range scan.Files {
		data++
		for _, d := range f.PositionDeletes {
			seen[d] = true
		}
		for _, d := range f.EqualityDeletes {
			seen[d.Path] = true
		}
	}
	return data, len(seen)
}

// A run compacts the small files of a table, merges its manifests and
// expires what the retention does not keep; rows, offsets and status
// agree with what was written.
func TestRunTableCompactsMergesExpires(t *testing.T) {
	ctx := context.Background()
	c := mustCatalog(t, t.TempDir())
	want := map[int64]string{}
	for i := range 30 {
		write(t, c, false, i+1, map[int64]string{int64(i): "v"})
		want[int64(i)] = "v"
	}
	m := mustMaintainer(t, c, maintain.Config{SnapshotMaxAge: time.Millisecond, MinSnapshots: 1, OrphanGrace: time.Hour})
	time.Sleep(5 * time.Millisecond)
	dry, err := m.RunTable(ctx, "ns", "kv", maintain.Options{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := liveFiles(t, c); d != 30 || dry.Compaction.FilesRewritten != 30 || dry.SnapshotsExpired == 0 {
		t.Fatalf("dry run: %d files left, report %+v", d, dry)
	}
	rep, err := m.RunTable(ctx, "ns", "kv", maintain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := rows(t, c); !reflect.DeepEqual(got, want) {
		t.Fatalf("rows after maintenance: %d, want %d", len(got), len(want))
	}
	// The snapshots the run made were current a moment ago: the next run
	// expires them.
	time.Sleep(5 * time.Millisecond)
	if _, err := m.RunTable(ctx, "ns", "kv", maintain.Options{}); err != nil {
		t.Fatal(err)
	}
	if d, dels := liveFiles(t, c); d != 1 || dels != 0 {
		t.Fatalf("%d data files, %d delete files after compaction (report: %s)", d, dels, rep.Summary())
	}
	tbl, _ := c.Current(ctx, "ns", "kv")
	if n := len(tbl.Metadata().Snapshots()); n != 1 {
		t.Fatalf("%d snapshots kept, want 1 (report: %s)", n, rep.Summary())
	}
	if got, _ := tbl.Carried(catalog.OffsetsProperty); got != `{"t/0":30}` {
		t.Fatalf("offsets after maintenance %q", got)
	}
	if n, _ := tbl.DataManifests(ctx); n != 1 {
		t.Fatalf("%d data manifests", n)
	}
	st := status(t, m)
	if st["live_data_files"] != int64(1) || st["delete_files"] != int64(0) || st["runs_total"] != int64(2) ||
		st["files_rewritten"] != int64(30) || st["snapshots"] != int64(len(tbl.Metadata().Snapshots())) ||
		st["snapshots_expired"] != int64(31) || st["last_result"] == "" {
		t.Fatalf("status %v", st)
	}
	// Files of expired snapshots are gone from disk: only the live data
	// file is left under data/.
	files, _ := filepath.Glob(filepath.Join(c.Warehouse(), "ns.db", "kv", "data", "*.parquet"))
	if len(files) != 1 {
		t.Fatalf("%d parquet files on disk after expiry, want 1", len(files))
	}
}

// A table written as Debezium writes it ends a run with one data file and
// no delete file, the same rows.
func TestRunTableFoldsEqualityDeletes(t *testing.T) {
	ctx := context.Background()
	c := mustCatalog(t, t.TempDir())
	write(t, c, true, 1, map[int64]string{1: "a", 2: "b", 3: "c"})
	write(t, c, true, 2, map[int64]string{2: "b2"})
	write(t, c, true, 3, map[int64]string{4: "d"}, 1)
	want := map[int64]string{2: "b2", 3: "c", 4: "d"}
	m := mustMaintainer(t, c, maintain.Config{})
	rep, err := m.RunTable(ctx, "ns", "kv", maintain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := rows(t, c); !reflect.DeepEqual(got, want) {
		t.Fatalf("rows %v, want %v", got, want)
	}
	if d, dels := liveFiles(t, c); d != 1 || dels != 0 || rep.Compaction.DeleteFilesRemoved != 3 {
		t.Fatalf("%d data, %d delete files left; report %s", d, dels, rep.Summary())
	}
}

// Orphan removal removes old unreferenced files, spares young ones and
// the files of a commit in flight, however old the grace says they may be.
func TestOrphansSpareCommitsInFlight(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := mustCatalog(t, dir)
	write(t, c, false, 1, map[int64]string{1: "a"})
	dataDir := filepath.Join(c.Warehouse(), "ns.db", "kv", "data")
	old := filepath.Join(dataDir, "crashed-commit.parquet")
	young := filepath.Join(dataDir, "young.parquet")
	for _, p := range []string{old, young} {
		if err := os.WriteFile(p, []byte("PAR1"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(old, time.Now().Add(-time.Hour), time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	m := mustMaintainer(t, c, maintain.Config{OrphanGrace: 10 * time.Minute})

	// A commit writes its files, then takes longer than the grace period
	// before committing them, while orphan removal runs.
	written := make(chan struct{})
	proceed := make(chan struct{})
	committed := make(chan error, 1)
	go func() {
		_, err := c.Commit(ctx, "ns", "kv", func(ctx context.Context, tx *catalog.Tx) error {
			sc, _ := tx.Schema()
			rec := record(t, sc, map[int64]string{2: "b"})
			defer rec.Release()
			if err := tx.Append(ctx, rec, 0, nil); err != nil {
				return err
			}
			// The data file is on disk and in no metadata; it gets older
			// than the grace.
			time.Sleep(1500 * time.Millisecond)
			close(written)
			<-proceed
			return nil
		})
		committed <- err
	}()
	<-written
	m2 := mustMaintainer(t, c, maintain.Config{OrphanGrace: time.Second})
	rep, err := m2.RunTable(ctx, "ns", "kv", maintain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	close(proceed)
	if err := <-committed; err != nil {
		t.Fatalf("the commit in flight failed: %v", err)
	}
	// The crashed commit's file goes; the young one and the file of the
	// commit in flight (older than the grace, younger than the commit)
	// stay.
	if len(rep.OrphansRemoved) != 1 || !strings.HasSuffix(rep.OrphansRemoved[0], "crashed-commit.parquet") {
		t.Fatalf("removed %v while a commit was in flight, want only the crashed commit's file", rep.OrphansRemoved)
	}
	if got := rows(t, c); !reflect.DeepEqual(got, map[int64]string{1: "a", 2: "b"}) {
		t.Fatalf("rows %v", got)
	}
	for p, want := range map[string]bool{old: false, young: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
	// With nothing in flight and the grace long, nothing else goes.
	rep, err = m.RunTable(ctx, "ns", "kv", maintain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.OrphansRemoved) != 0 {
		t.Fatalf("removed %v", rep.OrphansRemoved)
	}
}

// One maintainer per table across processes: a run while another holds
// the table's lock answers ErrLocked.
func TestOneMaintainerPerTable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := mustCatalog(t, dir)
	write(t, c, false, 1, map[int64]string{1: "a"})
	locks := filepath.Join(dir, "maintenance", "locks")
	if err := os.MkdirAll(locks, 0o755); err != nil {
		t.Fatal(err)
	}
	// The other process's lock: flock on the same lock file.
	f, err := os.OpenFile(filepath.Join(locks, "ns.kv.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	m := mustMaintainer(t, c, maintain.Config{LockDir: locks})
	if _, err := m.RunTable(ctx, "ns", "kv", maintain.Options{}); !errors.Is(err, maintain.ErrLocked) {
		t.Fatalf("run beside another maintainer: %v, want ErrLocked", err)
	}
}

// The scheduler compacts a table this process commits to as soon as a
// partition holds enough small files, without waiting for the interval.
func TestSchedulerCompactsOnCommit(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := mustCatalog(t, t.TempDir())
	m := mustMaintainer(t, c, maintain.Config{Interval: time.Hour})
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	for i := range 12 {
		write(t, c, false, i+1, map[int64]string{int64(i): "v"})
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if d, _ := liveFiles(t, c); d <= 5 {
			break
		}
		if time.Now().After(deadline) {
			d, _ := liveFiles(t, c)
			t.Fatalf("%d data files 10 s after 12 commits: the scheduler did not compact", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := rows(t, c); len(got) != 12 {
		t.Fatalf("rows %v", got)
	}
	cancel()
	<-done
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  maintain.Config
		want string
	}{
		{maintain.Config{Interval: time.Millisecond}, "interval"},
		{maintain.Config{TargetFileSize: 100}, "target_file_size"},
		{maintain.Config{SnapshotMaxAge: -time.Second}, "snapshot_max_age"},
		{maintain.Config{MinSnapshots: -1}, "min_snapshots"},
		{maintain.Config{OrphanGrace: time.Millisecond}, "orphan_grace"},
	} {
		if err := c.cfg.Validate(); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error naming %s", c.cfg, err, c.want)
		}
	}
}

// The metrics are the status table's figures, one series per table.
func TestMetrics(t *testing.T) {
	ctx := context.Background()
	c := mustCatalog(t, t.TempDir())
	for i := range 3 {
		write(t, c, false, i+1, map[int64]string{int64(i): "v"})
	}
	reg := prometheus.NewRegistry()
	m := mustMaintainer(t, c, maintain.Config{Registerer: reg})
	if _, err := m.RunTable(ctx, "ns", "kv", maintain.Options{}); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, mt := range f.GetMetric() {
			if mt.GetLabel()[0].GetValue() != "ns.kv" {
				t.Errorf("%s has label %v", f.GetName(), mt.GetLabel())
			}
			if g := mt.GetGauge(); g != nil {
				got[f.GetName()] = g.GetValue()
			} else {
				got[f.GetName()] = mt.GetCounter().GetValue()
			}
		}
	}
	want := map[string]float64{"floe_maintenance_live_data_files": 1, "floe_maintenance_max_partition_files": 1,
		"floe_maintenance_delete_files": 0, "floe_maintenance_runs_total": 1, "floe_maintenance_files_rewritten_total": 3}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("%s = %v, want %v (all: %v)", name, got[name], v, got)
		}
	}
	if len(got) != 18 {
		t.Errorf("%d metric families, want 18: %v", len(got), got)
	}
}
