package pgwire_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/floe-dev/floe/pgwire"
)

// TestCloseDrains: Close lets a running statement finish, ends idle
// sessions with 57P01, and refuses new connections.
func TestCloseDrains(t *testing.T) {
	ts := MustStartServer(t, pgwire.Config{})
	busy := ts.MustConnect(t, pgx.QueryExecModeExec)
	idle := ts.MustConnect(t, pgx.QueryExecModeExec)

	result := make(chan error, 1)
	go func() {
		var slept bool
		result <- busy.QueryRow(context.Background(), "SLEEP 300").Scan(&slept)
	}()
	// Let SLEEP start before closing.
	deadline := time.Now().Add(5 * time.Second)
	for !containsString(ts.engine.executed(), "SLEEP 300") {
		if time.Now().After(deadline) {
			t.Fatal("SLEEP did not start")
		}
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.srv.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-result; err != nil {
		t.Fatalf("running statement: %v", err)
	}
	if time.Since(start) < 200*time.Millisecond {
		t.Errorf("Close returned before the statement finished")
	}
	err := idle.Ping(context.Background())
	if err == nil {
		t.Fatal("idle session still works after Close")
	}
	if pe := pgError(err); pe != nil && pe.Code != "57P01" {
		t.Errorf("idle session: %v", err)
	}
	if _, err := pgconn.Connect(context.Background(), ts.connString("connect_timeout=2")); err == nil {
		t.Error("connection accepted after Close")
	}
	if err := <-ts.done; !errors.Is(err, pgwire.ErrServerClosed) {
		t.Errorf("Serve: %v", err)
	}
	ts.done <- pgwire.ErrServerClosed // for the cleanup
}

// TestCloseForces: when Close's ctx ends, running statements are cancelled
// (57P01 to the client) and Close reports the deadline.
func TestCloseForces(t *testing.T) {
	ts := MustStartServer(t, pgwire.Config{})
	conn := ts.MustConnect(t, pgx.QueryExecModeCacheStatement)
	result := make(chan error, 1)
	go func() {
		_, err := conn.Exec(context.Background(), "SLOW")
		result <- err
	}()
	<-ts.engine.slowStarted
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := ts.srv.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: %v", err)
	}
	err := <-result
	if pe := pgError(err); pe == nil || pe.Code != "57P01" || pe.Severity != "FATAL" {
		t.Fatalf("running statement: %v", err)
	}
	if o, c := ts.engine.opened.Load(), ts.engine.closed.Load(); o != c {
		t.Errorf("%d sessions opened, %d closed", o, c)
	}
}

// TestServeContext: ending Serve's ctx stops accepting but keeps sessions.
func TestServeContext(t *testing.T) {
	e := newFakeEngine()
	e.addUser(t, testUser, testPassword, 64)
	srv := pgwire.NewServer(e, pgwire.Config{})
	ts := &testServer{srv: srv, engine: e, logs: &syncBuffer{}}
	ln := mustListen(t)
	ts.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	conn := ts.MustConnect(t, pgx.QueryExecModeSimpleProtocol)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve: %v", err)
	}
	if err := conn.Ping(context.Background()); err != nil {
		t.Fatalf("session ended with Serve's ctx: %v", err)
	}
	if err := srv.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestStreamMillionRows streams 1,000,000 rows and checks that the heap
// stays bounded: the result is never held in memory.
func TestStreamMillionRows(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	ts := MustStartServer(t, pgwire.Config{})
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		t.Run(mode.String(), func(t *testing.T) {
			conn := ts.MustConnect(t, mode)
			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)

			var peak atomic.Uint64
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				var ms runtime.MemStats
				for {
					select {
					case <-stop:
						return
					case <-time.After(20 * time.Millisecond):
					}
					runtime.ReadMemStats(&ms)
					if ms.HeapAlloc > peak.Load() {
						peak.Store(ms.HeapAlloc)
					}
				}
			}()
			start := time.Now()
			rows, err := conn.Query(context.Background(), "NARROW 1000000")
			if err != nil {
				t.Fatal(err)
			}
			var n, sum int64
			for rows.Next() {
				n++
				sum += int64(len(rows.RawValues()[1]))
			}
			close(stop)
			wg.Wait()
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if n != 1_000_000 || sum != 15*n {
				t.Fatalf("%d rows", n)
			}
			growth := int64(peak.Load()) - int64(before.HeapAlloc)
			t.Logf("%d rows in %v; heap %d MiB before, peak growth %d MiB",
				n, time.Since(start), before.HeapAlloc>>20, growth>>20)
			if growth > 64<<20 {
				t.Fatalf("heap grew by %d MiB", growth>>20)
			}
		})
	}
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
