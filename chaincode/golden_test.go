package chaincode_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/cryptotest"
	"time"

	"wasteledger/chaincode"
	"wasteledger/chaincode/scenario"
	"wasteledger/manifest"
	"wasteledger/manifest/signature"
)

// detHost runs the contract deterministically: tx ids and times from a
// counter, writes applied at once (no concurrency here), and every event
// kept.
type detHost struct {
	cc     *chaincode.Contract
	state  map[string][]byte
	hist   map[string][]chaincode.Version
	n      int
	events []event
	start  time.Time // the first transaction's time; base when zero
	reads  []string  // every key read, in order
}

type event struct {
	name    string
	payload []byte
}

type detTx struct {
	h      *detHost
	id     string
	at     time.Time
	caller chaincode.Caller
	writes map[string][]byte
	ev     *event
}

var base = time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC)

func (t *detTx) Get(k string) ([]byte, error) {
	t.h.reads = append(t.h.reads, k)
	return t.h.state[k], nil
}
func (t *detTx) Put(k string, v []byte) error { t.writes[k] = v; return nil }
func (t *detTx) Range(string, func(string, []byte) error) error {
	return fmt.Errorf("not used by the contract")
}
func (t *detTx) History(k string) ([]chaincode.Version, error) { return t.h.hist[k], nil }
func (t *detTx) TxID() string                                  { return t.id }
func (t *detTx) TxTime() time.Time                             { return t.at }
func (t *detTx) Caller() chaincode.Caller                      { return t.caller }
func (t *detTx) Emit(n string, p []byte) error                 { t.ev = &event{n, p}; return nil }

func (h *detHost) Submit(_ context.Context, c chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	h.n++
	start := base
	if !h.start.IsZero() {
		start = h.start
	}
	tx := &detTx{h: h, id: fmt.Sprintf("tx%04d", h.n), at: start.Add(time.Duration(h.n) * time.Millisecond), caller: c, writes: map[string][]byte{}}
	if h.start.IsZero() {
		tx.at = base.Add(time.Duration(h.n) * time.Minute)
	}
	out, err := h.cc.Invoke(tx, fn, args)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(tx.writes))
	for k := range tx.writes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		h.state[k] = tx.writes[k]
		h.hist[k] = append(h.hist[k], chaincode.Version{TxID: tx.id, Time: tx.at, Value: tx.writes[k]})
	}
	if tx.ev != nil {
		h.events = append(h.events, *tx.ev)
	}
	return out, nil
}

func (h *detHost) Evaluate(_ context.Context, c chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	tx := &detTx{h: h, id: "query", at: base, caller: c, writes: map[string][]byte{}}
	return h.cc.Invoke(tx, fn, args)
}

// party makes a party with a fixed id and a key drawn from a seeded source,
// so that key ids are the same on every run.
func party(t *testing.T, seed uint64, body, name, region, msp string, role manifest.Role) *scenario.Party {
	key, err := signature.GenerateKey(rand.NewChaCha8([32]byte{byte(seed)}))
	if err != nil {
		t.Fatal(err)
	}
	check, err := manifest.USCCCheck(body)
	if err != nil {
		t.Fatal(err)
	}
	return &scenario.Party{
		Org: manifest.Org{ID: body + string(check), Name: name, Region: region, Roles: []manifest.Role{role}, MSP: msp},
		Key: key, KID: signature.Thumbprint(&key.PublicKey),
	}
}

// TestEventGolden runs one manifest through its whole life and compares
// every event payload — the wire contract the off-chain index consumes —
// with testdata/events. Refresh with UPDATE_GOLDEN=1.
func TestEventGolden(t *testing.T) {
	cryptotest.SetGlobalRandom(t, 1) // deterministic ECDSA nonces: the golden bytes are exact
	h := &detHost{cc: chaincode.New(), state: map[string][]byte{}, hist: map[string][]chaincode.Version{}}
	ctx := context.Background()
	reg := party(t, 1, "11440000MB2C87651", "广东省生态环境厅", "440000", "RegulatorMSP", manifest.Regulator)
	prod := party(t, 2, "91440112MA5AAAA01", "广州安达汽车零部件有限公司", "440112", "ProducerMSP", manifest.Producer)
	carr := party(t, 3, "91440111MA5AAAA02", "广东粤安危险废物运输有限公司", "440111", "CarrierMSP", manifest.Carrier)
	recv := party(t, 4, "91441300MA5AAAA04", "惠州东江绿源环保科技有限公司", "441300", "ReceiverMSP", manifest.Receiver)
	regCaller := chaincode.Caller{MSP: "RegulatorMSP", ID: "admin"}
	for _, p := range []*scenario.Party{reg, prod, carr, recv} {
		if err := scenario.Register(ctx, h, regCaller, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []manifest.Permit{
		{ID: "粤交运管危440100001", Kind: manifest.Transport, Org: carr.Org.ID, ValidFrom: "2024-01-01", ValidTo: "2029-12-31", Plates: []string{"粤A12345"}},
		{ID: "GD-HW-4413-001", Kind: manifest.HWLicence, Org: recv.Org.ID, ValidFrom: "2024-01-01", ValidTo: "2028-12-31", Codes: []string{"HW08"}, CapacityT: 120000, Methods: []string{"D10", "R9"}},
	} {
		if err := scenario.Issue(ctx, h, regCaller, p); err != nil {
			t.Fatal(err)
		}
	}
	trip := &scenario.Trip{Producer: prod, Carriers: []*scenario.Party{carr}, Plates: []string{"粤A12345"}, Receiver: recv,
		Draft: manifest.Draft{
			Producer: prod.Org.ID,
			Site:     manifest.Site{Name: "黄埔厂区危废暂存间", Address: "广州市黄埔区开发大道 88 号", Region: "440112"},
			Legs:     []manifest.Leg{{Carrier: carr.Org.ID, Permit: "粤交运管危440100001", Plates: []string{"粤A12345"}}},
			Receiver: recv.Org.ID, ReceiverPermit: "GD-HW-4413-001",
			Lines:  []manifest.Line{{No: 1, Code: "900-214-08", Name: "废机油", Form: manifest.Liquid, Hazard: "T,I", Packaging: "drum", Packages: 6, Qty: 1200, Unit: manifest.Kilogram}},
			Method: "R9", Emergency: "吸附棉围堵，拨打 12369",
		}}
	if err := trip.Create(ctx, h); err != nil {
		t.Fatal(err)
	}
	step := func(s manifest.Step, fn string, edit func(*manifest.Statement), signers ...*scenario.Party) {
		t.Helper()
		st := trip.Statement(s)
		st.Time = base.Add(time.Duration(h.n)*time.Minute + 30*time.Second)
		if edit != nil {
			edit(&st)
		}
		if err := trip.Submit(ctx, h, fn, st, signers...); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	step(manifest.StepSign, "SignManifest", nil, prod)
	step(manifest.StepPickup, "Handover", func(st *manifest.Statement) { st.Vehicle = "粤A12345" }, prod, carr)
	step(manifest.StepDelivery, "Handover", func(st *manifest.Statement) { st.Vehicle = "粤A12345" }, carr, recv)
	step(manifest.StepReceive, "Receive", func(st *manifest.Statement) {
		st.Lines = []manifest.StatementLine{{Line: 1, Code: "900-214-08", Qty: 1130, Unit: manifest.Kilogram, Decision: manifest.Accepted}}
	}, recv)
	step(manifest.StepProcess, "Process", func(st *manifest.Statement) {
		st.Lines = []manifest.StatementLine{{Line: 1, Code: "900-214-08", Qty: 1130, Unit: manifest.Kilogram, Method: "R9",
			Outputs: []manifest.Output{{Material: "再生基础油 base oil", Qty: 820, Unit: manifest.Kilogram}}}}
	}, recv)
	step(manifest.StepClose, "CloseManifest", func(st *manifest.Statement) { st.Lines, st.Place = nil, nil }, prod)

	dir := filepath.Join("testdata", "events")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		old, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, f := range old {
			os.Remove(f)
		}
	}
	for i, e := range h.events {
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, e.payload, "", "  "); err != nil {
			t.Fatal(err)
		}
		pretty.WriteByte('\n')
		name := filepath.Join(dir, fmt.Sprintf("%02d-%s.json", i+1, strings.ReplaceAll(e.name, ".", "-")))
		if os.Getenv("UPDATE_GOLDEN") != "" {
			if err := os.WriteFile(name, pretty.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create)", err)
		}
		if !bytes.Equal(pretty.Bytes(), want) {
			t.Errorf("event %d %s differs from %s:\n%s", i+1, e.name, name, pretty.String())
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) != len(h.events) {
		t.Errorf("%d golden files for %d events", len(files), len(h.events))
	}
}
