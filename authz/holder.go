package authz

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// PollInterval is how often a Holder looks for changes.
//
// Why polling and not fsnotify: authz may import only the standard library
// and Casbin; a policy directory is a handful of small files, so a stat of
// each per second costs nothing; and polling sees every way a directory
// changes in practice (editors that write a temporary file and rename it,
// git checkouts, Kubernetes ConfigMap symlink swaps, network filesystems)
// where inotify watches on the old inodes silently go stale.
const PollInterval = time.Second

// Holder holds the policy in force and swaps it atomically when the policy
// directory changes. An invalid change is logged with its reasons and
// counted, and the previous policy stays in force; callers pick up a new
// policy with their next call to Policy (sessions: at their next
// statement).
type Holder struct {
	dir  string
	opts Options
	log  *slog.Logger

	cur atomic.Pointer[Policy]

	mu        sync.Mutex // serialises reloads
	lastPrint [32]byte   // fingerprint of the directory last compiled (or tried)

	loads, failures atomic.Int64
	lastErr         atomic.Pointer[string]
}

// HolderStats counts reloads, for metrics.
type HolderStats struct {
	Loads     int64  // policies put in force, the first included
	Failures  int64  // invalid changes rejected
	LastError string // the last rejection's reasons ("" after a good load)
}

// OpenHolder compiles dir and returns a Holder with that policy in force.
// An invalid directory at start is an error. log may be nil.
func OpenHolder(dir string, opts Options, log *slog.Logger) (*Holder, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Holder{dir: dir, opts: opts, log: log}
	h.lastPrint = fingerprint(dir)
	p, err := Compile(dir, opts)
	if err != nil {
		return nil, err
	}
	h.cur.Store(p)
	h.loads.Add(1)
	return h, nil
}

// Policy returns the policy in force.
func (h *Holder) Policy() *Policy { return h.cur.Load() }

// Reload compiles the directory if it changed since the last attempt and
// swaps the result in. On an invalid change it logs the reasons, counts a
// failure, keeps the previous policy and returns the error; the same
// content is not retried until it changes again.
func (h *Holder) Reload() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	fp := fingerprint(h.dir)
	if fp == h.lastPrint {
		return nil
	}
	h.lastPrint = fp
	p, err := Compile(h.dir, h.opts)
	if err != nil {
		h.failures.Add(1)
		msg := err.Error()
		h.lastErr.Store(&msg)
		h.log.Error("policy change rejected; previous policy stays in force", "dir", h.dir, "err", err)
		return err
	}
	h.cur.Store(p)
	h.loads.Add(1)
	empty := ""
	h.lastErr.Store(&empty)
	h.log.Info("policy reloaded", "dir", h.dir)
	return nil
}

// Run polls the directory every PollInterval until ctx is done, then
// returns nil. Its caller owns the goroutine.
func (h *Holder) Run(ctx context.Context) error {
	t := time.NewTicker(PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			_ = h.Reload() // logged and counted by Reload
		}
	}
}

// Stats returns the reload counters.
func (h *Holder) Stats() HolderStats {
	s := HolderStats{Loads: h.loads.Load(), Failures: h.failures.Load()}
	if e := h.lastErr.Load(); e != nil {
		s.LastError = *e
	}
	return s
}

// fingerprint hashes the names, sizes and modification times of the files
// Compile reads (following symlinks).
func fingerprint(dir string) [32]byte {
	h := sha256.New()
	add := func(path string) {
		st, err := os.Stat(path)
		if err != nil {
			fmt.Fprintf(h, "%s\x00missing\x00", path)
			return
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00", path, st.Size(), st.ModTime().UnixNano())
	}
	add(filepath.Join(dir, PrincipalsFile))
	for _, sub := range []string{PoliciesDir, FiltersDir} {
		add(filepath.Join(dir, sub))
		files, _ := fs.Glob(os.DirFS(dir), sub+"/*.json")
		for _, f := range files {
			add(filepath.Join(dir, f))
		}
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}
