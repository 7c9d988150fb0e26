package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/floe-dev/floe/ingest"
)

// The ingest.kafka section's connection settings (tls, sasl) and the
// choice of topic or topic_regex per stream: validated here, handed to
// ingest as plain structs.

// kafkaTLS is ingest.kafka.tls.
type kafkaTLS struct {
	Enabled            bool   `yaml:"enabled"`
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// kafkaSASL is ingest.kafka.sasl. The password comes from exactly one of
// password, password_env (the name of an environment variable) and
// password_file; it is never logged.
type kafkaSASL struct {
	Mechanism    string `yaml:"mechanism"`
	Username     string `yaml:"username"`
	Password     string `yaml:"password"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	// Region and Profile for AWS_MSK_IAM (credentials: the AWS SDK's
	// default chain).
	Region  string `yaml:"region"`
	Profile string `yaml:"profile"`

	secret string // the password, resolved by validate
}

func (t *kafkaTLS) validate() error {
	if t == nil {
		return nil
	}
	const field = "config: ingest.kafka.tls"
	set := t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.ServerName != "" || t.InsecureSkipVerify
	if !t.Enabled {
		if set {
			return fmt.Errorf("%s.enabled: must be true when other tls fields are set", field)
		}
		return nil
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return fmt.Errorf("%s.cert_file, key_file: must be set together", field)
	}
	for name, path := range map[string]string{"ca_file": t.CAFile, "cert_file": t.CertFile, "key_file": t.KeyFile} {
		if path == "" {
			continue
		}
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("%s.%s: %w", field, name, err)
		}
	}
	return nil
}

func (s *kafkaSASL) validate() error {
	if s == nil {
		return nil
	}
	const field = "config: ingest.kafka.sasl"
	s.Mechanism = strings.ToUpper(s.Mechanism)
	switch s.Mechanism {
	case ingest.SASLPlain, ingest.SASLScramSHA256, ingest.SASLScramSHA512:
		if s.Username == "" {
			return fmt.Errorf("%s.username: must not be empty for %s", field, s.Mechanism)
		}
		if s.Region != "" || s.Profile != "" {
			return fmt.Errorf("%s.region, profile: only for %s", field, ingest.SASLAWSMSKIAM)
		}
		return s.resolvePassword(field)
	case ingest.SASLAWSMSKIAM:
		if s.Username != "" || s.Password != "" || s.PasswordEnv != "" || s.PasswordFile != "" {
			return fmt.Errorf("%s: %s takes its credentials from the AWS SDK's default chain; "+
				"username and password fields must not be set", field, ingest.SASLAWSMSKIAM)
		}
		return nil
	case "":
		return fmt.Errorf("%s.mechanism: must be set", field)
	}
	return fmt.Errorf("%s.mechanism: %q is not one of %s, %s, %s, %s", field, s.Mechanism,
		ingest.SASLPlain, ingest.SASLScramSHA256, ingest.SASLScramSHA512, ingest.SASLAWSMSKIAM)
}

// resolvePassword reads the password from its one source.
func (s *kafkaSASL) resolvePassword(field string) error {
	n := 0
	for _, v := range []string{s.Password, s.PasswordEnv, s.PasswordFile} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("%s.password: set exactly one of password, password_env and password_file", field)
	}
	switch {
	case s.Password != "":
		s.secret = s.Password
	case s.PasswordEnv != "":
		v, ok := os.LookupEnv(s.PasswordEnv)
		if !ok || v == "" {
			return fmt.Errorf("%s.password_env: environment variable %s is not set", field, s.PasswordEnv)
		}
		s.secret = v
	default:
		raw, err := os.ReadFile(s.PasswordFile)
		if err != nil {
			return fmt.Errorf("%s.password_file: %w", field, err)
		}
		s.secret = strings.TrimRight(string(raw), "\r\n")
		if s.secret == "" {
			return fmt.Errorf("%s.password_file: %s is empty", field, s.PasswordFile)
		}
	}
	return nil
}

// validateTopic checks a stream's topic or topic_regex; topics maps the
// exact topics of earlier streams to their index.
func (s *kafkaStream) validateTopic(field string, topics map[string]int, i int) error {
	switch {
	case s.Topic == "" && s.TopicRegex == "":
		return fmt.Errorf("%s.topic: one of topic and topic_regex must be set", field)
	case s.Topic != "" && s.TopicRegex != "":
		return fmt.Errorf("%s.topic_regex: topic and topic_regex are exclusive", field)
	case s.TopicRegex != "":
		if _, err := regexp.Compile(s.TopicRegex); err != nil {
			return fmt.Errorf("%s.topic_regex: %w", field, err)
		}
		return nil
	}
	if j, ok := topics[s.Topic]; ok {
		return fmt.Errorf("%s.topic: %q is consumed by streams[%d] already", field, s.Topic, j)
	}
	topics[s.Topic] = i
	return nil
}

// ingestTLS and ingestSASL convert the validated sections (nil: none).
func (t *kafkaTLS) ingest() *ingest.KafkaTLS {
	if t == nil || !t.Enabled {
		return nil
	}
	return &ingest.KafkaTLS{CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile,
		ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
}

func (s *kafkaSASL) ingest() (*ingest.KafkaSASL, error) {
	if s == nil {
		return nil, nil
	}
	if s.secret == "" && s.Mechanism != ingest.SASLAWSMSKIAM {
		return nil, errors.New("config: ingest.kafka.sasl: not validated")
	}
	return &ingest.KafkaSASL{Mechanism: s.Mechanism, Username: s.Username, Password: s.secret,
		AWSRegion: s.Region, AWSProfile: s.Profile}, nil
}
