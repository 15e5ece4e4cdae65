package gateway_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wasteledger/chaincode"
	"wasteledger/chaincode/scenario"
	"wasteledger/gateway"
	"wasteledger/gateway/auth"
	"wasteledger/gateway/httpx"
	"wasteledger/gateway/index"
	"wasteledger/gateway/ledger"
	"wasteledger/gateway/paper"
	"wasteledger/gateway/problem"
	"wasteledger/gateway/reconcile"
	"wasteledger/gateway/store"
	"wasteledger/manifest"
	"wasteledger/manifest/jcs"
	"wasteledger/manifest/signature"
	mobileapi "wasteledger/mobile-api"
)

// env is a gateway on a fresh embedded ledger, served over HTTP on
// loopback, with the driver API and the paper routes wired as serve wires
// them, and the bootstrap regulator's administrator signed in.
type env struct {
	t      *testing.T
	srv    *gateway.Server
	ts     *httptest.Server
	ledger *ledger.Local
	store  *store.Store
	keys   *auth.Keyring
	admin  *user // the bootstrap regulator's administrator
	regOrg string
}

// user is a signed-in person with, for signers, their own device key.
type user struct {
	name, org, token string
	role             auth.Role
	key              *ecdsa.PrivateKey
	kid              string
}

func newEnv(t *testing.T, cfg gateway.Config) *env {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	l, err := ledger.OpenLocal(ctx, ledger.LocalConfig{Path: filepath.Join(dir, "ledger.db"), NoSync: true, BlockMaxWait: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, store.Config{Path: filepath.Join(dir, "gateway.db")})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auth.OpenKeyring(filepath.Join(dir, "jwt-keys.json"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = -1
	}
	// The off-chain index follows the ledger, as serve runs it.
	ix, err := index.Open(ctx, index.Config{Path: filepath.Join(dir, "index.db")})
	if err != nil {
		t.Fatal(err)
	}
	fctx, stop := context.WithCancel(ctx)
	followed := make(chan struct{})
	go func() { ix.Follow(fctx, l); close(followed) }()
	srv, err := gateway.New(cfg, gateway.Deps{Ledger: l, Store: st, Keyring: keys, Index: ix})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, srv: srv, ledger: l, store: st, keys: keys}
	srv.AddRoutes(otherRoutes(srv, l, ix, keys, "http://127.0.0.1")...)
	e.ts = httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		e.ts.Close()
		srv.Close()
		stop()
		<-followed
		ix.Close()
		st.Close()
		l.Close()
	})
	cred, err := srv.Bootstrap(ctx, gateway.Bootstrap{})
	if err != nil || cred == nil {
		t.Fatalf("Bootstrap() = %v, %v", cred, err)
	}
	e.regOrg = cred.Org
	e.admin = e.login(cred.Username, cred.Password)
	return e
}

// otherRoutes are the other packages' routes, wired as cmd/wasteledger
// wires them.
func otherRoutes(srv *gateway.Server, l *ledger.Local, ix *index.Index, keys *auth.Keyring, base string) [][]httpx.Route {
	return [][]httpx.Route{
		reconcile.Routes(reconcile.Deps{Index: ix, Ledger: l, Caller: chaincode.Caller{MSP: scenario.RegulatorMSP, ID: "gateway"}, Prover: l.Embedded(), Sign: srv.SignAsOrg}),
		mobileapi.Routes(mobileapi.Deps{Ledger: l, Keyring: keys, Countersign: srv.Countersign, CodeKey: srv.CodeKey, BaseURL: base}),
		paper.Routes(paper.Deps{Ledger: l, Keyring: keys, BaseURL: base}),
	}
}

// height is the ledger's block height: unchanged means nothing was written.
func (e *env) height() uint64 { return e.ledger.Embedded().Height() }

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %d response %q: %v", r.status, r.body, err)
	}
}

func (r response) problem(t *testing.T) problem.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json (status %d, body %s)", ct, r.status, r.body)
	}
	var p problem.Problem
	r.json(t, &p)
	return p
}

// do sends a request; body is marshalled unless it is []byte or string.
func (e *env) do(method, path, token string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// must sends a request and fails the test unless the status is want.
func (e *env) must(want int, method, path, token string, body any, out any) response {
	e.t.Helper()
	r := e.do(method, path, token, body)
	if r.status != want {
		e.t.Fatalf("%s %s = %d %s, want %d", method, path, r.status, r.body, want)
	}
	if out != nil {
		r.json(e.t, out)
	}
	return r
}

func (e *env) login(name, password string) *user {
	e.t.Helper()
	var tr gateway.TokenResponse
	e.must(200, "POST", "/api/v1/auth/token", "", map[string]string{"username": name, "password": password}, &tr)
	return &user{name: name, org: tr.Actor.Org, role: tr.Actor.Role, token: tr.AccessToken}
}

// addUser creates a user of org as admin, signs them in, and — for roles
// that sign — gives them a fresh P-256 key registered through the API by
// admin.
func (e *env) addUser(admin *user, org, name string, role auth.Role) *user {
	e.t.Helper()
	const pw = "correct horse battery"
	e.must(201, "POST", "/api/v1/orgs/"+org+"/users", admin.token, map[string]any{"username": name, "role": role, "password": pw}, nil)
	u := e.login(name, pw)
	if role != auth.Admin {
		k, err := signature.GenerateKey(rand.Reader)
		if err != nil {
			e.t.Fatal(err)
		}
		u.key, u.kid = k, signature.Thumbprint(&k.PublicKey)
		var reg manifest.Key
		e.must(201, "POST", "/api/v1/orgs/"+org+"/keys", admin.token, map[string]any{"jwk": json.RawMessage(signature.MarshalPublicJWK(&k.PublicKey)), "holder": "device-" + name, "kind": "device"}, &reg)
		if reg.ID != u.kid || reg.Kind != manifest.Device {
			e.t.Fatalf("registered key = %+v, want id %s kind device", reg, u.kid)
		}
	}
	return u
}

// cast is the scenario's world registered through the API, with one admin
// and one signing user per organisation.
type cast struct {
	w      *scenario.World
	admins map[string]*user // by org id
	// signers
	officer                                        *user
	factory, hospital, incinerator, dismantler     *user
	hauler, relay, medical                         *user
	hwplant, medplant, kiln, recycler, leadSmelter *user
}

func (e *env) cast() *cast {
	e.t.Helper()
	w := scenario.NewWorld()
	c := &cast{w: w, admins: map[string]*user{}}
	for _, p := range w.Parties() {
		e.must(201, "POST", "/api/v1/orgs", e.admin.token, p.Org, nil)
	}
	for _, p := range w.Permits() {
		e.must(201, "POST", "/api/v1/permits", e.admin.token, p, nil)
	}
	for i, p := range w.Parties() {
		name := fmt.Sprintf("admin%02d", i)
		e.must(201, "POST", "/api/v1/orgs/"+p.Org.ID+"/users", e.admin.token, map[string]any{"username": name, "role": "admin", "password": "correct horse battery"}, nil)
		c.admins[p.Org.ID] = e.login(name, "correct horse battery")
	}
	add := func(p *scenario.Party, name string, role auth.Role) *user {
		return e.addUser(c.admins[p.Org.ID], p.Org.ID, name, role)
	}
	c.officer = add(w.Province, "officer", auth.Regulator)
	c.factory = add(w.Factory, "factory-clerk", auth.ProducerClerk)
	c.hospital = add(w.Hospital, "hospital-clerk", auth.ProducerClerk)
	c.incinerator = add(w.Incinerator, "incinerator-clerk", auth.ProducerClerk)
	c.dismantler = add(w.Dismantler, "dismantler-clerk", auth.ProducerClerk)
	c.hauler = add(w.Hauler, "hauler-driver", auth.Driver)
	c.relay = add(w.Relay, "relay-driver", auth.Driver)
	c.medical = add(w.Medical, "medical-driver", auth.Driver)
	c.hwplant = add(w.HWPlant, "hwplant-clerk", auth.ReceiverClerk)
	c.medplant = add(w.MedPlant, "medplant-clerk", auth.ReceiverClerk)
	c.kiln = add(w.CementKiln, "kiln-clerk", auth.ReceiverClerk)
	c.recycler = add(w.Recycler, "recycler-clerk", auth.ReceiverClerk)
	c.leadSmelter = add(w.LeadSmelter, "smelter-clerk", auth.ReceiverClerk)
	return c
}

// create creates the draft as the producer's clerk and returns the id.
func (e *env) create(clerk *user, d manifest.Draft) string {
	e.t.Helper()
	var out struct {
		ID   string `json:"id"`
		Hash string `json:"hash"`
	}
	r := e.must(201, "POST", "/api/v1/manifests", clerk.token, d, &out)
	if loc := r.header.Get("Location"); loc != "/api/v1/manifests/"+out.ID {
		e.t.Fatalf("Location = %q, want /api/v1/manifests/%s", loc, out.ID)
	}
	return out.ID
}

// template fetches the statement to sign for step as u, naming the
// signers' keys.
func (e *env) template(u *user, id string, step manifest.Step, signers ...*user) gateway.TemplateResponse {
	e.t.Helper()
	q := ""
	if len(signers) > 0 {
		q = "?from_key=" + signers[0].kid
	}
	if len(signers) > 1 {
		q += "&to_key=" + signers[1].kid
	}
	var tpl gateway.TemplateResponse
	e.must(200, "GET", "/api/v1/manifests/"+id+"/statements/"+string(step)+q, u.token, nil, &tpl)
	return tpl
}

// sign signs the statement by each signer with their own key: the body of
// a step's POST.
func sign(t *testing.T, st manifest.Statement, signers ...*user) []byte {
	t.Helper()
	canonical, err := jcs.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	env := manifest.Signed{Statement: canonical}
	for _, s := range signers {
		sig, err := signature.Sign(rand.Reader, s.key, canonical)
		if err != nil {
			t.Fatal(err)
		}
		env.Signatures = append(env.Signatures, manifest.Signature{Key: s.kid, Sig: sig})
	}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// step signs the step's template by signers and submits it as submitter.
func (e *env) step(submitter *user, id string, step manifest.Step, edit func(*manifest.Statement), signers ...*user) gateway.StepResult {
	e.t.Helper()
	tpl := e.template(submitter, id, step, signers...)
	if tpl.Canonical == "" {
		e.t.Fatalf("template of %s has no canonical form with every key filled: %+v", step, tpl.Statement)
	}
	st := tpl.Statement
	if edit != nil {
		edit(&st)
	}
	var res gateway.StepResult
	e.must(200, "POST", tpl.Endpoint, submitter.token, sign(e.t, st, signers...), &res)
	return res
}

// manifestOf gets a manifest as u.
func (e *env) manifestOf(u *user, id string) (manifest.Manifest, string) {
	e.t.Helper()
	var v struct {
		Hash     string            `json:"hash"`
		Manifest manifest.Manifest `json:"manifest"`
	}
	e.must(200, "GET", "/api/v1/manifests/"+id, u.token, nil, &v)
	return v.Manifest, v.Hash
}

// with returns the env reporting to t (a subtest).
func (e *env) with(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}
