package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/floe-dev/floe/authz"
	"github.com/floe-dev/floe/ingest"
)

// policyCheckInterval is how often watchKafkaPolicy looks for a new policy;
// the holder itself looks at the directory every authz.PollInterval.
const policyCheckInterval = 250 * time.Millisecond

// watchKafkaPolicy re-checks the Kafka service principal's floe:Insert on
// each stream's table whenever the policy in force changes (a reload): a
// stream it may no longer insert into is paused (it commits nothing; its
// offsets stay in the table), and resumed when a later reload allows it
// again. It returns when ctx ends.
func watchKafkaPolicy(ctx context.Context, cfg Config, policy func() *authz.Policy, k *ingest.Kafka, log *slog.Logger) {
	t := time.NewTicker(policyCheckInterval)
	defer t.Stop()
	seen := policy() // the policy checkKafkaInsert allowed every stream under
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p := policy()
		if p == seen {
			continue
		}
		seen = p
		for _, s := range cfg.Ingest.Kafka.Streams {
			if why := kafkaInsertDenied(cfg, p, s.Table); why != "" {
				log.Warn("kafka: policy reload denies the stream's inserts; pausing it", "table", s.Table, "reason", why)
				k.Pause(s.Table, ingest.PausePolicy, why)
			} else {
				k.Resume(s.Table, ingest.PausePolicy)
			}
		}
	}
}
