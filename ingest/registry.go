package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hamba/avro/v2"
)

// RegistryConfig locates a Confluent-compatible schema registry (Confluent
// Schema Registry, Apicurio's ccompat API, Karapace, Redpanda).
type RegistryConfig struct {
	URL      string // base URL, e.g. http://registry:8081 or .../apis/ccompat/v7
	Username string // HTTP Basic authentication, if set
	Password string
}

// Errors of a schema look-up. errUnknownSchema and a schema that cannot be
// used are permanent: the record goes to the dead-letter table.
// errRegistryUnavailable is not: the record waits until the registry answers.
var (
	errUnknownSchema       = errors.New("unknown schema id")
	errRegistryUnavailable = errors.New("schema registry unavailable")
)

const (
	registryTimeout = 5 * time.Second
	// unknownFor is how long the registry's "not found" for an id is
	// believed before asking again.
	unknownFor = 30 * time.Second
	// maxReferenceDepth bounds the chain of schema references followed.
	maxReferenceDepth = 16
)

// registry fetches writer schemas by id (GET /schemas/ids/{id}) and caches
// them: a Confluent schema id never changes meaning. Safe for concurrent use.
type registry struct {
	cfg  RegistryConfig
	base string
	hc   *http.Client

	mu      sync.Mutex
	byID    map[int]*writerSchema
	unknown map[int]time.Time // ids the registry did not know, until when that is believed
	// After a failure to reach the registry, look-ups of uncached ids fail
	// at once until retryAt, so that a poll does not wait once per record.
	retryAt time.Time
	fails   int
	lastErr error
}

func newRegistry(cfg RegistryConfig) *registry {
	return &registry{
		cfg:     cfg,
		base:    strings.TrimRight(cfg.URL, "/"),
		hc:      &http.Client{Timeout: registryTimeout},
		byID:    map[int]*writerSchema{},
		unknown: map[int]time.Time{},
	}
}

// schema returns the writer schema with the given id. It fails with
// errUnknownSchema when the registry does not know the id, and with
// errRegistryUnavailable when the registry cannot be asked or answers with
// an error of its own (the caller waits and asks again). A schema that is
// known but cannot be used (not Avro, does not parse, has no Iceberg
// mapping) is returned with its unusable reason set.
func (r *registry) schema(ctx context.Context, id int) (*writerSchema, error) {
	r.mu.Lock()
	defer r.mu.Unlock() // one fetch at a time: ids repeat, so callers wait for the cache
	if ws := r.byID[id]; ws != nil {
		return ws, nil
	}
	now := time.Now()
	if until, ok := r.unknown[id]; ok && now.Before(until) {
		return nil, fmt.Errorf("%w %d", errUnknownSchema, id)
	}
	if now.Before(r.retryAt) {
		return nil, fmt.Errorf("%w: %v", errRegistryUnavailable, r.lastErr)
	}
	ws, err := r.fetch(ctx, id)
	switch {
	case errors.Is(err, errUnknownSchema):
		r.unknown[id] = now.Add(unknownFor)
		r.fails = 0
		return nil, err
	case err != nil:
		r.fails++
		r.lastErr = err
		r.retryAt = now.Add(min(100*time.Millisecond<<min(r.fails, 6), 5*time.Second))
		return nil, fmt.Errorf("%w: %v", errRegistryUnavailable, err)
	}
	r.fails = 0
	delete(r.unknown, id)
	r.byID[id] = ws
	return ws, nil
}

// schemaResponse is the body of GET /schemas/ids/{id} and of GET
// /subjects/{subject}/versions/{version}.
type schemaResponse struct {
	Schema     string            `json:"schema"`
	SchemaType string            `json:"schemaType"` // absent for Avro
	References []schemaReference `json:"references"`
}

type schemaReference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

func (r *registry) fetch(ctx context.Context, id int) (*writerSchema, error) {
	var resp schemaResponse
	if err := r.get(ctx, "/schemas/ids/"+strconv.Itoa(id), &resp); err != nil {
		if errors.Is(err, errUnknownSchema) {
			return nil, fmt.Errorf("%w %d", errUnknownSchema, id)
		}
		return nil, err
	}
	ws := &writerSchema{id: id}
	if t := strings.ToUpper(resp.SchemaType); t != "" && t != "AVRO" {
		ws.unusable = fmt.Sprintf("schema id %d is a %s schema, not Avro", id, resp.SchemaType)
		return ws, nil
	}
	// Named types defined by referenced schemas must be parsed first, into
	// the cache the main schema is parsed with.
	cache := &avro.SchemaCache{}
	if err := r.references(ctx, resp.References, cache, 0); err != nil {
		if errors.Is(err, errRegistryUnavailable) {
			return nil, err
		}
		ws.unusable = fmt.Sprintf("schema id %d: %v", id, err)
		return ws, nil
	}
	sc, err := avro.ParseWithCache(resp.Schema, "", cache)
	if err != nil {
		ws.unusable = fmt.Sprintf("schema id %d does not parse: %v", id, err)
		return ws, nil
	}
	ws.init(sc)
	return ws, nil
}

// references parses the schemas refs names into cache, depth-first.
func (r *registry) references(ctx context.Context, refs []schemaReference, cache *avro.SchemaCache, depth int) error {
	if len(refs) > 0 && depth >= maxReferenceDepth {
		return fmt.Errorf("schema references nest deeper than %d", maxReferenceDepth)
	}
	for _, ref := range refs {
		var resp schemaResponse
		path := "/subjects/" + url.PathEscape(ref.Subject) + "/versions/" + strconv.Itoa(ref.Version)
		if err := r.get(ctx, path, &resp); err != nil {
			if errors.Is(err, errUnknownSchema) {
				return fmt.Errorf("referenced schema %s (subject %q version %d) not found", ref.Name, ref.Subject, ref.Version)
			}
			return err
		}
		if err := r.references(ctx, resp.References, cache, depth+1); err != nil {
			return err
		}
		if _, err := avro.ParseWithCache(resp.Schema, "", cache); err != nil {
			return fmt.Errorf("referenced schema %s does not parse: %v", ref.Name, err)
		}
	}
	return nil
}

// get fetches path into out. A 404 is errUnknownSchema; any other failure
// (network, timeout, another status, a body that is not the expected JSON)
// is errRegistryUnavailable.
func (r *registry) get(ctx context.Context, path string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, registryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.base+path, nil)
	if err != nil {
		return fmt.Errorf("%w: %v", errRegistryUnavailable, err)
	}
	req.Header.Set("Accept", "application/vnd.schemaregistry.v1+json, application/json")
	if r.cfg.Username != "" || r.cfg.Password != "" {
		req.SetBasicAuth(r.cfg.Username, r.cfg.Password)
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", errRegistryUnavailable, redactURL(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("%w: read %s: %v", errRegistryUnavailable, path, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return errUnknownSchema
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%w: GET %s: HTTP %d: %s", errRegistryUnavailable, path, resp.StatusCode, snippet(body))
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%w: GET %s: %v", errRegistryUnavailable, path, err)
	}
	return nil
}

// redactURL drops the URL from a client error: a registry URL may carry
// credentials (https://user:pass@host), which must not reach the logs.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
