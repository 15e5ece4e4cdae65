package mobileapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"wasteledger/gateway/ticket"
	"wasteledger/manifest"
	"wasteledger/manifest/signature"
)

// TestDriverAppInBrowser loads the driver app in headless Chromium, as a
// phone opening a QR link: the app's module loads under its CSP, fetches
// the JWKS, and checks the ticket with WebCrypto on the phone — a genuine
// ticket is shown as genuine, a tampered one as tampered.
func TestDriverAppInBrowser(t *testing.T) {
	chromium := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			chromium = p
			break
		}
	}
	if chromium == "" {
		if os.Getenv("WASTELEDGER_SKIP_BROWSER") == "1" {
			t.Skip("no chromium and WASTELEDGER_SKIP_BROWSER=1")
		}
		t.Fatal("chromium is not installed: run scripts/install-deps.sh, or set WASTELEDGER_SKIP_BROWSER=1")
	}
	e := newEnv(t)
	tr := e.trip(e.w.OilTrip(false), manifest.StatusSigned)
	jwk := map[string]any{}
	if err := json.Unmarshal(signature.MarshalPublicJWK(&e.keys.key.PublicKey), &jwk); err != nil {
		t.Fatal(err)
	}
	jwk["kid"], jwk["alg"], jwk["use"] = e.keys.kid, "ES256", "sig"
	mux := http.NewServeMux()
	mux.Handle("/m/", e.mux)
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{jwk}})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tok := ticket.FromURL(e.ticketURL(tr.ID()))
	p := strings.Split(tok, ".")
	flip := "A"
	if p[2][5] == 'A' {
		flip = "B"
	}
	tampered := p[0] + "." + p[1] + "." + p[2][:5] + flip + p[2][6:]
	for _, tc := range []struct {
		name, token string
		want        []string
	}{
		{"genuine", tok, []string{"二维码真实", tr.ID()}},
		{"tampered", tampered, []string{"二维码被篡改或伪造"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
				"--user-data-dir="+t.TempDir(), "--virtual-time-budget=10000", "--dump-dom", srv.URL+"/m/#t="+tc.token)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("chromium: %v", err)
			}
			dom := string(out)
			i := strings.Index(dom, `id="ticket-check"`)
			if i < 0 {
				t.Fatalf("no ticket check in the DOM:\n%s", dom)
			}
			for _, w := range tc.want {
				if !strings.Contains(dom, w) {
					t.Errorf("the app shows %.300s…, want %q", dom[i:], w)
				}
			}
		})
	}
}
