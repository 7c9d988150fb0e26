package ingest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/aws"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Connecting to the brokers: TLS and SASL. cmd/floe validates the
// configuration and resolves the password (from the file, an environment
// variable or the value itself); this file turns it into franz-go options.

// SASL mechanisms of KafkaSASL.Mechanism.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
	SASLAWSMSKIAM   = "AWS_MSK_IAM"
)

// KafkaTLS makes the client speak TLS to the brokers.
type KafkaTLS struct {
	// CAFile is a PEM bundle of the CAs to trust ("": the system's).
	CAFile string
	// CertFile and KeyFile, together, are a client certificate (mutual TLS).
	CertFile, KeyFile string
	// ServerName overrides the name checked in the brokers' certificates
	// (default: the host of the address dialled).
	ServerName string
	// InsecureSkipVerify accepts any broker certificate. Tests only.
	InsecureSkipVerify bool
}

// KafkaSASL authenticates the client to the brokers.
type KafkaSASL struct {
	Mechanism string // SASLPlain, SASLScramSHA256, SASLScramSHA512 or SASLAWSMSKIAM
	// Username and Password for PLAIN and SCRAM. The password is never
	// logged (LogValue leaves it out).
	Username, Password string
	// AWSRegion and AWSProfile for AWS_MSK_IAM, whose credentials come from
	// the AWS SDK's default chain (environment, shared files with the
	// profile, web identity, container and instance roles).
	AWSRegion, AWSProfile string
}

// LogValue names the mechanism and user, never the password.
func (s KafkaSASL) LogValue() slog.Value {
	return slog.GroupValue(slog.String("mechanism", s.Mechanism), slog.String("username", s.Username))
}

// connOpts returns the client options for TLS and SASL (none when neither
// is configured).
func (cfg *KafkaConfig) connOpts(ctx context.Context) ([]kgo.Opt, error) {
	var opts []kgo.Opt
	if cfg.TLS != nil {
		tc, err := cfg.TLS.config()
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if cfg.SASL != nil {
		m, err := cfg.SASL.mechanism(ctx)
		if err != nil {
			return nil, fmt.Errorf("sasl: %w", err)
		}
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

func (t *KafkaTLS) config() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate in it", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("cert_file and key_file must be set together")
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cert_file, key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// mechanism builds the franz-go SASL mechanism. For AWS_MSK_IAM it loads
// the AWS SDK's default configuration once; each connection then asks its
// credentials cache, which refreshes expiring credentials.
func (s *KafkaSASL) mechanism(ctx context.Context) (sasl.Mechanism, error) {
	switch s.Mechanism {
	case SASLPlain:
		return plain.Auth{User: s.Username, Pass: s.Password}.AsMechanism(), nil
	case SASLScramSHA256:
		return scram.Auth{User: s.Username, Pass: s.Password}.AsSha256Mechanism(), nil
	case SASLScramSHA512:
		return scram.Auth{User: s.Username, Pass: s.Password}.AsSha512Mechanism(), nil
	case SASLAWSMSKIAM:
		var lo []func(*awsconfig.LoadOptions) error
		if s.AWSRegion != "" {
			lo = append(lo, awsconfig.WithRegion(s.AWSRegion))
		}
		if s.AWSProfile != "" {
			lo = append(lo, awsconfig.WithSharedConfigProfile(s.AWSProfile))
		}
		ac, err := awsconfig.LoadDefaultConfig(ctx, lo...)
		if err != nil {
			return nil, fmt.Errorf("AWS_MSK_IAM: AWS configuration: %w", err)
		}
		return aws.ManagedStreamingIAM(func(ctx context.Context) (aws.Auth, error) {
			c, err := ac.Credentials.Retrieve(ctx)
			if err != nil {
				return aws.Auth{}, fmt.Errorf("AWS_MSK_IAM: credentials: %w", err)
			}
			return aws.Auth{AccessKey: c.AccessKeyID, SecretKey: c.SecretAccessKey, SessionToken: c.SessionToken}, nil
		}), nil
	}
	return nil, fmt.Errorf("mechanism %q is not one of %s, %s, %s, %s", s.Mechanism, SASLPlain, SASLScramSHA256, SASLScramSHA512, SASLAWSMSKIAM)
}

// ErrKafkaAuth marks a connection the brokers refused for its credentials
// or certificates: a configuration error that retrying cannot mend.
var ErrKafkaAuth = errors.New("kafka: authentication failed")

// checkAuth asks a broker for metadata. A SASL or TLS verification failure
// is returned wrapped in ErrKafkaAuth, naming the mechanism and user; any
// other failure (a broker not up yet) is only logged: the client retries.
func (k *Kafka) checkAuth(ctx context.Context, cl *kgo.Client) error {
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := cl.Ping(pctx)
	if err == nil {
		return nil
	}
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.Is(err, kerr.SaslAuthenticationFailed), errors.Is(err, kerr.IllegalSaslState),
		errors.Is(err, kerr.UnsupportedSaslMechanism):
		s := k.cfg.SASL
		if s == nil {
			return fmt.Errorf("%w: SASL authentication: %v", ErrKafkaAuth, err)
		}
		return fmt.Errorf("%w: SASL authentication (%s as %q) refused by the brokers: %v", ErrKafkaAuth, s.Mechanism, s.Username, err)
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid), errors.As(err, &verify):
		return fmt.Errorf("%w: TLS: the brokers' certificate is not trusted: %v", ErrKafkaAuth, err)
	}
	k.log.Warn("kafka: brokers not reachable yet; retrying", "brokers", k.cfg.Brokers, "err", err)
	return nil
}
