package auth

import (
	"testing"
	"time"

	"wasteledger/manifest"
)

// FuzzVerify feeds arbitrary strings to the access-token verifier: it must
// never panic, and whatever it accepts must be a complete actor. The seed
// corpus (testdata/fuzz/FuzzVerify) holds real-looking tokens: alg none,
// HS256, RS256, a QR ticket's typ, broken base64, huge headers.
func FuzzVerify(f *testing.F) {
	k, err := NewKeyring(0)
	if err != nil {
		f.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	k.now = clk.now
	tokens := NewTokens(k, TokensConfig{Now: clk.now, CacheEntries: -1})
	good, _, err := tokens.Issue(alice)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Fuzz(func(t *testing.T, token string) {
		a, err := tokens.Verify(token)
		if err != nil {
			if manifest.CodeOf(err) != manifest.Unauthenticated {
				t.Fatalf("Verify() error code %s, want unauthenticated: %v", manifest.CodeOf(err), err)
			}
			return
		}
		if a.Subject == "" || a.Org == "" || a.MSP == "" || a.Role == "" {
			t.Fatalf("Verify() accepted an incomplete actor %+v", a)
		}
	})
}
