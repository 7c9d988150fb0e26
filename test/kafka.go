package test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The Kafka broker is started once per test process by the first test that
// asks for it (test/services up kafka, in a state directory of its own) and
// stopped by Main.
var kafka struct {
	once     sync.Once
	brokers  string
	stateDir string // FLOE_SERVICES_DIR of the broker we started; "" if none
	script   string
	err      error
}

// MustKafka returns the address of a real Apache Kafka 4.x broker (KRaft
// mode, on loopback): $KAFKA_BROKERS when set, otherwise one started with
// `test/services up kafka` for this test process. It fails tb, saying what
// to install, when java or mvn is missing or the broker does not start.
func MustKafka(tb testing.TB) string {
	tb.Helper()
	kafka.once.Do(func() {
		if b := os.Getenv("KAFKA_BROKERS"); b != "" {
			kafka.brokers = b
			return
		}
		for _, tool := range []string{"java", "mvn"} {
			if _, err := exec.LookPath(tool); err != nil {
				kafka.err = fmt.Errorf("%s is not installed: the Kafka tests run a real broker from Maven Central jars "+
					"(apt-get install openjdk-17-jdk-headless maven, or run scripts/test.sh)", tool)
				return
			}
		}
		_, file, _, _ := runtime.Caller(0)
		kafka.script = filepath.Join(filepath.Dir(file), "services")
		dir, err := os.MkdirTemp("", "floe-e2e-services-")
		if err != nil {
			kafka.err = err
			return
		}
		kafka.stateDir = dir
		cmd := exec.Command(kafka.script, "up", "kafka")
		cmd.Env = append(os.Environ(), "FLOE_SERVICES_DIR="+dir)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			kafka.err = fmt.Errorf("test/services up kafka: %v\n%s", err, stderr.String())
			return
		}
		for _, line := range strings.Split(string(out), "\n") {
			if b, ok := strings.CutPrefix(line, "KAFKA_BROKERS="); ok {
				kafka.brokers = strings.TrimSpace(b)
			}
		}
		if kafka.brokers == "" {
			kafka.err = fmt.Errorf("test/services up kafka printed no KAFKA_BROKERS line:\n%s%s", out, stderr.String())
		}
	})
	if kafka.err != nil {
		tb.Fatalf("kafka: %v", kafka.err)
	}
	return kafka.brokers
}

// stopKafka stops the broker MustKafka started, if any.
func stopKafka() {
	if kafka.stateDir == "" {
		return
	}
	cmd := exec.Command(kafka.script, "down", "kafka")
	cmd.Env = append(os.Environ(), "FLOE_SERVICES_DIR="+kafka.stateDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "test/services down kafka: %v\n%s", err, out)
	}
	os.RemoveAll(kafka.stateDir)
}

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
	Brokers  string // HOST:PORT
	stateDir string
	script   string
}

// MustStartBroker starts a broker for tb alone with `test/services up
// kafka` in a state directory of its own; it is removed at cleanup.
func MustStartBroker(tb testing.TB) *Broker {
	tb.Helper()
	MustKafka(tb) // checks the tools, and installs the jars once
	_, file, _, _ := runtime.Caller(0)
	b := &Broker{stateDir: tb.TempDir(), script: filepath.Join(filepath.Dir(file), "services")}
	tb.Cleanup(func() {
		if out, err := b.run("down"); err != nil {
			tb.Logf("test/services down kafka: %v\n%s", err, out)
		}
	})
	out, err := b.run("up")
	if err != nil {
		tb.Fatalf("test/services up kafka: %v\n%s", err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if a, ok := strings.CutPrefix(line, "KAFKA_BROKERS="); ok {
			b.Brokers = strings.TrimSpace(a)
		}
	}
	if b.Brokers == "" {
		tb.Fatalf("test/services up kafka printed no KAFKA_BROKERS line:\n%s", out)
	}
	return b
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

func (b *Broker) run(verb string) (string, error) {
	cmd := exec.Command(b.script, verb, "kafka")
	cmd.Env = append(os.Environ(), "FLOE_SERVICES_DIR="+b.stateDir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
