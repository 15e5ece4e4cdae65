package paper_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/xml"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wasteledger/chaincode"
	"wasteledger/chaincode/embedded"
	"wasteledger/chaincode/scenario"
	"wasteledger/gateway/auth"
	"wasteledger/gateway/ledger"
	"wasteledger/gateway/paper"
	"wasteledger/gateway/problem"
	"wasteledger/gateway/ticket"
	"wasteledger/manifest"
	"wasteledger/manifest/signature"
)

// host adapts the embedded ledger to scenario.Host; the handlers get
// the gateway's ledger.Local over the same ledger.
type host struct{ l *embedded.Ledger }

func (h host) Submit(ctx context.Context, c chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	r, err := h.l.Submit(ctx, c, fn, args...)
	return r.Payload, err
}
func (h host) Evaluate(ctx context.Context, c chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	return h.l.Evaluate(ctx, c, fn, args...)
}

type keys struct {
	kid string
	key *ecdsa.PrivateKey
}

func (k keys) Signing() (string, *ecdsa.PrivateKey) { return k.kid, k.key }
func (k keys) Public(kid string) (*ecdsa.PublicKey, bool) {
	if kid != k.kid {
		return nil, false
	}
	return &k.key.PublicKey, true
}

type env struct {
	t    *testing.T
	w    *scenario.World
	host host
	keys keys
	mux  *http.ServeMux
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	cfg := embedded.Config{Path: filepath.Join(t.TempDir(), "ledger.db"), NoSync: true, BlockMaxWait: time.Millisecond}
	if _, err := embedded.Init(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	l, err := embedded.Open(ctx, cfg, chaincode.New())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	k, err := signature.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, w: scenario.NewWorld(), host: host{l}, keys: keys{signature.Thumbprint(&k.PublicKey), k}, mux: http.NewServeMux()}
	if err := e.w.Setup(ctx, e.host); err != nil {
		t.Fatal(err)
	}
	for _, r := range paper.Routes(paper.Deps{Ledger: ledger.NewLocal(l), Keyring: e.keys, BaseURL: "https://wl.example"}) {
		e.mux.Handle(r.Method+" "+r.Path, r.Handler)
	}
	return e
}

func (e *env) get(a *auth.Actor, path string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if a != nil {
		r = r.WithContext(auth.WithActor(r.Context(), *a))
	}
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, r)
	return rec
}

func (e *env) actor(p *scenario.Party, role auth.Role) *auth.Actor {
	return &auth.Actor{Subject: "u-" + p.Org.ID[10:], Org: p.Org.ID, Role: role, MSP: p.Org.MSP}
}

// delivered runs an oil trip with a relay, with a quantity discrepancy
// flag, to processed: every section of the print view has content.
func (e *env) processed() *scenario.Trip {
	e.t.Helper()
	ctx := context.Background()
	tr := e.w.OilTrip(true)
	if err := tr.Run(ctx, e.host, manifest.StatusDelivered); err != nil {
		e.t.Fatal(err)
	}
	if err := tr.ReceiveAll(ctx, e.host, 1100, 3000); err != nil {
		e.t.Fatal(err)
	}
	if err := tr.ProcessAll(ctx, e.host, manifest.Output{Material: "再生基础油 base oil", Qty: 800, Unit: manifest.Kilogram}); err != nil {
		e.t.Fatal(err)
	}
	return tr
}

func TestQRRoutes(t *testing.T) {
	e := newEnv(t)
	tr := e.processed()
	producer := e.actor(e.w.Factory, auth.ProducerClerk)
	id := tr.ID()
	doc := tr.Doc

	rec := e.get(producer, "/api/v1/manifests/"+id+"/qr.png")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/png" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("qr.png = %d %s: %.200s", rec.Code, rec.Header(), rec.Body.String())
	}
	if _, err := png.Decode(bytes.NewReader(rec.Body.Bytes())); err != nil {
		t.Fatalf("qr.png is not a PNG: %v", err)
	}
	// An independent decoder reads it; the ticket inside names the
	// current version.
	if zbar, err := exec.LookPath("zbarimg"); err == nil {
		f := filepath.Join(t.TempDir(), "qr.png")
		if err := os.WriteFile(f, rec.Body.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(zbar, "--raw", "-q", f).Output()
		if err != nil {
			t.Fatalf("zbarimg: %v", err)
		}
		url := strings.TrimSpace(string(out))
		if !strings.HasPrefix(url, "https://wl.example/m/#t=") {
			t.Fatalf("QR holds %q", url)
		}
		tk, err := ticket.Verify(e.keys, ticket.FromURL(url), "", time.Now())
		if err != nil || tk.Manifest != id || tk.Hash != manifest.Hash(doc) || tk.Status != manifest.StatusProcessed {
			t.Fatalf("ticket in the QR = %+v, %v", tk, err)
		}
	} else if os.Getenv("WASTELEDGER_SKIP_ZBAR") != "1" {
		t.Fatal("zbarimg (zbar-tools) is missing: run scripts/install-deps.sh, or set WASTELEDGER_SKIP_ZBAR=1")
	}

	rec = e.get(producer, "/api/v1/manifests/"+id+"/qr.svg")
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "image/svg+xml") {
		t.Fatalf("qr.svg = %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	if err := xml.Unmarshal(rec.Body.Bytes(), new(struct {
		XMLName xml.Name `xml:"svg"`
	})); err != nil {
		t.Fatalf("qr.svg is not well-formed: %v", err)
	}
}

func TestPrintView(t *testing.T) {
	e := newEnv(t)
	tr := e.processed()
	m := tr.Manifest()
	rec := e.get(e.actor(e.w.HWPlant, auth.ReceiverClerk), "/api/v1/manifests/"+m.ID+"/print")
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(rec.Header().Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("print = %d %v", rec.Code, rec.Header())
	}
	html := rec.Body.String()
	want := []string{
		"危险废物转移联单", "Hazardous Waste Transfer Manifest", m.ID, "@page", "size: A4",
		"已利用/处置", "Processed", // status
		e.w.Factory.Org.Name, "黄埔厂区危废暂存间", // producer and site
		e.w.Hauler.Org.Name, e.w.Relay.Org.Name, scenario.HaulerPlate, scenario.RelayPlate, e.w.HaulerPermit.ID, // carriers
		e.w.HWPlant.Org.Name, e.w.HWLicence.ID, // receiver and licence
		"900-214-08", "HW08", "废机油", "液态", "毒性 Toxicity", "易燃性 Ignitability", "桶", "1200 kg", "336-063-17", "电镀污泥", // lines
		"应急措施", "12369", // emergency measures
		"接收 <span class=\"en\">Receipt</span>", "1100 kg", // receipt
		"利用/处置 <span class=\"en\">Processing</span>", "D10", "再生基础油 base oil 800 kg", // processing
		"数量差异", // flag: 1100 of 1200 kg is beyond 5 %
		"签名记录", "Signature trail",
		"移出人签发", "移出人交付承运人", "承运人交接（联运）", "承运人交付接受人", "接受人接收（过磅）",
		"本人设备签名 device", e.w.Factory.KID, e.w.Hauler.KID, e.w.Relay.KID, e.w.HWPlant.KID,
		"<svg", "扫码核验",
	}
	for _, s := range want {
		if !strings.Contains(html, s) {
			t.Errorf("print view lacks %q", s)
		}
	}
	for _, st := range m.Steps {
		if !strings.Contains(html, st.TxID) || !strings.Contains(html, st.Digest) {
			t.Errorf("print view lacks tx %s of step %s", st.TxID, st.Step)
		}
	}
	if strings.Count(html, "<tr class=\"step\">") != len(m.Steps) {
		t.Errorf("print view has %d step rows, manifest %d steps", strings.Count(html, "<tr class=\"step\">"), len(m.Steps))
	}
}

func TestWhoMaySee(t *testing.T) {
	e := newEnv(t)
	tr := e.w.OilTrip(false)
	if err := tr.Run(context.Background(), e.host, manifest.StatusSigned); err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/manifests/" + tr.ID() + "/print"
	tests := []struct {
		name   string
		actor  *auth.Actor
		status int
		code   string
	}{
		{"producer", e.actor(e.w.Factory, auth.ProducerClerk), 200, ""},
		{"carrier", e.actor(e.w.Hauler, auth.Driver), 200, ""},
		{"receiver", e.actor(e.w.HWPlant, auth.ReceiverClerk), 200, ""},
		{"regulator", e.actor(e.w.City, auth.Regulator), 200, ""},
		{"another carrier", e.actor(e.w.Relay, auth.Driver), 403, string(manifest.Forbidden)},
		{"another producer", e.actor(e.w.Hospital, auth.Admin), 403, string(manifest.Forbidden)},
		{"nobody", nil, 401, string(manifest.Unauthenticated)},
	}
	for _, tc := range tests {
		for _, p := range []string{path, strings.Replace(path, "/print", "/qr.png", 1), strings.Replace(path, "/print", "/qr.svg", 1)} {
			rec := e.get(tc.actor, p)
			if rec.Code != tc.status {
				t.Errorf("%s GET %s = %d, want %d", tc.name, p, rec.Code, tc.status)
			}
			if tc.code != "" && !strings.Contains(rec.Body.String(), `"code":"`+tc.code+`"`) {
				t.Errorf("%s GET %s = %s, want problem %s", tc.name, p, rec.Body.String(), tc.code)
			}
		}
	}
	if rec := e.get(e.actor(e.w.City, auth.Regulator), "/api/v1/manifests/20264401999999/qr.png"); rec.Code != 404 {
		t.Errorf("unknown manifest = %d, want 404", rec.Code)
	}
	if rec := e.get(e.actor(e.w.City, auth.Regulator), "/api/v1/manifests/not-a-number/print"); rec.Code != 400 {
		t.Errorf("malformed number = %d, want 400", rec.Code)
	}
	_ = problem.BadTicket
}
