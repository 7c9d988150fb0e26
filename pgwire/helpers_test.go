package pgwire_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/floe-dev/floe/pgwire"
)

const (
	testUser     = "alice"
	testPassword = "s3cret pass"
)

// testServer is a running Server on a loopback listener with a fakeEngine.
type testServer struct {
	srv    *pgwire.Server
	engine *fakeEngine
	addr   string
	logs   *syncBuffer
	done   chan error // Serve's result
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// MustStartServer starts a server; cfg.Logger is set to capture logs. The
// server is closed (and must close cleanly) when the test ends.
func MustStartServer(tb testing.TB, cfg pgwire.Config) *testServer {
	tb.Helper()
	e := newFakeEngine()
	// A low iteration count keeps tests fast; the exchange is the same.
	e.addUser(tb, testUser, testPassword, 64)
	ts := &testServer{engine: e, logs: &syncBuffer{}, done: make(chan error, 1)}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ts.srv = pgwire.NewServer(e, cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ts.addr = ln.Addr().String()
	go func() { ts.done <- ts.srv.Serve(context.Background(), ln) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := ts.srv.Close(ctx); err != nil {
			tb.Errorf("Close: %v", err)
		}
		if err := <-ts.done; !errors.Is(err, pgwire.ErrServerClosed) {
			tb.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
		if o, c := e.opened.Load(), e.closed.Load(); o != c {
			tb.Errorf("%d sessions opened, %d closed", o, c)
		}
		if tb.Failed() {
			tb.Logf("server log:\n%s", ts.logs.String())
		}
	})
	return ts
}

func (ts *testServer) connString(extra string) string {
	host, port, _ := net.SplitHostPort(ts.addr)
	return fmt.Sprintf("postgres://%s:%s@%s:%s/db1?sslmode=disable&%s",
		testUser, strings.ReplaceAll(testPassword, " ", "%20"), host, port, extra)
}

func (ts *testServer) pgxConfig(tb testing.TB, extra string) *pgx.ConnConfig {
	tb.Helper()
	cfg, err := pgx.ParseConfig(ts.connString(extra))
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// MustConnect connects pgx in the given mode.
func (ts *testServer) MustConnect(tb testing.TB, mode pgx.QueryExecMode) *pgx.Conn {
	tb.Helper()
	cfg := ts.pgxConfig(tb, "")
	cfg.DefaultQueryExecMode = mode
	return mustConnectConfig(tb, cfg)
}

func mustConnectConfig(tb testing.TB, cfg *pgx.ConnConfig) *pgx.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// MustHijack connects with pgconn and takes over the raw protocol.
func (ts *testServer) MustHijack(tb testing.TB) *pgconn.HijackedConn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pc, err := pgconn.Connect(ctx, ts.connString(""))
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	hc, err := pc.Hijack()
	if err != nil {
		tb.Fatal(err)
	}
	hc.Conn.SetDeadline(time.Now().Add(30 * time.Second))
	tb.Cleanup(func() { hc.Conn.Close() })
	return hc
}

var allModes = []pgx.QueryExecMode{
	pgx.QueryExecModeSimpleProtocol,
	pgx.QueryExecModeExec,
	pgx.QueryExecModeCacheStatement,
	pgx.QueryExecModeDescribeExec,
}

func pgError(err error) *pgconn.PgError {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe
	}
	return nil
}

func mustTLSConfig(tb testing.TB) *tls.Config {
	tb.Helper()
	cert, err := pgwire.LoadOrCreateCertificate(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}
}

func mustListen(tb testing.TB) net.Listener {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	return ln
}
