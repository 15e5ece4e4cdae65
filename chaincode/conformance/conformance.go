// Package conformance is the behaviour suite every host of the wasteledger
// contract must pass: lifecycle scenarios for the four waste streams, every
// error code, no read-your-writes, and the concurrent-update conflict. The
// embedded ledger runs it in every `go test ./...`; the Fabric network runs
// it in `make test-fabric`.
package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"wasteledger/chaincode"
	"wasteledger/chaincode/scenario"
	"wasteledger/manifest"
)

// Run runs the suite. newHost returns a host with the contract deployed; it
// may return the same ledger each time (the suite makes fresh parties for
// every test), but a ledger shared with other users must tolerate the
// configuration changes of TestConfig, which restores the configuration it
// found.
func Run(t *testing.T, newHost func(t *testing.T) scenario.Host) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h scenario.Host, w *scenario.World)
	}{
		{"IndustrialRelay", testIndustrialRelay},
		{"MedicalOnTime", testMedicalOnTime},
		{"MedicalLateFlagged", testMedicalLateFlagged},
		{"FlyAshPartialRefusalAndReturn", testFlyAshRefusal},
		{"TractionBatteries", testTractionBatteries},
		{"LeadAcidBatteries", testLeadAcid},
		{"Cancel", testCancel},
		{"ErrorCodes", testErrorCodes},
		{"SignatureErrors", testSignatureErrors},
		{"NoReadYourWrites", testNoReadYourWrites},
		{"ConcurrentHandover", testConcurrentHandover},
		{"Capacity", testCapacity},
		{"Config", testConfig},
		{"IndicatorSnapshot", testIndicatorSnapshot},
		{"RepeatedCreation", testRepeatedCreation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHost(t)
			w := scenario.NewWorld()
			if err := w.Setup(ctx(t), h); err != nil {
				t.Fatalf("setup: %v", err)
			}
			tc.fn(t, h, w)
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantCode asserts that err carries code.
func wantCode(t *testing.T, err error, code manifest.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	if got := codeOf(err); got != code {
		t.Fatalf("got %s (%v), want %s", got, err, code)
	}
}

// codeOf finds the code of an error from any host: a *manifest.Error, or a
// message carrying "[code]".
func codeOf(err error) manifest.Code {
	var e *manifest.Error
	if errors.As(err, &e) {
		return e.Code
	}
	if p := manifest.ParseError(err.Error()); p != nil {
		return p.Code
	}
	return manifest.Internal
}

func get(t *testing.T, h scenario.Host, id string) []byte {
	t.Helper()
	doc, err := h.Evaluate(ctx(t), chaincode.Caller{MSP: scenario.RegulatorMSP, ID: "auditor"}, "GetManifest", []byte(id))
	must(t, err)
	return doc
}

// unchanged asserts that a rejected transaction left the manifest as it was.
func unchanged(t *testing.T, h scenario.Host, trip *scenario.Trip) {
	t.Helper()
	if got := get(t, h, trip.ID()); !bytes.Equal(got, trip.Doc) {
		t.Fatalf("manifest %s changed after a rejected transaction", trip.ID())
	}
}

func wantStatus(t *testing.T, trip *scenario.Trip, s manifest.Status) *manifest.Manifest {
	t.Helper()
	m := trip.Manifest()
	if m.Status != s {
		t.Fatalf("manifest %s is %s, want %s", m.ID, m.Status, s)
	}
	return m
}

func hasFlag(m *manifest.Manifest, rule string) bool {
	for _, f := range m.Flags {
		if f.Rule == rule {
			return true
		}
	}
	return false
}

func testIndustrialRelay(t *testing.T, h scenario.Host, w *scenario.World) {
	c := ctx(t)
	trip := w.OilTrip(true)
	must(t, trip.Create(c, h))
	m := wantStatus(t, trip, manifest.StatusDraft)
	if err := manifest.ValidNumber(m.ID); err != nil || m.ID[4:8] != "4401" {
		t.Fatalf("manifest number %q: %v, want a 14-digit Guangzhou (4401) number", m.ID, err)
	}
	must(t, trip.SignByProducer(c, h))
	wantStatus(t, trip, manifest.StatusSigned)
	must(t, trip.Pickup(c, h))
	m = wantStatus(t, trip, manifest.StatusInTransit)
	if m.Custody != w.Hauler.Org.ID || m.Leg != 0 {
		t.Fatalf("after pickup custody=%s leg=%d, want %s leg 0", m.Custody, m.Leg, w.Hauler.Org.ID)
	}
	// Delivery before the relay is out of order.
	wantCode(t, trip.Deliver(c, h), manifest.Conflict)
	unchanged(t, h, trip)
	must(t, trip.Relay(c, h, 0))
	m = wantStatus(t, trip, manifest.StatusInTransit)
	if m.Custody != w.Relay.Org.ID || m.Leg != 1 {
		t.Fatalf("after relay custody=%s leg=%d, want %s leg 1", m.Custody, m.Leg, w.Relay.Org.ID)
	}
	must(t, trip.Deliver(c, h))
	wantStatus(t, trip, manifest.StatusDelivered)
	must(t, trip.ReceiveAll(c, h, 1190, 3010)) // within 5 %
	m = wantStatus(t, trip, manifest.StatusReceived)
	if hasFlag(m, manifest.FlagDiscrepancy) {
		t.Fatalf("a difference within tolerance was flagged: %+v", m.Flags)
	}
	must(t, trip.ProcessAll(c, h, manifest.Output{Material: "再生基础油 base oil", Qty: 700, Unit: manifest.Kilogram}))
	wantStatus(t, trip, manifest.StatusProcessed)
	must(t, trip.Close(c, h))
	m = wantStatus(t, trip, manifest.StatusClosed)

	steps := []manifest.Step{manifest.StepSign, manifest.StepPickup, manifest.StepRelay, manifest.StepDelivery, manifest.StepReceive, manifest.StepProcess, manifest.StepClose}
	if len(m.Steps) != len(steps) {
		t.Fatalf("%d steps recorded, want %d", len(m.Steps), len(steps))
	}
	for i, s := range steps {
		r := m.Steps[i]
		want := 1
		if s.Handover() {
			want = 2
		}
		if r.Step != s || len(r.Signatures) != want || r.TxID == "" {
			t.Fatalf("step %d = %s with %d signatures, want %s with %d", i, r.Step, len(r.Signatures), s, want)
		}
	}
	if m.Version != 8 {
		t.Fatalf("version %d, want 8", m.Version)
	}
	hist, err := h.Evaluate(c, w.RegulatorCaller(), "ManifestHistory", []byte(m.ID))
	must(t, err)
	var entries []chaincode.HistoryEntry
	must(t, json.Unmarshal(hist, &entries))
	if len(entries) != 8 || entries[0].Status != manifest.StatusDraft || entries[7].Status != manifest.StatusClosed {
		t.Fatalf("history has %d entries, want 8 from draft to closed", len(entries))
	}
}

func testMedicalOnTime(t *testing.T, h scenario.Host, w *scenario.World) {
	trip := w.MedicalTrip(6 * time.Hour)
	must(t, trip.Run(ctx(t), h, manifest.StatusClosed))
	m := wantStatus(t, trip, manifest.StatusClosed)
	if m.Stream != "medical" || hasFlag(m, manifest.FlagMedicalLate) {
		t.Fatalf("stream %s flags %+v, want medical without a 48 h flag", m.Stream, m.Flags)
	}
}

func testMedicalLateFlagged(t *testing.T, h scenario.Host, w *scenario.World) {
	trip := w.MedicalTrip(50 * time.Hour)
	must(t, trip.Run(ctx(t), h, manifest.StatusDelivered))
	m := wantStatus(t, trip, manifest.StatusDelivered)
	if !hasFlag(m, manifest.FlagMedicalLate) {
		t.Fatalf("late medical delivery not flagged: %+v", m.Flags)
	}
}

func testFlyAshRefusal(t *testing.T, h scenario.Host, w *scenario.World) {
	c := ctx(t)
	trip := w.FlyAshTrip(20_000)
	must(t, trip.Run(c, h, manifest.StatusDelivered))
	st := trip.Statement(manifest.StepReceive)
	accepted := int64(15_000)
	st.Lines = []manifest.StatementLine{{Line: 1, Code: "772-002-18", Qty: 18_000, Unit: manifest.Kilogram,
		Decision: manifest.PartiallyRefused, Accepted: &accepted, Reason: "部分吨袋破损，螯合稳定化不达标 / torn bags, not stabilised"}}
	must(t, trip.Submit(c, h, "Receive", st, trip.Receiver))
	m := wantStatus(t, trip, manifest.StatusReceived)
	if !hasFlag(m, manifest.FlagDiscrepancy) || !hasFlag(m, manifest.FlagRefused) {
		t.Fatalf("a 10 %% shortfall and a refusal must be flagged, got %+v", m.Flags)
	}
	if r := m.Receipt[0]; r.Weighed != 18_000 || r.Accepted != 15_000 || r.Refused != 3_000 {
		t.Fatalf("receipt %+v, want weighed 18000 accepted 15000 refused 3000", r)
	}

	// The refused 3 t go back to the producer on a return manifest.
	back := w.FlyAshTrip(3_000)
	back.Draft.Ref = &manifest.Ref{Original: m.ID, Kind: "return"}
	back.Draft.Receiver, back.Draft.ReceiverPermit, back.Draft.Method = w.Incinerator.Org.ID, "", ""
	back.Draft.Site = manifest.Site{Name: "英德华南水泥厂区门口", Address: "清远市英德市东华镇", Region: "441881"}
	back.Draft.Lines[0].OriginLine = 1
	back.Receiver = w.Incinerator
	must(t, back.Create(c, h))
	orig := scenario.Trip{Doc: get(t, h, m.ID)}
	om := orig.Manifest()
	if len(om.Followups) != 1 || om.Followups[0].Manifest != back.ID() || om.Followups[0].Kind != "return" {
		t.Fatalf("original followups %+v, want the return manifest", om.Followups)
	}
	// Nothing refused is left to carry.
	more := w.FlyAshTrip(1)
	more.Draft.Ref = back.Draft.Ref
	more.Draft.Receiver, more.Draft.ReceiverPermit, more.Draft.Method = w.Incinerator.Org.ID, "", ""
	more.Draft.Lines[0].OriginLine = 1
	wantCode(t, more.Create(c, h), manifest.RuleViolation)

	// The return changed the original (its follow-ups): the receiver signs
	// the version it now sees.
	wantCode(t, trip.ProcessAll(c, h), manifest.Conflict)
	trip.Doc = orig.Doc
	must(t, trip.ProcessAll(c, h))
	must(t, trip.Close(c, h))
	wantStatus(t, trip, manifest.StatusClosed)
}

func testTractionBatteries(t *testing.T, h scenario.Host, w *scenario.World) {
	c := ctx(t)
	base := int(time.Now().UnixNano() % 1_000_000)
	u1, u2 := scenario.BatteryCode(base), scenario.BatteryCode(base+1)
	first := w.BatteryTrip(u1, u2)
	must(t, first.Run(c, h, manifest.StatusInTransit))

	again := w.BatteryTrip(u2)
	wantCode(t, again.Create(c, h), manifest.RuleViolation)

	bad := w.BatteryTrip("0AZXE01CATL001N5A0000001")
	wantCode(t, bad.Create(c, h), manifest.RuleViolation)

	must(t, first.Deliver(c, h))
	must(t, first.ReceiveAll(c, h))
	must(t, first.ProcessAll(c, h, manifest.Output{Material: "碳酸锂 lithium carbonate", Qty: 42, Unit: manifest.Kilogram},
		manifest.Output{Material: "硫酸镍 nickel sulphate", Qty: 160, Unit: manifest.Kilogram}))
	must(t, first.Close(c, h))
	m := wantStatus(t, first, manifest.StatusClosed)
	if m.Stream != "battery" || len(m.Processed[0].Outputs) != 2 {
		t.Fatalf("stream %s outputs %+v", m.Stream, m.Processed)
	}
	// Once the first manifest is closed the unit may travel again.
	must(t, again.Create(c, h))
}

func testLeadAcid(t *testing.T, h scenario.Host, w *scenario.World) {
	trip := w.LeadTrip()
	must(t, trip.Run(ctx(t), h, manifest.StatusClosed))
	wantStatus(t, trip, manifest.StatusClosed)
}

func testCancel(t *testing.T, h scenario.Host, w *scenario.World) {
	c := ctx(t)
	trip := w.OilTrip(false)
	must(t, trip.Run(c, h, manifest.StatusSigned))
	// Only the producer cancels.
	st := trip.Statement(manifest.StepCancel)
	st.Lines, st.Place, st.Reason = nil, nil, "客户取消"
	wantCode(t, trip.Submit(c, h, "CancelManifest", st, w.Hauler), manifest.Forbidden)
	unchanged(t, h, trip)
	must(t, trip.Cancel(c, h, "计划变更 / plan changed"))
	wantStatus(t, trip, manifest.StatusCancelled)
	wantCode(t, trip.Pickup(c, h), manifest.Conflict)

	// No cancel after pickup.
	moving := w.OilTrip(false)
	must(t, moving.Run(c, h, manifest.StatusInTransit))
	wantCode(t, moving.Cancel(c, h, "too late"), manifest.Conflict)
	unchanged(t, h, moving)
}

func testErrorCodes(t *testing.T, h scenario.Host, w *scenario.World) {
	c := ctx(t)
	reg := w.RegulatorCaller()
	trip := w.OilTrip(false)
	must(t, trip.Create(c, h))

	t.Run("invalid", func(t *testing.T) {
		_, err := h.Submit(c, w.Factory.Caller(), "CreateManifest", []byte(`{"producer":`))
		wantCode(t, err, manifest.Invalid)
		_, err = h.Submit(c, w.Factory.Caller(), "CreateManifest", []byte(`{"producer":"x","colour":"red"}`))
		wantCode(t, err, manifest.Invalid)
		d := w.OilTrip(false).Draft
		d.Lines[0].Qty = -5
		b, _ := json.Marshal(d)
		_, err = h.Submit(c, w.Factory.Caller(), "CreateManifest", b)
		wantCode(t, err, manifest.Invalid)
	})
	t.Run("not_found", func(t *testing.T) {
		_, err := h.Evaluate(c, reg, "GetManifest", []byte("20264401999999"))
		wantCode(t, err, manifest.NotFound)
		st := trip.Statement(manifest.StepSign)
		st.Manifest = "20264401999998"
		b, _ := scenario.Sign(st, w.Factory)
		_, err = h.Submit(c, w.Factory.Caller(), "SignManifest", b)
		wantCode(t, err, manifest.NotFound)
	})
	t.Run("conflict", func(t *testing.T) {
		st := trip.Statement(manifest.StepPickup)
		st.Vehicle = scenario.HaulerPlate
		wantCode(t, trip.Submit(c, h, "Handover", st, w.Factory, w.Hauler), manifest.Conflict) // not signed yet
		unchanged(t, h, trip)
		stale := trip.Statement(manifest.StepSign)
		stale.Prev = manifest.Hash([]byte("an older version"))
		wantCode(t, trip.Submit(c, h, "SignManifest", stale, w.Factory), manifest.Conflict)
		b, _ := json.Marshal(w.Factory.Org)
		_, err := h.Submit(c, reg, "RegisterOrg", b)
		wantCode(t, err, manifest.Conflict)
	})
	t.Run("forbidden", func(t *testing.T) {
		b, _ := json.Marshal(scenario.NewParty("某公司", "440100", scenario.ProducerMSP, manifest.Producer).Org)
		_, err := h.Submit(c, w.Factory.Caller(), "RegisterOrg", b)
		wantCode(t, err, manifest.Forbidden)
		d, _ := json.Marshal(w.OilTrip(false).Draft)
		_, err = h.Submit(c, w.Hauler.Caller(), "CreateManifest", d)
		wantCode(t, err, manifest.Forbidden)
		wantCode(t, trip.Submit(c, h, "SignManifest", trip.Statement(manifest.StepSign), w.HWPlant), manifest.Forbidden)
		unchanged(t, h, trip)
	})
	t.Run("unauthenticated", func(t *testing.T) {
		_, err := h.Submit(c, chaincode.Caller{}, "GetConfig")
		if h, ok := h.(interface{ Authenticated() bool }); ok && h.Authenticated() {
			t.Skip("this host authenticates every caller itself")
		}
		wantCode(t, err, manifest.Unauthenticated)
	})
	t.Run("rule_violation", func(t *testing.T) {
		old := manifest.Permit{ID: w.HaulerPermit.ID + "-2019", Kind: manifest.Transport, Org: w.Hauler.Org.ID,
			ValidFrom: "2019-01-01", ValidTo: "2021-12-31", Plates: []string{scenario.HaulerPlate}}
		must(t, scenario.Issue(c, h, reg, old))
		d := w.OilTrip(false)
		d.Draft.Legs[0].Permit = old.ID
		wantCode(t, d.Create(c, h), manifest.RuleViolation)

		notCovered := w.OilTrip(false)
		notCovered.Draft.Lines[1].Code, notCovered.Draft.Lines[1].Hazard = "900-023-29", "T" // mercury lamps: not on the licence
		wantCode(t, notCovered.Create(c, h), manifest.RuleViolation)

		signed := w.OilTrip(false)
		must(t, signed.Run(c, h, manifest.StatusSigned))
		st := signed.Statement(manifest.StepPickup)
		st.Vehicle = "粤B99999" // not on the carrier's permit
		wantCode(t, signed.Submit(c, h, "Handover", st, w.Factory, w.Hauler), manifest.RuleViolation)
		unchanged(t, h, signed)
		st = signed.Statement(manifest.StepPickup)
		st.Vehicle = scenario.HaulerPlate
		st.Lines[0].Packages = 5 // the driver counts 5 drums, the manifest says 6
		wantCode(t, signed.Submit(c, h, "Handover", st, w.Factory, w.Hauler), manifest.RuleViolation)
		unchanged(t, h, signed)
	})
}

func testSignatureErrors(t *testing.T, h scenario.Host, w *scenario.World) {
	c := ctx(t)
	trip := w.OilTrip(false)
	must(t, trip.Run(c, h, manifest.StatusSigned))
	pickup := func() manifest.Statement {
		st := trip.Statement(manifest.StepPickup)
		st.Vehicle = scenario.HaulerPlate
		return st
	}
	submitRaw := func(b []byte) error {
		_, err := h.Submit(c, w.Hauler.Caller(), "Handover", b)
		return err
	}

	t.Run("tampered", func(t *testing.T) {
		b, err := scenario.Sign(pickup(), w.Factory, w.Hauler)
		must(t, err)
		var env manifest.Signed
		must(t, json.Unmarshal(b, &env))
		env.Statement = bytes.Replace(env.Statement, []byte(`"qty":1200`), []byte(`"qty":1100`), 1)
		b, _ = json.Marshal(env)
		wantCode(t, submitRaw(b), manifest.BadSignature)
	})
	t.Run("unregistered key", func(t *testing.T) {
		stranger := scenario.NewParty(w.Hauler.Org.Name, w.Hauler.Org.Region, scenario.CarrierMSP, manifest.Carrier)
		stranger.Org = w.Hauler.Org // claims to be the hauler with a key never registered
		wantCode(t, trip.Submit(c, h, "Handover", pickup(), w.Factory, stranger), manifest.BadSignature)
	})
	t.Run("unregistered organisation", func(t *testing.T) {
		stranger := scenario.NewParty("某运输公司", "440100", scenario.CarrierMSP, manifest.Carrier) // neither it nor its key registered
		wantCode(t, trip.Submit(c, h, "Handover", pickup(), w.Factory, stranger), manifest.NotFound)
	})
	t.Run("submitted for no party", func(t *testing.T) {
		b, err := scenario.Sign(pickup(), w.Factory, w.Hauler)
		must(t, err)
		_, err = h.Submit(c, w.HWPlant.Caller(), "Handover", b) // the receiver's member, for a producer and a carrier
		wantCode(t, err, manifest.Forbidden)
	})
	t.Run("key of another organisation", func(t *testing.T) {
		impostor := *w.Relay
		impostor.Org = w.Hauler.Org // the relay's registered key, presented as the hauler's
		wantCode(t, trip.Submit(c, h, "Handover", pickup(), w.Factory, &impostor), manifest.BadSignature)
	})
	t.Run("one signature missing", func(t *testing.T) {
		b, err := scenario.Sign(pickup(), w.Factory, w.Hauler)
		must(t, err)
		var env manifest.Signed
		must(t, json.Unmarshal(b, &env))
		env.Signatures[1] = env.Signatures[0]
		b, _ = json.Marshal(env)
		wantCode(t, submitRaw(b), manifest.BadSignature)
	})
	t.Run("revoked key", func(t *testing.T) {
		rev, _ := json.Marshal(chaincode.Revocation{ID: w.Hauler.KID, Reason: "手机丢失 / phone lost"})
		_, err := h.Submit(c, w.Hauler.Caller(), "RevokeKey", rev)
		must(t, err)
		wantCode(t, trip.Pickup(c, h), manifest.BadSignature)
	})
	unchanged(t, h, trip)
}

func testNoReadYourWrites(t *testing.T, h scenario.Host, w *scenario.World) {
	out, err := h.Submit(ctx(t), w.RegulatorCaller(), "Diagnose")
	must(t, err)
	var probe map[string]string
	must(t, json.Unmarshal(out, &probe))
	if probe["saw_own_write"] != "false" {
		t.Fatalf("a read saw the same transaction's write: %s", out)
	}
}

func testConcurrentHandover(t *testing.T, h scenario.Host, w *scenario.World) {
	c := ctx(t)
	trip := w.OilTrip(false)
	must(t, trip.Run(c, h, manifest.StatusSigned))
	const racers = 4
	bodies := make([][]byte, racers)
	for i := range bodies {
		st := trip.Statement(manifest.StepPickup)
		st.Vehicle = scenario.HaulerPlate
		st.Time = st.Time.Add(-time.Duration(i) * time.Second) // distinct statements, same step
		b, err := scenario.Sign(st, w.Factory, w.Hauler)
		must(t, err)
		bodies[i] = b
	}
	var wg sync.WaitGroup
	errs := make([]error, racers)
	start := make(chan struct{})
	for i := range bodies {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			_, errs[i] = h.Submit(c, w.Hauler.Caller(), "Handover", bodies[i])
		}(i)
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		wantCode(t, err, manifest.Conflict)
	}
	if ok != 1 {
		t.Fatalf("%d racing handovers succeeded, want exactly 1 (errors %v)", ok, errs)
	}
	trip.Doc = get(t, h, trip.ID())
	m := wantStatus(t, trip, manifest.StatusInTransit)
	pickups := 0
	for _, s := range m.Steps {
		if s.Step == manifest.StepPickup {
			pickups++
		}
	}
	if pickups != 1 || m.Version != 3 {
		t.Fatalf("%d pickups at version %d, want 1 at version 3", pickups, m.Version)
	}
}

func testCapacity(t *testing.T, h scenario.Host, w *scenario.World) {
	c := ctx(t)
	small := scenario.NewParty("东莞小型废矿物油综合利用有限公司", "441900", scenario.ReceiverMSP, manifest.Receiver)
	must(t, scenario.Register(c, h, w.RegulatorCaller(), small))
	lic := manifest.Permit{ID: w.HWLicence.ID + "-S", Kind: manifest.HWLicence, Org: small.Org.ID, ValidFrom: "2024-01-01", ValidTo: "2028-12-31",
		Codes: []string{"HW08", "HW17"}, CapacityT: 4, Methods: []string{"D10"}}
	must(t, scenario.Issue(c, h, w.RegulatorCaller(), lic))
	run := func() *scenario.Trip {
		trip := w.OilTrip(false)
		trip.Receiver = small
		trip.Draft.Receiver, trip.Draft.ReceiverPermit = small.Org.ID, lic.ID
		must(t, trip.Run(c, h, manifest.StatusDelivered))
		return trip
	}
	// 4.2 t in one manifest exceed a 4 t/yr licence.
	trip := run()
	wantCode(t, trip.ReceiveAll(c, h), manifest.RuleViolation)
	unchanged(t, h, trip)
	// Within capacity when part is refused.
	st := trip.Statement(manifest.StepReceive)
	st.Lines = []manifest.StatementLine{
		{Line: 1, Code: "900-214-08", Qty: 1200, Unit: manifest.Kilogram, Decision: manifest.Accepted},
		{Line: 2, Code: "336-063-17", Qty: 3000, Unit: manifest.Kilogram, Decision: manifest.Refused, Reason: "超出许可能力 / over capacity"},
	}
	must(t, trip.Submit(c, h, "Receive", st, small))
	// The next 4.2 t: 1.2 t already used, so even the oil alone would fit
	// but the whole load does not.
	next := run()
	wantCode(t, next.ReceiveAll(c, h), manifest.RuleViolation)
}

func testConfig(t *testing.T, h scenario.Host, w *scenario.World) {
	c := ctx(t)
	reg := w.RegulatorCaller()
	before, err := h.Evaluate(c, reg, "GetConfig")
	must(t, err)
	var cfg manifest.Config
	must(t, json.Unmarshal(before, &cfg))
	t.Cleanup(func() {
		if _, err := h.Submit(context.Background(), reg, "SetConfig", before); err != nil {
			t.Errorf("restore config: %v", err)
		}
	})
	_, err = h.Submit(c, w.Factory.Caller(), "SetConfig", before)
	wantCode(t, err, manifest.Forbidden)
	bad := cfg
	bad.ToleranceBP = -1
	b, _ := json.Marshal(bad)
	_, err = h.Submit(c, reg, "SetConfig", b)
	wantCode(t, err, manifest.Invalid)

	strict := cfg
	strict.MedicalRefuseLate = true
	strict.ToleranceBP = 100
	b, _ = json.Marshal(strict)
	_, err = h.Submit(c, reg, "SetConfig", b)
	must(t, err)
	late := w.MedicalTrip(49 * time.Hour)
	must(t, late.Run(c, h, manifest.StatusInTransit))
	wantCode(t, late.Deliver(c, h), manifest.RuleViolation)
	unchanged(t, h, late)

	// 2 % short is beyond a 1 % tolerance.
	oil := w.OilTrip(false)
	must(t, oil.Run(c, h, manifest.StatusDelivered))
	must(t, oil.ReceiveAll(c, h, 1176, 3000))
	if m := oil.Manifest(); !hasFlag(m, manifest.FlagDiscrepancy) {
		t.Fatalf("2 %% short not flagged at 1 %% tolerance: %+v", m.Flags)
	}
}

func testIndicatorSnapshot(t *testing.T, h scenario.Host, w *scenario.World) {
	c := ctx(t)
	snap := []byte(`{"org":"` + w.Province.Org.ID + `","region":"440000","period":"2026-11","indicators":{"hw_accepted_t":{"value":"1234.567","unit":"t"}}}`)
	publish := func(p *scenario.Party, body []byte, tamper bool) ([]byte, error) {
		b, err := scenario.SignSnapshot(p, body)
		must(t, err)
		if tamper {
			b = bytes.Replace(b, []byte("1234.567"), []byte("1234.568"), 1)
		}
		return h.Submit(c, p.Caller(), "PublishIndicators", b)
	}
	_, err := publish(w.Province, snap, true)
	wantCode(t, err, manifest.BadSignature)
	_, err = publish(w.Factory, bytes.Replace(snap, []byte(w.Province.Org.ID), []byte(w.Factory.Org.ID), 1), false)
	wantCode(t, err, manifest.Forbidden)
	out, err := publish(w.Province, snap, false)
	must(t, err)
	var p chaincode.Published
	must(t, json.Unmarshal(out, &p))
	got, err := h.Evaluate(c, w.RegulatorCaller(), "GetIndicators", []byte(p.ID))
	must(t, err)
	if !bytes.Equal(got, out) || p.Digest != manifest.Hash([]byte(p.Snapshot)) {
		t.Fatalf("published snapshot not stored as signed")
	}
	_, err = publish(w.Province, snap, false)
	wantCode(t, err, manifest.Conflict)
}

// testRepeatedCreation: a creation repeated with the same request id (its
// first outcome was lost) returns the first manifest and makes no second.
func testRepeatedCreation(t *testing.T, h scenario.Host, w *scenario.World) {
	c := ctx(t)
	first := w.OilTrip(false)
	first.Draft.Request = "erp-order-4711"
	must(t, first.Create(c, h))
	again := w.OilTrip(false)
	again.Draft.Request = "erp-order-4711"
	must(t, again.Create(c, h))
	if again.ID() != first.ID() || !bytes.Equal(again.Doc, first.Doc) {
		t.Fatalf("repeated creation made %s, want the first manifest %s", again.ID(), first.ID())
	}
	other := w.OilTrip(false)
	other.Draft.Request = "erp-order-4712"
	must(t, other.Create(c, h))
	if other.ID() == first.ID() {
		t.Fatalf("a new request id returned the old manifest")
	}
}
