package fabric

import (
	"testing"
	"time"

	"wasteledger/chaincode"
	"wasteledger/chaincode/fabric/packed"
	"wasteledger/chaincode/scenario"
)

// BenchmarkEndorseHandover is the chaincode's share of one endorsement of
// a signed pickup: through contractapi (what a peer runs) and the contract
// alone over the same stub, so that the adapter's overhead shows. Both are
// NewForPeers, as cmd/chaincode serves it: after the first iteration the
// signatures are found verified, as at a transaction's second and third
// endorsement, while the new manifest version (each iteration has its own
// time) is packed every time, as at the first. State reads cost nothing
// here; on a peer each is a round trip. "replayed" is the endorsement of
// a proposal the server ran before (replay.go).
func BenchmarkEndorseHandover(b *testing.B) {
	h := newStubHost(b)
	trip := signedTrip(b, h)
	body, err := scenario.Sign(trip.Handover(0))
	if err != nil {
		b.Fatal(err)
	}
	creator := h.ids.creator(b, scenario.CarrierMSP)
	args := [][]byte{[]byte("Handover"), body}

	probe := h.l.newStub(creator, time.Now(), args...)
	h.cc.Invoke(probe)
	b.Logf("a pickup reads %d keys and writes %d; response %d bytes, event %d bytes",
		len(probe.reads), len(probe.writes), len(h.cc.Invoke(h.l.newStub(creator, time.Now(), args...)).Payload), len(probe.event.payload))

	b.Run("contractapi", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			res := h.cc.Invoke(h.l.newStub(creator, time.Now(), args...))
			if res.Status != 200 {
				b.Fatal(res.Message)
			}
		}
	})
	b.Run("replayed", func(b *testing.B) { // a second and third endorsement
		at := time.Now()
		h.cc.Invoke(h.l.newStub(creator, at, args...))
		for i := 0; i < b.N; i++ {
			stub := h.l.newStub(creator, at, args...)
			stub.txID = "replayed"
			if i == 0 {
				h.cc.Invoke(stub) // recorded under this id
				continue
			}
			if res := h.cc.Invoke(stub); res.Status != 200 {
				b.Fatal(res.Message)
			}
		}
	})
	b.Run("contract", func(b *testing.B) {
		cc := chaincode.NewForPeers()
		var values packed.Cache
		for i := 0; i < b.N; i++ {
			st, err := newState(h.l.newStub(creator, time.Now(), args...), chaincode.Caller{MSP: scenario.CarrierMSP, ID: "x"}, &values)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := cc.Invoke(st, "Handover", [][]byte{body}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
