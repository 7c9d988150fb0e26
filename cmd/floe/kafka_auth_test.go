package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKafkaTLSAndSASLConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		file := filepath.Join(dir, name)
		os.WriteFile(file, []byte(content), 0o600)
		return file
	}
	ca := write("ca.pem", "x")
	pw := write("pw", "s3cret-from-file\n")
	const head = "ingest:\n  kafka:\n    brokers: [\"127.0.0.1:9093\"]\n    streams: [{topic: a, table: n.t}]\n"
	ok := write("ok.yaml", head+fmt.Sprintf("    tls: {enabled: true, ca_file: %s, server_name: kafka}\n"+
		"    sasl: {mechanism: scram-sha-512, username: floe, password_file: %s}\n", ca, pw))
	cfg, _, err := parseConfig("serve", []string{"--config", ok})
	if err != nil {
		t.Fatal(err)
	}
	k := cfg.Ingest.Kafka
	s, err := k.SASL.ingest()
	if err != nil || s.Mechanism != "SCRAM-SHA-512" || s.Username != "floe" || s.Password != "s3cret-from-file" {
		t.Fatalf("sasl = %+v, %v", s, err)
	}
	if tl := k.TLS.ingest(); tl == nil || tl.CAFile != ca || tl.ServerName != "kafka" {
		t.Fatalf("tls = %+v", tl)
	}

	t.Setenv("FLOE_TEST_KAFKA_PW", "s3cret-from-env")
	env := write("env.yaml", head+"    sasl: {mechanism: PLAIN, username: floe, password_env: FLOE_TEST_KAFKA_PW}\n")
	cfg, _, err = parseConfig("serve", []string{"--config", env})
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := cfg.Ingest.Kafka.SASL.ingest(); s.Password != "s3cret-from-env" {
		t.Fatalf("password from the environment = %q", s.Password)
	}
	iam := write("iam.yaml", head+"    tls: {enabled: true}\n    sasl: {mechanism: AWS_MSK_IAM, region: eu-west-1, profile: msk}\n")
	cfg, _, err = parseConfig("serve", []string{"--config", iam})
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := cfg.Ingest.Kafka.SASL.ingest(); s.Mechanism != "AWS_MSK_IAM" || s.AWSRegion != "eu-west-1" || s.AWSProfile != "msk" {
		t.Fatalf("AWS_MSK_IAM = %+v", s)
	}

	cases := []struct{ yaml, field string }{
		{"    tls: {ca_file: " + ca + "}\n", "ingest.kafka.tls.enabled"},
		{"    tls: {enabled: true, ca_file: /nonexistent/ca.pem}\n", "ingest.kafka.tls.ca_file"},
		{"    tls: {enabled: true, cert_file: " + ca + "}\n", "ingest.kafka.tls.cert_file, key_file"},
		{"    sasl: {username: u, password: p}\n", "ingest.kafka.sasl.mechanism"},
		{"    sasl: {mechanism: GSSAPI, username: u, password: p}\n", "ingest.kafka.sasl.mechanism"},
		{"    sasl: {mechanism: SCRAM-SHA-256, password: p}\n", "ingest.kafka.sasl.username"},
		{"    sasl: {mechanism: SCRAM-SHA-256, username: u}\n", "ingest.kafka.sasl.password"},
		{"    sasl: {mechanism: SCRAM-SHA-256, username: u, password: p, password_file: " + pw + "}\n", "ingest.kafka.sasl.password"},
		{"    sasl: {mechanism: PLAIN, username: u, password_env: FLOE_TEST_UNSET_VAR}\n", "ingest.kafka.sasl.password_env"},
		{"    sasl: {mechanism: PLAIN, username: u, password_file: /nonexistent/pw}\n", "ingest.kafka.sasl.password_file"},
		{"    sasl: {mechanism: PLAIN, username: u, password_file: " + write("empty", "\n") + "}\n", "ingest.kafka.sasl.password_file"},
		{"    sasl: {mechanism: AWS_MSK_IAM, username: u}\n", "ingest.kafka.sasl"},
		{"    sasl: {mechanism: PLAIN, username: u, password: p, region: x}\n", "ingest.kafka.sasl.region"},
		{"    metadata_max_age: -1s\n", "ingest.kafka.metadata_max_age"},
	}
	for i, c := range cases {
		t.Run(c.field, func(t *testing.T) {
			_, _, err := parseConfig("serve", []string{"--config", write(fmt.Sprint("bad", i, ".yaml"), head+c.yaml)})
			if err == nil || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("error %v does not name %s", err, c.field)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error shows a password: %v", err)
			}
		})
	}
}

func TestKafkaTopicRegexConfig(t *testing.T) {
	dir := t.TempDir()
	const head = "ingest:\n  kafka:\n    brokers: [\"127.0.0.1:9092\"]\n"
	for i, c := range []struct{ yaml, want string }{
		{head + "    streams: [{topic_regex: '^vitals-', table: n.t}]\n", ""},
		{head + "    streams: [{topic: a, topic_regex: a, table: n.t}]\n", "ingest.kafka.streams[0].topic_regex"},
		{head + "    streams: [{topic_regex: '(', table: n.t}]\n", "ingest.kafka.streams[0].topic_regex"},
		{head + "    streams: [{table: n.t}]\n", "ingest.kafka.streams[0].topic"},
	} {
		file := filepath.Join(dir, fmt.Sprint(i, ".yaml"))
		os.WriteFile(file, []byte(c.yaml), 0o644)
		cfg, _, err := parseConfig("serve", []string{"--config", file})
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.yaml, err)
		case c.want == "" && cfg.Ingest.Kafka.Streams[0].TopicRegex != "^vitals-":
			t.Errorf("topic_regex not read: %+v", cfg.Ingest.Kafka.Streams[0])
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v does not name %s", c.yaml, err, c.want)
		}
	}
}
