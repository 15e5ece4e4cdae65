package chaincode_test

import (
	"context"
	"testing"
	"time"

	"wasteledger/chaincode"
	"wasteledger/chaincode/scenario"
	"wasteledger/manifest"
)

// BenchmarkPickup measures the contract alone on a two-party pickup: what a
// ledger host pays per handover before it writes anything.
func BenchmarkPickup(b *testing.B) {
	ctx := context.Background()
	h := &detHost{cc: chaincode.New(), state: map[string][]byte{}, hist: map[string][]chaincode.Version{}, start: time.Now().Add(-time.Second)}
	w := scenario.NewWorld()
	if err := w.Setup(ctx, h); err != nil {
		b.Fatal(err)
	}
	trip := w.OilTrip(false)
	if err := trip.Run(ctx, h, manifest.StatusSigned); err != nil {
		b.Fatal(err)
	}
	st, from, to := trip.Handover(0)
	body, err := scenario.Sign(st, from, to)
	if err != nil {
		b.Fatal(err)
	}
	tx := &detTx{h: h, id: "bench", at: base, caller: to.Caller(), writes: map[string][]byte{}}
	tx.at = time.Now().Add(time.Minute)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tx.writes = map[string][]byte{}
		if _, err := h.cc.Invoke(tx, "Handover", [][]byte{body}); err != nil {
			b.Fatal(err)
		}
	}
}
