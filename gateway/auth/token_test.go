package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"wasteledger/manifest"
)

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestTokens(t *testing.T) (*Tokens, *Keyring, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	k, err := NewKeyring(0)
	if err != nil {
		t.Fatal(err)
	}
	k.now = clk.now
	return NewTokens(k, TokensConfig{Now: clk.now}), k, clk
}

var alice = Actor{Subject: "factory-clerk", Org: "91440112MA5CXXXX0X", Role: ProducerClerk, MSP: "ProducerMSP"}

func claimsFor(a Actor, iss, aud string, iat, exp time.Time) Claims {
	return Claims{
		RegisteredClaims: jwt.RegisteredClaims{Issuer: iss, Subject: a.Subject, Audience: jwt.ClaimStrings{aud},
			IssuedAt: jwt.NewNumericDate(iat), ExpiresAt: jwt.NewNumericDate(exp), ID: "j1"},
		Org: a.Org, Role: a.Role, MSP: a.MSP,
	}
}

func signES256(t *testing.T, key *ecdsa.PrivateKey, kid string, c jwt.Claims, header map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// TestVerify refuses every token that is not an unexpired ES256 access
// token of this gateway for this audience.
func TestVerify(t *testing.T) {
	tokens, keys, clk := newTestTokens(t)
	kid, key := keys.Signing()
	now := clk.t
	good := claimsFor(alice, "wasteledger", "wasteledger-api", now, now.Add(15*time.Minute))
	pubDER, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	issued, _, err := tokens.Issue(alice)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(issued, ".")

	hs256 := func(secret []byte) string { // alg confusion: the public key as an HMAC secret
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, good)
		tok.Header["kid"] = kid
		s, _ := tok.SignedString(secret)
		return s
	}
	rs256 := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, good)
		tok.Header["kid"] = kid
		s, _ := tok.SignedString(rsaKey)
		return s
	}()
	tamper := func() string { // the payload changed after signing
		c := good
		c.Role = Admin
		b, _ := json.Marshal(c)
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
	}()
	claimsJSON, _ := json.Marshal(good)

	cases := []struct {
		name, token string
		ok          bool
	}{
		{"issued", issued, true},
		{"signed by hand", signES256(t, key, kid, good, nil), true},
		{"alg none", b64(`{"alg":"none","typ":"JWT","kid":"`+kid+`"}`) + "." + base64.RawURLEncoding.EncodeToString(claimsJSON) + ".", false},
		{"alg None", b64(`{"alg":"None","kid":"`+kid+`"}`) + "." + base64.RawURLEncoding.EncodeToString(claimsJSON) + ".", false},
		{"HS256 with the public key", hs256(pubDER), false},
		{"HS256 with the kid", hs256([]byte(kid)), false},
		{"RS256", rs256, false},
		{"another key, same kid", signES256(t, other, kid, good, nil), false},
		{"unknown kid", signES256(t, key, "not-a-kid", good, nil), false},
		{"no kid", signES256(t, key, "", good, nil), false},
		{"wrong issuer", signES256(t, key, kid, claimsFor(alice, "evil", "wasteledger-api", now, now.Add(time.Minute)), nil), false},
		{"wrong audience", signES256(t, key, kid, claimsFor(alice, "wasteledger", "other-api", now, now.Add(time.Minute)), nil), false},
		{"expired", signES256(t, key, kid, claimsFor(alice, "wasteledger", "wasteledger-api", now.Add(-20*time.Minute), now.Add(-5*time.Minute)), nil), false},
		{"no expiry", signES256(t, key, kid, jwt.MapClaims{"iss": "wasteledger", "aud": "wasteledger-api", "sub": "x", "org": alice.Org, "role": "admin", "msp": "P", "iat": now.Unix()}, nil), false},
		{"issued in the future", signES256(t, key, kid, claimsFor(alice, "wasteledger", "wasteledger-api", now.Add(time.Hour), now.Add(2*time.Hour)), nil), false},
		{"unknown role", signES256(t, key, kid, claimsFor(Actor{Subject: "x", Org: alice.Org, Role: "root", MSP: "P"}, "wasteledger", "wasteledger-api", now, now.Add(time.Minute)), nil), false},
		{"no subject", signES256(t, key, kid, claimsFor(Actor{Org: alice.Org, Role: Admin, MSP: "P"}, "wasteledger", "wasteledger-api", now, now.Add(time.Minute)), nil), false},
		{"a QR ticket's typ", signES256(t, key, kid, good, map[string]any{"typ": "wl-ticket+jwt"}), false},
		{"tampered payload", tamper, false},
		{"truncated signature", issued[:len(issued)-4], false},
		{"two parts", parts[0] + "." + parts[1], false},
		{"empty", "", false},
		{"too long", strings.Repeat("a", maxTokenBytes+1), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := tokens.Verify(tc.token)
			if tc.ok {
				if err != nil || a != alice {
					t.Fatalf("Verify() = %+v, %v, want %+v", a, err, alice)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify() = %+v, nil; want an error", a)
			}
			if manifest.CodeOf(err) != manifest.Unauthenticated {
				t.Fatalf("Verify() error code = %s, want unauthenticated (%v)", manifest.CodeOf(err), err)
			}
		})
	}
}

// TestVerifyCacheExpires: a cached token stops working when it expires.
func TestVerifyCacheExpires(t *testing.T) {
	tokens, _, clk := newTestTokens(t)
	tok, exp, err := tokens.Issue(alice)
	if err != nil {
		t.Fatal(err)
	}
	if exp.Sub(clk.t) != AccessTTL {
		t.Fatalf("expiry in %v, want %v", exp.Sub(clk.t), AccessTTL)
	}
	if _, err := tokens.Verify(tok); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(AccessTTL - time.Second)
	if _, err := tokens.Verify(tok); err != nil {
		t.Fatalf("Verify() a second before expiry = %v", err)
	}
	clk.t = clk.t.Add(time.Second)
	if _, err := tokens.Verify(tok); err == nil {
		t.Fatal("Verify() at expiry = nil error, want expired")
	}
}

// TestKeyringRotation: after a rotation the new key signs, tokens of the
// old key keep verifying and it stays in the JWKS until the retention
// passes; the ring survives a restart.
func TestKeyringRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	clk := &clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	k, err := OpenKeyring(path, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	k.now = clk.now
	tokens := NewTokens(k, TokensConfig{Now: clk.now})
	old, _ := k.Signing()
	tok, _, _ := tokens.Issue(alice)

	nk, err := k.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if cur, _ := k.Signing(); cur != nk || nk == old {
		t.Fatalf("Signing() = %s after rotating to %s (old %s)", cur, nk, old)
	}
	var set struct {
		Keys []struct {
			KID string `json:"kid"`
			Alg string `json:"alg"`
			D   string `json:"d"`
		} `json:"keys"`
	}
	json.Unmarshal(k.JWKS(), &set)
	if len(set.Keys) != 2 || set.Keys[0].KID != nk || set.Keys[1].KID != old || set.Keys[0].Alg != "ES256" || set.Keys[0].D != "" {
		t.Fatalf("JWKS = %s, want the new key then the old one, public only", k.JWKS())
	}
	fresh := NewTokens(k, TokensConfig{Now: clk.now}) // no cache
	if _, err := fresh.Verify(tok); err != nil {
		t.Fatalf("a token of the rotated key: %v", err)
	}

	// Reopened from the file: same keys.
	k2, err := OpenKeyring(path, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	k2.now = clk.now
	if cur, _ := k2.Signing(); cur != nk {
		t.Fatalf("reopened ring signs with %s, want %s", cur, nk)
	}
	if _, ok := k2.Public(old); !ok {
		t.Fatal("reopened ring lost the old key")
	}

	// Past the retention the old key is gone.
	clk.t = clk.t.Add(time.Hour + time.Second)
	if _, ok := k2.Public(old); ok {
		t.Fatal("old key still verifies after the retention")
	}
	json.Unmarshal(k2.JWKS(), &set)
	if len(set.Keys) != 1 {
		t.Fatalf("JWKS after retention = %s, want the current key only", k2.JWKS())
	}
}

func TestPassword(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash = %q, want an argon2id PHC string", h)
	}
	h2, _ := HashPassword("correct horse battery")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, tc := range []struct {
		hash, pw string
		want     bool
	}{
		{h, "correct horse battery", true},
		{h, "correct horse batterY", false},
		{h, "", false},
		{"$argon2id$v=19$m=1,t=1,p=1$$", "x", false},
		{"$2a$10$abcdefghijklmnopqrstuv", "correct horse battery", false},
		{"garbage", "garbage", false},
	} {
		if got := CheckPassword(tc.hash, tc.pw); got != tc.want {
			t.Errorf("CheckPassword(%.30q, %q) = %v, want %v", tc.hash, tc.pw, got, tc.want)
		}
	}
	if _, err := HashPassword("short"); err == nil {
		t.Error("HashPassword(short) = nil error")
	}
}

func TestNewCode(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		c := NewCode()
		if len(c) != 6 || strings.Trim(c, "0123456789") != "" {
			t.Fatalf("NewCode() = %q, want 6 digits", c)
		}
		seen[c] = true
	}
	if len(seen) < 190 {
		t.Fatalf("200 codes, %d distinct", len(seen))
	}
}
