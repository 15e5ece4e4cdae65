package chaincode

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"sync"

	"wasteledger/manifest"
	"wasteledger/manifest/signature"
)

// recent is a map bounded to maxRecent entries, emptied when full: the
// caches below only ever hold what a few thousand recent transactions
// need again.
type recent[K comparable, V any] struct {
	mu sync.RWMutex
	m  map[K]V
}

// maxRecent bounds each cache.
const maxRecent = 4096

func (r *recent[K, V]) get(k K) (V, bool) {
	r.mu.RLock()
	v, ok := r.m[k]
	r.mu.RUnlock()
	return v, ok
}

func (r *recent[K, V]) put(k K, v V) {
	r.mu.Lock()
	if r.m == nil || len(r.m) >= maxRecent {
		r.m = make(map[K]V)
	}
	r.m[k] = v
	r.mu.Unlock()
}

// decoded caches the decoding of small documents that nearly every
// transaction reads — organisations, keys, permits, the configuration — by
// their exact bytes. A cached value is what manifest.Decode of those bytes
// returns, so the cache can never make two peers (or a replay) decide
// differently; it only saves decoding the same bytes again. Values are
// shared: callers copy before changing a slice or pointer in them.
type decoded[T any] struct{ recent[string, T] }

func (c *decoded[T]) decode(b []byte, v *T) error {
	// Looked up in place rather than through get: m[string(b)] does not
	// copy the bytes, a string argument would (a hot path: every read).
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
	c.put(string(b), *v)
	return nil
}

// routes remembers, by hash, what the next step of a manifest version this
// contract wrote will read besides the manifest itself: the permits it
// names (see permitsRead). The hash names exactly one version, so an entry
// can never be wrong, only missing (another peer's chaincode wrote it, or
// it was dropped). It holds only the fields permitsRead looks at.
type routes struct {
	recent[string, *manifest.Manifest]
}

func (r *routes) remember(hash string, m *manifest.Manifest) {
	if r != nil {
		r.put(hash, &manifest.Manifest{Leg: m.Leg, Draft: manifest.Draft{ReceiverPermit: m.ReceiverPermit, Legs: slices.Clone(m.Legs)}})
	}
}

func (r *routes) of(hash string) (*manifest.Manifest, bool) {
	if r == nil {
		return nil, false
	}
	return r.get(hash)
}

// verified remembers the party signatures that verified lately, by a
// digest of public key, message and signature. Verification is a pure
// function of the three, so a remembered success is what verifying again
// would say. Endorsing peers that share a chaincode server run the same
// proposal each: the two P-256 verifications of a handover are done once
// per transaction instead of once per endorsement. Failures are not kept.
type verified struct {
	recent[[sha256.Size]byte, struct{}]
}

func (v *verified) verify(pub *ecdsa.PublicKey, message []byte, sig string) error {
	if pub == nil {
		return signature.Verify(pub, message, sig)
	}
	key, err := pub.Bytes()
	if err != nil {
		return signature.Verify(pub, message, sig)
	}
	h := sha256.New()
	for _, part := range [][]byte{key, []byte(sig), message} {
		var n [8]byte
		h.Write(binary.BigEndian.AppendUint64(n[:0], uint64(len(part))))
		h.Write(part)
	}
	var id [sha256.Size]byte
	h.Sum(id[:0])
	if _, ok := v.get(id); ok {
		return nil
	}
	if err := signature.Verify(pub, message, sig); err != nil {
		return err
	}
	v.put(id, struct{}{})
	return nil
}
