package ingest

import (
	"runtime"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Parsing JSON values is most of the poll loop's work. The values of one
// poll's records are parsed in parallel, one partition per worker, before
// the loop takes the records one by one under k.mu; the loop itself stays
// single-threaded, so ownership, offsets and commits are decided as before.
// Parsing is pure (bytes in, value out): a record parsed ahead and then not
// taken (its partition was revoked meanwhile) costs only the work.

// fetchedPartition is one partition's records of a poll, with their JSON
// values parsed ahead when the partition belongs to a JSON stream.
type fetchedPartition struct {
	records []*kgo.Record
	parsed  []parsedValue // nil: take decodes the records itself
}

type parsedValue struct {
	v   value
	msg string // why the value is not valid JSON; "" if it is
}

// parsers are the workers' parsers (a parser is not safe for concurrent
// use; the values it returns stay valid after it is reused).
var parsers = sync.Pool{New: func() any { return new(parser) }}

// parseAhead groups the records of fs by partition and parses the values
// of JSON streams' records in parallel.
func (k *Kafka) parseAhead(fs kgo.Fetches) []fetchedPartition {
	var parts []fetchedPartition
	fs.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) > 0 {
			parts = append(parts, fetchedPartition{records: p.Records})
		}
	})
	var todo []int
	k.mu.Lock()
	for i, p := range parts {
		if s := k.route(p.records[0].Topic); s != nil && s.cfg.Format == "json" && s.paused == "" {
			todo = append(todo, i)
		}
	}
	k.mu.Unlock()
	if len(todo) == 0 {
		return parts
	}
	work := make(chan int, len(todo))
	for _, i := range todo {
		work <- i
	}
	close(work)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(todo)) {
		wg.Go(func() {
			ps := parsers.Get().(*parser)
			defer parsers.Put(ps)
			for i := range work {
				recs := parts[i].records
				out := make([]parsedValue, len(recs))
				for j, r := range recs {
					if len(r.Value) <= k.cfg.MaxRecordBytes {
						out[j].v, out[j].msg = ps.parseRecord(string(r.Value))
					}
				}
				parts[i].parsed = out
			}
		})
	}
	wg.Wait()
	return parts
}
