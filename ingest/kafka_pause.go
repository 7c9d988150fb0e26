package ingest

import (
	"context"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Pausing a stream: cmd/floe pauses the streams whose table the service
// principal may no longer insert into (a policy reload revoked floe:Insert)
// and resumes them when the policy allows it again. A paused stream commits
// nothing and stops fetching; what it had buffered is dropped, not
// committed, and on resume it seeks to the table's offsets, so no record is
// lost or doubled. Its partitions stay assigned (and show in
// floe.ingest_status with the reason).

// Pause causes: independent reasons to hold a stream, each lifted on its own.
const (
	PausePolicy      = "policy"       // the service principal may not insert (cmd/floe)
	PausePartitionBy = "partition_by" // the stream's partition spec does not fit its table
)

// Pause asks the stream writing to table (NAMESPACE.TABLE) to pause for
// cause, saying why (reason); the poll loop applies it before its next
// commit. It reports whether a stream writes to table. Safe from any
// goroutine.
func (k *Kafka) Pause(table, cause, reason string) bool {
	if reason == "" {
		reason = cause
	}
	return k.setWant(table, cause, reason)
}

// Resume lifts cause's pause of the stream writing to table; the stream
// runs again once no cause holds it.
func (k *Kafka) Resume(table, cause string) bool { return k.setWant(table, cause, "") }

func (k *Kafka) setWant(table, cause, reason string) bool {
	found := false
	for _, s := range k.streams {
		found = found || s.cfg.Namespace+"."+s.cfg.Table == table
	}
	if !found {
		return false
	}
	k.wantMu.Lock()
	defer k.wantMu.Unlock()
	if k.want[table] == nil {
		k.want[table] = map[string]string{}
	}
	if reason == "" {
		delete(k.want[table], cause)
	} else {
		k.want[table][cause] = reason
	}
	return true
}

// wanted is the reason each table's stream should be paused for: its
// causes' reasons, in the order of the causes' names ("": run).
func (k *Kafka) wanted() map[string]string {
	k.wantMu.Lock()
	defer k.wantMu.Unlock()
	out := make(map[string]string, len(k.want))
	for table, causes := range k.want {
		names := make([]string, 0, len(causes))
		for c := range causes {
			names = append(names, c)
		}
		sort.Strings(names)
		reasons := make([]string, len(names))
		for i, c := range names {
			reasons[i] = causes[c]
		}
		out[table] = strings.Join(reasons, "; ")
	}
	return out
}

// applyPauses brings each stream to the state asked for. Called by the poll
// loop with k.mu held, before AllowRebalance (seeking is safe there).
func (k *Kafka) applyPauses(ctx context.Context) {
	want := k.wanted()
	for _, s := range k.streams {
		table := s.cfg.Namespace + "." + s.cfg.Table
		reason := want[table]
		if reason == s.paused {
			continue
		}
		if reason != "" {
			dropped := s.n
			for _, p := range s.parts {
				p.recs = nil
			}
			s.n = 0
			if s.paused == "" {
				k.log.Warn("kafka: stream paused: nothing is committed to its table until it resumes",
					"table", table, "reason", reason, "dropped_buffered_records", dropped)
			}
			s.paused = reason
			for t := range s.topics {
				k.pauseTopic(s, t)
			}
			k.paused.WithLabelValues(table).Set(1)
			continue
		}
		// Seek to the table's offsets (records fetched while paused were
		// dropped); if the table cannot be read, stay paused and retry at
		// the next poll.
		if err := k.dropAndSeek(ctx, s, true); err != nil {
			continue
		}
		s.paused = ""
		if k.client != nil {
			topics := make([]string, 0, len(s.topics))
			for t := range s.topics {
				topics = append(topics, t)
			}
			k.client.ResumeFetchTopics(topics...)
		}
		k.paused.WithLabelValues(table).Set(0)
		k.log.Info("kafka: stream resumed from the table's offsets", "table", table)
	}
}

// pauseTopic stops fetching topic of the paused stream s.
func (k *Kafka) pauseTopic(_ *kstream, topic string) {
	if k.client != nil {
		k.client.PauseFetchTopics(topic)
	}
}

func newPausedGauge() *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "floe_kafka_stream_paused",
		Help: "1 while the Kafka stream writing to the table is paused (its service principal may not insert into it), else 0.",
	}, []string{"table"})
}
