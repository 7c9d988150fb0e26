package pgwire

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/floe-dev/floe/sqlstate"
)

// Startup packet codes (the first int32 after the length).
const (
	sslRequestCode     = 80877103
	gssEncRequestCode  = 80877104
	cancelRequestCode  = 80877102
	maxStartupPacket   = 10000 // PostgreSQL's MAX_STARTUP_PACKET_LENGTH
	tlsRecordHandshake = 0x16  // first byte of a TLS ClientHello (direct TLS)
)

// conn is one client connection. Everything except the fields under mu is
// used by the connection's own goroutine only.
type conn struct {
	srv *Server
	nc  net.Conn // the accepted socket: deadlines and Close
	rw  net.Conn // nc, or the TLS connection over it
	log *slog.Logger

	ctx    context.Context // cancelled with errShutdown by a forced Close
	cancel context.CancelCauseFunc

	be    *pgproto3.Backend
	w     writer
	codec codec

	info    StartupInfo
	sess    Session
	pid     uint32
	secret  []byte
	hasSlot bool

	stmts    map[string]*statement
	portals  map[string]*portal
	reported map[string]string // ParameterStatus values the client has

	skipUntilSync bool
	fatal         bool // an error ended the session; leave the loop

	mu     sync.Mutex
	active context.CancelCauseFunc // cancels the statement now running
	idle   bool                    // waiting for a message between statements
	forced bool
}

func newConn(s *Server, base context.Context, nc net.Conn) *conn {
	ctx, cancel := context.WithCancelCause(base)
	c := &conn{
		srv:      s,
		nc:       nc,
		rw:       nc,
		log:      s.log.With("remote", nc.RemoteAddr().String()),
		ctx:      ctx,
		cancel:   cancel,
		idle:     true, // startup can be interrupted by Close
		stmts:    make(map[string]*statement),
		portals:  make(map[string]*portal),
		reported: make(map[string]string),
	}
	c.w = writer{w: nc, flushAt: s.cfg.FlushBytes}
	return c
}

// writer buffers outgoing messages; DataRows are appended to buf directly.
type writer struct {
	w       io.Writer
	buf     []byte
	flushAt int
	err     error // first write error; the connection is dead
}

func (w *writer) send(msg pgproto3.BackendMessage) {
	if w.err != nil {
		return
	}
	b, err := msg.Encode(w.buf)
	if err != nil {
		w.err = err
		return
	}
	w.buf = b
}

func (w *writer) flush() error {
	if w.err != nil {
		return w.err
	}
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.w.Write(w.buf)
	if cap(w.buf) > 4*w.flushAt {
		w.buf = make([]byte, 0, w.flushAt+w.flushAt/4)
	} else {
		w.buf = w.buf[:0]
	}
	if err != nil {
		w.err = err
	}
	return err
}

func (w *writer) maybeFlush() error {
	if len(w.buf) >= w.flushAt {
		return w.flush()
	}
	return w.err
}

// run serves the connection until the client leaves, an error ends it, or
// the server closes it.
func (c *conn) run() {
	defer c.srv.wg.Done()
	defer c.cleanup()
	if !c.startup() {
		return
	}
	c.loop()
}

func (c *conn) cleanup() {
	for name := range c.portals {
		c.closePortal(name)
	}
	for name := range c.stmts {
		c.closeStatement(name)
	}
	if c.sess != nil {
		if err := c.sess.Close(); err != nil {
			c.log.Warn("close session", "err", err)
		}
		c.log.Debug("session ended")
	}
	c.srv.untrack(c)
	c.cancel(context.Canceled)
	c.rw.Close()
	c.nc.Close()
}

// interruptIfIdle ends the wait for the next message of an idle connection
// (Close); the connection then says goodbye with 57P01.
func (c *conn) interruptIfIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idle {
		c.nc.SetReadDeadline(time.Now())
	}
}

// forceClose cancels what the connection runs and unblocks its I/O.
func (c *conn) forceClose() {
	c.mu.Lock()
	c.forced = true
	c.mu.Unlock()
	c.cancel(errShutdown)
	now := time.Now()
	c.nc.SetReadDeadline(now)
	c.nc.SetWriteDeadline(now.Add(time.Second))
}

// enterIdle marks the connection idle before it waits for a message; false
// means the server is draining and the connection must end.
func (c *conn) enterIdle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.srv.draining.Load() {
		return false
	}
	c.idle = true
	return true
}

func (c *conn) leaveIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idle && c.srv.draining.Load() && !c.forced {
		// Close may have set a deadline to interrupt the wait, but a message
		// arrived: process it in full, then end at the next idle point.
		c.nc.SetReadDeadline(time.Time{})
	}
	c.idle = false
}

func (c *conn) setActive(cancel context.CancelCauseFunc) {
	c.mu.Lock()
	c.active = cancel
	c.mu.Unlock()
}

func (c *conn) cancelActive() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.active != nil {
		c.active(errCancelRequest)
	}
}

// sendFatal sends a FATAL error and flushes; the connection then ends.
func (c *conn) sendFatal(e *sqlstate.Error) {
	c.w.send(errorResponse(severityFatal, e))
	c.w.flush()
	c.fatal = true
}

// goodbye tells the client the server is shutting down.
func (c *conn) goodbye() {
	c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	c.sendFatal(errAdminShutdown)
}

// readStartupPacket reads one length-prefixed startup packet from r with
// exact reads (nothing is buffered ahead: bytes after an SSLRequest belong
// to the TLS handshake). It returns the code and the rest of the body.
func readStartupPacket(r io.Reader, first bool) (hdr [4]byte, code uint32, body []byte, err error) {
	if _, err = io.ReadFull(r, hdr[:]); err != nil {
		return hdr, 0, nil, err
	}
	if first && hdr[0] == tlsRecordHandshake {
		return hdr, 0, nil, nil // direct TLS: the caller replays hdr
	}
	n := int(int32(binary.BigEndian.Uint32(hdr[:]))) - 4
	if n < 4 || n > maxStartupPacket {
		return hdr, 0, nil, protocolError("invalid length of startup packet")
	}
	buf := make([]byte, n)
	if _, err = io.ReadFull(r, buf); err != nil {
		return hdr, 0, nil, err
	}
	return hdr, binary.BigEndian.Uint32(buf), buf[4:], nil
}

// prefixConn replays bytes already read before reading from Conn.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

// startup runs the connection up to its first ReadyForQuery: TLS
// negotiation, cancel requests, the startup message, authentication and
// Engine.Open. false means the connection is over.
func (c *conn) startup() bool {
	cfg := c.srv.cfg
	c.mu.Lock()
	if c.srv.draining.Load() {
		c.nc.SetDeadline(time.Now()) // Close came first
	} else {
		c.nc.SetDeadline(time.Now().Add(cfg.AuthTimeout))
	}
	c.mu.Unlock()
	isTLS, sslAsked, gssAsked := false, false, false
	var params map[string]string
	for first := true; params == nil; first = false {
		hdr, code, body, err := readStartupPacket(c.rw, first)
		if err != nil {
			var se *sqlstate.Error
			if errors.As(err, &se) {
				c.sendFatal(se)
			} else if c.srv.draining.Load() {
				c.goodbye()
			}
			c.log.Debug("startup failed", "err", err)
			return false
		}
		switch {
		case first && hdr[0] == tlsRecordHandshake:
			if c.srv.tls == nil {
				return false
			}
			tc := tls.Server(&prefixConn{Conn: c.nc, prefix: hdr[:]}, c.srv.tls)
			if !c.handshake(tc) {
				return false
			}
			if tc.ConnectionState().NegotiatedProtocol != alpnPostgreSQL {
				c.log.Debug("direct TLS without the postgresql ALPN protocol")
				return false
			}
			isTLS = true

		case code == sslRequestCode:
			// One attempt each, before TLS, as PostgreSQL allows.
			if len(body) != 0 || isTLS || sslAsked {
				c.sendFatal(protocolError("unexpected SSL negotiation request"))
				return false
			}
			sslAsked = true
			if c.srv.tls == nil {
				if _, err := c.nc.Write([]byte{'N'}); err != nil {
					return false
				}
				continue
			}
			if _, err := c.nc.Write([]byte{'S'}); err != nil {
				return false
			}
			tc := tls.Server(c.nc, c.srv.tls)
			if !c.handshake(tc) {
				return false
			}
			isTLS = true

		case code == gssEncRequestCode:
			if len(body) != 0 || isTLS || gssAsked {
				c.sendFatal(protocolError("unexpected GSSAPI negotiation request"))
				return false
			}
			gssAsked = true
			if _, err := c.nc.Write([]byte{'N'}); err != nil {
				return false
			}

		case code == cancelRequestCode:
			if len(body) < 8 || len(body) > 8+256 {
				return false
			}
			c.srv.cancelRequest(binary.BigEndian.Uint32(body), body[4:])
			return false

		default:
			major, minor := code>>16, code&0xffff
			if major != 3 {
				c.sendFatal(protocolError("unsupported frontend protocol %d.%d: server supports 3.0 to 3.0", major, minor))
				return false
			}
			p, ok := parseStartupParams(body)
			if !ok {
				c.sendFatal(protocolError("invalid startup packet layout: expected terminator as last byte"))
				return false
			}
			var unknown []string
			for k := range p {
				if strings.HasPrefix(k, "_pq_.") {
					unknown = append(unknown, k)
					delete(p, k)
				}
			}
			if minor > 0 || len(unknown) > 0 {
				slices.Sort(unknown)
				c.w.send(&pgproto3.NegotiateProtocolVersion{NewestMinorProtocol: 0, UnrecognizedOptions: unknown})
			}
			params = p
		}
	}

	user := params["user"]
	if user == "" {
		c.sendFatal(sqlstate.New(sqlstate.InvalidAuthorizationSpec, "no PostgreSQL user name specified in startup packet"))
		return false
	}
	if cfg.RequireTLS && !isTLS {
		err := sqlstate.New(sqlstate.InvalidAuthorizationSpec, "connection requires TLS (sslmode=require)")
		c.reject(StartupInfo{User: user, Database: params["database"], Params: params, RemoteAddr: c.nc.RemoteAddr()}, err)
		return false
	}
	if !c.srv.acquireSession(c) {
		c.sendFatal(sqlstate.New(sqlstate.TooManyConnections, "sorry, too many clients already"))
		return false
	}
	db := params["database"]
	if db == "" {
		db = user
	}
	delete(params, "user")
	delete(params, "database")
	c.info = StartupInfo{User: user, Database: db, Params: params, RemoteAddr: c.nc.RemoteAddr(), TLS: isTLS}
	c.log = c.log.With("user", user)

	c.be = pgproto3.NewBackend(c.rw, c.rw)
	c.be.SetMaxBodyLen(maxAuthMessageBytes)
	if !c.authenticate(user, isTLS) {
		return false
	}
	c.be.SetAuthType(pgproto3.AuthTypeOk)
	c.be.SetMaxBodyLen(cfg.MaxMessageBytes)
	c.w.send(&pgproto3.AuthenticationOk{})

	ctx, cancel := context.WithTimeout(c.ctx, cfg.AuthTimeout)
	sess, err := c.srv.engine.Open(ctx, c.info)
	cancel()
	if err != nil {
		pub, _, internal := publicError(nil, err)
		if internal {
			c.log.Error("open session", "err", err)
		}
		c.sendFatal(pub)
		return false
	}
	c.sess = sess
	if err := c.srv.registerKey(c); err != nil {
		c.log.Error("backend key", "err", err)
		c.sendFatal(sqlstate.Public(err))
		return false
	}
	c.log = c.log.With("pid", c.pid)
	ps := sess.Parameters()
	for _, k := range slices.Sorted(maps.Keys(ps)) {
		c.w.send(&pgproto3.ParameterStatus{Name: k, Value: ps[k]})
		c.reported[k] = ps[k]
	}
	c.w.send(&pgproto3.BackendKeyData{ProcessID: c.pid, SecretKey: c.secret})
	c.mu.Lock()
	if !c.forced {
		c.nc.SetDeadline(time.Time{})
	}
	c.mu.Unlock()
	c.log.Debug("session started", "database", db, "tls", isTLS)
	return true
}

func (c *conn) handshake(tc *tls.Conn) bool {
	if err := tc.HandshakeContext(c.ctx); err != nil {
		c.log.Debug("TLS handshake failed", "err", err)
		return false
	}
	c.rw = tc
	c.w.w = tc
	return true
}

// parseStartupParams parses the name/value pairs of a StartupMessage:
// NUL-terminated strings ending with an empty name.
func parseStartupParams(b []byte) (map[string]string, bool) {
	p := make(map[string]string)
	for {
		i := indexNUL(b)
		if i < 0 {
			return nil, false
		}
		if i == 0 {
			return p, len(b) == 1
		}
		name := string(b[:i])
		b = b[i+1:]
		j := indexNUL(b)
		if j < 0 {
			return nil, false
		}
		p[name] = string(b[:j])
		b = b[j+1:]
	}
}

func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

// reject refuses the connection with err and tells Config.OnReject.
func (c *conn) reject(info StartupInfo, err *sqlstate.Error) {
	if c.srv.cfg.OnReject != nil {
		c.srv.cfg.OnReject(info, err)
	}
	c.sendFatal(err)
}

// authenticate runs SCRAM-SHA-256 (or, when allowed over TLS, a cleartext
// password) for user. Unknown users and wrong passwords get the same 28P01.
func (c *conn) authenticate(user string, isTLS bool) bool {
	ctx, cancel := context.WithTimeout(c.ctx, c.srv.cfg.AuthTimeout)
	defer cancel()
	secret, lookupErr := c.srv.engine.SCRAMSecret(ctx, user)
	if lookupErr != nil {
		secret = mockSCRAMSecret(c.srv.mockKey, user)
	}
	failed := func() bool {
		if lookupErr != nil {
			c.log.Info("authentication failed", "reason", "user lookup", "err", lookupErr)
		} else {
			c.log.Info("authentication failed", "reason", "wrong password")
		}
		c.reject(c.info, sqlstate.New(sqlstate.InvalidPassword, "password authentication failed for user %q", user))
		return false
	}
	receive := func() (pgproto3.FrontendMessage, bool) {
		if err := c.w.flush(); err != nil {
			return nil, false
		}
		msg, err := c.be.Receive()
		if err != nil {
			if c.srv.draining.Load() {
				c.goodbye()
			} else if !isIOError(err) {
				c.sendFatal(protocolError("invalid authentication message"))
			}
			return nil, false
		}
		return msg, true
	}

	if c.srv.cfg.AllowCleartext && isTLS {
		c.w.send(&pgproto3.AuthenticationCleartextPassword{})
		c.be.SetAuthType(pgproto3.AuthTypeCleartextPassword)
		msg, ok := receive()
		if !ok {
			return false
		}
		pw, ok := msg.(*pgproto3.PasswordMessage)
		if !ok {
			c.sendFatal(protocolError("expected password response"))
			return false
		}
		if !secret.Verify(pw.Password) || lookupErr != nil {
			return failed()
		}
		return true
	}

	c.w.send(&pgproto3.AuthenticationSASL{AuthMechanisms: []string{scramMechanism}})
	c.be.SetAuthType(pgproto3.AuthTypeSASL)
	msg, ok := receive()
	if !ok {
		return false
	}
	init, ok := msg.(*pgproto3.SASLInitialResponse)
	if !ok {
		c.sendFatal(protocolError("expected SASL response"))
		return false
	}
	if init.AuthMechanism != scramMechanism {
		c.sendFatal(protocolError("client selected an invalid SASL authentication mechanism"))
		return false
	}
	scram := scramServer{secret: secret}
	serverFirst, err := scram.start(init.Data)
	if err != nil {
		c.sendFatal(protocolError("%s", err.Error()))
		return false
	}
	c.w.send(&pgproto3.AuthenticationSASLContinue{Data: []byte(serverFirst)})
	c.be.SetAuthType(pgproto3.AuthTypeSASLContinue)
	msg, ok = receive()
	if !ok {
		return false
	}
	resp, ok := msg.(*pgproto3.SASLResponse)
	if !ok {
		c.sendFatal(protocolError("expected SASL response"))
		return false
	}
	serverFinal, ok, err := scram.finish(resp.Data)
	if err != nil {
		c.sendFatal(protocolError("%s", err.Error()))
		return false
	}
	if !ok || lookupErr != nil {
		return failed()
	}
	c.w.send(&pgproto3.AuthenticationSASLFinal{Data: []byte(serverFinal)})
	return true
}

// isIOError reports errors of the connection itself (as opposed to a
// malformed message).
func isIOError(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.As(err, &ne)
}
