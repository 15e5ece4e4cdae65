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

// routes remembers, by hash, what the next step of a manifest version this
// contract wrote will read besides the manifest itself: the permits it
// names (see permitsRead). The hash names exactly one version, so an entry
// can never be wrong, only missing (another peer's chaincode wrote it, or
// it was dropped).
type routes struct {
	mu sync.Mutex
	m  map[string]*manifest.Manifest // only the fields permitsRead looks at
}

func (r *routes) put(hash string, m *manifest.Manifest) {
	if r == nil {
		return
	}
	v := &manifest.Manifest{Leg: m.Leg, Draft: manifest.Draft{ReceiverPermit: m.ReceiverPermit, Legs: slices.Clone(m.Legs)}}
	r.mu.Lock()
	if r.m == nil || len(r.m) >= maxDecoded {
		r.m = make(map[string]*manifest.Manifest)
	}
	r.m[hash] = v
	r.mu.Unlock()
}

func (r *routes) get(hash string) (*manifest.Manifest, bool) {
	if r == nil {
		return nil, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.m[hash]
	return v, ok
}

// verified remembers the party signatures that verified lately, by a
// digest of public key, message and signature. Verification is a pure
// function of the three, so a remembered success is what verifying again
// would say. Endorsing peers that share a chaincode server run the same
// proposal each: the two P-256 verifications of a handover are done once
// per transaction instead of once per endorsement. Failures are not kept.
type verified struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]struct{}
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
	v.mu.Lock()
	_, ok := v.m[id]
	v.mu.Unlock()
	if ok {
		return nil
	}
	if err := signature.Verify(pub, message, sig); err != nil {
		return err
	}
	v.mu.Lock()
	if v.m == nil || len(v.m) >= maxDecoded {
		v.m = make(map[[sha256.Size]byte]struct{})
	}
	v.m[id] = struct{}{}
	v.mu.Unlock()
	return nil
}
