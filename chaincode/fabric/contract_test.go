package fabric

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"wasteledger/chaincode"
	"wasteledger/chaincode/conformance"
	"wasteledger/chaincode/fabric/docref"
	"wasteledger/chaincode/fabric/packed"
	"wasteledger/chaincode/scenario"
	"wasteledger/manifest"
)

// stubHost runs the contract as a peer would: contractapi's chaincode over
// a fresh fake stub per transaction, the caller taken from the creator
// identity, writes committed with MVCC validation. It is what the Fabric
// network does, minus the network, so the whole conformance suite runs in
// every `go test ./...`.
type stubHost struct {
	t   testing.TB
	l   *fakeLedger
	cc  *Chaincode
	ids *identities

	// twoEndorsers runs every proposal twice at once through the one
	// contract, as two endorsing peers sharing a chaincode server do, then
	// a third time (a replay when the first two recorded it), and
	// fails the test unless both produce the same response, read set, write
	// set and event (shared caches and replays included). Transactions are
	// then serialised.
	twoEndorsers bool
	mu           sync.Mutex
	lastMu       sync.Mutex
	last         *fakeStub // the stub of the last transaction run
}

func newStubHost(t testing.TB) *stubHost {
	t.Helper()
	cc, err := NewChaincode(chaincode.NewForPeers())
	if err != nil {
		t.Fatal(err)
	}
	return &stubHost{t: t, l: newFakeLedger(), cc: cc, ids: newIdentities(t)}
}

func (h *stubHost) run(caller chaincode.Caller, fn string, args [][]byte, commit bool) ([]byte, *fakeStub, error) {
	stub := h.l.newStub(h.ids.creator(h.t, caller.MSP), time.Now(), append([][]byte{[]byte(fn)}, args...)...)
	if h.twoEndorsers {
		h.mu.Lock()
		defer h.mu.Unlock()
	}
	h.lastMu.Lock()
	h.last = stub
	h.lastMu.Unlock()
	if !h.twoEndorsers {
		return h.finish(stub, h.cc.Invoke(stub), commit)
	}
	other := h.l.newStub(stub.creator, stub.ts.AsTime(), stub.args...)
	other.txID = stub.txID
	var wg sync.WaitGroup
	var res2 *peer.Response
	wg.Go(func() { res2 = h.cc.Invoke(other) })
	res := h.cc.Invoke(stub)
	wg.Wait()
	// A third peer's endorsement, after both: a replay of theirs.
	third := h.l.newStub(stub.creator, stub.ts.AsTime(), stub.args...)
	third.txID = stub.txID
	res3 := h.cc.Invoke(third)
	for _, e := range []struct {
		s *fakeStub
		r *peer.Response
	}{{other, res2}, {third, res3}} {
		if res.Status != e.r.Status || res.Message != e.r.Message || !bytes.Equal(res.Payload, e.r.Payload) ||
			!reflect.DeepEqual(stub.reads, e.s.reads) || !reflect.DeepEqual(stub.writes, e.s.writes) || !reflect.DeepEqual(stub.order, e.s.order) ||
			stub.event.name != e.s.event.name || !bytes.Equal(stub.event.payload, e.s.event.payload) {
			h.t.Errorf("%s is not deterministic: endorsements of transaction %s differ", fn, stub.txID)
		}
	}
	return h.finish(stub, res, commit)
}

func (h *stubHost) finish(stub *fakeStub, res *peer.Response, commit bool) ([]byte, *fakeStub, error) {
	if res.Status != 200 {
		// What a Fabric client gets: the chaincode's message; the code is
		// parsed back from its "[code]" prefix.
		if e := manifest.ParseError(res.Message); e != nil {
			return nil, stub, e
		}
		return nil, stub, errors.New(res.Message)
	}
	if commit {
		if err := stub.commit(); err != nil {
			return nil, stub, manifest.Errorf(manifest.Conflict, "%v", err)
		}
	}
	// What the gateway's Fabric backend does: restore the documents the
	// response names from the transaction's write set.
	out, err := docref.Decode(res.Payload, stub.written)
	if err != nil {
		h.t.Errorf("%s: response: %v", stub.args[0], err)
	}
	return out, stub, nil
}

func (h *stubHost) Submit(_ context.Context, c chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	out, _, err := h.run(c, fn, args, true)
	return out, err
}

func (h *stubHost) Evaluate(_ context.Context, c chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	out, _, err := h.run(c, fn, args, false)
	return out, err
}

func TestConformanceOverShimStub(t *testing.T) {
	conformance.Run(t, func(t *testing.T) scenario.Host { return newStubHost(t) })
}

// Every transaction of the suite, endorsed three times from the same
// proposal (the third a replay), gives byte-identical results: what
// endorsing peers must agree on.
func TestDeterministicAcrossEndorsers(t *testing.T) {
	conformance.Run(t, func(t *testing.T) scenario.Host {
		h := newStubHost(t)
		h.twoEndorsers = true
		return h
	})
}

// Every function of the contract is a transaction method with the right
// arity, and nothing else is.
func TestEveryFunctionIsATransaction(t *testing.T) {
	ct := reflect.TypeOf(&Contract{})
	ctxType := reflect.TypeOf((*contractapi.TransactionContextInterface)(nil)).Elem()
	strType, errType := reflect.TypeOf(""), reflect.TypeOf((*error)(nil)).Elem()
	for name, f := range chaincode.Functions {
		m, ok := ct.MethodByName(name)
		if !ok {
			t.Errorf("chaincode function %s has no method on fabric.Contract", name)
			continue
		}
		mt := m.Type
		ok = mt.NumIn() == 2+f.Args && mt.In(1) == ctxType && mt.NumOut() == 2 && mt.Out(0) == strType && mt.Out(1) == errType
		for i := 0; ok && i < f.Args; i++ {
			ok = mt.In(2+i) == strType
		}
		if !ok {
			t.Errorf("%s has type %v, want func(ctx, %d string argument(s)) (string, error)", name, mt, f.Args)
		}
	}

	// The metadata lists exactly the contract's functions, queries tagged
	// evaluate and the rest submit.
	h := newStubHost(t)
	stub := h.l.newStub(h.ids.creator(t, "RegulatorMSP"), time.Now(), []byte("org.hyperledger.fabric:GetMetadata"))
	res := h.cc.Invoke(stub)
	if res.Status != 200 {
		t.Fatalf("GetMetadata: %d %s", res.Status, res.Message)
	}
	var md struct {
		Contracts map[string]struct {
			Transactions []struct {
				Name string   `json:"name"`
				Tag  []string `json:"tag"`
			} `json:"transactions"`
		} `json:"contracts"`
	}
	if err := json.Unmarshal(res.Payload, &md); err != nil {
		t.Fatal(err)
	}
	txs := md.Contracts[Name].Transactions
	var got, want []string
	for _, tx := range txs {
		got = append(got, tx.Name)
		f, ok := chaincode.Functions[tx.Name]
		if !ok {
			continue
		}
		wantTag := "submit"
		if f.Query {
			wantTag = "evaluate"
		}
		if len(tx.Tag) == 0 || tx.Tag[0] != wantTag {
			t.Errorf("metadata tags %s %v, want %s", tx.Name, tx.Tag, wantTag)
		}
	}
	for name := range chaincode.Functions {
		want = append(want, name)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("metadata transactions = %v, want %v", got, want)
	}
}

// The caller is the creator's MSP id and X.509 identity, whatever the
// arguments say, and it is what the contract records in its event; the
// event restores it from the transaction's header.
func TestCallerComesFromTheClientIdentity(t *testing.T) {
	h := newStubHost(t)
	out, stub, err := h.run(chaincode.Caller{MSP: "RegulatorMSP", ID: "claimed-in-an-argument"}, "Diagnose", nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"saw_own_write":"false"}` {
		t.Errorf("Diagnose = %s, want saw_own_write false", out)
	}
	if !stub.batching {
		t.Error("the adapter did not ask the shim to batch the writes")
	}
	if !stub.event.set || stub.event.name != "diag.probe" {
		t.Fatalf("event %q set=%v, want diag.probe", stub.event.name, stub.event.set)
	}
	// The event names the transaction's id, time and submitter, which its
	// header holds, rather than repeat them (package docref).
	ev := restoredEvent(t, stub)
	if raw := string(stub.event.payload); strings.Contains(raw, ev.Caller.ID) || strings.Contains(raw, ev.TxID) {
		t.Errorf("the event payload as sent repeats the caller or the transaction id: %q", raw)
	}
	id, _ := base64.StdEncoding.DecodeString(ev.Caller.ID)
	if ev.Caller.MSP != "RegulatorMSP" || !strings.HasPrefix(string(id), "x509::CN=User1@regulatormsp") {
		t.Errorf("event caller = %+v (id %q), want RegulatorMSP and the X.509 subject of User1", ev.Caller, id)
	}
	if ev.TxID != stub.txID || !ev.Time.Equal(stub.ts.AsTime()) {
		t.Errorf("event tx %s at %v, want %s at %v (the proposal's id and timestamp)", ev.TxID, ev.Time, stub.txID, stub.ts.AsTime())
	}

	// The server remembers callers by creator: each creator is still its own.
	for _, msp := range []string{"CarrierMSP", "RegulatorMSP", "CarrierMSP"} {
		_, stub, err := h.run(chaincode.Caller{MSP: msp}, "Diagnose", nil, true)
		if err != nil {
			t.Fatal(err)
		}
		ev := restoredEvent(t, stub)
		id, _ := base64.StdEncoding.DecodeString(ev.Caller.ID)
		if ev.Caller.MSP != msp || !strings.HasPrefix(string(id), "x509::CN=User1@"+strings.ToLower(msp)) {
			t.Errorf("caller of a %s creator: %+v (id %q)", msp, ev.Caller, id)
		}
	}
}

// restoredEvent is the stub's event as the gateway's Fabric backend reads
// it: its references restored from the write set and the header.
func restoredEvent(t *testing.T, stub *fakeStub) chaincode.Event {
	t.Helper()
	payload, err := docref.Decode(stub.event.payload, stub.written)
	if err != nil {
		t.Fatal(err)
	}
	var ev chaincode.Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestErrorsKeepTheirCode(t *testing.T) {
	h := newStubHost(t)
	tests := []struct {
		name   string
		caller chaincode.Caller
		fn     string
		args   []string
		want   manifest.Code
	}{
		{"not found", chaincode.Caller{MSP: "RegulatorMSP"}, "GetManifest", []string{"20264401999999"}, manifest.NotFound},
		{"invalid json", chaincode.Caller{MSP: "RegulatorMSP"}, "RegisterOrg", []string{`{"id":`}, manifest.Invalid},
		{"forbidden", chaincode.Caller{MSP: "ProducerMSP"}, "SetConfig", []string{`{}`}, manifest.Forbidden},
		{"no identity", chaincode.Caller{}, "GetConfig", nil, manifest.Unauthenticated},
		{"unknown function", chaincode.Caller{MSP: "RegulatorMSP"}, "Teleport", []string{"x"}, manifest.Invalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := [][]byte{[]byte(tc.fn)}
			for _, a := range tc.args {
				args = append(args, []byte(a))
			}
			res := h.cc.Invoke(h.l.newStub(h.ids.creator(t, tc.caller.MSP), time.Now(), args...))
			if res.Status != 500 || !strings.HasPrefix(res.Message, "["+string(tc.want)+"] ") {
				t.Errorf("%s = %d %q, want 500 with prefix [%s]", tc.fn, res.Status, res.Message, tc.want)
			}
		})
	}
}

type panicky struct{}

func (panicky) Invoke(chaincode.State, string, [][]byte) ([]byte, error) { panic("boom") }

func TestPanicBecomesInternalError(t *testing.T) {
	cc, err := NewChaincode(panicky{})
	if err != nil {
		t.Fatal(err)
	}
	ids := newIdentities(t)
	res := cc.Invoke(newFakeLedger().newStub(ids.creator(t, "RegulatorMSP"), time.Now(), []byte("GetConfig")))
	if res.Status != 500 || !strings.HasPrefix(res.Message, "[internal] GetConfig: panic: boom") {
		t.Errorf("panicking contract = %d %q, want 500 [internal] … panic: boom", res.Status, res.Message)
	}
}

// signedTrip is a two-leg oil trip signed by its producer, on a world set
// up through h.
func signedTrip(tb testing.TB, h *stubHost) *scenario.Trip {
	tb.Helper()
	ctx := context.Background()
	w := scenario.NewWorld()
	if err := w.Setup(ctx, h); err != nil {
		tb.Fatal(err)
	}
	trip := w.OilTrip(true)
	if err := trip.Run(ctx, h, manifest.StatusSigned); err != nil {
		tb.Fatal(err)
	}
	return trip
}

// Creating a manifest reads what it needs in two requests to the peer
// (GetMultipleStates), not one request per key; a handover of a version
// the same chaincode wrote, in one.
func TestReadsBatched(t *testing.T) {
	ctx := context.Background()
	h := newStubHost(t)
	w := scenario.NewWorld()
	if err := w.Setup(ctx, h); err != nil {
		t.Fatal(err)
	}
	trip := w.OilTrip(true)
	if err := trip.Create(ctx, h); err != nil {
		t.Fatal(err)
	}
	if n := h.last.trips; n > 2 {
		t.Errorf("CreateManifest made %d read requests, want at most 2", n)
	}
	if err := trip.SignByProducer(ctx, h); err != nil {
		t.Fatal(err)
	}
	if err := trip.Pickup(ctx, h); err != nil {
		t.Fatal(err)
	}
	if n := h.last.trips; n != 1 {
		t.Errorf("Handover made %d read requests, want 1", n)
	}
}

// An endorser whose chaincode did not write the version a statement names
// reads the permits in a second request, and its endorsement is the same
// byte for byte: response, read set, write set and event.
func TestWarmAndColdEndorsersAgree(t *testing.T) {
	h := newStubHost(t)
	trip := signedTrip(t, h)
	for i := range len(trip.Carriers) + 1 { // pickup, relay, delivery
		cold, err := NewChaincode(chaincode.NewForPeers())
		if err != nil {
			t.Fatal(err)
		}
		st, from, to := trip.Handover(i)
		step := st.Step
		body, err := scenario.Sign(st, from, to)
		if err != nil {
			t.Fatal(err)
		}
		warm := h.l.newStub(h.ids.creator(t, to.Caller().MSP), time.Now(), []byte("Handover"), body)
		other := h.l.newStub(warm.creator, warm.ts.AsTime(), warm.args...)
		other.txID = warm.txID
		rw, rc := h.cc.Invoke(warm), cold.Invoke(other)
		if rw.Status != 200 || rc.Status != 200 {
			t.Fatalf("%s: %s / %s", step, rw.Message, rc.Message)
		}
		if warm.trips != 1 || other.trips < 2 {
			t.Errorf("%s: %d read requests warm, %d cold; want 1 and more", step, warm.trips, other.trips)
		}
		if !bytes.Equal(rw.Payload, rc.Payload) || !reflect.DeepEqual(warm.reads, other.reads) ||
			!reflect.DeepEqual(warm.writes, other.writes) || !bytes.Equal(warm.event.payload, other.event.payload) {
			t.Errorf("%s: the endorsements differ: reads %v and %v", step, warm.reads, other.reads)
		}
		if err := warm.commit(); err != nil {
			t.Fatal(err)
		}
		if trip.Doc, err = packed.Decode(warm.writes[chaincode.ManifestKey(trip.ID())]); err != nil {
			t.Fatal(err)
		}
	}
}

// An argument sent packed, in the arguments or in the transient data
// (where the gateway's Fabric backend sends those of packed.MinLen bytes
// or more, literal), is the argument: the endorsement is the same byte for byte as for
// the literal one. One that inflates beyond MaxArgBytes, is not DEFLATE or
// is missing from the transient data is refused as invalid.
func TestPackedArguments(t *testing.T) {
	h := newStubHost(t)
	trip := signedTrip(t, h)
	st, from, to := trip.Handover(0)
	body, err := scenario.Sign(st, from, to)
	if err != nil {
		t.Fatal(err)
	}
	small := packed.Encode(body)
	if !packed.Packed(small) || len(small) >= len(body) {
		t.Fatalf("a signed statement of %d bytes packs into %d", len(body), len(small))
	}
	creator := h.ids.creator(t, to.Caller().MSP)
	literal := h.l.newStub(creator, time.Now(), []byte("Handover"), body)
	sent := h.l.newStub(creator, literal.ts.AsTime(), []byte("Handover"), small)
	sent.txID = literal.txID
	rl, rs := h.cc.Invoke(literal), h.cc.Invoke(sent)
	if rl.Status != 200 || rs.Status != 200 {
		t.Fatalf("literal: %s; packed: %s", rl.Message, rs.Message)
	}
	if !bytes.Equal(rl.Payload, rs.Payload) || !reflect.DeepEqual(literal.writes, sent.writes) ||
		!bytes.Equal(literal.event.payload, sent.event.payload) {
		t.Error("a packed argument endorses differently from the literal one")
	}

	// Sent as transient data, literal as the gateway's Fabric backend
	// submits it, or packed: the same endorsement again.
	for name, arg := range map[string][]byte{"literal": body, "packed": small} {
		viaTransient := h.l.newStub(creator, literal.ts.AsTime(), []byte("Handover"), []byte(docref.TransientArg))
		viaTransient.txID = literal.txID
		viaTransient.transient = map[string][]byte{docref.TransientKey(1): arg}
		if rt := h.cc.Invoke(viaTransient); rt.Status != 200 || !bytes.Equal(rl.Payload, rt.Payload) ||
			!reflect.DeepEqual(literal.writes, viaTransient.writes) || !bytes.Equal(literal.event.payload, viaTransient.event.payload) {
			t.Errorf("an argument sent %s as transient data endorses differently from the literal one (%d %s)", name, rt.Status, rt.Message)
		}
	}
	lost := h.l.newStub(creator, time.Now(), []byte("Handover"), []byte(docref.TransientArg))
	lost.transient = map[string][]byte{docref.TransientKey(2): small}
	if res := h.cc.Invoke(lost); res.Status == 200 || !strings.HasPrefix(res.Message, "[invalid] Handover: argument 1: sent as transient data") {
		t.Errorf("an argument missing from the transient data: status %d %q", res.Status, res.Message)
	}

	var bomb bytes.Buffer
	bomb.WriteByte(0)
	w, _ := flate.NewWriter(&bomb, flate.BestCompression)
	w.Write(bytes.Repeat([]byte(" "), MaxArgBytes+1))
	w.Close()
	for _, tc := range []struct {
		name, arg, want string
	}{
		{"too large", bomb.String(), "larger than 8388608 bytes"},
		{"not DEFLATE", "\x00\xff\xff", "packed value"},
	} {
		res := h.cc.Invoke(h.l.newStub(creator, time.Now(), []byte("Handover"), []byte(tc.arg)))
		if res.Status == 200 || !strings.HasPrefix(res.Message, "[invalid] Handover: argument 1: ") || !strings.Contains(res.Message, tc.want) {
			t.Errorf("%s: status %d %q, want an invalid argument (%s)", tc.name, res.Status, res.Message, tc.want)
		}
	}
}

// A handover's new manifest document travels once: in the write set. The
// response and the event name it, and restore to the document the
// contract returned and emitted (what the embedded ledger serves).
func TestDocumentTravelsOnce(t *testing.T) {
	h := newStubHost(t)
	trip := signedTrip(t, h)
	body, err := scenario.Sign(trip.Handover(0))
	if err != nil {
		t.Fatal(err)
	}
	stub := h.l.newStub(h.ids.creator(t, scenario.CarrierMSP), time.Now(), []byte("Handover"), body)
	res := h.cc.Invoke(stub)
	if res.Status != 200 {
		t.Fatal(res.Message)
	}
	stored := stub.writes[chaincode.ManifestKey(trip.ID())]
	doc, err := packed.Decode(stored)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc) < docref.MinLen {
		t.Fatalf("the handover wrote a %d-byte manifest", len(doc))
	}
	if !packed.Packed(stored) || 10*len(stored) > 6*len(doc) {
		t.Errorf("the %d-byte manifest is stored in %d bytes (packed %v), want it packed to 60 %% or less", len(doc), len(stored), packed.Packed(stored))
	}
	if !docref.Encoded(res.Payload) || len(res.Payload) > 64 {
		t.Errorf("response is %d bytes (%.20q…), want a reference to the written manifest", len(res.Payload), res.Payload)
	}
	if len(stub.event.payload) > len(doc)/2 || bytes.Contains(stub.event.payload, doc) {
		t.Errorf("event payload is %d bytes beside a %d-byte document: it repeats it", len(stub.event.payload), len(doc))
	}
	out, err := docref.Decode(res.Payload, stub.written)
	if err != nil || !bytes.Equal(out, doc) {
		t.Errorf("restored response = %.40q, %v; want the written document", out, err)
	}
	ev := restoredEvent(t, stub)
	if ev.Type != "manifest.pickup" || !bytes.Equal(ev.Manifest, doc) || ev.Hash != manifest.Hash(doc) {
		t.Errorf("restored event %s carries a %d-byte manifest (hash %s), want the written one (%s)", ev.Type, len(ev.Manifest), ev.Hash, manifest.Hash(doc))
	}
}

func TestStateOverStub(t *testing.T) {
	l := newFakeLedger()
	at := time.Date(2026, 4, 1, 8, 30, 0, 123_000_000, time.FixedZone("CST", 8*3600))
	write := func(kvs ...string) string {
		s := l.newStub(nil, at, []byte("x"))
		st, err := newState(s, chaincode.Caller{MSP: "ProducerMSP", ID: "u"}, &packed.Cache{})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(kvs); i += 2 {
			if err := st.Put(kvs[i], []byte(kvs[i+1])); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.commit(); err != nil {
			t.Fatal(err)
		}
		return s.txID
	}
	tx1 := write("manifest~2", "v1", "manifest~1", "a", "man", "no", "manifest~", "empty-id", "org~1", "o")
	tx2 := write("manifest~2", "v2")

	s := l.newStub(nil, at, []byte("x"))
	st, err := newState(s, chaincode.Caller{MSP: "ProducerMSP", ID: "u"}, &packed.Cache{})
	if err != nil {
		t.Fatal(err)
	}
	if got := st.TxTime(); !got.Equal(at) || got.Location() != time.UTC {
		t.Errorf("TxTime() = %v, want %v in UTC", got, at)
	}
	if st.TxID() != s.txID || st.Caller().MSP != "ProducerMSP" {
		t.Errorf("TxID, Caller = %s, %+v", st.TxID(), st.Caller())
	}
	var keys []string
	if err := st.Range("manifest~", func(k string, v []byte) error { keys = append(keys, k+"="+string(v)); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"manifest~=empty-id", "manifest~1=a", "manifest~2=v2"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("Range(manifest~) = %v, want %v", keys, want)
	}
	stop := errors.New("stop")
	if err := st.Range("", func(string, []byte) error { return stop }); err != stop {
		t.Errorf("Range returned %v, want the callback's error", err)
	}
	vs, err := st.History("manifest~2")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].TxID != tx1 || string(vs[0].Value) != "v1" || vs[1].TxID != tx2 || !vs[1].Time.Equal(at) {
		t.Errorf("History = %+v, want v1 (%s) then v2 (%s), oldest first", vs, tx1, tx2)
	}
	if err := st.Put("org~2", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := st.Get("org~2"); b != nil {
		t.Errorf("Get saw the transaction's own write %q", b)
	}
	if err := st.Emit("e", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := st.Emit("f", []byte("2")); err != nil {
		t.Fatal(err)
	}
	if s.event.set {
		t.Error("the event was set before the transaction finished")
	}
	if _, err := st.finish(nil); err != nil {
		t.Fatal(err)
	}
	if s.event.name != "f" || string(s.event.payload) != "2" {
		t.Errorf("event = %s %s, want the last one (f 2)", s.event.name, s.event.payload)
	}
}
