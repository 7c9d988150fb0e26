package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/floe-dev/floe/catalog"
)

// Defaults for Config.
const (
	DefaultCommitInterval = time.Second
	DefaultMaxBodyBytes   = 64 << 20
)

// Sentinel errors of Push. Callers test them with errors.Is.
var (
	// ErrInvalidName: the namespace or table name is not [a-z_][a-z0-9_]*
	// of at most 63 characters.
	ErrInvalidName = errors.New("invalid name")
	// ErrEmptyBody: the request holds no record.
	ErrEmptyBody = errors.New("request body holds no record")
	// ErrTooLarge: the body is longer than Config.MaxBodyBytes.
	ErrTooLarge = errors.New("request body too large")
	// ErrClosed: the Service is closing and takes no more requests.
	ErrClosed = errors.New("ingest service is shutting down")
)

// RecordError rejects a request because of one of its records: a line that
// is not a JSON object, or a value whose type conflicts with its column.
// Nothing of a request that gets a RecordError is committed.
type RecordError struct {
	Line   int    // 1-based line of the body
	Field  string // path of the field ("vitals.hr", "tags[]"); empty for malformed lines
	Reason string
}

func (e *RecordError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
	}
	return fmt.Sprintf("line %d: field %q: %s", e.Line, e.Field, e.Reason)
}

func typeError(line int32, path, reason string) *RecordError {
	return &RecordError{Line: int(line), Field: path, Reason: reason}
}

// Config configures a Service. Zero values take the defaults.
type Config struct {
	// CommitInterval is the least time between two commits to one table
	// (default 1s). Requests arriving meanwhile share the next commit.
	CommitInterval time.Duration
	// MaxBodyBytes bounds the body of one HTTP request (default 64 MiB).
	MaxBodyBytes int64
	// Logger receives operational logs (default: discard).
	Logger *slog.Logger
	// Registerer receives the floe_http_ingest_* metrics (nil: not exported).
	Registerer prometheus.Registerer
}

// Result is what a successful push committed.
type Result struct {
	Rows       int64 `json:"rows"`
	SnapshotID int64 `json:"snapshot_id"`
}

// Service commits pushed records to Iceberg tables, one committer goroutine
// per table that has pending requests.
type Service struct {
	cat *catalog.Catalog
	cfg Config
	log *slog.Logger

	ctx    context.Context // cancelled when Close gives up waiting
	cancel context.CancelFunc

	mu         sync.Mutex
	closed     bool
	stopping   chan struct{} // closed by Close: committers flush and exit
	committers map[tableKey]*committer
	wg         sync.WaitGroup // committers

	stats    *stats                 // per table, for Status and the metrics
	requests *prometheus.CounterVec // HTTP requests by status code
}

type tableKey struct{ ns, name string }

// New returns a Service writing through cat. It does no I/O. It panics if
// cfg.Registerer already holds the Service's metrics (a wiring bug).
func New(cat *catalog.Catalog, cfg Config) *Service {
	if cfg.CommitInterval <= 0 {
		cfg.CommitInterval = DefaultCommitInterval
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Service{
		cat:        cat,
		cfg:        cfg,
		log:        cfg.Logger,
		ctx:        ctx,
		cancel:     cancel,
		stopping:   make(chan struct{}),
		committers: map[tableKey]*committer{},
		stats:      newStats("floe_http_ingest", "HTTP push"),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_http_ingest_requests_total",
			Help: "HTTP ingest requests answered, by status code.",
		}, []string{"code"}),
	}
	if err := register(cfg.Registerer, newCollector(s.stats, "floe_http_ingest", false), s.requests); err != nil {
		panic(fmt.Sprintf("ingest: metrics: %v", err))
	}
	return s
}

// Status returns a row per table this Service has committed to since it
// started. It is safe to call at any time, from any goroutine.
func (s *Service) Status() []StreamStatus { return s.stats.snapshot(true) }

// record is one decoded line of a request.
type record struct {
	line int32
	v    value // an object
}

// pending is a parsed request waiting for its commit.
type pending struct {
	ctx     context.Context
	records []record
	bytes   int64 // of the request body
	shape   *obs
	done    chan outcome // buffered: the committer never blocks on it
}

type outcome struct {
	res Result
	err error
}

// Push decodes the NDJSON records in body, checks them against the schema of
// ns.table (creating or evolving it) and returns once they are committed.
// It fails with ErrInvalidName, ErrEmptyBody, ErrTooLarge, ErrClosed, a
// *RecordError, the body's read error or an internal error; on any error nothing of the request was committed,
// except that an error from ctx ending while the commit runs leaves the
// outcome unknown.
func (s *Service) Push(ctx context.Context, ns, tbl string, body io.Reader) (Result, error) {
	if err := validName("namespace", ns); err != nil {
		return Result{}, err
	}
	if err := validName("table", tbl); err != nil {
		return Result{}, err
	}
	if s.isClosed() {
		return Result{}, ErrClosed
	}
	text, err := readBody(body, s.cfg.MaxBodyBytes)
	if err != nil {
		return Result{}, err
	}
	p, err := parseBody(text)
	if err != nil {
		return Result{}, err
	}
	// Check against the current schema now, so most bad requests fail
	// without waiting for a commit. The committer checks again against the
	// schema as it is at commit time.
	t, err := s.cat.Table(ctx, ns, tbl)
	switch {
	case err == nil:
		if rerr := merge(schemaNode(t.Schema()), p.shape); rerr != nil {
			return Result{}, rerr
		}
	case errors.Is(err, catalog.ErrNoSuchTable):
		if rerr := merge(schemaNode(nil), p.shape); rerr != nil {
			return Result{}, rerr
		}
	default:
		return Result{}, fmt.Errorf("load table %s.%s: %w", ns, tbl, err)
	}

	p.ctx = ctx
	p.bytes = int64(len(text))
	p.done = make(chan outcome, 1)
	if err := s.enqueue(tableKey{ns, tbl}, p); err != nil {
		return Result{}, err
	}
	select {
	case o := <-p.done:
		return o.res, o.err
	case <-ctx.Done():
		return Result{}, context.Cause(ctx)
	}
}

func (s *Service) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// readBody reads the whole body, at most limit bytes, into one string: the
// decoded records refer to it instead of copying each string.
func readBody(body io.Reader, limit int64) (string, error) {
	var b strings.Builder
	n, err := io.Copy(&b, io.LimitReader(body, limit+1))
	if err != nil {
		return "", err
	}
	if n > limit {
		return "", fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
	}
	return b.String(), nil
}

// parseBody decodes the lines of text and summarises their shape.
func parseBody(text string) (*pending, error) {
	p := &pending{shape: &obs{}, records: make([]record, 0, strings.Count(text, "\n")+1)}
	var ps parser
	line := int32(0)
	for len(text) > 0 {
		line++
		var l string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			l, text = text[:i], text[i+1:]
		} else {
			l, text = text, ""
		}
		if blank(l) {
			continue
		}
		v, msg := ps.parseRecord(l)
		if msg != "" {
			return nil, &RecordError{Line: int(line), Reason: msg}
		}
		if v.kind != kObject {
			return nil, &RecordError{Line: int(line), Reason: "record is not a JSON object"}
		}
		if err := p.shape.observe(&v, line, ""); err != nil {
			return nil, err
		}
		p.records = append(p.records, record{line: line, v: v})
	}
	if len(p.records) == 0 {
		return nil, ErrEmptyBody
	}
	return p, nil
}

func blank(l string) bool {
	for i := 0; i < len(l); i++ {
		switch l[i] {
		case ' ', '\t', '\r':
		default:
			return false
		}
	}
	return true
}

// validName checks a namespace or table name: [a-z_][a-z0-9_]*, at most 63
// characters.
func validName(what, name string) error {
	ok := len(name) > 0 && len(name) <= 63
	for i := 0; ok && i < len(name); i++ {
		c := name[i]
		ok = c == '_' || (c >= 'a' && c <= 'z') || (i > 0 && c >= '0' && c <= '9')
	}
	if !ok {
		return fmt.Errorf("%w: %s %q must match [a-z_][a-z0-9_]* and be at most 63 characters", ErrInvalidName, what, name)
	}
	return nil
}

// Close stops taking requests (Push returns ErrClosed, HTTP answers 503),
// commits what is pending and waits for the committers. If ctx ends first it
// cancels the commits in flight, waits for the committers to return and
// returns ctx's error; requests cut short get an error, never a success.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.stopping)
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() { // owned here: Close waits for it below in both cases
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.cancel()
		<-done
		return context.Cause(ctx)
	}
}
