package ingest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchBody returns n NDJSON rows of ten fields of every scalar kind.
func benchBody(n int) string {
	var b strings.Builder
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		fmt.Fprintf(&b, `{"id": %d, "site": "site-%03d", "subject": "S%06d", "visit": %d, "hr": %d, "temp": %.2f, "spo2": %.3f, "fasting": %t, "at": %q, "note": "measured at rest, no remarks"}`+"\n",
			i, i%100, i, i%12, 55+i%40, 36.1+float64(i%20)/10, 0.9+float64(i%10)/100, i%2 == 0,
			base.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano))
	}
	return b.String()
}

// BenchmarkPush pushes requests of 10,000 ten-field rows one after another,
// each committed before the next starts (decode, check, Arrow, Parquet with
// zstd, Iceberg commit on SQLite).
func BenchmarkPush(b *testing.B) {
	const rowsPerRequest = 10_000
	s, _, _ := MustService(b, Config{CommitInterval: time.Millisecond})
	body := benchBody(rowsPerRequest)
	ctx := context.Background()
	MustPush(b, s, "bench", "push", body) // create the table outside the timing
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if _, err := s.Push(ctx, "bench", "push", strings.NewReader(body)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*rowsPerRequest)/time.Since(start).Seconds(), "rows/s")
}

// BenchmarkParse measures decoding and shape summary alone.
func BenchmarkParse(b *testing.B) {
	body := benchBody(10_000)
	b.SetBytes(int64(len(body)))
	start := time.Now()
	for b.Loop() {
		if _, err := parseBody(body); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*10_000)/time.Since(start).Seconds(), "rows/s")
}

// BenchmarkPushConcurrent has four pushers share group commits (interval
// 50ms): decoding runs in parallel with the committer.
func BenchmarkPushConcurrent(b *testing.B) {
	const rowsPerRequest, pushers = 10_000, 4
	s, _, _ := MustService(b, Config{CommitInterval: 50 * time.Millisecond})
	body := benchBody(rowsPerRequest)
	ctx := context.Background()
	MustPush(b, s, "bench", "push", body)
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range pushers {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if _, err := s.Push(ctx, "bench", "push", strings.NewReader(body)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N*rowsPerRequest)/time.Since(start).Seconds(), "rows/s")
}
