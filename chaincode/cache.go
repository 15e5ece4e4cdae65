package chaincode

import (
	"sync"
	"wasteledger/manifest"
)

// decoded caches the decoding of small documents that nearly every
// transaction reads — organisations, keys, permits, the configuration — by
// their exact bytes. A cached value is what manifest.Decode of those bytes
// returns, so the cache can never make two peers (or a replay) decide
// differently; it only saves decoding the same bytes again. Values are
// shared: callers copy before changing a slice or pointer in them.
type decoded[T any] struct {
	mu sync.RWMutex
	m  map[string]T
}

// maxDecoded bounds each cache; it is cleared when full.
const maxDecoded = 4096

func (c *decoded[T]) decode(b []byte, v *T) error {
	c.mu.RLock()
	d, ok := c.m[string(b)]
	c.mu.RUnlock()
	if ok {
		*v = d
		return nil
	}
	if err := manifest.Decode(b, v); err != nil {
		return err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxDecoded {
		c.m = make(map[string]T)
	}
	c.m[string(b)] = *v
	c.mu.Unlock()
	return nil
}
