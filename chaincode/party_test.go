package chaincode_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"wasteledger/chaincode"
	"wasteledger/chaincode/scenario"
	"wasteledger/manifest"
)

// A step learns who may submit for a party from the party's key, which
// records its organisation's ledger member: it reads no organisation. A
// key registered before keys recorded it still works, through the
// organisation.
func TestStepReadsOrganisationsOnlyForOlderKeys(t *testing.T) {
	ctx := context.Background()
	h := &detHost{cc: chaincode.New(), state: map[string][]byte{}, hist: map[string][]chaincode.Version{},
		start: time.Now().Add(time.Second)} // after the statements' times
	w := scenario.NewWorld()
	if err := w.Setup(ctx, h); err != nil {
		t.Fatal(err)
	}
	for _, p := range w.Parties() {
		var k manifest.Key
		if err := json.Unmarshal(h.state["key~"+p.KID], &k); err != nil {
			t.Fatal(err)
		}
		if k.MSP != p.Org.MSP {
			t.Errorf("key %s of %s records member %q, want %q", p.KID, p.Org.ID, k.MSP, p.Org.MSP)
		}
	}
	trip := w.OilTrip(true)
	if err := trip.Run(ctx, h, manifest.StatusSigned); err != nil {
		t.Fatal(err)
	}
	orgReads := func() []string {
		var out []string
		for _, k := range h.reads {
			if strings.HasPrefix(k, "org~") {
				out = append(out, k)
			}
		}
		return out
	}
	for i := range 2 { // pickup, relay
		h.reads = nil
		if err := trip.Relay(ctx, h, i-1); err != nil {
			t.Fatal(err)
		}
		if r := orgReads(); len(r) != 0 {
			t.Errorf("handover %d read organisations %v", i, r)
		}
	}

	// The receiver, who submits the delivery, holds a key from before:
	// without its member the carrier's key alone would not let it submit.
	_, _, to := trip.Handover(2)
	var k manifest.Key
	if err := json.Unmarshal(h.state["key~"+to.KID], &k); err != nil {
		t.Fatal(err)
	}
	k.MSP = ""
	old, _ := json.Marshal(k)
	h.state["key~"+to.KID] = old
	h.reads = nil
	if err := trip.Deliver(ctx, h); err != nil {
		t.Fatalf("delivery to a receiver with an older key: %v", err)
	}
	if r, want := orgReads(), []string{"org~" + to.Org.ID}; strings.Join(r, " ") != strings.Join(want, " ") {
		t.Errorf("delivery to %s (older key) read organisations %v, want %v", to.Org.ID, r, want)
	}
}
