package fabric

import (
	"bytes"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"wasteledger/chaincode"
	"wasteledger/chaincode/fabric/packed"
	"wasteledger/chaincode/scenario"
)

// runs counts the contract's runs.
type runs struct {
	chaincode.Invoker
	n atomic.Int32
}

func (r *runs) Invoke(st chaincode.State, fn string, args [][]byte) ([]byte, error) {
	r.n.Add(1)
	return r.Invoker.Invoke(st, fn, args)
}

// sameEndorsement fails unless a and b gave a peer the same endorsement:
// response, read set (keys and versions), write set and event.
func sameEndorsement(t *testing.T, what string, a, b *fakeStub, ra, rb *peer.Response) {
	t.Helper()
	if ra.Status != 200 || rb.Status != 200 {
		t.Fatalf("%s: %d %s / %d %s", what, ra.Status, ra.Message, rb.Status, rb.Message)
	}
	if !bytes.Equal(ra.Payload, rb.Payload) || !reflect.DeepEqual(a.reads, b.reads) || !reflect.DeepEqual(a.writes, b.writes) ||
		!reflect.DeepEqual(a.order, b.order) || a.event.name != b.event.name || !bytes.Equal(a.event.payload, b.event.payload) {
		t.Errorf("%s: the endorsements differ (reads %v / %v)", what, a.reads, b.reads)
	}
}

// A second endorsement of a proposal through the same chaincode server is
// a replay of the first: the contract does not run again, and the peer
// gets what a fresh server gives it, read set included. When the peer
// holds another value of a key the first run read, or the proposal
// differs, the contract runs.
func TestReplayedEndorsement(t *testing.T) {
	h := newStubHost(t)
	trip := signedTrip(t, h)
	counted := &runs{Invoker: chaincode.NewForPeers()}
	shared, err := NewChaincode(counted)
	if err != nil {
		t.Fatal(err)
	}
	st, from, to := trip.Handover(0)
	body, err := scenario.Sign(st, from, to)
	if err != nil {
		t.Fatal(err)
	}
	creator := h.ids.creator(t, to.Caller().MSP)
	at := time.Now()
	proposal := func(args ...[]byte) *fakeStub { // one transaction, as each peer gets it
		s := h.l.newStub(creator, at, args...)
		s.txID = "ab12"
		return s
	}
	args := [][]byte{[]byte("Handover"), body}

	first := proposal(args...)
	r1 := shared.Invoke(first)
	second := proposal(args...)
	r2 := shared.Invoke(second)
	if n := counted.n.Load(); n != 1 {
		t.Errorf("the contract ran %d times for two endorsements of one proposal, want 1", n)
	}
	if second.trips != 1 {
		t.Errorf("the replay asked the peer %d times, want once", second.trips)
	}
	if second.creators != 1 {
		t.Errorf("the replay asked for the creator %d times, want once: contractapi was entered", second.creators)
	}
	// The function named as contractapi also reads it, with the contract's
	// name or a lower-case first letter: the same transaction, replayed.
	for _, name := range []string{Name + ":Handover", "handover"} {
		named := proposal([]byte(name), body)
		if r := shared.Invoke(named); counted.n.Load() != 1 || named.creators != 1 {
			t.Errorf("%s: the contract ran again or contractapi was entered (%d %s)", name, r.Status, r.Message)
		} else {
			sameEndorsement(t, name+" vs Handover", second, named, r2, r)
		}
	}
	// Another contract's function goes to contractapi.
	if r := shared.Invoke(proposal([]byte("org.hyperledger.fabric:GetMetadata"))); r.Status != 200 || !bytes.Contains(r.Payload, []byte(`"Handover"`)) {
		t.Errorf("GetMetadata: %d %s", r.Status, r.Message)
	}
	cold, err := NewChaincode(chaincode.NewForPeers())
	if err != nil {
		t.Fatal(err)
	}
	third := proposal(args...)
	r3 := cold.Invoke(third)
	sameEndorsement(t, "replayed vs fresh server", second, third, r2, r3)
	sameEndorsement(t, "first vs replayed", first, second, r1, r2)

	// A run that read a history is not recorded: it runs each time.
	for range 2 {
		h := proposal([]byte("ManifestHistory"), []byte(st.Manifest))
		if r := shared.Invoke(h); r.Status != 200 {
			t.Fatalf("ManifestHistory: %s", r.Message)
		}
	}
	if counted.n.Load() != 3 {
		t.Errorf("two endorsements of a history query: %d runs in all, want 3", counted.n.Load())
	}
	counted.n.Store(1)

	// The same proposal with its argument packed is another proposal.
	repacked := proposal([]byte("Handover"), packed.Encode(body))
	if r := shared.Invoke(repacked); r.Status != 200 || counted.n.Load() != 2 {
		t.Errorf("a proposal with other argument bytes: status %d, %d runs, want a run", r.Status, counted.n.Load())
	}

	// A peer at another height: a value the first run read differs there.
	k := chaincode.ManifestKey(st.Manifest)
	h.l.mu.Lock()
	old := h.l.state[k]
	h.l.state[k] = fakeValue{v: old.v, ver: old.ver + 100} // same value, another version: replayed
	h.l.mu.Unlock()
	again := proposal(args...)
	if r := shared.Invoke(again); r.Status != 200 || counted.n.Load() != 2 || again.reads[k] != old.ver+100 {
		t.Errorf("same values at other versions: status %d, %d runs, read version %d, want a replay reading version %d",
			r.Status, counted.n.Load(), again.reads[k], old.ver+100)
	}
	h.l.mu.Lock()
	h.l.state[k] = fakeValue{v: append([]byte(nil), old.v[:len(old.v)-1]...), ver: old.ver + 101}
	h.l.mu.Unlock()
	changed := proposal(args...)
	rc := shared.Invoke(changed)
	if counted.n.Load() != 3 {
		t.Errorf("a read value differs: %d runs, want the contract to run", counted.n.Load())
	}
	coldAgain, err := NewChaincode(chaincode.NewForPeers())
	if err != nil {
		t.Fatal(err)
	}
	ref := proposal(args...)
	rr := coldAgain.Invoke(ref)
	if rc.Status != rr.Status || rc.Message != rr.Message {
		t.Errorf("after a changed read: %d %q, a fresh server says %d %q", rc.Status, rc.Message, rr.Status, rr.Message)
	}
}
