package mobileapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"wasteledger/chaincode"
	"wasteledger/gateway/auth"
	"wasteledger/gateway/httpx"
	"wasteledger/gateway/paper"
	"wasteledger/gateway/problem"
	"wasteledger/manifest"
	"wasteledger/manifest/signature"
)

// GPS is the phone's position when it submitted, in micro-degrees.
type GPS struct {
	LatE6     int64 `json:"lat_e6"`
	LonE6     int64 `json:"lon_e6"`
	AccuracyM int64 `json:"accuracy_m"`
}

// HandoverRequest is one signed handover.
type HandoverRequest struct {
	// Signed is the statement with the parties' signatures: both, or only
	// the driver's when Code is given.
	Signed manifest.Signed `json:"signed"`
	// Code is the one-time code the other party's clerk typed on the
	// driver's phone (sign-by-code): the gateway then countersigns with
	// that party's custodial key.
	Code string `json:"code,omitempty"`
	GPS  *GPS   `json:"gps,omitempty"`
	// DeviceTime is the phone's clock when the handover was signed (for a
	// statement signed offline, hours before it is sent).
	DeviceTime time.Time `json:"device_time"`
	// SentAt is the phone's clock when it sent the request, to tell the
	// driver how far the phone's clock is off (optional).
	SentAt *time.Time `json:"sent_at,omitempty"`
}

// BatchItem is one handover of a batch, with the phone's id for it.
type BatchItem struct {
	ID string `json:"id"`
	HandoverRequest
}

// BatchRequest is the body of POST /mobile/v1/handovers/batch.
type BatchRequest struct {
	Items  []BatchItem `json:"items"`
	SentAt *time.Time  `json:"sent_at,omitempty"`
}

// Result statuses.
const (
	StatusOK        = "ok"        // committed now
	StatusDuplicate = "duplicate" // committed earlier: a resubmission, nothing written
	StatusError     = "error"     // refused; Problem says why; nothing written
)

// Result is the outcome of one handover.
type Result struct {
	ID            string        `json:"id,omitempty"` // the batch item's id
	Status        string        `json:"status"`
	ManifestID    string        `json:"manifest_id,omitempty"`
	Step          manifest.Step `json:"step,omitempty"`
	TxID          string        `json:"tx_id,omitempty"`
	Block         uint64        `json:"block,omitempty"`
	Committed     *time.Time    `json:"committed,omitempty"`      // ledger time of the transaction
	StatementTime *time.Time    `json:"statement_time,omitempty"` // the time the parties signed, on the ledger as the step's time
	DeviceTime    *time.Time    `json:"device_time,omitempty"`    // the phone's clock at signing, as sent
	ClockOffsetS  *int64        `json:"clock_offset_s,omitempty"` // sent_at − gateway time, seconds
	// Warnings are things the driver should know that did not stop the
	// handover (a phone clock far off, a statement signed long ago).
	Warnings []string         `json:"warnings,omitempty"`
	Hash     string           `json:"hash,omitempty"` // of the manifest version now current: the next statement's prev
	Manifest *Summary         `json:"manifest,omitempty"`
	Next     *Next            `json:"next,omitempty"`
	Problem  *problem.Problem `json:"problem,omitempty"`
}

// BatchResult answers a batch: one result per item, in order.
type BatchResult struct {
	Results    []Result `json:"results"`
	OK         int      `json:"ok"`
	Duplicates int      `json:"duplicates"`
	Failed     int      `json:"failed"`
}

var (
	codePattern     = regexp.MustCompile(`^[0-9]{6}$`)
	clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)
)

// clockWarn is how far the phone's clock may be off before the driver is
// told.
const clockWarn = 2 * time.Minute

func (h *handlers) handover(w http.ResponseWriter, r *http.Request) {
	a, ok := h.handoverActor(w, r)
	if !ok {
		return
	}
	var in HandoverRequest
	if err := httpx.Decode(w, r, &in, MaxHandoverBytes); err != nil {
		problem.Error(w, r, h.d.Log, err)
		return
	}
	res, err := h.apply(r.Context(), a, in, nil, in.SentAt)
	if err != nil {
		problem.Error(w, r, h.d.Log, err)
		return
	}
	status := http.StatusCreated
	if res.Status == StatusDuplicate {
		status = http.StatusOK
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, status, res)
}

func (h *handlers) batch(w http.ResponseWriter, r *http.Request) {
	a, ok := h.handoverActor(w, r)
	if !ok {
		return
	}
	var in BatchRequest
	if err := httpx.Decode(w, r, &in, MaxBatchBytes); err != nil {
		problem.Error(w, r, h.d.Log, err)
		return
	}
	switch {
	case len(in.Items) == 0:
		problem.Write(w, r, problem.New(problem.BadRequest, "a batch holds at least one item / 批量提交至少包含一项", "items"))
		return
	case len(in.Items) > MaxBatchItems:
		problem.Write(w, r, problem.New(problem.TooLarge, fmt.Sprintf("a batch holds at most %d items, this one %d: send the rest in another batch / 每批最多 %d 项", MaxBatchItems, len(in.Items), MaxBatchItems), "items"))
		return
	}
	ids := map[string]bool{}
	for i, it := range in.Items {
		field := fmt.Sprintf("items[%d].id", i)
		if !clientIDPattern.MatchString(it.ID) {
			problem.Write(w, r, problem.New(problem.BadRequest, "every item needs an id of 1–64 letters, digits or ._:-", field))
			return
		}
		if ids[it.ID] {
			problem.Write(w, r, problem.New(problem.BadRequest, fmt.Sprintf("item id %q appears twice", it.ID), field))
			return
		}
		ids[it.ID] = true
	}
	out := BatchResult{Results: make([]Result, 0, len(in.Items))}
	seen := map[string][]string{} // manifest id → ids of this batch's items recorded on it
	for _, it := range in.Items {
		sent := it.SentAt
		if sent == nil {
			sent = in.SentAt
		}
		res, err := h.apply(r.Context(), a, it.HandoverRequest, seen, sent)
		res.ID = it.ID
		if err != nil {
			p := problem.From(err)
			res.Status, res.Problem = StatusError, &p
			if p.Status >= 500 {
				h.d.Log.ErrorContext(r.Context(), "batch handover failed", "manifest_id", res.ManifestID, "actor_org", a.Org, "err", err)
			}
		}
		switch res.Status {
		case StatusOK:
			out.OK++
			seen[res.ManifestID] = append(seen[res.ManifestID], it.ID)
		case StatusDuplicate:
			out.Duplicates++
			seen[res.ManifestID] = append(seen[res.ManifestID], it.ID)
		default:
			out.Failed++
		}
		out.Results = append(out.Results, res)
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusOK, out)
}

// handoverActor admits drivers and organisation admins; which side of the
// handover they may submit for is checked per statement.
func (h *handlers) handoverActor(w http.ResponseWriter, r *http.Request) (auth.Actor, bool) {
	a, ok := paper.ActorFrom(w, r)
	if !ok {
		return a, false
	}
	if a.Role != auth.Driver && a.Role != auth.Admin {
		problem.Write(w, r, problem.New(string(manifest.Forbidden), "handovers are submitted by a carrier's drivers or administrators / 仅承运单位司机或管理员可提交交接", ""))
		return a, false
	}
	return a, true
}

// carrierSide checks that the actor's organisation is the carrier side of
// the handover: the taker on pickup, either carrier on a relay, the giver
// on delivery.
func carrierSide(a auth.Actor, st manifest.Statement) error {
	ok := false
	switch st.Step {
	case manifest.StepPickup:
		ok = st.To.Org == a.Org
	case manifest.StepRelay:
		ok = st.From.Org == a.Org || st.To.Org == a.Org
	case manifest.StepDelivery:
		ok = st.From.Org == a.Org
	}
	if !ok {
		return manifest.FieldError(manifest.Forbidden, "statement", "%s submits handovers where it is the carrier; this %s is between %s and %s / 只能提交本承运单位参与的交接", a.Org, st.Step, st.From.Org, st.To.Org)
	}
	return nil
}

// apply submits one handover. On error nothing was written. seen (batch
// only) lists, per manifest, the items of this batch already recorded.
func (h *handlers) apply(ctx context.Context, a auth.Actor, in HandoverRequest, seen map[string][]string, sentAt *time.Time) (Result, error) {
	received := h.d.Now().UTC()
	res := Result{}
	if in.DeviceTime.IsZero() {
		return res, manifest.FieldError(manifest.Invalid, "device_time", "device_time, the phone's clock when the handover was signed, is required")
	}
	dt := in.DeviceTime.UTC()
	res.DeviceTime = &dt
	if sentAt != nil {
		off := int64(sentAt.Sub(received) / time.Second)
		res.ClockOffsetS = &off
		if d := sentAt.Sub(received); d > clockWarn || d < -clockWarn {
			res.Warnings = append(res.Warnings, fmt.Sprintf("手机时钟偏差 %d 秒，请校准 / the phone's clock is %d s off; set it right, statement times come from it", off, off))
		}
	}
	if g := in.GPS; g != nil {
		if g.LatE6 < -90_000_000 || g.LatE6 > 90_000_000 || g.LonE6 < -180_000_000 || g.LonE6 > 180_000_000 || g.AccuracyM < 0 || g.AccuracyM > 1_000_000 {
			return res, manifest.FieldError(manifest.Invalid, "gps", "position out of range (micro-degrees; accuracy 0–1,000,000 m)")
		}
	}
	raw, err := json.Marshal(in.Signed)
	if err != nil {
		return res, manifest.FieldError(manifest.Invalid, "signed", "%v", err)
	}
	env, st, canonical, err := manifest.ParseSigned(raw)
	if err != nil {
		return res, err
	}
	res.ManifestID, res.Step = st.Manifest, st.Step
	stTime := st.Time.UTC()
	res.StatementTime = &stTime
	if d := dt.Sub(stTime); d > clockWarn || d < -clockWarn {
		res.Warnings = append(res.Warnings, "device_time differs from the signed statement time by "+(d.Round(time.Second)).String()+"; the ledger records the signed time / 设备时间与签署时间不一致，账本以签署时间为准")
	}
	if !st.Step.Handover() {
		return res, manifest.FieldError(manifest.Invalid, "statement.step", "the driver API takes pickup, relay and delivery; %s is signed in the console", st.Step)
	}
	if err := carrierSide(a, st); err != nil {
		return res, manifest.WithOp(err, "handover", st.Manifest)
	}

	// Look at the current version first: a resubmission is answered from
	// the record before any one-time code is spent, and a statement signed
	// against an older version is refused with what changed since.
	m, doc, err := paper.Load(ctx, h.d.Ledger, a, st.Manifest)
	if err != nil {
		return res, err
	}
	digest := manifest.Hash(canonical)
	if rec, ok := recorded(m, digest); ok {
		return h.duplicate(ctx, a, res, m, doc, rec), nil
	}
	if st.Prev != manifest.Hash(doc) {
		return res, h.staleConflict(ctx, a, st, m, seen)
	}
	if in.Code != "" {
		if !codePattern.MatchString(in.Code) {
			return res, manifest.FieldError(manifest.Invalid, "code", "the one-time code is 6 digits")
		}
		if h.d.Countersign == nil {
			return res, manifest.FieldError(manifest.Invalid, "code", "sign-by-code is not enabled on this gateway")
		}
		if len(env.Signatures) != 1 {
			return res, manifest.FieldError(manifest.Invalid, "signed.signatures", "with a one-time code, send only your own signature; the gateway adds the other party's")
		}
		// A code is spent by a countersignature: make sure the phone's own
		// signature holds before spending it on a statement the ledger
		// would refuse.
		if err := h.checkOwnSignature(ctx, a, st, canonical, env.Signatures[0]); err != nil {
			return res, manifest.WithOp(err, "handover", st.Manifest)
		}
		sig, err := h.d.Countersign(ctx, a, st.Manifest, in.Code, canonical)
		if err != nil {
			return res, manifest.WithOp(err, "handover", st.Manifest)
		}
		env.Signatures = append(env.Signatures, sig)
		if raw, err = json.Marshal(manifest.Signed{Statement: canonical, Signatures: env.Signatures}); err != nil {
			return res, manifest.Errorf(manifest.Internal, "encode signed statement: %w", err)
		}
	}

	commit, err := h.d.Ledger.Submit(ctx, paper.Caller(a), "Handover", raw)
	if err != nil {
		if manifest.CodeOf(err) == manifest.Conflict {
			// Another submission of the same statement, or another step,
			// may have won the race.
			if m2, doc2, lerr := paper.Load(ctx, h.d.Ledger, a, st.Manifest); lerr == nil {
				if rec, ok := recorded(m2, digest); ok {
					return h.duplicate(ctx, a, res, m2, doc2, rec), nil
				}
				if st.Prev != manifest.Hash(doc2) {
					return res, h.staleConflict(ctx, a, st, m2, seen)
				}
			}
		}
		return res, err
	}
	var after manifest.Manifest
	if err := manifest.Decode(commit.Payload, &after); err != nil {
		return res, manifest.Errorf(manifest.Internal, "decode committed manifest: %w", err)
	}
	committed := commit.Time.UTC()
	res.Status, res.TxID, res.Block, res.Committed = StatusOK, commit.TxID, commit.Block, &committed
	h.describe(ctx, a, &res, &after, commit.Payload)
	if received.Sub(stTime) > time.Hour {
		res.Warnings = append(res.Warnings, fmt.Sprintf("signed offline %s before it reached the ledger / 离线签署后 %s 才上链", received.Sub(stTime).Round(time.Minute), received.Sub(stTime).Round(time.Minute)))
	}
	h.d.Log.InfoContext(ctx, "handover committed", "manifest_id", st.Manifest, "step", string(st.Step), "tx_id", commit.TxID, "block", commit.Block, "actor_org", a.Org, "by_code", in.Code != "")
	return res, nil
}

// checkOwnSignature verifies the submitting side's signature against its
// registered key, as the contract will.
func (h *handlers) checkOwnSignature(ctx context.Context, a auth.Actor, st manifest.Statement, canonical []byte, sig manifest.Signature) error {
	var party *manifest.Party
	for _, p := range []*manifest.Party{st.From, st.To} {
		if p != nil && p.Org == a.Org {
			party = p
		}
	}
	if party == nil || party.Key != sig.Key {
		return manifest.FieldError(manifest.BadSignature, "signed.signatures", "with a one-time code, send the signature of your own organisation's key named in the statement")
	}
	b, err := h.d.Ledger.Evaluate(ctx, paper.Caller(a), "GetKey", []byte(sig.Key))
	if manifest.CodeOf(err) == manifest.NotFound {
		return manifest.FieldError(manifest.BadSignature, "signed.signatures", "key %s is not registered: have your administrator register this phone's key", sig.Key)
	}
	if err != nil {
		return err
	}
	var k manifest.Key
	if err := manifest.Decode(b, &k); err != nil {
		return manifest.Errorf(manifest.Internal, "decode key %s: %w", sig.Key, err)
	}
	pub, err := signature.ParsePublicJWK(k.JWK)
	if err != nil {
		return manifest.Errorf(manifest.Internal, "registered key %s: %w", sig.Key, err)
	}
	if k.Org != party.Org || k.Revoked != nil {
		return manifest.FieldError(manifest.BadSignature, "signed.signatures", "key %s is not an active key of %s", sig.Key, party.Org)
	}
	if err := signature.Verify(pub, canonical, sig.Sig); err != nil {
		return manifest.FieldError(manifest.BadSignature, "signed.signatures", "your signature does not verify: %v", err)
	}
	return nil
}

func (h *handlers) describe(ctx context.Context, a auth.Actor, res *Result, m *manifest.Manifest, doc []byte) {
	orgs := h.orgs.Get(ctx, h.d.Ledger, a, paper.Parties(m)...)
	s := summarize(m, manifest.Hash(doc), orgs)
	res.Hash, res.Manifest, res.Next = s.Hash, &s, nextStep(m, a, orgs)
}

// recorded finds the step whose statement digest is digest.
func recorded(m *manifest.Manifest, digest string) (manifest.Record, bool) {
	i := slices.IndexFunc(m.Steps, func(r manifest.Record) bool { return r.Digest == digest })
	if i < 0 {
		return manifest.Record{}, false
	}
	return m.Steps[i], true
}

func (h *handlers) duplicate(ctx context.Context, a auth.Actor, res Result, m *manifest.Manifest, doc []byte, rec manifest.Record) Result {
	committed := rec.Committed.UTC()
	res.Status, res.TxID, res.Committed = StatusDuplicate, rec.TxID, &committed
	if tx, err := h.d.Ledger.Tx(ctx, rec.TxID); err == nil {
		res.Block = tx.Block
	}
	h.describe(ctx, a, &res, m, doc)
	return res
}

// staleConflict explains why a statement's prev is not the current
// version: which version it was signed against, and what was committed
// since — in an offline batch typically the item before it.
func (h *handlers) staleConflict(ctx context.Context, a auth.Actor, st manifest.Statement, m *manifest.Manifest, seen map[string][]string) error {
	var b strings.Builder
	hist, err := h.history(ctx, a, m.ID)
	at := -1
	if err == nil {
		at = slices.IndexFunc(hist, func(e chaincode.HistoryEntry) bool { return e.Hash == st.Prev })
	}
	if at < 0 {
		fmt.Fprintf(&b, "the statement's prev names no version of manifest %s; it is at version %d (%s)", m.ID, m.Version, m.Status)
	} else {
		fmt.Fprintf(&b, "the %s was signed against version %d (%s) of %s, but the ledger is at version %d (%s)", st.Step, hist[at].Version, hist[at].Status, m.ID, m.Version, m.Status)
		var since []string
		for _, e := range hist[at+1:] {
			for _, r := range m.Steps {
				if r.TxID == e.TxID {
					since = append(since, fmt.Sprintf("%s in tx %s at %s", r.Step, r.TxID, r.Committed.UTC().Format(time.RFC3339)))
				}
			}
		}
		if len(since) > 0 {
			fmt.Fprintf(&b, "; since then: %s", strings.Join(since, ", "))
		}
	}
	if items := seen[m.ID]; len(items) > 0 {
		fmt.Fprintf(&b, " (recorded for item %s of this batch)", strings.Join(items, ", "))
	}
	b.WriteString(". A handover signed offline can only follow the version the phone last saw: fetch the current template and sign again. / 离线签署的交接只能基于手机最后看到的联单版本；请联网获取最新模板后重新签署。")
	return &manifest.Error{Code: manifest.Conflict, Op: "handover", Manifest: m.ID, Field: "statement.prev", Msg: b.String()}
}

func itoa(n int) string { return strconv.Itoa(n) }
