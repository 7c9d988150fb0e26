package authz

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Audit trail, part 2: the writer (docs/audit.md).
//
// Record never blocks: it offers the record to a bounded queue and, when
// the queue is full, counts it as dropped. One goroutine owned by the
// AuditLog redacts and encodes each record, appends it to the JSON-lines
// file (rotated by size) and adds it to the batch for the audit table; every
// FlushInterval it flushes the file and hands the batch to a second owned
// goroutine that appends it to the table through AuditConfig's push
// function (in floe: ingest.Service.Push into floe_audit.queries). Pushes
// do not run statements, so they produce no audit records.

// Defaults of AuditConfig.
const (
	DefaultAuditFileBytes     = 64 << 20
	DefaultAuditKeepFiles     = 8
	DefaultAuditFlushInterval = time.Second
	DefaultAuditQueue         = 8192
	DefaultAuditMaxStatement  = 64 << 10
	DefaultAuditMaxBatch      = 16 << 20
)

// AuditFile is the name of the current audit log in AuditConfig.Dir; rotated
// files are AuditFile.1 (newest) to AuditFile.KeepFiles (oldest).
const AuditFile = "audit.log"

// AuditConfig configures an AuditLog. Zero values take the defaults.
type AuditConfig struct {
	// Dir holds the JSON-lines files (DATA/audit). Required.
	Dir string
	// MaxFileBytes rotates audit.log once it would grow past this size
	// (default 64 MiB); KeepFiles rotated files are kept (default 8).
	MaxFileBytes int64
	KeepFiles    int
	// FlushInterval is how often the file is flushed and a batch is pushed
	// to the audit table (default 1s).
	FlushInterval time.Duration
	// Queue bounds the records waiting for the writer (default 8192);
	// records offered to a full queue are dropped and counted.
	Queue int
	// MaxStatementBytes truncates longer statement texts (default 64 KiB).
	MaxStatementBytes int
	// MaxBatchBytes bounds the NDJSON waiting for the audit table (default
	// 16 MiB) while pushes fail or lag; past it records go to the file
	// only, and are counted.
	MaxBatchBytes int
	Logger        *slog.Logger
}

// AuditPush appends NDJSON records to the audit table and returns once they
// are committed.
type AuditPush func(ctx context.Context, ndjson []byte) error

// AuditStats counts what happened to records.
type AuditStats struct {
	Written      int64 // lines written to the file
	Dropped      int64 // records dropped because the queue was full (or after Close)
	Pushed       int64 // records committed to the audit table
	TableMissing int64 // records written to the file but not to the table (push failed, batch full)
}

// AuditLog is the audit trail writer. Lifecycle: NewAuditLog (no I/O) →
// Open → Record from any goroutine → Close(ctx), which drains the queue,
// flushes the file and pushes the last batch. Records offered before Open
// wait in the queue.
type AuditLog struct {
	cfg  AuditConfig
	log  *slog.Logger
	in   chan AuditRecord
	stop chan struct{} // closed by Close
	done chan struct{} // closed when the writer and pusher have exited

	pushCtx    context.Context // cancelled when Close gives up waiting
	cancelPush context.CancelFunc
	closed     atomic.Bool
	closeOnce  sync.Once
	closeErr   error
	opened     bool

	written, dropped, pushed, missing atomic.Int64

	// Owned by the writer goroutine.
	f         *os.File
	w         *bufio.Writer
	size      int64
	batch     []byte
	batchN    int64
	reported  int64 // dropped count last logged
	push      AuditPush
	pushc     chan batch // capacity 1: at most one batch waits for the pusher
	pushDone  chan struct{}
	fileError error // first file error, logged once
}

type batch struct {
	data []byte
	n    int64
}

// NewAuditLog returns an AuditLog with cfg's defaults filled. It does no I/O.
func NewAuditLog(cfg AuditConfig) *AuditLog {
	if cfg.MaxFileBytes <= 0 {
		cfg.MaxFileBytes = DefaultAuditFileBytes
	}
	if cfg.KeepFiles <= 0 {
		cfg.KeepFiles = DefaultAuditKeepFiles
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = DefaultAuditFlushInterval
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultAuditQueue
	}
	if cfg.MaxStatementBytes <= 0 {
		cfg.MaxStatementBytes = DefaultAuditMaxStatement
	}
	if cfg.MaxBatchBytes <= 0 {
		cfg.MaxBatchBytes = DefaultAuditMaxBatch
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &AuditLog{cfg: cfg, log: cfg.Logger, in: make(chan AuditRecord, cfg.Queue),
		stop: make(chan struct{}), done: make(chan struct{}), pushCtx: ctx, cancelPush: cancel,
		pushc: make(chan batch, 1), pushDone: make(chan struct{})}
}

// Open opens (or appends to) Dir/audit.log and starts the writer. push
// appends batches to the audit table; nil writes the file only.
func (l *AuditLog) Open(push AuditPush) error {
	if err := os.MkdirAll(l.cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("audit directory: %w", err)
	}
	if err := l.openFile(); err != nil {
		return err
	}
	l.push = push
	l.opened = true
	go l.pusher()
	go l.run()
	return nil
}

// Record queues rec for the audit trail. It never blocks: when the queue is
// full the record is dropped and counted (the writer logs the count).
func (l *AuditLog) Record(rec AuditRecord) {
	if l.closed.Load() {
		l.dropped.Add(1)
		return
	}
	select {
	case l.in <- rec:
	default:
		l.dropped.Add(1)
	}
}

// Stats returns the counters.
func (l *AuditLog) Stats() AuditStats {
	return AuditStats{Written: l.written.Load(), Dropped: l.dropped.Load(), Pushed: l.pushed.Load(),
		TableMissing: l.missing.Load()}
}

// Close stops taking records, writes those queued, flushes and syncs the
// file and pushes the last batch. If ctx ends first the push is cancelled.
// It is safe to call more than once.
func (l *AuditLog) Close(ctx context.Context) error {
	l.closeOnce.Do(func() {
		l.closed.Store(true)
		if !l.opened {
			close(l.done)
			return
		}
		close(l.stop)
		select {
		case <-l.done:
		case <-ctx.Done():
			l.cancelPush()
			<-l.done
			l.closeErr = fmt.Errorf("audit log: final push: %w", ctx.Err())
		}
		l.cancelPush()
		if l.fileError != nil && l.closeErr == nil {
			l.closeErr = l.fileError
		}
	})
	return l.closeErr
}

// run is the writer goroutine.
func (l *AuditLog) run() {
	defer close(l.done)
	t := time.NewTicker(l.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case rec := <-l.in:
			l.write(rec)
		case <-t.C:
			l.flush()
		case <-l.stop:
			for {
				select {
				case rec := <-l.in:
					l.write(rec)
					continue
				default:
				}
				break
			}
			l.flush()
			if l.f != nil {
				l.fail(l.f.Sync())
				l.fail(l.f.Close())
			}
			// The last batch: wait for the pusher to take it.
			if len(l.batch) > 0 && l.push != nil {
				select {
				case l.pushc <- batch{l.batch, l.batchN}:
				case <-l.pushCtx.Done():
					l.missing.Add(l.batchN)
				}
			}
			close(l.pushc)
			<-l.pushDone
			l.reportDropped()
			return
		}
	}
}

// write encodes one record to the file and the pending batch.
func (l *AuditLog) write(rec AuditRecord) {
	rec.normalize()
	if n := len(rec.Statement); n > l.cfg.MaxStatementBytes {
		rec.Statement = rec.Statement[:l.cfg.MaxStatementBytes] + fmt.Sprintf("…[%d bytes truncated]", n-l.cfg.MaxStatementBytes)
	}
	rec.Statement = RedactStatement(rec.Statement)
	line, err := json.Marshal(&rec)
	if err != nil { // cannot happen for this struct
		l.log.Error("audit: encode record", "err", err)
		return
	}
	line = append(line, '\n')
	if l.w != nil {
		if l.size > 0 && l.size+int64(len(line)) > l.cfg.MaxFileBytes {
			l.fail(l.rotate())
		}
		if l.w != nil {
			n, err := l.w.Write(line)
			l.size += int64(n)
			if l.fail(err) {
				l.written.Add(1)
			}
		}
	}
	if l.push != nil {
		if len(l.batch)+len(line) > l.cfg.MaxBatchBytes {
			l.missing.Add(1)
			return
		}
		l.batch = append(l.batch, line...)
		l.batchN++
	}
}

// flush writes the file buffer out, reports drops and hands the batch to
// the pusher if it is idle (otherwise the batch keeps growing).
func (l *AuditLog) flush() {
	if l.w != nil {
		l.fail(l.w.Flush())
	}
	l.reportDropped()
	if len(l.batch) == 0 || l.push == nil {
		return
	}
	select {
	case l.pushc <- batch{l.batch, l.batchN}:
		l.batch, l.batchN = nil, 0
	default:
	}
}

func (l *AuditLog) reportDropped() {
	if d := l.dropped.Load(); d != l.reported {
		l.log.Warn("audit: records dropped because the audit queue was full", "dropped", d-l.reported, "total", d)
		l.reported = d
	}
}

// pusher appends batches to the audit table, one at a time.
func (l *AuditLog) pusher() {
	defer close(l.pushDone)
	for b := range l.pushc {
		if err := l.push(l.pushCtx, b.data); err != nil {
			l.missing.Add(b.n)
			l.log.Error("audit: append to the audit table failed; the records are in the audit log file",
				"records", b.n, "err", err)
			continue
		}
		l.pushed.Add(b.n)
	}
}

// fail remembers and logs the first file error; it reports whether err is nil.
func (l *AuditLog) fail(err error) bool {
	if err == nil {
		return true
	}
	if l.fileError == nil {
		l.fileError = fmt.Errorf("audit log: %w", err)
		l.log.Error("audit: writing the audit log file failed", "err", err)
	}
	return false
}

func (l *AuditLog) path(i int) string {
	p := filepath.Join(l.cfg.Dir, AuditFile)
	if i > 0 {
		p += fmt.Sprintf(".%d", i)
	}
	return p
}

func (l *AuditLog) openFile() error {
	f, err := os.OpenFile(l.path(0), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("audit log: %w", err)
	}
	l.f, l.size = f, st.Size()
	if l.w == nil {
		l.w = bufio.NewWriterSize(f, 64<<10)
	} else {
		l.w.Reset(f)
	}
	return nil
}

// rotate closes audit.log and shifts it to audit.log.1, .1 to .2 and so on;
// the oldest beyond KeepFiles is overwritten.
func (l *AuditLog) rotate() error {
	err := errors.Join(l.w.Flush(), l.f.Sync(), l.f.Close())
	l.f = nil
	for i := l.cfg.KeepFiles - 1; i >= 0; i-- {
		if rerr := os.Rename(l.path(i), l.path(i+1)); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	if oerr := l.openFile(); oerr != nil {
		l.w = nil // keep going without the file; the table still gets records
		return errors.Join(err, oerr)
	}
	return err
}
