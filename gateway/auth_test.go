package gateway_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"wasteledger/gateway"
	"wasteledger/manifest"
)

func TestSignInRefreshAndAPIKeys(t *testing.T) {
	e := newEnv(t, gateway.Config{})
	c := e.cast()
	org := c.w.Factory.Org.ID
	admin := c.admins[org]

	// Sign in: wrong passwords and unknown users answer alike.
	for _, body := range []map[string]string{
		{"username": "factory-clerk", "password": "wrong password!"},
		{"username": "nobody-here", "password": "correct horse battery"},
	} {
		r := e.do("POST", "/api/v1/auth/token", "", body)
		if p := r.problem(t); r.status != 401 || p.Code != "unauthenticated" {
			t.Fatalf("sign-in %v = %d %s, want 401", body, r.status, p.Code)
		}
	}
	// Tokens are never stored for replay, even under an Idempotency-Key.
	creds := map[string]string{"username": "factory-clerk", "password": "correct horse battery"}
	r1 := e.do("POST", "/api/v1/auth/token", "", creds, "Idempotency-Key", "login-1")
	r2 := e.do("POST", "/api/v1/auth/token", "", creds, "Idempotency-Key", "login-1")
	if r1.status != 200 || r2.status != 200 || r2.header.Get("Idempotent-Replayed") != "" || string(r1.body) == string(r2.body) {
		t.Fatalf("sign-ins under one Idempotency-Key = %d, %d (replayed %q): a token response must not be stored", r1.status, r2.status, r2.header.Get("Idempotent-Replayed"))
	}
	var tr gateway.TokenResponse
	e.must(200, "POST", "/api/v1/auth/token", "", creds, &tr)
	if tr.TokenType != "Bearer" || tr.ExpiresIn < 890 || tr.ExpiresIn > 900 || !strings.HasPrefix(tr.RefreshToken, "wlr_") || tr.Actor.Org != org {
		t.Fatalf("token response = %+v", tr)
	}

	// Refresh rotates; the old refresh token replayed revokes the session.
	var tr2 gateway.TokenResponse
	e.must(200, "POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": tr.RefreshToken}, &tr2)
	if tr2.RefreshToken == tr.RefreshToken || tr2.AccessToken == "" {
		t.Fatalf("refresh did not rotate: %+v", tr2)
	}
	if r := e.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": tr.RefreshToken}); r.status != 401 {
		t.Fatalf("replayed refresh token = %d, want 401", r.status)
	}
	if r := e.do("POST", "/api/v1/auth/refresh", "", map[string]string{"refresh_token": tr2.RefreshToken}); r.status != 401 {
		t.Fatalf("refresh token of a revoked session = %d, want 401", r.status)
	}

	// A disabled user cannot sign in.
	e.must(201, "POST", "/api/v1/orgs/"+org+"/users", admin.token, map[string]any{"username": "temp-clerk", "role": "producer_clerk", "password": "correct horse battery"}, nil)
	e.must(204, "DELETE", "/api/v1/orgs/"+org+"/users/temp-clerk", admin.token, nil, nil)
	if r := e.do("POST", "/api/v1/auth/token", "", map[string]string{"username": "temp-clerk", "password": "correct horse battery"}); r.status != 401 {
		t.Fatalf("disabled user's sign-in = %d, want 401", r.status)
	}
	// A user of a role the organisation cannot have.
	if r := e.do("POST", "/api/v1/orgs/"+org+"/users", admin.token, map[string]any{"username": "not-a-driver", "role": "driver"}); r.status != 422 {
		t.Fatalf("a driver of a producer = %d %s, want 422", r.status, r.body)
	}
	// A generated password is returned once, and works.
	var u gateway.UserView
	e.must(201, "POST", "/api/v1/orgs/"+org+"/users", admin.token, map[string]any{"username": "gen-clerk", "role": "producer_clerk"}, &u)
	if len(u.Password) < 12 {
		t.Fatalf("generated password %q", u.Password)
	}
	e.login("gen-clerk", u.Password)

	// API keys: bound to the organisation and role; revoked at once.
	var k gateway.APIKeyView
	e.must(201, "POST", "/api/v1/orgs/"+org+"/api-keys", admin.token, map[string]string{"name": "ERP", "role": "producer_clerk"}, &k)
	if !strings.HasPrefix(k.Key, "wlk_") {
		t.Fatalf("api key = %q", k.Key)
	}
	var me gateway.ActorView
	r := e.do("GET", "/api/v1/me", "", nil, "X-API-Key", k.Key)
	r.json(t, &me)
	if r.status != 200 || me.Org != org || me.Role != "producer_clerk" || !me.APIKey {
		t.Fatalf("me with the API key = %d %+v", r.status, me)
	}
	id := e.create(&user{token: k.Key}, c.w.OilTrip(false).Draft)
	if !strings.HasPrefix(id, "2") {
		t.Fatalf("create with an API key = %q", id)
	}
	var list struct {
		Items []gateway.APIKeyView `json:"items"`
	}
	e.must(200, "GET", "/api/v1/orgs/"+org+"/api-keys", admin.token, nil, &list)
	if len(list.Items) != 1 || list.Items[0].Key != "" {
		t.Fatalf("listed keys = %+v, want one, without its secret", list.Items)
	}
	e.must(204, "DELETE", "/api/v1/orgs/"+org+"/api-keys/"+k.ID, admin.token, nil, nil)
	if r := e.do("GET", "/api/v1/me", k.Key, nil); r.status != 401 {
		t.Fatalf("revoked API key = %d, want 401", r.status)
	}

	// JWKS and rotation: tokens issued before a rotation keep working.
	var set struct {
		Keys []struct{ KID, Alg string } `json:"keys"`
	}
	e.must(200, "GET", "/.well-known/jwks.json", "", nil, &set)
	if len(set.Keys) != 1 || set.Keys[0].Alg != "ES256" {
		t.Fatalf("jwks = %+v", set)
	}
	if r := e.do("POST", "/api/v1/admin/keyring/rotate", admin.token, nil); r.status != 403 {
		t.Fatalf("a producer's admin rotates = %d, want 403", r.status)
	}
	e.must(200, "POST", "/api/v1/admin/keyring/rotate", e.admin.token, nil, nil)
	e.must(200, "GET", "/.well-known/jwks.json", "", nil, &set)
	if len(set.Keys) != 2 {
		t.Fatalf("jwks after rotation = %+v, want 2 keys", set)
	}
	e.must(200, "GET", "/api/v1/me", tr.AccessToken, nil, nil)
}

func TestSignByCodeGuessLimit(t *testing.T) {
	e := newEnv(t, gateway.Config{})
	c := e.cast()
	w := c.w
	id := e.create(c.hospital, w.MedicalTrip(time.Hour).Draft)
	e.step(c.hospital, id, manifest.StepSign, nil, c.hospital)

	// No custodial key yet: no code.
	if r := e.do("POST", "/api/v1/manifests/"+id+"/sign-codes", c.hospital.token, nil); r.status != 422 {
		t.Fatalf("sign code without a custodial key = %d %s, want 422", r.status, r.body)
	}
	var ck manifest.Key
	e.must(201, "POST", "/api/v1/orgs/"+w.Hospital.Org.ID+"/custodial-key", c.admins[w.Hospital.Org.ID].token, nil, &ck)
	if r := e.do("POST", "/api/v1/orgs/"+w.Hospital.Org.ID+"/custodial-key", c.admins[w.Hospital.Org.ID].token, nil); r.status != 409 {
		t.Fatalf("second custodial key = %d, want 409", r.status)
	}
	// Only the producer issues codes.
	if r := e.do("POST", "/api/v1/manifests/"+id+"/sign-codes", c.medical.token, nil); r.status != 403 {
		t.Fatalf("a driver issues a code = %d, want 403", r.status)
	}
	var code gateway.SignCode
	e.must(201, "POST", "/api/v1/manifests/"+id+"/sign-codes", c.hospital.token, nil, &code)
	tpl := e.template(c.medical, id, manifest.StepPickup, &user{kid: ck.ID}, c.medical)
	wrong := "000000"
	if code.Code == wrong {
		wrong = "000001"
	}
	for i := 1; i <= 5; i++ {
		r := e.do("POST", "/api/v1/manifests/"+id+"/countersign", c.medical.token, map[string]any{"code": wrong, "statement": tpl.Statement})
		p := r.problem(t)
		if r.status != 403 || p.Field != "code" {
			t.Fatalf("wrong guess %d = %d %+v, want 403 on code", i, r.status, p)
		}
	}
	// Burnt: even the right code fails now.
	r := e.do("POST", "/api/v1/manifests/"+id+"/countersign", c.medical.token, map[string]any{"code": code.Code, "statement": tpl.Statement})
	if r.status != 403 {
		t.Fatalf("right code after 5 wrong guesses = %d %s, want 403 (burnt)", r.status, r.body)
	}
	// A new code works, but only for the statement naming the custodial key.
	e.must(201, "POST", "/api/v1/manifests/"+id+"/sign-codes", c.hospital.token, map[string]string{"step": "pickup"}, &code)
	other := e.template(c.medical, id, manifest.StepPickup, c.hospital, c.medical)
	if r := e.do("POST", "/api/v1/manifests/"+id+"/countersign", c.medical.token, map[string]any{"code": code.Code, "statement": other.Statement}); r.status != 403 {
		t.Fatalf("countersign a statement naming the clerk's device key = %d, want 403", r.status)
	}
	var sig map[string]string
	e.must(200, "POST", "/api/v1/manifests/"+id+"/countersign", c.medical.token, map[string]any{"code": code.Code, "statement": tpl.Statement}, &sig)
	if sig["kid"] != ck.ID || len(sig["sig"]) != 86 {
		t.Fatalf("countersignature = %v", sig)
	}
}

func TestIdempotentConcurrentRetries(t *testing.T) {
	e := newEnv(t, gateway.Config{})
	c := e.cast()
	draft := c.w.FlyAshTrip(5000).Draft
	var wg sync.WaitGroup
	results := make([]response, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.do("POST", "/api/v1/manifests", c.incinerator.token, draft, "Idempotency-Key", "same-key")
		}()
	}
	wg.Wait()
	ids := map[string]bool{}
	for _, r := range results {
		switch r.status {
		case 201:
			var out struct{ ID string }
			json.Unmarshal(r.body, &out)
			ids[out.ID] = true
		case 409:
			if p := r.problem(t); p.Code != "conflict" {
				t.Fatalf("in-progress retry = %s", p.Code)
			}
		default:
			t.Fatalf("retry = %d %s", r.status, r.body)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("8 retries with one key created %d manifests, want 1", len(ids))
	}
}

func TestMetricsAndHealth(t *testing.T) {
	e := newEnv(t, gateway.Config{})
	e.must(200, "GET", "/healthz", "", nil, nil)
	var ready map[string]any
	deadline := time.Now().Add(3 * time.Second)
	for {
		r := e.do("GET", "/readyz", "", nil)
		if r.status == 200 || time.Now().After(deadline) {
			r.json(t, &ready)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ready["status"] != "ready" {
		t.Fatalf("readyz = %v", ready)
	}
	e.do("GET", "/api/v1/manifests/20264401000001", e.admin.token, nil)
	r := e.do("GET", "/metrics", "", nil)
	body := string(r.body)
	for _, want := range []string{
		`wasteledger_http_requests_total{route="/api/v1/manifests/{id}",method="GET",status="404"} 1`,
		`wasteledger_http_request_duration_seconds_bucket{route="/api/v1/manifests/{id}",method="GET",status="404",le="+Inf"} 1`,
		`wasteledger_ledger_submit_duration_seconds_count{function="RegisterOrg",code="ok"} 1`,
		"# TYPE wasteledger_index_lag_events gauge",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("metrics Content-Type = %q", ct)
	}
}

func TestCatalog(t *testing.T) {
	e := newEnv(t, gateway.Config{})
	var list struct {
		Items []gateway.WasteView `json:"items"`
	}
	for _, tc := range []struct{ q, want string }{
		{"q=900-214-08", "900-214-08"},
		{"q=" + "废矿物油", "900-214-08"},
		{"q=mineral+oil&limit=500", "900-214-08"},
		{"category=HW01", "841-001-01"},
		{"q=EV", "EV-BATTERY"},
	} {
		e.must(200, "GET", "/api/v1/catalog/wastes?"+tc.q, "", nil, &list)
		found := false
		for _, w := range list.Items {
			found = found || w.Code == tc.want
		}
		if !found {
			t.Errorf("search %s: %d items without %s", tc.q, len(list.Items), tc.want)
		}
	}
	var one gateway.WasteView
	e.must(200, "GET", "/api/v1/catalog/wastes/772-002-18", "", nil, &one)
	if one.Stream != "fly_ash" || len(one.Methods) == 0 {
		t.Fatalf("fly ash entry = %+v", one)
	}
	if r := e.do("GET", "/api/v1/catalog/wastes?colour=red", "", nil); r.status != 400 {
		t.Fatalf("unknown parameter = %d, want 400", r.status)
	}
}
