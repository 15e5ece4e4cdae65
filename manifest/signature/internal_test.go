package signature

import (
	"crypto/elliptic"
	"encoding/asn1"
	"math/big"
	"math/rand/v2"
	"testing"
)

// appendDER must write what encoding/asn1 writes for SEQUENCE{r, s}.
func TestAppendDER(t *testing.T) {
	n := elliptic.P256().Params().N
	r := rand.New(rand.NewPCG(1, 2))
	values := []*big.Int{big.NewInt(1), big.NewInt(0x7f), big.NewInt(0x80), big.NewInt(0xff), big.NewInt(0x100), new(big.Int).Sub(n, big.NewInt(1)), new(big.Int).Rsh(n, 1)}
	for range 200 {
		b := make([]byte, 32)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		b[0] &= byte(0xff >> r.IntN(9)) // vary the bit length
		v := new(big.Int).SetBytes(b)
		if v.Sign() > 0 && v.Cmp(n) < 0 {
			values = append(values, v)
		}
	}
	for _, rv := range values {
		for _, sv := range values[:12] {
			want, err := asn1.Marshal(struct{ R, S *big.Int }{rv, sv})
			if err != nil {
				t.Fatal(err)
			}
			var rs [64]byte
			rv.FillBytes(rs[:32])
			sv.FillBytes(rs[32:])
			if got := appendDER(nil, rs[:32], rs[32:]); string(got) != string(want) {
				t.Fatalf("appendDER(%x, %x) = %x, want %x", rv, sv, got, want)
			}
		}
	}
}
