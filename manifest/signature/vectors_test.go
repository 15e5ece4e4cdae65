package signature_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"wasteledger/manifest/jcs"
	"wasteledger/manifest/signature"
)

// vector is one case of testdata/vectors.json; the file is the contract
// (see internal/genvectors for the field documentation).
type vector struct {
	Name       string          `json:"name"`
	Input      string          `json:"input"`
	Canonical  string          `json:"canonical"`
	SHA256     string          `json:"sha256"`
	KeyID      string          `json:"key_id"`
	PublicJWK  json.RawMessage `json:"public_jwk"`
	PrivateJWK json.RawMessage `json:"private_jwk"`
	Signature  string          `json:"signature"`
	Expect     string          `json:"expect"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestVectors(t *testing.T) {
	vs := loadVectors(t)
	byName := map[string]vector{}
	count := map[string]int{}
	for _, v := range vs {
		byName[v.Name] = v
		count[v.Expect]++
		t.Run(v.Name, func(t *testing.T) {
			canonical, err := jcs.Canonicalize([]byte(v.Input))
			if err != nil {
				t.Fatalf("Canonicalize(input) error: %v", err)
			}
			if string(canonical) != v.Canonical {
				t.Errorf("Canonicalize(input) = %s\nwant %s", canonical, v.Canonical)
			}
			sum := sha256.Sum256([]byte(v.Canonical))
			if got := hex.EncodeToString(sum[:]); got != v.SHA256 {
				t.Errorf("sha256(canonical) = %s, want %s", got, v.SHA256)
			}
			if d := signature.Digest([]byte(v.Canonical)); hex.EncodeToString(d[:]) != v.SHA256 {
				t.Errorf("Digest(canonical) = %x, want %s", d, v.SHA256)
			}
			pub, err := signature.ParsePublicJWK(v.PublicJWK)
			if err != nil {
				t.Fatalf("ParsePublicJWK error: %v", err)
			}
			if got := signature.Thumbprint(pub); got != v.KeyID {
				t.Errorf("Thumbprint = %s, want key_id %s", got, v.KeyID)
			}
			priv, err := signature.ParsePrivateJWK(v.PrivateJWK)
			if err != nil {
				t.Fatalf("ParsePrivateJWK error: %v", err)
			}
			if !priv.PublicKey.Equal(pub) {
				t.Fatal("private_jwk is not the private key of public_jwk")
			}
			if _, err := signature.ParsePublicJWK(v.PrivateJWK); !errors.Is(err, signature.ErrPrivateKey) {
				t.Errorf("ParsePublicJWK(private_jwk) error = %v, want ErrPrivateKey", err)
			}

			err = signature.Verify(pub, []byte(v.Canonical), v.Signature)
			switch v.Expect {
			case "valid":
				if err != nil {
					t.Errorf("Verify = %v, want nil", err)
				}
			case "mismatch":
				if !errors.Is(err, signature.ErrMismatch) {
					t.Errorf("Verify = %v, want ErrMismatch", err)
				}
			case "malformed":
				if !errors.Is(err, signature.ErrMalformed) {
					t.Errorf("Verify = %v, want ErrMalformed", err)
				}
			default:
				t.Fatalf("unknown expect %q", v.Expect)
			}

			// The key signs too: a fresh signature over the canonical bytes verifies.
			sig, err := signature.Sign(nil, priv, []byte(v.Canonical))
			if err != nil {
				t.Fatal(err)
			}
			if err := signature.Verify(pub, []byte(v.Canonical), sig); err != nil {
				t.Errorf("Verify(fresh signature) = %v, want nil", err)
			}
		})
	}
	for _, want := range []string{"valid", "mismatch", "malformed"} {
		if count[want] == 0 {
			t.Errorf("no vector expects %q", want)
		}
	}

	// The two pickup inputs are different texts of one statement.
	a, b := byName["pickup_signed_by_producer"], byName["pickup_signed_by_carrier"]
	if a.Input == b.Input || a.Canonical != b.Canonical || a.KeyID == b.KeyID {
		t.Error("pickup vectors: want different inputs, one canonical form, two keys")
	}
	// The tampered statement differs from the signed one in exactly one byte.
	tampered := byName["tampered_byte"]
	if len(tampered.Canonical) != len(a.Canonical) {
		t.Fatalf("tampered_byte canonical has length %d, want %d", len(tampered.Canonical), len(a.Canonical))
	}
	diff := 0
	for i := range a.Canonical {
		if a.Canonical[i] != tampered.Canonical[i] {
			diff++
		}
	}
	if diff != 1 {
		t.Errorf("tampered_byte differs from pickup_signed_by_producer in %d bytes, want 1", diff)
	}
}
