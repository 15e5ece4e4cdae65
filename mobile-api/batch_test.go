package mobileapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"wasteledger/chaincode/scenario"
	"wasteledger/gateway/problem"
	"wasteledger/manifest"
	mobileapi "wasteledger/mobile-api"
)

// TestOfflineBatch is a milk run out of coverage (DOMAIN.md §1.5): the
// driver scanned the day's manifests while online, then collects from
// three producers with no signal, each pickup signed on both phones
// against the version the driver saw. The phone also tried to sign the
// next steps in advance (a relay and a delivery): it cannot know their
// prev — the hash of a version that includes the pickup's transaction id
// and commit time — so they come back as conflicts saying so, and are
// signed again once online.
func TestOfflineBatch(t *testing.T) {
	e := newEnv(t)
	w := e.w
	driver := e.driver()
	a := e.trip(w.OilTrip(true), manifest.StatusSigned) // factory → hauler → relay carrier → plant
	b := e.trip(w.FlyAshTrip(8000), manifest.StatusSigned)
	c := e.trip(w.OilTrip(false), manifest.StatusSigned)

	// Online in the morning: scan each paper, keep its template.
	templates := map[string]manifest.Statement{}
	for _, tr := range []*scenario.Trip{a, b, c} {
		res := decode[mobileapi.ScanResult](t, e.do(&driver, http.MethodPost, "/mobile/v1/scan", mobileapi.ScanRequest{Ticket: e.ticketURL(tr.ID())}), http.StatusOK)
		templates[tr.ID()] = *res.Template
	}

	// Offline: sign on both phones, in order, each at its own device time.
	t0 := time.Now().UTC().Truncate(time.Second)
	item := func(id string, st manifest.Statement, signedAt time.Time, signers ...*scenario.Party) mobileapi.BatchItem {
		st.Time = signedAt
		p := at(id)
		st.Place = &p
		return mobileapi.BatchItem{ID: id, HandoverRequest: mobileapi.HandoverRequest{Signed: sign(t, st, signers...), DeviceTime: signedAt,
			GPS: &mobileapi.GPS{LatE6: p.LatE6, LonE6: p.LonE6, AccuracyM: 15}}}
	}
	relayAhead := templates[a.ID()]
	relayAhead.Step, relayAhead.Vehicle = manifest.StepRelay, scenario.RelayPlate
	relayAhead.From, relayAhead.To = &manifest.Party{Org: w.Hauler.Org.ID}, &manifest.Party{Org: w.Relay.Org.ID}
	deliveryAhead := templates[c.ID()]
	deliveryAhead.Step = manifest.StepDelivery
	deliveryAhead.From, deliveryAhead.To = &manifest.Party{Org: w.Hauler.Org.ID}, &manifest.Party{Org: w.HWPlant.Org.ID}

	batch := mobileapi.BatchRequest{Items: []mobileapi.BatchItem{
		item("a-pickup", templates[a.ID()], t0.Add(1*time.Second), w.Factory, w.Hauler),
		item("b-pickup", templates[b.ID()], t0.Add(2*time.Second), w.Incinerator, w.Hauler),
		item("a-relay", relayAhead, t0.Add(3*time.Second), w.Hauler, w.Relay),
		item("c-pickup", templates[c.ID()], t0.Add(4*time.Second), w.Factory, w.Hauler),
		item("c-delivery", deliveryAhead, t0.Add(5*time.Second), w.Hauler, w.HWPlant),
	}}
	height := e.emb.Height()
	res := decode[mobileapi.BatchResult](t, e.do(&driver, http.MethodPost, "/mobile/v1/handovers/batch", batch), http.StatusOK)
	for _, r := range res.Results {
		if r.Problem != nil {
			t.Logf("%s: %s", r.ID, r.Problem.Detail)
		}
	}
	if len(res.Results) != 5 || res.OK != 3 || res.Duplicates != 0 || res.Failed != 2 {
		t.Fatalf("batch = %d ok, %d duplicates, %d failed: %+v", res.OK, res.Duplicates, res.Failed, res.Results)
	}
	want := []struct {
		id, status, code, detail string
	}{
		{"a-pickup", mobileapi.StatusOK, "", ""},
		{"b-pickup", mobileapi.StatusOK, "", ""},
		{"a-relay", mobileapi.StatusError, string(manifest.Conflict), "recorded for item a-pickup of this batch"},
		{"c-pickup", mobileapi.StatusOK, "", ""},
		{"c-delivery", mobileapi.StatusError, string(manifest.Conflict), "signed against version 2 (signed)"},
	}
	for i, wt := range want {
		r := res.Results[i]
		if r.ID != wt.id || r.Status != wt.status {
			t.Errorf("result %d = %s %s, want %s %s (%+v)", i, r.ID, r.Status, wt.id, wt.status, r.Problem)
			continue
		}
		if wt.code != "" && (r.Problem == nil || r.Problem.Code != wt.code || r.Problem.Status != 409 || !strings.Contains(r.Problem.Detail, wt.detail)) {
			t.Errorf("%s problem = %+v, want %s saying %q", wt.id, r.Problem, wt.code, wt.detail)
		}
		if wt.status == mobileapi.StatusOK && (r.TxID == "" || r.Block <= height || r.Manifest.Status != manifest.StatusInTransit) {
			t.Errorf("%s = %+v", wt.id, r)
		}
		if !r.DeviceTime.Equal(t0.Add(time.Duration(i+1) * time.Second)) {
			t.Errorf("%s device time = %v", wt.id, r.DeviceTime)
		}
	}
	// Each pickup keeps its device time on the ledger, beside the commit
	// time.
	for i, tr := range []*scenario.Trip{a, b, c} {
		_, m := e.doc(tr.ID())
		rec := m.Steps[len(m.Steps)-1]
		wantAt := t0.Add([]time.Duration{1, 2, 4}[i] * time.Second)
		if rec.Step != manifest.StepPickup || !rec.Time.Equal(wantAt) || rec.Committed.IsZero() || rec.Place == nil {
			t.Errorf("%s last step = %s at %s (committed %s), want pickup signed at %s", tr.ID(), rec.Step, rec.Time, rec.Committed, wantAt)
		}
	}

	// Back in coverage, the phone resends the whole queue (it never got
	// the answer): what was recorded comes back as duplicates, nothing is
	// written twice, the two stale statements are still refused.
	height = e.emb.Height()
	again := decode[mobileapi.BatchResult](t, e.do(&driver, http.MethodPost, "/mobile/v1/handovers/batch", batch), http.StatusOK)
	if again.OK != 0 || again.Duplicates != 3 || again.Failed != 2 {
		t.Fatalf("resubmitted batch = %d ok, %d duplicates, %d failed", again.OK, again.Duplicates, again.Failed)
	}
	for i, r := range again.Results {
		if r.Status == mobileapi.StatusDuplicate && r.TxID != res.Results[i].TxID {
			t.Errorf("%s duplicate names tx %s, first committed as %s", r.ID, r.TxID, res.Results[i].TxID)
		}
	}
	if h := e.emb.Height(); h != height {
		t.Fatalf("resubmitted batch moved the ledger from %d to %d", height, h)
	}

	// Online, the relay is signed against the current version and goes
	// through.
	relay := e.relayDriver()
	tpl := decode[mobileapi.TemplateResult](t, e.do(&relay, http.MethodGet, "/mobile/v1/manifests/"+a.ID()+"/template", nil), http.StatusOK)
	if tpl.Template.Step != manifest.StepRelay || tpl.Template.Vehicle != scenario.RelayPlate {
		t.Fatalf("relay template = %+v", tpl.Template)
	}
	tpl.Template.Time = t0.Add(10 * time.Second)
	ok := decode[mobileapi.Result](t, e.do(&relay, http.MethodPost, "/mobile/v1/handovers",
		mobileapi.HandoverRequest{Signed: sign(t, tpl.Template, w.Hauler, w.Relay), DeviceTime: tpl.Template.Time}), http.StatusCreated)
	if ok.Manifest.Custody != w.Relay.Org.ID {
		t.Errorf("after the relay, custody = %s", ok.Manifest.Custody)
	}
}

func TestBatchLimits(t *testing.T) {
	e := newEnv(t)
	driver := e.driver()
	items := make([]mobileapi.BatchItem, mobileapi.MaxBatchItems+1)
	for i := range items {
		items[i] = mobileapi.BatchItem{ID: "i" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + string(rune('a'+i/26))}
	}
	wantProblem(t, e.do(&driver, http.MethodPost, "/mobile/v1/handovers/batch", mobileapi.BatchRequest{Items: items}), http.StatusRequestEntityTooLarge, problem.TooLarge)
	big := `{"items":[{"id":"a","signed":{"statement":"` + strings.Repeat("x", mobileapi.MaxBatchBytes) + `"}}]}`
	wantProblem(t, e.do(&driver, http.MethodPost, "/mobile/v1/handovers/batch", big), http.StatusRequestEntityTooLarge, problem.TooLarge)
	wantProblem(t, e.do(&driver, http.MethodPost, "/mobile/v1/handovers/batch", `{"items":[]}`), http.StatusBadRequest, problem.BadRequest)
	wantProblem(t, e.do(&driver, http.MethodPost, "/mobile/v1/handovers/batch", `{"items":[{"id":"a"},{"id":"a"}]}`), http.StatusBadRequest, problem.BadRequest)
	wantProblem(t, e.do(&driver, http.MethodPost, "/mobile/v1/handovers/batch", `{"items":[{"id":""}]}`), http.StatusBadRequest, problem.BadRequest)
	clerk := e.clerk()
	wantProblem(t, e.do(&clerk, http.MethodPost, "/mobile/v1/handovers/batch", `{"items":[{"id":"a"}]}`), http.StatusForbidden, string(manifest.Forbidden))

	// A malformed item fails alone.
	tr := e.trip(e.w.OilTrip(false), manifest.StatusSigned)
	tpl := decode[mobileapi.TemplateResult](t, e.do(&driver, http.MethodGet, "/mobile/v1/manifests/"+tr.ID()+"/template", nil), http.StatusOK).Template
	tpl.Time = time.Now().UTC().Truncate(time.Second)
	res := decode[mobileapi.BatchResult](t, e.do(&driver, http.MethodPost, "/mobile/v1/handovers/batch", mobileapi.BatchRequest{Items: []mobileapi.BatchItem{
		{ID: "broken", HandoverRequest: mobileapi.HandoverRequest{DeviceTime: tpl.Time}},
		{ID: "fine", HandoverRequest: mobileapi.HandoverRequest{Signed: sign(t, tpl, e.w.Factory, e.w.Hauler), DeviceTime: tpl.Time}},
	}}), http.StatusOK)
	if res.Results[0].Status != mobileapi.StatusError || res.Results[0].Problem.Status != 400 || res.Results[1].Status != mobileapi.StatusOK {
		t.Errorf("batch with a broken item = %+v", res.Results)
	}
}

// TestSignByCode: the producer's clerk has no phone of their own and types
// a one-time code on the driver's phone; the gateway countersigns with the
// producer's custodial key. (The gateway's Server.Countersign is not
// written yet; the env's stub follows its contract: burned after 5 wrong
// codes, used once.)
func TestSignByCode(t *testing.T) {
	e := newEnv(t)
	driver := e.driver()
	tr := e.trip(e.w.OilTrip(false), manifest.StatusSigned)
	e.codes.code[tr.ID()] = "246810"
	scan := decode[mobileapi.ScanResult](t, e.do(&driver, http.MethodPost, "/mobile/v1/scan", mobileapi.ScanRequest{Ticket: e.ticketURL(tr.ID())}), http.StatusOK)
	st := *scan.Template
	st.Time = time.Now().UTC().Truncate(time.Second)
	st.From = &manifest.Party{Org: e.w.Factory.Org.ID, Key: scan.CodeKeys[e.w.Factory.Org.ID]}
	st.To = &manifest.Party{Org: e.w.Hauler.Org.ID, Key: e.w.Hauler.KID}
	mine := signWith(t, st, e.w.Hauler) // only the driver's phone signs
	req := func(code string) mobileapi.HandoverRequest {
		return mobileapi.HandoverRequest{Signed: mine, Code: code, DeviceTime: st.Time}
	}

	height := e.emb.Height()
	// A bad signature of the phone's own is refused before any code is
	// spent.
	bad := req("246810")
	bad.Signed = signWith(t, st, e.w.Relay)
	bad.Signed.Signatures[0].Key = e.w.Hauler.KID
	wantProblem(t, e.do(&driver, http.MethodPost, "/mobile/v1/handovers", bad), 422, string(manifest.BadSignature))
	if e.codes.wrong[tr.ID()] != 0 || e.codes.used[tr.ID()] {
		t.Fatal("a code was spent on a statement with a bad signature")
	}
	p := wantProblem(t, e.do(&driver, http.MethodPost, "/mobile/v1/handovers", req("135790")), http.StatusForbidden, string(manifest.Forbidden))
	if !strings.Contains(p.Detail, "wrong one-time code (1 of 5") {
		t.Errorf("wrong code detail = %q", p.Detail)
	}
	wantProblem(t, e.do(&driver, http.MethodPost, "/mobile/v1/handovers", req("12345")), http.StatusBadRequest, string(manifest.Invalid))
	for i := 2; i <= 5; i++ {
		wantProblem(t, e.do(&driver, http.MethodPost, "/mobile/v1/handovers", req("000000")), http.StatusForbidden, string(manifest.Forbidden))
	}
	p = wantProblem(t, e.do(&driver, http.MethodPost, "/mobile/v1/handovers", req("246810")), http.StatusForbidden, string(manifest.Forbidden))
	if !strings.Contains(p.Detail, "burned") {
		t.Errorf("after 5 wrong codes the right one says %q, want burned", p.Detail)
	}
	if h := e.emb.Height(); h != height {
		t.Fatalf("refused codes moved the ledger from %d to %d", height, h)
	}

	// A fresh manifest, the right code: committed, the producer's
	// signature recorded as signed by code.
	tr2 := e.trip(e.w.OilTrip(false), manifest.StatusSigned)
	e.codes.code[tr2.ID()] = "975310"
	scan2 := decode[mobileapi.ScanResult](t, e.do(&driver, http.MethodPost, "/mobile/v1/scan", mobileapi.ScanRequest{Ticket: e.ticketURL(tr2.ID())}), http.StatusOK)
	st2 := *scan2.Template
	st2.Time = time.Now().UTC().Truncate(time.Second)
	st2.From = &manifest.Party{Org: e.w.Factory.Org.ID, Key: e.codes.kid}
	st2.To = &manifest.Party{Org: e.w.Hauler.Org.ID, Key: e.w.Hauler.KID}
	r2 := mobileapi.HandoverRequest{Signed: signWith(t, st2, e.w.Hauler), Code: "975310", DeviceTime: st2.Time}
	res := decode[mobileapi.Result](t, e.do(&driver, http.MethodPost, "/mobile/v1/handovers", r2), http.StatusCreated)
	_, m := e.doc(tr2.ID())
	rec := m.Steps[len(m.Steps)-1]
	if rec.TxID != res.TxID || rec.Signatures[0].SignedBy != "code" || rec.Signatures[0].Key != e.codes.kid || rec.Signatures[1].SignedBy != "device" {
		t.Errorf("record = %+v", rec.Signatures)
	}
	// Resending it (the code is spent) is a duplicate, not a code error.
	dup := decode[mobileapi.Result](t, e.do(&driver, http.MethodPost, "/mobile/v1/handovers", r2), http.StatusOK)
	if dup.Status != mobileapi.StatusDuplicate || dup.TxID != res.TxID {
		t.Errorf("resent sign-by-code handover = %+v", dup)
	}
}
