package pgwire_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/floe-dev/floe/scram"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/floe-dev/floe/pgwire"
	"github.com/floe-dev/floe/sqlstate"
)

// rejects collects what Config.OnReject hears.
type rejects struct {
	mu   sync.Mutex
	seen []string // "user code"
}

func (r *rejects) hook(info pgwire.StartupInfo, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	code := "?"
	var se *sqlstate.Error
	if errors.As(err, &se) {
		code = se.Code
	}
	r.seen = append(r.seen, info.User+" "+code)
}

func (r *rejects) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

func TestSCRAMAuthentication(t *testing.T) {
	var rej rejects
	ts := MustStartServer(t, pgwire.Config{OnReject: rej.hook})
	conn := ts.MustConnect(t, pgx.QueryExecModeExec)
	if err := conn.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ name, user, password string }{
		{"wrong password", testUser, "wrong"},
		{"unknown user", "mallory", testPassword},
		{"empty password", testUser, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := pgconn.ParseConfig(ts.connString(""))
			if err != nil {
				t.Fatal(err)
			}
			cfg.User, cfg.Password = tc.user, tc.password
			_, err = pgconn.ConnectConfig(context.Background(), cfg)
			pe := pgError(err)
			if pe == nil {
				t.Fatalf("got %v", err)
			}
			want := `password authentication failed for user "` + tc.user + `"`
			if pe.Code != "28P01" || pe.Message != want || pe.Severity != "FATAL" {
				t.Fatalf("got %s %s %q", pe.Severity, pe.Code, pe.Message)
			}
		})
	}
	if n := ts.engine.opened.Load(); n != 1 {
		t.Errorf("%d sessions opened", n)
	}
	// Each refused login is reported for the audit trail, the successful
	// one is not.
	if got, want := rej.list(), []string{testUser + " 28P01", "mallory 28P01", testUser + " 28P01"}; !slices.Equal(got, want) {
		t.Errorf("OnReject heard %v, want %v", got, want)
	}
	if strings.Contains(ts.logs.String(), testPassword) {
		t.Errorf("password in the log")
	}
}

func TestTLS(t *testing.T) {
	var rej rejects
	ts := MustStartServer(t, pgwire.Config{TLS: mustTLSConfig(t), RequireTLS: true, OnReject: rej.hook})

	// sslmode=require: encrypted, certificate not verified (self-signed).
	conn := mustConnectConfig(t, ts.pgxConfigTLS(t, "sslmode=require"))
	if err := conn.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !ts.engine.lastInfo().TLS {
		t.Error("StartupInfo.TLS false")
	}
	// Direct TLS (PostgreSQL 17's sslnegotiation=direct).
	conn2 := mustConnectConfig(t, ts.pgxConfigTLS(t, "sslmode=require&sslnegotiation=direct"))
	if err := conn2.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Plaintext is refused.
	_, err := pgx.Connect(context.Background(), ts.connString(""))
	if pe := pgError(err); pe == nil || pe.Code != "28000" {
		t.Fatalf("plaintext: %v", err)
	}
	if got := rej.list(); !slices.Equal(got, []string{testUser + " 28000"}) {
		t.Errorf("OnReject heard %v", got)
	}
	// A cancel request travels over TLS too.
	testCancel(t, ts, conn)
}

func (ts *testServer) pgxConfigTLS(tb testing.TB, params string) *pgx.ConnConfig {
	tb.Helper()
	cs := strings.Replace(ts.connString(params), "sslmode=disable&", "", 1)
	cfg, err := pgx.ParseConfig(cs)
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

func TestCleartextOverTLS(t *testing.T) {
	ts := MustStartServer(t, pgwire.Config{TLS: mustTLSConfig(t), AllowCleartext: true})

	// Over TLS the server asks for a cleartext password.
	conn := mustConnectConfig(t, ts.pgxConfigTLS(t, "sslmode=require"))
	if err := conn.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg := ts.pgxConfigTLS(t, "sslmode=require")
	cfg.Password = "wrong"
	_, err := pgx.ConnectConfig(context.Background(), cfg)
	if pe := pgError(err); pe == nil || pe.Code != "28P01" {
		t.Fatalf("wrong password: %v", err)
	}
	cfg = ts.pgxConfigTLS(t, "sslmode=require")
	cfg.User = "nobody"
	_, err = pgx.ConnectConfig(context.Background(), cfg)
	if pe := pgError(err); pe == nil || pe.Code != "28P01" {
		t.Fatalf("unknown user: %v", err)
	}

	// Without TLS it is still SCRAM.
	nc, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	f := pgproto3.NewFrontend(nc, nc)
	sendAll(t, f, &pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": testUser}})
	m, err := f.Receive()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.(*pgproto3.AuthenticationSASL); !ok {
		t.Fatalf("plaintext auth request %T", m)
	}
}

func TestSCRAMSecretHelpers(t *testing.T) {
	s, err := scram.New("correct horse", 0)
	if err != nil {
		t.Fatal(err)
	}
	if s.Iterations != scram.DefaultIterations || len(s.Salt) != 16 {
		t.Fatalf("secret %+v", s)
	}
	text := s.String()
	if !strings.HasPrefix(text, "SCRAM-SHA-256$4096:") {
		t.Fatalf("String %q", text)
	}
	p, err := scram.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	if p.String() != text || !p.Verify("correct horse") || p.Verify("correct horsE") || p.Verify("") {
		t.Fatalf("round trip %q", p.String())
	}
	for _, bad := range []string{
		"", "md5abc", "SCRAM-SHA-256$4096:c2FsdA==$short:short",
		"SCRAM-SHA-256$x:c2FsdA==$" + strings.Repeat("A", 43) + "=:" + strings.Repeat("A", 43) + "=",
		"SCRAM-SHA-256$4096:c2FsdA==",
	} {
		if _, err := scram.Parse(bad); err == nil {
			t.Errorf("ParseSCRAMSecret(%q) accepted", bad)
		}
	}
}

func TestLoadOrCreateCertificate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	c1, err := pgwire.LoadOrCreateCertificate(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "server.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v %v", st, err)
	}
	c2, err := pgwire.LoadOrCreateCertificate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if string(c1.Certificate[0]) != string(c2.Certificate[0]) {
		t.Fatal("second call did not load the same certificate")
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "server.crt"))
	block, _ := pem.Decode(raw)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != "floe" || len(cert.IPAddresses) != 2 || cert.DNSNames[0] != "localhost" ||
		cert.NotAfter.Before(time.Now().AddDate(9, 11, 0)) {
		t.Errorf("certificate %v %v %v %v", cert.Subject, cert.IPAddresses, cert.DNSNames, cert.NotAfter)
	}
	if err := cert.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	// Only one of the two files: refuse rather than overwrite.
	os.Remove(filepath.Join(dir, "server.crt"))
	if _, err := pgwire.LoadOrCreateCertificate(dir); err == nil {
		t.Error("created a certificate next to an existing key")
	}
}
