package ingest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestKafkaSASLMechanisms(t *testing.T) {
	for _, m := range []string{SASLPlain, SASLScramSHA256, SASLScramSHA512} {
		mech, err := (&KafkaSASL{Mechanism: m, Username: "u", Password: "p"}).mechanism(context.Background())
		if err != nil || mech.Name() != m {
			t.Errorf("%s: mechanism %v, %v", m, mech, err)
		}
	}
	if _, err := (&KafkaSASL{Mechanism: "GSSAPI"}).mechanism(context.Background()); err == nil || !strings.Contains(err.Error(), "GSSAPI") {
		t.Errorf("GSSAPI: %v, want an error naming it", err)
	}
}

// AWS_MSK_IAM cannot be tried against MSK here: check that the mechanism
// is built with credentials from the AWS SDK's default chain (here the
// environment) and signs the MSK IAM payload with them.
func TestKafkaSASLAWSMSKIAM(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAFLOETESTKEY")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "floe-test-secret")
	t.Setenv("AWS_SESSION_TOKEN", "floe-test-token")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	cfg := KafkaConfig{Brokers: []string{"b-1.floe.abc123.c2.kafka.eu-west-1.amazonaws.com:9098"},
		TLS: &KafkaTLS{}, SASL: &KafkaSASL{Mechanism: SASLAWSMSKIAM, AWSRegion: "eu-west-1"}}
	opts, err := cfg.connOpts(context.Background())
	if err != nil || len(opts) != 2 {
		t.Fatalf("client options: %d, %v; want TLS and SASL", len(opts), err)
	}
	mech, err := cfg.SASL.mechanism(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if mech.Name() != "AWS_MSK_IAM" {
		t.Fatalf("mechanism %s", mech.Name())
	}
	_, first, err := mech.Authenticate(context.Background(), cfg.Brokers[0])
	if err != nil {
		t.Fatal(err)
	}
	var msg map[string]string
	if err := json.Unmarshal(first, &msg); err != nil {
		t.Fatalf("payload %s: %v", first, err)
	}
	if msg["action"] != "kafka-cluster:Connect" || !strings.HasPrefix(msg["x-amz-credential"], "AKIAFLOETESTKEY/") ||
		!strings.Contains(msg["x-amz-credential"], "/eu-west-1/kafka-cluster/") ||
		msg["x-amz-security-token"] != "floe-test-token" || msg["x-amz-signature"] == "" {
		t.Errorf("MSK IAM payload = %v", msg)
	}
	if strings.Contains(string(first), "floe-test-secret") {
		t.Error("the payload carries the secret key")
	}
}

func TestKafkaSASLNeverLogsPassword(t *testing.T) {
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "sasl", KafkaSASL{Mechanism: SASLScramSHA512, Username: "u", Password: "hunter2-secret"})
	if strings.Contains(b.String(), "hunter2") || !strings.Contains(b.String(), "SCRAM-SHA-512") {
		t.Errorf("logged %q", b.String())
	}
}

func TestKafkaTLSConfig(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	writeTestCA(t, ca)
	tc, err := (&KafkaTLS{CAFile: ca, ServerName: "broker"}).config()
	if err != nil || tc.RootCAs == nil || tc.ServerName != "broker" || tc.InsecureSkipVerify {
		t.Fatalf("tls config %+v, %v", tc, err)
	}
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("not pem"), 0o644)
	for _, c := range []struct {
		t    KafkaTLS
		want string
	}{
		{KafkaTLS{CAFile: filepath.Join(dir, "missing.pem")}, "ca_file"},
		{KafkaTLS{CAFile: bad}, "no PEM certificate"},
		{KafkaTLS{CertFile: ca}, "cert_file and key_file"},
		{KafkaTLS{CertFile: ca, KeyFile: bad}, "cert_file, key_file"},
	} {
		if _, err := c.t.config(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.t, err, c.want)
		}
	}
}

func writeTestCA(tb testing.TB, path string) {
	tb.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		tb.Fatal(fmt.Errorf("write CA: %w", err))
	}
}
