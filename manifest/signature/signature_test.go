package signature_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"testing"

	"wasteledger/manifest/signature"
)

// testKey is a fixed test key (the producer key of testdata/vectors.json).
const testPrivateJWK = `{"crv":"P-256","d":"iYemdY7bHEbcmQ8VouKUE7k0V_zTDr5B8l84o-5wKNc","kty":"EC","x":"00Flrr_eVBbMVPjMg4ImC9eBvAnOV7rO-ljwd0iYlag","y":"Wra4GLZhqCO_5qv6T6pBFduF22D_OIt1iFx_PBgakvE"}`

func testKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := signature.ParsePrivateJWK([]byte(testPrivateJWK))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const testMessage = `{"manifest":"20264401000123","step":"pickup","v":1,"vehicle":"粤A12345"}`

func TestSignVerify(t *testing.T) {
	k := testKey(t)
	msg := []byte(testMessage)
	sig, err := signature.Sign(nil, k, msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != signature.EncodedSize || strings.ContainsAny(sig, "=+/") {
		t.Fatalf("Sign = %q, want 86 base64url characters", sig)
	}
	if err := signature.Verify(&k.PublicKey, msg, sig); err != nil {
		t.Fatalf("Verify(own signature) = %v, want nil", err)
	}
	// The signature covers SHA-256 of the message, checked the standard way.
	rs, _ := base64.RawURLEncoding.DecodeString(sig)
	digest := signature.Digest(msg)
	if !ecdsa.Verify(&k.PublicKey, digest[:], new(big.Int).SetBytes(rs[:32]), new(big.Int).SetBytes(rs[32:])) {
		t.Fatal("crypto/ecdsa rejects the r‖s that Sign wrote")
	}
	tampered := bytes.Replace(msg, []byte("1200"), []byte("1300"), 1)
	tampered = bytes.Replace(tampered, []byte(`"v":1`), []byte(`"v":2`), 1)
	if err := signature.Verify(&k.PublicKey, tampered, sig); !errors.Is(err, signature.ErrMismatch) {
		t.Errorf("Verify(tampered message) = %v, want ErrMismatch", err)
	}
	other, err := signature.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := signature.Verify(&other.PublicKey, msg, sig); !errors.Is(err, signature.ErrMismatch) {
		t.Errorf("Verify(other key) = %v, want ErrMismatch", err)
	}
}

func TestDigest(t *testing.T) {
	got := signature.Digest([]byte("abc"))
	if got != sha256.Sum256([]byte("abc")) {
		t.Errorf("Digest(abc) = %x, want SHA-256", got)
	}
}

func TestVerifyAcceptsHighS(t *testing.T) {
	k := testKey(t)
	msg := []byte(testMessage)
	n := elliptic.P256().Params().N
	half := new(big.Int).Rsh(n, 1)
	var sawLow, sawHigh bool
	for i := 0; i < 64 && !(sawLow && sawHigh); i++ {
		sig, err := signature.Sign(nil, k, msg)
		if err != nil {
			t.Fatal(err)
		}
		rs, _ := base64.RawURLEncoding.DecodeString(sig)
		s := new(big.Int).SetBytes(rs[32:])
		if s.Cmp(half) > 0 {
			sawHigh = true
		} else {
			sawLow = true
		}
		// The other one of the pair (r, s), (r, n-s) verifies too.
		new(big.Int).Sub(n, s).FillBytes(rs[32:])
		flipped := base64.RawURLEncoding.EncodeToString(rs)
		for _, sg := range []string{sig, flipped} {
			if err := signature.Verify(&k.PublicKey, msg, sg); err != nil {
				t.Fatalf("Verify(%s) = %v, want nil (S is not normalised)", sg, err)
			}
		}
	}
	if !sawLow || !sawHigh {
		t.Fatalf("64 signatures were all low-S or all high-S: low %v high %v", sawLow, sawHigh)
	}
}

func TestVerifyMalformed(t *testing.T) {
	k := testKey(t)
	msg := []byte(testMessage)
	good, err := signature.Sign(nil, k, msg)
	if err != nil {
		t.Fatal(err)
	}
	rs, _ := base64.RawURLEncoding.DecodeString(good)
	enc := base64.RawURLEncoding.EncodeToString
	withRS := func(r, s *big.Int) string {
		b := make([]byte, 64)
		r.FillBytes(b[:32])
		s.FillBytes(b[32:])
		return enc(b)
	}
	r, s := new(big.Int).SetBytes(rs[:32]), new(big.Int).SetBytes(rs[32:])
	n := elliptic.P256().Params().N
	var der struct{ R, S *big.Int }
	der.R, der.S = r, s
	derBytes, err := asn1.Marshal(der)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, sig string }{
		{"empty", ""},
		{"padded", base64.URLEncoding.EncodeToString(rs)},
		{"padded with one =", good[:85] + "="},
		{"standard alphabet, padded", base64.StdEncoding.EncodeToString(rs)},
		{"DER", enc(derBytes)},
		{"DER in standard base64", base64.StdEncoding.EncodeToString(derBytes)},
		{"hex", strings.Repeat("ab", 64)[:86]},
		{"truncated", good[:85]},
		{"one byte short", enc(rs[:63])},
		{"one byte long", enc(append(append([]byte(nil), rs...), 0))},
		{"newline inside", good[:40] + "\n" + good[41:]},
		{"newline appended", good + "\n"},
		{"space", good[:85] + " "},
		{"plus", good[:10] + "+" + good[11:]},
		{"slash", good[:10] + "/" + good[11:]},
		{"non-ASCII", good[:84] + "é"},
		{"trailing bits set", good[:85] + string(lastWithLowBit(good[85]))},
		{"r zero", withRS(big.NewInt(0), s)},
		{"s zero", withRS(r, big.NewInt(0))},
		{"r = n", withRS(n, s)},
		{"s = n", withRS(r, n)},
		{"r = 2^256-1", withRS(new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1)), s)},
		{"s = n+1", withRS(r, new(big.Int).Add(n, big.NewInt(1)))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := signature.Verify(&k.PublicKey, msg, tt.sig)
			if !errors.Is(err, signature.ErrMalformed) {
				t.Errorf("Verify(%q) = %v, want ErrMalformed", tt.sig, err)
			}
		})
	}
	// Sanity: the bounds themselves are fine. r = n-1 is in range (and wrong).
	if err := signature.Verify(&k.PublicKey, msg, withRS(new(big.Int).Sub(n, big.NewInt(1)), s)); !errors.Is(err, signature.ErrMismatch) {
		t.Errorf("Verify(r = n-1) = %v, want ErrMismatch", err)
	}
	if err := signature.Verify(&k.PublicKey, msg, withRS(big.NewInt(1), big.NewInt(1))); !errors.Is(err, signature.ErrMismatch) {
		t.Errorf("Verify(r = s = 1) = %v, want ErrMismatch", err)
	}
}

// lastWithLowBit returns c, the last character of an 86-character
// signature, with one of its 4 unused low bits set.
func lastWithLowBit(c byte) byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	return alphabet[strings.IndexByte(alphabet, c)|1]
}

func TestVerifyRejectsUnusableKey(t *testing.T) {
	k := testKey(t)
	sig, err := signature.Sign(nil, k, []byte(testMessage))
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, pub := range map[string]*ecdsa.PublicKey{
		"nil":            nil,
		"P-384":          &p384.PublicKey,
		"no coordinates": {Curve: elliptic.P256()},
		"generic P-256":  {Curve: elliptic.P256().Params(), X: k.X, Y: k.Y},
	} {
		if err := signature.Verify(pub, []byte(testMessage), sig); !errors.Is(err, signature.ErrInvalidKey) {
			t.Errorf("Verify(%s key) = %v, want ErrInvalidKey", name, err)
		}
	}
	// Off-curve coordinates are refused by crypto/ecdsa; never a success.
	bad := &ecdsa.PublicKey{Curve: elliptic.P256(), X: k.X, Y: new(big.Int).Add(k.Y, big.NewInt(1))}
	if err := signature.Verify(bad, []byte(testMessage), sig); err == nil {
		t.Error("Verify(off-curve key) = nil, want an error")
	}
	if _, err := signature.Sign(nil, p384, []byte(testMessage)); !errors.Is(err, signature.ErrInvalidKey) {
		t.Errorf("Sign(P-384 key) = %v, want ErrInvalidKey", err)
	}
}

// zeroReader, fed to GenerateKey, yields 0, never a valid scalar.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type countingReader struct{ i byte }

func (c *countingReader) Read(p []byte) (int, error) {
	for j := range p {
		p[j] = c.i
		c.i++
	}
	return len(p), nil
}

func TestGenerateKey(t *testing.T) {
	a, err := signature.GenerateKey(&countingReader{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := signature.GenerateKey(&countingReader{})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Equal(b) {
		t.Error("GenerateKey(same stream) gave different keys, want the same")
	}
	d, _ := a.Bytes()
	want := make([]byte, 32)
	for i := range want {
		want[i] = byte(i)
	}
	if !bytes.Equal(d, want) {
		t.Errorf("GenerateKey(0,1,2…) scalar = %x, want %x", d, want)
	}
	if _, err := signature.GenerateKey(zeroReader{}); err == nil {
		t.Error("GenerateKey(zeros) succeeded, want an error")
	}
	if _, err := signature.GenerateKey(strings.NewReader("short")); err == nil {
		t.Error("GenerateKey(5 bytes) succeeded, want an error")
	}
	r1, err := signature.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := signature.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Equal(r2) {
		t.Error("GenerateKey(nil) twice gave the same key")
	}
}
