package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/floe-dev/floe/authz"
	"github.com/floe-dev/floe/catalog"
	"github.com/floe-dev/floe/ingest"
)

// runIngest runs only the Kafka streams of cfg.Ingest.Kafka against the
// catalog in cfg.Data, for scaling ingest out: several processes in one
// consumer group share the partitions. Its HTTP address serves /metrics
// (the same registry and permission as floe serve's) and /healthz. The
// policy is reloaded as in floe serve: a stream whose table the service
// principal may no longer insert into pauses. Table maintenance runs as in
// floe serve (one maintainer per table across the processes of the data
// directory), audited to DATA/audit and floe_audit.queries. It stops on ctx
// (SIGINT, SIGTERM) after committing what it buffered.
func runIngest(ctx context.Context, cfg Config, stderr io.Writer) error {
	if cfg.Ingest.Kafka == nil {
		return errors.New("config: ingest.kafka: floe ingest needs a Kafka section")
	}
	log := newLogger(stderr, cfg.LogLevel)
	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	users, err := authz.OpenDirectory(filepath.Join(cfg.Data, "users.json"))
	if err != nil {
		return err
	}
	// The admin may read /metrics; a generated password goes to stderr
	// (floe ingest has no other output).
	if err := bootstrapAdmin(users, cfg.Admin.User, stderr); err != nil {
		return fmt.Errorf("bootstrap admin: %w", err)
	}
	policy, err := authz.OpenHolder(cfg.policyDir(), authz.Options{AdminUser: cfg.Admin.User}, log)
	if err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	cat, err := catalog.Open(ctx, catalog.Config{Dir: cfg.Data})
	if err != nil {
		return err
	}
	defer cat.Close()
	audit := authz.NewAuditLog(authz.AuditConfig{Dir: filepath.Join(cfg.Data, "audit"), Logger: log})
	auditIngest := ingest.New(cat, ingest.Config{Logger: log})
	if err := audit.Open(func(ctx context.Context, ndjson []byte) error {
		_, err := auditIngest.Push(ctx, "floe_audit", "queries", bytes.NewReader(ndjson))
		return err
	}); err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		audit.Close(ctx)
		auditIngest.Close(ctx)
	}()
	httpLn, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("http_addr: %w", err)
	}
	obs := newObserver()
	maint, err := newMaintainer(cfg, cat, obs, audit.Record, log)
	if err != nil {
		httpLn.Close()
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", users.BasicAuth(obs.metricsHandler(policy.Policy)))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}

	errc := make(chan error, 2)
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	polled := make(chan struct{})
	go func() { // reloads the policy until runCtx ends
		defer close(polled)
		policy.Run(runCtx)
	}()
	served := make(chan struct{})
	go func() {
		defer close(served)
		if cfg.TLS.Cert != "" {
			tlsConfig, err := loadTLS(cfg)
			if err != nil {
				errc <- err
				return
			}
			hs.TLSConfig = tlsConfig
			err = hs.ServeTLS(httpLn, "", "")
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("http: %w", err)
			}
			return
		}
		if err := hs.Serve(httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	}()
	log.Info("floe ingest: HTTP on "+httpLn.Addr().String()+" (GET /metrics, /healthz)", "http_addr", httpLn.Addr().String())
	maintained := make(chan struct{})
	go func() { // maintains the tables until runCtx ends
		defer close(maintained)
		maint.Run(runCtx)
	}()

	done := make(chan struct{})
	kctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	var runErr error
	if err := startKafka(kctx, cfg, cat, policy.Policy, obs, log, errc, done); err != nil {
		runErr = err
	} else {
		select {
		case <-ctx.Done():
		case runErr = <-errc:
		}
		stopRun() // maintenance stops before the final commits
		<-maintained
		stop()
		<-done
	}
	// The metrics stay up until the final commits are made.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errs := []error{runErr, hs.Shutdown(shutdownCtx)}
	stopRun()
	<-served
	<-polled
	<-maintained
	return errors.Join(errs...)
}
