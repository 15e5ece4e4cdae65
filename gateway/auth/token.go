package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"wasteledger/manifest"
)

// AccessTTL is the lifetime of an access token.
const AccessTTL = 15 * time.Minute

// Claims are the claims of an access token.
type Claims struct {
	jwt.RegisteredClaims
	Org  string `json:"org"`
	Role Role   `json:"role"`
	MSP  string `json:"msp"`
}

// Tokens issues and verifies ES256 access tokens signed by the keyring.
// Verified tokens are cached by their SHA-256 for their remaining lifetime
// (bounded), so that a client's repeated requests cost no P-256
// verification.
type Tokens struct {
	keys     *Keyring
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
	cache    tokenCache
}

// TokensConfig configures NewTokens.
type TokensConfig struct {
	Issuer   string        // iss; default "wasteledger"
	Audience string        // aud; default "wasteledger-api"
	TTL      time.Duration // default AccessTTL
	Now      func() time.Time
	// CacheEntries bounds the verified-token cache (default 65536; <0
	// disables it).
	CacheEntries int
}

// NewTokens returns an issuer and verifier over the keyring.
func NewTokens(k *Keyring, cfg TokensConfig) *Tokens {
	t := &Tokens{keys: k, issuer: cfg.Issuer, audience: cfg.Audience, ttl: cfg.TTL, now: cfg.Now}
	if t.issuer == "" {
		t.issuer = "wasteledger"
	}
	if t.audience == "" {
		t.audience = "wasteledger-api"
	}
	if t.ttl <= 0 {
		t.ttl = AccessTTL
	}
	if t.now == nil {
		t.now = time.Now
	}
	n := cfg.CacheEntries
	if n == 0 {
		n = 1 << 16
	}
	t.cache.init(n)
	return t
}

// Issuer is the iss the tokens carry.
func (t *Tokens) Issuer() string { return t.issuer }

// Audience is the aud the tokens carry.
func (t *Tokens) Audience() string { return t.audience }

// Issue signs an access token for the actor; it returns the token and its
// expiry.
func (t *Tokens) Issue(a Actor) (string, time.Time, error) {
	now := t.now().UTC().Truncate(time.Second)
	exp := now.Add(t.ttl)
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", time.Time{}, err
	}
	c := Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.issuer,
			Subject:   a.Subject,
			Audience:  jwt.ClaimStrings{t.audience},
			ExpiresAt: jwt.NewNumericDate(exp),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        base64.RawURLEncoding.EncodeToString(jti[:]),
		},
		Org: a.Org, Role: a.Role, MSP: a.MSP,
	}
	kid, key := t.keys.Signing()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign access token: %w", err)
	}
	return s, exp, nil
}

// Verify checks an access token — ES256 only (never none, HS* or RS*), a
// key id of the keyring, the issuer, the audience, an expiry in the future
// and an issue time not in the future — and returns its actor. Errors are
// manifest.Unauthenticated.
func (t *Tokens) Verify(token string) (Actor, error) {
	sum := sha256.Sum256([]byte(token))
	now := t.now()
	if a, ok := t.cache.get(sum, now); ok {
		return a, nil
	}
	a, exp, err := t.parse(token, now)
	if err != nil {
		return Actor{}, err
	}
	t.cache.put(sum, a, exp, now)
	return a, nil
}

func (t *Tokens) parse(token string, now time.Time) (Actor, time.Time, error) {
	if len(token) > maxTokenBytes {
		return Actor{}, time.Time{}, manifest.Errorf(manifest.Unauthenticated, "access token too long")
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodES256.Alg()}),
		jwt.WithIssuer(t.issuer),
		jwt.WithAudience(t.audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithStrictDecoding(),
	)
	var c Claims
	_, err := p.ParseWithClaims(token, &c, func(tok *jwt.Token) (any, error) {
		// QR tickets are signed by the same keys: their "typ" keeps them
		// from passing as access tokens.
		if typ, ok := tok.Header["typ"]; ok && typ != "JWT" {
			return nil, fmt.Errorf("token type %v is not an access token", typ)
		}
		kid, _ := tok.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("token has no key id")
		}
		pub, ok := t.keys.Public(kid)
		if !ok {
			return nil, fmt.Errorf("unknown key id %q", kid)
		}
		return pub, nil
	})
	if err != nil {
		return Actor{}, time.Time{}, manifest.Errorf(manifest.Unauthenticated, "access token refused: %v", reason(err))
	}
	if c.Subject == "" || c.Org == "" || c.MSP == "" || !slices.Contains(Roles, c.Role) {
		return Actor{}, time.Time{}, manifest.Errorf(manifest.Unauthenticated, "access token refused: incomplete claims")
	}
	return Actor{Subject: c.Subject, Org: c.Org, Role: c.Role, MSP: c.MSP}, c.ExpiresAt.Time, nil
}

const maxTokenBytes = 4096

// reason names why a token was refused without echoing it.
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "expired"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "wrong audience"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "bad signature or algorithm"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "issued in the future"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "a required claim is missing"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "unverifiable (unknown key id, or not an access token)"
	}
	return "invalid"
}

// tokenCache maps the SHA-256 of verified tokens to their actor until they
// expire. Sharded to keep concurrent requests off one lock.
type tokenCache struct {
	shards [16]cacheShard
	max    int // per shard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[[32]byte]cached
}

type cached struct {
	a   Actor
	exp time.Time
}

func (c *tokenCache) init(entries int) {
	if entries < 0 {
		c.max = 0
		return
	}
	c.max = max(entries/len(c.shards), 1)
	for i := range c.shards {
		c.shards[i].m = make(map[[32]byte]cached)
	}
}

func (c *tokenCache) get(sum [32]byte, now time.Time) (Actor, bool) {
	if c.max == 0 {
		return Actor{}, false
	}
	s := &c.shards[sum[0]%16]
	s.mu.RLock()
	e, ok := s.m[sum]
	s.mu.RUnlock()
	if !ok || !now.Before(e.exp) {
		return Actor{}, false
	}
	return e.a, true
}

func (c *tokenCache) put(sum [32]byte, a Actor, exp, now time.Time) {
	if c.max == 0 {
		return
	}
	s := &c.shards[sum[0]%16]
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= c.max {
		for k, e := range s.m {
			if !now.Before(e.exp) {
				delete(s.m, k)
			}
		}
		if len(s.m) >= c.max { // still full: start over rather than grow
			clear(s.m)
		}
	}
	s.m[sum] = cached{a: a, exp: exp}
}
