package gateway

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/floe-dev/floe/catalog"
)

// rewriteCache remembers the rewritten SQL of recent statements so that a
// statement repeated by a client, a dashboard or a pool does not pay for
// DuckDB's parse-tree round trip again. An entry is keyed by everything
// the rewrite depends on besides the catalog (text, principal, settings)
// and is used only while every table it reads is still at the snapshot it
// was built for; name resolution is trusted for at most entryTTL, the
// staleness the catalog cache allows anyway.
type rewriteCache struct {
	mu      sync.Mutex
	entries map[string]*rewriteEntry
}

type rewriteEntry struct {
	r      rewritten
	tables []tableSnapshot
	built  time.Time
}

type tableSnapshot struct {
	ref      tableRef
	snapshot int64
}

const (
	entryTTL        = time.Second
	maxCacheEntries = 4096
)

func newRewriteCache() *rewriteCache {
	return &rewriteCache{entries: map[string]*rewriteEntry{}}
}

// rewriteKey is the cache key of a statement in this session.
func (s *Session) rewriteKey(query string, casts map[string]string) string {
	// The policy in force is part of the key: a reload never serves a
	// rewrite made under the previous policy.
	key := fmt.Sprintf("%s\x00%d\x00%s\x00%t\x00%s\x00%s", s.user, s.engine.policy().Serial(), s.sourceIP, s.tls,
		s.settings.fingerprint(), query)
	for _, id := range slices.Sorted(maps.Keys(casts)) {
		key += "\x00$" + id + "::" + casts[id]
	}
	return key
}

func (c *rewriteCache) get(ctx context.Context, cat *catalog.Catalog, key string) (rewritten, bool) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if !ok || time.Since(e.built) > entryTTL {
		return rewritten{}, false
	}
	for _, t := range e.tables {
		tbl, err := cat.Table(ctx, t.ref.namespace, t.ref.name)
		if err != nil || tbl.SnapshotID() != t.snapshot {
			return rewritten{}, false
		}
	}
	return e.r, true
}

func (c *rewriteCache) put(key string, r rewritten, rels []*boundRelation) {
	e := &rewriteEntry{r: r, built: time.Now()}
	for _, r := range rels {
		e.tables = append(e.tables, tableSnapshot{ref: r.ref, snapshot: r.rel.snapshot})
	}
	c.mu.Lock()
	if len(c.entries) >= maxCacheEntries {
		clear(c.entries)
	}
	c.entries[key] = e
	c.mu.Unlock()
}

// fingerprint identifies the settings values a rewrite may embed
// (current_setting, search_path); it is rebuilt after each change.
func (s *settings) fingerprint() string {
	if s.fp == "" {
		var b strings.Builder
		for _, k := range sortedSettingNames() {
			b.WriteString(s.values[k])
			b.WriteByte(0)
		}
		s.fp = b.String()
	}
	return s.fp
}
