package ticket_test

import (
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"wasteledger/gateway/problem"
	"wasteledger/gateway/ticket"
	"wasteledger/manifest"
	"wasteledger/manifest/signature"
)

// seeded is a deterministic byte stream: SHA-256 in counter mode.
type seeded struct {
	seed string
	n    int
	buf  []byte
}

func (s *seeded) Read(p []byte) (int, error) {
	for i := range p {
		if len(s.buf) == 0 {
			sum := sha256.Sum256([]byte(s.seed + "/" + string(rune('a'+s.n%26)) + strings.Repeat("+", s.n/26)))
			s.buf = sum[:]
			s.n++
		}
		p[i], s.buf = s.buf[0], s.buf[1:]
	}
	return len(p), nil
}

func testKey(t testing.TB, seed string) *ecdsa.PrivateKey {
	t.Helper()
	k, err := signature.GenerateKey(&seeded{seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// keyring is a fixed set of keys; the first signs.
type keyring struct {
	kids []string
	keys map[string]*ecdsa.PrivateKey
}

func newKeyring(t testing.TB, seeds ...string) *keyring {
	kr := &keyring{keys: map[string]*ecdsa.PrivateKey{}}
	for _, s := range seeds {
		k := testKey(t, s)
		kid := signature.Thumbprint(&k.PublicKey)
		kr.kids = append(kr.kids, kid)
		kr.keys[kid] = k
	}
	return kr
}

func (k *keyring) Signing() (string, *ecdsa.PrivateKey) { return k.kids[0], k.keys[k.kids[0]] }
func (k *keyring) Public(kid string) (*ecdsa.PublicKey, bool) {
	p, ok := k.keys[kid]
	if !ok {
		return nil, false
	}
	return &p.PublicKey, true
}

var (
	issued = time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC)
	hashV2 = manifest.Hash([]byte(`{"id":"20264401000123","version":2}`))
)

func sampleTicket() ticket.Ticket {
	return ticket.Ticket{Issuer: ticket.DefaultIssuer, Manifest: "20264401000123", Hash: hashV2, Version: 2,
		Status: manifest.StatusSigned, Issued: issued, Expires: issued.Add(ticket.DefaultTTL)}
}

func TestIssueVerify(t *testing.T) {
	kr := newKeyring(t, "gateway-2026")
	tok, err := ticket.Issue(kr, sampleTicket())
	if err != nil {
		t.Fatal(err)
	}
	got, err := ticket.Verify(kr, tok, "", issued.Add(time.Hour))
	if err != nil {
		t.Fatalf("Verify(Issue(…)) = %v", err)
	}
	want := sampleTicket()
	want.KeyID = kr.kids[0]
	if got != want {
		t.Errorf("Verify(Issue(t)) = %+v, want %+v", got, want)
	}
	if !got.Current(hashV2) || got.Current(manifest.Hash([]byte("v3"))) {
		t.Error("Current does not compare the hash")
	}
	if len(tok) > 420 {
		t.Errorf("token is %d bytes; keep it under 420 so the QR stays small", len(tok))
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestVerifyRefuses(t *testing.T) {
	kr := newKeyring(t, "gateway-2026", "gateway-2025")
	other := newKeyring(t, "attacker")
	tok, err := ticket.Issue(kr, sampleTicket())
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	kid := kr.kids[0]
	good := sampleTicket()
	now := issued.Add(time.Hour)

	// A forger who knows the key id signs with their own key.
	forged := func() string {
		_, key := other.Signing()
		input := parts[0] + "." + parts[1]
		sig, err := signature.Sign(nil, key, []byte(input))
		if err != nil {
			t.Fatal(err)
		}
		return input + "." + sig
	}
	// Sign arbitrary header and claims with the real key: what the gateway
	// must never accept even from itself.
	signed := func(hdr, claims string) string {
		_, key := kr.Signing()
		input := b64(hdr) + "." + b64(claims)
		sig, err := signature.Sign(nil, key, []byte(input))
		if err != nil {
			t.Fatal(err)
		}
		return input + "." + sig
	}
	claimsJSON := `{"iss":"wasteledger","mid":"20264401000123","h":"` + hashV2 + `","v":2,"st":"signed","iat":` +
		itoa(issued.Unix()) + `,"exp":` + itoa(issued.Add(ticket.DefaultTTL).Unix()) + `}`
	hs256 := func() string {
		// The classic confusion: HMAC keyed with the public key.
		pub, _ := kr.Public(kid)
		input := b64(`{"alg":"HS256","kid":"`+kid+`","typ":"wl-ticket+jwt"}`) + "." + parts[1]
		m := hmac.New(sha256.New, signature.MarshalPublicJWK(pub))
		m.Write([]byte(input))
		return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	tamperedPayload := b64(strings.Replace(claimsJSON, "20264401000123", "20264401000124", 1))
	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	expired := good
	expired.Issued, expired.Expires = issued.Add(-48*time.Hour), issued.Add(-time.Hour)
	expiredTok, err := ticket.Issue(kr, expired)
	if err != nil {
		t.Fatal(err)
	}
	foreign := good
	foreign.Issuer = "another-province"
	foreignTok, err := ticket.Issue(kr, foreign)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		token string
		want  *ticket.Error
	}{
		{"tampered payload", parts[0] + "." + tamperedPayload + "." + parts[2], ticket.ErrBadSignature},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flip(parts[2], 10), ticket.ErrBadSignature},
		{"signature of another ticket", parts[0] + "." + parts[1] + "." + strings.Split(expiredTok, ".")[2], ticket.ErrBadSignature},
		{"forged with a known kid", forged(), ticket.ErrBadSignature},
		{"alg none", b64(`{"alg":"none","kid":"`+kid+`","typ":"wl-ticket+jwt"}`) + "." + parts[1] + ".", ticket.ErrBadAlgorithm},
		{"HS256 keyed with the public key", hs256(), ticket.ErrBadAlgorithm},
		{"ES384", b64(`{"alg":"ES384","kid":"`+kid+`","typ":"wl-ticket+jwt"}`) + "." + parts[1] + "." + parts[2], ticket.ErrBadAlgorithm},
		{"unknown kid", signed(`{"alg":"ES256","kid":"no-such-key","typ":"wl-ticket+jwt"}`, claimsJSON), ticket.ErrUnknownKey},
		{"no kid", signed(`{"alg":"ES256","typ":"wl-ticket+jwt"}`, claimsJSON), ticket.ErrUnknownKey},
		{"an access token, not a ticket", signed(`{"alg":"ES256","kid":"`+kid+`","typ":"JWT"}`, claimsJSON), ticket.ErrMalformed},
		{"extra header member", signed(`{"alg":"ES256","kid":"`+kid+`","typ":"wl-ticket+jwt","jku":"https://evil.example/jwks"}`, claimsJSON), ticket.ErrMalformed},
		{"expired", expiredTok, ticket.ErrExpired},
		{"expires exactly now", tok, nil}, // replaced below
		{"wrong issuer", foreignTok, ticket.ErrWrongIssuer},
		{"issued in the future", signed(`{"alg":"ES256","kid":"`+kid+`","typ":"wl-ticket+jwt"}`,
			strings.Replace(claimsJSON, `"iat":`+itoa(issued.Unix()), `"iat":`+itoa(issued.Add(2*time.Hour).Unix()), 1)), ticket.ErrNotYetValid},
		{"unknown claim", signed(`{"alg":"ES256","kid":"`+kid+`","typ":"wl-ticket+jwt"}`, strings.Replace(claimsJSON, `"v":2`, `"v":2,"admin":true`, 1)), ticket.ErrMalformed},
		{"bad manifest number", signed(`{"alg":"ES256","kid":"`+kid+`","typ":"wl-ticket+jwt"}`, strings.Replace(claimsJSON, "20264401000123", "2026440100012", 1)), ticket.ErrMalformed},
		{"unknown status", signed(`{"alg":"ES256","kid":"`+kid+`","typ":"wl-ticket+jwt"}`, strings.Replace(claimsJSON, `"signed"`, `"approved"`, 1)), ticket.ErrMalformed},
		{"two parts", parts[0] + "." + parts[1], ticket.ErrMalformed},
		{"four parts", tok + ".x", ticket.ErrMalformed},
		{"padded header", parts[0] + "=." + parts[1] + "." + parts[2], ticket.ErrMalformed},
		{"standard base64 signature", parts[0] + "." + parts[1] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(parts[2]) + "+", ticket.ErrBadSignature},
		{"empty", "", ticket.ErrMalformed},
		{"huge", strings.Repeat("A", ticket.MaxTokenBytes+1), ticket.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at := now
			want := tc.want
			if tc.name == "expires exactly now" {
				at, want = good.Expires, ticket.ErrExpired
			}
			_, err := ticket.Verify(kr, tc.token, ticket.DefaultIssuer, at)
			if !errors.Is(err, want) {
				t.Fatalf("Verify(%s) = %v, want %s", tc.name, err, want.Reason)
			}
			p := problem.From(err)
			if p.Code != problem.BadTicket || p.Status != 422 {
				t.Errorf("problem.From(%v) = %s %d, want %s 422", err, p.Code, p.Status, problem.BadTicket)
			}
		})
	}
	// A ticket signed with the older, still published key verifies.
	old := &keyring{kids: []string{kr.kids[1], kr.kids[0]}, keys: kr.keys}
	tok2, err := ticket.Issue(old, good)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ticket.Verify(kr, tok2, "", now); err != nil {
		t.Errorf("Verify(ticket of a rotated-out but published key) = %v", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestProblemCodeMatches(t *testing.T) {
	if ticket.ProblemCode != problem.BadTicket {
		t.Fatalf("ticket.ProblemCode = %q, want problem.BadTicket %q", ticket.ProblemCode, problem.BadTicket)
	}
}

func TestIssueRefusesBadTickets(t *testing.T) {
	kr := newKeyring(t, "gateway-2026")
	for name, mut := range map[string]func(*ticket.Ticket){
		"no manifest":     func(tk *ticket.Ticket) { tk.Manifest = "" },
		"short hash":      func(tk *ticket.Ticket) { tk.Hash = "abc" },
		"version 0":       func(tk *ticket.Ticket) { tk.Version = 0 },
		"expires at once": func(tk *ticket.Ticket) { tk.Expires = tk.Issued },
		"no issuer":       func(tk *ticket.Ticket) { tk.Issuer = "" },
	} {
		tk := sampleTicket()
		mut(&tk)
		if _, err := ticket.Issue(kr, tk); err == nil {
			t.Errorf("Issue(%s) succeeded", name)
		}
	}
}

func TestURL(t *testing.T) {
	tests := []struct{ base, in, want string }{
		{"https://wl.example/", "a.b.c", "https://wl.example/m/#t=a.b.c"},
		{"http://127.0.0.1:8080", "a.b.c", "http://127.0.0.1:8080/m/#t=a.b.c"},
	}
	for _, tc := range tests {
		u := ticket.URL(tc.base, tc.in)
		if u != tc.want {
			t.Errorf("URL(%q, %q) = %q, want %q", tc.base, tc.in, u, tc.want)
		}
		if got := ticket.FromURL(u); got != tc.in {
			t.Errorf("FromURL(%q) = %q, want %q", u, got, tc.in)
		}
	}
	for in, want := range map[string]string{
		" a.b.c\n":                      "a.b.c",
		"https://x/m/?t=a.b.c&lang=en":  "a.b.c",
		"https://x/m/#t=a.b.c":          "a.b.c",
		"https://x/m/#foo=1&t=a.b.c#x=": "a.b.c",
	} {
		if got := ticket.FromURL(in); got != want {
			t.Errorf("FromURL(%q) = %q, want %q", in, got, want)
		}
	}
}
