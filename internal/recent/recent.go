// Package recent is a bounded map of what the last few thousand
// transactions need again, in two generations: when the current one is
// full it becomes the previous one and the oldest generation is dropped.
// An entry survives at least Limit later insertions, and one still in use
// is carried into the current generation when it is read, with no
// eviction order to keep. Safe for concurrent use; the zero Map is ready
// to use.
package recent

import "sync"

// DefaultLimit bounds each generation of a Map whose Limit is 0.
const DefaultLimit = 4096

// Map maps keys to values. It holds at most 2×Limit entries.
type Map[K comparable, V any] struct {
	Limit int // entries per generation; 0: DefaultLimit

	mu        sync.RWMutex
	cur, prev map[K]V
}

// Get returns the value remembered for k. One found in the previous
// generation is still in use: it is carried into the current one, to be
// kept past the next turn.
func (r *Map[K, V]) Get(k K) (V, bool) {
	r.mu.RLock()
	v, ok := r.cur[k]
	old := false
	if !ok {
		v, old = r.prev[k]
	}
	r.mu.RUnlock()
	if old {
		r.Put(k, v)
	}
	return v, ok || old
}

// Put remembers v for k.
func (r *Map[K, V]) Put(k K, v V) {
	limit := r.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	r.mu.Lock()
	if r.cur == nil || len(r.cur) >= limit {
		r.prev, r.cur = r.cur, make(map[K]V)
	}
	r.cur[k] = v
	r.mu.Unlock()
}

// GetBytes is Get of a string key given as bytes, without copying them
// unless the entry moves generation (a hot path: a document's exact bytes
// as the key).
func GetBytes[V any](r *Map[string, V], b []byte) (V, bool) {
	r.mu.RLock()
	v, ok := r.cur[string(b)]
	old := false
	if !ok {
		v, old = r.prev[string(b)]
	}
	r.mu.RUnlock()
	if old {
		r.Put(string(b), v)
	}
	return v, ok || old
}

// Len is the number of entries remembered, both generations.
func (r *Map[K, V]) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	n := len(r.cur)
	for k := range r.prev {
		if _, dup := r.cur[k]; !dup {
			n++
		}
	}
	return n
}
