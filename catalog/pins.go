package catalog

import "sort"

// A pin says that a running query of this process reads a snapshot's
// files: snapshot expiry keeps pinned snapshots (and so their files) until
// the last query reading them releases its pin. Other processes' queries
// are protected by time instead: expiry keeps every snapshot that was
// current within the retention age.
type pinKey struct {
	table    string
	snapshot int64
}

// Pin notes that a query reads snapshot of ns.name until release is
// called. Pinning snapshot 0 (an empty table) is a no-op.
func (c *Catalog) Pin(ns, name string, snapshot int64) (release func()) {
	if snapshot == 0 {
		return func() {}
	}
	k := pinKey{ns + "." + name, snapshot}
	c.mu.Lock()
	c.pins[k]++
	c.mu.Unlock()
	released := false
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if released {
			return
		}
		released = true
		if c.pins[k]--; c.pins[k] <= 0 {
			delete(c.pins, k)
		}
	}
}

// Pinned returns the snapshots of ns.name that running queries read,
// sorted.
func (c *Catalog) Pinned(ns, name string) []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int64
	for k := range c.pins {
		if k.table == ns+"."+name {
			out = append(out, k.snapshot)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
