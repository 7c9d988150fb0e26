package test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The Kafka broker is started once per test process by the first test that
// asks for it (test/services up kafka, in a state directory of its own) and
// stopped by Main.
var kafka = &sharedService{name: "kafka", envVar: "KAFKA_BROKERS", tools: []string{"java", "mvn"},
	why: "the Kafka tests run a real broker from Maven Central jars (apt-get install openjdk-17-jdk-headless maven, or run scripts/test.sh)"}

// MustKafka returns the address of a real Apache Kafka 4.x broker (KRaft
// mode, on loopback): $KAFKA_BROKERS when set, otherwise one started with
// `test/services up kafka` for this test process. It fails tb, saying what
// to install, when java or mvn is missing or the broker does not start.
func MustKafka(tb testing.TB) string {
	tb.Helper()
	return kafka.get(tb)
}

// stopKafka stops the broker MustKafka started, if any.
func stopKafka() { kafka.stop() }

// MustKafkaClient returns a producer/admin client of the broker, closed at
// cleanup.
func MustKafkaClient(tb testing.TB, brokers string, opts ...kgo.Opt) *kgo.Client {
	tb.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(strings.Split(brokers, ",")...),
		kgo.ProducerLinger(5 * time.Millisecond)}, opts...)...)
	if err != nil {
		tb.Fatalf("kafka client: %v", err)
	}
	tb.Cleanup(cl.Close)
	return cl
}

// MustCreateTopic creates topic with the given number of partitions.
func MustCreateTopic(tb testing.TB, cl *kgo.Client, topic string, partitions int32) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := kmsg.NewPtrCreateTopicsRequest()
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic = topic
	t.NumPartitions = partitions
	t.ReplicationFactor = 1
	req.Topics = append(req.Topics, t)
	req.TimeoutMillis = 20000
	for {
		resp, err := req.RequestWith(ctx, cl)
		if err == nil && len(resp.Topics) == 1 {
			code := resp.Topics[0].ErrorCode
			if code == 0 || code == 36 {
				waitTopic(tb, ctx, cl, topic, partitions)
				return
			}
			err = errors.New(fmt.Sprint("create topic error code ", code))
			if code != 36 /* TOPIC_ALREADY_EXISTS */ && code != 7 /* REQUEST_TIMED_OUT */ && code != 41 /* NOT_CONTROLLER */ {
				tb.Fatalf("create topic %s: %v", topic, err)
			}
		}
		if ctx.Err() != nil {
			tb.Fatalf("create topic %s: %v", topic, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitTopic waits until the metadata of topic shows every partition with a
// leader, so that producing at once does not fail.
func waitTopic(tb testing.TB, ctx context.Context, cl *kgo.Client, topic string, partitions int32) {
	tb.Helper()
	for {
		req := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err == nil && len(resp.Topics) == 1 && resp.Topics[0].ErrorCode == 0 &&
			int32(len(resp.Topics[0].Partitions)) == partitions {
			ready := true
			for _, p := range resp.Topics[0].Partitions {
				ready = ready && p.ErrorCode == 0 && p.Leader >= 0
			}
			if ready {
				return
			}
		}
		if ctx.Err() != nil {
			tb.Fatalf("topic %s has no leader for all its %d partitions: %v", topic, partitions, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Broker is a Kafka broker of one test's own, which the test may stop and
// start again (same port, same data): MustStartBroker.
type Broker struct {
	Brokers string // HOST:PORT
	svc     service
}

// MustStartBroker starts a broker for tb alone with `test/services up
// kafka` in a state directory of its own; it is removed at cleanup.
func MustStartBroker(tb testing.TB) *Broker {
	tb.Helper()
	MustKafka(tb) // checks the tools, and installs the jars once
	svc, vars := mustStartService(tb, "kafka", "KAFKA_BROKERS")
	return &Broker{Brokers: vars["KAFKA_BROKERS"], svc: svc}
}

// MustStop stops the broker (SIGTERM, a clean shutdown), keeping its data.
func (b *Broker) MustStop(tb testing.TB) {
	tb.Helper()
	if out, err := b.run("stop"); err != nil {
		tb.Fatalf("test/services stop kafka: %v\n%s", err, out)
	}
}

// MustStart starts the stopped broker again on the same port.
func (b *Broker) MustStart(tb testing.TB) {
	tb.Helper()
	if out, err := b.run("start"); err != nil {
		tb.Fatalf("test/services start kafka: %v\n%s", err, out)
	}
}

func (b *Broker) run(verb string) (string, error) { return b.svc.run(verb) }
