package ingest

import (
	"context"
	"fmt"
	"testing"
)

// Generation fencing without a broker: the group generation is a variable
// the test moves, and the group callbacks run as franz-go would run them.

// atGeneration makes k's group generation *gen.
func atGeneration(k *Kafka, gen *int32) { k.generation = func() int32 { return *gen } }

// A rebalance under way (the generation moved, the new assignment not yet
// processed) holds the batch back; the rebalance keeping the partition
// confirms it and the batch commits.
func TestKafkaCommitWaitsForNewGeneration(t *testing.T) {
	k := mustKafka(t)
	gen := int32(1)
	atGeneration(k, &gen)
	k.own(t, 0, 1)
	k.feed(0, 0, `{"id":1}`, `{"id":2}`)
	k.feed(1, 0, `{"id":3}`)
	gen = 2 // the group rebalanced; this process has not heard the outcome
	k.flush()
	if _, err := k.cat.Table(context.Background(), "ns", "tbl"); err == nil {
		t.Fatal("a batch of partitions not confirmed at generation 2 was committed")
	}
	if s := k.streams[0]; s.n != 3 {
		t.Fatalf("buffered = %d, want the 3 records kept for after the rebalance", s.n)
	}
	k.assigned(context.Background(), nil, nil) // the rebalance kept both partitions
	k.flush()
	rows, _ := MustRows(t, k.cat, "ns", "tbl")
	if len(rows) != 3 || fmt.Sprint(mustOffsets(t, k, "tbl")) != "map[t/0:2 t/1:1]" {
		t.Fatalf("after the rebalance: %d rows, offsets %v; want 3 rows, t/0:2 t/1:1", len(rows), mustOffsets(t, k, "tbl"))
	}
}

// Only the partitions confirmed at the current generation commit: one
// newly assigned at generation 2 commits, one from generation 1 waits.
func TestKafkaCommitOnlyCurrentPartitions(t *testing.T) {
	k := mustKafka(t)
	gen := int32(1)
	atGeneration(k, &gen)
	k.own(t, 0)
	gen = 2
	k.own(t, 1) // assigned in generation 2; partition 0 not yet confirmed
	k.feed(0, 0, `{"id":1}`)
	k.feed(1, 0, `{"id":2}`)
	k.flush()
	if got := fmt.Sprint(mustOffsets(t, k, "tbl")); got != "map[t/1:1]" {
		t.Fatalf("offsets = %s, want only partition 1's", got)
	}
	if p := k.streams[0].parts[tp{"t", 0}]; len(p.recs) != 1 || k.streams[0].n != 1 {
		t.Fatalf("partition 0 buffered %d (stream %d), want its record kept", len(p.recs), k.streams[0].n)
	}
}

// A partition lost in the rebalance drops its held-back batch: the new
// owner reads it again from the table's offsets.
func TestKafkaLostPartitionDropsBatch(t *testing.T) {
	k := mustKafka(t)
	gen := int32(1)
	atGeneration(k, &gen)
	k.own(t, 0)
	k.feed(0, 0, `{"id":1}`, `{"id":2}`)
	gen = 3
	k.flush() // held back
	k.lost(context.Background(), nil, map[string][]int32{"t": {0}})
	k.assigned(context.Background(), nil, nil)
	k.flush()
	if _, err := k.cat.Table(context.Background(), "ns", "tbl"); err == nil {
		t.Fatal("a lost partition's batch was committed")
	}
	if s := k.streams[0]; s.n != 0 || len(s.parts) != 0 {
		t.Fatalf("after the loss: %d buffered, %d partitions owned", s.n, len(s.parts))
	}
}

// Revoked partitions commit what they buffered even though the group's
// generation has moved: until the callback returns they are still owned.
func TestKafkaRevokedPartitionCommits(t *testing.T) {
	k := mustKafka(t)
	gen := int32(1)
	atGeneration(k, &gen)
	k.own(t, 0, 1)
	k.feed(0, 0, `{"id":1}`)
	k.feed(1, 0, `{"id":2}`)
	gen = 2
	k.revoked(context.Background(), nil, map[string][]int32{"t": {0}})
	// Partition 1 stays but is not confirmed yet: the revoke committed both
	// (both are owned while the callback runs), and forgot only partition 0.
	if got := fmt.Sprint(mustOffsets(t, k, "tbl")); got != "map[t/0:1 t/1:1]" {
		t.Fatalf("offsets = %s", got)
	}
	if _, ok := k.streams[0].parts[tp{"t", 0}]; ok {
		t.Error("partition 0 still owned after its revocation")
	}
	if k.revoking {
		t.Error("revoking left set")
	}
}
