package signature_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"wasteledger/manifest/jcs"
	"wasteledger/manifest/signature"
)

const (
	testX = "00Flrr_eVBbMVPjMg4ImC9eBvAnOV7rO-ljwd0iYlag"
	testY = "Wra4GLZhqCO_5qv6T6pBFduF22D_OIt1iFx_PBgakvE"
	testD = "iYemdY7bHEbcmQ8VouKUE7k0V_zTDr5B8l84o-5wKNc"
	// Another P-256 key's y (the carrier of vectors.json): valid base64url, wrong point.
	otherY = "B2WxJ0VdHEKKMjrujzvY9Ck9JHSvyhFjIWQUVJrTo9k"
)

func jwkWith(members ...string) string {
	return "{" + strings.Join(members, ",") + "}"
}

func TestParsePublicJWK(t *testing.T) {
	k := testKey(t)
	accept := []struct{ name, jwk string }{
		{"canonical", `{"crv":"P-256","kty":"EC","x":"` + testX + `","y":"` + testY + `"}`},
		{"as WebCrypto exports it", `{"key_ops":["verify"],"ext":true,"kty":"EC","x":"` + testX + `","y":"` + testY + `","crv":"P-256"}`},
		{"with kid, alg, use", ` { "kid" : "driver-7", "alg": "ES256", "use": "sig", "kty":"EC","crv":"P-256","x":"` + testX + `","y":"` + testY + `"}`},
		{"unknown members ignored", `{"crv":"P-256","kty":"EC","x":"` + testX + `","y":"` + testY + `","x5c":[],"note":{"a":1}}`},
	}
	for _, tt := range accept {
		t.Run(tt.name, func(t *testing.T) {
			pub, err := signature.ParsePublicJWK([]byte(tt.jwk))
			if err != nil {
				t.Fatalf("ParsePublicJWK(%s) error: %v", tt.jwk, err)
			}
			if !pub.Equal(&k.PublicKey) {
				t.Errorf("ParsePublicJWK(%s) = another key", tt.jwk)
			}
		})
	}
	x, y := `"x":"`+testX+`"`, `"y":"`+testY+`"`
	ec, crv := `"kty":"EC"`, `"crv":"P-256"`
	reject := []struct {
		name, jwk string
		private   bool
	}{
		{"private key", jwkWith(crv, `"d":"`+testD+`"`, ec, x, y), true},
		{"private key with null d", jwkWith(crv, `"d":null`, ec, x, y), true},
		{"not JSON", `crv=P-256`, false},
		{"array", `[]`, false},
		{"null", `null`, false},
		{"empty object", `{}`, false},
		{"missing kty", jwkWith(crv, x, y), false},
		{"RSA", jwkWith(crv, `"kty":"RSA"`, x, y), false},
		{"lowercase ec", jwkWith(crv, `"kty":"ec"`, x, y), false},
		{"kty not a string", jwkWith(crv, `"kty":1`, x, y), false},
		{"P-384", jwkWith(`"crv":"P-384"`, ec, x, y), false},
		{"secp256k1", jwkWith(`"crv":"secp256k1"`, ec, x, y), false},
		{"missing crv", jwkWith(ec, x, y), false},
		{"missing x", jwkWith(crv, ec, y), false},
		{"missing y", jwkWith(crv, ec, x), false},
		{"alg ES384", jwkWith(`"alg":"ES384"`, crv, ec, x, y), false},
		{"alg none", jwkWith(`"alg":"none"`, crv, ec, x, y), false},
		{"alg not a string", jwkWith(`"alg":256`, crv, ec, x, y), false},
		{"x padded", jwkWith(crv, ec, `"x":"`+testX+`="`, y), false},
		{"x standard alphabet", jwkWith(crv, ec, `"x":"`+strings.NewReplacer("-", "+", "_", "/").Replace(testX)+`"`, y), false},
		{"x short (leading zero byte dropped)", jwkWith(crv, ec, `"x":"`+base64.RawURLEncoding.EncodeToString(mustB64(t, testX)[1:])+`"`, y), false},
		{"x 33 bytes", jwkWith(crv, ec, `"x":"`+base64.RawURLEncoding.EncodeToString(append([]byte{0}, mustB64(t, testX)...))+`"`, y), false},
		{"x with newline", jwkWith(crv, ec, `"x":"`+testX[:20]+`\n`+testX[21:]+`"`, y), false},
		{"x number", jwkWith(crv, ec, `"x":1`, y), false},
		{"point not on curve", jwkWith(crv, ec, x, `"y":"`+otherY+`"`), false},
		{"x = p (non-canonical coordinate)", jwkWith(crv, ec, `"x":"`+b64hex(t, "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff")+`"`, y), false},
		{"all zero point", jwkWith(crv, ec, `"x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"`, `"y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"`), false},
		{"duplicate x", jwkWith(crv, ec, x, y, `"x":"`+testY+`"`), false},
		{"invalid UTF-8", "{\"kid\":\"\xff\"," + crv + "," + ec + "," + x + "," + y + "}", false},
		{"trailing data", jwkWith(crv, ec, x, y) + "{}", false},
	}
	for _, tt := range reject {
		t.Run(tt.name, func(t *testing.T) {
			pub, err := signature.ParsePublicJWK([]byte(tt.jwk))
			if err == nil {
				t.Fatalf("ParsePublicJWK(%s) = %v, want error", tt.jwk, pub)
			}
			if !errors.Is(err, signature.ErrInvalidKey) {
				t.Errorf("ParsePublicJWK(%s) error = %v, want ErrInvalidKey", tt.jwk, err)
			}
			if got := errors.Is(err, signature.ErrPrivateKey); got != tt.private {
				t.Errorf("ParsePublicJWK(%s) error = %v, is ErrPrivateKey %v, want %v", tt.jwk, err, got, tt.private)
			}
		})
	}
}

func b64hex(t *testing.T, h string) string {
	t.Helper()
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 32 {
		t.Fatalf("bad hex %s", h)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParsePrivateJWK(t *testing.T) {
	k := testKey(t)
	webcrypto := `{"key_ops":["sign"],"ext":true,"kty":"EC","x":"` + testX + `","y":"` + testY + `","crv":"P-256","d":"` + testD + `"}`
	got, err := signature.ParsePrivateJWK([]byte(webcrypto))
	if err != nil {
		t.Fatalf("ParsePrivateJWK(WebCrypto export) error: %v", err)
	}
	if !got.Equal(k) {
		t.Error("ParsePrivateJWK(WebCrypto export) = another key")
	}
	crv, ec, x, y := `"crv":"P-256"`, `"kty":"EC"`, `"x":"`+testX+`"`, `"y":"`+testY+`"`
	for name, jwk := range map[string]string{
		"public only":        jwkWith(crv, ec, x, y),
		"d of another key":   jwkWith(crv, `"d":"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA"`, ec, x, y),
		"d zero":             jwkWith(crv, `"d":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"`, ec, x, y),
		"d = n":              jwkWith(crv, `"d":"`+b64hex(t, "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")+`"`, ec, x, y),
		"d short":            jwkWith(crv, `"d":"`+testD[:40]+`"`, ec, x, y),
		"y of another point": jwkWith(crv, `"d":"`+testD+`"`, ec, x, `"y":"`+otherY+`"`),
		"alg ES512":          jwkWith(`"alg":"ES512"`, crv, `"d":"`+testD+`"`, ec, x, y),
		"d not a string":     jwkWith(crv, `"d":true`, ec, x, y),
		"duplicate d":        jwkWith(crv, `"d":"`+testD+`"`, ec, x, y, `"d":"`+testD+`"`),
	} {
		if _, err := signature.ParsePrivateJWK([]byte(jwk)); !errors.Is(err, signature.ErrInvalidKey) {
			t.Errorf("ParsePrivateJWK(%s: %s) error = %v, want ErrInvalidKey", name, jwk, err)
		}
	}
}

func TestMarshalJWK(t *testing.T) {
	k := testKey(t)
	pub := signature.MarshalPublicJWK(&k.PublicKey)
	wantPub := `{"crv":"P-256","kty":"EC","x":"` + testX + `","y":"` + testY + `"}`
	if string(pub) != wantPub {
		t.Errorf("MarshalPublicJWK = %s, want %s", pub, wantPub)
	}
	priv := signature.MarshalPrivateJWK(k)
	if string(priv) != testPrivateJWK {
		t.Errorf("MarshalPrivateJWK = %s, want %s", priv, testPrivateJWK)
	}
	for _, b := range [][]byte{pub, priv} {
		c, err := jcs.Canonicalize(b)
		if err != nil || string(c) != string(b) {
			t.Errorf("JWK %s is not in canonical form: %s, %v", b, c, err)
		}
	}
	// A key whose x has a leading zero byte keeps all 32 bytes.
	for i := byte(0); ; i++ {
		k, err := signature.GenerateKey(&countingReader{i: i})
		if err != nil {
			t.Fatal(err)
		}
		if k.X.BitLen() > 248 {
			continue
		}
		jwk := signature.MarshalPublicJWK(&k.PublicKey)
		back, err := signature.ParsePublicJWK(jwk)
		if err != nil || !back.Equal(&k.PublicKey) {
			t.Fatalf("ParsePublicJWK(MarshalPublicJWK(key with short x)) = %v, %v", back, err)
		}
		break
	}
}

// RFC 7638: SHA-256 over {"crv","kty","x","y"} with no whitespace, in
// lexicographic order, base64url without padding.
func TestThumbprint(t *testing.T) {
	k := testKey(t)
	input := `{"crv":"P-256","kty":"EC","x":"` + testX + `","y":"` + testY + `"}`
	sum := sha256.Sum256([]byte(input))
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	if got := signature.Thumbprint(&k.PublicKey); got != want {
		t.Errorf("Thumbprint = %s, want %s", got, want)
	}
	if want != "Ch56_tAuhTc-KR0yq1EtxF84TzYCb3WMvqDWOg3sB6Q" {
		t.Errorf("thumbprint of the test key changed: %s", want)
	}
	// The thumbprint ignores everything but the four required members.
	pub, err := signature.ParsePublicJWK([]byte(`{"kid":"x","alg":"ES256","ext":true,"kty":"EC","crv":"P-256","x":"` + testX + `","y":"` + testY + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := signature.Thumbprint(pub); got != want {
		t.Errorf("Thumbprint(key with kid/alg/ext) = %s, want %s", got, want)
	}
}
