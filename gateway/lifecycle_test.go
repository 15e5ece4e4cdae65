package gateway_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"wasteledger/chaincode/scenario"
	"wasteledger/gateway"
	"wasteledger/gateway/index"
	"wasteledger/manifest"
)

// TestLifecycles walks a manifest of each of the four waste streams from
// creation to closing over HTTP, every step signed by its parties' own
// keys (generated here, registered through the API by each organisation's
// administrator) and submitted by the user whose organisation acts.
func TestLifecycles(t *testing.T) {
	e := newEnv(t, gateway.Config{})
	c := e.cast()
	w := c.w

	wantStatus := func(t *testing.T, res gateway.StepResult, want manifest.Status) {
		t.Helper()
		var m manifest.Manifest
		if err := json.Unmarshal(res.Manifest, &m); err != nil {
			t.Fatal(err)
		}
		if m.Status != want {
			t.Fatalf("status after step = %s, want %s", m.Status, want)
		}
		if res.TxID == "" || res.Block == 0 || res.Hash != manifest.Hash(res.Manifest) {
			t.Fatalf("step result = tx %q block %d hash %q, want a committed transaction and the hash of the manifest", res.TxID, res.Block, res.Hash)
		}
	}
	waiting := func(t *testing.T, u *user) []string {
		t.Helper()
		var p index.Page
		deadline := time.Now().Add(5 * time.Second)
		for {
			e.must(200, "GET", "/api/v1/manifests?waiting=me", u.token, nil, &p)
			if len(p.Items) > 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond) // the index follows the ledger
		}
		var ids []string
		for _, s := range p.Items {
			ids = append(ids, s.ID)
		}
		return ids
	}

	t.Run("industrial, relayed", func(t *testing.T) {
		e := e.with(t)
		id := e.create(c.factory, w.OilTrip(true).Draft)
		if got := waiting(t, c.factory); !slices.Contains(got, id) {
			t.Fatalf("factory waiting-for-me = %v, want %s (draft, to sign)", got, id)
		}
		wantStatus(t, e.step(c.factory, id, manifest.StepSign, nil, c.factory), manifest.StatusSigned)
		wantStatus(t, e.step(c.hauler, id, manifest.StepPickup, nil, c.factory, c.hauler), manifest.StatusInTransit)
		wantStatus(t, e.step(c.relay, id, manifest.StepRelay, nil, c.hauler, c.relay), manifest.StatusInTransit)
		wantStatus(t, e.step(c.hwplant, id, manifest.StepDelivery, nil, c.relay, c.hwplant), manifest.StatusDelivered)
		wantStatus(t, e.step(c.hwplant, id, manifest.StepReceive, nil, c.hwplant), manifest.StatusReceived)
		wantStatus(t, e.step(c.hwplant, id, manifest.StepProcess, func(st *manifest.Statement) {
			st.Lines[0].Outputs = []manifest.Output{{Material: "base oil", Qty: 900, Unit: manifest.Kilogram}}
		}, c.hwplant), manifest.StatusProcessed)
		wantStatus(t, e.step(c.factory, id, manifest.StepClose, nil, c.factory), manifest.StatusClosed)

		var h struct {
			Items []gateway.HistoryItem `json:"items"`
		}
		e.must(200, "GET", "/api/v1/manifests/"+id+"/history", c.officer.token, nil, &h)
		var steps []string
		for i, it := range h.Items {
			steps = append(steps, it.Step)
			if i > 0 && it.Block < h.Items[i-1].Block {
				t.Errorf("history block %d after %d", it.Block, h.Items[i-1].Block)
			}
		}
		if want := []string{"create", "sign", "pickup", "relay", "delivery", "receive", "process", "close"}; !slices.Equal(steps, want) {
			t.Fatalf("history steps = %v, want %v", steps, want)
		}
		pickup := h.Items[2]
		if len(pickup.Signatures) != 2 || pickup.Signatures[0].Key != c.factory.kid || pickup.Signatures[1].Key != c.hauler.kid ||
			pickup.Signatures[0].SignedBy != "device" || len(pickup.Statement) == 0 || pickup.TxID == "" {
			t.Fatalf("pickup history = %+v, want the factory's and the hauler's device signatures and the statement", pickup)
		}
	})

	t.Run("medical, picked up by code", func(t *testing.T) {
		e := e.with(t)
		id := e.create(c.hospital, w.MedicalTrip(3*time.Hour).Draft)
		e.step(c.hospital, id, manifest.StepSign, nil, c.hospital)

		// The hospital's administrator makes the key the gateway holds;
		// the clerk at the loading bay asks for a code and reads it out.
		hadmin := c.admins[w.Hospital.Org.ID]
		var ck manifest.Key
		e.must(201, "POST", "/api/v1/orgs/"+w.Hospital.Org.ID+"/custodial-key", hadmin.token, nil, &ck)
		if ck.Kind != manifest.Custodial {
			t.Fatalf("custodial key kind = %s", ck.Kind)
		}
		var code gateway.SignCode
		e.must(201, "POST", "/api/v1/manifests/"+id+"/sign-codes", c.hospital.token, map[string]string{"step": "pickup"}, &code)
		if len(code.Code) != 6 || code.KeyID != ck.ID {
			t.Fatalf("sign code = %+v, want 6 digits for key %s", code, ck.ID)
		}

		// The driver names the custodial key for the hospital, has the
		// gateway countersign with the code, and signs with their own key.
		custodial := &user{kid: ck.ID}
		tpl := e.template(c.medical, id, manifest.StepPickup, custodial, c.medical)
		var cs struct {
			KID, Sig, SignedBy string `json:"-"`
		}
		var csr map[string]string
		e.must(200, "POST", "/api/v1/manifests/"+id+"/countersign", c.medical.token, map[string]any{"code": code.Code, "statement": tpl.Statement}, &csr)
		cs.KID, cs.Sig = csr["kid"], csr["sig"]
		own := sign(t, tpl.Statement, c.medical)
		var env manifest.Signed
		json.Unmarshal(own, &env)
		env.Signatures = append([]manifest.Signature{{Key: cs.KID, Sig: cs.Sig}}, env.Signatures...)
		body, _ := json.Marshal(env)
		var res gateway.StepResult
		e.must(200, "POST", tpl.Endpoint, c.medical.token, body, &res)
		wantStatus(t, res, manifest.StatusInTransit)

		// The code is used up.
		r := e.do("POST", "/api/v1/manifests/"+id+"/countersign", c.medical.token, map[string]any{"code": code.Code, "statement": tpl.Statement})
		if p := r.problem(t); r.status != 403 || p.Code != "forbidden" {
			t.Fatalf("second countersign = %d %s, want 403 forbidden", r.status, p.Code)
		}

		wantStatus(t, e.step(c.medplant, id, manifest.StepDelivery, nil, c.medical, c.medplant), manifest.StatusDelivered)
		wantStatus(t, e.step(c.medplant, id, manifest.StepReceive, nil, c.medplant), manifest.StatusReceived)
		wantStatus(t, e.step(c.medplant, id, manifest.StepProcess, nil, c.medplant), manifest.StatusProcessed)
		wantStatus(t, e.step(c.hospital, id, manifest.StepClose, nil, c.hospital), manifest.StatusClosed)

		var h struct {
			Items []gateway.HistoryItem `json:"items"`
		}
		e.must(200, "GET", "/api/v1/manifests/"+id+"/history", c.hospital.token, nil, &h)
		pickup := h.Items[2]
		if pickup.Step != "pickup" || pickup.Signatures[0].SignedBy != "code" || pickup.Signatures[1].SignedBy != "device" {
			t.Fatalf("pickup signatures = %+v, want the hospital's by code and the driver's by device", pickup.Signatures)
		}
	})

	t.Run("fly ash, weighed short", func(t *testing.T) {
		e := e.with(t)
		id := e.create(c.incinerator, w.FlyAshTrip(18_000).Draft)
		e.step(c.incinerator, id, manifest.StepSign, nil, c.incinerator)
		e.step(c.hauler, id, manifest.StepPickup, nil, c.incinerator, c.hauler)
		e.step(c.kiln, id, manifest.StepDelivery, nil, c.hauler, c.kiln)
		// 17,000 kg of 18,000 declared: beyond the 5 % tolerance, flagged
		// for the regulator, not refused.
		res := e.step(c.kiln, id, manifest.StepReceive, func(st *manifest.Statement) { st.Lines[0].Qty = 17_000 }, c.kiln)
		wantStatus(t, res, manifest.StatusReceived)
		var m manifest.Manifest
		json.Unmarshal(res.Manifest, &m)
		if len(m.Flags) != 1 || m.Flags[0].Rule != manifest.FlagDiscrepancy || m.Receipt[0].Accepted != 17_000 {
			t.Fatalf("flags = %+v, receipt = %+v; want a quantity_discrepancy flag and 17000 kg accepted", m.Flags, m.Receipt)
		}
		e.step(c.kiln, id, manifest.StepProcess, nil, c.kiln)
		wantStatus(t, e.step(c.incinerator, id, manifest.StepClose, nil, c.incinerator), manifest.StatusClosed)
	})

	t.Run("batteries, delivered through the driver API", func(t *testing.T) {
		e := e.with(t)
		units := []string{scenario.BatteryCode(7001), scenario.BatteryCode(7002)}
		id := e.create(c.dismantler, w.BatteryTrip(units...).Draft)
		e.step(c.dismantler, id, manifest.StepSign, nil, c.dismantler)
		e.step(c.relay, id, manifest.StepPickup, nil, c.dismantler, c.relay)

		tpl := e.template(c.relay, id, manifest.StepDelivery, c.relay, c.recycler)
		var env manifest.Signed
		json.Unmarshal(sign(t, tpl.Statement, c.relay, c.recycler), &env)
		var res struct {
			Status string `json:"status"`
			TxID   string `json:"tx_id"`
		}
		e.must(201, "POST", "/mobile/v1/handovers", c.relay.token, map[string]any{"signed": env, "device_time": time.Now().UTC()}, &res)
		if res.Status != "ok" || res.TxID == "" {
			t.Fatalf("mobile handover = %+v, want ok with a transaction", res)
		}
		m, _ := e.manifestOf(c.recycler, id)
		if m.Status != manifest.StatusDelivered {
			t.Fatalf("status after the driver API's delivery = %s, want delivered", m.Status)
		}
		e.step(c.recycler, id, manifest.StepReceive, nil, c.recycler)
		e.step(c.recycler, id, manifest.StepProcess, func(st *manifest.Statement) {
			st.Lines[0].Outputs = []manifest.Output{{Material: "lithium carbonate", Qty: 60, Unit: manifest.Kilogram}}
		}, c.recycler)
		wantStatus(t, e.step(c.dismantler, id, manifest.StepClose, nil, c.dismantler), manifest.StatusClosed)

		// Cancelling before pickup, and the regulator's view of the stream.
		id2 := e.create(c.dismantler, w.LeadTrip().Draft)
		e.step(c.dismantler, id2, manifest.StepSign, nil, c.dismantler)
		wantStatus(t, e.step(c.dismantler, id2, manifest.StepCancel, func(st *manifest.Statement) { st.Reason = "plan changed" }, c.dismantler), manifest.StatusCancelled)
		var p index.Page
		deadline := time.Now().Add(5 * time.Second)
		for {
			e.must(200, "GET", "/api/v1/manifests?stream=battery&status=closed,cancelled", c.officer.token, nil, &p)
			if len(p.Items) == 2 || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if len(p.Items) != 2 {
			t.Fatalf("regulator's battery list = %d items, want 2 (closed, cancelled)", len(p.Items))
		}
	})

	t.Run("regulator publishes indicators, signed with its custodial key", func(t *testing.T) {
		e := e.with(t)
		period := fmt.Sprint(time.Now().In(manifest.China).Year())
		body := map[string]string{"region": "440000", "period": period}
		if r := e.do("POST", "/api/v1/indicators/snapshots", c.officer.token, body); r.status != 422 {
			t.Fatalf("publish without a custodial key = %d %s, want 422", r.status, r.body)
		}
		e.must(201, "POST", "/api/v1/orgs/"+w.Province.Org.ID+"/custodial-key", c.admins[w.Province.Org.ID].token, nil, nil)
		var pub struct {
			Signature manifest.SignatureRecord `json:"signature"`
		}
		e.must(201, "POST", "/api/v1/indicators/snapshots", c.officer.token, body, &pub)
		if pub.Signature.Org != w.Province.Org.ID || pub.Signature.SignedBy != "code" {
			t.Fatalf("snapshot signature = %+v, want the province's custodial key", pub.Signature)
		}
		if r := e.do("POST", "/api/v1/indicators/snapshots", c.factory.token, body); r.status != 403 {
			t.Fatalf("a producer publishes = %d, want 403", r.status)
		}
	})
}
