package gateway

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"wasteledger/gateway/auth"
	"wasteledger/gateway/httpx"
	"wasteledger/gateway/problem"
	"wasteledger/gateway/store"
	"wasteledger/manifest"
	"wasteledger/manifest/jcs"
	"wasteledger/manifest/signature"
)

// Sign by code: a producer without a device of its own asks for a one-time
// code; the driver types it on their phone, and the gateway countersigns
// the statement with the key it holds for the producer. The ledger records
// such a signature as signed_by "code" (from the key's kind).

// codeSteps are the steps a producer may sign by code.
var codeSteps = []manifest.Step{manifest.StepPickup, manifest.StepSign, manifest.StepClose, manifest.StepCancel}

// SignCode is an issued code. The code itself is shown once.
type SignCode struct {
	Code     string        `json:"code"`
	Manifest string        `json:"manifest"`
	Step     manifest.Step `json:"step"`
	Org      string        `json:"org"`
	KeyID    string        `json:"kid"` // the custodial key the gateway will sign with
	Expires  time.Time     `json:"expires"`
	Attempts int           `json:"attempts"` // wrong guesses that burn it
}

func (s *Server) handleSignCode(w http.ResponseWriter, r *http.Request) {
	a, id := actorOf(r), r.PathValue("id")
	body, err := readBody(w, r, 4<<10)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var in struct {
		Step manifest.Step `json:"step"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := httpx.DecodeBytes(body, &in); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if in.Step == "" {
		in.Step = manifest.StepPickup
	}
	c, err := s.IssueSignCode(r.Context(), a, id, in.Step)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusCreated, c)
}

// IssueSignCode issues a one-time code for the producer of manifest id to
// sign step by. Issuing a new code burns the previous one.
func (s *Server) IssueSignCode(ctx context.Context, a auth.Actor, id string, step manifest.Step) (SignCode, error) {
	if !slices.Contains(codeSteps, step) {
		return SignCode{}, invalid("step", "a producer signs %v by code, not %q", codeSteps, step)
	}
	m, _, err := s.loadHead(ctx, a, id)
	if err != nil {
		return SignCode{}, err
	}
	if m.Producer != a.Org {
		return SignCode{}, forbidden("sign codes are issued by the producer of manifest %s", id)
	}
	if _, _, err := m.Parties(step); err != nil {
		return SignCode{}, manifest.WithOp(err, "sign-code", id)
	}
	k, err := s.store.Custodial(ctx, a.Org)
	if manifest.CodeOf(err) == manifest.NotFound {
		return SignCode{}, manifest.FieldError(manifest.RuleViolation, "org", "organisation %s has no custodial key: its administrator creates one with POST /api/v1/orgs/%s/custodial-key", a.Org, a.Org)
	}
	if err != nil {
		return SignCode{}, err
	}
	code := auth.NewCode()
	now := s.cfg.Now().UTC()
	c := store.Code{Manifest: id, Step: string(step), Org: a.Org, MAC: s.codeMAC(id, string(step), a.Org, code),
		Expires: now.Add(s.cfg.CodeTTL), Created: now, CreatedBy: a.Subject}
	if _, err := s.store.CreateCode(ctx, c); err != nil {
		return SignCode{}, err
	}
	return SignCode{Code: code, Manifest: id, Step: step, Org: a.Org, KeyID: k.KID, Expires: c.Expires.Truncate(time.Second), Attempts: s.cfg.CodeAttempts}, nil
}

func (s *Server) codeMAC(id, step, org, code string) []byte {
	return s.store.MAC("sign-code", id, step, org, code)
}

func rateLimited(format string, args ...any) error {
	return &codedError{problem.RateLimited, fmt.Sprintf(format, args...)}
}

// Countersign checks a sign-by-code code typed on the driver's phone and,
// if it is right, signs the canonical statement with the producer's
// custodial key. The code must be the live one for this manifest and the
// statement's step, unexpired and unused; the statement must name the
// custodial key for the code's organisation and the actor's organisation
// as a party. A wrong code counts against it (CodeAttempts wrong guesses
// burn it), and guesses are rate limited per actor. The code is used up
// by a successful countersignature.
func (s *Server) Countersign(ctx context.Context, actor auth.Actor, manifestID, code string, canonical []byte) (manifest.Signature, error) {
	if ok, wait := s.codes.allow(actor.Subject); !ok {
		return manifest.Signature{}, rateLimited("too many sign-by-code attempts; retry in %.0f s", wait.Seconds()+1)
	}
	if len(canonical) == 0 || len(canonical) > manifest.MaxStatementBytes {
		return manifest.Signature{}, invalid("statement", "a statement of at most %d bytes is required", manifest.MaxStatementBytes)
	}
	c2, err := jcs.Canonicalize(canonical)
	if err != nil || !bytes.Equal(c2, canonical) {
		return manifest.Signature{}, invalid("statement", "the statement must be in RFC 8785 canonical form")
	}
	var st manifest.Statement
	if err := manifest.DecodeStrict(canonical, &st); err != nil {
		return manifest.Signature{}, err
	}
	if st.Manifest != manifestID {
		return manifest.Signature{}, invalid("statement.manifest", "the statement is for manifest %s, not %s", st.Manifest, manifestID)
	}
	if st.From == nil {
		return manifest.Signature{}, invalid("statement.from", "the statement names no signing party")
	}
	if len(code) != 6 || bytes.IndexFunc([]byte(code), func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return manifest.Signature{}, invalid("code", "the code has six digits")
	}
	now := s.cfg.Now()
	live, err := s.store.ActiveCode(ctx, manifestID, string(st.Step), now, s.cfg.CodeAttempts)
	if manifest.CodeOf(err) == manifest.NotFound {
		return manifest.Signature{}, manifest.FieldError(manifest.Forbidden, "code", "no valid code for %s of manifest %s: it is wrong, expired, used or burnt; ask the producer for a new one", st.Step, manifestID)
	}
	if err != nil {
		return manifest.Signature{}, err
	}
	if !hmac.Equal(s.codeMAC(manifestID, string(st.Step), live.Org, code), live.MAC) {
		n, err := s.store.FailCode(ctx, live.ID)
		if err != nil {
			return manifest.Signature{}, err
		}
		if left := s.cfg.CodeAttempts - n; left > 0 {
			return manifest.Signature{}, manifest.FieldError(manifest.Forbidden, "code", "wrong code; %d attempt(s) left", left)
		}
		return manifest.Signature{}, manifest.FieldError(manifest.Forbidden, "code", "wrong code; the code is burnt, ask the producer for a new one")
	}
	key, err := s.store.Custodial(ctx, live.Org)
	if err != nil {
		return manifest.Signature{}, err
	}
	var party *manifest.Party
	for _, p := range []*manifest.Party{st.From, st.To} {
		if p != nil && p.Org == live.Org {
			party = p
		}
	}
	if party == nil || party.Key != key.KID {
		return manifest.Signature{}, manifest.FieldError(manifest.Forbidden, "statement.from.key", "the statement must name %s with its custodial key %s", live.Org, key.KID)
	}
	if actor.Org != st.From.Org && (st.To == nil || actor.Org != st.To.Org) {
		return manifest.Signature{}, forbidden("your organisation %s is not a party of this statement", actor.Org)
	}
	if ok, err := s.store.UseCode(ctx, live.ID); err != nil {
		return manifest.Signature{}, err
	} else if !ok {
		return manifest.Signature{}, manifest.FieldError(manifest.Forbidden, "code", "the code was just used")
	}
	jwk, err := s.store.Unseal(key.Sealed, store.CustodialAAD(key.KID, key.Org))
	if err != nil {
		return manifest.Signature{}, manifest.Errorf(manifest.Internal, "unseal custodial key %s: %w", key.KID, err)
	}
	priv, err := signature.ParsePrivateJWK(jwk)
	if err != nil {
		return manifest.Signature{}, manifest.Errorf(manifest.Internal, "custodial key %s: %w", key.KID, err)
	}
	sig, err := signature.Sign(rand.Reader, priv, canonical)
	if err != nil {
		return manifest.Signature{}, manifest.Errorf(manifest.Internal, "countersign: %w", err)
	}
	s.log.InfoContext(ctx, "countersigned by code", "manifest_id", manifestID, "step", string(st.Step), "actor_org", actor.Org, "kid", key.KID)
	return manifest.Signature{Key: key.KID, Sig: sig}, nil
}

func (s *Server) handleCountersign(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Code      string          `json:"code"`
		Statement json.RawMessage `json:"statement"`
	}
	if _, err := readJSON(w, r, maxSignedBody, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	canonical, err := jcs.Canonicalize(in.Statement)
	if err != nil {
		s.fail(w, r, invalid("statement", "not canonicalisable JSON: %v", err))
		return
	}
	sig, err := s.Countersign(r.Context(), actorOf(r), r.PathValue("id"), in.Code, canonical)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]string{"kid": sig.Key, "sig": sig.Sig, "signed_by": "code"})
}

// CodeKey returns the id of the organisation's custodial key, the key
// Countersign signs with, so that a statement to be signed by code can name
// it before the driver signs.
func (s *Server) CodeKey(ctx context.Context, org string) (string, bool) {
	k, err := s.store.Custodial(ctx, org)
	if err != nil {
		return "", false
	}
	return k.KID, true
}

// SignAsOrg signs canonical bytes with the custodial key of a regulator
// actor's organisation: how the gateway signs the indicator snapshots a
// regulator publishes (gateway/reconcile). Other actors are refused.
func (s *Server) SignAsOrg(ctx context.Context, actor auth.Actor, canonical []byte) (manifest.Signature, error) {
	if !s.isRegulator(ctx, actor) {
		return manifest.Signature{}, forbidden("only a regulator's snapshots are signed by the gateway")
	}
	k, err := s.store.Custodial(ctx, actor.Org)
	if manifest.CodeOf(err) == manifest.NotFound {
		return manifest.Signature{}, manifest.FieldError(manifest.RuleViolation, "org", "organisation %s has no custodial key: its administrator creates one with POST /api/v1/orgs/%s/custodial-key", actor.Org, actor.Org)
	}
	if err != nil {
		return manifest.Signature{}, err
	}
	jwk, err := s.store.Unseal(k.Sealed, store.CustodialAAD(k.KID, k.Org))
	if err != nil {
		return manifest.Signature{}, manifest.Errorf(manifest.Internal, "unseal custodial key %s: %w", k.KID, err)
	}
	priv, err := signature.ParsePrivateJWK(jwk)
	if err != nil {
		return manifest.Signature{}, manifest.Errorf(manifest.Internal, "custodial key %s: %w", k.KID, err)
	}
	sig, err := signature.Sign(rand.Reader, priv, canonical)
	if err != nil {
		return manifest.Signature{}, manifest.Errorf(manifest.Internal, "sign: %w", err)
	}
	return manifest.Signature{Key: k.KID, Sig: sig}, nil
}
