package gateway_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"wasteledger/chaincode/scenario"
	"wasteledger/gateway"
	"wasteledger/gateway/auth"
	"wasteledger/gateway/ticket"
	"wasteledger/manifest"
	"wasteledger/manifest/signature"
)

// TestBadInput sends every kind of bad request the issue lists to the
// endpoints they concern. Each must answer problem+json with its stable
// code, and leave the ledger exactly as it was.
func TestBadInput(t *testing.T) {
	e := newEnv(t, gateway.Config{})
	c := e.cast()
	w := c.w

	// Manifests in known states.
	draft := e.create(c.factory, w.OilTrip(false).Draft)
	signed := e.create(c.factory, w.OilTrip(false).Draft)
	e.step(c.factory, signed, manifest.StepSign, nil, c.factory)
	signDoc, _ := e.manifestOf(c.factory, signed)
	signStatement := signDoc.Steps[0].Statement

	// A plant licensed for 1 t a year, with a 1.2 t delivery waiting for
	// its receipt: accepting it would exceed the licence's capacity.
	small := scenario.NewParty("东莞小型危废处置有限公司", "441900", scenario.ReceiverMSP, manifest.Receiver)
	e.must(201, "POST", "/api/v1/orgs", e.admin.token, small.Org, nil)
	smallLicence := manifest.Permit{ID: "GD-HW-SMALL-" + small.Org.ID[10:17], Kind: manifest.HWLicence, Org: small.Org.ID,
		ValidFrom: "2024-01-01", ValidTo: "2028-12-31", Codes: []string{"HW08", "HW17"}, CapacityT: 1, Methods: []string{"D10"}}
	e.must(201, "POST", "/api/v1/permits", e.admin.token, smallLicence, nil)
	e.must(201, "POST", "/api/v1/orgs/"+small.Org.ID+"/users", e.admin.token, map[string]any{"username": "small-admin", "role": "admin", "password": "correct horse battery"}, nil)
	smallClerk := e.addUser(e.login("small-admin", "correct horse battery"), small.Org.ID, "small-clerk", auth.ReceiverClerk)
	big := w.OilTrip(false).Draft
	big.Receiver, big.ReceiverPermit = small.Org.ID, smallLicence.ID
	delivered := e.create(c.factory, big)
	e.step(c.factory, delivered, manifest.StepSign, nil, c.factory)
	e.step(c.hauler, delivered, manifest.StepPickup, nil, c.factory, c.hauler)
	e.step(smallClerk, delivered, manifest.StepDelivery, nil, c.hauler, smallClerk)

	// An idempotent write whose key a later, different request reuses.
	idem := "order-4711"
	if r := e.do("POST", "/api/v1/manifests", c.factory.token, w.OilTrip(false).Draft, "Idempotency-Key", idem); r.status != 201 {
		t.Fatalf("idempotent create = %d %s", r.status, r.body)
	}

	// Statements.
	pickupTpl := e.template(c.hauler, signed, manifest.StepPickup, c.factory, c.hauler)
	goodPickup := sign(t, pickupTpl.Statement, c.factory, c.hauler)
	forged := func() []byte {
		var env manifest.Signed
		json.Unmarshal(goodPickup, &env)
		sig := []byte(env.Signatures[1].Sig)
		if sig[10] == 'A' {
			sig[10] = 'B'
		} else {
			sig[10] = 'A'
		}
		env.Signatures[1].Sig = string(sig)
		b, _ := json.Marshal(env)
		return b
	}()
	transplanted := func() []byte {
		// The parties' signatures over one statement, replayed on another.
		var env manifest.Signed
		json.Unmarshal(goodPickup, &env)
		st := pickupTpl.Statement
		st.Vehicle = scenario.HaulerPlate2
		var other manifest.Signed
		json.Unmarshal(sign(t, st, c.factory, c.hauler), &other)
		other.Signatures = env.Signatures
		b, _ := json.Marshal(other)
		return b
	}()
	stranger := &user{}
	stranger.key, _ = signature.GenerateKey(rand.Reader)
	stranger.kid = signature.Thumbprint(&stranger.key.PublicKey)
	unregistered := func() []byte {
		st := pickupTpl.Statement
		st.To.Key = stranger.kid
		return sign(t, st, c.factory, stranger)
	}()
	stale := func() []byte {
		st := pickupTpl.Statement
		st.Prev = manifest.Hash([]byte("an older version"))
		return sign(t, st, c.factory, c.hauler)
	}()
	resign := func() []byte { // a second producer signature on a signed manifest
		st := e.template(c.factory, draft, manifest.StepSign, c.factory).Statement
		st.Manifest = signed
		st.Prev = pickupTpl.Prev
		return sign(t, st, c.factory)
	}()
	hospitalSigns := func() []byte { // another producer signs the factory's draft
		st := e.template(c.factory, draft, manifest.StepSign, c.hospital).Statement
		st.From.Org = w.Hospital.Org.ID
		return sign(t, st, c.hospital)
	}()
	wrongCarrier := func() []byte { // a carrier not on the manifest takes the load
		st := pickupTpl.Statement
		st.To = &manifest.Party{Org: w.Medical.Org.ID, Key: c.medical.kid}
		return sign(t, st, c.factory, c.medical)
	}()
	receiveTooMuch := sign(t, e.template(smallClerk, delivered, manifest.StepReceive, smallClerk).Statement, smallClerk)

	// Tokens.
	expired := func() string {
		kid, key := e.keys.Signing()
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, auth.Claims{
			RegisteredClaims: jwt.RegisteredClaims{Issuer: "wasteledger", Subject: c.factory.name, Audience: jwt.ClaimStrings{"wasteledger-api"},
				ExpiresAt: jwt.NewNumericDate(time.Now().Add(-time.Minute)), IssuedAt: jwt.NewNumericDate(time.Now().Add(-16 * time.Minute))},
			Org: c.factory.org, Role: auth.ProducerClerk, MSP: scenario.ProducerMSP})
		tok.Header["kid"] = kid
		s, _ := tok.SignedString(key)
		return s
	}()
	algNone := func() string {
		enc := base64.RawURLEncoding.EncodeToString
		h := enc([]byte(`{"alg":"none","typ":"JWT"}`))
		p := enc([]byte(`{"iss":"wasteledger","aud":"wasteledger-api","sub":"x","org":"` + c.factory.org + `","role":"admin","msp":"ProducerMSP","exp":` + "9999999999" + `,"iat":1}`))
		return h + "." + p + "."
	}()

	// Tickets.
	tk, _ := ticket.Issue(e.keys, ticket.ForManifest(&signDoc, manifest.Hash([]byte("x")), "", time.Now(), time.Hour))
	tampered := tk[:len(tk)-5] + strings.Repeat("A", 5)
	expiredTicket, _ := ticket.Issue(e.keys, ticket.ForManifest(&signDoc, manifest.Hash([]byte("x")), "", time.Now().Add(-48*time.Hour), time.Hour))

	draftJSON, _ := json.Marshal(w.OilTrip(false).Draft)
	withField := strings.Replace(string(draftJSON), `{"producer"`, `{"colour":"red","producer"`, 1)
	flyAshToOilPlant := w.FlyAshTrip(10_000).Draft
	flyAshToOilPlant.Receiver, flyAshToOilPlant.ReceiverPermit = w.HWPlant.Org.ID, w.HWLicence.ID
	unregisteredPlate := w.OilTrip(false).Draft
	unregisteredPlate.Legs[0].Plates = []string{"粤A99999"}
	tooHeavy := w.OilTrip(false).Draft
	tooHeavy.Lines[0].Qty = 250_000
	otherProducer := w.MedicalTrip(time.Hour).Draft

	m := "/api/v1/manifests/"
	cases := []struct {
		name    string
		token   string
		method  string
		path    string
		body    any
		headers []string
		status  int
		code    string
	}{
		{"malformed JSON", c.factory.token, "POST", "/api/v1/manifests", `{"producer":`, nil, 400, "bad_request"},
		{"unknown field", c.factory.token, "POST", "/api/v1/manifests", withField, nil, 400, "bad_request"},
		{"wrong type", c.factory.token, "POST", "/api/v1/manifests", `{"producer":42}`, nil, 400, "bad_request"},
		{"trailing data", c.factory.token, "POST", "/api/v1/manifests", string(draftJSON) + "{}", nil, 400, "bad_request"},
		{"not JSON", c.factory.token, "POST", "/api/v1/manifests", string(draftJSON), []string{"Content-Type", "text/plain"}, 400, "bad_request"},
		{"oversized body", c.factory.token, "POST", "/api/v1/manifests", `{"emergency":"` + strings.Repeat("x", 2<<20) + `"}`, nil, 413, "payload_too_large"},
		{"oversized statement", c.hauler.token, "POST", m + signed + "/handover", `{"statement":"` + strings.Repeat("x", 100<<10) + `"}`, nil, 413, "payload_too_large"},
		{"invalid statement", c.hauler.token, "POST", m + signed + "/handover", `{"statement":{"v":1},"signatures":[]}`, nil, 400, "invalid"},
		{"statement for another manifest", c.hauler.token, "POST", m + draft + "/handover", goodPickup, nil, 400, "invalid"},
		{"no credentials", "", "POST", "/api/v1/manifests", w.OilTrip(false).Draft, nil, 401, "unauthenticated"},
		{"no credentials, read", "", "GET", m + signed, nil, nil, 401, "unauthenticated"},
		{"garbage token", "abc.def.ghi", "GET", m + signed, nil, nil, 401, "unauthenticated"},
		{"expired token", expired, "GET", m + signed, nil, nil, 401, "unauthenticated"},
		{"alg none", algNone, "GET", m + signed, nil, nil, 401, "unauthenticated"},
		{"QR ticket as a token", tk, "GET", m + signed, nil, nil, 401, "unauthenticated"},
		{"unknown API key", "wlk_nope_nope", "GET", m + signed, nil, nil, 401, "unauthenticated"},
		{"driver creates", c.hauler.token, "POST", "/api/v1/manifests", w.OilTrip(false).Draft, nil, 403, "forbidden"},
		{"clerk registers an org", c.factory.token, "POST", "/api/v1/orgs", small.Org, nil, 403, "forbidden"},
		{"receiver signs for producer", c.hwplant.token, "POST", m + draft + "/sign", hospitalSigns, nil, 403, "forbidden"},
		{"creates for another producer", c.factory.token, "POST", "/api/v1/manifests", otherProducer, nil, 403, "forbidden"},
		{"party not on manifest reads", c.hospital.token, "GET", m + signed, nil, nil, 403, "forbidden"},
		{"party not on manifest signs", c.hospital.token, "POST", m + draft + "/sign", hospitalSigns, nil, 403, "forbidden"},
		{"carrier not on manifest", c.medical.token, "POST", m + signed + "/handover", wrongCarrier, nil, 403, "forbidden"},
		{"admin of another org adds users", c.admins[w.Hospital.Org.ID].token, "POST", "/api/v1/orgs/" + w.Factory.Org.ID + "/users", map[string]any{"username": "intruder", "role": "producer_clerk"}, nil, 403, "forbidden"},
		{"wrong state: signed twice", c.factory.token, "POST", m + signed + "/sign", resign, nil, 409, "conflict"},
		{"wrong state: template", c.hwplant.token, "GET", m + signed + "/statements/receive", nil, nil, 409, "conflict"},
		{"stale statement", c.hauler.token, "POST", m + signed + "/handover", stale, nil, 409, "conflict"},
		{"licence does not cover the code", c.incinerator.token, "POST", "/api/v1/manifests", flyAshToOilPlant, nil, 422, "rule_violation"},
		{"vehicle not on the permit", c.factory.token, "POST", "/api/v1/manifests", unregisteredPlate, nil, 422, "rule_violation"},
		{"line over the bound", c.factory.token, "POST", "/api/v1/manifests", tooHeavy, nil, 422, "rule_violation"},
		{"over the licence's capacity", smallClerk.token, "POST", m + delivered + "/receive", receiveTooMuch, nil, 422, "rule_violation"},
		{"forged signature", c.hauler.token, "POST", m + signed + "/handover", forged, nil, 422, "bad_signature"},
		{"signatures replayed on another statement", c.hauler.token, "POST", m + signed + "/handover", transplanted, nil, 422, "bad_signature"},
		{"recorded statement, other signature", c.factory.token, "POST", m + signed + "/sign", func() []byte {
			sig := []byte(signDoc.Steps[0].Signatures[0].Sig)
			sig[0] ^= 1
			b, _ := json.Marshal(manifest.Signed{Statement: json.RawMessage(signStatement), Signatures: []manifest.Signature{{Key: c.factory.kid, Sig: string(sig)}}})
			return b
		}(), nil, 409, "conflict"},
		{"unregistered key", c.factory.token, "POST", m + signed + "/handover", unregistered, nil, 422, "bad_signature"},
		{"idempotency key reused", c.factory.token, "POST", "/api/v1/manifests", w.FlyAshTrip(1000).Draft, []string{"Idempotency-Key", idem}, 422, "idempotency_key_reused"},
		{"tampered ticket", c.hauler.token, "POST", "/mobile/v1/scan", map[string]string{"ticket": tampered}, nil, 422, "bad_ticket"},
		{"expired ticket", c.hauler.token, "POST", "/mobile/v1/scan", map[string]string{"ticket": expiredTicket}, nil, 422, "bad_ticket"},
		{"wrong sign code", c.hauler.token, "POST", m + signed + "/countersign", map[string]any{"code": "000000", "statement": pickupTpl.Statement}, nil, 403, "forbidden"},
		{"no such manifest", c.factory.token, "GET", m + "20264401999999", nil, nil, 404, "not_found"},
		{"no such route", c.factory.token, "GET", "/api/v1/nothing", nil, nil, 404, "not_found"},
		{"method not allowed", c.factory.token, "PATCH", "/api/v1/manifests", nil, nil, 405, "method_not_allowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			before := e.height()
			beforeDoc, beforeHash := e.manifestOf(c.factory, signed)
			r := e.do(tc.method, tc.path, tc.token, tc.body, tc.headers...)
			p := r.problem(t)
			if r.status != tc.status || p.Code != tc.code || p.Status != tc.status {
				t.Fatalf("%s %s = %d %s (%s), want %d %s", tc.method, tc.path, r.status, p.Code, p.Detail, tc.status, tc.code)
			}
			if p.Type != "https://wasteledger.example/problems/"+tc.code || p.Title == "" {
				t.Errorf("problem = %+v, want type …/%s and a title", p, tc.code)
			}
			if tc.status == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
			time.Sleep(5 * time.Millisecond) // a block would have closed by now
			if after := e.height(); after != before {
				t.Fatalf("ledger height %d → %d: the bad request changed the ledger", before, after)
			}
			if doc, hash := e.manifestOf(c.factory, signed); hash != beforeHash || doc.Version != beforeDoc.Version {
				t.Fatalf("manifest %s changed: version %d → %d", signed, beforeDoc.Version, doc.Version)
			}
		})
	}

	// Replaying a statement already recorded changes nothing and answers
	// with the recorded result, with or without an Idempotency-Key.
	t.Run("replayed statement", func(t *testing.T) {
		e := e.with(t)
		before := e.height()
		body, _ := json.Marshal(manifest.Signed{Statement: json.RawMessage(signStatement), Signatures: []manifest.Signature{{Key: c.factory.kid, Sig: signDoc.Steps[0].Signatures[0].Sig}}})
		var res gateway.StepResult
		e.must(200, "POST", m+signed+"/sign", c.factory.token, body, &res)
		if !res.Replayed || res.TxID != signDoc.Steps[0].TxID {
			t.Fatalf("replay = %+v, want replayed of tx %s", res, signDoc.Steps[0].TxID)
		}
		if after := e.height(); after != before {
			t.Fatalf("ledger height %d → %d after a replay", before, after)
		}
	})

	// An Idempotency-Key retry of a committed step replays its response and
	// commits nothing more.
	t.Run("idempotent retry", func(t *testing.T) {
		e := e.with(t)
		first := e.do("POST", m+signed+"/handover", c.hauler.token, goodPickup, "Idempotency-Key", "pickup-1")
		if first.status != 200 {
			t.Fatalf("pickup = %d %s", first.status, first.body)
		}
		before := e.height()
		again := e.do("POST", m+signed+"/handover", c.hauler.token, goodPickup, "Idempotency-Key", "pickup-1")
		if again.status != 200 || string(again.body) != string(first.body) || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry = %d %s (replayed %q), want the first response", again.status, again.body, again.header.Get("Idempotent-Replayed"))
		}
		if after := e.height(); after != before {
			t.Fatalf("ledger height %d → %d after a retry", before, after)
		}
	})
}

// TestRateLimit: a client over its budget gets 429 with Retry-After, per
// client: another client is unaffected.
func TestRateLimit(t *testing.T) {
	e := newEnv(t, gateway.Config{RateLimit: 1, RateBurst: 3})
	for i := 0; i < 3; i++ {
		e.must(200, "GET", "/api/v1/me", e.admin.token, nil, nil)
	}
	before := e.height()
	r := e.do("POST", "/api/v1/orgs", e.admin.token, scenario.NewParty("x", "440100", scenario.ProducerMSP, manifest.Producer).Org)
	p := r.problem(t)
	if r.status != 429 || p.Code != "rate_limited" || r.header.Get("Retry-After") == "" {
		t.Fatalf("4th request = %d %s (Retry-After %q), want 429 rate_limited", r.status, p.Code, r.header.Get("Retry-After"))
	}
	if e.height() != before {
		t.Fatal("a refused request changed the ledger")
	}
	// Anonymous clients are limited per address, apart from the admin.
	if r := e.do("GET", "/api/v1/catalog/wastes?q=HW08", "", nil); r.status != 200 {
		t.Fatalf("another client = %d, want 200", r.status)
	}
}
