package catalog_test

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/floe-dev/floe/catalog"
	"github.com/floe-dev/floe/internal/icebergtest"
)

// Two processes (two Catalogs on one data directory) commit to one table:
// the commit that loses the race is built again on the winner's snapshot,
// so neither row is lost, and the loser's build ran twice.
func TestCommitRetriesLostRaces(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b := MustOpen(t, dir), MustOpen(t, dir)
	if _, err := a.CreateTable(ctx, "ns", "t", schema, nil); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, a, "ns", "t", 1, nil)
	builds := 0
	rec := idRecord(t, 3)
	defer rec.Release()
	got, err := a.Commit(ctx, "ns", "t", func(ctx context.Context, tx *catalog.Tx) error {
		builds++
		if builds == 1 {
			// The other process commits while this attempt is being built.
			mustAppend(t, b, "ns", "t", 2, nil)
		}
		return tx.Append(ctx, rec, 0, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if builds != 2 || a.Conflicts() != 1 {
		t.Errorf("builds %d, conflicts %d: want the first attempt lost and built again", builds, a.Conflicts())
	}
	ids := readIDs(t, got)
	if len(ids) != 3 || !ids[1] || !ids[2] || !ids[3] {
		t.Fatalf("rows %v, want ids 1, 2 and 3", ids)
	}
}

// A build's own error ends the commit at once, unretried; a build that
// stages nothing commits nothing.
func TestCommitBuildErrorsAndNoOps(t *testing.T) {
	ctx := context.Background()
	c := MustOpen(t, t.TempDir())
	if _, err := c.CreateTable(ctx, "ns", "t", schema, nil); err != nil {
		t.Fatal(err)
	}
	before := mustAppend(t, c, "ns", "t", 1, nil)
	boom := errors.New("boom")
	builds := 0
	if _, err := c.Commit(ctx, "ns", "t", func(context.Context, *catalog.Tx) error { builds++; return boom }); !errors.Is(err, boom) || builds != 1 {
		t.Fatalf("err %v after %d builds, want boom after one", err, builds)
	}
	got, err := c.Commit(ctx, "ns", "t", func(context.Context, *catalog.Tx) error { return nil })
	if err != nil || got.SnapshotID() != before.SnapshotID() || got.MetadataLocation() != before.MetadataLocation() {
		t.Fatalf("no-op commit: %v, snapshot %d (was %d)", err, got.SnapshotID(), before.SnapshotID())
	}
	// Two snapshot operations in one commit are refused.
	rec := idRecord(t, 2)
	defer rec.Release()
	_, err = c.Commit(ctx, "ns", "t", func(ctx context.Context, tx *catalog.Tx) error {
		if err := tx.Append(ctx, rec, 0, nil); err != nil {
			return err
		}
		return tx.Append(ctx, rec, 0, nil)
	})
	if err == nil {
		t.Fatal("two appends in one commit succeeded")
	}
}

// Every snapshot committed through the catalog carries the Kafka offsets of
// its parent unless it sets new ones — also over another writer's snapshot
// that has none.
func TestCommitCarriesOffsetsForward(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	c := MustOpen(t, dir)
	if _, err := c.CreateTable(ctx, "ns", "t", schema, nil); err != nil {
		t.Fatal(err)
	}
	const offs = `{"topic/0":42}`
	mustAppend(t, c, "ns", "t", 1, map[string]string{catalog.OffsetsProperty: offs})
	tbl := mustAppend(t, c, "ns", "t", 2, map[string]string{"floe.source": "http"})
	if got := tbl.Metadata().CurrentSnapshot().Summary.Properties[catalog.OffsetsProperty]; got != offs {
		t.Fatalf("second snapshot carries offsets %q, want %q", got, offs)
	}
	// Another engine appends without them.
	ft := icebergtest.Load(t, icebergtest.Open(t, dir), "ns", "t")
	rec := idRecord(t, 3)
	defer rec.Release()
	if err := appendForeign(ctx, ft, rec); err != nil {
		t.Fatal(err)
	}
	tbl = mustAppend(t, c, "ns", "t", 4, nil)
	if got := tbl.Metadata().CurrentSnapshot().Summary.Properties[catalog.OffsetsProperty]; got != offs {
		t.Fatalf("snapshot after a foreign one carries offsets %q, want %q", got, offs)
	}
	if got, ok := tbl.Carried(catalog.OffsetsProperty); !ok || got != offs {
		t.Fatalf("Carried = %q, %v", got, ok)
	}
}

// A table handle kept by the catalog does not keep the table's history
// alive: the live heap after many commits grows with the metadata (a few
// KB per snapshot), not with the square of the commits. iceberg-go's own
// committed handles held 440 MB after 600 one-row commits.
func TestCommitMemoryIndependentOfHandles(t *testing.T) {
	if testing.Short() {
		t.Skip("600 commits")
	}
	ctx := context.Background()
	c := MustOpen(t, t.TempDir())
	if _, err := c.CreateTable(ctx, "ns", "t", schema, nil); err != nil {
		t.Fatal(err)
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	var at100 uint64
	for i := range 600 {
		mustAppend(t, c, "ns", "t", int64(i), nil)
		if i == 100 {
			at100 = heap()
		}
	}
	if _, err := c.Table(ctx, "ns", "t"); err != nil {
		t.Fatal(err)
	}
	grown := int64(heap()) - int64(at100)
	t.Logf("live heap grew %d KB from 100 to 600 commits", grown>>10)
	if grown > 32<<20 {
		t.Fatalf("live heap grew %d MB from 100 to 600 commits: table handles keep history alive", grown>>20)
	}
}
