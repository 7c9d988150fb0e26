package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestKafkaTopicRegexRouting(t *testing.T) {
	k, err := NewKafka(MustCatalog(t, t.TempDir()), KafkaConfig{
		Brokers: []string{"b:1"},
		Logger:  slog.New(slog.DiscardHandler),
		Streams: []KafkaStream{
			{TopicRegex: `^vitals\.`, Namespace: "ns", Table: "all"},
			{Topic: "vitals.eu", Namespace: "ns", Table: "eu"},
			{TopicRegex: `^vitals\.e`, Namespace: "ns", Table: "never"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[string]string{"vitals.us": "all", "vitals.eu": "eu", "vitals.es": "all", "labs": ""} {
		got := ""
		if s := k.route(topic); s != nil {
			got = s.cfg.Table
		}
		if got != want {
			t.Errorf("route(%s) = %q, want %q", topic, got, want)
		}
	}
	topics, regex := k.subscription()
	if !regex || strings.Join(topics, " ") != `^vitals\. ^vitals\.e ^vitals\.eu$` {
		t.Errorf("subscription = %q regex %v", topics, regex)
	}
}

// Two topics of one regex stream, with the same partition numbers, commit
// into one table with offsets kept per topic.
func TestKafkaTopicRegexCommitsPerTopicOffsets(t *testing.T) {
	k, err := NewKafka(MustCatalog(t, t.TempDir()), KafkaConfig{
		Brokers: []string{"b:1"},
		Streams: []KafkaStream{{TopicRegex: "^t-", Namespace: "ns", Table: "tbl"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.adjust(context.Background(), map[string]map[int32]kgo.Offset{"t-a": {0: kgo.NewOffset()}, "t-b": {0: kgo.NewOffset()}}); err != nil {
		t.Fatal(err)
	}
	k.take(&kgo.Record{Topic: "t-a", Partition: 0, Offset: 0, Value: []byte(`{"id":1}`)})
	k.take(&kgo.Record{Topic: "t-a", Partition: 0, Offset: 1, Value: []byte(`{"id":2}`)})
	k.take(&kgo.Record{Topic: "t-b", Partition: 0, Offset: 0, Value: []byte(`{"id":3}`)})
	k.flush()
	rows, _ := MustRows(t, k.cat, "ns", "tbl")
	if got := fmt.Sprint(mustOffsets(t, k, "tbl")); len(rows) != 3 || got != "map[t-a/0:2 t-b/0:1]" {
		t.Fatalf("%d rows, offsets %s; want 3 rows, t-a/0:2 t-b/0:1", len(rows), got)
	}
}

func TestKafkaStreamTopicErrors(t *testing.T) {
	cat := MustCatalog(t, t.TempDir())
	for _, c := range []struct {
		s    KafkaStream
		want string
	}{
		{KafkaStream{Namespace: "ns", Table: "t"}, "no topic or topic_regex"},
		{KafkaStream{Topic: "a", TopicRegex: "a", Namespace: "ns", Table: "t"}, "exclusive"},
		{KafkaStream{TopicRegex: "(", Namespace: "ns", Table: "t"}, "topic_regex"},
	} {
		_, err := NewKafka(cat, KafkaConfig{Brokers: []string{"b:1"}, Streams: []KafkaStream{c.s}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.s, err, c.want)
		}
	}
}
