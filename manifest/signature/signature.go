// Package signature implements the party signature scheme of wasteledger
// (DESIGN.md §3): ECDSA over P-256 with SHA-256, the signature written as
// IEEE P1363 r‖s (32+32 bytes, big-endian) in base64url without padding.
// That is byte for byte what browser WebCrypto produces with
// subtle.sign({name: "ECDSA", hash: "SHA-256"}, key, canonicalBytes), so a
// driver's phone signs with no native code, and anyone can re-verify offline
// with nothing but the public key.
//
// The signed message is always the RFC 8785 canonical form of a statement
// (see package jcs); Sign and Verify hash it themselves, as WebCrypto does.
// Keys travel as JWK; a key's id is its RFC 7638 thumbprint.
//
// Parse a JWK once (ParsePublicJWK) and keep the *ecdsa.PublicKey: Verify
// does no parsing beyond the 86-character signature.
//
// The package is pure: no I/O and no clock; randomness only from the
// io.Reader a caller passes.
package signature

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
)

// Size is the length of a decoded signature in bytes (r‖s), and EncodedSize
// the length of its base64url form.
const (
	Size        = 64
	EncodedSize = 86
)

// Errors. Verify returns nil, ErrMismatch, or an error wrapping ErrMalformed
// or ErrInvalidKey. Key parsers return errors wrapping ErrInvalidKey, and
// ParsePublicJWK one also wrapping ErrPrivateKey for a JWK holding "d".
var (
	// ErrMalformed: the signature is not 86 base64url characters encoding
	// r‖s with r and s in [1, n-1]. A DER signature, padding, the standard
	// base64 alphabet or a truncated value all land here.
	ErrMalformed = errors.New("signature: malformed signature")
	// ErrMismatch: a well-formed signature that does not verify: the
	// message was changed, or it was signed with another key.
	ErrMismatch = errors.New("signature: signature does not match the message and key")
	// ErrInvalidKey: the key is not a usable P-256 key.
	ErrInvalidKey = errors.New("signature: invalid key")
	// ErrPrivateKey: a private key was offered where a public key belongs.
	ErrPrivateKey = errors.New("signature: JWK contains private key material (\"d\")")
)

// order is n, the order of the P-256 group, big-endian.
var order = [32]byte{
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
}

// b64 decodes unpadded base64url and rejects non-zero trailing bits, so
// each signature has exactly one accepted spelling.
var b64 = base64.RawURLEncoding.Strict()

// Digest returns SHA-256 of the canonical bytes: the value that is signed,
// and the value an auditor compares with a published hash.
func Digest(canonical []byte) [32]byte {
	return sha256.Sum256(canonical)
}

// Verify checks sig, a party signature over message (the canonical bytes of
// a statement), against pub. It returns nil if the signature is valid;
// ErrMismatch if it is well formed but does not verify; an error wrapping
// ErrMalformed if it is not exactly 86 unpadded base64url characters
// decoding to r‖s with 1 <= r, s < n; and an error wrapping ErrInvalidKey
// if pub is not a P-256 key. Both low-S and high-S signatures are valid, as
// WebCrypto does not normalise S.
func Verify(pub *ecdsa.PublicKey, message []byte, sig string) error {
	if pub == nil || pub.Curve != elliptic.P256() || pub.X == nil || pub.Y == nil {
		return fmt.Errorf("%w: not a P-256 public key", ErrInvalidKey)
	}
	var rs [Size]byte
	if err := decode(&rs, sig); err != nil {
		return err
	}
	digest := sha256.Sum256(message)
	var buf [72]byte
	if !ecdsa.VerifyASN1(pub, digest[:], appendDER(buf[:0], rs[:32], rs[32:])) {
		return ErrMismatch
	}
	return nil
}

// decode parses sig strictly into rs.
func decode(rs *[Size]byte, sig string) error {
	if len(sig) != EncodedSize {
		if len(sig) > 0 && sig[len(sig)-1] == '=' {
			return fmt.Errorf("%w: base64 padding '=' is not allowed", ErrMalformed)
		}
		return fmt.Errorf("%w: %d characters, want %d (64 bytes r‖s, base64url without padding)", ErrMalformed, len(sig), EncodedSize)
	}
	// Check the alphabet first: the base64 decoder skips '\r' and '\n'.
	var src [EncodedSize]byte
	for i := 0; i < len(sig); i++ {
		c := sig[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("%w: character %d (%q) is not base64url", ErrMalformed, i, c)
		}
		src[i] = c
	}
	if n, err := b64.Decode(rs[:], src[:]); err != nil || n != Size {
		return fmt.Errorf("%w: non-canonical base64url (trailing bits set)", ErrMalformed)
	}
	if !inRange(rs[:32]) {
		return fmt.Errorf("%w: r is zero or not below the group order", ErrMalformed)
	}
	if !inRange(rs[32:]) {
		return fmt.Errorf("%w: s is zero or not below the group order", ErrMalformed)
	}
	return nil
}

// inRange reports whether the 32-byte big-endian x is in [1, n-1].
func inRange(x []byte) bool {
	var or byte
	for _, b := range x {
		or |= b
	}
	return or != 0 && bytes.Compare(x, order[:]) < 0
}

// appendDER appends the ASN.1 DER SEQUENCE{INTEGER r, INTEGER s} that
// crypto/ecdsa verifies. r and s are 32 bytes each, non-zero. The result is
// at most 72 bytes, so every length fits in one byte.
func appendDER(dst, r, s []byte) []byte {
	r, s = bytes.TrimLeft(r, "\x00"), bytes.TrimLeft(s, "\x00")
	intLen := func(x []byte) int { return len(x) + int(x[0]>>7) }
	dst = append(dst, 0x30, byte(2+intLen(r)+2+intLen(s)))
	for _, x := range [2][]byte{r, s} {
		dst = append(dst, 0x02, byte(intLen(x)))
		if x[0]&0x80 != 0 {
			dst = append(dst, 0)
		}
		dst = append(dst, x...)
	}
	return dst
}

// Sign signs message (the canonical bytes of a statement) with priv and
// returns the signature in the wire form Verify accepts. rand (nil means
// crypto/rand.Reader) is handed to crypto/ecdsa, which since Go 1.26 ignores it and always draws the nonce
// from a secure source mixed with the key and message: signatures differ
// from call to call, and every one of them verifies.
func Sign(rand io.Reader, priv *ecdsa.PrivateKey, message []byte) (string, error) {
	if priv == nil || priv.Curve != elliptic.P256() {
		return "", fmt.Errorf("%w: not a P-256 private key", ErrInvalidKey)
	}
	if rand == nil {
		rand = crand.Reader
	}
	digest := sha256.Sum256(message)
	der, err := ecdsa.SignASN1(rand, priv, digest[:])
	if err != nil {
		return "", fmt.Errorf("signature: sign: %w", err)
	}
	var v struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(der, &v); err != nil || len(rest) != 0 {
		return "", fmt.Errorf("signature: sign: crypto/ecdsa returned unparsable DER: %v", err)
	}
	var rs [Size]byte
	v.R.FillBytes(rs[:32])
	v.S.FillBytes(rs[32:])
	return base64.RawURLEncoding.EncodeToString(rs[:]), nil
}

// GenerateKey returns a new P-256 key whose private scalar is read from
// rand (crypto/rand.Reader when rand is nil) by rejection sampling as in
// FIPS 186-5 A.2.2: 32 bytes at a time until they encode a value in [1, n-1].
// Unlike crypto/ecdsa.GenerateKey in Go 1.26, it honours rand, so a fixed
// seed stream gives a reproducible (test-only!) key. Production callers
// pass crypto/rand.Reader or nil.
func GenerateKey(rand io.Reader) (*ecdsa.PrivateKey, error) {
	if rand == nil {
		return ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	}
	var d [32]byte
	for range 64 { // each try fails with probability < 2^-32
		if _, err := io.ReadFull(rand, d[:]); err != nil {
			return nil, fmt.Errorf("signature: generate key: %w", err)
		}
		if inRange(d[:]) {
			k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d[:])
			if err != nil {
				return nil, fmt.Errorf("signature: generate key: %w", err)
			}
			return k, nil
		}
	}
	return nil, errors.New("signature: generate key: rand yields no scalar in [1, n-1]")
}
