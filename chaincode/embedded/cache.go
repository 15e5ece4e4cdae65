package embedded

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// version identifies the transaction that wrote a value: its block and its
// index in that block. The zero version means "absent": block 0 (genesis)
// holds no transactions.
type version struct {
	Block uint64
	Tx    uint32
}

func (v version) exists() bool { return v.Block != 0 }

// stateCache is a bounded read cache of the committed world state, shared by
// simulations and the committer. It holds positive and negative ("absent")
// entries. Invariant: an entry, when present, is the latest committed value
// of its key. The committer keeps it so by overwriting the entries of every
// key a block wrote (after the block is durable) and bumping gen; a reader
// that missed and fetched from SQLite inserts its result only if gen did not
// move meanwhile, so a stale fetch never lands on top of a newer commit.
type stateCache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
	max    int64 // bytes per shard
}

const cacheShards = 32

type cacheShard struct {
	mu    sync.RWMutex
	m     map[string]cacheEntry
	bytes int64
	gen   uint64
}

type cacheEntry struct {
	value []byte // nil when absent
	ver   version
}

const entryOverhead = 64

func newStateCache(maxBytes int64) *stateCache {
	c := &stateCache{seed: maphash.MakeSeed(), max: maxBytes / cacheShards}
	for i := range c.shards {
		c.shards[i].m = make(map[string]cacheEntry)
	}
	return c
}

func (c *stateCache) shard(key string) *cacheShard {
	return &c.shards[maphash.String(c.seed, key)%cacheShards]
}

// get returns the cached entry and, on a miss, the generation to pass to
// fill.
func (c *stateCache) get(key string) (cacheEntry, bool, uint64) {
	s := c.shard(key)
	s.mu.RLock()
	e, ok := s.m[key]
	g := s.gen
	s.mu.RUnlock()
	return e, ok, g
}

// fill inserts what a reader fetched from SQLite, unless a commit touched the
// shard since get returned gen.
func (c *stateCache) fill(key string, e cacheEntry, gen uint64) {
	if c.max <= 0 {
		return
	}
	s := c.shard(key)
	s.mu.Lock()
	if s.gen == gen {
		if _, ok := s.m[key]; !ok {
			s.m[key] = e
			s.bytes += int64(len(key)+len(e.value)) + entryOverhead
			c.evict(s)
		}
	}
	s.mu.Unlock()
}

// set records committed values; called by the committer only, after the
// block that wrote them is durable.
func (c *stateCache) set(keys []string, es []cacheEntry) {
	if c.max <= 0 {
		return
	}
	for i, key := range keys {
		s := c.shard(key)
		s.mu.Lock()
		if old, ok := s.m[key]; ok {
			s.bytes -= int64(len(key)+len(old.value)) + entryOverhead
		}
		s.m[key] = es[i]
		s.bytes += int64(len(key)+len(es[i].value)) + entryOverhead
		s.gen++
		c.evict(s)
		s.mu.Unlock()
	}
}

// evict drops arbitrary entries (Go's map order is random enough for a
// cache) until the shard is back under 7/8 of its budget.
func (c *stateCache) evict(s *cacheShard) {
	if s.bytes <= c.max {
		return
	}
	target := c.max - c.max/8
	for k, e := range s.m {
		if s.bytes <= target {
			break
		}
		delete(s.m, k)
		s.bytes -= int64(len(k)+len(e.value)) + entryOverhead
	}
}

// keyFilter is a Bloom filter over every key that has been written to the
// world state since Open, plus every key the state held at Open. "Not in
// the filter" means the key is absent without asking SQLite, which makes
// the common "does this new manifest exist yet?" read nearly free. Deleted
// keys stay in (a false positive only costs a lookup). Lock-free: bits are
// only ever set.
type keyFilter struct {
	seed maphash.Seed
	bits []atomic.Uint64
	mask uint64 // number of bits - 1 (a power of two)
}

const filterHashes = 4

// newKeyFilter sizes the filter for about n keys at 16 bits per key
// (false-positive rate well under 1 % up to 4n keys).
func newKeyFilter(n int) *keyFilter {
	nbits := uint64(1 << 20)
	for nbits < uint64(n)*16 {
		nbits <<= 1
	}
	return &keyFilter{seed: maphash.MakeSeed(), bits: make([]atomic.Uint64, nbits/64), mask: nbits - 1}
}

func (f *keyFilter) positions(key string) (uint64, uint64) {
	h := maphash.String(f.seed, key)
	return h, h>>32 | h<<32 | 1
}

func (f *keyFilter) add(key string) {
	h, d := f.positions(key)
	for i := 0; i < filterHashes; i++ {
		b := (h + uint64(i)*d) & f.mask
		f.bits[b/64].Or(1 << (b % 64))
	}
}

func (f *keyFilter) mayContain(key string) bool {
	h, d := f.positions(key)
	for i := 0; i < filterHashes; i++ {
		b := (h + uint64(i)*d) & f.mask
		if f.bits[b/64].Load()&(1<<(b%64)) == 0 {
			return false
		}
	}
	return true
}
