package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/floe-dev/floe/authz"
	"github.com/floe-dev/floe/catalog"
	"github.com/floe-dev/floe/gateway"
	"github.com/floe-dev/floe/ingest"
	"github.com/floe-dev/floe/pgwire"
)

// node is one floe process's parts, opened in dependency order.
type node struct {
	cat    *catalog.Catalog
	users  *authz.Directory
	policy *authz.Holder
	engine *gateway.Engine
	audit  *authz.AuditLog // serve opens it; records of other commands are never written
	log    *slog.Logger
}

// openNode opens the catalog, the principal directory and the query engine
// (with obs's virtual tables; obs may be nil).
func openNode(ctx context.Context, cfg Config, log *slog.Logger, obs *observer) (*node, error) {
	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	cat, err := catalog.Open(ctx, catalog.Config{Dir: cfg.Data})
	if err != nil {
		return nil, err
	}
	users, err := authz.OpenDirectory(filepath.Join(cfg.Data, "users.json"))
	if err != nil {
		cat.Close()
		return nil, err
	}
	policy, err := authz.OpenHolder(cfg.policyDir(), authz.Options{AdminUser: cfg.Admin.User}, log)
	if err != nil {
		cat.Close()
		return nil, fmt.Errorf("policy: %w", err)
	}
	audit := authz.NewAuditLog(authz.AuditConfig{Dir: filepath.Join(cfg.Data, "audit"), Logger: log})
	engine := gateway.New(cat, users, gateway.Config{
		CacheDir:    filepath.Join(cfg.Data, "cache"),
		Threads:     cfg.DuckDB.Threads,
		MemoryLimit: cfg.DuckDB.MemoryLimit,
		Logger:      log,
		Policy:      policy.Policy,
		Virtual:     obs.virtualTables(),
		Audit:       audit.Record,
	})
	if err := engine.Start(ctx); err != nil {
		cat.Close()
		return nil, err
	}
	return &node{cat: cat, users: users, policy: policy, engine: engine, audit: audit, log: log}, nil
}

func (n *node) close() error {
	return errors.Join(n.engine.Close(), n.cat.Close())
}

// bootstrapAdmin makes sure the admin user can log in: FLOE_ADMIN_PASSWORD
// sets its password; otherwise a first start generates one and prints it
// once. Only the SCRAM verifier is stored.
func bootstrapAdmin(users *authz.Directory, user string, out io.Writer) error {
	if pw, ok := os.LookupEnv("FLOE_ADMIN_PASSWORD"); ok && pw != "" {
		if s, err := users.Secret(user); err == nil && s.Verify(pw) {
			return nil
		}
		return users.SetPassword(user, pw)
	}
	if users.Has(user) {
		return nil
	}
	pw, err := authz.GeneratePassword()
	if err != nil {
		return err
	}
	if err := users.SetPassword(user, pw); err != nil {
		return err
	}
	fmt.Fprintf(out, "floe: created user %q with password %s\n"+
		"floe: it is shown only this once; set FLOE_ADMIN_PASSWORD or run `floe user passwd %s` to change it\n",
		user, pw, user)
	return nil
}

// serve runs floe until ctx ends, then shuts down in this order: stop
// accepting connections and requests, drain running queries and pushes,
// close the audit log (its last batch goes through ingest), make the final
// ingest commits, close the engine and the catalog.
func serve(ctx context.Context, cfg Config, demo bool, stdout, stderr io.Writer) error {
	log := newLogger(stderr, cfg.LogLevel)
	obs := newObserver()
	demoPolicy := false
	if demo {
		var err error
		if demoPolicy, err = installDemoPolicy(cfg.policyDir()); err != nil {
			return err
		}
	}
	n, err := openNode(ctx, cfg, log, obs)
	if err != nil {
		return err
	}
	defer n.close()
	if err := bootstrapAdmin(n.users, cfg.Admin.User, stdout); err != nil {
		return fmt.Errorf("bootstrap admin: %w", err)
	}
	if demoPolicy {
		fmt.Fprintf(stdout, "floe: demo policy installed in %s (from examples/policies/clinical)\n", cfg.policyDir())
		if err := demoUsers(n.users, stdout); err != nil {
			return fmt.Errorf("demo users: %w", err)
		}
	}

	tlsConfig, err := loadTLS(cfg)
	if err != nil {
		return err
	}
	pgLn, err := net.Listen("tcp", cfg.PGAddr)
	if err != nil {
		return fmt.Errorf("pg_addr: %w", err)
	}
	httpLn, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		pgLn.Close()
		return fmt.Errorf("http_addr: %w", err)
	}

	ing := ingest.New(n.cat, ingest.Config{
		CommitInterval: cfg.Ingest.CommitInterval,
		MaxBodyBytes:   cfg.Ingest.MaxBodyBytes,
		Logger:         log,
		Registerer:     obs.reg,
	})
	obs.http.Store(ing)
	// The audit trail: DATA/audit/audit.log and floe_audit.queries, appended
	// through ingest (a push is no statement, so it is not itself audited).
	if err := n.audit.Open(func(ctx context.Context, ndjson []byte) error {
		_, err := ing.Push(ctx, "floe_audit", "queries", bytes.NewReader(ndjson))
		return err
	}); err != nil {
		return err
	}
	defer n.audit.Close(context.Background()) // on early returns; a no-op after the ordered Close
	if demo && cfg.Maintenance.SnapshotMaxAge == 0 {
		// The demo commits to two tables every second: an hour of
		// snapshots would make each commit rewrite 3,600 of them.
		cfg.Maintenance.SnapshotMaxAge = demoSnapshotMaxAge
	}
	maint, err := newMaintainer(cfg, n.cat, obs, n.audit.Record, log)
	if err != nil {
		return err
	}
	pg := pgwire.NewServer(n.engine, pgwire.Config{TLS: tlsConfig, RequireTLS: cfg.TLS.Require, Logger: log,
		OnReject: func(info pgwire.StartupInfo, err error) { n.audit.Record(rejectedLogin(info, err)) }})
	mux := http.NewServeMux()
	principal := func(r *http.Request) string { return authz.Principal(r.Context()) }
	// Pushes need floe:Insert on the target table.
	pushTarget := func(r *http.Request) (authz.Resource, bool) {
		ns, table := r.PathValue("namespace"), r.PathValue("table")
		return authz.Resource{Namespace: ns, Table: table}, ns != "" && table != ""
	}
	pushes := n.users.BasicAuth(authz.Authorize(n.policy.Policy, authz.ActionInsert, pushTarget, ing.Handler(principal)))
	mux.Handle("/v1/ingest/{namespace}/{table}", pushes)
	mux.Handle("/v1/ingest/", pushes)
	mux.Handle("/v1/query", n.users.BasicAuth(n.engine.QueryHandler()))
	// Triggered maintenance needs floe:Maintain on the table.
	maintainTarget := pushTarget
	mux.Handle("/v1/maintenance/{namespace}/{table}",
		n.users.BasicAuth(authz.Authorize(n.policy.Policy, authz.ActionMaintain, maintainTarget, maint.Handler(principal))))
	mux.Handle("/metrics", n.users.BasicAuth(obs.metricsHandler(n.policy.Policy)))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	hs := &http.Server{Handler: auditRejects(n.audit.Record, mux), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}

	var wg sync.WaitGroup
	errc := make(chan error, 4)
	wg.Add(3)
	go func() {
		// Reloads the policy on change; open sessions see a new policy at
		// their next statement.
		defer wg.Done()
		n.policy.Run(ctx)
	}()
	go func() {
		defer wg.Done()
		// Serve returns ctx's error or ErrServerClosed on the way out.
		if err := pg.Serve(ctx, pgLn); err != nil && ctx.Err() == nil && !errors.Is(err, pgwire.ErrServerClosed) {
			errc <- fmt.Errorf("pgwire: %w", err)
		}
	}()
	go func() {
		defer wg.Done()
		var err error
		// HTTP speaks TLS when a certificate is configured or TLS is
		// required; the generated self-signed one is for pgwire's upgrade.
		if cfg.TLS.Cert != "" || cfg.TLS.Require {
			hs.TLSConfig = tlsConfig
			err = hs.ServeTLS(httpLn, "", "")
		} else {
			err = hs.Serve(httpLn)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	}()
	kafkaCtx, stopKafka := context.WithCancel(context.WithoutCancel(ctx))
	defer stopKafka()
	kafkaDone := make(chan struct{})
	if err := startKafka(kafkaCtx, cfg, n.cat, n.policy.Policy, obs, log, errc, kafkaDone); err != nil {
		hs.Close()
		pg.Close(ctx)
		wg.Wait()
		return err
	}
	maintCtx, stopMaint := context.WithCancel(ctx)
	defer stopMaint()
	maintDone := make(chan struct{})
	go func() {
		defer close(maintDone)
		maint.Run(maintCtx)
	}()
	demoCtx, stopDemo := context.WithCancel(ctx)
	if demo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := runDemo(demoCtx, ing, log); err != nil && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("demo: %w", err)
			}
		}()
	}
	fmt.Fprintf(stdout, "floe: serving %s\n"+
		"floe: PostgreSQL wire on %s — connect with: psql \"host=%s port=%s user=%s dbname=floe\"\n"+
		"floe: HTTP on %s — POST /v1/ingest/{namespace}/{table}, POST /v1/query, POST /v1/maintenance/{namespace}/{table}\n",
		cfg.Data, pgLn.Addr(), host(pgLn.Addr()), port(pgLn.Addr()), cfg.Admin.User, httpLn.Addr())

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	log.Info("shutting down")
	stopDemo()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// 1. Stop accepting; let in-flight HTTP requests (pushes waiting for
	//    their commit, queries) finish.
	errs := []error{runErr, hs.Shutdown(shutdownCtx)}
	// 2. Drain pgwire sessions; stop maintenance (a compaction under way
	//    is abandoned; its files are removed or left to orphan removal).
	errs = append(errs, pg.Close(shutdownCtx))
	stopMaint()
	<-maintDone
	// 2b. Every statement has ended: write the last audit records and push
	//     them while ingest still takes pushes.
	errs = append(errs, n.audit.Close(shutdownCtx))
	// 3. Final ingest commits: Kafka streams commit what they buffered and
	//    leave the group; pushes commit what is pending.
	stopKafka()
	<-kafkaDone
	errs = append(errs, ing.Close(shutdownCtx))
	wg.Wait()
	// 4. The engine and catalog close in the deferred n.close.
	return errors.Join(errs...)
}

// startKafka starts the Kafka streams of cfg.Ingest.Kafka, if any, in a
// goroutine that closes done when it has committed and left the group (done
// is closed at once when there is no Kafka section). A failure is sent on
// errc. Beside it, watchKafkaPolicy pauses the streams whose table the
// policy in force (policy) no longer lets the service principal insert into.
func startKafka(ctx context.Context, cfg Config, cat *catalog.Catalog, policy func() *authz.Policy, obs *observer, log *slog.Logger, errc chan<- error, done chan<- struct{}) error {
	kc := cfg.Ingest.Kafka
	if kc == nil {
		close(done)
		return nil
	}
	if err := checkKafkaInsert(cfg); err != nil {
		close(done)
		return err
	}
	streams := make([]ingest.KafkaStream, len(kc.Streams))
	for i, s := range kc.Streams {
		ns, tbl, _ := strings.Cut(s.Table, ".")
		streams[i] = ingest.KafkaStream{Topic: s.Topic, TopicRegex: s.TopicRegex, Namespace: ns, Table: tbl, Format: s.Format, Key: s.Key,
			CommitInterval: s.CommitInterval, StartFrom: s.StartFrom,
			PartitionBy: s.PartitionBy, TargetFileSize: s.targetFileSize, FixedSchema: s.SchemaEvolution != nil && !*s.SchemaEvolution,
			Registry: s.SchemaRegistry.ingest()}
	}
	sasl, err := kc.SASL.ingest()
	if err != nil {
		close(done)
		return err
	}
	k, err := ingest.NewKafka(cat, ingest.KafkaConfig{
		Brokers: kc.Brokers, Group: kc.Group, InstanceID: kc.InstanceID, SessionTimeout: kc.SessionTimeout,
		MaxRecordBytes: kc.MaxRecordBytes, TLS: kc.TLS.ingest(), SASL: sasl, MetadataMaxAge: kc.MetadataMaxAge,
		Streams: streams, Logger: log, Registerer: obs.reg,
	})
	if err != nil {
		close(done)
		return fmt.Errorf("config: ingest.kafka: %w", err)
	}
	obs.kafka.Store(k)
	watchCtx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() { // owned by the goroutine below
		defer close(watched)
		watchKafkaPolicy(watchCtx, cfg, policy, k, log)
	}()
	go func() { // owned by the caller, which waits on done
		defer close(done)
		defer func() { stopWatch(); <-watched }()
		if err := k.Run(ctx); err != nil {
			errc <- fmt.Errorf("kafka ingest: %w", err)
		}
	}()
	return nil
}

func loadTLS(cfg Config) (*tls.Config, error) {
	var cert tls.Certificate
	var err error
	if cfg.TLS.Cert != "" {
		cert, err = tls.LoadX509KeyPair(cfg.TLS.Cert, cfg.TLS.Key)
		if err != nil {
			return nil, fmt.Errorf("config: tls: %w", err)
		}
	} else {
		cert, err = pgwire.LoadOrCreateCertificate(filepath.Join(cfg.Data, "tls"))
		if err != nil {
			return nil, fmt.Errorf("tls certificate: %w", err)
		}
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

func host(a net.Addr) string { h, _, _ := net.SplitHostPort(a.String()); return h }
func port(a net.Addr) string { _, p, _ := net.SplitHostPort(a.String()); return p }

// checkKafkaInsert refuses to start streams whose service principal the
// policy does not allow floe:Insert on the stream's table. The check is
// made at start; after it, watchKafkaPolicy pauses and resumes streams as
// the policy changes.
func checkKafkaInsert(cfg Config) error {
	policy, err := authz.Compile(cfg.policyDir(), authz.Options{AdminUser: cfg.Admin.User})
	if err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	for i, s := range cfg.Ingest.Kafka.Streams {
		if why := kafkaInsertDenied(cfg, policy, s.Table); why != "" {
			return fmt.Errorf("config: ingest.kafka.streams[%d]: %s", i, why)
		}
	}
	return nil
}

// kafkaInsertDenied says why the Kafka service principal may not insert
// into table (NAMESPACE.TABLE) under policy; "" if it may.
func kafkaInsertDenied(cfg Config, policy *authz.Policy, table string) string {
	principal := cfg.Ingest.Kafka.Principal
	if principal == "" {
		principal = cfg.Admin.User
	}
	ns, tbl, _ := strings.Cut(table, ".")
	d := policy.Decide(authz.Request{Principal: principal, Action: authz.ActionInsert,
		Resource: authz.Resource{Namespace: ns, Table: tbl}})
	if d.Allowed {
		return ""
	}
	return fmt.Sprintf("principal %q may not insert into %s (floe:Insert denied)", principal, table)
}
