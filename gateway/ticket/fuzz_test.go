package ticket_test

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"wasteledger/gateway/ticket"
)

// fuzzNow is the clock of the fuzz target and its seed corpus.
var fuzzNow = issued.Add(time.Hour)

// FuzzVerify feeds arbitrary tokens to Verify. Every refusal must be a
// *ticket.Error; every acceptance must be a token that an independent
// check (plain crypto/ecdsa over SHA-256 of header.payload, the header's
// alg and typ, the expiry) also accepts. The committed seed corpus
// (testdata/fuzz/FuzzVerify) holds a valid ticket and the classic attacks.
func FuzzVerify(f *testing.F) {
	kr := newKeyring(f, "gateway-2026")
	tok, err := ticket.Issue(kr, sampleTicket())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		tk, err := ticket.Verify(kr, token, ticket.DefaultIssuer, fuzzNow)
		if err != nil {
			var te *ticket.Error
			if !errors.As(err, &te) || te.Reason == "" {
				t.Fatalf("Verify(%q) = %v (%T), want a *ticket.Error", token, err, err)
			}
			return
		}
		parts := strings.Split(token, ".")
		if len(parts) != 3 {
			t.Fatalf("Verify accepted %d parts", len(parts))
		}
		hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
		rs, err2 := base64.RawURLEncoding.DecodeString(parts[2])
		if err1 != nil || err2 != nil || len(rs) != 64 || base64.RawURLEncoding.EncodeToString(rs) != parts[2] {
			t.Fatalf("Verify accepted undecodable parts of %q", token)
		}
		var h map[string]any
		if json.Unmarshal(hb, &h) != nil || h["alg"] != "ES256" || h["typ"] != ticket.Type || len(h) != 3 {
			t.Fatalf("Verify accepted header %s", hb)
		}
		pub, ok := kr.Public(fmt.Sprint(h["kid"]))
		digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		r, s := new(big.Int).SetBytes(rs[:32]), new(big.Int).SetBytes(rs[32:])
		if !ok || !ecdsa.Verify(pub, digest[:], r, s) {
			t.Fatalf("Verify accepted %q; crypto/ecdsa does not", token)
		}
		if !fuzzNow.Before(tk.Expires) || tk.Issuer != ticket.DefaultIssuer {
			t.Fatalf("Verify accepted an expired or foreign ticket %+v", tk)
		}
	})
}

// TestFuzzSeedCorpus keeps the committed seeds meaningful: the valid one
// verifies and each attack is refused for its reason. UPDATE_GOLDEN=1
// rewrites them (signatures are randomised, so the files change).
func TestFuzzSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzVerify")
	kr := newKeyring(t, "gateway-2026")
	attacker := newKeyring(t, "attacker")
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		tok, err := ticket.Issue(kr, sampleTicket())
		if err != nil {
			t.Fatal(err)
		}
		p := strings.Split(tok, ".")
		forged, err := ticket.Issue(attacker, sampleTicket())
		if err != nil {
			t.Fatal(err)
		}
		fp := strings.Split(forged, ".")
		exp := sampleTicket()
		exp.Issued, exp.Expires = issued.Add(-72*time.Hour), issued.Add(-time.Hour)
		expired, err := ticket.Issue(kr, exp)
		if err != nil {
			t.Fatal(err)
		}
		claims, _ := base64.RawURLEncoding.DecodeString(p[1])
		seeds := map[string]string{
			"valid":              tok,
			"tampered_payload":   p[0] + "." + b64(strings.Replace(string(claims), `"v":2`, `"v":3`, 1)) + "." + p[2],
			"tampered_signature": p[0] + "." + p[1] + "." + flipFirst(p[2]),
			"forged_known_kid":   p[0] + "." + fp[1] + "." + fp[2],
			"alg_none":           b64(`{"alg":"none","kid":"`+kr.kids[0]+`","typ":"wl-ticket+jwt"}`) + "." + p[1] + ".",
			"alg_hs256":          b64(`{"alg":"HS256","kid":"`+kr.kids[0]+`","typ":"wl-ticket+jwt"}`) + "." + p[1] + "." + p[2],
			"unknown_kid":        forged,
			"expired":            expired,
			"padded":             p[0] + "=." + p[1] + "." + p[2],
			"two_parts":          p[0] + "." + p[1],
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, s := range seeds {
			if err := os.WriteFile(filepath.Join(dir, name), []byte("go test fuzz v1\nstring("+strconv.Quote(s)+")\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := map[string]*ticket.Error{
		"valid": nil, "tampered_payload": ticket.ErrBadSignature, "tampered_signature": ticket.ErrBadSignature,
		"forged_known_kid": ticket.ErrBadSignature, "alg_none": ticket.ErrBadAlgorithm, "alg_hs256": ticket.ErrBadAlgorithm,
		"unknown_kid": ticket.ErrUnknownKey, "expired": ticket.ErrExpired, "padded": ticket.ErrMalformed, "two_parts": ticket.ErrMalformed,
	}
	for name, reason := range want {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("seed %s: %v (regenerate with UPDATE_GOLDEN=1)", name, err)
		}
		line := strings.TrimSpace(strings.TrimPrefix(string(b), "go test fuzz v1\n"))
		s, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(line, "string("), ")"))
		if err != nil {
			t.Fatalf("seed %s: %v", name, err)
		}
		_, err = ticket.Verify(kr, s, ticket.DefaultIssuer, fuzzNow)
		if reason == nil && err != nil || reason != nil && !errors.Is(err, reason) {
			t.Errorf("Verify(seed %s) = %v, want %v", name, err, reason)
		}
	}
}

// flipFirst changes the first character of s (A↔B, anything else → A).
func flipFirst(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}
