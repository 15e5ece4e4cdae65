package mobileapi_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"wasteledger/chaincode"
	"wasteledger/chaincode/embedded"
	"wasteledger/chaincode/scenario"
	"wasteledger/gateway/auth"
	"wasteledger/gateway/ledger"
	"wasteledger/gateway/paper"
	"wasteledger/gateway/problem"
	"wasteledger/manifest"
	"wasteledger/manifest/jcs"
	"wasteledger/manifest/signature"
	mobileapi "wasteledger/mobile-api"
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

// gatewayKeys is the gateway's ticket keyring.
type gatewayKeys struct {
	kid string
	key *ecdsa.PrivateKey
}

func newGatewayKeys(t testing.TB) *gatewayKeys {
	k, err := signature.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &gatewayKeys{kid: signature.Thumbprint(&k.PublicKey), key: k}
}
func (g *gatewayKeys) Signing() (string, *ecdsa.PrivateKey) { return g.kid, g.key }
func (g *gatewayKeys) Public(kid string) (*ecdsa.PublicKey, bool) {
	if kid != g.kid {
		return nil, false
	}
	return &g.key.PublicKey, true
}

// codes stands in for the gateway's one-time codes (Server.Countersign
// does not exist yet): one code per manifest for the producer, burned
// after 5 wrong tries, used once.
type codes struct {
	mu       sync.Mutex
	org, kid string
	key      *ecdsa.PrivateKey
	code     map[string]string // manifest → code
	wrong    map[string]int
	used     map[string]bool
}

const maxWrongCodes = 5

func (c *codes) Countersign(ctx context.Context, a auth.Actor, id, code string, canonical []byte) (manifest.Signature, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.used[id]:
		return manifest.Signature{}, manifest.Errorf(manifest.Forbidden, "the one-time code of %s was used", id)
	case c.wrong[id] >= maxWrongCodes:
		return manifest.Signature{}, manifest.Errorf(manifest.Forbidden, "the one-time code of %s is burned after %d wrong tries", id, maxWrongCodes)
	case c.code[id] == "" || c.code[id] != code:
		c.wrong[id]++
		return manifest.Signature{}, manifest.Errorf(manifest.Forbidden, "wrong one-time code (%d of %d tries)", c.wrong[id], maxWrongCodes)
	}
	var st manifest.Statement
	if err := json.Unmarshal(canonical, &st); err != nil || st.Manifest != id || st.From == nil || st.From.Org != c.org || st.From.Key != c.kid {
		return manifest.Signature{}, manifest.Errorf(manifest.Invalid, "the statement does not name %s's custodial key", c.org)
	}
	c.used[id] = true
	sig, err := signature.Sign(nil, c.key, canonical)
	return manifest.Signature{Key: c.kid, Sig: sig}, err
}

func (c *codes) CodeKey(_ context.Context, org string) (string, bool) {
	if org == c.org {
		return c.kid, true
	}
	return "", false
}

type env struct {
	t     *testing.T
	emb   *embedded.Ledger
	led   *ledger.Local
	host  host
	w     *scenario.World
	keys  *gatewayKeys
	codes *codes
	mux   *http.ServeMux
	now   time.Time // zero: the wall clock
	base  string
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
	e := &env{t: t, emb: l, led: ledger.NewLocal(l), host: host{l}, w: scenario.NewWorld(), keys: newGatewayKeys(t), base: "https://wl.example"}
	if err := e.w.Setup(ctx, e.host); err != nil {
		t.Fatal(err)
	}
	custodial, err := signature.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := scenario.RegisterKey(ctx, e.host, e.w.Factory, custodial, manifest.Custodial); err != nil {
		t.Fatal(err)
	}
	e.codes = &codes{org: e.w.Factory.Org.ID, kid: signature.Thumbprint(&custodial.PublicKey), key: custodial,
		code: map[string]string{}, wrong: map[string]int{}, used: map[string]bool{}}
	deps := mobileapi.Deps{Ledger: e.led, Keyring: e.keys, Countersign: e.codes.Countersign, BaseURL: e.base,
		Now: e.clock, CodeKey: e.codes.CodeKey}
	e.mux = http.NewServeMux()
	for _, r := range mobileapi.Routes(deps) {
		e.mux.Handle(r.Method+" "+r.Path, gate(r.Roles, r.Public, r.Handler))
	}
	return e
}

func (e *env) clock() time.Time {
	if e.now.IsZero() {
		return time.Now()
	}
	return e.now
}

// gate does what the gateway's router does with a route's roles; the
// actor itself is put in the context by the test (the JWT middleware is
// the gateway's, tested there).
func gate(roles []auth.Role, public bool, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !public {
			a, ok := auth.FromContext(r.Context())
			if !ok {
				problem.Write(w, r, problem.New(string(manifest.Unauthenticated), "no actor", ""))
				return
			}
			if len(roles) > 0 && !slices.Contains(roles, a.Role) {
				problem.Write(w, r, problem.New(string(manifest.Forbidden), "role "+string(a.Role)+" may not", ""))
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// Actors.
func (e *env) driver() auth.Actor {
	return auth.Actor{Subject: "driver-li", Org: e.w.Hauler.Org.ID, Role: auth.Driver, MSP: scenario.CarrierMSP}
}
func (e *env) relayDriver() auth.Actor {
	return auth.Actor{Subject: "driver-chen", Org: e.w.Relay.Org.ID, Role: auth.Driver, MSP: scenario.CarrierMSP}
}
func (e *env) clerk() auth.Actor {
	return auth.Actor{Subject: "clerk-wang", Org: e.w.Factory.Org.ID, Role: auth.ProducerClerk, MSP: scenario.ProducerMSP}
}
func (e *env) regulator() auth.Actor {
	return auth.Actor{Subject: "inspector-zhao", Org: e.w.City.Org.ID, Role: auth.Regulator, MSP: scenario.RegulatorMSP}
}
func (e *env) stranger() auth.Actor {
	return auth.Actor{Subject: "driver-he", Org: e.w.Medical.Org.ID, Role: auth.Driver, MSP: scenario.CarrierMSP}
}

// do sends a request as the actor (nil: anonymous).
func (e *env) do(a *auth.Actor, method, path string, body any) *httptest.ResponseRecorder {
	e.t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	r := httptest.NewRequest(method, path, rd)
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if a != nil {
		r = r.WithContext(auth.WithActor(r.Context(), *a))
	}
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, r)
	return rec
}

// decode decodes a JSON response, failing unless its status is want.
func decode[T any](t *testing.T, rec *httptest.ResponseRecorder, want int) T {
	t.Helper()
	var v T
	if rec.Code != want {
		t.Fatalf("status %d, want %d: %s", rec.Code, want, rec.Body.String())
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, rec.Body.String())
	}
	return v
}

// wantProblem checks a problem+json answer.
func wantProblem(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) problem.Problem {
	t.Helper()
	p := decode[problem.Problem](t, rec, status)
	if p.Code != code || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("problem = %s (%s), want %s: %s", p.Code, rec.Header().Get("Content-Type"), code, p.Detail)
	}
	return p
}

// trip creates a manifest and runs it to status.
func (e *env) trip(tr *scenario.Trip, to manifest.Status) *scenario.Trip {
	e.t.Helper()
	if err := tr.Run(context.Background(), e.host, to); err != nil {
		e.t.Fatal(err)
	}
	return tr
}

// doc is the manifest's current stored version.
func (e *env) doc(id string) ([]byte, *manifest.Manifest) {
	e.t.Helper()
	b, err := e.emb.Evaluate(context.Background(), e.w.RegulatorCaller(), "GetManifest", []byte(id))
	if err != nil {
		e.t.Fatal(err)
	}
	m, err := scenario.Decode(b)
	if err != nil {
		e.t.Fatal(err)
	}
	return b, m
}

// ticketURL prints a ticket for the manifest's current version.
func (e *env) ticketURL(id string) string {
	e.t.Helper()
	doc, m := e.doc(id)
	url, _, err := paper.TicketURL(e.keys, e.base, "", 0, m, doc, e.clock())
	if err != nil {
		e.t.Fatal(err)
	}
	return url
}

// sign fills the parties' keys of a template and has each signer sign
// its canonical form with their own key, as their devices would.
func sign(t *testing.T, st manifest.Statement, signers ...*scenario.Party) manifest.Signed {
	t.Helper()
	to := signers[0]
	if len(signers) > 1 {
		to = signers[1]
	}
	return signWith(t, withKeys(st, signers[0], to), signers...)
}

// signWith signs st as it is (keys already filled) by each signer.
func signWith(t *testing.T, st manifest.Statement, signers ...*scenario.Party) manifest.Signed {
	t.Helper()
	canonical, err := jcs.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	env := manifest.Signed{Statement: canonical}
	for _, p := range signers {
		sig, err := signature.Sign(nil, p.Key, canonical)
		if err != nil {
			t.Fatal(err)
		}
		env.Signatures = append(env.Signatures, manifest.Signature{Key: p.KID, Sig: sig})
	}
	return env
}

func at(s string) manifest.Place {
	return manifest.Place{LatE6: 23_129_110, LonE6: 113_264_385, Text: s}
}
