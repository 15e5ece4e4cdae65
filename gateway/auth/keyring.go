package auth

import (
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"wasteledger/manifest/signature"
)

// Keyring holds the gateway's ES256 signing keys, each named by a key id
// (its RFC 7638 thumbprint). The newest key signs; older keys stay
// published in the JWKS, and keep verifying, for Retain after a newer one
// replaced them, so that access tokens and QR tickets they signed stay
// valid until they expire. It is persisted (mode 0600) when opened from a
// file. Safe for concurrent use.
type Keyring struct {
	mu     sync.RWMutex
	path   string // "" for an in-memory ring
	retain time.Duration
	now    func() time.Time
	keys   []ringKey // oldest first; the last one signs
}

type ringKey struct {
	kid     string
	created time.Time
	retired *time.Time // when a newer key took over
	priv    *ecdsa.PrivateKey
}

// keyringFile is the persisted form.
type keyringFile struct {
	Keys []struct {
		KID     string          `json:"kid"`
		Created time.Time       `json:"created"`
		Retired *time.Time      `json:"retired,omitempty"`
		JWK     json.RawMessage `json:"jwk"` // private
	} `json:"keys"`
}

// DefaultRetain is how long a replaced key stays published: longer than any
// token or QR ticket it may have signed lives (tickets: 30 days).
const DefaultRetain = 31 * 24 * time.Hour

// NewKeyring returns an in-memory ring with one fresh key.
func NewKeyring(retain time.Duration) (*Keyring, error) {
	k := &Keyring{retain: retain, now: time.Now}
	if retain <= 0 {
		k.retain = DefaultRetain
	}
	if err := k.add(); err != nil {
		return nil, err
	}
	return k, nil
}

// OpenKeyring loads the ring from path, creating it with one fresh key when
// the file does not exist.
func OpenKeyring(path string, retain time.Duration) (*Keyring, error) {
	k := &Keyring{path: path, retain: retain, now: time.Now}
	if retain <= 0 {
		k.retain = DefaultRetain
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("keyring: %w", err)
		}
		if err := k.add(); err != nil {
			return nil, err
		}
		return k, k.save()
	}
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	var f keyringFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("keyring %s: %w", path, err)
	}
	for _, fk := range f.Keys {
		priv, err := signature.ParsePrivateJWK(fk.JWK)
		if err != nil {
			return nil, fmt.Errorf("keyring %s: key %s: %w", path, fk.KID, err)
		}
		if kid := signature.Thumbprint(&priv.PublicKey); kid != fk.KID {
			return nil, fmt.Errorf("keyring %s: key id %s does not match its key (%s)", path, fk.KID, kid)
		}
		k.keys = append(k.keys, ringKey{kid: fk.KID, created: fk.Created, retired: fk.Retired, priv: priv})
	}
	if len(k.keys) == 0 {
		if err := k.add(); err != nil {
			return nil, err
		}
		return k, k.save()
	}
	return k, nil
}

// add makes a new current key; the caller holds mu (or owns k).
func (k *Keyring) add() error {
	priv, err := signature.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	now := k.now().UTC().Truncate(time.Second)
	if n := len(k.keys); n > 0 && k.keys[n-1].retired == nil {
		k.keys[n-1].retired = &now
	}
	k.keys = append(k.keys, ringKey{kid: signature.Thumbprint(&priv.PublicKey), created: now, priv: priv})
	k.prune()
	return nil
}

// prune drops keys retired longer than retain ago.
func (k *Keyring) prune() {
	cut := k.now().Add(-k.retain)
	keep := k.keys[:0]
	for _, rk := range k.keys {
		if rk.retired == nil || rk.retired.After(cut) {
			keep = append(keep, rk)
		}
	}
	k.keys = keep
}

// buildJWKS encodes the keys in force; the caller holds mu.
func (k *Keyring) buildJWKS() []byte {
	type pub struct {
		Kty string `json:"kty"`
		Crv string `json:"crv"`
		X   string `json:"x"`
		Y   string `json:"y"`
		KID string `json:"kid"`
		Alg string `json:"alg"`
		Use string `json:"use"`
	}
	var set struct {
		Keys []pub `json:"keys"`
	}
	set.Keys = []pub{}
	cut := k.now().Add(-k.retain)
	for i := len(k.keys) - 1; i >= 0; i-- { // current key first
		if r := k.keys[i].retired; r != nil && !r.After(cut) {
			continue
		}
		var j struct{ X, Y string }
		_ = json.Unmarshal(signature.MarshalPublicJWK(&k.keys[i].priv.PublicKey), &j)
		set.Keys = append(set.Keys, pub{Kty: "EC", Crv: "P-256", X: j.X, Y: j.Y, KID: k.keys[i].kid, Alg: "ES256", Use: "sig"})
	}
	b, _ := json.Marshal(set)
	return b
}

func (k *Keyring) save() error {
	if k.path == "" {
		return nil
	}
	var f keyringFile
	for _, rk := range k.keys {
		f.Keys = append(f.Keys, struct {
			KID     string          `json:"kid"`
			Created time.Time       `json:"created"`
			Retired *time.Time      `json:"retired,omitempty"`
			JWK     json.RawMessage `json:"jwk"`
		}{rk.kid, rk.created, rk.retired, signature.MarshalPrivateJWK(rk.priv)})
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	tmp := k.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	if err := os.Rename(tmp, k.path); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	return nil
}

// Rotate makes a fresh key current; the previous one stays published for
// Retain. It returns the new key id.
func (k *Keyring) Rotate() (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.add(); err != nil {
		return "", err
	}
	if err := k.save(); err != nil {
		return "", err
	}
	return k.keys[len(k.keys)-1].kid, nil
}

// Signing returns the current key and its id.
func (k *Keyring) Signing() (kid string, key *ecdsa.PrivateKey) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	cur := k.keys[len(k.keys)-1]
	return cur.kid, cur.priv
}

// Public returns the public key with the id if it is current or was
// replaced less than Retain ago.
func (k *Keyring) Public(kid string) (*ecdsa.PublicKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	cut := k.now().Add(-k.retain)
	for i := len(k.keys) - 1; i >= 0; i-- {
		rk := k.keys[i]
		if rk.kid == kid {
			if rk.retired != nil && !rk.retired.After(cut) {
				return nil, false
			}
			return &rk.priv.PublicKey, true
		}
	}
	return nil, false
}

// JWKS returns the published keys as a JSON Web Key Set (RFC 7517), the
// current key first.
func (k *Keyring) JWKS() []byte {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.buildJWKS()
}
