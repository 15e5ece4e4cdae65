// Command genvectors writes the committed test vectors of package signature,
// testdata/vectors.json:
//
//	go generate ./manifest/signature
//
// The keys are derived from a fixed seed (-seed), so re-running reproduces
// them, the inputs, canonical forms and hashes byte for byte. ECDSA
// signatures are randomised (crypto/ecdsa ignores the caller's reader since
// Go 1.26), so the signature strings change on every run: a vector's
// signature only has to verify (or, for the negative cases, fail the way
// "expect" says). The keys are test keys; never use them for anything else.
package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math/big"
	"os"
	"strings"

	"wasteledger/manifest/jcs"
	"wasteledger/manifest/signature"
)

// Vector is one case of vectors.json.
type Vector struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Input is a JSON text as a client might send it; Canonical is its RFC
	// 8785 form (the signed bytes) and SHA256 their digest in lowercase hex.
	Input     string `json:"input"`
	Canonical string `json:"canonical"`
	SHA256    string `json:"sha256"`
	// KeyID is the RFC 7638 thumbprint of PublicJWK.
	KeyID      string          `json:"key_id"`
	PublicJWK  json.RawMessage `json:"public_jwk"`
	PrivateJWK json.RawMessage `json:"private_jwk"`
	Signature  string          `json:"signature"`
	// Expect is what verifying Signature over Canonical with PublicJWK gives:
	// "valid", "mismatch" (well-formed, wrong) or "malformed" (refused
	// before any curve arithmetic).
	Expect string `json:"expect"`
}

const defaultSeed = "wasteledger/manifest/signature test vectors v1"

func main() {
	out := flag.String("o", "-", "output file, - for stdout")
	seed := flag.String("seed", defaultSeed, "seed the test keys are derived from")
	flag.Parse()
	vs, err := Build(*seed)
	if err != nil {
		fmt.Fprintln(os.Stderr, "genvectors:", err)
		os.Exit(1)
	}
	b, err := Encode(vs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "genvectors:", err)
		os.Exit(1)
	}
	if *out == "-" {
		_, err = os.Stdout.Write(b)
	} else {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "genvectors:", err)
		os.Exit(1)
	}
}

// Encode writes vectors as indented JSON with non-ASCII and <>& literal.
func Encode(vs []Vector) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(vs); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// seedStream is a deterministic byte stream: block i is
// SHA-256(seed ‖ uint64 big-endian i). Easy to reproduce in any language.
type seedStream struct {
	seed  []byte
	block uint64
	buf   []byte
}

func (s *seedStream) Read(p []byte) (int, error) {
	for n := 0; n < len(p); {
		if len(s.buf) == 0 {
			sum := sha256.Sum256(binary.BigEndian.AppendUint64(append([]byte(nil), s.seed...), s.block))
			s.block++
			s.buf = sum[:]
		}
		c := copy(p[n:], s.buf)
		s.buf = s.buf[c:]
		n += c
	}
	return len(p), nil
}

// The statement the producer and the carrier both sign at pickup, written
// the way two different clients might send it. Both inputs have the same
// canonical form.
const (
	pickupPretty = `{
  "v": 1,
  "manifest": "20264401000123",
  "step": "pickup",
  "from": { "org": "91440101MA5CXXXX1X", "key": "%s" },
  "to":   { "org": "91440111MA59ABCD2K", "key": "%s" },
  "vehicle": "粤A12345",
  "lines": [
    { "line": 1, "code": "900-214-08", "qty": 1200, "unit": "kg", "packages": 4 }
  ],
  "time": "2026-11-28T09:30:00Z",
  "place": { "lat_e6": 23129110, "lon_e6": 113264385 },
  "prev": "%s"
}
`
	pickupCompact = `{"prev":"%[3]s","place":{"lon_e6":113264385,"lat_e6":23129110},"time":"2026-11-28T09:30:00Z",` +
		`"lines":[{"packages":4,"unit":"kg","qty":1.2e3,"code":"900\u002d214\u002d08","line":1}],` +
		`"vehicle":"\u7ca4A12345","to":{"key":"%[2]s","org":"91440111MA59ABCD2K"},` +
		`"from":{"key":"%[1]s","org":"91440101MA5CXXXX1X"},"step":"pickup","manifest":"20264401000123","v":1}`
)

const rfc8785Example = `{
  "numbers": [333333333.33333329, 1E30, 4.50,
              2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`

const rfc8785Sorting = `{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}`

const numbers = `{
  "integers": [0, -0, 1200, 23129110, 113264385, 9007199254740992, 9007199254740993, -9007199254740993],
  "exponents": [1e21, 1E20, 1e-7, 1e-6, 5e-324, 1.7976931348623157e308, 1e+23],
  "fractions": [4.50, 0.1, -12.25, 333333333.33333329, 2e-3, 1424953923781206.25]
}`

const stringsText = `{
  "place_name": "广州市白云区太和镇",
  "escaped_chinese": "\u5e7f\u5dde\u5e02",
  "controls": "\u0000\u0001\u001F\b\t\n\f\r\u007f",
  "quotes": "\"quoted\" and back\\slash and \/ slash",
  "html": "<b>A&B</b> \u003c\u003e\u0026",
  "separators": "\u2028\u2029",
  "non_bmp": "\ud83d\ude9b 🚛 𠮷",
  "unit": "千克"
}`

// Build derives the test keys from seed and returns every vector.
func Build(seed string) ([]Vector, error) {
	rand := &seedStream{seed: []byte(seed)}
	producer, err := signature.GenerateKey(rand)
	if err != nil {
		return nil, err
	}
	carrier, err := signature.GenerateKey(rand)
	if err != nil {
		return nil, err
	}
	prevSum := signature.Digest([]byte(`{"manifest":"20264401000123","step":"create","v":1}`))
	prev := base64.RawURLEncoding.EncodeToString(prevSum[:])
	pk, ck := signature.Thumbprint(&producer.PublicKey), signature.Thumbprint(&carrier.PublicKey)
	pickup := fmt.Sprintf(pickupPretty, pk, ck, prev)

	var vs []Vector
	add := func(name, desc, input string, key *ecdsa.PrivateKey, expect string, sig func(canonical []byte) (string, error)) error {
		canonical, err := jcs.Canonicalize([]byte(input))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if sig == nil {
			sig = func(c []byte) (string, error) { return signature.Sign(nil, key, c) }
		}
		s, err := sig(canonical)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		sum := sha256.Sum256(canonical)
		vs = append(vs, Vector{
			Name: name, Description: desc, Input: input,
			Canonical: string(canonical), SHA256: hex.EncodeToString(sum[:]),
			KeyID:     signature.Thumbprint(&key.PublicKey),
			PublicJWK: signature.MarshalPublicJWK(&key.PublicKey), PrivateJWK: signature.MarshalPrivateJWK(key),
			Signature: s, Expect: expect,
		})
		return nil
	}
	pickupCanonical, err := jcs.Canonicalize([]byte(pickup))
	if err != nil {
		return nil, err
	}
	// pickupSig signs the pickup statement (whatever the vector's input)
	// with the producer key and passes the raw r‖s through f to make a
	// derived signature.
	pickupSig := func(f func(rs []byte) string) func([]byte) (string, error) {
		return func([]byte) (string, error) {
			s, err := signature.Sign(nil, producer, pickupCanonical)
			if err != nil {
				return "", err
			}
			rs, err := base64.RawURLEncoding.DecodeString(s)
			if err != nil {
				return "", err
			}
			return f(rs), nil
		}
	}
	b64 := base64.RawURLEncoding.EncodeToString
	n := ecdsa.PublicKey{Curve: producer.Curve}.Params().N

	steps := []error{
		add("pickup_signed_by_producer", "A realistic pickup handover, pretty-printed with unsorted keys, signed by the producer (from).",
			pickup, producer, "valid", nil),
		add("pickup_signed_by_carrier", "The same statement as sent by another client: compact, keys in another order, escapes (\\u7ca4, \\u002d) and 1.2e3 for 1200. Same canonical form and sha256; signed by the carrier (to).",
			fmt.Sprintf(pickupCompact, pk, ck, prev), carrier, "valid", nil),
		add("rfc8785_example", "The example of RFC 8785 §3.2.2: number serialisation and string escaping.",
			rfc8785Example, producer, "valid", nil),
		add("rfc8785_utf16_sorting", "The sorting example of RFC 8785 §3.2.3: member names sort as UTF-16 code units, so U+1F600 (D83D DE00) sorts before U+FB33.",
			rfc8785Sorting, producer, "valid", nil),
		add("numbers", "Numbers become IEEE 754 doubles written as ECMAScript does: -0 is 0, 9007199254740993 is 9007199254740992, exponent form from 1e21 and below 1e-6.",
			numbers, carrier, "valid", nil),
		add("strings", "Strings: non-ASCII and <>& and U+2028 stay literal UTF-8; only \", \\ and U+0000–U+001F are escaped, with \\b \\t \\n \\f \\r or lowercase \\u00xx.",
			stringsText, carrier, "valid", nil),
		add("high_s", "A signature with s replaced by n - s. ECDSA accepts both; WebCrypto does not normalise S, so neither does Verify.",
			pickup, producer, "valid", pickupSig(func(rs []byte) string {
				s := new(big.Int).Sub(n, new(big.Int).SetBytes(rs[32:]))
				s.FillBytes(rs[32:])
				return b64(rs)
			})),
		add("tampered_byte", "The producer's signature over the pickup statement, checked against a copy whose quantity was changed from 1200 to 1300: one byte of the canonical form differs.",
			strings.Replace(pickup, `"qty": 1200`, `"qty": 1300`, 1), producer, "mismatch", pickupSig(b64)),
		add("wrong_key", "The producer's signature over the pickup statement, checked against the carrier's key.",
			pickup, carrier, "mismatch", pickupSig(b64)),
		add("padded_signature", "A valid signature with base64 padding \"==\" appended: only unpadded base64url is accepted.",
			pickup, producer, "malformed", pickupSig(func(rs []byte) string { return base64.URLEncoding.EncodeToString(rs) })),
		add("standard_alphabet", "A valid signature written in the standard base64 alphabet (+ and /) instead of base64url (- and _).",
			pickup, producer, "malformed", pickupStdAlphabet(producer)),
		add("der_signature", "A valid signature in ASN.1 DER (as OpenSSL or Java write it) instead of P1363 r‖s.",
			pickup, producer, "malformed", pickupSig(func(rs []byte) string { return b64(der(rs)) })),
		add("trailing_bits", "A valid signature whose last character has its unused low bits set: it decodes to the same bytes in lax decoders, but each signature has one accepted spelling.",
			pickup, producer, "malformed", pickupSig(func(rs []byte) string {
				s := []byte(b64(rs))
				const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
				s[len(s)-1] = alphabet[strings.IndexByte(alphabet, s[len(s)-1])|1]
				return string(s)
			})),
		add("truncated", "A valid signature with its last byte removed (63 bytes).",
			pickup, producer, "malformed", pickupSig(func(rs []byte) string { return b64(rs[:63]) })),
		add("s_not_below_order", "r from a valid signature, s = n (the group order): out of range.",
			pickup, producer, "malformed", pickupSig(func(rs []byte) string {
				n.FillBytes(rs[32:])
				return b64(rs)
			})),
		add("r_zero", "r = 0, s from a valid signature: out of range.",
			pickup, producer, "malformed", pickupSig(func(rs []byte) string {
				clear(rs[:32])
				return b64(rs)
			})),
	}
	for _, err := range steps {
		if err != nil {
			return nil, err
		}
	}
	return vs, nil
}

// pickupStdAlphabet signs until the signature contains '-' or '_' (almost
// always the first time), so its standard-alphabet spelling differs.
func pickupStdAlphabet(key *ecdsa.PrivateKey) func([]byte) (string, error) {
	return func(c []byte) (string, error) {
		for range 100 {
			s, err := signature.Sign(nil, key, c)
			if err != nil {
				return "", err
			}
			if strings.ContainsAny(s, "-_") {
				return strings.NewReplacer("-", "+", "_", "/").Replace(s), nil
			}
		}
		return "", fmt.Errorf("no signature with '-' or '_' in 100 tries")
	}
}

// der encodes r‖s as ASN.1 DER SEQUENCE{INTEGER r, INTEGER s}.
func der(rs []byte) []byte {
	integer := func(x []byte) []byte {
		x = bytes.TrimLeft(x, "\x00")
		if x[0]&0x80 != 0 {
			x = append([]byte{0}, x...)
		}
		return append([]byte{0x02, byte(len(x))}, x...)
	}
	body := append(integer(rs[:32]), integer(rs[32:])...)
	return append([]byte{0x30, byte(len(body))}, body...)
}
