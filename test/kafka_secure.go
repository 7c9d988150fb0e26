package test

import (
	"os/exec"
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
	_, vars := mustStartService(tb, "kafka-secure",
		"KAFKA_BROKERS", "KAFKA_SASL_SSL_BROKERS", "KAFKA_CA_FILE", "KAFKA_SCRAM_USER", "KAFKA_SCRAM_PASSWORD")
	b := &SecureBroker{Brokers: vars["KAFKA_BROKERS"], SASLSSLBrokers: vars["KAFKA_SASL_SSL_BROKERS"],
		CAFile: vars["KAFKA_CA_FILE"], User: vars["KAFKA_SCRAM_USER"], Password: vars["KAFKA_SCRAM_PASSWORD"]}
	return b
}
