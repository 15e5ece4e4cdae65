package chaincode

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"wasteledger/internal/recent"
	"wasteledger/manifest"
	"wasteledger/manifest/signature"
)

// decoded caches the decoding of small documents that nearly every
// transaction reads — organisations, keys, permits, the configuration — by
// their exact bytes. A cached value is what manifest.Decode of those bytes
// returns, so the cache can never make two peers (or a replay) decide
// differently; it only saves decoding the same bytes again. Values are
// shared: callers copy before changing a slice or pointer in them.
type decoded[T any] struct{ recent.Map[string, T] }

func (c *decoded[T]) decode(b []byte, v *T) error {
	if d, ok := recent.GetBytes(&c.Map, b); ok { // every read: no copy of b
		*v = d
		return nil
	}
	if err := manifest.Decode(b, v); err != nil {
		return err
	}
	c.Put(string(b), *v)
	return nil
}

// routes remembers, by hash, what the next step of a manifest version this
// contract wrote will read besides the manifest itself: the permits it
// names (see permitsRead). The hash names exactly one version, so an entry
// can never be wrong, only missing (another peer's chaincode wrote it, or
// it was dropped). It holds only the fields permitsRead looks at.
type routes struct {
	recent.Map[string, *manifest.Manifest]
}

func (r *routes) remember(hash string, m *manifest.Manifest) {
	if r != nil {
		r.Put(hash, &manifest.Manifest{Leg: m.Leg, Draft: manifest.Draft{ReceiverPermit: m.ReceiverPermit, Legs: slices.Clone(m.Legs)}})
	}
}

func (r *routes) of(hash string) (*manifest.Manifest, bool) {
	if r == nil {
		return nil, false
	}
	return r.Get(hash)
}

// verified remembers the party signatures that verified lately, by a
// digest of public key, message and signature. Verification is a pure
// function of the three, so a remembered success is what verifying again
// would say. Endorsing peers that share a chaincode server run the same
// proposal each: the two P-256 verifications of a handover are done once
// per transaction instead of once per endorsement. Failures are not kept.
type verified struct {
	recent.Map[[sha256.Size]byte, struct{}]
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
	if _, ok := v.Get(id); ok {
		return nil
	}
	if err := signature.Verify(pub, message, sig); err != nil {
		return err
	}
	v.Put(id, struct{}{})
	return nil
}
