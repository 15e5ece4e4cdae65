package mobileapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wasteledger/chaincode"
	"wasteledger/gateway/ticket"
	"wasteledger/manifest"
	"wasteledger/manifest/jcs"
	"wasteledger/manifest/signature"
	mobileapi "wasteledger/mobile-api"
)

// TestDriverAppCrypto runs the app's own JavaScript (web/wl.mjs) under
// Node.js's WebCrypto: it checks gateway tickets offline against a JWKS
// exactly as the Go verifier does, and signs a pickup with a fresh
// non-extractable key; the key is registered for the carrier, the producer
// countersigns the very canonical bytes, and the handover commits.
func TestDriverAppCrypto(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node (Node.js ≥ 20) is not installed; scripts/install-deps.sh installs it")
	}
	e := newEnv(t)
	tr := e.trip(e.w.OilTrip(false), manifest.StatusSigned)
	driver := e.driver()
	url := e.ticketURL(tr.ID())
	scan := decode[mobileapi.ScanResult](t, e.do(&driver, http.MethodPost, "/mobile/v1/scan", mobileapi.ScanRequest{Ticket: url}), http.StatusOK)

	doc, m := e.doc(tr.ID())
	now := time.Now()
	issue := func(kr ticket.Keyring, tk ticket.Ticket) string {
		tok, err := ticket.Issue(kr, tk)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	cur := ticket.ForManifest(m, manifest.Hash(doc), "", now, time.Hour)
	expired := cur
	expired.Issued, expired.Expires = now.Add(-2*time.Hour), now.Add(-time.Hour)
	foreign := cur
	foreign.Issuer = "another-gateway"
	forger := newGatewayKeys(t)
	forger.kid = e.keys.kid
	tok := ticket.FromURL(url)
	p := strings.Split(tok, ".")
	tickets := map[string]string{
		"valid":      url,
		"bare":       tok,
		"tampered":   p[0] + "." + strings.Replace(p[1], p[1][30:31], map[bool]string{true: "A", false: "B"}[p[1][30] != 'A'], 1) + "." + p[2],
		"forged":     issue(forger, cur),
		"expired":    issue(e.keys, expired),
		"foreign":    issue(e.keys, foreign),
		"alg_none":   b64(`{"alg":"none","kid":"`+e.keys.kid+`","typ":"wl-ticket+jwt"}`) + "." + p[1] + ".",
		"unknown":    issue(newGatewayKeys(t), cur),
		"truncated":  tok[:len(tok)-2],
		"two_parts":  p[0] + "." + p[1],
		"access_jwt": b64(`{"alg":"ES256","kid":"`+e.keys.kid+`","typ":"JWT"}`) + "." + p[1] + "." + p[2],
	}
	want := map[string]string{"valid": "ok", "bare": "ok", "tampered": "bad_signature", "forged": "bad_signature", "expired": "expired",
		"foreign": "wrong_issuer", "alg_none": "bad_algorithm", "unknown": "unknown_key", "truncated": "bad_signature",
		"two_parts": "malformed", "access_jwt": "malformed"}

	jwk := map[string]any{}
	if err := json.Unmarshal(signature.MarshalPublicJWK(&e.keys.key.PublicKey), &jwk); err != nil {
		t.Fatal(err)
	}
	jwk["kid"], jwk["alg"], jwk["use"] = e.keys.kid, "ES256", "sig"
	input := map[string]any{
		"jwks": map[string]any{"keys": []any{jwk}}, "issuer": ticket.DefaultIssuer, "now": now.UnixMilli(),
		"tickets": tickets, "template": scan.Template, "from_key": e.w.Factory.KID,
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "input.json")
	if err := os.WriteFile(in, mustJSON(t, input), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join("testdata", "wl_test.mjs"), in)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		t.Fatalf("node wl_test.mjs: %v\n%s", err, stderr.String())
	}
	var out struct {
		Tickets   map[string]string          `json:"tickets"`
		Claims    map[string]json.RawMessage `json:"claims"`
		JWK       json.RawMessage            `json:"jwk"`
		KID       string                     `json:"kid"`
		Canonical string                     `json:"canonical"`
		Sig       string                     `json:"sig"`
	}
	if err := json.Unmarshal(outb, &out); err != nil {
		t.Fatalf("node output: %v: %s", err, outb)
	}
	for name, w := range want {
		if out.Tickets[name] != w {
			t.Errorf("wl.verifyTicket(%s) = %s, want %s", name, out.Tickets[name], w)
		}
		_, goErr := ticket.Verify(e.keys, ticket.FromURL(tickets[name]), "", now)
		if (goErr == nil) != (w == "ok") {
			t.Errorf("Go and JS disagree on %s: Go %v, JS %s", name, goErr, out.Tickets[name])
		}
	}
	if !strings.Contains(string(out.Claims["valid"]), `"manifest":"`+tr.ID()+`"`) {
		t.Errorf("JS claims = %s", out.Claims["valid"])
	}

	// The JS canonical form is Go's, byte for byte.
	canon, err := jcs.Canonicalize([]byte(out.Canonical))
	if err != nil || string(canon) != out.Canonical {
		t.Fatalf("JS canonical form is not RFC 8785:\n JS %s\n Go %s (%v)", out.Canonical, canon, err)
	}
	pub, err := signature.ParsePublicJWK(out.JWK)
	if err != nil || signature.Thumbprint(pub) != out.KID {
		t.Fatalf("JS key %s: %v (thumbprint %s)", out.JWK, err, out.KID)
	}
	if err := signature.Verify(pub, []byte(out.Canonical), out.Sig); err != nil {
		t.Fatalf("JS signature does not verify in Go: %v", err)
	}

	// Register the phone's key for the carrier, the producer signs the same
	// bytes on its own device, and the driver submits.
	reg, _ := json.Marshal(chaincode.KeyRegistration{Org: e.w.Hauler.Org.ID, Holder: "phone-li", Kind: manifest.Device, JWK: out.JWK})
	if _, err := e.emb.Submit(context.Background(), e.w.Hauler.Caller(), "RegisterKey", reg); err != nil {
		t.Fatal(err)
	}
	prodSig, err := signature.Sign(nil, e.w.Factory.Key, []byte(out.Canonical))
	if err != nil {
		t.Fatal(err)
	}
	signed := manifest.Signed{Statement: json.RawMessage(out.Canonical), Signatures: []manifest.Signature{{Key: e.w.Factory.KID, Sig: prodSig}, {Key: out.KID, Sig: out.Sig}}}
	var st manifest.Statement
	_ = json.Unmarshal([]byte(out.Canonical), &st)
	res := decode[mobileapi.Result](t, e.do(&driver, http.MethodPost, "/mobile/v1/handovers", mobileapi.HandoverRequest{Signed: signed, DeviceTime: st.Time}), http.StatusCreated)
	_, after := e.doc(tr.ID())
	if res.Manifest.Status != manifest.StatusInTransit || after.Steps[len(after.Steps)-1].Statement != out.Canonical {
		t.Errorf("after the JS-signed pickup: %+v", res)
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
