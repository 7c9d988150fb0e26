package pgwire_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/floe-dev/floe/pgwire"
)

// pipeListener hands out one in-memory connection, then blocks until
// closed.
type pipeListener struct {
	ch   chan net.Conn
	once sync.Once
	done chan struct{}
}

func newPipeListener(c net.Conn) *pipeListener {
	l := &pipeListener{ch: make(chan net.Conn, 1), done: make(chan struct{})}
	l.ch <- c
	return l
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// FuzzBackendMessages feeds arbitrary bytes to an authenticated session
// over net.Pipe: the server must not panic and must end the connection
// once the client has gone.
func FuzzBackendMessages(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzBackendMessages (written by TestWriteFuzzSeeds).
	e := newFakeEngine()
	e.addUser(f, testUser, testPassword, 1)
	e.noSlow = true
	f.Fuzz(func(t *testing.T, data []byte) {
		t0 := time.Now()
		defer func() {
			if d := time.Since(t0); d > 2*time.Second {
				t.Fatalf("SLOWEXEC %v", d)
			}
		}()
		srv := pgwire.NewServer(e, pgwire.Config{Logger: slog.New(slog.DiscardHandler), AuthTimeout: 5 * time.Second})
		serverSide, clientSide := net.Pipe()
		ln := newPipeListener(serverSide)
		served := make(chan error, 1)
		go func() { served <- srv.Serve(context.Background(), ln) }()

		cfg, err := pgconn.ParseConfig("postgres://" + testUser + ":" + strings.ReplaceAll(testPassword, " ", "%20") + "@127.0.0.1:1/db?sslmode=disable")
		if err != nil {
			t.Fatal(err)
		}
		cfg.DialFunc = func(context.Context, string, string) (net.Conn, error) { return clientSide, nil }
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		pc, err := pgconn.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		hc, err := pc.Hijack()
		if err != nil {
			t.Fatal(err)
		}
		drained := make(chan struct{})
		go func() {
			io.Copy(io.Discard, hc.Conn)
			close(drained)
		}()
		hc.Conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, werr := hc.Conn.Write(data)
		if werr != nil && !errors.Is(werr, io.ErrClosedPipe) && !errors.Is(werr, io.EOF) {
			t.Fatalf("write: %v", werr)
		}
		hc.Conn.Close()
		<-drained

		closeCtx, cancelClose := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancelClose()
		if err := srv.Close(closeCtx); err != nil {
			t.Fatalf("connection did not end: %v", err)
		}
		if err := <-served; !errors.Is(err, pgwire.ErrServerClosed) {
			t.Fatalf("Serve: %v", err)
		}
	})
}

var scramSeeds = []string{
	"n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
	"y,,n=,r=abc",
	"n,,n=,r=abc,x=ext",
	"p=tls-server-end-point,,n=,r=abc",
	"n,a=admin,n=,r=abc",
	"n,,m=ext,n=,r=abc",
	"c=biws,r=abc,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
	"",
	"n,,",
}

type decodeSeed struct {
	which uint8
	bin   bool
	src   []byte
}

var decodeSeeds = []decodeSeed{
	{8, false, []byte("-1.5e3")},
	{8, true, []byte{0, 2, 0, 1, 0x40, 0, 0, 4, 0, 12, 13, 128}},
	{11, false, []byte("2024-01-02 03:04:05.123+05:30 BC")},
	{7, false, []byte(`\x0102`)},
	{12, false, []byte("{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}")},
	{10, true, []byte{0, 0, 0, 0, 0, 0, 0, 1}},
}

// TestWriteFuzzSeeds writes the seed corpora under testdata/fuzz when
// FLOE_WRITE_FUZZ_SEEDS is set.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("FLOE_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set FLOE_WRITE_FUZZ_SEEDS=1 to rewrite testdata/fuzz")
	}
	write := func(fuzzer string, i int, lines ...string) {
		dir := filepath.Join("testdata", "fuzz", fuzzer)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		body := "go test fuzz v1\n" + strings.Join(lines, "\n") + "\n"
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, b := range backendSeeds() {
		write("FuzzBackendMessages", i, fmt.Sprintf("[]byte(%q)", b))
	}
	for i, s := range scramSeeds {
		write("FuzzSCRAMClientFirst", i, fmt.Sprintf("string(%q)", s))
	}
	for i, b := range startupSeeds() {
		write("FuzzStartup", i, fmt.Sprintf("[]byte(%q)", b))
	}
	for i, d := range decodeSeeds {
		write("FuzzDecodeParam", i, fmt.Sprintf("byte(%d)", d.which), fmt.Sprintf("bool(%v)", d.bin), fmt.Sprintf("[]byte(%q)", d.src))
	}
}

// startupSeeds are startup-phase byte streams.
func startupSeeds() [][]byte {
	u32 := binary.BigEndian.AppendUint32
	startup, _ := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": testUser, "database": "db", "_pq_.x": "1"}}).Encode(nil)
	v32 := slices.Clone(startup)
	binary.BigEndian.PutUint32(v32[4:], 3<<16|2)
	ssl := u32(u32(nil, 8), 80877103)
	gss := u32(u32(nil, 8), 80877104)
	cancel := u32(u32(u32(u32(nil, 16), 80877102), 1234), 5678)
	pw, _ := (&pgproto3.SASLInitialResponse{AuthMechanism: "SCRAM-SHA-256", Data: []byte("n,,n=,r=abc")}).Encode(nil)
	return [][]byte{
		startup,
		v32,
		append(slices.Clone(gss), startup...),
		append(slices.Clone(ssl), startup...),
		append(slices.Clone(ssl), 0x16, 3, 1, 0, 5, 1, 0, 0, 1, 0),
		cancel,
		append(slices.Clone(startup), pw...),
		{0x16, 3, 1, 0, 200},
		u32(u32(nil, 8), 4<<16),
		u32(nil, 3),
	}
}

// backendSeeds are valid and slightly broken message sequences.
func backendSeeds() [][]byte {
	enc := func(msgs ...pgproto3.FrontendMessage) []byte {
		var b []byte
		for _, m := range msgs {
			var err error
			if b, err = m.Encode(b); err != nil {
				panic(err)
			}
		}
		return b
	}
	extended := enc(
		&pgproto3.Parse{Name: "s", Query: "SELECT $1::int8, $2::numeric, $3::date, $4::text[]", ParameterOIDs: []uint32{20}},
		&pgproto3.Describe{ObjectType: 'S', Name: "s"},
		&pgproto3.Bind{PreparedStatement: "s", DestinationPortal: "p", ParameterFormatCodes: []int16{1, 0, 0, 0},
			Parameters:        [][]byte{{0, 0, 0, 0, 0, 0, 0, 1}, []byte("1.5"), []byte("2024-01-02"), []byte("{a,b}")},
			ResultFormatCodes: []int16{1}},
		&pgproto3.Describe{ObjectType: 'P', Name: "p"},
		&pgproto3.Execute{Portal: "p", MaxRows: 1},
		&pgproto3.Execute{Portal: "p"},
		&pgproto3.Close{ObjectType: 'P', Name: "p"},
		&pgproto3.Close{ObjectType: 'S', Name: "s"},
		&pgproto3.Flush{},
		&pgproto3.Sync{},
	)
	simple := enc(&pgproto3.Query{String: "ROWS 2; BEGIN; FAIL; ROLLBACK; SET TimeZone = 'x'"})
	errorThenSync := enc(&pgproto3.Parse{Query: "FAIL"}, &pgproto3.Bind{}, &pgproto3.Execute{},
		&pgproto3.Query{String: "NARROW 1"}, &pgproto3.Sync{}, &pgproto3.Terminate{})
	binaryEcho := enc(&pgproto3.Parse{Query: "SELECT $1::numeric, $2::timestamptz, $3::uuid"},
		&pgproto3.Bind{ParameterFormatCodes: []int16{1},
			Parameters:        [][]byte{{0, 2, 0, 0, 0, 0, 0, 2, 0, 12, 13, 128}, {0, 0, 0, 0, 0, 0, 0, 0}, make([]byte, 16)},
			ResultFormatCodes: []int16{1}},
		&pgproto3.Execute{}, &pgproto3.Sync{})
	return [][]byte{
		extended,
		simple,
		errorThenSync,
		binaryEcho,
		enc(&pgproto3.Query{String: "NARROW 3"}, &pgproto3.Terminate{}),
		enc(&pgproto3.CopyData{Data: []byte("x")}, &pgproto3.CopyDone{}, &pgproto3.FunctionCall{Function: 1}),
		extended[:len(extended)-3], // truncated
		{'Z', 0, 0, 0, 4},          // unknown message type
		{'Q', 0xff, 0xff, 0xff, 0xff},
		{'B', 0, 0, 0, 5, 0},
	}
}

// FuzzSCRAMClientFirst checks the SCRAM message parsers on arbitrary input.
func FuzzSCRAMClientFirst(f *testing.F) {
	f.Fuzz(func(t *testing.T, msg string) {
		if err := pgwire.ParseSCRAMClientFirst(msg); err == nil {
			if !strings.HasPrefix(msg, "n,,n=") && !strings.HasPrefix(msg, "y,,n=") {
				t.Fatalf("accepted %q", msg)
			}
		}
		if err := pgwire.ParseSCRAMClientFinal(msg); err == nil {
			if !strings.HasPrefix(msg, "c=") || !strings.Contains(msg, ",p=") {
				t.Fatalf("accepted final %q", msg)
			}
		}
	})
}

// FuzzDecodeParam runs the parameter decoders on arbitrary input.
func FuzzDecodeParam(f *testing.F) {
	oids := []uint32{pgtype.Int8OID, pgtype.Int4OID, pgtype.Int2OID, pgtype.Float8OID, pgtype.Float4OID,
		pgtype.BoolOID, pgtype.TextOID, pgtype.ByteaOID, pgtype.NumericOID, pgtype.DateOID,
		pgtype.TimestampOID, pgtype.TimestamptzOID, pgtype.UUIDOID, pgtype.JSONBOID, pgtype.InetOID}
	f.Fuzz(func(t *testing.T, which uint8, bin bool, src []byte) {
		t0 := time.Now()
		defer func() {
			if d := time.Since(t0); d > 2*time.Second {
				t.Fatalf("SLOWEXEC %v", d)
			}
		}()
		oid := oids[int(which)%len(oids)]
		format := int16(0)
		if bin {
			format = 1
		}
		v, err := pgwire.DecodeParam(oid, format, src)
		if err != nil {
			return
		}
		// What decodes must encode back in the same format.
		if _, err := pgwire.EncodeValue(oid, format, v); err != nil && oid != pgtype.InetOID {
			t.Fatalf("oid %d %q decoded to %#v, which does not encode: %v", oid, src, v, err)
		}
		// Numeric text survives a binary round trip unchanged.
		if oid == pgtype.NumericOID {
			b, err := pgwire.EncodeValue(oid, 1, v)
			if err != nil {
				t.Fatalf("numeric %q: %v", v, err)
			}
			back, err := pgwire.DecodeParam(oid, 1, b)
			if err != nil || back != v {
				t.Fatalf("numeric %q: round trip gave %v, %v", v, back, err)
			}
		}
	})
}

// FuzzStartup feeds arbitrary bytes to a new connection, before
// authentication (startup packets, SSLRequest with TLS configured, cancel
// requests): no panic, and the connection ends once the client has gone.
func FuzzStartup(f *testing.F) {
	e := newFakeEngine()
	e.addUser(f, testUser, testPassword, 1)
	tlsCfg := mustTLSConfig(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		srv := pgwire.NewServer(e, pgwire.Config{Logger: slog.New(slog.DiscardHandler), TLS: tlsCfg,
			AuthTimeout: 5 * time.Second})
		serverSide, clientSide := net.Pipe()
		ln := newPipeListener(serverSide)
		served := make(chan error, 1)
		go func() { served <- srv.Serve(context.Background(), ln) }()
		drained := make(chan struct{})
		go func() {
			io.Copy(io.Discard, clientSide)
			close(drained)
		}()
		clientSide.SetWriteDeadline(time.Now().Add(5 * time.Second))
		clientSide.Write(data)
		clientSide.Close()
		<-drained
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			t.Fatalf("connection did not end: %v", err)
		}
		if err := <-served; !errors.Is(err, pgwire.ErrServerClosed) {
			t.Fatalf("Serve: %v", err)
		}
	})
}
