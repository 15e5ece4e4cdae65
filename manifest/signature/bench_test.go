package signature_test

import (
	"crypto/ecdsa"
	"encoding/base64"
	"testing"

	"wasteledger/manifest/signature"
)

// BenchmarkVerify measures the ledger's hot path: one party signature over
// a realistic canonical handover statement (~480 bytes), key already parsed.
func BenchmarkVerify(b *testing.B) {
	v := loadVectors(b)[0]
	pub, err := signature.ParsePublicJWK(v.PublicJWK)
	if err != nil {
		b.Fatal(err)
	}
	msg := []byte(v.Canonical)
	if err := signature.Verify(pub, msg, v.Signature); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if err := signature.Verify(pub, msg, v.Signature); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyParallel(b *testing.B) {
	v := loadVectors(b)[0]
	pub, err := signature.ParsePublicJWK(v.PublicJWK)
	if err != nil {
		b.Fatal(err)
	}
	msg := []byte(v.Canonical)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := signature.Verify(pub, msg, v.Signature); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkVerifyASN1Baseline is crypto/ecdsa alone (hash + DER verify),
// the floor Verify is measured against.
func BenchmarkVerifyASN1Baseline(b *testing.B) {
	v := loadVectors(b)[0]
	pub, err := signature.ParsePublicJWK(v.PublicJWK)
	if err != nil {
		b.Fatal(err)
	}
	msg := []byte(v.Canonical)
	rs, _ := base64.RawURLEncoding.DecodeString(v.Signature)
	der := derSig(rs)
	b.ReportAllocs()
	for b.Loop() {
		d := signature.Digest(msg)
		if !ecdsa.VerifyASN1(pub, d[:], der) {
			b.Fatal("does not verify")
		}
	}
}

// BenchmarkVerifyMalformed: refusing garbage costs no curve arithmetic.
func BenchmarkVerifyMalformed(b *testing.B) {
	v := loadVectors(b)[0]
	pub, err := signature.ParsePublicJWK(v.PublicJWK)
	if err != nil {
		b.Fatal(err)
	}
	sig := v.Signature[:85] + "="
	b.ReportAllocs()
	for b.Loop() {
		if signature.Verify(pub, []byte(v.Canonical), sig) == nil {
			b.Fatal("accepted")
		}
	}
}

func BenchmarkSign(b *testing.B) {
	v := loadVectors(b)[0]
	priv, err := signature.ParsePrivateJWK(v.PrivateJWK)
	if err != nil {
		b.Fatal(err)
	}
	msg := []byte(v.Canonical)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := signature.Sign(nil, priv, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParsePublicJWK(b *testing.B) {
	v := loadVectors(b)[0]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := signature.ParsePublicJWK(v.PublicJWK); err != nil {
			b.Fatal(err)
		}
	}
}
