package chaincode

import (
	"crypto/rand"
	"errors"
	"testing"

	"wasteledger/manifest/signature"
)

// The verification cache answers as signature.Verify does: a remembered
// success never vouches for another key, message or signature.
func TestVerifiedAnswersAsVerify(t *testing.T) {
	k1, err := signature.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := signature.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte(`{"step":"pickup"}`)
	sig, err := signature.Sign(rand.Reader, k1, msg)
	if err != nil {
		t.Fatal(err)
	}
	other, err := signature.Sign(rand.Reader, k1, []byte(`{"step":"relay"}`))
	if err != nil {
		t.Fatal(err)
	}
	var v verified
	for i := range 2 { // the second time from the cache
		if err := v.verify(&k1.PublicKey, msg, sig); err != nil {
			t.Fatalf("round %d: a valid signature: %v", i, err)
		}
	}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"another key", v.verify(&k2.PublicKey, msg, sig), signature.ErrMismatch},
		{"another message", v.verify(&k1.PublicKey, []byte(`{"step":"pickup" }`), sig), signature.ErrMismatch},
		{"another message's signature", v.verify(&k1.PublicKey, msg, other), signature.ErrMismatch},
		{"no key", v.verify(nil, msg, sig), signature.ErrInvalidKey},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if v.Len() != 1 {
		t.Errorf("the cache holds %d entries, want the one success", v.Len())
	}
}
