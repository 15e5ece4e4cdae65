// Package recent is a map bounded by emptying it when full: a cache of what
// the last few thousand transactions need again, with no eviction order to
// keep. Safe for concurrent use; the zero Map is ready to use.
package recent

import "sync"

// DefaultLimit bounds a Map whose Limit is 0.
const DefaultLimit = 4096

// Map maps keys to values it remembers until it holds Limit entries, when
// the next Put starts it afresh.
type Map[K comparable, V any] struct {
	Limit int // 0: DefaultLimit

	mu sync.RWMutex
	m  map[K]V
}

// Get returns the value remembered for k.
func (r *Map[K, V]) Get(k K) (V, bool) {
	r.mu.RLock()
	v, ok := r.m[k]
	r.mu.RUnlock()
	return v, ok
}

// Put remembers v for k.
func (r *Map[K, V]) Put(k K, v V) {
	limit := r.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	r.mu.Lock()
	if r.m == nil || len(r.m) >= limit {
		r.m = make(map[K]V)
	}
	r.m[k] = v
	r.mu.Unlock()
}

// GetBytes is Get of a string key given as bytes, without copying them (a
// hot path: a document's exact bytes as the key).
func GetBytes[V any](r *Map[string, V], b []byte) (V, bool) {
	r.mu.RLock()
	v, ok := r.m[string(b)]
	r.mu.RUnlock()
	return v, ok
}

// Len is the number of entries remembered.
func (r *Map[K, V]) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.m)
}
