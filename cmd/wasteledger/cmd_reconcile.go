package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"wasteledger/chaincode"
	"wasteledger/gateway/reconcile"
	"wasteledger/gateway/reconcile/calendar"
)

func init() {
	register("reconcile", "check the index against the ledger (and repair it) and run the reconciliation rules once", runReconcile)
}

func runReconcile(ctx context.Context, e *env, args []string) error {
	fs := e.flags("reconcile", "")
	var f indexFlags
	f.register(fs)
	d := reconcile.DefaultLimits()
	full := fs.Bool("full", false, "also walk the ledger's event feed from genesis to find manifests the index has no trace of")
	noRepair := fs.Bool("no-repair", false, "report index problems without repairing them")
	noCatchUp := fs.Bool("no-catch-up", false, "do not bring the index up to date with the ledger first")
	holidays := fs.String("holidays", envDefault("holidays", ""), "holiday calendar file (date,holiday|workday,name) added to the built-in one (env WASTELEDGER_HOLIDAYS)")
	dismantlers := fs.String("dismantlers", envDefault("dismantlers", ""), "file of dismantling enterprises' credit codes, one a line (default: organisations named …拆解…) (env WASTELEDGER_DISMANTLERS)")
	msp := fs.String("msp", envDefault("reconcile_msp", "RegulatorMSP"), "ledger member the queries run as (env WASTELEDGER_RECONCILE_MSP)")
	asOf := fs.String("as-of", "", "evaluate the rules as of this RFC 3339 time (default now)")
	fs.IntVar(&d.ConfirmDays, "confirm-days", d.ConfirmDays, "receiver confirmation limit, working days after delivery")
	fs.IntVar(&d.PaperDays, "paper-days", d.PaperDays, "paper back-entry limit, working days after completion")
	fs.IntVar(&d.RefusalDays, "refusal-days", d.RefusalDays, "working days after receipt for refused waste to be on a return or onward manifest")
	fs.DurationVar(&d.MaxTransit, "max-transit", d.MaxTransit, "longest allowed time between pickup and delivery")
	fs.Int64Var(&d.CapacityWarnBP, "capacity-warn-bp", d.CapacityWarnBP, "warn when a receiver's accepted tonnage reaches this share of its licensed capacity (basis points)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	when := time.Now()
	if *asOf != "" {
		t, err := time.Parse(time.RFC3339, *asOf)
		if err != nil {
			return fmt.Errorf("-as-of: %w", err)
		}
		when = t
	}
	cal, err := loadCalendar(*holidays)
	if err != nil {
		return err
	}
	dis, err := loadDismantlers(*dismantlers)
	if err != nil {
		return err
	}
	l, local, ix, err := f.open(ctx, e.log)
	if err != nil {
		return err
	}
	defer l.Close()
	defer ix.Close()
	if !*noCatchUp {
		var p *indexProgress
		if !f.quiet {
			p = &indexProgress{w: e.stderr, what: "catch up", start: time.Now(), local: local, ctx: ctx}
		}
		_, err := ix.CatchUp(ctx, l, p.update)
		p.done()
		if err != nil {
			return err
		}
	}
	r := &reconcile.Reconciler{Index: ix, Ledger: l, Caller: chaincode.Caller{MSP: *msp, ID: "reconcile"}, Calendar: cal, Limits: d, Dismantlers: dis, Log: e.log}
	opts := reconcile.CheckOptions{Full: *full, Repair: !*noRepair}
	if !f.quiet {
		opts.Progress = func(n int) { fmt.Fprintf(e.stderr, "\rledger/index check: %d manifests", n) }
	}
	chk, err := r.Check(ctx, opts)
	if !f.quiet && chk.Checked >= 1000 {
		fmt.Fprintln(e.stderr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "ledger/index: %d manifests checked in %.1f s, %d problems\n", chk.Checked, chk.Duration.Seconds(), len(chk.Problems))
	for _, p := range chk.Problems {
		state := "not repaired"
		if p.Repaired {
			state = "repaired"
		}
		fmt.Fprintf(e.stdout, "  %s %s (%s): %s\n", p.Rule, p.Manifest, state, p.Detail)
	}
	res, err := r.Rules(ctx, when)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "rules: %d manifests in %.1f s, %d findings (%d new, %d resolved)\n", res.Manifests, res.Duration.Seconds(), res.Findings, res.Added, res.Resolved)
	rules := make([]string, 0, len(res.ByRule))
	for k := range res.ByRule {
		rules = append(rules, k)
	}
	sort.Strings(rules)
	for _, k := range rules {
		fmt.Fprintf(e.stdout, "  %-26s %d\n", k, res.ByRule[k])
	}
	if len(chk.Problems) > 0 && *noRepair {
		return fmt.Errorf("the index differs from the ledger")
	}
	return nil
}

// loadCalendar is the built-in working-day calendar with the holidays
// file's entries (date,holiday|workday,name) added; path "" adds none.
func loadCalendar(path string) (*calendar.Calendar, error) {
	cal := calendar.Default()
	if path == "" {
		return cal, nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	extra, err := calendar.Parse(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cal.With(extra), nil
}

// loadDismantlers reads the dismantling enterprises' credit codes, one a
// line ('#' starts a comment line); path "" gives nil, which the rules
// read as "organisations named …拆解…".
func loadDismantlers(path string) (map[string]bool, error) {
	if path == "" {
		return nil, nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	dis := map[string]bool{}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" && !strings.HasPrefix(s, "#") {
			dis[s] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return dis, nil
}
