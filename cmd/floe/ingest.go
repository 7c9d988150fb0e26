package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/floe-dev/floe/catalog"
)

// runIngest runs only the Kafka streams of cfg.Ingest.Kafka against the
// catalog in cfg.Data, for scaling ingest out: several processes in one
// consumer group share the partitions. It stops on ctx (SIGINT, SIGTERM)
// after committing what it buffered.
func runIngest(ctx context.Context, cfg Config, stderr io.Writer) error {
	if cfg.Ingest.Kafka == nil {
		return errors.New("config: ingest.kafka: floe ingest needs a Kafka section")
	}
	log := newLogger(stderr, cfg.LogLevel)
	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	cat, err := catalog.Open(ctx, catalog.Config{Dir: cfg.Data})
	if err != nil {
		return err
	}
	defer cat.Close()
	errc := make(chan error, 1)
	done := make(chan struct{})
	kctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	if err := startKafka(kctx, cfg, cat, newObserver(), log, errc, done); err != nil {
		return err
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	stop()
	<-done
	return runErr
}
