package ingest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/floe-dev/floe/catalog"
)

func TestPushReadBack(t *testing.T) {
	s, cat, _ := MustService(t, Config{})
	body := `{"id": 1, "name": "alice", "score": 9.5, "ok": true, "at": "2024-05-01T12:30:00.123456Z"}
{"id": 2, "name": "bob", "score": -1, "ok": false, "at": "2024-05-01T14:30:00+02:00"}

{"id": 3, "name": null}
`
	res := MustPush(t, s, "clinic", "events", body)
	if res.Rows != 3 || res.SnapshotID == 0 {
		t.Fatalf("result = %+v, want 3 rows and a snapshot", res)
	}
	tbl := MustTable(t, cat, "clinic", "events")
	if got := tbl.SnapshotID(); got != res.SnapshotID {
		t.Fatalf("current snapshot %d, result says %d", got, res.SnapshotID)
	}
	snap := tbl.Metadata().CurrentSnapshot()
	if snap.Summary == nil || snap.Summary.Properties["floe.source"] != "http" {
		t.Errorf("snapshot summary = %+v, want floe.source=http", snap.Summary)
	}
	if got := tbl.Properties()[table.ParquetCompressionKey]; got != "zstd" {
		t.Errorf("compression property = %q, want zstd", got)
	}

	sc := tbl.Schema()
	var names []string
	for _, f := range sc.Fields() {
		names = append(names, fmt.Sprintf("%d:%s:%s:%v", f.ID, f.Name, f.Type, f.Required))
	}
	want := []string{"1:id:long:false", "2:name:string:false", "3:score:double:false", "4:ok:boolean:false", "5:at:timestamptz:false"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("schema = %v, want %v", names, want)
	}

	rows, asc := MustRows(t, cat, "clinic", "events")
	f, _ := asc.FieldsByName("at")
	if ts, ok := f[0].Type.(*arrow.TimestampType); !ok || ts.Unit != arrow.Microsecond || ts.TimeZone != "UTC" {
		t.Errorf("arrow type of at = %s, want timestamp[us, tz=UTC]", f[0].Type)
	}
	wantRows := []map[string]any{
		{"id": int64(1), "name": "alice", "score": 9.5, "ok": true, "at": time.Date(2024, 5, 1, 12, 30, 0, 123456000, time.UTC)},
		{"id": int64(2), "name": "bob", "score": -1.0, "ok": false, "at": time.Date(2024, 5, 1, 12, 30, 0, 0, time.UTC)},
		{"id": int64(3), "name": nil, "score": nil, "ok": nil, "at": nil},
	}
	if !reflect.DeepEqual(rows, wantRows) {
		t.Fatalf("rows =\n%v\nwant\n%v", rows, wantRows)
	}
}

func TestInferSchema(t *testing.T) {
	s, cat, _ := MustService(t, Config{})
	body := `{"l": 1, "d": 1.5, "e": 1e3, "b": true, "ts": "2024-01-02T03:04:05Z", "s": "x", "o": {"hr": 60, "tags": ["a"], "in": {"z": false}}, "arr": [1, 2], "n": null, "empty": [], "objs": [{"k": 1}, {"v": "w"}], "nothing": {}, "nested": [[1.5], []]}
{"l": 2, "d": 2, "ts": null, "s": "2024-01-02T03:04:05Z", "arr": [], "empty": [], "w": 3, "mix": 1}
{"ts2": "2024-01-02T03:04:05Z", "mix": 2.5, "str": "2024-01-02T03:04:05Z"}
{"str": "later text"}
`
	MustPush(t, s, "ns", "infer", body)
	tbl := MustTable(t, cat, "ns", "infer")
	got := fieldTypes(tbl.Schema())
	want := map[string]string{
		"l":      "long",
		"d":      "double",
		"e":      "double",
		"b":      "boolean",
		"ts":     "timestamptz",
		"s":      "string",
		"o":      "struct<4: hr: optional long, 5: tags: optional list<string>, 6: in: optional struct<7: z: optional boolean>>",
		"arr":    "list<long>",
		"n":      "string",
		"empty":  "list<string>",
		"objs":   "list<struct<k: optional long, v: optional string>>",
		"nested": "list<list<double>>",
		"w":      "long",
		"mix":    "double",
		"ts2":    "timestamptz",
		"str":    "string",
	}
	// Struct renderings include field ids; compare the shape loosely for
	// the nested ones and exactly for the rest.
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("column %s missing", name)
			continue
		}
		if normType(g) != normType(w) {
			t.Errorf("column %s: type %s, want %s", name, g, w)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected column %s (%s)", name, got[name])
		}
	}
	// Field order is the order of first appearance.
	var order []string
	for _, f := range tbl.Schema().Fields() {
		order = append(order, f.Name)
	}
	wantOrder := []string{"l", "d", "e", "b", "ts", "s", "o", "arr", "n", "empty", "objs", "nested", "w", "mix", "ts2", "str"}
	if !reflect.DeepEqual(order, wantOrder) {
		t.Errorf("field order %v, want %v", order, wantOrder)
	}
	for _, f := range tbl.Schema().Fields() {
		if f.Required {
			t.Errorf("column %s is required", f.Name)
		}
	}

	rows, _ := MustRows(t, cat, "ns", "infer")
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}
	r0 := rows[0]
	checks := map[string]any{
		"l": int64(1), "d": 1.5, "e": 1000.0, "b": true,
		"ts":     time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		"o":      map[string]any{"hr": int64(60), "tags": []any{"a"}, "in": map[string]any{"z": false}},
		"arr":    []any{int64(1), int64(2)},
		"n":      nil,
		"empty":  []any{},
		"objs":   []any{map[string]any{"k": int64(1), "v": nil}, map[string]any{"k": nil, "v": "w"}},
		"nested": []any{[]any{1.5}, []any{}},
		"w":      nil,
	}
	for k, w := range checks {
		if !reflect.DeepEqual(r0[k], w) {
			t.Errorf("row 1 %s = %#v, want %#v", k, r0[k], w)
		}
	}
	if rows[1]["d"] != 2.0 || rows[1]["s"] != "2024-01-02T03:04:05Z" || rows[1]["mix"] != 1.0 || rows[1]["o"] != nil {
		t.Errorf("row 2 = %v", rows[1])
	}
	if rows[2]["str"] != "2024-01-02T03:04:05Z" || rows[3]["str"] != "later text" || rows[2]["mix"] != 2.5 {
		t.Errorf("rows 3, 4 = %v, %v", rows[2], rows[3])
	}
}

// normType drops field ids from a rendered Iceberg type.
func normType(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j+1 < len(s) && s[j] == ':' && s[j+1] == ' ' {
				i = j + 1
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func TestSchemaEvolution(t *testing.T) {
	s, cat, _ := MustService(t, Config{CommitInterval: time.Millisecond})
	MustPush(t, s, "ns", "evo", `{"id": 1, "vitals": {"hr": 60}, "items": [{"sku": "a"}]}`)
	before := MustTable(t, cat, "ns", "evo").Schema()

	MustPush(t, s, "ns", "evo", `{"id": 2, "vitals": {"hr": 70, "spo2": 0.97}, "note": "n", "items": [{"sku": "b", "qty": 3}]}`)
	after := MustTable(t, cat, "ns", "evo").Schema()

	// Old field ids are preserved; new ones are fresh.
	for _, name := range []string{"id", "vitals", "vitals.hr", "items", "items.element", "items.element.sku"} {
		fb, ok1 := before.FindFieldByName(name)
		fa, ok2 := after.FindFieldByName(name)
		if !ok1 || !ok2 || fb.ID != fa.ID {
			t.Errorf("field %s: id before %d (%v), after %d (%v)", name, fb.ID, ok1, fa.ID, ok2)
		}
	}
	seen := map[int]string{}
	for _, name := range []string{"id", "vitals", "vitals.hr", "vitals.spo2", "note", "items", "items.element", "items.element.sku", "items.element.qty"} {
		f, ok := after.FindFieldByName(name)
		if !ok {
			t.Fatalf("field %s missing after evolution: %s", name, after)
		}
		if prev, dup := seen[f.ID]; dup {
			t.Errorf("fields %s and %s share id %d", prev, name, f.ID)
		}
		seen[f.ID] = name
		if f.Required {
			t.Errorf("field %s is required", name)
		}
	}
	if f, _ := after.FindFieldByName("vitals.spo2"); f.Type.String() != "double" {
		t.Errorf("vitals.spo2 type %s, want double", f.Type)
	}

	rows, _ := MustRows(t, cat, "ns", "evo")
	sortBy(rows, "id")
	want := []map[string]any{
		{"id": int64(1), "vitals": map[string]any{"hr": int64(60), "spo2": nil}, "items": []any{map[string]any{"sku": "a", "qty": nil}}, "note": nil},
		{"id": int64(2), "vitals": map[string]any{"hr": int64(70), "spo2": 0.97}, "items": []any{map[string]any{"sku": "b", "qty": int64(3)}}, "note": "n"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows =\n%v\nwant\n%v", rows, want)
	}
}

func TestTypeConflict(t *testing.T) {
	s, cat, _ := MustService(t, Config{CommitInterval: time.Millisecond})
	MustPush(t, s, "ns", "vit", `{"id": 1, "vitals": {"hr": 60}, "w": 1.5, "at": "2024-01-01T00:00:00Z", "s": "x", "tags": ["a"]}`)
	snap := MustTable(t, cat, "ns", "vit").SnapshotID()

	cases := []struct {
		body  string
		line  int
		field string
	}{
		{`{"id": 2}` + "\n" + `{"id": 3, "vitals": {"hr": 61}}` + "\n" + `{"id": 4, "vitals": {"hr": "fast"}}`, 3, "vitals.hr"},
		{`{"id": 2.5}`, 1, "id"},
		{"\n\n" + `{"at": "yesterday"}`, 3, "at"},
		{`{"at": 5}`, 1, "at"},
		{`{"w": "heavy"}`, 1, "w"},
		{`{"vitals": 5}`, 1, "vitals"},
		{`{"tags": "a"}`, 1, "tags"},
		{`{"tags": [1]}`, 1, "tags[]"},
		{`{"s": 1}`, 1, "s"},
		{`{"id": true}`, 1, "id"},
		// New fields conflicting within one request.
		{`{"x": 1}` + "\n" + `{"x": "one"}`, 2, "x"},
		{`{"y": "2024-01-01T00:00:00Z"}` + "\n" + `{"y": 1}`, 2, "y"},
		{`{"z": [1, "a"]}`, 1, "z[]"},
		{`{"o": {"p": true}}` + "\n" + `{"o": {"p": 1}}`, 2, "o.p"},
		// The earliest bad line wins.
		{`{"id": 1}` + "\n" + `{"s": 2}` + "\n" + `{"id": "x"}`, 2, "s"},
		{`{"a.b": 1}`, 1, "a.b"},
		{`{"a": 1, "a": 2}`, 1, "a"},
		// SQL folds identifier case: a column may not differ only in case.
		{`{"id": 5}` + "\n" + `{"ID": 6}`, 2, "ID"},
		{`{"vitals": {"HR": 1}}`, 1, "vitals.HR"},
	}
	for _, c := range cases {
		rerr := MustRecordError(t, s, "ns", "vit", c.body)
		if rerr.Line != c.line || rerr.Field != c.field {
			t.Errorf("body %q: error %v, want line %d field %q", c.body, rerr, c.line, c.field)
		}
	}
	rerr := MustRecordError(t, s, "ns", "vit", `{"id": 2}`+"\n"+`{"id": 3, "vitals": {"hr": 61}}`+"\n"+`{"id": 4, "vitals": {"hr": "fast"}}`)
	if got, want := rerr.Error(), `line 3: field "vitals.hr": expected long, got string`; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	if got := MustTable(t, cat, "ns", "vit").SnapshotID(); got != snap {
		t.Fatalf("table changed by rejected requests: snapshot %d, was %d", got, snap)
	}
	if got := fieldTypes(MustTable(t, cat, "ns", "vit").Schema()); len(got) != 6 {
		t.Fatalf("schema changed by rejected requests: %v", got)
	}

	// Allowed: an integer into a double column, an RFC 3339 string into a
	// string column.
	MustPush(t, s, "ns", "vit", `{"w": 2, "s": "2024-01-01T00:00:00Z"}`)
}

func TestMalformed(t *testing.T) {
	s, cat, _ := MustService(t, Config{CommitInterval: time.Millisecond})
	MustPush(t, s, "ns", "m", `{"id": 1}`)
	snap := MustTable(t, cat, "ns", "m").SnapshotID()
	for body, line := range map[string]int{
		`{"id": 2}` + "\n" + `{"id": 3` + "\n" + `{"id": 4}`: 2,
		"\n \n{\"id\": 2}\n[1, 2]":                           4,
		`{"id": 2} {"id": 3}`:                                1,
		`{"id": 02}`:                                         1,
		`{"id": 2}` + "\n" + `nul`:                           2,
		`{"id": "\x01"}`:                                     1,
		`{"id": 1e999}`:                                      1,
		`"text"`:                                             1,
	} {
		rerr := MustRecordError(t, s, "ns", "m", body)
		if rerr.Line != line || rerr.Field != "" {
			t.Errorf("body %q: %v, want a malformed-line error on line %d", body, rerr, line)
		}
	}
	for _, body := range []string{"", "\n\n  \r\n"} {
		if _, err := s.Push(context.Background(), "ns", "m", strings.NewReader(body)); !errors.Is(err, ErrEmptyBody) {
			t.Errorf("body %q: %v, want ErrEmptyBody", body, err)
		}
	}
	for _, name := range []string{"", "A", "1a", "a-b", "a.b", strings.Repeat("a", 64), "ä"} {
		if _, err := s.Push(context.Background(), name, "m", strings.NewReader(`{"a":1}`)); !errors.Is(err, ErrInvalidName) {
			t.Errorf("namespace %q: %v, want ErrInvalidName", name, err)
		}
		if _, err := s.Push(context.Background(), "ns", name, strings.NewReader(`{"a":1}`)); !errors.Is(err, ErrInvalidName) {
			t.Errorf("table %q: %v, want ErrInvalidName", name, err)
		}
	}
	if got := MustTable(t, cat, "ns", "m").SnapshotID(); got != snap {
		t.Fatalf("table changed by rejected requests")
	}
	small := New(cat, Config{MaxBodyBytes: 20})
	defer small.Close(context.Background())
	if _, err := small.Push(context.Background(), "ns", "m", strings.NewReader(`{"id": 1}`+"\n"+`{"id": 22}`+"\n")); !errors.Is(err, ErrTooLarge) {
		t.Errorf("push over the limit: %v, want ErrTooLarge", err)
	}
	if _, err := small.Push(context.Background(), "ns", "m", strings.NewReader(`{"id": 5}`+"\n"+`{"id": 6}`)); err != nil {
		t.Errorf("push under the limit: %v", err)
	}

	// Lines ending in CRLF and a last line without newline are fine.
	if res := MustPush(t, s, "ns", "m", "{\"id\": 2}\r\n{\"id\": 3}"); res.Rows != 2 {
		t.Fatalf("rows %d, want 2", res.Rows)
	}
	// A name of exactly 63 characters is fine.
	MustPush(t, s, "_"+strings.Repeat("a", 62), "t_1", `{"a": 1}`)
}

// Two requests of one group commit introduce the same field with different
// types: only the later one fails.
func TestBatchRejectsOnlyConflictingRequest(t *testing.T) {
	s, cat, _ := MustService(t, Config{CommitInterval: 400 * time.Millisecond})
	MustPush(t, s, "ns", "b", `{"id": 0}`) // the next commit waits for the interval
	before := snapshotCount(t, cat, "ns", "b")

	var wg sync.WaitGroup
	errs := make([]error, 3)
	bodies := []string{`{"id": 1, "f": 1}`, `{"id": 2, "f": "one"}`, `{"id": 3}`}
	for i, b := range bodies {
		wg.Go(func() {
			_, errs[i] = s.Push(context.Background(), "ns", "b", strings.NewReader(b))
		})
	}
	wg.Wait()
	if errs[2] != nil {
		t.Fatalf("unrelated request failed: %v", errs[2])
	}
	var rerr *RecordError
	switch {
	case errs[0] == nil && errors.As(errs[1], &rerr):
	case errs[1] == nil && errors.As(errs[0], &rerr):
	default:
		t.Fatalf("errors %v, %v: want exactly one *RecordError", errs[0], errs[1])
	}
	if rerr.Field != "f" || rerr.Line != 1 {
		t.Errorf("error %v, want line 1 field f", rerr)
	}
	if got := snapshotCount(t, cat, "ns", "b"); got != before+1 {
		t.Errorf("%d snapshots after the batch, want %d (one group commit)", got, before+1)
	}
	rows, _ := MustRows(t, cat, "ns", "b")
	if len(rows) != 3 {
		t.Errorf("%d rows, want 3", len(rows))
	}
}

func TestGroupCommitConcurrent(t *testing.T) {
	const (
		interval  = 100 * time.Millisecond
		pushers   = 4
		requests  = 50
		perPush   = 3
		totalRows = pushers * requests * perPush
	)
	s, cat, _ := MustService(t, Config{CommitInterval: interval})
	start := time.Now()
	var wg sync.WaitGroup
	errc := make(chan error, pushers)
	for p := range pushers {
		wg.Go(func() {
			for r := range requests {
				var b strings.Builder
				for i := range perPush {
					fmt.Fprintf(&b, `{"pusher": %d, "req": %d, "i": %d}`+"\n", p, r, i)
				}
				res, err := s.Push(context.Background(), "ns", "group", strings.NewReader(b.String()))
				if err != nil {
					errc <- err
					return
				}
				if res.Rows != perPush || res.SnapshotID == 0 {
					errc <- fmt.Errorf("result %+v", res)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	rows, _ := MustRows(t, cat, "ns", "group")
	if len(rows) != totalRows {
		t.Fatalf("%d rows, want %d", len(rows), totalRows)
	}
	seen := map[[3]int64]bool{}
	for _, r := range rows {
		k := [3]int64{r["pusher"].(int64), r["req"].(int64), r["i"].(int64)}
		if seen[k] {
			t.Fatalf("duplicate row %v", k)
		}
		seen[k] = true
	}
	snaps := snapshotCount(t, cat, "ns", "group")
	limit := int(elapsed/interval) + 2
	t.Logf("%d requests in %v: %d snapshots (limit %d)", pushers*requests, elapsed, snaps, limit)
	if snaps > limit {
		t.Errorf("%d snapshots in %v, want at most %d (one per %v)", snaps, elapsed, limit, interval)
	}
	if snaps >= pushers*requests {
		t.Errorf("no grouping: %d snapshots for %d requests", snaps, pushers*requests)
	}
}

// A second process (another catalog handle on the same directory) appends
// to the table while the service pushes: every row of both is committed once.
func TestConcurrentWriter(t *testing.T) {
	s, cat, dir := MustService(t, Config{CommitInterval: 20 * time.Millisecond})
	MustPush(t, s, "ns", "shared", `{"src": "push", "n": -1}`)

	other := MustCatalog(t, dir)
	const otherCommits, pushes = 15, 30
	ctx := context.Background()
	var wg sync.WaitGroup
	var otherErr error
	wg.Go(func() {
		for i := range otherCommits {
			if err := appendOther(ctx, other, i); err != nil {
				otherErr = err
				return
			}
		}
	})
	for i := range pushes {
		body := fmt.Sprintf(`{"src": "push", "n": %d}`+"\n"+`{"src": "push", "n": %d}`, 2*i, 2*i+1)
		MustPush(t, s, "ns", "shared", body)
	}
	wg.Wait()
	if otherErr != nil {
		t.Fatalf("other writer: %v", otherErr)
	}
	rows, _ := MustRows(t, cat, "ns", "shared")
	got := map[string]int{}
	for _, r := range rows {
		got[fmt.Sprintf("%v/%v", r["src"], r["n"])]++
	}
	want := map[string]int{"push/-1": 1}
	for i := range 2 * pushes {
		want[fmt.Sprintf("push/%d", i)] = 1
	}
	for i := range otherCommits {
		want[fmt.Sprintf("other/%d", i)] = 1
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows (value → count) = %v\nwant %v", got, want)
	}
}

// appendOther commits one row {"src": "other", "n": i} through cat, another
// Catalog on the same data directory (another floe process).
func appendOther(ctx context.Context, cat *catalog.Catalog, i int) error {
	_, err := cat.Commit(ctx, "ns", "shared", func(ctx context.Context, tx *catalog.Tx) error {
		sc, err := tx.Schema()
		if err != nil {
			return err
		}
		asc, err := table.SchemaToArrowSchema(sc, nil, true, false)
		if err != nil {
			return err
		}
		rb := array.NewRecordBuilder(memory.DefaultAllocator, asc)
		defer rb.Release()
		for j, f := range asc.Fields() {
			switch f.Name {
			case "src":
				rb.Field(j).(*array.StringBuilder).Append("other")
			case "n":
				rb.Field(j).(*array.Int64Builder).Append(int64(i))
			default:
				rb.Field(j).AppendNull()
			}
		}
		rec := rb.NewRecordBatch()
		defer rec.Release()
		return tx.Append(ctx, rec, 0, map[string]string{"writer": "other"})
	})
	return err
}

// A commit made elsewhere (another process) between two pushes is built
// upon, never overwritten, even with a table cache that would be an hour
// stale: commits always start from the table as the catalog has it.
func TestCommitBuildsOnOtherWriters(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	cat, err := catalog.Open(ctx, catalog.Config{Dir: dir, RefreshInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	s := New(cat, Config{CommitInterval: time.Millisecond})
	defer s.Close(ctx)
	other := MustCatalog(t, dir)

	MustPush(t, s, "ns", "shared", `{"src": "push", "n": 0}`)
	if err := appendOther(ctx, other, 0); err != nil {
		t.Fatal(err)
	}
	MustPush(t, s, "ns", "shared", `{"src": "push", "n": 1}`)
	rows, _ := MustRows(t, other, "ns", "shared")
	if len(rows) != 3 {
		t.Fatalf("rows %v, want 3", rows)
	}

	// Another writer adds the column this request introduces, with another
	// type: after the reload the request is rejected, nothing is committed.
	_, err = other.Commit(ctx, "ns", "shared", func(ctx context.Context, tx *catalog.Tx) error {
		return tx.EvolveSchema(func(us *table.UpdateSchema) {
			us.AddColumn([]string{"extra"}, iceberg.PrimitiveTypes.String, "", false, nil)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	snap := MustTable(t, other, "ns", "shared").SnapshotID()
	rerr := MustRecordError(t, s, "ns", "shared", `{"src": "push", "n": 2, "extra": 5}`)
	if rerr.Field != "extra" || !strings.Contains(rerr.Reason, "expected string, got long") {
		t.Errorf("error %v, want a conflict on extra", rerr)
	}
	if got := MustTable(t, other, "ns", "shared").SnapshotID(); got != snap {
		t.Errorf("snapshot moved to %d after a rejected push", got)
	}
	// The service goes on with the fresh schema.
	MustPush(t, s, "ns", "shared", `{"src": "push", "n": 3, "extra": "x"}`)
}

// Two services (two processes) create the same table at once.
func TestCreateRace(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var ss []*Service
	for range 2 {
		s := New(MustCatalog(t, dir), Config{})
		defer s.Close(ctx)
		ss = append(ss, s)
	}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = ss[i%2].Push(ctx, "race", "t", strings.NewReader(fmt.Sprintf(`{"i": %d}`, i)))
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rows, _ := MustRows(t, MustCatalog(t, dir), "race", "t")
	if len(rows) != len(errs) {
		t.Fatalf("%d rows, want %d", len(rows), len(errs))
	}
}

func TestLoneRequestNotDelayed(t *testing.T) {
	s, _, _ := MustService(t, Config{CommitInterval: 5 * time.Second})
	start := time.Now()
	MustPush(t, s, "ns", "lone", `{"a": 1}`)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("first push took %v", d)
	}
}

func TestCloseFlushes(t *testing.T) {
	ctx := context.Background()
	cat := MustCatalog(t, t.TempDir())
	s := New(cat, Config{CommitInterval: time.Hour})
	MustPush(t, s, "ns", "c", `{"a": 1}`) // commits at once; the next waits an hour

	var wg sync.WaitGroup
	results := make([]error, 3)
	for i := range results {
		wg.Go(func() {
			_, results[i] = s.Push(ctx, "ns", "c", strings.NewReader(fmt.Sprintf(`{"a": %d}`, i+2)))
		})
	}
	// Wait until all three are queued.
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		n := 0
		if c := s.committers[tableKey{"ns", "c"}]; c != nil {
			n = len(c.queue)
		}
		s.mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests queued", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	closeCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for _, err := range results {
		if err != nil {
			t.Fatalf("pending push: %v", err)
		}
	}
	t.Logf("close took %v", time.Since(start))
	rows, _ := MustRows(t, cat, "ns", "c")
	if len(rows) != 4 {
		t.Fatalf("%d rows after close, want 4", len(rows))
	}
	if _, err := s.Push(ctx, "ns", "c", strings.NewReader(`{"a": 9}`)); !errors.Is(err, ErrClosed) {
		t.Fatalf("push after close: %v, want ErrClosed", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("second close: %v", err)
	}
	s.mu.Lock()
	n := len(s.committers)
	s.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d committers left after close", n)
	}
}
