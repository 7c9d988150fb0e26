package pgwire_test

import (
	"context"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/floe-dev/floe/pgwire"
)

// testCancel runs SLOW on conn, cancels it with pgconn's CancelRequest, and
// checks 57014 and that the connection still works.
func testCancel(t *testing.T, ts *testServer, conn *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ts.engine.slowStarted:
		case <-time.After(10 * time.Second):
			t.Error("SLOW did not start")
			return
		}
		if err := conn.PgConn().CancelRequest(ctx); err != nil {
			t.Error(err)
		}
	}()
	_, err := conn.Exec(ctx, "SLOW")
	wg.Wait()
	pe := pgError(err)
	if pe == nil || pe.Code != "57014" || pe.Message != "canceling statement due to user request" {
		t.Fatalf("got %v", err)
	}
	var n int64
	if err := conn.QueryRow(ctx, "NARROW 1").Scan(&n, new(string), new(float64)); err != nil {
		t.Fatalf("after cancel: %v", err)
	}
}

func TestCancelRequest(t *testing.T) {
	ts := MustStartServer(t, pgwire.Config{})
	for _, mode := range allModes {
		t.Run(mode.String(), func(t *testing.T) {
			testCancel(t, ts, ts.MustConnect(t, mode))
		})
	}
}

// TestCancelByContext: pgx cancels the statement when the query's ctx ends
// (with a CancelRequest watcher) and the connection stays usable.
func TestCancelByContext(t *testing.T) {
	ts := MustStartServer(t, pgwire.Config{})
	cfg := ts.pgxConfig(t, "")
	cfg.BuildContextWatcherHandler = func(pc *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.CancelRequestContextWatcherHandler{Conn: pc, DeadlineDelay: 10 * time.Second}
	}
	conn := mustConnectConfig(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-ts.engine.slowStarted
		cancel()
	}()
	_, err := conn.Exec(ctx, "SLOW")
	if pe := pgError(err); pe == nil || pe.Code != "57014" {
		t.Fatalf("got %v", err)
	}
	if err := conn.Ping(context.Background()); err != nil {
		t.Fatalf("after cancel: %v", err)
	}
}

// TestCancelWrongKeyIgnored: a CancelRequest with a wrong secret changes
// nothing.
func TestCancelWrongKeyIgnored(t *testing.T) {
	ts := MustStartServer(t, pgwire.Config{})
	hc := ts.MustHijack(t)
	sendAll(t, hc.Frontend, &pgproto3.Query{String: "SLOW"})
	done := make(chan []string, 1)
	go func() { done <- readUntilReady(t, hc.Frontend, 1) }()
	<-ts.engine.slowStarted
	sendCancel := func(pid uint32, key []byte) {
		nc, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		b := binary.BigEndian.AppendUint32(nil, uint32(12+len(key)))
		b = binary.BigEndian.AppendUint32(b, 80877102)
		b = binary.BigEndian.AppendUint32(b, pid)
		b = append(b, key...)
		nc.Write(b)
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		nc.Read(make([]byte, 1)) // the server closes the connection
	}
	wrong := append([]byte(nil), hc.SecretKey...)
	wrong[0] ^= 1
	sendCancel(hc.PID, wrong)
	sendCancel(hc.PID+1, hc.SecretKey)
	select {
	case got := <-done:
		t.Fatalf("statement ended after a wrong cancel: %q", got)
	case <-time.After(200 * time.Millisecond):
	}
	sendCancel(hc.PID, hc.SecretKey)
	expectMessages(t, <-done, []string{
		"RowDescription never:23:0", "Error ERROR 57014 canceling statement due to user request", "ReadyForQuery I",
	})
}
