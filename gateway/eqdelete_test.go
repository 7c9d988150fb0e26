package gateway_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go/table"

	"github.com/floe-dev/floe/catalog"
)

// An upsert as Debezium streams commit it: one snapshot adds the new row
// of a key and an equality delete on the key. The delete removes the older
// row only: equality deletes apply to data files of a lower sequence
// number, not to the files of their own snapshot.
func TestEqualityDeleteSparesRowsOfItsOwnSnapshot(t *testing.T) {
	ctx := context.Background()
	e := MustEnv(t)
	tbl := e.MustTable(t, "clinical", "orders")
	tbl = e.MustAppend(t, tbl, []int64{1, 2}, []string{"old", "b"})

	sc, err := table.SchemaToArrowSchema(tbl.Schema(), nil, true, false)
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).Append(1)
	b.Field(1).(*array.StringBuilder).Append("new")
	rec := b.NewRecordBatch()
	defer rec.Release()
	keySc, err := tbl.Schema().Select(true, "id")
	if err != nil {
		t.Fatal(err)
	}
	ksc, err := table.SchemaToArrowSchema(keySc, nil, true, false)
	if err != nil {
		t.Fatal(err)
	}
	kb := array.NewRecordBuilder(memory.DefaultAllocator, ksc)
	defer kb.Release()
	kb.Field(0).(*array.Int64Builder).Append(1)
	key := kb.NewRecordBatch()
	defer key.Release()
	_, err = e.cat.Commit(ctx, "clinical", "orders", func(ctx context.Context, tx *catalog.Tx) error {
		data, err := tx.WriteDataFiles(ctx, rec, 0)
		if err != nil {
			return err
		}
		dels, err := tx.WriteEqualityDeletes(ctx, []int{1}, key)
		if err != nil {
			return err
		}
		return tx.RowDelta(ctx, data, dels, nil)
	})
	if err != nil {
		t.Fatal(err)
	}

	s := e.MustSession(t)
	_, rows := MustQuery(t, s, "SELECT id, name FROM clinical.orders ORDER BY id")
	want := [][]any{{int64(1), "new"}, {int64(2), "b"}}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows %v, want %v: the delete must hide the old row of key 1 and not the new one", rows, want)
	}
}
