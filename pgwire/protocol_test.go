package pgwire_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/floe-dev/floe/pgwire"
)

// describe renders a backend message compactly for golden comparisons.
func describeMsg(m pgproto3.BackendMessage) string {
	switch m := m.(type) {
	case *pgproto3.ReadyForQuery:
		return "ReadyForQuery " + string(m.TxStatus)
	case *pgproto3.CommandComplete:
		return "CommandComplete " + string(m.CommandTag)
	case *pgproto3.ErrorResponse:
		return "Error " + m.Severity + " " + m.Code + " " + m.Message
	case *pgproto3.DataRow:
		var vals []string
		for _, v := range m.Values {
			if v == nil {
				vals = append(vals, "NULL")
			} else {
				vals = append(vals, string(v))
			}
		}
		return "DataRow " + strings.Join(vals, "|")
	case *pgproto3.RowDescription:
		var names []string
		for _, f := range m.Fields {
			names = append(names, fmt.Sprintf("%s:%d:%d", f.Name, f.DataTypeOID, f.Format))
		}
		return "RowDescription " + strings.Join(names, ",")
	case *pgproto3.ParameterStatus:
		return "ParameterStatus " + m.Name + "=" + m.Value
	case *pgproto3.ParameterDescription:
		return fmt.Sprintf("ParameterDescription %v", m.ParameterOIDs)
	case *pgproto3.NoticeResponse:
		return "Notice " + m.Code + " " + m.Message
	case *pgproto3.CopyData:
		return "CopyData " + strings.TrimSuffix(string(m.Data), "\n")
	case *pgproto3.CopyOutResponse:
		return fmt.Sprintf("CopyOutResponse %d %v", m.OverallFormat, m.ColumnFormatCodes)
	}
	return strings.TrimPrefix(reflect.TypeOf(m).String(), "*pgproto3.")
}

// readUntilReady reads messages until the n-th ReadyForQuery.
func readUntilReady(tb testing.TB, f *pgproto3.Frontend, n int) []string {
	tb.Helper()
	var out []string
	for n > 0 {
		m, err := f.Receive()
		if err != nil {
			tb.Fatalf("receive after %q: %v", out, err)
		}
		out = append(out, describeMsg(m))
		if _, ok := m.(*pgproto3.ReadyForQuery); ok {
			n--
		}
	}
	return out
}

func expectMessages(tb testing.TB, got, want []string) {
	tb.Helper()
	if !slices.Equal(got, want) {
		tb.Errorf("messages:\n got  %q\n want %q", got, want)
	}
}

func sendAll(tb testing.TB, f *pgproto3.Frontend, msgs ...pgproto3.FrontendMessage) {
	tb.Helper()
	for _, m := range msgs {
		f.Send(m)
	}
	if err := f.Flush(); err != nil {
		tb.Fatal(err)
	}
}

func TestExecuteMaxRowsSuspends(t *testing.T) {
	ts := MustStartServer(t, pgwire.Config{})
	hc := ts.MustHijack(t)
	f := hc.Frontend
	sendAll(t, f,
		&pgproto3.Parse{Query: "NARROW 5"},
		&pgproto3.Bind{ResultFormatCodes: []int16{0}},
		&pgproto3.Execute{MaxRows: 2},
		&pgproto3.Execute{MaxRows: 2},
		&pgproto3.Execute{MaxRows: 2},
		&pgproto3.Execute{MaxRows: 2},
		&pgproto3.Sync{},
		// Exactly max rows: suspended, and the next Execute completes with 0.
		&pgproto3.Parse{Query: "NARROW 2"},
		&pgproto3.Bind{},
		&pgproto3.Execute{MaxRows: 2},
		&pgproto3.Execute{},
		&pgproto3.Sync{},
		// The unnamed portal is gone after Sync.
		&pgproto3.Execute{},
		&pgproto3.Sync{},
	)
	got := readUntilReady(t, f, 3)
	expectMessages(t, got, []string{
		"ParseComplete", "BindComplete",
		"DataRow 0|some text value|0", "DataRow 1|some text value|0.5", "PortalSuspended",
		"DataRow 2|some text value|1", "DataRow 3|some text value|1.5", "PortalSuspended",
		"DataRow 4|some text value|2", "CommandComplete SELECT 1",
		"CommandComplete SELECT 0",
		"ReadyForQuery I",
		"ParseComplete", "BindComplete",
		"DataRow 0|some text value|0", "DataRow 1|some text value|0.5", "PortalSuspended",
		"CommandComplete SELECT 0",
		"ReadyForQuery I",
		`Error ERROR 34000 portal "" does not exist`,
		"ReadyForQuery I",
	})
}

func TestNamedPortalLivesInTransaction(t *testing.T) {
	ts := MustStartServer(t, pgwire.Config{})
	f := ts.MustHijack(t).Frontend
	sendAll(t, f,
		&pgproto3.Query{String: "BEGIN"},
		&pgproto3.Parse{Name: "s", Query: "NARROW 3"},
		&pgproto3.Bind{PreparedStatement: "s", DestinationPortal: "p"},
		&pgproto3.Execute{Portal: "p", MaxRows: 1},
		&pgproto3.Sync{},
		&pgproto3.Execute{Portal: "p"},
		&pgproto3.Sync{},
		&pgproto3.Query{String: "COMMIT"},
		&pgproto3.Execute{Portal: "p"},
		&pgproto3.Sync{},
	)
	got := readUntilReady(t, f, 5)
	expectMessages(t, got, []string{
		"CommandComplete BEGIN", "ReadyForQuery T",
		"ParseComplete", "BindComplete", "DataRow 0|some text value|0", "PortalSuspended", "ReadyForQuery T",
		"DataRow 1|some text value|0.5", "DataRow 2|some text value|1", "CommandComplete SELECT 2", "ReadyForQuery T",
		"CommandComplete COMMIT", "ReadyForQuery I",
		`Error ERROR 34000 portal "p" does not exist`, "ReadyForQuery I",
	})
}

func TestExtendedErrorSkipsToSync(t *testing.T) {
	ts := MustStartServer(t, pgwire.Config{})
	f := ts.MustHijack(t).Frontend
	sendAll(t, f,
		&pgproto3.Parse{Query: "FAIL"},
		&pgproto3.Bind{},
		&pgproto3.Execute{},
		&pgproto3.Parse{Query: "NARROW 1"}, // skipped
		&pgproto3.Bind{},
		&pgproto3.Execute{},
		&pgproto3.Query{String: "NARROW 1"}, // skipped too, as in PostgreSQL
		&pgproto3.Sync{},
		&pgproto3.Parse{Query: "FAILPREPARE"},
		&pgproto3.Bind{},
		&pgproto3.Execute{},
		&pgproto3.Sync{},
		&pgproto3.Parse{Query: "NARROW 1"},
		&pgproto3.Bind{},
		&pgproto3.Execute{},
		&pgproto3.Sync{},
	)
	got := readUntilReady(t, f, 3)
	expectMessages(t, got, []string{
		"ParseComplete", "BindComplete", `Error ERROR 42P01 relation "nope" does not exist`, "ReadyForQuery I",
		`Error ERROR 42601 syntax error at or near "FAILPREPARE"`, "ReadyForQuery I",
		"ParseComplete", "BindComplete", "DataRow 0|some text value|0", "CommandComplete SELECT 1", "ReadyForQuery I",
	})
	if q := ts.engine.executed(); !slices.Equal(q, []string{"FAIL", "NARROW 1"}) {
		t.Errorf("executed %q", q)
	}
}

func TestErrorFieldsAndInternalErrors(t *testing.T) {
	ts := MustStartServer(t, pgwire.Config{})
	conn := ts.MustConnect(t, pgx.QueryExecModeSimpleProtocol)
	_, err := conn.Exec(context.Background(), "FAIL")
	pe := pgError(err)
	if pe == nil || pe.Code != "42P01" || pe.Detail != "detail text" || pe.Hint != "hint text" || pe.Severity != "ERROR" {
		t.Fatalf("got %#v", err)
	}
	_, err = conn.Exec(context.Background(), "INTERNAL")
	pe = pgError(err)
	if pe == nil || pe.Code != "XX000" || pe.Message != "internal error" {
		t.Fatalf("got %#v", err)
	}
	if !strings.Contains(ts.logs.String(), "secret internal detail") {
		t.Errorf("internal error not logged")
	}
	// The connection is still usable.
	var n int64
	if err := conn.QueryRow(context.Background(), "NARROW 1").Scan(&n, new(string), new(float64)); err != nil {
		t.Fatal(err)
	}
}

func TestSimpleQueryMultiStatement(t *testing.T) {
	ts := MustStartServer(t, pgwire.Config{})
	f := ts.MustHijack(t).Frontend
	sendAll(t, f,
		&pgproto3.Query{String: "NARROW 1; FAIL; NARROW 2"},
		&pgproto3.Query{String: "BEGIN; NARROW 1; FAIL; NARROW 1"},
		&pgproto3.Query{String: "NARROW 1"},
		&pgproto3.Query{String: "ROLLBACK"},
	)
	got := readUntilReady(t, f, 4)
	expectMessages(t, got, []string{
		"RowDescription id:20:0,label:25:0,half:701:0", "DataRow 0|some text value|0", "CommandComplete SELECT 1",
		`Error ERROR 42P01 relation "nope" does not exist`, "ReadyForQuery I",
		"CommandComplete BEGIN",
		"RowDescription id:20:0,label:25:0,half:701:0", "DataRow 0|some text value|0", "CommandComplete SELECT 1",
		`Error ERROR 42P01 relation "nope" does not exist`, "ReadyForQuery E",
		"Error ERROR 25P02 current transaction is aborted, commands ignored until end of transaction block", "ReadyForQuery E",
		"CommandComplete ROLLBACK", "ReadyForQuery I",
	})
	if q := ts.engine.executed(); slices.Contains(q, "NARROW 2") {
		t.Errorf("statement after the error ran: %q", q)
	}
}

func TestNotices(t *testing.T) {
	ts := MustStartServer(t, pgwire.Config{})
	f := ts.MustHijack(t).Frontend
	sendAll(t, f,
		&pgproto3.Query{String: "NOTICE"},
		&pgproto3.Parse{Query: "NOTICE"}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{},
	)
	got := readUntilReady(t, f, 2)
	expectMessages(t, got, []string{
		"Notice 01000 settings ignored", "Notice 00000 nothing to do", "CommandComplete NOTICE", "ReadyForQuery I",
		"ParseComplete", "BindComplete",
		"Notice 01000 settings ignored", "Notice 00000 nothing to do", "CommandComplete NOTICE", "ReadyForQuery I",
	})
}

func TestEmptyQuery(t *testing.T) {
	ts := MustStartServer(t, pgwire.Config{})
	f := ts.MustHijack(t).Frontend
	sendAll(t, f,
		&pgproto3.Query{String: ""},
		&pgproto3.Query{String: " ; ;"},
		&pgproto3.Parse{Query: "  "},
		&pgproto3.Bind{},
		&pgproto3.Describe{ObjectType: 'P'},
		&pgproto3.Execute{},
		&pgproto3.Sync{},
	)
	got := readUntilReady(t, f, 3)
	expectMessages(t, got, []string{
		"EmptyQueryResponse", "ReadyForQuery I",
		"EmptyQueryResponse", "ReadyForQuery I",
		"ParseComplete", "BindComplete", "NoData", "EmptyQueryResponse", "ReadyForQuery I",
	})
}

func TestDescribeCloseAndNames(t *testing.T) {
	ts := MustStartServer(t, pgwire.Config{})
	f := ts.MustHijack(t).Frontend
	sendAll(t, f,
		&pgproto3.Parse{Name: "s1", Query: "SELECT $1::int8, $2::text", ParameterOIDs: []uint32{20}},
		&pgproto3.Describe{ObjectType: 'S', Name: "s1"},
		&pgproto3.Parse{Name: "s2", Query: "BEGIN"},
		&pgproto3.Describe{ObjectType: 'S', Name: "s2"},
		&pgproto3.Bind{PreparedStatement: "s1", DestinationPortal: "p1",
			ParameterFormatCodes: []int16{0}, Parameters: [][]byte{[]byte("7"), []byte("x")}, ResultFormatCodes: []int16{1, 0}},
		&pgproto3.Describe{ObjectType: 'P', Name: "p1"},
		&pgproto3.Close{ObjectType: 'S', Name: "s1"}, // also closes p1
		&pgproto3.Close{ObjectType: 'S', Name: "nope"},
		&pgproto3.Close{ObjectType: 'P', Name: "nope"},
		&pgproto3.Sync{},
		&pgproto3.Execute{Portal: "p1"},
		&pgproto3.Sync{},
		&pgproto3.Bind{PreparedStatement: "s1"},
		&pgproto3.Sync{},
		&pgproto3.Parse{Name: "s2", Query: "BEGIN"},
		&pgproto3.Sync{},
		&pgproto3.Bind{PreparedStatement: "s2", Parameters: [][]byte{[]byte("1")}},
		&pgproto3.Sync{},
		&pgproto3.Parse{Name: "s3", Query: "SELECT $1::int8"},
		&pgproto3.Bind{PreparedStatement: "s3", ParameterFormatCodes: []int16{1}, Parameters: [][]byte{[]byte("abc")}},
		&pgproto3.Sync{},
		&pgproto3.Bind{PreparedStatement: "s3", Parameters: [][]byte{[]byte("abc")}},
		&pgproto3.Sync{},
		&pgproto3.Bind{PreparedStatement: "s3", Parameters: [][]byte{[]byte("1")}, ResultFormatCodes: []int16{0, 1}},
		&pgproto3.Sync{},
	)
	got := readUntilReady(t, f, 8)
	expectMessages(t, got, []string{
		"ParseComplete", "ParameterDescription [20 25]", "RowDescription c1:20:0,c2:25:0",
		"ParseComplete", "ParameterDescription []", "NoData",
		"BindComplete", "RowDescription c1:20:1,c2:25:0",
		"CloseComplete", "CloseComplete", "CloseComplete", "ReadyForQuery I",
		`Error ERROR 34000 portal "p1" does not exist`, "ReadyForQuery I",
		`Error ERROR 26000 prepared statement "s1" does not exist`, "ReadyForQuery I",
		`Error ERROR 42P05 prepared statement "s2" already exists`, "ReadyForQuery I",
		`Error ERROR 08P01 bind message supplies 1 parameters, but prepared statement "s2" requires 0`, "ReadyForQuery I",
		"ParseComplete", "Error ERROR 22P03 incorrect binary data format in bind parameter 1", "ReadyForQuery I",
		`Error ERROR 22P02 invalid input syntax for type bigint: "abc"`, "ReadyForQuery I",
		"Error ERROR 08P01 bind message has 2 result formats but query has 1 columns", "ReadyForQuery I",
	})
}

func TestParameterStatusAfterChange(t *testing.T) {
	ts := MustStartServer(t, pgwire.Config{})
	conn := ts.MustConnect(t, pgx.QueryExecModeSimpleProtocol)
	pc := conn.PgConn()
	if got := pc.ParameterStatus("TimeZone"); got != "UTC" {
		t.Fatalf("TimeZone %q", got)
	}
	if got := pc.ParameterStatus("server_version"); got != "16.0 (floe)" {
		t.Fatalf("server_version %q", got)
	}
	if _, err := conn.Exec(context.Background(), "SET TimeZone = 'Europe/Paris'"); err != nil {
		t.Fatal(err)
	}
	if got := pc.ParameterStatus("TimeZone"); got != "Europe/Paris" {
		t.Fatalf("TimeZone after SET %q", got)
	}

	// On the wire: only the changed parameter, after CommandComplete; and
	// in the extended protocol after the Execute.
	f := ts.MustHijack(t).Frontend
	sendAll(t, f,
		&pgproto3.Query{String: "SET application_name = 'x'; SET application_name = 'x'"},
		&pgproto3.Parse{Query: "SET DateStyle = 'German'"}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{},
	)
	got := readUntilReady(t, f, 2)
	expectMessages(t, got, []string{
		"CommandComplete SET", "ParameterStatus application_name=x", "CommandComplete SET", "ReadyForQuery I",
		"ParseComplete", "BindComplete", "CommandComplete SET", "ParameterStatus DateStyle=German", "ReadyForQuery I",
	})
}

// TestSSLRequestPipelinedBytesDiscarded: a client (or a man in the middle)
// that sends plaintext messages right after SSLRequest must not have them
// processed: they go to the TLS handshake, which fails.
func TestSSLRequestPipelinedBytesDiscarded(t *testing.T) {
	ts := MustStartServer(t, pgwire.Config{TLS: mustTLSConfig(t)})
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	buf := binary.BigEndian.AppendUint32(nil, 8)
	buf = binary.BigEndian.AppendUint32(buf, 80877103)
	startup := &pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": testUser, "database": "db"}}
	buf, _ = startup.Encode(buf)
	buf, _ = (&pgproto3.Query{String: "NARROW 1"}).Encode(buf)
	if _, err := nc.Write(buf); err != nil {
		t.Fatal(err)
	}
	resp := make([]byte, 1)
	if _, err := io.ReadFull(nc, resp); err != nil || resp[0] != 'S' {
		t.Fatalf("SSLRequest answer %q, %v", resp, err)
	}
	// Whatever follows is TLS (an alert) or nothing; never a protocol message.
	rest, _ := io.ReadAll(nc)
	if len(rest) > 0 && rest[0] != 0x15 {
		t.Fatalf("server answered the pipelined bytes: % x", rest)
	}
	if n := ts.engine.opened.Load(); n != 0 {
		t.Fatalf("%d sessions opened", n)
	}

	// Without TLS the server says 'N' and the client goes on in plaintext.
	ts2 := MustStartServer(t, pgwire.Config{})
	nc2, err := net.Dial("tcp", ts2.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	nc2.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc2.Write(buf[:8]); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(nc2, resp); err != nil || resp[0] != 'N' {
		t.Fatalf("SSLRequest answer %q, %v", resp, err)
	}
	f := pgproto3.NewFrontend(nc2, nc2)
	sendAll(t, f, startup)
	m, err := f.Receive()
	if err != nil {
		t.Fatal(err)
	}
	if sasl, ok := m.(*pgproto3.AuthenticationSASL); !ok || !slices.Equal(sasl.AuthMechanisms, []string{"SCRAM-SHA-256"}) {
		t.Fatalf("got %#v", m)
	}
}

func TestStartupVariants(t *testing.T) {
	ts := MustStartServer(t, pgwire.Config{})

	// Protocol 3.2 is negotiated down to 3.0; _pq_ options are refused.
	cfg := ts.pgxConfig(t, "max_protocol_version=3.2")
	cfg.RuntimeParams["_pq_.test_option"] = "1"
	cfg.Database = "" // defaults to the user name
	cfg.RuntimeParams["application_name"] = "tester"
	conn := mustConnectConfig(t, cfg)
	if err := conn.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	info := ts.engine.lastInfo()
	if info.Database != testUser || info.User != testUser || info.Params["application_name"] != "tester" || info.TLS {
		t.Errorf("startup info %+v", info)
	}
	if _, ok := info.Params["_pq_.test_option"]; ok {
		t.Errorf("_pq_ option passed to the engine")
	}

	// Raw: GSSENCRequest is refused with 'N'; then a 4.0 startup is refused.
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	gss := binary.BigEndian.AppendUint32(nil, 8)
	gss = binary.BigEndian.AppendUint32(gss, 80877104)
	nc.Write(gss)
	resp := make([]byte, 1)
	if _, err := io.ReadFull(nc, resp); err != nil || resp[0] != 'N' {
		t.Fatalf("GSSENCRequest answer %q, %v", resp, err)
	}
	v4 := binary.BigEndian.AppendUint32(nil, 4+4+5+6+1)
	v4 = binary.BigEndian.AppendUint32(v4, 4<<16)
	v4 = append(v4, "user\x00alice\x00\x00"...)
	nc.Write(v4)
	f := pgproto3.NewFrontend(nc, nc)
	m, err := f.Receive()
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := m.(*pgproto3.ErrorResponse); !ok || e.Code != "08P01" || e.Severity != "FATAL" {
		t.Fatalf("got %#v", m)
	}

	// Unknown database: the engine's coded error, FATAL.
	cfg = ts.pgxConfig(t, "")
	cfg.Database = "nodb"
	_, err = pgx.ConnectConfig(context.Background(), cfg)
	if pe := pgError(err); pe == nil || pe.Code != "3D000" || pe.Severity != "FATAL" {
		t.Fatalf("got %v", err)
	}
}

func TestMaxConnections(t *testing.T) {
	ts := MustStartServer(t, pgwire.Config{MaxConnections: 1})
	c1 := ts.MustConnect(t, pgx.QueryExecModeSimpleProtocol)
	_, err := pgconn.Connect(context.Background(), ts.connString(""))
	if pe := pgError(err); pe == nil || pe.Code != "53300" {
		t.Fatalf("second connection: %v", err)
	}
	c1.Close(context.Background())
	// The slot is free again once the first session has ended.
	deadline := time.Now().Add(5 * time.Second)
	for {
		pc, err := pgconn.Connect(context.Background(), ts.connString(""))
		if err == nil {
			pc.Close(context.Background())
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// COPY ... TO STDOUT over both protocols: CopyOutResponse, a CopyData per
// line, CopyDone, "COPY n"; Describe answers NoData; a row limit on
// Execute does not split it; an error midway ends it with the error.
func TestCopyOut(t *testing.T) {
	ts := MustStartServer(t, pgwire.Config{})
	hc := ts.MustHijack(t)
	f := hc.Frontend
	sendAll(t, f,
		&pgproto3.Query{String: "COPYNARROW 2"},
		&pgproto3.Parse{Name: "c", Query: "COPYNARROW 3"},
		&pgproto3.Describe{ObjectType: 'S', Name: "c"},
		&pgproto3.Bind{PreparedStatement: "c"},
		&pgproto3.Describe{ObjectType: 'P'},
		&pgproto3.Execute{MaxRows: 1},
		&pgproto3.Sync{},
		&pgproto3.Query{String: "COPYFAILMID 1"},
	)
	got := readUntilReady(t, f, 3)
	expectMessages(t, got, []string{
		"CopyOutResponse 0 [0 0 0]", "CopyData id,label,half", "CopyData 0,some text value,0", "CopyData 1,some text value,0.5",
		"CopyDone", "CommandComplete SELECT 2", "ReadyForQuery I",
		"ParseComplete", "ParameterDescription []", "NoData", "BindComplete", "NoData",
		"CopyOutResponse 0 [0 0 0]", "CopyData id,label,half", "CopyData 0,some text value,0", "CopyData 1,some text value,0.5",
		"CopyData 2,some text value,1", "CopyDone", "CommandComplete SELECT 3", "ReadyForQuery I",
		"CopyOutResponse 0 [0 0 0]", "CopyData id,label,half", "CopyData 0,some text value,0",
		"Error ERROR 22012 division by zero", "ReadyForQuery I",
	})
}
