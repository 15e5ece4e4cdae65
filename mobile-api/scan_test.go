package mobileapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"wasteledger/gateway/problem"
	"wasteledger/gateway/ticket"
	"wasteledger/manifest"
	mobileapi "wasteledger/mobile-api"
)

func TestScanShowsChecklistAndTemplate(t *testing.T) {
	e := newEnv(t)
	tr := e.trip(e.w.OilTrip(true), manifest.StatusSigned)
	doc, _ := e.doc(tr.ID())
	driver := e.driver()

	res := decode[mobileapi.ScanResult](t, e.do(&driver, http.MethodPost, "/mobile/v1/scan", mobileapi.ScanRequest{Ticket: e.ticketURL(tr.ID())}), http.StatusOK)

	if res.Stale || res.Ticket.Hash != manifest.Hash(doc) || res.Ticket.Manifest != tr.ID() || res.Ticket.KeyID != e.keys.kid {
		t.Errorf("scan ticket = %+v stale=%v, want current version of %s", res.Ticket, res.Stale, tr.ID())
	}
	s := res.Manifest
	if s.ID != tr.ID() || len(s.ID) != 14 || s.Status != manifest.StatusSigned || s.Producer.Name != "广州安达汽车零部件有限公司" ||
		s.Receiver.ID != e.w.HWPlant.Org.ID || s.Receiver.Name == "" || len(s.Lines) != 2 || s.Hash != manifest.Hash(doc) {
		t.Errorf("summary = %+v", s)
	}
	if n := res.Next; n == nil || n.Step != manifest.StepPickup || !n.Party || n.Role != "taker" || n.From.ID != e.w.Factory.Org.ID || n.To.ID != e.w.Hauler.Org.ID || n.Name.ZH == "" {
		t.Errorf("next = %+v, want pickup from the factory to the driver's carrier", res.Next)
	}
	c := res.Checklist
	if len(c.Lines) != 2 {
		t.Fatalf("checklist = %+v", c)
	}
	oil := c.Lines[0]
	if oil.Code != "900-214-08" || !strings.Contains(oil.Waste.Name, "废") || oil.Waste.Category != "HW08" || oil.PackagingName.ZH != "桶" ||
		oil.Packages != 6 || oil.Qty != 1200 || oil.Unit != manifest.Kilogram || len(oil.Hazards) != 2 || oil.Hazards[0].ZH != "毒性" || oil.Hazards[1].EN != "Ignitability" {
		t.Errorf("checklist line 1 = %+v", oil)
	}
	if strings.Join(c.Vehicles, ",") != "粤A12345" || c.Permit != e.w.HaulerPermit.ID || c.Emergency == "" {
		t.Errorf("checklist vehicles = %v permit %s, want the hauler's planned plate", c.Vehicles, c.Permit)
	}
	tp := res.Template
	if tp == nil || tp.Step != manifest.StepPickup || tp.Prev != manifest.Hash(doc) || tp.Vehicle != "粤A12345" ||
		tp.From.Org != e.w.Factory.Org.ID || tp.To.Org != e.w.Hauler.Org.ID || len(tp.Lines) != 2 {
		t.Errorf("template = %+v", tp)
	}
	if res.CodeKeys[e.w.Factory.Org.ID] != e.codes.kid {
		t.Errorf("code_keys = %v, want the producer's custodial key", res.CodeKeys)
	}
	if res.You.Org != driver.Org {
		t.Errorf("you = %+v", res.You)
	}

	// The relay carrier sees the manifest, but the pickup is not theirs.
	relay := e.relayDriver()
	rr := decode[mobileapi.ScanResult](t, e.do(&relay, http.MethodPost, "/mobile/v1/scan", map[string]string{"ticket": e.ticketURL(tr.ID())}), http.StatusOK)
	if rr.Next == nil || rr.Next.Party || rr.Template != nil || strings.Join(rr.Checklist.Vehicles, ",") != "粤E34567" {
		t.Errorf("relay driver's scan: next %+v, template %v, vehicles %v", rr.Next, rr.Template, rr.Checklist.Vehicles)
	}
	// A regulator sees it; a carrier not on it does not.
	reg := e.regulator()
	decode[mobileapi.ScanResult](t, e.do(&reg, http.MethodPost, "/mobile/v1/scan", map[string]string{"ticket": e.ticketURL(tr.ID())}), http.StatusOK)
	stranger := e.stranger()
	wantProblem(t, e.do(&stranger, http.MethodPost, "/mobile/v1/scan", map[string]string{"ticket": e.ticketURL(tr.ID())}), http.StatusForbidden, string(manifest.Forbidden))
	wantProblem(t, e.do(nil, http.MethodPost, "/mobile/v1/scan", map[string]string{"ticket": e.ticketURL(tr.ID())}), http.StatusUnauthorized, string(manifest.Unauthenticated))
}

func TestScanRefusesBadTickets(t *testing.T) {
	e := newEnv(t)
	tr := e.trip(e.w.OilTrip(false), manifest.StatusSigned)
	driver := e.driver()
	good := ticket.FromURL(e.ticketURL(tr.ID()))
	parts := strings.Split(good, ".")
	doc, m := e.doc(tr.ID())
	issue := func(kr ticket.Keyring, tk ticket.Ticket) string {
		tok, err := ticket.Issue(kr, tk)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	now := time.Now()
	current := ticket.ForManifest(m, manifest.Hash(doc), "", now, time.Hour)
	wrongHash := current
	wrongHash.Hash = manifest.Hash([]byte("a manifest this ledger never stored"))
	olderWrong := current
	olderWrong.Version, olderWrong.Hash = 1, manifest.Hash([]byte("not version 1"))
	attacker := newGatewayKeys(t)
	attacker.kid = e.keys.kid // a forger copies the real key id

	tamper := func(tok string) string {
		p := strings.Split(tok, ".")
		c := byte('A')
		if p[1][20] == 'A' {
			c = 'B'
		}
		p[1] = p[1][:20] + string(c) + p[1][21:]
		return strings.Join(p, ".")
	}
	tests := []struct {
		name, ticket string
		clock        time.Time
		status       int
		code         string
	}{
		{"tampered payload", parts[0] + "." + tamper(good)[len(parts[0])+1:], time.Time{}, 422, problem.BadTicket},
		{"forged with the gateway's kid", issue(attacker, current), time.Time{}, 422, problem.BadTicket},
		{"expired", good, now.Add(ticket.DefaultTTL + time.Hour), 422, problem.BadTicket},
		{"gateway-signed, hash never on the ledger", issue(e.keys, wrongHash), time.Time{}, 422, problem.BadTicket},
		{"gateway-signed, older version with a wrong hash", issue(e.keys, olderWrong), time.Time{}, 422, problem.BadTicket},
		{"garbage", "https://wl.example/m/#t=not-a-ticket", time.Time{}, 422, problem.BadTicket},
		{"empty", "", time.Time{}, 422, problem.BadTicket},
	}
	height := e.emb.Height()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.now = tc.clock
			defer func() { e.now = time.Time{} }()
			p := wantProblem(t, e.do(&driver, http.MethodPost, "/mobile/v1/scan", mobileapi.ScanRequest{Ticket: tc.ticket}), tc.status, tc.code)
			if p.TitleZH == "" || p.Detail == "" {
				t.Errorf("problem without a Chinese title or detail: %+v", p)
			}
		})
	}
	if h := e.emb.Height(); h != height {
		t.Errorf("ledger height %d → %d after refused scans", height, h)
	}
	wantProblem(t, e.do(&driver, http.MethodPost, "/mobile/v1/scan", `{"ticket":"x","extra":1}`), http.StatusBadRequest, problem.BadRequest)
	wantProblem(t, e.do(&driver, http.MethodPost, "/mobile/v1/scan", `{"ticket":"`+strings.Repeat("A", 5000)+`"}`), http.StatusRequestEntityTooLarge, problem.TooLarge)
}

func TestTemplate(t *testing.T) {
	e := newEnv(t)
	tr := e.trip(e.w.OilTrip(false), manifest.StatusSigned)
	doc, _ := e.doc(tr.ID())
	driver := e.driver()
	path := "/mobile/v1/manifests/" + tr.ID() + "/template"

	res := decode[mobileapi.TemplateResult](t, e.do(&driver, http.MethodGet, path, nil), http.StatusOK)
	if res.Template.Step != manifest.StepPickup || res.Prev != manifest.Hash(doc) || res.Template.Prev != res.Prev || res.Version != 2 {
		t.Errorf("template = %+v", res)
	}
	if res.CodeKeys[e.w.Factory.Org.ID] != e.codes.kid {
		t.Errorf("code_keys = %v", res.CodeKeys)
	}
	wantProblem(t, e.do(&driver, http.MethodGet, path+"?step=delivery", nil), http.StatusConflict, string(manifest.Conflict))
	wantProblem(t, e.do(&driver, http.MethodGet, path+"?step=teleport", nil), http.StatusBadRequest, string(manifest.Invalid))
	wantProblem(t, e.do(&driver, http.MethodGet, "/mobile/v1/manifests/20264401999999/template", nil), http.StatusNotFound, string(manifest.NotFound))
	wantProblem(t, e.do(&driver, http.MethodGet, "/mobile/v1/manifests/12/template", nil), http.StatusBadRequest, string(manifest.Invalid))
	stranger := e.stranger()
	wantProblem(t, e.do(&stranger, http.MethodGet, path, nil), http.StatusForbidden, string(manifest.Forbidden))
}
