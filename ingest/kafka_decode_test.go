package ingest

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Values parsed ahead in parallel must be exactly what take would have
// parsed itself: the same values, the same errors, nothing parsed for a
// topic no JSON stream consumes or a value over the size limit.
func TestParseAheadMatchesTake(t *testing.T) {
	k := mustKafka(t)
	k.own(t, 0, 1, 2)
	values := []string{`{"id": 1, "s": "a"}`, `{"id": 2, "nested": {"x": [1, 2]}}`, `not json`, `[1]`, `{"id": 3}`}
	var fs kgo.Fetches
	var topic kgo.FetchTopic
	topic.Topic = "t"
	for p := range int32(3) {
		fp := kgo.FetchPartition{Partition: p}
		for i, v := range values {
			fp.Records = append(fp.Records, &kgo.Record{Topic: "t", Partition: p, Offset: int64(i), Value: []byte(v)})
		}
		topic.Partitions = append(topic.Partitions, fp)
	}
	big := make([]byte, DefaultMaxRecordBytes+1)
	topic.Partitions[2].Records = append(topic.Partitions[2].Records, &kgo.Record{Topic: "t", Partition: 2, Offset: 5, Value: big})
	other := kgo.FetchTopic{Topic: "elsewhere", Partitions: []kgo.FetchPartition{{Records: []*kgo.Record{{Topic: "elsewhere", Value: []byte(`{}`)}}}}}
	fs = kgo.Fetches{{Topics: []kgo.FetchTopic{topic, other}}}

	parts := k.parseAhead(fs)
	if len(parts) != 4 {
		t.Fatalf("%d partitions", len(parts))
	}
	for _, fp := range parts {
		if fp.records[0].Topic == "elsewhere" {
			if fp.parsed != nil {
				t.Error("parsed the records of a topic no stream consumes")
			}
			continue
		}
		for i, r := range fp.records {
			got := fp.parsed[i]
			if len(r.Value) > DefaultMaxRecordBytes {
				if got.msg != "" || got.v.kind != 0 {
					t.Errorf("parsed an oversized value: %+v", got)
				}
				continue
			}
			var ps parser
			v, msg := ps.parseRecord(string(r.Value))
			if got.msg != msg || fmt.Sprint(got.v) != fmt.Sprint(v) {
				t.Errorf("partition %d offset %d: parsed ahead %v %q, take parses %v %q", r.Partition, r.Offset, got.v, got.msg, v, msg)
			}
		}
		for i, r := range fp.records {
			k.takeParsed(r, &fp.parsed[i])
		}
	}
	// Everything owned was taken: the good records, the bad ones to be
	// dead-lettered with take's reasons.
	s := k.streams[0]
	if s.n != 3*len(values)+1 {
		t.Fatalf("%d records buffered", s.n)
	}
	p2 := s.parts[tp{"t", 2}]
	if p2.recs[2].bad == "" || p2.recs[3].bad != "record is not a JSON object" || p2.recs[5].bad == "" {
		t.Errorf("bad records: %q %q %q", p2.recs[2].bad, p2.recs[3].bad, p2.recs[5].bad)
	}
}
