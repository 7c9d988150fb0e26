package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseByteSize(t *testing.T) {
	good := map[string]int64{
		"128MB":   128_000_000,
		"64mb":    64_000_000,
		"1GiB":    1 << 30,
		"512 KiB": 512 << 10,
		"1.5GB":   1_500_000_000,
		"1048576": 1 << 20,
		"100B":    100,
		" 2TiB ":  2 << 40,
	}
	for in, want := range good {
		if got, err := parseByteSize(in); err != nil || got != want {
			t.Errorf("%q = %d, %v; want %d", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":                        "not a size",
		"MB":                      "not a size",
		"12XB":                    `unknown unit "XB"`,
		"1.2.3M":                  `unknown unit "M"`,
		"1..2MB":                  "not a size",
		"-5MB":                    "must not be negative",
		"9e9TB":                   `unknown unit "e9TB"`,
		"99999999999999999999TiB": "too large",
	}
	for in, want := range bad {
		if _, err := parseByteSize(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", in, err, want)
		}
	}
}

// The layout fields reach the stream: sizes in bytes, schema_evolution
// defaulting to true.
func TestKafkaLayoutConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "floe.yaml")
	os.WriteFile(file, []byte(`ingest:
  kafka:
    brokers: ["127.0.0.1:9092"]
    streams:
      - topic: a
        table: n.a
        partition_by: ["day(recorded_at)", "site_id", "bucket[16](id)"]
        target_file_size: 64MiB
        schema_evolution: false
      - topic: b
        table: n.b
`), 0o644)
	cfg, _, err := parseConfig("serve", []string{"--config", file})
	if err != nil {
		t.Fatal(err)
	}
	a, b := cfg.Ingest.Kafka.Streams[0], cfg.Ingest.Kafka.Streams[1]
	if a.targetFileSize != 64<<20 || len(a.PartitionBy) != 3 || a.SchemaEvolution == nil || *a.SchemaEvolution {
		t.Errorf("stream a = %+v", a)
	}
	if b.targetFileSize != 0 || b.PartitionBy != nil || b.SchemaEvolution != nil {
		t.Errorf("stream b = %+v", b)
	}
}
