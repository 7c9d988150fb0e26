package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/floe-dev/floe/catalog"
)

// stallWait is how long the poll loop waits after a partition stalled on
// an unreachable schema registry, before fetching again.
const stallWait = time.Second

// registrySet shares one registry client (and schema cache) among the
// streams that name the same registry.
type registrySet map[RegistryConfig]*registry

func (rs registrySet) get(cfg RegistryConfig) *registry {
	if r := rs[cfg]; r != nil {
		return r
	}
	r := newRegistry(cfg)
	rs[cfg] = r
	return r
}

// decodeAvro checks the framing and the Avro value of kr against its writer
// schema, which it looks up in the stream's registry. What cannot be
// written is marked bad (an unknown schema id, a value that does not
// decode). When the registry cannot be asked it returns false: the record
// is not taken, and p stalls until the next poll (reseekStalled). Called
// with k.mu held.
func (k *Kafka) decodeAvro(s *kstream, p *kpart, kr *krec) bool {
	id, payload, why := confluentFrame(kr.value)
	if why != "" {
		kr.bad = why
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
	defer cancel()
	ws, err := s.reg.schema(ctx, id)
	switch {
	case errors.Is(err, errUnknownSchema):
		kr.bad = fmt.Sprintf("schema id %d is not in the schema registry", id)
		return true
	case err != nil:
		if !p.stalled {
			k.log.Warn("kafka: schema registry unreachable; the partition waits", "topic", p.topic, "partition", p.partition, "offset", kr.offset, "schema_id", id, "err", err)
		}
		p.stalled = true
		p.next = kr.offset
		return false
	case ws.unusable != "":
		kr.bad = ws.unusable
		return true
	}
	if err := newAvroWalker(k.cfg.MaxRecordBytes).check(ws.schema, payload); err != nil {
		kr.bad = fmt.Sprintf("schema id %d: %v", id, err)
		return true
	}
	kr.avro = ws
	return true
}

// reseekStalled moves each stalled partition back to its first record not
// taken, so that the next polls fetch it again. It reports whether any
// partition stalled. Called by the poll loop with k.mu held, before
// AllowRebalance (seeking is safe there).
func (k *Kafka) reseekStalled() bool {
	set := map[string]map[int32]kgo.EpochOffset{}
	for _, s := range k.streams {
		for _, p := range s.parts {
			if !p.stalled {
				continue
			}
			p.stalled = false
			if set[p.topic] == nil {
				set[p.topic] = map[int32]kgo.EpochOffset{}
			}
			set[p.topic][p.partition] = kgo.EpochOffset{Epoch: -1, Offset: p.next}
		}
	}
	if len(set) > 0 && k.client != nil {
		k.client.SetOffsets(set)
	}
	return len(set) > 0
}

// attemptAvro is the part of attempt (kafka.go) after the dead letters of
// the batch are known, for an avro stream: merge the writer schemas into
// the table's schema, commit the dead letters, then stage the rows.
func (k *Kafka) attemptAvro(ctx context.Context, tx *catalog.Tx, s *kstream, offs map[string]int64, dl *deadLetters, parts []*kpart, good, bad []*krec, res *kafkaCommit) error {
	ns, name := s.cfg.Namespace, s.cfg.Table
	b, rejects := mergeAvro(tx.Base(), good, s.cfg.FixedSchema)
	b.layout, b.maxBytes = s.layout, k.cfg.MaxRecordBytes
	bad = append(bad, rejects...)
	if len(bad) > 0 {
		if err := k.commitDeadLetters(ctx, ns, name+RejectedSuffix, dl, parts, bad); err != nil {
			return err
		}
	}
	res.rejected = len(bad)
	if len(b.good) == 0 {
		return nil
	}
	for _, p := range parts {
		offs[offsetKey(p.topic, p.partition)] = p.next
	}
	props := map[string]string{
		"floe.source":   "kafka",
		OffsetsProperty: encodeOffsets(offs),
	}
	if err := b.stage(ctx, tx, k.log, props); err != nil {
		return err
	}
	res.rows = len(b.good)
	return nil
}
