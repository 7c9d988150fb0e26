package test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// secureConfig is the tls and sasl part of a floe config for b, with the
// password read from a file.
func secureConfig(tb testing.TB, b *SecureBroker, mechanism, password string) string {
	tb.Helper()
	pw := filepath.Join(tb.TempDir(), "kafka-password")
	if err := os.WriteFile(pw, []byte(password+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprintf(`    tls:
      enabled: true
      ca_file: %s
      server_name: localhost
    sasl:
      mechanism: %s
      username: %s
      password_file: %s
`, b.CAFile, mechanism, b.User, pw)
}

// TestKafkaSASLSSL consumes through a SASL_SSL listener (TLS with the
// broker's self-signed CA, SCRAM-SHA-512) and checks every produced record
// lands exactly once; the password appears nowhere in floe's log.
func TestKafkaSASLSSL(t *testing.T) {
	b := MustStartSecureBroker(t)
	cl := MustKafkaClient(t, b.Brokers)
	const topic = "e2e-secure"
	MustCreateTopic(t, cl, topic, 4)
	l := newKafkaLog()
	l.mustProduce(t, cl, topic, 0, 5000, 500)

	cfg := writeKafkaConfig(t, b.SASLSSLBrokers, "e2e-secure", topic, "e2e_secure.vitals",
		secureConfig(t, b, "SCRAM-SHA-512", b.Password))
	f := MustStartFloe(t, WithConfigFile(cfg))
	waitCounts(t, f, "e2e_secure.vitals", int64(len(l.good)), int64(len(l.poison)), 60*time.Second)
	l.mustProduce(t, cl, topic, 5000, 1000, 0) // and while it runs
	waitCounts(t, f, "e2e_secure.vitals", int64(len(l.good)), int64(len(l.poison)), 30*time.Second)
	time.Sleep(1500 * time.Millisecond) // anything extra would be committed by now
	checkExactlyOnce(t, f, "e2e_secure.vitals", l)
	if strings.Contains(f.Log(), b.Password) {
		t.Errorf("floe's log holds the SASL password")
	}
}

// TestKafkaSecureRefusals: floe ingest with a wrong SCRAM password, or
// without the CA that signed the broker's certificate, exits at once with
// an error naming SASL authentication (mechanism and user, never the
// password) or TLS; the stream never starts.
func TestKafkaSecureRefusals(t *testing.T) {
	b := MustStartSecureBroker(t)
	const wrong = "not-the-Password-9"
	refused := func(t *testing.T, extra string, want ...string) {
		cfg := writeKafkaConfig(t, b.SASLSSLBrokers, "e2e-refused", "e2e-refused", "e2e_secure.refused", extra)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, MustBuildFloe(t), "ingest", "--config", cfg, "--data", t.TempDir(), "--http-addr", "127.0.0.1:0")
		cmd.Env = childEnv(newConfig(nil))
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if ctx.Err() != nil {
			t.Fatalf("floe ingest did not exit within 60s:\n%s", out)
		}
		if err == nil {
			t.Fatalf("floe ingest exited 0:\n%s", out)
		}
		t.Logf("exited after %s (%v): %s", time.Since(start).Round(time.Millisecond), err, lastLine(string(out)))
		for _, w := range want {
			if !strings.Contains(string(out), w) {
				t.Errorf("output does not name %q:\n%s", w, out)
			}
		}
		if strings.Contains(string(out), wrong) || strings.Contains(string(out), b.Password) {
			t.Errorf("output holds a password:\n%s", out)
		}
		if strings.Contains(string(out), "kafka: consuming") {
			t.Errorf("the stream started:\n%s", out)
		}
	}
	t.Run("wrong password", func(t *testing.T) {
		refused(t, secureConfig(t, b, "SCRAM-SHA-512", wrong), "SASL authentication", "SCRAM-SHA-512", `"`+b.User+`"`)
	})
	t.Run("untrusted CA", func(t *testing.T) {
		cfg := strings.Replace(secureConfig(t, b, "SCRAM-SHA-512", b.Password), "      ca_file: "+b.CAFile+"\n", "", 1)
		refused(t, cfg, "TLS: the brokers' certificate is not trusted")
	})
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
