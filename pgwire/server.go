package pgwire

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Config configures a Server. The zero value is usable: no TLS, SCRAM only,
// logs discarded, defaults below.
type Config struct {
	// TLS, when set, lets clients upgrade with SSLRequest (and connect with
	// PostgreSQL 17's direct TLS). It needs at least one certificate.
	TLS *tls.Config
	// RequireTLS refuses sessions that did not upgrade (28000).
	RequireTLS bool
	// AllowCleartext asks TLS clients for a cleartext password
	// (AuthenticationCleartextPassword), checked against the SCRAM secret,
	// instead of running SCRAM. Plaintext connections always use SCRAM. It
	// exists for clients without SCRAM support.
	AllowCleartext bool
	// Logger receives connection events and the real text of internal
	// errors (clients only see "internal error"). Nil discards.
	Logger *slog.Logger
	// MaxConnections limits concurrent sessions; more are refused with
	// 53300. 0 means 100; negative means no limit. Cancel requests do not
	// count.
	MaxConnections int
	// FlushBytes is how much result data is buffered before it is written to
	// the socket (results are streamed, never held whole). 0 means 64 KiB.
	FlushBytes int
	// MaxMessageBytes bounds one client message (a Bind with large
	// parameters, a long query); larger ones end the connection. 0 means
	// 64 MiB.
	MaxMessageBytes int
	// AuthTimeout bounds the time from accept to the end of authentication,
	// like PostgreSQL's authentication_timeout. 0 means one minute.
	AuthTimeout time.Duration
	// OnReject, when set, hears of every connection refused before a
	// session starts (a failed password, a plaintext connection where TLS
	// is required) with the error the client was sent: for the audit trail.
	OnReject func(info StartupInfo, err error)
}

const (
	defaultMaxConnections  = 100
	defaultFlushBytes      = 64 << 10
	defaultMaxMessageBytes = 64 << 20
	defaultAuthTimeout     = time.Minute
	maxAuthMessageBytes    = 65535 // PostgreSQL's PG_MAX_AUTH_TOKEN_LENGTH
)

// Server accepts PostgreSQL connections and runs each as a Session of its
// Engine. See the package documentation for its lifecycle.
type Server struct {
	engine  Engine
	cfg     Config
	log     *slog.Logger
	tls     *tls.Config
	mockKey []byte // salts of mock SCRAM secrets for unknown users

	draining atomic.Bool

	mu        sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	byPID     map[uint32]*conn // sessions that received BackendKeyData
	sessions  int              // startup messages accepted, for MaxConnections
	wg        sync.WaitGroup   // one per connection goroutine
}

// NewServer returns a server for e. It does no I/O.
func NewServer(e Engine, cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxConnections == 0 {
		cfg.MaxConnections = defaultMaxConnections
	}
	if cfg.FlushBytes <= 0 {
		cfg.FlushBytes = defaultFlushBytes
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = defaultMaxMessageBytes
	}
	if cfg.AuthTimeout <= 0 {
		cfg.AuthTimeout = defaultAuthTimeout
	}
	s := &Server{
		engine:    e,
		cfg:       cfg,
		log:       cfg.Logger,
		mockKey:   make([]byte, 32),
		listeners: make(map[net.Listener]struct{}),
		conns:     make(map[*conn]struct{}),
		byPID:     make(map[uint32]*conn),
	}
	rand.Read(s.mockKey)
	if cfg.TLS != nil {
		s.tls = cfg.TLS.Clone()
		// Direct TLS (PostgreSQL 17) requires the "postgresql" ALPN protocol;
		// offering it is harmless after SSLRequest.
		if !slices.Contains(s.tls.NextProtos, alpnPostgreSQL) {
			s.tls.NextProtos = append(slices.Clone(s.tls.NextProtos), alpnPostgreSQL)
		}
	}
	return s
}

const alpnPostgreSQL = "postgresql"

// Serve accepts connections on ln and serves each in its own goroutine until
// ln fails, ctx is done, or Close is called; it then closes ln and returns
// (ErrServerClosed after Close, ctx.Err() when ctx ended). Connections
// already accepted are not affected by ctx: they live until their client
// leaves or Close ends them. ctx's values are passed to the engine.
// Serve may be called several times, with different listeners.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()
	// A watcher closes ln when ctx ends; Serve waits for it before returning.
	stopWatch, watchDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(watchDone)
		select {
		case <-ctx.Done():
			ln.Close()
		case <-stopWatch:
		}
	}()
	defer func() {
		close(stopWatch)
		<-watchDone
	}()

	base := context.WithoutCancel(ctx)
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !temporaryAcceptError(err) {
				return fmt.Errorf("pgwire: accept: %w", err)
			}
			// Out of file descriptors and the like: back off as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.log.Warn("accept failed; retrying", "err", err, "delay", delay)
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
			continue
		}
		delay = 0
		c := newConn(s, base, nc)
		if !s.track(c) {
			nc.Close()
			continue
		}
		go c.run()
	}
}

func temporaryAcceptError(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ECONNRESET)
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// track registers a new connection; false once the server is closed.
func (s *Server) track(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if c.pid != 0 && s.byPID[c.pid] == c {
		delete(s.byPID, c.pid)
	}
	if c.hasSlot {
		s.sessions--
	}
}

// acquireSession takes a MaxConnections slot.
func (s *Server) acquireSession(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cfg.MaxConnections > 0 && s.sessions >= s.cfg.MaxConnections {
		return false
	}
	s.sessions++
	c.hasSlot = true
	return true
}

// registerKey gives c a process id and secret key for BackendKeyData and
// makes it reachable by CancelRequest.
func (s *Server) registerKey(c *conn) error {
	var b [8]byte
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		pid := binary.BigEndian.Uint32(b[:4]) & 0x7fffffff // positive as an int32, as clients expect
		if pid == 0 || s.byPID[pid] != nil {
			continue
		}
		c.pid, c.secret = pid, slices.Clone(b[4:8])
		s.byPID[pid] = c
		return nil
	}
}

// cancelRequest cancels the running statement of the session with this key;
// a request that matches nothing is ignored, as in PostgreSQL.
func (s *Server) cancelRequest(pid uint32, secret []byte) {
	s.mu.Lock()
	c := s.byPID[pid]
	s.mu.Unlock()
	if c == nil || subtle.ConstantTimeCompare(c.secret, secret) != 1 {
		s.log.Debug("cancel request matches no session", "pid", pid)
		return
	}
	c.cancelActive()
}

// Close stops the server: it closes the listeners, ends idle sessions (with
// 57P01), and lets running statements finish and their sessions end. When
// ctx is done first it cancels what is still running, closes those
// connections, and waits for their goroutines. It returns the first error:
// from closing a listener, or ctx.Err() when it had to force.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.draining.Store(true)
	var first error
	for ln := range s.listeners {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) && first == nil {
			first = err
		}
	}
	conns := s.connList()
	s.mu.Unlock()
	for _, c := range conns {
		c.interruptIfIdle()
	}

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.mu.Lock()
		conns = s.connList()
		s.mu.Unlock()
		for _, c := range conns {
			c.forceClose()
		}
		<-done
		if first == nil {
			first = ctx.Err()
		}
	}
	return first
}

func (s *Server) connList() []*conn {
	out := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}
