package mobileapi

import (
	"context"
	"net/http"
	"slices"
	"time"

	"wasteledger/chaincode"
	"wasteledger/gateway/auth"
	"wasteledger/gateway/httpx"
	"wasteledger/gateway/paper"
	"wasteledger/gateway/problem"
	"wasteledger/gateway/ticket"
	"wasteledger/manifest"
)

// ScanRequest is the body of POST /mobile/v1/scan: what the QR code held,
// the ticket URL or the bare token.
type ScanRequest struct {
	Ticket string `json:"ticket"`
}

// TicketInfo is what the verified ticket said.
type TicketInfo struct {
	Manifest string          `json:"manifest"`
	Version  int             `json:"version"`
	Hash     string          `json:"hash"`
	Status   manifest.Status `json:"status"`
	Issued   time.Time       `json:"issued"`
	Expires  time.Time       `json:"expires"`
	KeyID    string          `json:"kid"`
}

// You is the signed-in actor as the phone needs to know it.
type You struct {
	Org  string    `json:"org"`
	Role auth.Role `json:"role"`
}

// ScanResult answers a scan.
type ScanResult struct {
	Ticket TicketInfo `json:"ticket"`
	// Stale is true when the paper was printed from an older version than
	// the ledger's current one: normal once a step was signed after
	// printing, but what the paper says may no longer hold; the phone
	// shows the current manifest instead.
	Stale       bool                `json:"stale"`
	StaleDetail string              `json:"stale_detail,omitempty"`
	Manifest    Summary             `json:"manifest"`
	Next        *Next               `json:"next,omitempty"`
	Checklist   Checklist           `json:"checklist"`
	Template    *manifest.Statement `json:"template,omitempty"`  // the statement of the next step to sign, when the actor signs it
	CodeKeys    map[string]string   `json:"code_keys,omitempty"` // organisation → custodial key id, for sign-by-code
	You         You                 `json:"you"`
}

func (h *handlers) scan(w http.ResponseWriter, r *http.Request) {
	a, ok := paper.ActorFrom(w, r)
	if !ok {
		return
	}
	var in ScanRequest
	if err := httpx.Decode(w, r, &in, MaxScanBytes); err != nil {
		problem.Error(w, r, h.d.Log, err)
		return
	}
	res, err := h.doScan(r.Context(), a, in)
	if err != nil {
		problem.Error(w, r, h.d.Log, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusOK, res)
}

func (h *handlers) doScan(ctx context.Context, a auth.Actor, in ScanRequest) (*ScanResult, error) {
	now := h.d.Now()
	t, err := h.tickets.verify(h.d.Keyring, ticket.FromURL(in.Ticket), h.d.Issuer, now)
	if err != nil {
		return nil, err
	}
	m, doc, err := paper.Load(ctx, h.d.Ledger, a, t.Manifest)
	if err != nil {
		return nil, err
	}
	hash := manifest.Hash(doc)
	res := &ScanResult{Ticket: TicketInfo{Manifest: t.Manifest, Version: t.Version, Hash: t.Hash, Status: t.Status, Issued: t.Issued, Expires: t.Expires, KeyID: t.KeyID},
		You: You{Org: a.Org, Role: a.Role}}
	if !t.Current(hash) {
		if err := h.checkPrinted(ctx, a, t, m); err != nil {
			return nil, err
		}
		res.Stale = true
		res.StaleDetail = staleDetail(t, m)
	}
	orgs := h.orgs.Get(ctx, h.d.Ledger, a, paper.Parties(m)...)
	res.Manifest = summarize(m, hash, orgs)
	res.Next = nextStep(m, a, orgs)
	res.Checklist = checklist(m, driverLeg(m, a, res.Next))
	if n := res.Next; n != nil && n.Party && n.Handover {
		st, err := m.Template(n.Step, hash, now)
		if err == nil {
			res.Template = &st
			to := ""
			if n.To != nil {
				to = n.To.ID
			}
			res.CodeKeys = h.codeKeys(ctx, a, n.From.ID, to)
		}
	}
	return res, nil
}

// checkPrinted makes sure a stale ticket names a version the manifest
// really had: the gateway signed it, so a mismatch means a ticket from
// another ledger or a leaked key, and the paper is not to be trusted.
func (h *handlers) checkPrinted(ctx context.Context, a auth.Actor, t ticket.Ticket, m *manifest.Manifest) error {
	if t.Version >= m.Version {
		return ticket.Fail(ticket.Mismatch, "the ticket names version %d of %s, but the ledger has version %d with another content: this paper is not genuine / 二维码与账本记录不符，纸质联单不可信", t.Version, t.Manifest, m.Version)
	}
	had, ok := versionHash(m, t.Version)
	if !ok {
		hist, err := h.history(ctx, a, m.ID)
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(hist, func(e chaincode.HistoryEntry) bool { return e.Version == t.Version }); i >= 0 {
			had = hist[i].Hash
		}
	}
	if had == "" || had != t.Hash {
		return ticket.Fail(ticket.Mismatch, "the ticket names version %d of %s with a content the ledger never had: this paper is not genuine / 二维码与账本记录不符，纸质联单不可信", t.Version, t.Manifest)
	}
	return nil
}

// versionHash returns the hash of an earlier version of m as its recorded
// steps tell it, without the ledger's history. Versions count from 1 at
// creation, and each recorded step and each follow-up adds one; with no
// follow-up, version v+1 is what step v recorded, and that step's signed
// statement names as prev the hash of version v — which the contract
// checked against the stored version before it recorded the step. It
// reports false when m does not have that shape (a follow-up was added):
// the history answers then.
func versionHash(m *manifest.Manifest, version int) (string, bool) {
	if len(m.Followups) > 0 || m.Version != 1+len(m.Steps) || version < 1 || version > len(m.Steps) {
		return "", false
	}
	var st struct {
		Manifest string `json:"manifest"`
		Prev     string `json:"prev"`
	}
	if err := manifest.Decode([]byte(m.Steps[version-1].Statement), &st); err != nil || st.Manifest != m.ID || st.Prev == "" {
		return "", false
	}
	return st.Prev, true
}

func (h *handlers) history(ctx context.Context, a auth.Actor, id string) ([]chaincode.HistoryEntry, error) {
	b, err := h.d.Ledger.Evaluate(ctx, paper.Caller(a), "ManifestHistory", []byte(id))
	if err != nil {
		return nil, err
	}
	var hist []chaincode.HistoryEntry
	if err := manifest.Decode(b, &hist); err != nil {
		return nil, manifest.Errorf(manifest.Internal, "decode history of %s: %w", id, err)
	}
	return hist, nil
}

func staleDetail(t ticket.Ticket, m *manifest.Manifest) string {
	was, now := paper.StatusName(t.Status), paper.StatusName(m.Status)
	return "纸质联单打印于第 " + itoa(t.Version) + " 版（" + was.ZH + "），账本现为第 " + itoa(m.Version) + " 版（" + now.ZH + "）：请以下方最新信息为准。" +
		" The paper was printed from version " + itoa(t.Version) + " (" + was.EN + "); the ledger is at version " + itoa(m.Version) + " (" + now.EN + "): trust the current details below, not the paper."
}

// TemplateResult answers GET /mobile/v1/manifests/{id}/template.
type TemplateResult struct {
	Template manifest.Statement `json:"template"`
	Prev     string             `json:"prev"` // hash of the current version, also in template.prev
	Version  int                `json:"version"`
	Status   manifest.Status    `json:"status"`
	Next     *Next              `json:"next,omitempty"`
	CodeKeys map[string]string  `json:"code_keys,omitempty"`
}

func (h *handlers) template(w http.ResponseWriter, r *http.Request) {
	a, ok := paper.ActorFrom(w, r)
	if !ok {
		return
	}
	m, doc, err := paper.Load(r.Context(), h.d.Ledger, a, r.PathValue("id"))
	if err != nil {
		problem.Error(w, r, h.d.Log, err)
		return
	}
	orgs := h.orgs.Get(r.Context(), h.d.Ledger, a, paper.Parties(m)...)
	next := nextStep(m, a, orgs)
	step := manifest.Step(r.URL.Query().Get("step"))
	if step == "" {
		if next == nil {
			problem.Error(w, r, h.d.Log, manifest.Errorf(manifest.Conflict, "manifest %s is %s and waits for no step", m.ID, m.Status))
			return
		}
		step = next.Step
	}
	if !slices.Contains(manifest.Steps, step) {
		problem.Error(w, r, h.d.Log, manifest.FieldError(manifest.Invalid, "step", "unknown step %q (want one of %v)", step, manifest.Steps))
		return
	}
	hash := manifest.Hash(doc)
	st, err := m.Template(step, hash, h.d.Now())
	if err != nil {
		problem.Error(w, r, h.d.Log, manifest.WithOp(err, "template", m.ID))
		return
	}
	res := TemplateResult{Template: st, Prev: hash, Version: m.Version, Status: m.Status, Next: next}
	to := ""
	if st.To != nil {
		to = st.To.Org
	}
	res.CodeKeys = h.codeKeys(r.Context(), a, st.From.Org, to)
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusOK, res)
}
