package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ingestResult is figure (c).
type ingestResult struct {
	rows, bytes  int64
	requests     int
	pushers      int
	batch        int
	wall         time.Duration
	commits      int // distinct snapshot ids acknowledged
	files        []string
	p50, max     time.Duration // request latency
	floeCPU      time.Duration
	floePeakRSS  int64
	generateTime time.Duration
}

func (r ingestResult) rowsPerSec() float64 { return float64(r.rows) / r.wall.Seconds() }
func (r ingestResult) mbPerSec() float64   { return float64(r.bytes) / 1e6 / r.wall.Seconds() }

// runIngest pushes rows [0, n) to bench.events in requests of batch rows
// from pushers concurrent clients. The bodies are generated beforehand, so
// the clock measures floe alone: from the first request sent to the last
// commit acknowledged.
func runIngest(ctx context.Context, s *floeServer, n int64, batch, pushers int) (ingestResult, error) {
	res := ingestResult{rows: n, pushers: pushers, batch: batch}
	t0 := time.Now()
	var bodies [][]byte
	for from := int64(0); from < n; from += int64(batch) {
		bodies = append(bodies, nil)
	}
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 2 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(bodies)); i = next.Add(1) - 1 {
				from := i * int64(batch)
				to := min(from+int64(batch), n)
				bodies[i] = appendNDJSON(make([]byte, 0, (to-from)*128), from, to)
			}
		})
	}
	wg.Wait()
	res.generateTime = time.Since(t0)
	res.requests = len(bodies)
	for _, b := range bodies {
		res.bytes += int64(len(b))
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: pushers, DisableCompression: true}}
	url := "http://" + s.httpAddr + "/v1/ingest/bench/events"
	var (
		mu        sync.Mutex
		latencies []time.Duration
		snapshots = map[int64]bool{}
		firstErr  error
		acked     atomic.Int64
	)
	next.Store(0)
	cpu0 := s.cpu()
	start := time.Now()
	for range pushers {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(bodies)); i = next.Add(1) - 1 {
				if ctx.Err() != nil {
					return
				}
				t := time.Now()
				rows, snap, err := push(ctx, client, url, s.password, bodies[i])
				d := time.Since(t)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("request %d: %w", i, err)
				}
				latencies = append(latencies, d)
				snapshots[snap] = true
				mu.Unlock()
				acked.Add(rows)
			}
		})
	}
	wg.Wait()
	res.wall = time.Since(start)
	res.floeCPU = s.cpu() - cpu0
	res.floePeakRSS = s.peakRSS()
	if firstErr != nil {
		return res, firstErr
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if got := acked.Load(); got != n {
		return res, fmt.Errorf("floe acknowledged %d rows, pushed %d", got, n)
	}
	slices.Sort(latencies)
	res.p50, res.max = latencies[len(latencies)/2], latencies[len(latencies)-1]
	res.commits = len(snapshots)
	files, err := filepath.Glob(filepath.Join(s.dir, "warehouse", "bench*", "events", "data", "*.parquet"))
	if err != nil {
		return res, err
	}
	if len(files) == 0 {
		return res, fmt.Errorf("no Parquet files under %s", filepath.Join(s.dir, "warehouse"))
	}
	slices.Sort(files)
	res.files = files
	return res, nil
}

// push sends one NDJSON body and returns the rows and snapshot floe
// acknowledged.
func push(ctx context.Context, client *http.Client, url, password string, body []byte) (int64, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.SetBasicAuth("admin", password)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	var ack struct {
		Rows       int64 `json:"rows"`
		SnapshotID int64 `json:"snapshot_id"`
	}
	if err := json.Unmarshal(b, &ack); err != nil {
		return 0, 0, fmt.Errorf("decode acknowledgement %q: %w", b, err)
	}
	return ack.Rows, ack.SnapshotID, nil
}
