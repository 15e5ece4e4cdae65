package reconcile_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wasteledger/chaincode"
	"wasteledger/chaincode/scenario"
	"wasteledger/gateway/audit"
	"wasteledger/gateway/auth"
	"wasteledger/gateway/index"
	"wasteledger/gateway/reconcile"
	"wasteledger/gateway/reconcile/indicator"
	"wasteledger/manifest"
	"wasteledger/manifest/signature"
)

type server struct {
	*httptest.Server
	actor *auth.Actor
}

// serve mounts the routes on a ServeMux (which fills PathValue like the
// gateway's router) behind a stand-in for the auth middleware.
func serve(t *testing.T, d reconcile.Deps, actor auth.Actor) *server {
	t.Helper()
	s := &server{actor: &actor}
	mux := http.NewServeMux()
	for _, rt := range reconcile.Routes(d) {
		rt := rt
		mux.HandleFunc(rt.Method+" "+rt.Path, func(w http.ResponseWriter, r *http.Request) {
			if len(rt.Roles) > 0 {
				ok := false
				for _, role := range rt.Roles {
					ok = ok || role == s.actor.Role
				}
				if !ok {
					http.Error(w, "forbidden", http.StatusForbidden)
					return
				}
			}
			rt.Handler(w, r.WithContext(auth.WithActor(r.Context(), *s.actor)))
		})
	}
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *server) do(t *testing.T, method, path string, body any, accept string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestRegulatorAPI(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := buildDataset(t)
	ix := d.index(t)
	go ix.Follow(ctx, d.ledger)
	w := d.world
	deps := reconcile.Deps{
		Index: ix, Ledger: d.ledger, Caller: w.RegulatorCaller(), Prover: d.ledger.Ledger,
		Sign: func(ctx context.Context, a auth.Actor, canonical []byte) (manifest.Signature, error) {
			if a.Org != w.Province.Org.ID {
				return manifest.Signature{}, manifest.Errorf(manifest.Forbidden, "no key for %s", a.Org)
			}
			sig, err := signature.Sign(rand.Reader, w.Province.Key, canonical)
			return manifest.Signature{Key: w.Province.KID, Sig: sig}, err
		},
	}
	regulator := auth.Actor{Subject: "u-reg-1", Org: w.Province.Org.ID, Role: auth.Regulator, MSP: scenario.RegulatorMSP}
	s := serve(t, deps, regulator)

	// JSON and CSV indicators.
	resp, body := s.do(t, "GET", "/api/v1/indicators?region=440000&period=2026-Q4", nil, "")
	if resp.StatusCode != 200 {
		t.Fatalf("GET indicators: %d %s", resp.StatusCode, body)
	}
	var rep indicator.Report
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Indicators) != len(indicator.IDs()) || rep.RegionName != "广东省" {
		t.Errorf("report has %d indicators for %q, want %d for 广东省", len(rep.Indicators), rep.RegionName, len(indicator.IDs()))
	}
	tr, _ := rep.Find(indicator.HWTransferred)
	if tr.Formula == "" || tr.Unit != "t" || tr.NameZH == "" || !strings.Contains(tr.DrillDown, "/api/v1/indicators/hw_transferred/manifests?") {
		t.Errorf("indicator %+v lacks formula, unit, names or drill-down", tr)
	}
	resp, body = s.do(t, "GET", "/api/v1/indicators?region=440000&period=2026-Q4", nil, "text/csv")
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || len(rows) != len(indicator.IDs())+1 {
		t.Errorf("CSV: %s, %d rows, %v", resp.Header.Get("Content-Type"), len(rows), err)
	}
	for _, bad := range []string{"region=440000&period=2026-13", "period=2026", "region=999999&period=2026"} {
		if resp, _ := s.do(t, "GET", "/api/v1/indicators?"+bad, nil, ""); resp.StatusCode != 400 {
			t.Errorf("GET indicators?%s = %d, want 400", bad, resp.StatusCode)
		}
	}

	// Drill-down follows the link.
	u := strings.TrimPrefix(tr.DrillDown, "")
	resp, body = s.do(t, "GET", u, nil, "")
	var dd reconcile.DrillDown
	if err := json.Unmarshal(body, &dd); err != nil || resp.StatusCode != 200 || dd.Count != tr.Manifests || len(dd.Items) != dd.Count {
		t.Errorf("drill-down %s: %d, %+v, %v; want %d manifests", u, resp.StatusCode, dd, err, tr.Manifests)
	}
	if resp, _ := s.do(t, "GET", "/api/v1/indicators/nonsense/manifests?region=440000&period=2026", nil, ""); resp.StatusCode != 404 {
		t.Errorf("drill-down of an unknown indicator = %d, want 404", resp.StatusCode)
	}

	// Publish a signed snapshot; it verifies as unchanged.
	resp, body = s.do(t, "POST", "/api/v1/indicators/snapshots", map[string]string{"region": "440100", "period": "2026-Q4"}, "")
	if resp.StatusCode != 201 {
		t.Fatalf("publish: %d %s", resp.StatusCode, body)
	}
	var pub chaincode.Published
	json.Unmarshal(body, &pub)
	resp, body = s.do(t, "GET", "/api/v1/indicators/snapshots/"+pub.ID+"/verification", nil, "")
	var chk reconcile.SnapshotCheck
	if err := json.Unmarshal(body, &chk); err != nil || chk.Verdict != "unchanged" || !chk.SignatureOK || !chk.DigestOK {
		t.Errorf("verify snapshot: %d %+v %v, want unchanged with a good signature", resp.StatusCode, chk, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, body = s.do(t, "GET", "/api/v1/indicators/snapshots?region=440100", nil, "")
		if strings.Contains(string(body), pub.ID) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(string(body), pub.ID) {
		t.Errorf("snapshot list %s lacks %s", body, pub.ID)
	}

	// Anomalies: list, filter, acknowledge.
	r := &reconcile.Reconciler{Index: ix, Ledger: d.ledger, Caller: w.RegulatorCaller()}
	if _, err := r.Rules(ctx, d.asOf); err != nil {
		t.Fatal(err)
	}
	resp, body = s.do(t, "GET", "/api/v1/anomalies?rule=medical_48h&severity=high", nil, "")
	var page index.AnomalyPage
	if err := json.Unmarshal(body, &page); err != nil || resp.StatusCode != 200 || len(page.Items) != 2 { // E2's two lines
		t.Fatalf("anomalies: %d %s", resp.StatusCode, body)
	}
	resp, body = s.do(t, "POST", "/api/v1/anomalies/"+itoa(page.Items[0].ID)+"/ack", map[string]string{"note": "已立案调查"}, "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), "u-reg-1@") {
		t.Errorf("ack: %d %s", resp.StatusCode, body)
	}
	if resp, _ := s.do(t, "POST", "/api/v1/anomalies/"+itoa(page.Items[0].ID)+"/ack", map[string]string{}, ""); resp.StatusCode != 409 {
		t.Errorf("second ack = %d, want 409", resp.StatusCode)
	}
	if resp, _ := s.do(t, "GET", "/api/v1/anomalies?acknowledged=maybe", nil, ""); resp.StatusCode != 400 {
		t.Errorf("acknowledged=maybe = %d, want 400", resp.StatusCode)
	}

	// Audit: history, proof, export.
	id := d.byName["G1"].trip.ID()
	resp, body = s.do(t, "GET", "/api/v1/audit/manifests/"+id, nil, "")
	var h audit.History
	if err := json.Unmarshal(body, &h); err != nil || resp.StatusCode != 200 || h.Verdict != "verified" {
		t.Fatalf("audit %s: %d %.300s", id, resp.StatusCode, body)
	}
	resp, body = s.do(t, "GET", "/api/v1/audit/proof/"+h.Versions[2].TxID, nil, "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"verified":true`) {
		t.Errorf("proof: %d %.300s", resp.StatusCode, body)
	}
	resp, body = s.do(t, "GET", "/api/v1/audit/export?region=440600&period="+d.online.In(manifest.China).Format("2006"), nil, "")
	if resp.StatusCode != 200 {
		t.Fatalf("export: %d %s", resp.StatusCode, body)
	}
	if rep, err := audit.VerifyExport(bytes.NewReader(body)); err != nil || rep.Manifests != 2 { // G1 and the cancelled D
		t.Errorf("VerifyExport(API export) = %+v, %v; want 2 manifests", rep, err)
	}

	// A party audits its own manifest, not another's.
	*s.actor = auth.Actor{Subject: "u-dis", Org: w.Dismantler.Org.ID, Role: auth.ProducerClerk, MSP: scenario.ProducerMSP}
	if resp, _ := s.do(t, "GET", "/api/v1/audit/manifests/"+id, nil, ""); resp.StatusCode != 200 {
		t.Errorf("producer audits its own manifest: %d, want 200", resp.StatusCode)
	}
	if resp, _ := s.do(t, "GET", "/api/v1/audit/manifests/"+d.byName["A"].trip.ID(), nil, ""); resp.StatusCode != 403 {
		t.Errorf("producer audits another's manifest: %d, want 403", resp.StatusCode)
	}

	// On Fabric (no prover) the proof route answers 501.
	deps.Prover = nil
	*s.actor = regulator
	s2 := serve(t, deps, regulator)
	if resp, body := s2.do(t, "GET", "/api/v1/audit/proof/"+h.Versions[2].TxID, nil, ""); resp.StatusCode != 501 || !strings.Contains(string(body), "not_implemented") {
		t.Errorf("proof without prover: %d %s, want 501", resp.StatusCode, body)
	}
}

func itoa(n int64) string {
	return strings.TrimSpace(strings.Replace(string(must(json.Marshal(n))), `"`, "", -1))
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
