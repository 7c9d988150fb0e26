package ingest

import (
	"context"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Generation fencing, on top of the offsets compare-and-swap of attempt.
//
// Each owned partition records the group generation at which this process
// last learned it owns it: at its assignment (adjust) and at every
// rebalance that kept it (franz-go calls OnPartitionsAssigned at the end of
// every rebalance, with the partitions that stayed already known). A
// partition commits only while the client's generation is still that one.
// When the group has moved to a newer generation whose outcome this process
// has not processed yet — a rebalance under way while the poll loop holds
// it back (BlockRebalanceOnPoll), or a membership lost and rejoined — the
// partition's records wait: the rebalance either keeps the partition
// (assigned confirms it and the records commit), revokes it (revoked
// commits them, as the protocol still grants it then) or declares it lost
// (lost drops them; the new owner reads them from the table's offsets).
// The compare-and-swap still catches what generations cannot see, such as a
// member whose session expired without it noticing.

// clientGeneration is the generation of the client's group membership (-1
// before the client exists, or when it is not in a group).
func (k *Kafka) clientGeneration() int32 {
	if k.client == nil {
		return -1
	}
	_, gen := k.client.GroupMetadata()
	return gen
}

// assigned runs at the end of every rebalance (OnPartitionsAssigned), after
// revoked and lost took away what this process no longer owns: every
// partition left is owned at the new generation.
func (k *Kafka) assigned(context.Context, *kgo.Client, map[string][]int32) {
	k.mu.Lock()
	defer k.mu.Unlock()
	gen := k.generation()
	for _, s := range k.streams {
		for _, p := range s.parts {
			p.gen = gen
		}
	}
}

// batch returns the partitions of s whose buffered records may commit now:
// those with records that this process owns at the current generation (or
// all of them while revoked runs). Called with k.mu held.
func (k *Kafka) batch(s *kstream) []*kpart {
	gen := k.generation()
	var out, waiting []*kpart
	for _, p := range s.parts {
		switch {
		case len(p.recs) == 0:
		case k.revoking || p.gen == gen:
			out = append(out, p)
		default:
			waiting = append(waiting, p)
		}
	}
	if len(waiting) > 0 {
		k.log.Info("kafka: holding back a commit until the group's rebalance settles who owns the partitions",
			"table", s.cfg.Namespace+"."+s.cfg.Table, "partitions", len(waiting), "assigned_generation", waiting[0].gen, "generation", gen)
	}
	return out
}
