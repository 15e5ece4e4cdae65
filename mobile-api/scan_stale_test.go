package mobileapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"wasteledger/gateway/index/indextest"
	"wasteledger/gateway/problem"
	"wasteledger/gateway/ticket"
	"wasteledger/manifest"
	mobileapi "wasteledger/mobile-api"
)

// A ticket verified once is answered from memory only while the keyring
// still publishes its key and its times hold.
func TestScanRemembersTicketsOnlyWhileTheyHold(t *testing.T) {
	e := newEnv(t)
	tr := e.trip(e.w.OilTrip(false), manifest.StatusSigned)
	driver := e.driver()
	req := mobileapi.ScanRequest{Ticket: e.ticketURL(tr.ID())}
	for i := 0; i < 2; i++ {
		decode[mobileapi.ScanResult](t, e.do(&driver, http.MethodPost, "/mobile/v1/scan", req), http.StatusOK)
	}
	e.now = time.Now().Add(ticket.DefaultTTL + time.Hour)
	wantProblem(t, e.do(&driver, http.MethodPost, "/mobile/v1/scan", req), 422, problem.BadTicket)
	e.now = time.Time{}
	decode[mobileapi.ScanResult](t, e.do(&driver, http.MethodPost, "/mobile/v1/scan", req), http.StatusOK)
	kid := e.keys.kid
	e.keys.kid = "retired-" + kid // the keyring no longer publishes the key
	wantProblem(t, e.do(&driver, http.MethodPost, "/mobile/v1/scan", req), 422, problem.BadTicket)
	e.keys.kid = kid
	decode[mobileapi.ScanResult](t, e.do(&driver, http.MethodPost, "/mobile/v1/scan", req), http.StatusOK)
}

// Old paper of a manifest that got a follow-up: its version is checked
// against the ledger's history.
func TestScanOfOldPaperAfterAFollowup(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tr := e.w.OilTrip(false)
	if err := indextest.Run(ctx, e.host, tr, indextest.Plan{To: manifest.StatusSigned}); err != nil {
		t.Fatal(err)
	}
	printed := e.ticketURL(tr.ID())
	old, m := e.doc(tr.ID())
	if err := indextest.Continue(ctx, e.host, tr, indextest.Plan{To: manifest.StatusReceived, Accept: []int64{1000, 3000}}); err != nil {
		t.Fatal(err)
	}
	onward := e.w.OilTrip(false)
	onward.Draft.Lines = []manifest.Line{{No: 1, Code: "900-214-08", Name: "废机油（拒收部分）", Form: manifest.Liquid, Hazard: "T,I", Packaging: "drum", Packages: 1, Qty: 200, Unit: manifest.Kilogram, OriginLine: 1}}
	onward.Draft.Ref = &manifest.Ref{Original: tr.ID(), Kind: "onward"}
	if err := onward.Create(ctx, e.host); err != nil {
		t.Fatal(err)
	}
	if _, now := e.doc(tr.ID()); len(now.Followups) != 1 || now.Version != 2+len(now.Steps) {
		t.Fatalf("original after the onward manifest: version %d, %d steps, follow-ups %+v", now.Version, len(now.Steps), now.Followups)
	}
	reg := e.regulator()
	res := decode[mobileapi.ScanResult](t, e.do(&reg, http.MethodPost, "/mobile/v1/scan", mobileapi.ScanRequest{Ticket: printed}), http.StatusOK)
	if !res.Stale || res.Ticket.Version != m.Version || res.Ticket.Hash != manifest.Hash(old) {
		t.Errorf("scan of the paper printed at version %d = stale %v, ticket %+v", m.Version, res.Stale, res.Ticket)
	}
	forged := ticket.ForManifest(m, manifest.Hash([]byte("not what version 2 was")), "", time.Now(), time.Hour)
	tok, err := ticket.Issue(e.keys, forged)
	if err != nil {
		t.Fatal(err)
	}
	wantProblem(t, e.do(&reg, http.MethodPost, "/mobile/v1/scan", mobileapi.ScanRequest{Ticket: tok}), 422, problem.BadTicket)
}
