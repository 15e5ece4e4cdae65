package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"wasteledger/chaincode"
	"wasteledger/gateway/audit"
	"wasteledger/gateway/auth"
	"wasteledger/gateway/httpx"
	"wasteledger/gateway/index"
	"wasteledger/gateway/ledger"
	"wasteledger/gateway/problem"
	"wasteledger/gateway/reconcile/calendar"
	"wasteledger/gateway/reconcile/indicator"
	"wasteledger/manifest"
	"wasteledger/manifest/jcs"
	"wasteledger/manifest/signature"
)

// Deps is what the regulator's API needs.
type Deps struct {
	Index  *index.Index
	Ledger ledger.Ledger
	// Caller is the ledger identity read-only queries run as (a
	// regulator's member, e.g. {MSP: "RegulatorMSP", ID: "gateway"}).
	Caller chaincode.Caller
	// Prover gives Merkle inclusion proofs; the embedded ledger
	// (*embedded.Ledger) is one. On Fabric BlockProof gives the block
	// holding the transaction and the ordering service's signature on its
	// header instead ((*fabricgw.Ledger).BlockProof); with neither the
	// proof route answers 501.
	Prover     audit.Prover
	BlockProof func(ctx context.Context, txID string) (any, error)
	// Sign signs a snapshot's canonical JSON with a key of the actor's
	// organisation registered on the ledger (the gateway's custodial key of
	// the regulator).
	Sign         func(ctx context.Context, actor auth.Actor, canonical []byte) (manifest.Signature, error)
	Calendar     *calendar.Calendar      // default calendar.Default()
	Institutions []indicator.Institution // registry of medical institutions; nil: coverage has no denominator
	Limits       Limits
	Log          *slog.Logger
	Now          func() time.Time // default time.Now
}

func (d *Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Deps) cal() *calendar.Calendar {
	if d.Calendar == nil {
		return defaultCalendar
	}
	return d.Calendar
}

var defaultCalendar = calendar.Default()

var regulators = []auth.Role{auth.Regulator, auth.Admin}

// Routes returns the regulator's endpoints: indicators (JSON or CSV),
// drill-down, signed snapshots, anomalies and audit.
func Routes(d Deps) []httpx.Route {
	h := &handlers{d: &d}
	return []httpx.Route{
		{Method: http.MethodGet, Path: "/api/v1/indicators", Name: "getIndicators", Roles: regulators, Handler: h.indicators},
		{Method: http.MethodGet, Path: "/api/v1/indicators/snapshots", Name: "listIndicatorSnapshots", Roles: regulators, Handler: h.snapshots},
		{Method: http.MethodPost, Path: "/api/v1/indicators/snapshots", Name: "publishIndicatorSnapshot", Roles: []auth.Role{auth.Regulator}, Handler: h.publish},
		{Method: http.MethodGet, Path: "/api/v1/indicators/snapshots/{id}/verification", Name: "verifyIndicatorSnapshot", Roles: regulators, Handler: h.snapshot},
		{Method: http.MethodGet, Path: "/api/v1/indicators/{indicator}/manifests", Name: "getIndicatorManifests", Roles: regulators, Handler: h.drill},
		{Method: http.MethodGet, Path: "/api/v1/anomalies", Name: "listAnomalies", Roles: regulators, Handler: h.anomalies},
		{Method: http.MethodPost, Path: "/api/v1/anomalies/{id}/ack", Name: "acknowledgeAnomaly", Roles: []auth.Role{auth.Regulator}, Handler: h.ack},
		{Method: http.MethodGet, Path: "/api/v1/audit/manifests/{id}", Name: "auditManifest", Handler: h.auditManifest},
		{Method: http.MethodGet, Path: "/api/v1/audit/proof/{txid}", Name: "auditProof", Roles: regulators, Handler: h.proof},
		{Method: http.MethodGet, Path: "/api/v1/audit/export", Name: "auditExport", Roles: regulators, Handler: h.export},
	}
}

type handlers struct{ d *Deps }

func (h *handlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	problem.Error(w, r, h.d.Log, err)
}

func bad(field, format string, args ...any) error {
	return manifest.FieldError(manifest.Invalid, field, format, args...)
}

// params reads region, period and as_of.
func (h *handlers) params(r *http.Request) (indicator.Params, error) {
	q := r.URL.Query()
	region := q.Get("region")
	if region == "" {
		return indicator.Params{}, bad("region", "region (a GB/T 2260 code) is required")
	}
	if _, _, err := index.RegionRange(region); err != nil {
		return indicator.Params{}, err
	}
	p, err := indicator.ParsePeriod(q.Get("period"))
	if err != nil {
		return indicator.Params{}, err
	}
	asOf := h.d.now().UTC()
	if s := q.Get("as_of"); s != "" {
		if asOf, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return indicator.Params{}, bad("as_of", "as_of must be an RFC 3339 time")
		}
	}
	cfg, err := h.d.Index.Config(r.Context())
	if err != nil {
		return indicator.Params{}, err
	}
	return indicator.Params{Region: region, Period: p, AsOf: asOf, Calendar: h.d.cal(), Config: cfg,
		ConfirmDays: h.d.Limits.withDefaults().ConfirmDays, Institutions: h.d.Institutions}, nil
}

func wantsCSV(r *http.Request) bool {
	return r.URL.Query().Get("format") == "csv" || strings.Contains(r.Header.Get("Accept"), "text/csv")
}

func (h *handlers) indicators(w http.ResponseWriter, r *http.Request) {
	p, err := h.params(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rep, err := indicator.FromIndex(r.Context(), h.d.Index, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if wantsCSV(r) {
		var b bytes.Buffer
		if err := indicator.WriteCSV(&b, rep); err != nil {
			h.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="indicators-`+p.Region+`-`+p.Period.Code+`.csv"`)
		w.WriteHeader(http.StatusOK)
		w.Write(b.Bytes())
		return
	}
	httpx.JSON(w, http.StatusOK, rep)
}

// DrillDown is the answer of the drill-down route.
type DrillDown struct {
	Indicator string          `json:"indicator"`
	Region    string          `json:"region"`
	Period    string          `json:"period"`
	AsOf      time.Time       `json:"as_of"`
	Count     int             `json:"count"`
	IDs       []string        `json:"ids"`
	Items     []index.Summary `json:"items"` // the first limit (default 100) manifests
}

func (h *handlers) drill(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("indicator")
	if !indicator.Known(id) {
		h.fail(w, r, manifest.Errorf(manifest.NotFound, "no indicator %q; known: %s", id, strings.Join(indicator.IDs(), ", ")))
		return
	}
	p, err := h.params(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 0 || limit > index.MaxLimit {
			h.fail(w, r, bad("limit", "limit must be 0–%d", index.MaxLimit))
			return
		}
	}
	ids, err := indicator.Contributing(r.Context(), h.d.Index, p, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := DrillDown{Indicator: id, Region: p.Region, Period: p.Period.Code, AsOf: p.AsOf, Count: len(ids), IDs: ids, Items: []index.Summary{}}
	for _, mid := range ids[:min(limit, len(ids))] {
		s, err := h.d.Index.Get(r.Context(), mid)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		out.Items = append(out.Items, s)
	}
	httpx.JSON(w, http.StatusOK, out)
}

// Snapshot is the document a regulator signs and publishes on the ledger.
type Snapshot struct {
	V          int                   `json:"v"`
	Org        string                `json:"org"`
	Region     string                `json:"region"`
	Period     string                `json:"period"`
	AsOf       time.Time             `json:"as_of"`
	Published  time.Time             `json:"published"`
	Indicators []indicator.Indicator `json:"indicators"`
}

// SnapshotRequest is the body of the publish route.
type SnapshotRequest struct {
	Region string `json:"region"`
	Period string `json:"period"`
}

func (h *handlers) publish(w http.ResponseWriter, r *http.Request) {
	actor, _ := auth.FromContext(r.Context())
	var req SnapshotRequest
	if err := httpx.Decode(w, r, &req, 4<<10); err != nil {
		h.fail(w, r, err)
		return
	}
	if h.d.Sign == nil {
		h.fail(w, r, manifest.Errorf(manifest.Unavailable, "no signer is configured for indicator snapshots"))
		return
	}
	q := r.URL.Query()
	q.Set("region", req.Region)
	q.Set("period", req.Period)
	q.Del("as_of")
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	p, err := h.params(r2)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pub, err := Publish(r.Context(), h.d, actor, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, pub)
}

// Publish computes the indicators, signs the snapshot as the actor's
// organisation and submits it to the ledger (PublishIndicators).
func Publish(ctx context.Context, d *Deps, actor auth.Actor, p indicator.Params) (chaincode.Published, error) {
	rep, err := indicator.FromIndex(ctx, d.Index, p)
	if err != nil {
		return chaincode.Published{}, err
	}
	snap := Snapshot{V: 1, Org: actor.Org, Region: rep.Region, Period: rep.Period, AsOf: rep.AsOf, Published: d.now().UTC().Truncate(time.Second), Indicators: rep.Indicators}
	canonical, err := jcs.Marshal(snap)
	if err != nil {
		return chaincode.Published{}, manifest.Errorf(manifest.Internal, "encode snapshot: %w", err)
	}
	sig, err := d.Sign(ctx, actor, canonical)
	if err != nil {
		return chaincode.Published{}, err
	}
	arg, err := json.Marshal(chaincode.SignedSnapshot{Snapshot: canonical, Signature: sig})
	if err != nil {
		return chaincode.Published{}, manifest.Errorf(manifest.Internal, "encode snapshot: %w", err)
	}
	c, err := d.Ledger.Submit(ctx, chaincode.Caller{MSP: actor.MSP, ID: actor.Subject}, "PublishIndicators", arg)
	if err != nil {
		return chaincode.Published{}, err
	}
	var pub chaincode.Published
	if err := manifest.Decode(c.Payload, &pub); err != nil {
		return pub, manifest.Errorf(manifest.Internal, "decode published snapshot: %w", err)
	}
	return pub, nil
}

func (h *handlers) snapshots(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ss, err := h.d.Index.Snapshots(r.Context(), q.Get("region"), q.Get("period"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"items": ss})
}

// SnapshotCheck is the answer of the snapshot route: the published
// snapshot, whether its signature verifies against the key on the ledger,
// and whether the figures recomputed now from the ledger data as of the
// snapshot's as_of are the published ones.
type SnapshotCheck struct {
	Published   chaincode.Published `json:"published"`
	SignatureOK bool                `json:"signature_ok"`
	DigestOK    bool                `json:"digest_ok"`
	Verdict     string              `json:"verdict"` // unchanged, changed or invalid
	Changed     []string            `json:"changed,omitempty"`
	Detail      string              `json:"detail,omitempty"`
}

func (h *handlers) snapshot(w http.ResponseWriter, r *http.Request) {
	c, err := VerifySnapshot(r.Context(), h.d, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, c)
}

// VerifySnapshot reads a published snapshot from the ledger, checks its
// digest and signature, and recomputes its figures.
func VerifySnapshot(ctx context.Context, d *Deps, id string) (SnapshotCheck, error) {
	var out SnapshotCheck
	b, err := d.Ledger.Evaluate(ctx, d.Caller, "GetIndicators", []byte(id))
	if err != nil {
		return out, err
	}
	if err := manifest.Decode(b, &out.Published); err != nil {
		return out, manifest.Errorf(manifest.Internal, "decode snapshot %s: %w", id, err)
	}
	pub := out.Published
	out.DigestOK = manifest.Hash([]byte(pub.Snapshot)) == pub.Digest
	a := audit.Auditor{Ledger: d.Ledger, Caller: d.Caller}
	if k, err := a.Key(ctx, pub.Signature.Key); err == nil && k.Org == pub.Org {
		if pk, err := signature.ParsePublicJWK(k.JWK); err == nil {
			out.SignatureOK = signature.Verify(pk, []byte(pub.Snapshot), pub.Signature.Sig) == nil
		}
	}
	var snap Snapshot
	if err := manifest.Decode([]byte(pub.Snapshot), &snap); err != nil || !out.DigestOK || !out.SignatureOK {
		out.Verdict, out.Detail = "invalid", "the snapshot's digest or signature does not verify"
		return out, nil
	}
	period, err := indicator.ParsePeriod(snap.Period)
	if err != nil {
		return out, err
	}
	cfg, err := d.Index.Config(ctx)
	if err != nil {
		return out, err
	}
	rep, err := indicator.FromIndex(ctx, d.Index, indicator.Params{Region: snap.Region, Period: period, AsOf: snap.AsOf, Calendar: d.cal(), Config: cfg,
		ConfirmDays: d.Limits.withDefaults().ConfirmDays, Institutions: d.Institutions})
	if err != nil {
		return out, err
	}
	for _, in := range snap.Indicators {
		now, ok := rep.Find(in.ID)
		if !ok || !sameFigure(in, now) {
			out.Changed = append(out.Changed, in.ID)
		}
	}
	out.Verdict = "unchanged"
	if len(out.Changed) > 0 {
		out.Verdict = "changed"
		out.Detail = "recomputed from the ledger data as of " + snap.AsOf.Format(time.RFC3339) + ", these figures differ from the published ones"
	}
	return out, nil
}

func sameFigure(a, b indicator.Indicator) bool {
	figure := func(in indicator.Indicator) []byte {
		if len(in.Breakdown) == 0 {
			in.Breakdown = nil
		}
		j, _ := jcs.Marshal([]any{in.Value, in.Numerator, in.Denominator, in.Manifests, in.Breakdown})
		return j
	}
	return bytes.Equal(figure(a), figure(b))
}

func (h *handlers) anomalies(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := index.AnomalyFilter{Rule: q.Get("rule"), Severity: index.Severity(q.Get("severity")), Manifest: q.Get("manifest")}
	switch f.Severity {
	case "", index.Low, index.Medium, index.High:
	default:
		h.fail(w, r, bad("severity", "severity must be low, medium or high"))
		return
	}
	for name, dst := range map[string]**bool{"acknowledged": &f.Acknowledged, "open": &f.Open} {
		if s := q.Get(name); s != "" {
			v, err := strconv.ParseBool(s)
			if err != nil {
				h.fail(w, r, bad(name, "%s must be true or false", name))
				return
			}
			*dst = &v
		}
	}
	if s := q.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			h.fail(w, r, bad("since", "since must be an RFC 3339 time"))
			return
		}
		f.Since = t
	}
	for name, dst := range map[string]*int64{"limit": nil, "before": &f.Before} {
		if s := q.Get(name); s != "" {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil || v < 0 {
				h.fail(w, r, bad(name, "%s must be a non-negative integer", name))
				return
			}
			if dst != nil {
				*dst = v
			} else {
				f.Limit = int(v)
			}
		}
	}
	page, err := h.d.Index.Anomalies(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, page)
}

// AckRequest is the body of the acknowledge route.
type AckRequest struct {
	Note string `json:"note"`
}

func (h *handlers) ack(w http.ResponseWriter, r *http.Request) {
	actor, _ := auth.FromContext(r.Context())
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		h.fail(w, r, manifest.Errorf(manifest.NotFound, "anomaly %q not found", r.PathValue("id")))
		return
	}
	var req AckRequest
	if r.ContentLength != 0 {
		if err := httpx.Decode(w, r, &req, 4<<10); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if len(req.Note) > 1000 {
		h.fail(w, r, bad("note", "note is at most 1000 bytes"))
		return
	}
	a, err := h.d.Index.Acknowledge(r.Context(), id, actor.Subject+"@"+actor.Org, req.Note, h.d.now())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, a)
}

func (h *handlers) auditor() *audit.Auditor {
	return &audit.Auditor{Ledger: h.d.Ledger, Caller: h.d.Caller, Prover: h.d.Prover}
}

func (h *handlers) auditManifest(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := manifest.ValidNumber(id); err != nil {
		h.fail(w, r, manifest.FieldError(manifest.Invalid, "id", "%v", err))
		return
	}
	actor, _ := auth.FromContext(r.Context())
	hist, err := h.auditor().History(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if actor.Role != auth.Regulator && actor.Role != auth.Admin {
		var m manifest.Manifest
		if err := manifest.Decode(hist.Current, &m); err != nil {
			h.fail(w, r, manifest.Errorf(manifest.Internal, "decode %s: %w", id, err))
			return
		}
		party := actor.Org == m.Producer || actor.Org == m.Receiver
		for _, l := range m.Legs {
			party = party || actor.Org == l.Carrier
		}
		if !party {
			h.fail(w, r, manifest.Errorf(manifest.Forbidden, "only regulators and the manifest's parties may audit %s", id))
			return
		}
	}
	httpx.JSON(w, http.StatusOK, hist)
}

func (h *handlers) proof(w http.ResponseWriter, r *http.Request) {
	if h.d.Prover == nil && h.d.BlockProof != nil {
		p, err := h.d.BlockProof(r.Context(), r.PathValue("txid"))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		httpx.JSON(w, http.StatusOK, p)
		return
	}
	if h.d.Prover == nil {
		problem.Write(w, r, problem.Problem{Type: problem.TypeBase + "not_implemented", Title: "Not implemented on this ledger", TitleZH: "当前账本不支持",
			Status: http.StatusNotImplemented, Code: "not_implemented",
			Detail: "this ledger gives no inclusion proofs; use the manifest's audit history (tx ids, block numbers and re-verified signatures) instead / 当前账本不提供包含证明"})
		return
	}
	p, err := h.auditor().Proof(r.Context(), r.PathValue("txid"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, p)
}

func (h *handlers) export(w http.ResponseWriter, r *http.Request) {
	p, err := h.params(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ids, err := h.d.Index.ManifestIDs(r.Context(), index.Scan{Region: p.Region, From: p.Period.From, To: p.Period.To})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", `attachment; filename="audit-`+p.Region+`-`+p.Period.Code+`.jsonl"`)
	w.WriteHeader(http.StatusOK)
	sel := audit.Selection{Region: p.Region, Period: p.Period.Code, From: p.Period.From, To: p.Period.To, IDs: ids}
	if err := h.auditor().Export(r.Context(), w, sel, h.d.now()); err != nil {
		// The status is sent: the missing trailer tells the verifier.
		if h.d.Log != nil {
			h.d.Log.ErrorContext(r.Context(), "audit export failed", "http.route", r.URL.Path, "err", err)
		}
	}
}
