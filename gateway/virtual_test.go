package gateway_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/floe-dev/floe/authz"
	"github.com/floe-dev/floe/catalog"
	"github.com/floe-dev/floe/gateway"
	"github.com/floe-dev/floe/pgwire"
	"github.com/floe-dev/floe/sqlstate"
)

// A virtual table (Config.Virtual) reads its provider's rows at each query,
// under the central policy like any table.
func TestVirtualTable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"principals.json": `{"users": {"alice": {"policies": ["status"]}, "eve": {}}}`,
		"policies/status.json": `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Action": "floe:Select", "Resource": "arn:floe:table/floe/ingest_status"}]}`,
	} {
		path := filepath.Join(dir, "policy", name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cat, err := catalog.Open(ctx, catalog.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	users, err := authz.OpenDirectory(filepath.Join(dir, "users.json"))
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	status := func() ([]string, []string, [][]any) {
		n := calls.Add(1)
		return []string{"table_name", "partition", "lag_records", "last_commit"},
			[]string{"VARCHAR", "INTEGER", "BIGINT", "TIMESTAMPTZ"},
			[][]any{{"ns.t", int64(0), n, "2026-01-02 03:04:05Z"}, {"ns.t", int64(1), nil, nil}}
	}
	e := gateway.New(cat, users, gateway.Config{CacheDir: filepath.Join(dir, "cache"), Threads: 1,
		Virtual: map[string]func() ([]string, []string, [][]any){"floe.ingest_status": status}})
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close(); cat.Close() })
	mk := func(user string) *gateway.Session {
		s, err := e.NewSession(ctx, pgwire.StartupInfo{User: user, Database: "floe"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}

	admin := mk("admin")
	q := `SELECT table_name, "partition", lag_records, extract(year FROM last_commit) AS y FROM floe.ingest_status ORDER BY "partition"`
	names, rows := MustQuery(t, admin, q)
	first := calls.Load()
	if !reflect.DeepEqual(names, []string{"table_name", "partition", "lag_records", "y"}) ||
		!reflect.DeepEqual(rows, [][]any{{"ns.t", int32(0), first, int64(2026)}, {"ns.t", int32(1), nil, nil}}) {
		t.Fatalf("admin reads %v %v", names, rows)
	}
	// Rows are computed at each query, never served from a cache.
	_, rows = MustQuery(t, admin, q)
	if rows[0][2] == first || rows[0][2] != calls.Load() {
		t.Fatalf("second query read lag %v, want the provider's new value %d", rows[0][2], calls.Load())
	}
	// Unqualified through search_path.
	MustQuery(t, admin, "SET search_path TO floe")
	_, rows = MustQuery(t, admin, "SELECT count(*) FROM ingest_status")
	if rows[0][0] != int64(2) {
		t.Fatalf("unqualified count %v", rows)
	}

	_, rows = MustQuery(t, mk("alice"), "SELECT count(*) FROM floe.ingest_status")
	if rows[0][0] != int64(2) {
		t.Fatalf("alice counts %v", rows)
	}
	before := calls.Load()
	denial := MustFail(t, mk("eve"), "SELECT * FROM floe.ingest_status", sqlstate.InsufficientPrivilege)
	if denial.Message != "permission denied for table floe.ingest_status" {
		t.Fatalf("eve's denial: %q", denial.Message)
	}
	if calls.Load() != before {
		t.Fatalf("the provider ran for a denied query")
	}
}
