package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/floe-dev/floe/ingest"
	"gopkg.in/yaml.v3"
)

// Config is floe's configuration: defaults, then the YAML file, then FLOE_*
// environment variables, then command-line flags.
type Config struct {
	Data     string `yaml:"data"`
	PGAddr   string `yaml:"pg_addr"`
	HTTPAddr string `yaml:"http_addr"`
	LogLevel string `yaml:"log_level"`
	TLS      struct {
		Cert    string `yaml:"cert"`
		Key     string `yaml:"key"`
		Require bool   `yaml:"require"`
	} `yaml:"tls"`
	Ingest struct {
		CommitInterval time.Duration `yaml:"commit_interval"`
		MaxBodyBytes   int64         `yaml:"max_body_bytes"`
		Kafka          *kafkaConfig  `yaml:"kafka"`
	} `yaml:"ingest"`
	DuckDB struct {
		Threads     int    `yaml:"threads"`
		MemoryLimit string `yaml:"memory_limit"`
	} `yaml:"duckdb"`
	Admin struct {
		User string `yaml:"user"`
	} `yaml:"admin"`
	// PolicyDir is the central policy's directory (default DATA/policy).
	PolicyDir string `yaml:"policy_dir"`
	// Maintenance is table maintenance (maintain.go).
	Maintenance maintenanceConfig `yaml:"maintenance"`
}

// kafkaConfig is the ingest.kafka section: topics consumed in one consumer
// group into Iceberg tables, exactly once.
type kafkaConfig struct {
	Brokers        []string      `yaml:"brokers"`
	Group          string        `yaml:"group"`
	InstanceID     string        `yaml:"instance_id"`
	SessionTimeout time.Duration `yaml:"session_timeout"`
	MaxRecordBytes int           `yaml:"max_record_bytes"`
	// TLS and SASL secure the connections to the brokers (kafka_auth.go).
	TLS  *kafkaTLS  `yaml:"tls"`
	SASL *kafkaSASL `yaml:"sasl"`
	// MetadataMaxAge bounds how soon a new topic matching a topic_regex is
	// consumed (default 5m).
	MetadataMaxAge time.Duration `yaml:"metadata_max_age"`
	// SchemaRegistry is the schema registry of the avro streams that name
	// none of their own.
	SchemaRegistry *schemaRegistry `yaml:"schema_registry"`
	Streams        []kafkaStream   `yaml:"streams"`
	// Principal is the service principal the streams write as; it needs
	// floe:Insert on every stream's table (default: the admin user).
	Principal string `yaml:"principal"`
}

type kafkaStream struct {
	Topic          string        `yaml:"topic"`
	TopicRegex     string        `yaml:"topic_regex"` // instead of topic
	Table          string        `yaml:"table"`
	Format         string        `yaml:"format"`
	Key            []string      `yaml:"key"` // debezium-json: the columns identifying a row (default: the record keys' fields)
	CommitInterval time.Duration `yaml:"commit_interval"`
	StartFrom      string        `yaml:"start_from"`
	// Table layout and schema (layout.go).
	PartitionBy     []string `yaml:"partition_by"`
	TargetFileSize  string   `yaml:"target_file_size"` // 128MB, 1GiB, bytes
	SchemaEvolution *bool    `yaml:"schema_evolution"` // default true
	targetFileSize  int64    // TargetFileSize in bytes, set by validate
	// SchemaRegistry serves the writer schemas of format avro (default:
	// ingest.kafka.schema_registry).
	SchemaRegistry *schemaRegistry `yaml:"schema_registry"`
}

// schemaRegistry locates a Confluent-compatible schema registry.
type schemaRegistry struct {
	URL      string `yaml:"url"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

// ingest returns the registry as the ingest package takes it (zero: none).
func (r *schemaRegistry) ingest() ingest.RegistryConfig {
	if r == nil {
		return ingest.RegistryConfig{}
	}
	return ingest.RegistryConfig{URL: r.URL, Username: r.Username, Password: r.Password}
}

func defaultConfig() Config {
	var c Config
	c.Data = "./floe-data"
	c.PGAddr = "127.0.0.1:5433"
	c.HTTPAddr = "127.0.0.1:8080"
	c.LogLevel = "info"
	c.Ingest.CommitInterval = time.Second
	c.Ingest.MaxBodyBytes = 64 << 20
	c.Admin.User = "admin"
	return c
}

// loadConfigFile merges a YAML file into c. Unknown fields are errors.
func loadConfigFile(c *Config, path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

// envVars maps FLOE_* variables to setters; the error names the variable.
var envVars = map[string]func(c *Config, v string) error{
	"FLOE_DATA":            func(c *Config, v string) error { c.Data = v; return nil },
	"FLOE_PG_ADDR":         func(c *Config, v string) error { c.PGAddr = v; return nil },
	"FLOE_HTTP_ADDR":       func(c *Config, v string) error { c.HTTPAddr = v; return nil },
	"FLOE_LOG_LEVEL":       func(c *Config, v string) error { c.LogLevel = v; return nil },
	"FLOE_TLS_CERT":        func(c *Config, v string) error { c.TLS.Cert = v; return nil },
	"FLOE_TLS_KEY":         func(c *Config, v string) error { c.TLS.Key = v; return nil },
	"FLOE_TLS_REQUIRE":     func(c *Config, v string) (err error) { c.TLS.Require, err = strconv.ParseBool(v); return },
	"FLOE_COMMIT_INTERVAL": func(c *Config, v string) (err error) { c.Ingest.CommitInterval, err = time.ParseDuration(v); return },
	"FLOE_MAX_BODY_BYTES": func(c *Config, v string) (err error) {
		c.Ingest.MaxBodyBytes, err = strconv.ParseInt(v, 10, 64)
		return
	},
	"FLOE_DUCKDB_THREADS":      func(c *Config, v string) (err error) { c.DuckDB.Threads, err = strconv.Atoi(v); return },
	"FLOE_DUCKDB_MEMORY_LIMIT": func(c *Config, v string) error { c.DuckDB.MemoryLimit = v; return nil },
	"FLOE_ADMIN_USER":          func(c *Config, v string) error { c.Admin.User = v; return nil },
	"FLOE_POLICY_DIR":          func(c *Config, v string) error { c.PolicyDir = v; return nil },
}

func applyEnv(c *Config) error {
	for name, set := range envVars {
		if v, ok := os.LookupEnv(name); ok {
			if err := set(c, v); err != nil {
				return fmt.Errorf("config: %s=%q: %w", name, v, err)
			}
		}
	}
	return nil
}

// validate checks every field and names the one that is wrong.
func (c *Config) validate() error {
	if c.Data == "" {
		return errors.New("config: data: must not be empty")
	}
	for name, addr := range map[string]string{"pg_addr": c.PGAddr, "http_addr": c.HTTPAddr} {
		if _, port, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("config: %s: %q is not HOST:PORT", name, addr)
		} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			return fmt.Errorf("config: %s: %q has no valid port", name, addr)
		}
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: log_level: %q is not one of debug, info, warn, error", c.LogLevel)
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		return errors.New("config: tls: cert and key must be set together")
	}
	if c.Ingest.CommitInterval < 10*time.Millisecond || c.Ingest.CommitInterval > time.Hour {
		return fmt.Errorf("config: ingest.commit_interval: %s is outside 10ms..1h", c.Ingest.CommitInterval)
	}
	if c.Ingest.MaxBodyBytes <= 0 {
		return fmt.Errorf("config: ingest.max_body_bytes: %d must be positive", c.Ingest.MaxBodyBytes)
	}
	if err := c.Ingest.Kafka.validate(); err != nil {
		return err
	}
	if c.DuckDB.Threads < 0 {
		return fmt.Errorf("config: duckdb.threads: %d must not be negative", c.DuckDB.Threads)
	}
	if c.Admin.User == "" {
		return errors.New("config: admin.user: must not be empty")
	}
	if _, err := c.Maintenance.maintainConfig(); err != nil {
		return err
	}
	return nil
}

// validate checks the ingest.kafka section (nil: no Kafka ingest) and fills
// its defaults.
func (k *kafkaConfig) validate() error {
	if k == nil {
		return nil
	}
	if len(k.Brokers) == 0 {
		return errors.New("config: ingest.kafka.brokers: must name at least one HOST:PORT")
	}
	for i, b := range k.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return fmt.Errorf("config: ingest.kafka.brokers[%d]: %q is not HOST:PORT", i, b)
		}
	}
	if k.Group == "" {
		k.Group = "floe"
	}
	if k.SessionTimeout < 0 {
		return fmt.Errorf("config: ingest.kafka.session_timeout: %s must not be negative", k.SessionTimeout)
	}
	if k.MaxRecordBytes < 0 {
		return fmt.Errorf("config: ingest.kafka.max_record_bytes: %d must not be negative", k.MaxRecordBytes)
	}
	if k.MetadataMaxAge < 0 {
		return fmt.Errorf("config: ingest.kafka.metadata_max_age: %s must not be negative", k.MetadataMaxAge)
	}
	if err := k.TLS.validate(); err != nil {
		return err
	}
	if err := k.SASL.validate(); err != nil {
		return err
	}
	if len(k.Streams) == 0 {
		return errors.New("config: ingest.kafka.streams: must hold at least one stream")
	}
	topics := map[string]int{}
	for i := range k.Streams {
		s := &k.Streams[i]
		field := fmt.Sprintf("config: ingest.kafka.streams[%d]", i)
		if err := s.validateTopic(field, topics, i); err != nil {
			return err
		}
		ns, tbl, ok := strings.Cut(s.Table, ".")
		if !ok || !validIdent(ns) || !validIdent(tbl) {
			return fmt.Errorf("%s.table: %q is not NAMESPACE.TABLE (each [a-z_][a-z0-9_]*)", field, s.Table)
		}
		if s.Format == "" {
			s.Format = "json"
		}
		switch s.Format {
		case "json":
		case "avro":
			if s.SchemaRegistry == nil {
				s.SchemaRegistry = k.SchemaRegistry
			}
			if s.SchemaRegistry == nil || s.SchemaRegistry.URL == "" {
				return fmt.Errorf("%s.schema_registry: format avro needs a schema registry url (here or in ingest.kafka.schema_registry)", field)
			}
			if u, err := url.Parse(s.SchemaRegistry.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				// The URL may carry credentials: it is not echoed.
				return fmt.Errorf("%s.schema_registry.url: not an http or https URL", field)
			}
		case "debezium-json":
			for j, k := range s.Key {
				if k == "" || strings.Contains(k, ".") {
					return fmt.Errorf("%s.key[%d]: %q is not a top-level column name", field, j, k)
				}
			}
		default:
			return fmt.Errorf("%s.format: %q is not supported (json, avro, debezium-json)", field, s.Format)
		}
		if len(s.Key) > 0 && s.Format != "debezium-json" {
			return fmt.Errorf("%s.key: applies to format debezium-json only", field)
		}
		if s.CommitInterval == 0 {
			s.CommitInterval = time.Second
		}
		if s.CommitInterval < 10*time.Millisecond || s.CommitInterval > time.Hour {
			return fmt.Errorf("%s.commit_interval: %s is outside 10ms..1h", field, s.CommitInterval)
		}
		if s.StartFrom == "" {
			s.StartFrom = "earliest"
		}
		if s.StartFrom != "earliest" && s.StartFrom != "latest" {
			return fmt.Errorf("%s.start_from: %q is not earliest or latest", field, s.StartFrom)
		}
		if err := s.validateLayout(field); err != nil {
			return err
		}
	}
	return nil
}

func validIdent(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || (c >= 'a' && c <= 'z') || (i > 0 && c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}

// policyDir is the policy directory in force.
func (c *Config) policyDir() string {
	if c.PolicyDir != "" {
		return c.PolicyDir
	}
	return filepath.Join(c.Data, "policy")
}
