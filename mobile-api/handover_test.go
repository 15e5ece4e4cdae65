package mobileapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"wasteledger/chaincode/scenario"
	"wasteledger/gateway/auth"
	"wasteledger/gateway/problem"
	"wasteledger/manifest"
	"wasteledger/manifest/signature"
	mobileapi "wasteledger/mobile-api"
)

// TestOnlineHandover is the roadside flow: scan the paper, check, both
// parties sign on their own devices, submit; then the same paper is stale.
func TestOnlineHandover(t *testing.T) {
	e := newEnv(t)
	tr := e.trip(e.w.OilTrip(false), manifest.StatusSigned)
	driver := e.driver()
	paperURL := e.ticketURL(tr.ID())

	scan := decode[mobileapi.ScanResult](t, e.do(&driver, http.MethodPost, "/mobile/v1/scan", mobileapi.ScanRequest{Ticket: paperURL}), http.StatusOK)
	tpl := decode[mobileapi.TemplateResult](t, e.do(&driver, http.MethodGet, "/mobile/v1/manifests/"+tr.ID()+"/template?step=pickup", nil), http.StatusOK)
	if tpl.Prev != scan.Template.Prev {
		t.Fatalf("template prev %s, scan said %s", tpl.Prev, scan.Template.Prev)
	}
	st := tpl.Template
	st.Time = time.Now().UTC().Truncate(time.Second)
	place := at("黄埔厂区装卸区")
	st.Place = &place
	signed := sign(t, st, e.w.Factory, e.w.Hauler) // the producer's phone, then the driver's
	deviceTime := st.Time
	sent := time.Now()
	req := mobileapi.HandoverRequest{Signed: signed, GPS: &mobileapi.GPS{LatE6: place.LatE6, LonE6: place.LonE6, AccuracyM: 8}, DeviceTime: deviceTime, SentAt: &sent}

	height := e.emb.Height()
	res := decode[mobileapi.Result](t, e.do(&driver, http.MethodPost, "/mobile/v1/handovers", req), http.StatusCreated)
	if res.Status != mobileapi.StatusOK || res.TxID == "" || res.Block <= height || res.Committed == nil || res.Manifest == nil ||
		res.Manifest.Status != manifest.StatusInTransit || res.Next == nil || res.Next.Step != manifest.StepDelivery || res.Next.Role != "giver" {
		t.Fatalf("handover = %+v", res)
	}
	doc, m := e.doc(tr.ID())
	if res.Hash != manifest.Hash(doc) || res.Manifest.Version != 3 || m.Custody != e.w.Hauler.Org.ID {
		t.Errorf("after the pickup: hash %s (ledger %s), custody %s", res.Hash, manifest.Hash(doc), m.Custody)
	}
	// Both times are on the ledger: the signed (device) time and the
	// commit time.
	rec := m.Steps[len(m.Steps)-1]
	if rec.Step != manifest.StepPickup || !rec.Time.Equal(deviceTime) || !rec.Committed.Equal(*res.Committed) || rec.TxID != res.TxID || rec.Vehicle != "粤A12345" {
		t.Errorf("step record = %+v, want signed time %s and commit time %s", rec, deviceTime, res.Committed)
	}
	if !res.StatementTime.Equal(deviceTime) || !res.DeviceTime.Equal(deviceTime) || res.ClockOffsetS == nil {
		t.Errorf("times = statement %v device %v offset %v", res.StatementTime, res.DeviceTime, res.ClockOffsetS)
	}
	if len(rec.Signatures) != 2 || rec.Signatures[0].SignedBy != "device" || rec.Signatures[1].Key != e.w.Hauler.KID {
		t.Errorf("signatures = %+v", rec.Signatures)
	}

	// Resubmitting is idempotent: the same transaction, nothing written.
	height = e.emb.Height()
	dup := decode[mobileapi.Result](t, e.do(&driver, http.MethodPost, "/mobile/v1/handovers", req), http.StatusOK)
	if dup.Status != mobileapi.StatusDuplicate || dup.TxID != res.TxID || dup.Block != res.Block {
		t.Errorf("resubmission = %+v, want duplicate of %s", dup, res.TxID)
	}
	if h := e.emb.Height(); h != height {
		t.Errorf("resubmission moved the ledger from %d to %d", height, h)
	}

	// The paper printed before the pickup is now stale: the scan says so
	// and shows the current version and the delivery to sign.
	again := decode[mobileapi.ScanResult](t, e.do(&driver, http.MethodPost, "/mobile/v1/scan", mobileapi.ScanRequest{Ticket: paperURL}), http.StatusOK)
	if !again.Stale || again.Ticket.Version != 2 || again.Manifest.Version != 3 || !strings.Contains(again.StaleDetail, "version 2") ||
		again.Template == nil || again.Template.Step != manifest.StepDelivery || again.Template.Prev != manifest.Hash(doc) {
		t.Errorf("scan of the old paper = stale %v (%s), version %d, template %+v", again.Stale, again.StaleDetail, again.Manifest.Version, again.Template)
	}

	// Delivery, signed by the driver and the plant.
	st2 := again.Template
	st2.Time = time.Now().UTC().Truncate(time.Second)
	del := decode[mobileapi.Result](t, e.do(&driver, http.MethodPost, "/mobile/v1/handovers",
		mobileapi.HandoverRequest{Signed: sign(t, *st2, e.w.Hauler, e.w.HWPlant), DeviceTime: st2.Time}), http.StatusCreated)
	if del.Manifest.Status != manifest.StatusDelivered || del.Next == nil || del.Next.Step != manifest.StepReceive || del.Next.Party {
		t.Errorf("delivery = %+v", del)
	}
}

func TestHandoverRefusals(t *testing.T) {
	e := newEnv(t)
	tr := e.trip(e.w.OilTrip(true), manifest.StatusSigned)
	driver, relay, clerk := e.driver(), e.relayDriver(), e.clerk()
	draftHash := func() string {
		b, err := e.emb.Evaluate(t.Context(), e.w.RegulatorCaller(), "ManifestHistory", []byte(tr.ID()))
		if err != nil {
			t.Fatal(err)
		}
		i := strings.Index(string(b), `"hash":"`)
		return string(b[i+8 : i+8+43])
	}()
	tpl := decode[mobileapi.TemplateResult](t, e.do(&driver, http.MethodGet, "/mobile/v1/manifests/"+tr.ID()+"/template", nil), http.StatusOK).Template
	tpl.Time = time.Now().UTC().Truncate(time.Second)
	good := sign(t, tpl, e.w.Factory, e.w.Hauler)

	// A forger holding the driver's phone signs for the producer with a key
	// of their own, naming the producer's registered key.
	forger, err := signature.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	forged := sign(t, tpl, e.w.Factory, e.w.Hauler)
	forged.Signatures[0].Sig, _ = signature.Sign(nil, forger, forged.Statement)

	// The producer's genuine signature of another statement (its signing
	// step) replayed onto this one.
	_, m := e.doc(tr.ID())
	replayed := sign(t, tpl, e.w.Factory, e.w.Hauler)
	replayed.Signatures[0].Sig = m.Steps[0].Signatures[0].Sig

	// Changed after both signed: 6 drums became 5.
	tampered := sign(t, tpl, e.w.Factory, e.w.Hauler)
	tampered.Statement = []byte(strings.Replace(string(tampered.Statement), `"packages":6`, `"packages":5`, 1))

	stale := tpl
	stale.Prev = draftHash
	signStep := tpl
	signStep.Step, signStep.To, signStep.Vehicle, signStep.Place = manifest.StepSign, nil, "", nil

	tests := []struct {
		name   string
		who    string
		signed manifest.Signed
		status int
		code   string
		detail string
	}{
		{"forged producer signature", "driver", forged, 422, string(manifest.BadSignature), "does not verify"},
		{"replayed producer signature", "driver", replayed, 422, string(manifest.BadSignature), "does not verify"},
		{"statement changed after signing", "driver", tampered, 422, string(manifest.BadSignature), "does not verify"},
		{"only the driver signed", "driver", signWith(t, withKeys(tpl, e.w.Factory, e.w.Hauler), e.w.Hauler), 400, string(manifest.Invalid), "signatures"},
		{"signed against an older version", "driver", sign(t, stale, e.w.Factory, e.w.Hauler), 409, string(manifest.Conflict), "signed against version 1 (draft)"},
		{"not a handover", "driver", sign(t, signStep, e.w.Factory), 400, string(manifest.Invalid), "console"},
		{"another carrier's driver", "relay", good, 403, string(manifest.Forbidden), "carrier"},
		{"a producer clerk", "clerk", good, 403, string(manifest.Forbidden), ""},
	}
	actors := map[string]*auth.Actor{"driver": &driver, "relay": &relay, "clerk": &clerk}
	height := e.emb.Height()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := wantProblem(t, e.do(actors[tc.who], http.MethodPost, "/mobile/v1/handovers",
				mobileapi.HandoverRequest{Signed: tc.signed, DeviceTime: tpl.Time}), tc.status, tc.code)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q does not say %q", p.Detail, tc.detail)
			}
		})
	}
	if h := e.emb.Height(); h != height {
		t.Fatalf("refused handovers moved the ledger from %d to %d", height, h)
	}
	if _, m2 := e.doc(tr.ID()); m2.Version != m.Version {
		t.Fatalf("manifest version %d → %d after refusals", m.Version, m2.Version)
	}
	// Malformed requests.
	wantProblem(t, e.do(&driver, http.MethodPost, "/mobile/v1/handovers", `{"signed":{}}`), 400, string(manifest.Invalid))
	wantProblem(t, e.do(&driver, http.MethodPost, "/mobile/v1/handovers", `{"signed":`+string(mustJSON(t, good))+`}`), 400, string(manifest.Invalid)) // no device_time
	wantProblem(t, e.do(&driver, http.MethodPost, "/mobile/v1/handovers", `{"signed":`+string(mustJSON(t, good))+`,"device_time":"2026-01-01T00:00:00Z","speed":80}`), 400, problem.BadRequest)
	wantProblem(t, e.do(&driver, http.MethodPost, "/mobile/v1/handovers", mobileapi.HandoverRequest{Signed: good, DeviceTime: tpl.Time, GPS: &mobileapi.GPS{LatE6: 91_000_000}}), 400, string(manifest.Invalid))

	// The genuine one still goes through after all that.
	decode[mobileapi.Result](t, e.do(&driver, http.MethodPost, "/mobile/v1/handovers", mobileapi.HandoverRequest{Signed: good, DeviceTime: tpl.Time}), http.StatusCreated)

	// Out of order: the relay, signed against the current version but
	// dated before the pickup it follows.
	rt := decode[mobileapi.TemplateResult](t, e.do(&relay, http.MethodGet, "/mobile/v1/manifests/"+tr.ID()+"/template", nil), http.StatusOK).Template
	rt.Time = tpl.Time.Add(-time.Second)
	p := wantProblem(t, e.do(&relay, http.MethodPost, "/mobile/v1/handovers", mobileapi.HandoverRequest{Signed: sign(t, rt, e.w.Hauler, e.w.Relay), DeviceTime: rt.Time}), 409, string(manifest.Conflict))
	if !strings.Contains(p.Detail, "out of order") {
		t.Errorf("out-of-order detail = %q", p.Detail)
	}
}

func withKeys(st manifest.Statement, from, to *scenario.Party) manifest.Statement {
	f := *st.From
	f.Key = from.KID
	st.From = &f
	if st.To != nil {
		tt := *st.To
		tt.Key = to.KID
		st.To = &tt
	}
	return st
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
