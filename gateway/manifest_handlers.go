package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"wasteledger/chaincode"
	"wasteledger/gateway/auth"
	"wasteledger/gateway/httpx"
	"wasteledger/gateway/index"
	"wasteledger/manifest"
	"wasteledger/manifest/catalog"
	"wasteledger/manifest/jcs"
)

func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	a := actorOf(r)
	var d manifest.Draft
	body, err := readJSON(w, r, maxBody, &d)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if d.Producer != a.Org {
		s.fail(w, r, manifest.FieldError(manifest.Forbidden, "producer", "you create manifests for your own organisation %s, not %s", a.Org, d.Producer))
		return
	}
	if d.Request == "" {
		// Give the creation an id so that a ledger-level resubmission
		// (a commit whose outcome was lost) cannot make a second manifest.
		d.Request = creationID(r.Header.Get("Idempotency-Key"), a)
		if body, err = json.Marshal(d); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	c, err := s.submit(r.Context(), caller(a), "CreateManifest", body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var head struct {
		ID string `json:"id"`
	}
	_ = manifest.Decode(c.Payload, &head)
	w.Header().Set("Location", "/api/v1/manifests/"+head.ID)
	o := (&rawObject{}).str("id", head.ID).str("tx_id", c.TxID).num("block", c.Block).str("hash", manifest.Hash(c.Payload)).raw("manifest", c.Payload)
	httpx.RawJSON(w, http.StatusCreated, o.bytes())
}

// load reads a manifest's current document and decodes it.
func (s *Server) load(ctx context.Context, a auth.Actor, id string) (*manifest.Manifest, []byte, error) {
	if err := manifest.ValidNumber(id); err != nil {
		return nil, nil, manifest.Errorf(manifest.NotFound, "manifest %s not found", id)
	}
	doc, err := s.ledger.Evaluate(ctx, caller(a), "GetManifest", []byte(id))
	if err != nil {
		return nil, nil, err
	}
	var m manifest.Manifest
	if err := manifest.Decode(doc, &m); err != nil {
		return nil, nil, manifest.Errorf(manifest.Internal, "decode manifest %s: %w", id, err)
	}
	return &m, doc, nil
}

// manifestHead is what loadHead reads of a manifest (access checks, the
// replay of a recorded step, sign codes): enough for manifest.Parties and
// to recognise a recorded statement, without the cost of decoding lines
// and recorded statements.
type manifestHead struct {
	ID       string          `json:"id"`
	Version  int             `json:"version"`
	Status   manifest.Status `json:"status"`
	Producer string          `json:"producer"`
	Receiver string          `json:"receiver"`
	Legs     []struct {
		Carrier string `json:"carrier"`
	} `json:"legs"`
	Leg     int                `json:"leg"`
	Receipt []manifest.Receipt `json:"receipt"`
	Steps   []struct {
		TxID       string                     `json:"tx_id"`
		Digest     string                     `json:"digest"`
		Signatures []manifest.SignatureRecord `json:"signatures"`
	} `json:"steps"`
}

// loadHead reads a manifest's current document and decodes its head.
func (s *Server) loadHead(ctx context.Context, a auth.Actor, id string) (*manifest.Manifest, []byte, error) {
	if err := manifest.ValidNumber(id); err != nil {
		return nil, nil, manifest.Errorf(manifest.NotFound, "manifest %s not found", id)
	}
	doc, err := s.ledger.Evaluate(ctx, caller(a), "GetManifest", []byte(id))
	if err != nil {
		return nil, nil, err
	}
	var h manifestHead
	if err := manifest.Decode(doc, &h); err != nil {
		return nil, nil, manifest.Errorf(manifest.Internal, "decode manifest %s: %w", id, err)
	}
	m := &manifest.Manifest{ID: h.ID, Version: h.Version, Status: h.Status, Leg: h.Leg, Receipt: h.Receipt}
	m.Producer, m.Receiver = h.Producer, h.Receiver
	m.Legs = make([]manifest.Leg, len(h.Legs))
	for i, l := range h.Legs {
		m.Legs[i].Carrier = l.Carrier
	}
	m.Steps = make([]manifest.Record, len(h.Steps))
	for i, r := range h.Steps {
		m.Steps[i].TxID, m.Steps[i].Digest, m.Steps[i].Signatures = r.TxID, r.Digest, r.Signatures
	}
	return m, doc, nil
}

// onManifest reports whether org is a party of the manifest in any role.
func onManifest(m *manifest.Manifest, org string) bool {
	if m.Producer == org || m.Receiver == org {
		return true
	}
	for _, l := range m.Legs {
		if l.Carrier == org {
			return true
		}
	}
	return false
}

// canRead reports whether the actor may see the manifest: a party's member,
// or a regulator.
func (s *Server) canRead(ctx context.Context, a auth.Actor, m *manifest.Manifest) bool {
	return onManifest(m, a.Org) || s.isRegulator(ctx, a)
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	a := actorOf(r)
	m, doc, err := s.loadHead(r.Context(), a, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !s.canRead(r.Context(), a, m) {
		s.fail(w, r, forbidden("your organisation %s is not a party of manifest %s", a.Org, m.ID))
		return
	}
	hash := manifest.Hash(doc)
	w.Header().Set("ETag", `"`+hash+`"`)
	o := (&rawObject{}).str("hash", hash)
	if step, from, to, ok := m.NextStep(); ok {
		wait := []string{from}
		if to != "" {
			wait = append(wait, to)
		}
		o.str("next_step", string(step)).value("waiting_for", wait)
	}
	httpx.RawJSON(w, http.StatusOK, o.raw("manifest", doc).bytes())
}

// listFilter reads the list query. Non-regulators see the manifests their
// organisation is a party of.
func (s *Server) listFilter(r *http.Request, a auth.Actor) (index.Filter, error) {
	q := r.URL.Query()
	var f index.Filter
	for k := range q {
		switch k {
		case "status", "party", "code", "stream", "region", "from", "to", "waiting", "limit", "after":
		default:
			return f, invalid(k, "unknown query parameter %q", k)
		}
	}
	for _, v := range q["status"] {
		for _, st := range strings.Split(v, ",") {
			if !slices.Contains(manifest.Statuses, manifest.Status(st)) {
				return f, invalid("status", "unknown status %q", st)
			}
			f.Status = append(f.Status, manifest.Status(st))
		}
	}
	f.Party = q.Get("party")
	if f.Party != "" && manifest.ValidUSCC(f.Party) != nil {
		return f, invalid("party", "party must be a unified social credit code")
	}
	if f.Code = q.Get("code"); f.Code != "" && catalog.ValidCode(f.Code) != nil {
		return f, invalid("code", "unknown waste code %q", f.Code)
	}
	if f.Stream = q.Get("stream"); f.Stream != "" {
		switch catalog.Stream(f.Stream) {
		case catalog.Industrial, catalog.Medical, catalog.FlyAsh, catalog.Battery:
		default:
			return f, invalid("stream", "stream must be industrial, medical, fly_ash or battery")
		}
	}
	if f.Region = q.Get("region"); f.Region != "" && catalog.ValidRegion(f.Region) != nil {
		return f, invalid("region", "region must be a GB/T 2260 code such as 440100")
	}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			d, err2 := manifest.ParseDate(v)
			if err2 != nil {
				return f, invalid(p.name, "%s must be a date (YYYY-MM-DD) or an RFC 3339 time", p.name)
			}
			t = d
		}
		*p.t = t
	}
	switch w := q.Get("waiting"); w {
	case "":
	case "me":
		f.WaitingFor = a.Org
	default:
		if manifest.ValidUSCC(w) != nil {
			return f, invalid("waiting", "waiting must be \"me\" or an organisation id")
		}
		f.WaitingFor = w
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return f, invalid("limit", "limit must be 1–500")
		}
		f.Limit = n
	}
	f.After = q.Get("after")
	if !s.isRegulator(r.Context(), a) {
		if f.Party != "" && f.Party != a.Org {
			return f, forbidden("you may list your own organisation's manifests only")
		}
		if f.WaitingFor != "" && f.WaitingFor != a.Org {
			return f, forbidden("you may ask what waits for your own organisation only")
		}
		// A manifest waiting for the actor's organisation has it as a
		// party already; otherwise restrict the list to its manifests.
		if f.WaitingFor == "" {
			f.Party = a.Org
		}
	}
	return f, nil
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	a := actorOf(r)
	f, err := s.listFilter(r, a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.index.List(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if p.Items == nil {
		p.Items = []index.Summary{}
	}
	b, err := appendPage(make([]byte, 0, 512*len(p.Items)+64), p)
	if err != nil {
		httpx.JSON(w, http.StatusOK, p)
		return
	}
	httpx.RawJSON(w, http.StatusOK, append(b, '\n'))
}

// TemplateResponse is a statement to sign.
type TemplateResponse struct {
	Statement manifest.Statement `json:"statement"`
	Prev      string             `json:"prev"`      // the hash of the current manifest version
	Endpoint  string             `json:"endpoint"`  // where to POST the signed statement
	Signers   []string           `json:"signers"`   // the organisations that sign, in order
	Canonical string             `json:"canonical"` // the bytes to sign, when every key is filled
}

func (s *Server) handleTemplate(w http.ResponseWriter, r *http.Request) {
	a := actorOf(r)
	m, doc, err := s.load(r.Context(), a, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !s.canRead(r.Context(), a, m) {
		s.fail(w, r, forbidden("your organisation %s is not a party of manifest %s", a.Org, m.ID))
		return
	}
	step := manifest.Step(r.PathValue("step"))
	if !slices.Contains(manifest.Steps, step) {
		s.fail(w, r, invalid("step", "unknown step %q (want one of sign, pickup, relay, delivery, receive, process, close, cancel)", step))
		return
	}
	prev := manifest.Hash(doc)
	st, err := m.Template(step, prev, s.cfg.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	if k := q.Get("from_key"); k != "" && st.From != nil {
		st.From.Key = k
	}
	if k := q.Get("to_key"); k != "" && st.To != nil {
		st.To.Key = k
	}
	resp := TemplateResponse{Statement: st, Prev: prev, Endpoint: "/api/v1/manifests/" + m.ID + "/" + endpointOf(step)}
	resp.Signers = append(resp.Signers, st.From.Org)
	if st.To != nil {
		resp.Signers = append(resp.Signers, st.To.Org)
	}
	if st.From.Key != "" && (st.To == nil || st.To.Key != "") {
		if c, err := jcs.Marshal(st); err == nil {
			resp.Canonical = string(c)
		}
	}
	httpx.JSON(w, http.StatusOK, resp)
}

func endpointOf(step manifest.Step) string {
	switch step {
	case manifest.StepPickup, manifest.StepRelay, manifest.StepDelivery:
		return "handover"
	}
	return string(step)
}

// StepResult is the answer to a signed step: the transaction and the new
// manifest version.
type StepResult struct {
	TxID     string          `json:"tx_id"`
	Block    uint64          `json:"block"`
	Hash     string          `json:"hash"`
	Replayed bool            `json:"replayed,omitempty"` // the statement was already recorded
	Manifest json.RawMessage `json:"manifest"`
}

// handleStep submits a signed statement with fn. Before anything is
// submitted it checks that the statement is for this manifest and a step
// this endpoint takes, that the manifest is in a state where the step can
// happen (409), that the statement names the parties the step needs and
// that the actor's organisation is one of them (403). A statement already
// recorded answers with the recorded result.
func (s *Server) handleStep(fn string, steps ...manifest.Step) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a, id := actorOf(r), r.PathValue("id")
		body, err := readBody(w, r, maxSignedBody)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		var env manifest.Signed
		if err := httpx.DecodeBytes(body, &env); err != nil {
			s.fail(w, r, err)
			return
		}
		// What the checks below need of the statement. The contract parses
		// it again, strictly and canonically (refusing, e.g., duplicate
		// members), and verifies the signatures; nothing it refuses is
		// recorded.
		var st statementHead
		if err := manifest.Decode(env.Statement, &st); err != nil {
			s.fail(w, r, invalid("statement", "the statement must be a JSON object: %v", err))
			return
		}
		if st.Manifest != id {
			s.fail(w, r, invalid("statement.manifest", "the statement is for manifest %q, not %s", st.Manifest, id))
			return
		}
		if !slices.Contains(steps, st.Step) {
			s.fail(w, r, invalid("statement.step", "this endpoint takes %v, not %q", steps, st.Step))
			return
		}
		if st.From == nil || (st.Step.Handover() && st.To == nil) {
			s.fail(w, r, invalid("statement.from", "the statement must name its signing parties (from, and to on a handover)"))
			return
		}
		// The submitter's organisation must be a signing party. The
		// contract checks that the statement's parties are the manifest's
		// for this step, that it names the current version, and refuses a
		// statement already recorded (answered below as a replay): no
		// ledger read is needed here.
		if a.Org != st.From.Org && (st.To == nil || a.Org != st.To.Org) {
			s.fail(w, r, forbidden("%s of manifest %s is signed by %s; your organisation %s is not a party of it", st.Step, id, partiesText(st.From.Org, toOrg(st.To)), a.Org))
			return
		}
		c, err := s.submit(r.Context(), caller(a), fn, body)
		if err != nil {
			// Recorded meanwhile (a concurrent retry): answer as a replay.
			if tx := recordedTx(err); tx != "" {
				if m, _, lerr := s.loadHead(r.Context(), a, id); lerr == nil {
					for _, rec := range m.Steps {
						if rec.TxID == tx {
							s.replayStep(w, r, a, id, rec, env.Signatures)
							return
						}
					}
				}
			}
			s.fail(w, r, err)
			return
		}
		o := (&rawObject{}).str("tx_id", c.TxID).num("block", c.Block).str("hash", manifest.Hash(c.Payload)).raw("manifest", c.Payload)
		httpx.RawJSON(w, http.StatusOK, o.bytes())
	}
}

// recordedTx returns the transaction the contract says already recorded a
// statement, or "".
func recordedTx(err error) string {
	var e *manifest.Error
	if manifest.CodeOf(err) != manifest.Conflict || !errors.As(err, &e) {
		return ""
	}
	const marker = "statement already recorded in transaction "
	i := strings.Index(e.Error(), marker)
	if i < 0 {
		return ""
	}
	tx := e.Error()[i+len(marker):]
	if j := strings.IndexFunc(tx, func(c rune) bool { return !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') }); j >= 0 {
		tx = tx[:j]
	}
	return tx
}

// statementHead is what the gateway reads of a statement before
// submitting it.
type statementHead struct {
	Manifest string          `json:"manifest"`
	Step     manifest.Step   `json:"step"`
	From     *manifest.Party `json:"from"`
	To       *manifest.Party `json:"to"`
}

// sameSignatures reports whether a request carries exactly the signatures
// recorded for a step: a retry of that step.
func sameSignatures(rec []manifest.SignatureRecord, sigs []manifest.Signature) bool {
	if len(rec) == 0 || len(rec) != len(sigs) {
		return false
	}
	for _, sg := range sigs {
		found := false
		for _, rs := range rec {
			found = found || (rs.Key == sg.Key && rs.Sig == sg.Sig)
		}
		if !found {
			return false
		}
	}
	return true
}

// replayStep answers a statement the contract says is already recorded:
// with the recorded result when the request carries the recorded
// signatures (a retry), with a conflict when it carries others (the
// statement is taken; the signatures are not checked again, and never
// recorded).
func (s *Server) replayStep(w http.ResponseWriter, r *http.Request, a auth.Actor, id string, rec manifest.Record, sigs []manifest.Signature) {
	if !sameSignatures(rec.Signatures, sigs) {
		s.fail(w, r, manifest.FieldError(manifest.Conflict, "signatures", "this statement is already recorded in transaction %s, with other signatures", rec.TxID))
		return
	}
	s.recorded(w, r, a, id, rec.TxID)
}

// recorded answers a statement already on the ledger with the manifest
// version its transaction recorded.
func (s *Server) recorded(w http.ResponseWriter, r *http.Request, a auth.Actor, id, txID string) {
	hist, err := s.history(r.Context(), a, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, e := range hist {
		if e.TxID == txID {
			o := (&rawObject{}).str("tx_id", txID).num("block", e.block).str("hash", e.Hash).boolean("replayed", true).raw("manifest", e.Manifest)
			httpx.RawJSON(w, http.StatusOK, o.bytes())
			return
		}
	}
	s.fail(w, r, manifest.Errorf(manifest.Internal, "transaction %s recorded the statement but is not in the history of %s", txID, id))
}

type historyEntry struct {
	chaincode.HistoryEntry
	block uint64
}

func (s *Server) history(ctx context.Context, a auth.Actor, id string) ([]historyEntry, error) {
	b, err := s.ledger.Evaluate(ctx, caller(a), "ManifestHistory", []byte(id))
	if err != nil {
		return nil, err
	}
	var hs []chaincode.HistoryEntry
	if err := manifest.Decode(b, &hs); err != nil {
		return nil, manifest.Errorf(manifest.Internal, "decode history of %s: %w", id, err)
	}
	out := make([]historyEntry, len(hs))
	for i, h := range hs {
		out[i].HistoryEntry = h
		tx, err := s.ledger.Tx(ctx, h.TxID)
		if err != nil {
			return nil, err
		}
		out[i].block = tx.Block
	}
	return out, nil
}

// HistoryItem is one ledger transaction of a manifest.
type HistoryItem struct {
	TxID       string                     `json:"tx_id"`
	Block      uint64                     `json:"block"`
	Time       time.Time                  `json:"time"`
	Version    int                        `json:"version"`
	Status     manifest.Status            `json:"status"`
	Hash       string                     `json:"hash"`                // of the version this transaction stored
	Step       string                     `json:"step"`                // "create", a signed step, or "followup" for a return/onward manifest's link
	Statement  json.RawMessage            `json:"statement,omitempty"` // the canonical statement, as signed
	Digest     string                     `json:"digest,omitempty"`
	Signatures []manifest.SignatureRecord `json:"signatures,omitempty"`
	Manifest   json.RawMessage            `json:"manifest,omitempty"` // with ?full=1
}

func (s *Server) handleHistory(w http.ResponseWriter, r *http.Request) {
	a, id := actorOf(r), r.PathValue("id")
	m, _, err := s.loadHead(r.Context(), a, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !s.canRead(r.Context(), a, m) {
		s.fail(w, r, forbidden("your organisation %s is not a party of manifest %s", a.Org, id))
		return
	}
	hs, err := s.history(r.Context(), a, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	full := r.URL.Query().Get("full") == "1"
	items := make([]HistoryItem, 0, len(hs))
	for i, h := range hs {
		it := HistoryItem{TxID: h.TxID, Block: h.block, Time: h.Time, Version: h.Version, Status: h.Status, Hash: h.Hash, Step: "followup"}
		if i == 0 {
			it.Step = "create"
		}
		var v manifest.Manifest
		if err := manifest.Decode(h.Manifest, &v); err == nil {
			for _, rec := range v.Steps {
				if rec.TxID == h.TxID {
					it.Step, it.Statement, it.Digest, it.Signatures = string(rec.Step), json.RawMessage(rec.Statement), rec.Digest, rec.Signatures
				}
			}
		}
		if full {
			it.Manifest = h.Manifest
		}
		items = append(items, it)
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"manifest": id, "items": items})
}

func toOrg(p *manifest.Party) string {
	if p == nil {
		return ""
	}
	return p.Org
}

func partiesText(from, to string) string {
	if to == "" {
		return from
	}
	return from + " and " + to
}

// creationID names a creation for the contract: derived from the client's
// Idempotency-Key when it sent one (so an HTTP retry and a ledger retry
// agree), random otherwise.
func creationID(idemKey string, a auth.Actor) string {
	if idemKey != "" {
		sum := sha256.Sum256([]byte(a.Subject + "\x00" + idemKey))
		return "idem-" + hex.EncodeToString(sum[:16])
	}
	var b [16]byte
	rand.Read(b[:])
	return "req-" + hex.EncodeToString(b[:])
}
