package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigLayers(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "floe.yaml")
	os.WriteFile(file, []byte("data: /from/file\npg_addr: 127.0.0.1:6000\ningest:\n  commit_interval: 2s\n"), 0o644)
	t.Setenv("FLOE_PG_ADDR", "127.0.0.1:7000")
	t.Setenv("FLOE_HTTP_ADDR", "127.0.0.1:7001")
	cfg, rest, err := parseConfig("serve", []string{"--config", file, "--http-addr", "127.0.0.1:9000", "extra"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Data != "/from/file" || cfg.PGAddr != "127.0.0.1:7000" || cfg.HTTPAddr != "127.0.0.1:9000" ||
		cfg.Ingest.CommitInterval != 2*time.Second || len(rest) != 1 {
		t.Fatalf("layered config wrong: %+v rest %v", cfg, rest)
	}
}

func TestInvalidConfigNamesTheField(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		yaml, env, field string
	}{
		{yaml: "pg_addr: nope\n", field: "pg_addr"},
		{yaml: "http_addr: 127.0.0.1:99999\n", field: "http_addr"},
		{yaml: "log_level: loud\n", field: "log_level"},
		{yaml: "ingest:\n  commit_interval: 1ms\n", field: "ingest.commit_interval"},
		{yaml: "ingest:\n  max_body_bytes: -1\n", field: "ingest.max_body_bytes"},
		{yaml: "tls:\n  cert: /x.crt\n", field: "tls"},
		{yaml: "no_such_key: 1\n", field: "no_such_key"},
		{yaml: "duckdb:\n  threads: many\n", field: "threads"},
		{env: "FLOE_COMMIT_INTERVAL=soon", field: "FLOE_COMMIT_INTERVAL"},
		{env: "FLOE_TLS_REQUIRE=perhaps", field: "FLOE_TLS_REQUIRE"},
	}
	for _, c := range cases {
		t.Run(c.field, func(t *testing.T) {
			args := []string{}
			if c.yaml != "" {
				file := filepath.Join(dir, c.field+".yaml")
				os.WriteFile(file, []byte(c.yaml), 0o644)
				args = append(args, "--config", file)
			}
			if c.env != "" {
				k, v, _ := strings.Cut(c.env, "=")
				t.Setenv(k, v)
			}
			_, _, err := parseConfig("serve", args)
			if err == nil {
				t.Fatal("invalid configuration accepted")
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Fatalf("error %q does not name %s", err, c.field)
			}
		})
	}
}

func TestSQLCommandPrintsTable(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	err := run([]string{"sql", "--data", dir, "SELECT 1 AS one, 'x' AS letter"}, strings.NewReader(""), &out, &errOut)
	if err != nil {
		t.Fatal(err)
	}
	want := " one | letter\n-----+--------\n 1   | x\n(1 row)\n"
	if out.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", out.String(), want)
	}
	err = run([]string{"sql", "--data", dir, "SELECT * FROM read_parquet('/etc/passwd')"}, strings.NewReader(""), &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "42501") {
		t.Fatalf("refused statement: %v", err)
	}
}

func TestUserPasswd(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run([]string{"user", "passwd", "--data", dir, "alice"}, strings.NewReader("correct horse\n"), &out, &out); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "users.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "correct horse") || !strings.Contains(string(raw), "SCRAM-SHA-256$") {
		t.Fatalf("users.json must hold only a verifier: %s", raw)
	}
	if err := run([]string{"user", "passwd", "--data", dir, "alice"}, strings.NewReader("short\n"), &out, &out); err == nil {
		t.Fatal("short password accepted")
	}
}

func TestKafkaConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, yaml string) string {
		file := filepath.Join(dir, name+".yaml")
		os.WriteFile(file, []byte(yaml), 0o644)
		return file
	}
	ok := write("ok", "ingest:\n  kafka:\n    brokers: [\"127.0.0.1:9092\"]\n    streams:\n      - topic: vitals\n        table: clinical.vitals\n")
	cfg, _, err := parseConfig("serve", []string{"--config", ok})
	if err != nil {
		t.Fatal(err)
	}
	k := cfg.Ingest.Kafka
	if k == nil || k.Group != "floe" || k.Streams[0].Format != "json" || k.Streams[0].CommitInterval != time.Second ||
		k.Streams[0].StartFrom != "earliest" {
		t.Fatalf("defaults not filled: %+v", k)
	}

	const head = "ingest:\n  kafka:\n    brokers: [\"127.0.0.1:9092\"]\n"
	dbz := write("dbz", head+"    streams: [{topic: a, table: n.t, format: debezium-json, key: [id, Tenant]}]\n")
	if cfg, _, err := parseConfig("serve", []string{"--config", dbz}); err != nil || fmt.Sprint(cfg.Ingest.Kafka.Streams[0].Key) != "[id Tenant]" {
		t.Fatalf("debezium-json with a key: %v", err)
	}
	cases := []struct{ yaml, field string }{
		{"ingest:\n  kafka:\n    streams: [{topic: a, table: n.t}]\n", "ingest.kafka.brokers"},
		{"ingest:\n  kafka:\n    brokers: [nope]\n    streams: [{topic: a, table: n.t}]\n", "ingest.kafka.brokers[0]"},
		{head, "ingest.kafka.streams"},
		{head + "    streams: [{table: n.t}]\n", "ingest.kafka.streams[0].topic"},
		{head + "    streams: [{topic: a, table: t}]\n", "ingest.kafka.streams[0].table"},
		{head + "    streams: [{topic: a, table: n.t}, {topic: a, table: n.u}]\n", "ingest.kafka.streams[1].topic"},
		{head + "    streams: [{topic: a, table: n.t, format: protobuf}]\n", "ingest.kafka.streams[0].format"},
		{head + "    streams: [{topic: a, table: n.t, format: avro}]\n", "ingest.kafka.streams[0].schema_registry"},
		{head + "    streams: [{topic: a, table: n.t, format: avro, schema_registry: {url: 'ftp://u:secret@h'}}]\n", "ingest.kafka.streams[0].schema_registry.url"},
		{head + "    streams: [{topic: a, table: n.t, start_from: middle}]\n", "ingest.kafka.streams[0].start_from"},
		{head + "    streams: [{topic: a, table: n.t, commit_interval: 1ms}]\n", "ingest.kafka.streams[0].commit_interval"},
		{head + "    streams: [{topic: a, table: n.t, partition_by: [site, \"day(ts\"]}]\n", "ingest.kafka.streams[0].partition_by[1]"},
		{head + "    streams: [{topic: a, table: n.t, partition_by: [\"bucket[0](id)\"]}]\n", "ingest.kafka.streams[0].partition_by[0]"},
		{head + "    streams: [{topic: a, table: n.t, target_file_size: 12XB}]\n", "ingest.kafka.streams[0].target_file_size"},
		{head + "    streams: [{topic: a, table: n.t, target_file_size: 128}]\n", "ingest.kafka.streams[0].target_file_size"},
		{head + "    streams: [{topic: a, table: n.t, schema_evolution: maybe}]\n", "cannot unmarshal !!str `maybe` into bool"},
		{head + "    streams: [{topic: a, table: n.t, key: [id]}]\n", "ingest.kafka.streams[0].key: applies to format debezium-json only"},
		{head + "    streams: [{topic: a, table: n.t, format: debezium-json, key: [id, a.b]}]\n", "ingest.kafka.streams[0].key[1]"},
	}
	for i, c := range cases {
		t.Run(c.field, func(t *testing.T) {
			_, _, err := parseConfig("serve", []string{"--config", write(fmt.Sprint("bad", i), c.yaml)})
			if err == nil || !strings.Contains(err.Error(), c.field) {
				t.Fatalf("error %v does not name %s", err, c.field)
			}
		})
	}
}

func TestKafkaStreamsNeedInsert(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "policy", "policies"), 0o755)
	os.WriteFile(filepath.Join(dir, "policy", "principals.json"), []byte(`{"users": {"kafka-svc": {"policies": ["ingest"]}}}`), 0o644)
	os.WriteFile(filepath.Join(dir, "policy", "policies", "ingest.json"), []byte(`{"Version": "2012-10-17", "Statement": [
		{"Effect": "Allow", "Action": "floe:Insert", "Resource": "arn:floe:table/clinical/vitals"}]}`), 0o644)
	cfg := defaultConfig()
	cfg.Data = dir
	cfg.Ingest.Kafka = &kafkaConfig{Principal: "kafka-svc", Streams: []kafkaStream{{Topic: "v", Table: "clinical.vitals"}}}
	if err := checkKafkaInsert(cfg); err != nil {
		t.Fatalf("allowed stream refused: %v", err)
	}
	cfg.Ingest.Kafka.Streams = append(cfg.Ingest.Kafka.Streams, kafkaStream{Topic: "l", Table: "clinical.labs"})
	err := checkKafkaInsert(cfg)
	if err == nil || !strings.Contains(err.Error(), "streams[1]") || !strings.Contains(err.Error(), "clinical.labs") {
		t.Fatalf("denied stream: %v, want an error naming streams[1] and clinical.labs", err)
	}
	// Without a principal the streams write as the admin, allowed by default.
	cfg.Ingest.Kafka.Principal = ""
	if err := checkKafkaInsert(cfg); err != nil {
		t.Fatalf("admin refused: %v", err)
	}
}

// floe policy honours the configured policy directory, not only --policy-dir.
func TestPolicyCommandUsesConfiguredDir(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "policies"), 0o755)
	os.WriteFile(filepath.Join(dir, "policies", "bad.json"), []byte(`{"Version": "1999-01-01", "Statement": []}`), 0o644)
	t.Setenv("FLOE_POLICY_DIR", dir)
	var out bytes.Buffer
	err := run([]string{"policy", "check", "--data", t.TempDir()}, strings.NewReader(""), &out, &out)
	if err == nil || !strings.Contains(err.Error()+out.String(), "bad.json") {
		t.Fatalf("policy check with FLOE_POLICY_DIR: %v %s", err, out.String())
	}
}

func TestMaintainFlags(t *testing.T) {
	table, dry, rest, err := maintainFlags([]string{"--data", "/d", "--table", "ns.t", "--dry-run", "--config=/c.yaml"})
	if err != nil || table != "ns.t" || !dry || strings.Join(rest, " ") != "--data /d --config=/c.yaml" {
		t.Fatalf("got %q %v %q %v", table, dry, rest, err)
	}
	if table, dry, _, err = maintainFlags([]string{"-table=a.b", "--dry-run=false"}); err != nil || table != "a.b" || dry {
		t.Fatalf("got %q %v %v", table, dry, err)
	}
	if _, _, _, err := maintainFlags([]string{"--table"}); err == nil {
		t.Fatal("--table without a value accepted")
	}
	if _, _, _, err := maintainFlags([]string{"--dry-run=maybe"}); err == nil {
		t.Fatal("--dry-run=maybe accepted")
	}
}

func TestMaintenanceConfig(t *testing.T) {
	t.Setenv("FLOE_MAINTENANCE_INTERVAL", "2s")
	t.Setenv("FLOE_MIN_SNAPSHOTS", "3")
	t.Setenv("FLOE_MAINTENANCE_ENABLED", "false")
	cfg, err := layeredConfig("", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mc, err := cfg.Maintenance.maintainConfig()
	if err != nil || mc.Interval != 2*time.Second || mc.MinSnapshots != 3 || !mc.Disabled {
		t.Fatalf("%+v %v", mc, err)
	}
	for env, want := range map[string]string{
		"FLOE_ORPHAN_GRACE":                 "config: maintenance.orphan_grace",
		"FLOE_SNAPSHOT_MAX_AGE":             "config: maintenance.snapshot_max_age",
		"FLOE_MAINTENANCE_TARGET_FILE_SIZE": "config: maintenance.target_file_size",
	} {
		t.Run(env, func(t *testing.T) {
			bad := map[string]string{"FLOE_ORPHAN_GRACE": "10ms", "FLOE_SNAPSHOT_MAX_AGE": "-1s", "FLOE_MAINTENANCE_TARGET_FILE_SIZE": "lots"}[env]
			t.Setenv(env, bad)
			cfg, err := layeredConfig("", t.TempDir())
			if err == nil {
				err = cfg.validate()
			}
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("%s=%s: %v, want an error naming %s", env, bad, err, want)
			}
		})
	}
}
