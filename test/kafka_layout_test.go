package test

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/floe-dev/floe/catalog"
)

// Table layout through the real binary and broker: a stream with
// partition_by writes partitioned files that queries (HTTP and pgwire, so
// through the gateway's relation) read right; a stream with a small
// target_file_size rolls one commit into several files; schema_evolution:
// false sends a record with a new field to the dead-letter table; and an
// int/float table promoted by pushes reads right through the gateway.
func TestKafkaTableLayout(t *testing.T) {
	brokers := MustKafka(t)
	cl := MustKafkaClient(t, brokers)
	MustCreateTopic(t, cl, "e2e-part", 4)
	MustCreateTopic(t, cl, "e2e-big", 2)

	path := filepath.Join(t.TempDir(), "floe.yaml")
	yaml := fmt.Sprintf(`ingest:
  kafka:
    brokers: [%q]
    group: e2e-layout
    streams:
      - topic: e2e-part
        table: e2e_layout.part
        partition_by: ["day(recorded_at)", "site", "bucket[8](id)"]
      - topic: e2e-big
        table: e2e_layout.big
        target_file_size: 128KiB
        schema_evolution: false
`, brokers)
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}

	// e2e-part: three days, five sites, and every 50th record without a site.
	const nPart = 5000
	base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	bySite := map[string]int{}
	var sumHR, day2 int64
	var recs []*kgo.Record
	for id := range int64(nPart) {
		at := base.Add(time.Duration(id) * 50 * time.Second) // 5000 × 50s ≈ 2.9 days
		site := fmt.Sprintf(`"site": "S-%d", `, id%5)
		key := fmt.Sprintf("S-%d", id%5)
		if id%50 == 0 {
			site, key = "", "NULL"
		}
		bySite[key]++
		sumHR += 50 + id%60
		if at.Day() == 2 {
			day2++
		}
		recs = append(recs, &kgo.Record{Topic: "e2e-part", Value: []byte(fmt.Sprintf(`{"id": %d, %s"recorded_at": %q, "hr": %d}`,
			id, site, at.Format(time.RFC3339), 50+id%60))})
	}
	// e2e-big: incompressible rows, a few MB in all.
	const nBig = 30_000
	rng := rand.New(rand.NewPCG(3, 4))
	for id := range nBig {
		recs = append(recs, &kgo.Record{Topic: "e2e-big", Value: []byte(fmt.Sprintf(`{"id": %d, "noise": "%016x%016x%016x"}`,
			id, rng.Uint64(), rng.Uint64(), rng.Uint64()))})
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	MustBuildFloe(t)
	f := MustStartFloe(t, WithConfigFile(path))
	waitCounts(t, f, "e2e_layout.part", nPart, 0, 90*time.Second)
	waitCounts(t, f, "e2e_layout.big", nBig, 0, 90*time.Second)

	// Partitioned: the files sit in partition directories, and queries
	// read exactly what was produced.
	dirs := map[string]bool{}
	filepath.WalkDir(filepath.Join(f.Warehouse(), "e2e_layout.db", "part", "data"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			rel, _ := filepath.Rel(filepath.Join(f.Warehouse(), "e2e_layout.db", "part", "data"), filepath.Dir(p))
			dirs[rel] = true
		}
		return nil
	})
	nullSite := false
	for d := range dirs {
		p := strings.Split(d, string(filepath.Separator))
		if len(p) != 3 || !strings.HasPrefix(p[0], "recorded_at_day=2025-03-0") || !strings.HasPrefix(p[1], "site=") || !strings.HasPrefix(p[2], "id_bucket_8=") {
			t.Errorf("data files in %s, want recorded_at_day=…/site=…/id_bucket_8=…", d)
		}
		nullSite = nullSite || p[1] == "site=null"
	}
	// 3 days × 6 sites (null among them) × 8 buckets, nearly all populated.
	if len(dirs) < 100 || !nullSite {
		t.Errorf("%d partition directories (null site among them: %t)", len(dirs), nullSite)
	}
	got := f.MustQuery(t, "SELECT count(*), count(DISTINCT id), sum(hr) FROM e2e_layout.part")
	if fmt.Sprint(got.Rows[0]) != fmt.Sprintf("[%d %d %d]", nPart, nPart, sumHR) {
		t.Errorf("count, distinct ids, sum(hr) = %v, want [%d %d %d]", got.Rows[0], nPart, nPart, sumHR)
	}
	got = f.MustQuery(t, "SELECT count(*) FROM e2e_layout.part WHERE recorded_at >= TIMESTAMPTZ '2025-03-02 00:00:00+00' AND recorded_at < TIMESTAMPTZ '2025-03-03 00:00:00+00'")
	if fmt.Sprint(got.Rows[0][0]) != strconv.FormatInt(day2, 10) {
		t.Errorf("rows of 2 March = %v, want %d", got.Rows[0][0], day2)
	}
	conn := f.MustConnect(t)
	rows, err := conn.Query(context.Background(), "SELECT coalesce(site, 'NULL'), count(*) FROM e2e_layout.part GROUP BY 1")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for rows.Next() {
		var site string
		var n int64
		if err := rows.Scan(&site, &n); err != nil {
			t.Fatal(err)
		}
		seen[site] = int(n)
	}
	if rows.Err() != nil || fmt.Sprint(seen) != fmt.Sprint(bySite) {
		t.Errorf("rows by site over pgwire = %v (%v), want %v", seen, rows.Err(), bySite)
	}

	// Rolled at the target size: several files in one commit, all read.
	var files int
	var bytes int64
	filepath.WalkDir(filepath.Join(f.Warehouse(), "e2e_layout.db", "big", "data"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".parquet") {
			info, _ := d.Info()
			files++
			bytes += info.Size()
		}
		return nil
	})
	t.Logf("e2e_layout.big: %d rows in %d files, %d bytes; e2e_layout.part: %d partition directories", nBig, files, bytes, len(dirs))
	if files < 4 || int64(files) > bytes/(128<<10)+2 {
		t.Errorf("e2e_layout.big: %d files of %d bytes in all for a 128KiB target", files, bytes)
	}
	got = f.MustQuery(t, "SELECT count(*), count(DISTINCT id), max(length(noise)) FROM e2e_layout.big")
	if fmt.Sprint(got.Rows[0]) != fmt.Sprintf("[%d %d 48]", nBig, nBig) {
		t.Errorf("e2e_layout.big reads %v", got.Rows[0])
	}

	// schema_evolution: false: a new field goes to the dead letters, the
	// rest of the record's batch to the table.
	if err := cl.ProduceSync(context.Background(),
		&kgo.Record{Topic: "e2e-big", Value: []byte(`{"id": -1, "noise": "x", "extra": 1}`)},
		&kgo.Record{Topic: "e2e-big", Value: []byte(`{"id": -2, "noise": "y"}`)},
	).FirstErr(); err != nil {
		t.Fatal(err)
	}
	waitCounts(t, f, "e2e_layout.big", nBig+1, 1, 30*time.Second)
	got = f.MustQuery(t, "SELECT reason FROM e2e_layout.big__rejected")
	if len(got.Rows) != 1 || fmt.Sprint(got.Rows[0][0]) != `field "extra": the table has no such column and schema evolution is off` {
		t.Errorf("dead letters: %v", got.Rows)
	}

	// Type promotion read through the gateway: a table created with int and
	// float columns (as another engine would), then pushed values that do
	// not fit.
	cat, err := catalog.Open(context.Background(), catalog.Config{Dir: f.DataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	sc := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64},
		iceberg.NestedField{ID: 2, Name: "n", Type: iceberg.PrimitiveTypes.Int32},
		iceberg.NestedField{ID: 3, Name: "f", Type: iceberg.PrimitiveTypes.Float32},
	)
	if _, err := cat.CreateTable(context.Background(), "e2e_layout", "typed", sc, nil); err != nil {
		t.Fatal(err)
	}
	f.MustPush(t, "e2e_layout", "typed", `{"id": 1, "n": 2000000000, "f": 0.5}`)
	f.MustPush(t, "e2e_layout", "typed", `{"id": 2, "n": 3000000000, "f": 36.6}`)
	got = f.MustQuery(t, "SELECT sum(n), sum(f), string_agg(CAST(f AS VARCHAR), ',' ORDER BY id) FROM e2e_layout.typed")
	if fmt.Sprint(got.Rows[0]) != "[5000000000 37.1 0.5,36.6]" {
		t.Errorf("promoted columns read %v, want [5000000000 37.1 0.5,36.6]", got.Rows[0])
	}
	if resp := f.Push(t, f.User, f.Password, "e2e_layout", "typed", strings.NewReader(`{"id": 3, "n": "many"}`)); resp.Status != 400 ||
		!strings.Contains(string(resp.Body), "expected long, got string") {
		t.Errorf("string into the promoted column: %s", resp)
	}
}
