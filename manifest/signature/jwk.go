package signature

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"wasteledger/manifest/jcs"
)

// ParsePublicJWK parses a public key in JWK form (RFC 7517/7518): "kty"
// "EC", "crv" "P-256", "x" and "y" each 32 bytes in unpadded base64url, the
// point on the curve. "alg", if present, must be "ES256"; "kid", "use",
// "key_ops", "ext" and other members are ignored. A JWK that contains "d"
// is refused (ErrPrivateKey): a private key is never registered as public.
// The text must be valid I-JSON: duplicate member names are refused.
func ParsePublicJWK(data []byte) (*ecdsa.PublicKey, error) {
	j, err := parseJWK(data)
	if err != nil {
		return nil, err
	}
	if _, ok := j["d"]; ok {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, ErrPrivateKey)
	}
	return publicKey(j)
}

// ParsePrivateJWK parses a private key in JWK form: the members of a public
// JWK plus "d", 32 bytes in unpadded base64url, which must match "x" and "y".
func ParsePrivateJWK(data []byte) (*ecdsa.PrivateKey, error) {
	j, err := parseJWK(data)
	if err != nil {
		return nil, err
	}
	pub, err := publicKey(j)
	if err != nil {
		return nil, err
	}
	d, err := coordinate(j, "d")
	if err != nil {
		return nil, err
	}
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		return nil, fmt.Errorf("%w: \"d\" is not a P-256 private scalar", ErrInvalidKey)
	}
	if !priv.PublicKey.Equal(pub) {
		return nil, fmt.Errorf("%w: \"x\" and \"y\" are not the public key of \"d\"", ErrInvalidKey)
	}
	return priv, nil
}

// MarshalPublicJWK returns pub as a JWK in canonical (RFC 8785) form:
// {"crv":"P-256","kty":"EC","x":…,"y":…}, the RFC 7638 thumbprint input.
// It panics if pub is not a valid P-256 key, which a key from this package
// always is.
func MarshalPublicJWK(pub *ecdsa.PublicKey) []byte {
	x, y := coordinates(pub)
	return appendJWK(nil, nil, x, y)
}

// MarshalPrivateJWK returns priv as a JWK in canonical form:
// {"crv":"P-256","d":…,"kty":"EC","x":…,"y":…}. Keep its output secret.
// It panics if priv is not a valid P-256 key.
func MarshalPrivateJWK(priv *ecdsa.PrivateKey) []byte {
	x, y := coordinates(&priv.PublicKey)
	d, err := priv.Bytes()
	if err != nil {
		panic("signature: MarshalPrivateJWK: " + err.Error())
	}
	return appendJWK(nil, d, x, y)
}

// Thumbprint returns the RFC 7638 JWK thumbprint of pub: base64url (no
// padding) of SHA-256 over its canonical public JWK. This is the key id used
// throughout wasteledger. It panics if pub is not a valid P-256 key.
func Thumbprint(pub *ecdsa.PublicKey) string {
	sum := sha256.Sum256(MarshalPublicJWK(pub))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func coordinates(pub *ecdsa.PublicKey) (x, y []byte) {
	if pub == nil || pub.Curve != elliptic.P256() {
		panic("signature: not a P-256 key")
	}
	b, err := pub.Bytes() // 0x04 ‖ x ‖ y, validated
	if err != nil {
		panic("signature: " + err.Error())
	}
	return b[1:33], b[33:]
}

// appendJWK writes the members in RFC 8785 order; base64url needs no escaping.
func appendJWK(dst, d, x, y []byte) []byte {
	enc := base64.RawURLEncoding
	dst = append(dst, `{"crv":"P-256",`...)
	if d != nil {
		dst = append(dst, `"d":"`...)
		dst = enc.AppendEncode(dst, d)
		dst = append(dst, `",`...)
	}
	dst = append(dst, `"kty":"EC","x":"`...)
	dst = enc.AppendEncode(dst, x)
	dst = append(dst, `","y":"`...)
	dst = enc.AppendEncode(dst, y)
	return append(dst, `"}`...)
}

type jwk map[string]json.RawMessage

func parseJWK(data []byte) (jwk, error) {
	// jcs is the strict parser: it refuses duplicate names ("x" twice, read
	// differently by different JSON libraries), invalid UTF-8 and deep nesting.
	if _, err := jcs.Canonicalize(data); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	var j jwk
	if err := json.Unmarshal(data, &j); err != nil || j == nil {
		return nil, fmt.Errorf("%w: a JWK is a JSON object", ErrInvalidKey)
	}
	for _, m := range [...]struct{ name, want string }{{"kty", "EC"}, {"crv", "P-256"}} {
		got, ok, err := j.str(m.name)
		switch {
		case err != nil:
			return nil, err
		case !ok:
			return nil, fmt.Errorf("%w: %q is missing, want %q", ErrInvalidKey, m.name, m.want)
		case got != m.want:
			return nil, fmt.Errorf("%w: %q is %q, want %q", ErrInvalidKey, m.name, got, m.want)
		}
	}
	if alg, ok, err := j.str("alg"); err != nil {
		return nil, err
	} else if ok && alg != "ES256" {
		return nil, fmt.Errorf("%w: \"alg\" is %q, want \"ES256\" or absent", ErrInvalidKey, alg)
	}
	return j, nil
}

func (j jwk) str(name string) (s string, ok bool, err error) {
	raw, ok := j[name]
	if !ok {
		return "", false, nil
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", true, fmt.Errorf("%w: %q is not a string", ErrInvalidKey, name)
	}
	return s, true, nil
}

// coordinate decodes member name as exactly 32 bytes of unpadded base64url.
func coordinate(j jwk, name string) ([]byte, error) {
	s, ok, err := j.str(name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %q is missing", ErrInvalidKey, name)
	}
	b := make([]byte, 32)
	// 43 characters hold exactly 32 bytes; the length check also refuses
	// the '\r' and '\n' that the base64 decoder would skip.
	if len(s) != 43 {
		return nil, fmt.Errorf("%w: %q is %d characters, want 43 (32 bytes, unpadded base64url)", ErrInvalidKey, name, len(s))
	}
	if n, err := b64.Decode(b, []byte(s)); err != nil || n != 32 {
		return nil, fmt.Errorf("%w: %q is not 32 bytes of unpadded base64url", ErrInvalidKey, name)
	}
	return b, nil
}

func publicKey(j jwk) (*ecdsa.PublicKey, error) {
	x, err := coordinate(j, "x")
	if err != nil {
		return nil, err
	}
	y, err := coordinate(j, "y")
	if err != nil {
		return nil, err
	}
	point := append(append([]byte{4}, x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return nil, fmt.Errorf("%w: (x, y) is not a point on P-256", ErrInvalidKey)
	}
	return pub, nil
}
