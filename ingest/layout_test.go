package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/floe-dev/floe/catalog"
	"github.com/floe-dev/floe/internal/icebergtest"
)

// mustKafkaStream is a Kafka source of one stream, topic "t" into ns.tbl,
// configured as s says.
func mustKafkaStream(tb testing.TB, cat *catalog.Catalog, s KafkaStream) *Kafka {
	tb.Helper()
	s.Topic, s.Namespace, s.Table = "t", "ns", "tbl"
	k, err := NewKafka(cat, KafkaConfig{
		Brokers: []string{"127.0.0.1:1"},
		Streams: []KafkaStream{s},
		Logger:  slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// partitionFile is one data file of a table with its partition values by
// partition field name and its rows, read from the Parquet file itself.
type partitionFile struct {
	path   string
	spec   int
	values map[string]any
	rows   []map[string]any
	size   int64
}

func mustPartitionFiles(tb testing.TB, cat *catalog.Catalog) []partitionFile {
	tb.Helper()
	// The files with their partition tuples, as another engine plans them.
	t := icebergtest.Load(tb, icebergtest.Open(tb, filepath.Dir(cat.Warehouse())), "ns", "tbl")
	tasks, err := t.Scan().PlanFiles(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	var out []partitionFile
	for _, task := range tasks {
		df := task.File
		spec := t.Metadata().PartitionSpecByID(int(df.SpecID()))
		pf := partitionFile{path: df.FilePath(), spec: int(df.SpecID()), values: map[string]any{}, size: df.FileSizeBytes()}
		for _, f := range spec.Fields() {
			pf.values[f.Name] = df.Partition()[f.FieldID]
		}
		path, err := catalog.LocalPath(df.FilePath())
		if err != nil {
			tb.Fatal(err)
		}
		rdr, err := file.OpenParquetFile(path, false)
		if err != nil {
			tb.Fatal(err)
		}
		fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			tb.Fatal(err)
		}
		at, err := fr.ReadTable(context.Background())
		rdr.Close()
		if err != nil {
			tb.Fatal(err)
		}
		tr := array.NewTableReader(at, 1<<20)
		for tr.Next() {
			rec := tr.RecordBatch()
			for i := 0; i < int(rec.NumRows()); i++ {
				row := map[string]any{}
				for c, f := range rec.Schema().Fields() {
					row[f.Name] = goValue(rec.Column(c), i)
				}
				pf.rows = append(pf.rows, row)
			}
		}
		tr.Release()
		at.Release()
		out = append(out, pf)
	}
	return out
}

// A partitioned stream's table gets the spec; every data file holds rows
// of one partition, with the source columns in the file; a record without
// a source column lands in the null partition; every row reads back.
func TestKafkaPartitionedWrites(t *testing.T) {
	k := mustKafkaStream(t, MustCatalog(t, t.TempDir()), KafkaStream{PartitionBy: []string{"day(at)", "site", "bucket[4](id)"}})
	k.own(t, 0)
	base := time.Date(2025, 3, 1, 22, 0, 0, 0, time.UTC)
	var vals []string
	for i := range 60 {
		at := base.Add(time.Duration(i) * 2 * time.Hour).Format(time.RFC3339)
		vals = append(vals, fmt.Sprintf(`{"id": %d, "site": "S-%d", "at": %q, "hr": %d}`, i, i%3, at, 60+i))
	}
	vals = append(vals,
		`{"id": 100, "at": "2025-03-02T10:00:00Z"}`, // no site: null partition
		`{"id": 101, "site": "S-1"}`,                // no time
		`{"id": 102, "site": "S-1", "at": null}`,
		`{"id": 103, "site": "S-1", "at": "soon"}`, // not a time: dead letter
	)
	k.feed(0, 0, vals...)
	k.flush()

	tbl := MustTable(t, k.cat, "ns", "tbl")
	spec := tbl.Spec()
	var names []string
	for _, f := range spec.Fields() {
		names = append(names, f.Name+"="+f.Transform.String())
	}
	if got := strings.Join(names, ","); got != "at_day=day,site=identity,id_bucket_4=bucket[4]" {
		t.Fatalf("spec = %s", got)
	}
	if typ := fieldTypes(tbl.Schema())["at"]; typ != "timestamptz" {
		t.Errorf("at is %s, want timestamptz", typ)
	}

	files := mustPartitionFiles(t, k.cat)
	ids := map[int64]bool{}
	for _, f := range files {
		for _, r := range f.rows {
			id := r["id"].(int64)
			ids[id] = true
			var day any
			if at, ok := r["at"].(time.Time); ok {
				day = int32(at.Unix() / 86400)
			}
			if got := f.values["at_day"]; fmt.Sprint(got) != fmt.Sprint(day) {
				t.Errorf("row %d (at %v) is in a file of at_day=%v", id, r["at"], got)
			}
			if got := f.values["site"]; fmt.Sprint(got) != fmt.Sprint(r["site"]) {
				t.Errorf("row %d (site %v) is in a file of site=%v", id, r["site"], got)
			}
			b := iceberg.BucketTransform{NumBuckets: 4}.Apply(iceberg.Optional[iceberg.Literal]{Val: iceberg.NewLiteral(id), Valid: true})
			if got := f.values["id_bucket_4"]; fmt.Sprint(got) != fmt.Sprint(b.Val.Any()) {
				t.Errorf("row %d (bucket %v) is in a file of id_bucket_4=%v", id, b.Val.Any(), got)
			}
		}
	}
	if len(ids) != 63 || len(files) < 20 {
		t.Fatalf("%d distinct ids in %d files, want 63 ids (one dead letter) in many files", len(ids), len(files))
	}
	dead, _ := MustRows(t, k.cat, "ns", "tbl"+RejectedSuffix)
	if len(dead) != 1 || !strings.Contains(fmt.Sprint(dead[0]["reason"]), `field "at": expected timestamptz, got string`) {
		t.Errorf("dead letters = %v, want the record whose at is not a time", dead)
	}
	rows, _ := MustRows(t, k.cat, "ns", "tbl")
	if len(rows) != 63 {
		t.Errorf("scan reads %d rows, want 63", len(rows))
	}
}

// Changing partition_by evolves the spec of an existing table in the next
// commit; files written before keep their spec and every row reads back.
// A partition column the records lack joins the spec in the commit that
// adds the column.
func TestKafkaPartitionSpecEvolves(t *testing.T) {
	cat := MustCatalog(t, t.TempDir())
	k := mustKafkaStream(t, cat, KafkaStream{})
	k.own(t, 0)
	k.feed(0, 0, `{"id": 1, "site": "a"}`, `{"id": 2, "site": "b"}`)
	k.flush()
	if spec := MustTable(t, cat, "ns", "tbl").Spec(); !spec.IsUnpartitioned() {
		t.Fatalf("a stream without partition_by made spec %s", spec)
	}

	specOf := func() string {
		spec := MustTable(t, cat, "ns", "tbl").Spec()
		var s []string
		for _, f := range spec.Fields() {
			s = append(s, f.Name)
		}
		return fmt.Sprintf("%d:%s", spec.ID(), strings.Join(s, ","))
	}

	// Restarted with partition_by: the table evolves to it.
	k2 := mustKafkaStream(t, cat, KafkaStream{PartitionBy: []string{"site", "truncate[2](region)"}})
	k2.own(t, 0)
	k2.feed(0, 2, `{"id": 3, "site": "a"}`, `{"id": 4, "site": "c"}`)
	k2.flush()
	if got := specOf(); got != "1:site" {
		t.Errorf("spec = %s, want site only while region does not exist", got)
	}
	k2.feed(0, 4, `{"id": 5, "site": "a", "region": "north"}`, `{"id": 6, "site": "a"}`)
	k2.flush()
	if got := specOf(); got != "2:site,region_trunc_2" {
		t.Errorf("spec = %s, want site,region_trunc_2 once region exists", got)
	}

	// Again, with another spec: the old field goes, the new one comes.
	k3 := mustKafkaStream(t, cat, KafkaStream{PartitionBy: []string{"bucket[2](id)"}})
	k3.own(t, 0)
	k3.feed(0, 6, `{"id": 7, "site": "a"}`)
	k3.flush()
	if got := specOf(); got != "3:id_bucket_2" {
		t.Errorf("spec = %s, want id_bucket_2", got)
	}

	bySpec := map[int]int{}
	for _, f := range mustPartitionFiles(t, cat) {
		bySpec[f.spec] += len(f.rows)
	}
	if fmt.Sprint(bySpec) != "map[0:2 1:2 2:2 3:1]" {
		t.Errorf("rows by the spec of their file = %v", bySpec)
	}
	rows, _ := MustRows(t, cat, "ns", "tbl")
	if len(rows) != 7 {
		t.Errorf("%d rows, want 7", len(rows))
	}
	if got := fmt.Sprint(mustOffsets(t, k3, "tbl")); got != "map[t/0:7]" {
		t.Errorf("offsets = %s", got)
	}
}

// A transform that cannot apply to an existing column's type pauses the
// stream with the reason: nothing is committed, nothing is lost (the
// stream resumes from the table's offsets). A record that would create a
// partition column of a type its transform cannot take is dead-lettered
// alone.
func TestKafkaPartitionTransformDoesNotFit(t *testing.T) {
	cat := MustCatalog(t, t.TempDir())
	k := mustKafkaStream(t, cat, KafkaStream{})
	k.own(t, 0)
	k.feed(0, 0, `{"id": 1, "n": 1.5}`)
	k.flush()
	k2 := mustKafkaStream(t, cat, KafkaStream{PartitionBy: []string{"truncate[2](n)"}})
	k2.own(t, 0)
	k2.feed(0, 1, `{"id": 2, "n": 2.5}`)
	k2.flush()
	k2.applyPauses(context.Background())
	s := k2.streams[0]
	want := `partition_by "truncate[2](n)": truncate cannot partition column "n" of type double`
	if !strings.Contains(s.paused, want) || s.n != 0 {
		t.Errorf("stream paused = %q with %d records buffered; want paused for %q, buffer dropped", s.paused, s.n, want)
	}
	if got := fmt.Sprint(mustOffsets(t, k2, "tbl")); got != "map[t/0:1]" {
		t.Errorf("offsets = %s, want the first commit's", got)
	}

	cat2 := MustCatalog(t, t.TempDir())
	k3 := mustKafkaStream(t, cat2, KafkaStream{PartitionBy: []string{"bucket[4](code)", "identity(tags)"}})
	k3.own(t, 0)
	k3.feed(0, 0, `{"id": 1, "code": true}`, `{"id": 2, "code": "x"}`, `{"id": 3, "tags": ["a"]}`, `{"id": 4}`)
	k3.flush()
	dead, _ := MustRows(t, cat2, "ns", "tbl"+RejectedSuffix)
	sortBy(dead, "offset")
	if len(dead) != 2 || dead[0]["reason"] != `field "code": partition_by "bucket[4](code)" cannot partition a boolean column` ||
		!strings.HasPrefix(fmt.Sprint(dead[1]["reason"]), `field "tags": partition_by "identity(tags)" cannot partition a list`) {
		t.Fatalf("dead letters %v", dead)
	}
	tbl := MustTable(t, cat2, "ns", "tbl")
	if spec := tbl.Spec(); spec.String() != "[\n\t1000: code_bucket_4: bucket[4](2)\n]" {
		t.Errorf("spec %s", spec)
	}
	if rows, _ := MustRows(t, cat2, "ns", "tbl"); len(rows) != 2 {
		t.Errorf("rows %v, want ids 2 and 4", rows)
	}
}

// target_file_size rolls the files of one commit at that size: a batch of
// a few MB yields several files of about the target, and every row reads
// back. A later stream with another target changes the table property.
func TestKafkaTargetFileSize(t *testing.T) {
	cat := MustCatalog(t, t.TempDir())
	const target = 256 << 10
	k := mustKafkaStream(t, cat, KafkaStream{TargetFileSize: target})
	k.own(t, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 40_000
	vals := make([]string, n)
	for i := range vals {
		vals[i] = fmt.Sprintf(`{"id": %d, "noise": "%016x%016x", "x": %f}`, i, rng.Uint64(), rng.Uint64(), rng.Float64())
	}
	k.feed(0, 0, vals...)
	k.flush()

	tbl := MustTable(t, cat, "ns", "tbl")
	props := tbl.Properties()
	if props[table.WriteTargetFileSizeBytesKey] != strconv.Itoa(target) || props[table.ParquetRowGroupSizeBytesKey] != strconv.Itoa(target) {
		t.Errorf("table properties = %v", props)
	}
	files := mustPartitionFiles(t, cat)
	var total int64
	rows := 0
	sizes := make([]int64, len(files))
	for i, f := range files {
		total += f.size
		rows += len(f.rows)
		sizes[i] = f.size
	}
	sort.Slice(sizes, func(i, j int) bool { return sizes[i] > sizes[j] })
	t.Logf("%d rows in %d files of %v bytes (%d in all)", rows, len(files), sizes, total)
	if rows != n {
		t.Fatalf("files hold %d rows, want %d", rows, n)
	}
	// Rolled at the target: several files, each but the last of at least
	// the target and not much more.
	if len(files) < 3 || int64(len(files)) > total/target+1 {
		t.Errorf("%d files of %d bytes in all for a %d-byte target", len(files), total, target)
	}
	for _, size := range sizes[:len(sizes)-1] {
		if size < target || size > 2*target {
			t.Errorf("a file of %d bytes for a %d-byte target", size, target)
		}
	}
	if snap := tbl.Metadata().CurrentSnapshot(); snap.Summary.Properties["added-data-files"] != strconv.Itoa(len(files)) {
		t.Errorf("one commit should add all %d files: %v", len(files), snap.Summary.Properties)
	}

	k2 := mustKafkaStream(t, cat, KafkaStream{TargetFileSize: 256 << 20})
	k2.own(t, 0)
	k2.feed(0, n, `{"id": -1}`)
	k2.flush()
	props = MustTable(t, cat, "ns", "tbl").Properties()
	if props[table.WriteTargetFileSizeBytesKey] != strconv.Itoa(256<<20) || props[table.ParquetRowGroupSizeBytesKey] != strconv.Itoa(128<<20) ||
		props[table.ParquetPageSizeBytesKey] != strconv.Itoa(1<<20) || props[table.ParquetDictSizeBytesKey] != strconv.Itoa(2<<20) {
		t.Errorf("table properties after a larger target = %v, want iceberg-go's defaults for row groups, pages and dictionaries", props)
	}
}

// With schema_evolution off, records that would change the table's schema
// go to the dead-letter table with the reason; the schema stays.
func TestKafkaFixedSchema(t *testing.T) {
	cat := MustCatalog(t, t.TempDir())
	ctx := context.Background()
	sc := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64},
		iceberg.NestedField{ID: 2, Name: "n", Type: iceberg.PrimitiveTypes.Int32},
		iceberg.NestedField{ID: 3, Name: "s", Type: &iceberg.StructType{FieldList: []iceberg.NestedField{
			{ID: 4, Name: "x", Type: iceberg.PrimitiveTypes.String},
		}}},
	)
	if _, err := cat.CreateTable(ctx, "ns", "tbl", sc, nil); err != nil {
		t.Fatal(err)
	}
	k := mustKafkaStream(t, cat, KafkaStream{FixedSchema: true})
	k.own(t, 0)
	k.feed(0, 0,
		`{"id": 1, "n": 7, "s": {"x": "a"}}`,
		`{"id": 2, "extra": "x"}`,
		`{"id": 3, "extra": null, "s": {}}`,
		`{"id": 4, "s": {"x": "b", "y": 1}}`,
		`{"id": 5, "n": 3000000000}`,
		`{"id": 6, "n": "seven"}`,
		`{"id": 7, "n": -2147483648}`,
	)
	k.flush()
	rows, _ := MustRows(t, cat, "ns", "tbl")
	sortBy(rows, "id")
	var ids []int64
	for _, r := range rows {
		ids = append(ids, r["id"].(int64))
	}
	if fmt.Sprint(ids) != "[1 3 7]" {
		t.Errorf("rows %v, want ids 1 3 7", ids)
	}
	dead, _ := MustRows(t, cat, "ns", "tbl"+RejectedSuffix)
	sortBy(dead, "offset")
	want := []string{
		`field "extra": the table has no such column and schema evolution is off`,
		`field "s.y": the table has no such column and schema evolution is off`,
		`field "n": value does not fit int, and schema evolution is off (it would promote the column to long)`,
		`field "n": expected int, got string`,
	}
	if len(dead) != len(want) {
		t.Fatalf("dead letters %v, want %d", dead, len(want))
	}
	for i, d := range dead {
		if d["reason"] != want[i] {
			t.Errorf("dead letter %d: %q, want %q", i, d["reason"], want[i])
		}
	}
	after := MustTable(t, cat, "ns", "tbl")
	if got := fmt.Sprint(fieldTypes(after.Schema())); got != "map[id:long n:int s:struct<4: x: optional string>]" || len(after.Metadata().Schemas()) != 1 {
		t.Errorf("schema changed: %s", got)
	}

	// A table that does not exist yet is created from the first batch.
	k2 := mustKafkaStream(t, MustCatalog(t, t.TempDir()), KafkaStream{FixedSchema: true})
	k2.own(t, 0)
	k2.feed(0, 0, `{"id": 1, "a": "x"}`, `{"id": 2, "b": true}`)
	k2.flush()
	if got := fmt.Sprint(fieldTypes(MustTable(t, k2.cat, "ns", "tbl").Schema())); got != "map[a:string b:boolean id:long]" {
		t.Errorf("created schema %s", got)
	}
	k2.feed(0, 2, `{"id": 3, "c": 1}`)
	k2.flush()
	if dead, _ := MustRows(t, k2.cat, "ns", "tbl"+RejectedSuffix); len(dead) != 1 {
		t.Errorf("dead letters %v, want the record with c", dead)
	}
}

// Type promotion through both paths: an int column receiving a value
// outside int's range becomes long, a float column receiving a value float
// cannot hold becomes double (the rows written before read back
// unchanged); values no promotion can absorb are refused (HTTP) or
// dead-lettered (Kafka), never a crash.
func TestTypePromotion(t *testing.T) {
	s, cat, _ := MustService(t, Config{CommitInterval: time.Millisecond})
	ctx := context.Background()
	sc := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64},
		iceberg.NestedField{ID: 2, Name: "n", Type: iceberg.PrimitiveTypes.Int32},
		iceberg.NestedField{ID: 3, Name: "f", Type: iceberg.PrimitiveTypes.Float32},
		iceberg.NestedField{ID: 4, Name: "l", Type: &iceberg.ListType{ElementID: 5, Element: iceberg.PrimitiveTypes.Int32}},
		iceberg.NestedField{ID: 6, Name: "s", Type: &iceberg.StructType{FieldList: []iceberg.NestedField{
			{ID: 7, Name: "m", Type: iceberg.PrimitiveTypes.Int32},
		}}},
	)
	for _, name := range []string{"tbl", "kt"} {
		if _, err := cat.CreateTable(ctx, "ns", name, sc, nil); err != nil {
			t.Fatal(err)
		}
	}
	MustPush(t, s, "ns", "tbl", `{"id": 1, "n": 5, "f": 1.5, "l": [1, 2], "s": {"m": 7}}`)
	if got := fmt.Sprint(fieldTypes(MustTable(t, cat, "ns", "tbl").Schema())); got != "map[f:float id:long l:list<int> n:int s:struct<7: m: optional int>]" {
		t.Errorf("values that fit changed the schema: %s", got)
	}
	MustPush(t, s, "ns", "tbl", `{"id": 2, "n": 3000000000, "f": 36.6, "l": [5000000000], "s": {"m": 8}}`)
	if got := fmt.Sprint(fieldTypes(MustTable(t, cat, "ns", "tbl").Schema())); got != "map[f:double id:long l:list<long> n:long s:struct<7: m: optional int>]" {
		t.Errorf("promoted schema: %s", got)
	}
	if e := MustRecordError(t, s, "ns", "tbl", `{"id": 3, "n": "x"}`); e.Field != "n" || e.Reason != "expected long, got string" {
		t.Errorf("string into long: %v", e)
	}
	if e := MustRecordError(t, s, "ns", "tbl", `{"id": 3, "s": {"m": 0.5}}`); e.Field != "s.m" || e.Reason != "expected int, got double" {
		t.Errorf("double into int: %v", e)
	}
	rows, _ := MustRows(t, cat, "ns", "tbl")
	sortBy(rows, "id")
	if got := fmt.Sprint(rows); got != "[map[f:1.5 id:1 l:[1 2] n:5 s:map[m:7]] map[f:36.6 id:2 l:[5000000000] n:3000000000 s:map[m:8]]]" {
		t.Errorf("rows %s", got)
	}

	// Kafka: the same promotion, and a dead letter for what cannot fit.
	k, err := NewKafka(cat, KafkaConfig{Brokers: []string{"127.0.0.1:1"}, Streams: []KafkaStream{{Topic: "t", Namespace: "ns", Table: "kt"}}})
	if err != nil {
		t.Fatal(err)
	}
	k.own(t, 0)
	k.feed(0, 0, `{"id": 1, "n": 1}`, `{"id": 2, "n": "two"}`, `{"id": 3, "n": 4294967296, "f": 0.1}`, `{"id": 4, "f": "x"}`)
	k.flush()
	if got := fmt.Sprint(fieldTypes(MustTable(t, cat, "ns", "kt").Schema())); !strings.Contains(got, "n:long") || !strings.Contains(got, "f:double") {
		t.Errorf("Kafka promotion: %s", got)
	}
	dead, _ := MustRows(t, cat, "ns", "kt"+RejectedSuffix)
	sortBy(dead, "offset")
	if len(dead) != 2 || dead[0]["reason"] != `field "n": expected int, got string` || dead[1]["reason"] != `field "f": expected double, got string` {
		t.Errorf("dead letters %v", dead)
	}
	krows, _ := MustRows(t, cat, "ns", "kt")
	if len(krows) != 2 {
		t.Errorf("rows %v, want ids 1 and 3", krows)
	}
}

// HTTP pushes to a partitioned table (created here through the catalog, as
// another engine would) are written partitioned by its spec.
func TestPushToPartitionedTable(t *testing.T) {
	s, cat, _ := MustService(t, Config{CommitInterval: time.Millisecond})
	sc := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64},
		iceberg.NestedField{ID: 2, Name: "site", Type: iceberg.PrimitiveTypes.String},
	)
	spec := iceberg.NewPartitionSpec(iceberg.PartitionField{SourceIDs: []int{2}, FieldID: 1000, Name: "site", Transform: iceberg.IdentityTransform{}})
	if _, err := cat.CreateTable(context.Background(), "ns", "tbl", sc, nil, catalog.WithPartitionSpec(&spec)); err != nil {
		t.Fatal(err)
	}
	MustPush(t, s, "ns", "tbl", `{"id": 1, "site": "a"}`+"\n"+`{"id": 2, "site": "b"}`+"\n"+`{"id": 3, "site": "a"}`+"\n"+`{"id": 4}`)
	got := map[string]int{}
	for _, f := range mustPartitionFiles(t, cat) {
		for _, r := range f.rows {
			if fmt.Sprint(r["site"]) != fmt.Sprint(f.values["site"]) {
				t.Errorf("row %v in the file of site=%v", r, f.values["site"])
			}
		}
		got[fmt.Sprint(f.values["site"])] += len(f.rows)
	}
	if fmt.Sprint(got) != "map[<nil>:1 a:2 b:1]" {
		t.Errorf("rows by partition = %v", got)
	}
}

// sliceRows keeps slices to about a quarter of the target in memory.
func TestSliceRows(t *testing.T) {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	for i := range 1 << 20 {
		b.Append(int64(i))
	}
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil), []arrow.Array{col}, 1<<20)
	defer rec.Release()
	for _, c := range []struct{ target, want int64 }{{1 << 10, minSliceRows}, {256 << 10, 8192}, {512 << 20, maxSliceRows}} {
		if got := sliceRows(rec, c.target); got != c.want {
			t.Errorf("target %d: %d rows a slice, want %d", c.target, got, c.want)
		}
	}
}
