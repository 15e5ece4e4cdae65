package signature_test

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"

	"wasteledger/manifest/signature"
)

func FuzzParsePublicJWK(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add([]byte(v.PublicJWK))
		f.Add([]byte(v.PrivateJWK))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pub, err := signature.ParsePublicJWK(data)
		if err != nil {
			if pub != nil {
				t.Fatalf("ParsePublicJWK(%q) = %v and error %v", data, pub, err)
			}
			if !errors.Is(err, signature.ErrInvalidKey) {
				t.Fatalf("ParsePublicJWK(%q) error = %v, want ErrInvalidKey", data, err)
			}
			return
		}
		var members map[string]json.RawMessage
		if err := json.Unmarshal(data, &members); err != nil {
			t.Fatalf("ParsePublicJWK accepted %q, encoding/json does not: %v", data, err)
		}
		if _, ok := members["d"]; ok {
			t.Fatalf("ParsePublicJWK(%q) accepted a JWK with \"d\"", data)
		}
		// A parsed key round-trips through its canonical JWK and keeps its id.
		jwk := signature.MarshalPublicJWK(pub)
		back, err := signature.ParsePublicJWK(jwk)
		if err != nil || !back.Equal(pub) {
			t.Fatalf("ParsePublicJWK(MarshalPublicJWK(%q)) = %v, %v", data, back, err)
		}
		if signature.Thumbprint(back) != signature.Thumbprint(pub) {
			t.Fatal("thumbprint changed through a round trip")
		}
	})
}

func FuzzVerify(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add([]byte(v.PublicJWK), []byte(v.Canonical), v.Signature)
	}
	f.Add([]byte(nil), []byte(nil), "")
	fallback, err := signature.ParsePublicJWK(loadVectors(f)[0].PublicJWK)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, jwk, message []byte, sig string) {
		pub, err := signature.ParsePublicJWK(jwk)
		if err != nil {
			pub = fallback
		}
		err = signature.Verify(pub, message, sig)
		switch {
		case err == nil:
			// Only the one canonical spelling of a valid r‖s is accepted …
			rs, derr := base64.RawURLEncoding.DecodeString(sig)
			if derr != nil || len(rs) != 64 || base64.RawURLEncoding.EncodeToString(rs) != sig {
				t.Fatalf("Verify accepted non-canonical signature %q", sig)
			}
			// … and it really is a signature over message.
			digest := signature.Digest(message)
			if !ecdsa.VerifyASN1(pub, digest[:], derSig(rs)) {
				t.Fatalf("Verify accepted %q, crypto/ecdsa does not", sig)
			}
		case errors.Is(err, signature.ErrMismatch), errors.Is(err, signature.ErrMalformed):
		default:
			t.Fatalf("Verify(%q) = %v, want nil, ErrMismatch or ErrMalformed", sig, err)
		}
	})
}

// derSig is an independent DER encoder for the fuzz oracle.
func derSig(rs []byte) []byte {
	integer := func(x []byte) []byte {
		x = bytes.TrimLeft(x, "\x00")
		if len(x) == 0 || x[0]&0x80 != 0 {
			x = append([]byte{0}, x...)
		}
		return append([]byte{0x02, byte(len(x))}, x...)
	}
	body := append(integer(rs[:32]), integer(rs[32:])...)
	return append([]byte{0x30, byte(len(body))}, body...)
}
