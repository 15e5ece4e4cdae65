package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"time"

	"wasteledger/chaincode"
	"wasteledger/gateway/audit"
	"wasteledger/gateway/index"
	"wasteledger/gateway/ledger"
	"wasteledger/gateway/reconcile/calendar"
	"wasteledger/manifest"
)

// Ledger is what reconciliation reads of the ledger; ledger.Ledger
// satisfies it.
type Ledger interface {
	Evaluate(ctx context.Context, caller chaincode.Caller, fn string, args ...[]byte) ([]byte, error)
	Tx(ctx context.Context, txID string) (ledger.TxInfo, error)
	Events(ctx context.Context, after ledger.Cursor, limit int) ([]ledger.Event, error)
}

// Reconciler runs the rules over the index and checks the index against
// the ledger.
type Reconciler struct {
	Index    *index.Index
	Ledger   Ledger
	Caller   chaincode.Caller // the identity ledger queries run as
	Calendar *calendar.Calendar
	Limits   Limits
	// Dismantlers, when not nil, lists the dismantling enterprises (see
	// Env.Dismantlers).
	Dismantlers map[string]bool
	Log         *slog.Logger
}

func (r *Reconciler) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

// RulesResult summarises a run of the rules.
type RulesResult struct {
	Manifests int            `json:"manifests"`
	Findings  int            `json:"findings"`
	ByRule    map[string]int `json:"by_rule"`
	Added     int            `json:"added"`
	Resolved  int            `json:"resolved"`
	Duration  time.Duration  `json:"duration"`
}

// Rules applies every manifest rule to every manifest as of asOf and
// records the findings as anomalies.
func (r *Reconciler) Rules(ctx context.Context, asOf time.Time) (RulesResult, error) {
	start := time.Now()
	env, err := r.env(ctx, asOf)
	if err != nil {
		return RulesResult{}, err
	}
	c := NewChecker(env)
	res := RulesResult{ByRule: map[string]int{}}
	if err := r.Index.Facts(ctx, index.Scan{Steps: true}, func(f *index.Fact) error {
		res.Manifests++
		c.Add(f)
		return nil
	}); err != nil {
		return res, err
	}
	fs := c.Findings()
	for _, f := range fs {
		res.ByRule[f.Rule]++
	}
	res.Findings = len(fs)
	res.Added, res.Resolved, err = r.Index.Record(ctx, ManifestRules, fs, time.Now())
	res.Duration = time.Since(start)
	return res, err
}

func (r *Reconciler) env(ctx context.Context, asOf time.Time) (Env, error) {
	cfg, err := r.Index.Config(ctx)
	if err != nil {
		return Env{}, err
	}
	orgs, err := r.Index.Orgs(ctx)
	if err != nil {
		return Env{}, err
	}
	permits, err := r.Index.Permits(ctx)
	if err != nil {
		return Env{}, err
	}
	cal := r.Calendar
	if cal == nil {
		cal = calendar.Default()
	}
	return Env{AsOf: asOf, Calendar: cal, Config: cfg, Limits: r.Limits, Orgs: orgs, Permits: permits, Dismantlers: r.Dismantlers}, nil
}

// CheckOptions select what Check compares.
type CheckOptions struct {
	// Full also walks the ledger's event feed from genesis up to the
	// index's checkpoint, to find manifests the index has no trace of.
	Full bool
	// Repair rewrites the rows of every manifest found missing or
	// divergent from the ledger's history.
	Repair bool
	// IDs limits the check to these manifests (default: all the index knows).
	IDs []string
	// Progress, if not nil, is called every 1000 manifests.
	Progress func(done int)
}

// Problem is one manifest where the index and the ledger disagree.
type Problem struct {
	Manifest string `json:"manifest"`
	Rule     string `json:"rule"` // index_gap or index_divergence
	Detail   string `json:"detail"`
	Repaired bool   `json:"repaired"`
}

// CheckResult summarises a ledger/index check.
type CheckResult struct {
	Checked  int           `json:"checked"`
	Problems []Problem     `json:"problems"`
	Duration time.Duration `json:"duration"`
}

// Check compares every manifest of the index with the ledger: the ledger's
// current document (GetManifest) is projected again and must equal what
// the index reads back — version, hash, status, lines, receipts,
// processing, units, steps. Missing rows are a gap, different rows a
// divergence; a version the follower has not reached yet is neither. Each
// problem becomes an anomaly and, with Repair, is repaired from the
// ledger's history and resolved.
func (r *Reconciler) Check(ctx context.Context, o CheckOptions) (CheckResult, error) {
	start := time.Now()
	var res CheckResult
	ids := o.IDs
	if ids == nil {
		if err := r.Index.Heads(ctx, func(h index.Head) error {
			ids = append(ids, h.ID)
			return nil
		}); err != nil {
			return res, err
		}
	}
	if o.Full {
		extra, err := r.ledgerOnly(ctx, ids)
		if err != nil {
			return res, err
		}
		ids = append(ids, extra...)
	}
	checkpoint := r.Index.Checkpoint()
	const chunk = 256
	for i := 0; i < len(ids); i += chunk {
		part := ids[i:min(i+chunk, len(ids))]
		have := map[string]index.Fact{}
		err := r.Index.Facts(ctx, index.Scan{IDs: part, Steps: true}, func(f *index.Fact) error {
			c := *f
			c.Lines = append([]index.FactLine(nil), f.Lines...)
			c.Followups = append([]index.FactFollowup(nil), f.Followups...)
			c.Steps = append([]index.FactStep(nil), f.Steps...)
			if len(c.Lines) == 0 {
				c.Lines = nil
			}
			if len(c.Followups) == 0 {
				c.Followups = nil
			}
			if len(c.Steps) == 0 {
				c.Steps = nil
			}
			have[f.ID] = c
			return nil
		})
		if err != nil {
			return res, err
		}
		for _, id := range part {
			res.Checked++
			if o.Progress != nil && res.Checked%1000 == 0 {
				o.Progress(res.Checked)
			}
			p, err := r.compare(ctx, id, have, checkpoint)
			if err != nil {
				return res, err
			}
			if p == nil {
				continue
			}
			if o.Repair {
				if err := r.repair(ctx, id); err != nil {
					return res, fmt.Errorf("repair %s: %w", id, err)
				}
				p.Repaired = true
			}
			res.Problems = append(res.Problems, *p)
		}
	}
	var fs []index.Finding
	for _, p := range res.Problems {
		fs = append(fs, index.Finding{Key: p.Rule + ":" + p.Manifest, Rule: p.Rule, Severity: index.High, Detail: p.Detail, Manifests: []string{p.Manifest}})
	}
	now := time.Now()
	if _, _, err := r.Index.Record(ctx, nil, fs, now); err != nil {
		return res, err
	}
	for _, p := range res.Problems {
		if p.Repaired {
			if err := r.Index.Resolve(ctx, p.Rule+":"+p.Manifest, " — repaired from the ledger at "+now.UTC().Format(time.RFC3339), now); err != nil {
				return res, err
			}
		}
	}
	res.Duration = time.Since(start)
	for _, p := range res.Problems {
		r.log().Warn("reconcile: index differs from the ledger", "manifest_id", p.Manifest, "rule", p.Rule, "detail", p.Detail, "repaired", p.Repaired)
	}
	return res, nil
}

func (r *Reconciler) compare(ctx context.Context, id string, have map[string]index.Fact, checkpoint ledger.Cursor) (*Problem, error) {
	doc, err := r.Ledger.Evaluate(ctx, r.Caller, "GetManifest", []byte(id))
	if manifest.CodeOf(err) == manifest.NotFound {
		return &Problem{Manifest: id, Rule: RuleIndexDivergence, Detail: "the index holds a manifest the ledger does not have"}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s from the ledger: %w", id, err)
	}
	var m manifest.Manifest
	if err := manifest.Decode(doc, &m); err != nil {
		return nil, manifest.Errorf(manifest.Internal, "decode %s: %w", id, err)
	}
	want := index.FactOf(&m, manifest.Hash(doc))
	got, ok := have[id]
	if ok && reflect.DeepEqual(got, want) {
		return nil, nil
	}
	if !ok || got.Version < want.Version {
		// Has the follower passed the transaction of the ledger's version?
		// If not, the index is merely behind.
		txID, err := r.latestTx(ctx, id)
		if err != nil {
			return nil, err
		}
		info, err := r.Ledger.Tx(ctx, txID)
		if err != nil {
			return nil, fmt.Errorf("locate %s: %w", txID, err)
		}
		if checkpoint.Before(ledger.Cursor{Block: info.Block, Tx: info.Index}) {
			return nil, nil
		}
		if !ok {
			return &Problem{Manifest: id, Rule: RuleIndexGap,
				Detail: fmt.Sprintf("the ledger has %s at version %d (%s, block %d) but the index has no row for it", id, m.Version, m.Status, info.Block)}, nil
		}
		return &Problem{Manifest: id, Rule: RuleIndexGap,
			Detail: fmt.Sprintf("the index has %s at version %d, the ledger at version %d (block %d), which the index's checkpoint has passed", id, got.Version, m.Version, info.Block)}, nil
	}
	return &Problem{Manifest: id, Rule: RuleIndexDivergence, Detail: "index rows differ from the ledger's document: " + diff(got, want)}, nil
}

// latestTx is the transaction of the manifest's current version.
func (r *Reconciler) latestTx(ctx context.Context, id string) (string, error) {
	b, err := r.Ledger.Evaluate(ctx, r.Caller, "ManifestHistory", []byte(id))
	if err != nil {
		return "", fmt.Errorf("history of %s: %w", id, err)
	}
	var hs []struct {
		TxID string `json:"tx_id"`
	}
	if err := manifest.Decode(b, &hs); err != nil || len(hs) == 0 {
		return "", manifest.Errorf(manifest.Internal, "history of %s: %v", id, err)
	}
	return hs[len(hs)-1].TxID, nil
}

func diff(got, want index.Fact) string {
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	t := gv.Type()
	for i := 0; i < t.NumField(); i++ {
		if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
			return fmt.Sprintf("%s is %v in the index, %v on the ledger", t.Field(i).Name, short(gv.Field(i).Interface()), short(wv.Field(i).Interface()))
		}
	}
	return "no field differs"
}

func short(v any) string {
	s := fmt.Sprintf("%+v", v)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// repair rewrites a manifest's rows from its ledger history.
func (r *Reconciler) repair(ctx context.Context, id string) error {
	a := audit.Auditor{Ledger: r.Ledger, Caller: r.Caller}
	vs, err := a.Versions(ctx, id)
	if err != nil {
		return err
	}
	hist := make([]index.Version, 0, len(vs))
	for _, v := range vs {
		hist = append(hist, index.Version{Version: v.Version, Hash: v.Hash, TxID: v.TxID, Cursor: ledger.Cursor{Block: v.Block, Tx: v.Tx}, Time: v.Time, Doc: v.Doc})
	}
	return r.Index.Repair(ctx, id, hist)
}

// ledgerOnly walks the ledger's events up to the index's checkpoint and
// returns the manifests they name that known does not hold.
func (r *Reconciler) ledgerOnly(ctx context.Context, known []string) ([]string, error) {
	seen := make(map[string]bool, len(known))
	for _, id := range known {
		seen[id] = true
	}
	var extra []string
	stop := r.Index.Checkpoint()
	var after ledger.Cursor
	for after.Before(stop) {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		evs, err := r.Ledger.Events(wctx, after, 1000)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("walk events: %w", err)
		}
		if len(evs) == 0 {
			break
		}
		for _, ev := range evs {
			if stop.Before(ev.Cursor) {
				return extra, nil
			}
			var e struct {
				Manifest *struct {
					ID string `json:"id"`
				} `json:"manifest"`
				Original *struct {
					ID string `json:"id"`
				} `json:"original"`
			}
			if err := manifest.Decode(ev.Payload, &e); err != nil {
				return nil, fmt.Errorf("event %d/%d: %w", ev.Cursor.Block, ev.Cursor.Tx, err)
			}
			for _, m := range []*struct {
				ID string `json:"id"`
			}{e.Manifest, e.Original} {
				if m != nil && !seen[m.ID] {
					seen[m.ID] = true
					extra = append(extra, m.ID)
				}
			}
			after = ev.Cursor
		}
	}
	return extra, nil
}

// Run reconciles until ctx ends: the rules every interval (and soon after
// the index changes), the ledger/index check with repair every
// checkEvery. Errors are logged and retried at the next round.
func (r *Reconciler) Run(ctx context.Context, every, checkEvery time.Duration) error {
	if every <= 0 {
		every = 5 * time.Minute
	}
	if checkEvery <= 0 {
		checkEvery = time.Hour
	}
	lastCheck := time.Time{}
	for {
		if time.Since(lastCheck) >= checkEvery {
			res, err := r.Check(ctx, CheckOptions{Repair: true})
			if err != nil {
				r.log().Error("reconcile: ledger/index check", "err", err)
			} else {
				r.log().Info("reconcile: ledger/index check", "checked", res.Checked, "problems", len(res.Problems), "duration", res.Duration)
			}
			lastCheck = time.Now()
		}
		res, err := r.Rules(ctx, time.Now())
		if err != nil {
			r.log().Error("reconcile: rules", "err", err)
		} else {
			r.log().Info("reconcile: rules", "manifests", res.Manifests, "findings", res.Findings, "added", res.Added, "resolved", res.Resolved, "duration", res.Duration)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
}
