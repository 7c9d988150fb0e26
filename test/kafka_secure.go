package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// SecureBroker is a Kafka broker of one test's own with a second listener,
// SASL_SSL: TLS with a self-signed CA and SCRAM-SHA-512/256 users
// (`test/services up kafka-secure`).
type SecureBroker struct {
	Brokers        string // plaintext HOST:PORT, for the test's producers
	SASLSSLBrokers string // the SASL_SSL listener
	CAFile         string // PEM of the CA that signed the broker's certificate
	User, Password string // a SCRAM user created when the broker was formatted
}

// MustStartSecureBroker starts a SecureBroker for tb alone, in a state
// directory of its own, removed with the broker at cleanup.
func MustStartSecureBroker(tb testing.TB) *SecureBroker {
	tb.Helper()
	MustKafka(tb) // checks the tools, and installs the jars once
	if _, err := exec.LookPath("openssl"); err != nil {
		tb.Fatal("openssl is not installed: the SASL_SSL broker's certificates are made with it (apt-get install openssl)")
	}
	_, file, _, _ := runtime.Caller(0)
	script, dir := filepath.Join(filepath.Dir(file), "services"), tb.TempDir()
	run := func(verb string) (string, error) {
		cmd := exec.Command(script, verb, "kafka-secure")
		cmd.Env = append(os.Environ(), "FLOE_SERVICES_DIR="+dir)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	tb.Cleanup(func() {
		if out, err := run("down"); err != nil {
			tb.Logf("test/services down kafka-secure: %v\n%s", err, out)
		}
	})
	out, err := run("up")
	if err != nil {
		tb.Fatalf("test/services up kafka-secure: %v\n%s", err, out)
	}
	b := &SecureBroker{}
	for _, line := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch k {
		case "KAFKA_BROKERS":
			b.Brokers = v
		case "KAFKA_SASL_SSL_BROKERS":
			b.SASLSSLBrokers = v
		case "KAFKA_CA_FILE":
			b.CAFile = v
		case "KAFKA_SCRAM_USER":
			b.User = v
		case "KAFKA_SCRAM_PASSWORD":
			b.Password = v
		}
	}
	if b.Brokers == "" || b.SASLSSLBrokers == "" || b.CAFile == "" || b.User == "" || b.Password == "" {
		tb.Fatalf("test/services up kafka-secure printed an incomplete address list:\n%s", out)
	}
	return b
}
