package reconcile_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"wasteledger/gateway/index"
	"wasteledger/gateway/reconcile"
	"wasteledger/gateway/reconcile/calendar"
	"wasteledger/gateway/reconcile/indicator"
	"wasteledger/manifest"
)

func TestIndicatorsMatchTheScenario(t *testing.T) {
	ctx := context.Background()
	d := buildDataset(t)
	ix := d.index(t)
	now := d.online.In(manifest.China)
	nowMonth := now.Format("2006-01")
	tests := []struct{ region, period string }{
		{"440000", "2026-09"}, {"440000", "2026-10"}, {"440000", "2026-Q3"}, {"440000", "2026-Q4"},
		{"440000", nowMonth}, {"440000", now.Format("2006")},
		{"440100", "2026-Q4"}, {"440100", nowMonth}, {"440600", nowMonth}, {"440111", nowMonth}, {"440112", "2026-10"},
	}
	for _, tt := range tests {
		t.Run(tt.region+"/"+tt.period, func(t *testing.T) {
			p, err := indicator.ParsePeriod(tt.period)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := indicator.FromIndex(ctx, ix, indicator.Params{Region: tt.region, Period: p, AsOf: d.asOf, Calendar: calendar.Default(), Config: manifest.DefaultConfig()})
			if err != nil {
				t.Fatal(err)
			}
			want := d.expect(tt.region, p.From, p.To)
			for id, w := range want {
				in, ok := rep.Find(id)
				if !ok {
					t.Errorf("%s missing from the report", id)
					continue
				}
				got := ""
				if in.Value != nil {
					got = *in.Value
				}
				if got != w {
					t.Errorf("%s(%s, %s) = %q, want %q (numerator %+v, denominator %+v)", id, tt.region, tt.period, got, w, in.Numerator, in.Denominator)
				}
			}
		})
	}
}

func TestIndicatorEdgeCases(t *testing.T) {
	ctx := context.Background()
	d := buildDataset(t)
	ix := d.index(t)
	params := func(region, period string, cal *calendar.Calendar) indicator.Params {
		p, err := indicator.ParsePeriod(period)
		if err != nil {
			t.Fatal(err)
		}
		return indicator.Params{Region: region, Period: p, AsOf: d.asOf, Calendar: cal, Config: manifest.DefaultConfig()}
	}
	ids := func(p indicator.Params, id string) []string {
		t.Helper()
		got, err := indicator.Contributing(ctx, ix, p, id)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	// A was picked up at 23:30 on 30 September and delivered at 00:30 on
	// 1 October, China time: September transferred it, October received it.
	a, b1, b2 := d.byName["A"].trip.ID(), d.byName["B1"].trip.ID(), d.byName["B2"].trip.ID()
	if got := ids(params("440000", "2026-09", calendar.Default()), indicator.HWTransferred); !contains(got, a) {
		t.Errorf("September transferred = %v, want it to hold %s", got, a)
	}
	if got := ids(params("440000", "2026-10", calendar.Default()), indicator.HWTransferred); contains(got, a) {
		t.Errorf("October transferred = %v, must not hold %s", got, a)
	}
	if got := ids(params("440000", "2026-Q4", calendar.Default()), indicator.OnTimeConfirmation); !contains(got, a) || contains(got, b1) {
		t.Errorf("Q4 on-time cohort = %v, want %s (delivered 1 Oct) and not %s (delivered 29 Sep)", got, a, b1)
	}
	// B1 is on time only because of the holiday calendar.
	q3 := params("440000", "2026-Q3", calendar.Default())
	rep, err := indicator.FromIndex(ctx, ix, q3)
	if err != nil {
		t.Fatal(err)
	}
	withHolidays, _ := rep.Find(indicator.OnTimeConfirmation)
	weekendsOnly := q3
	weekendsOnly.Calendar = nil
	rep2, err := indicator.FromIndex(ctx, ix, weekendsOnly)
	if err != nil {
		t.Fatal(err)
	}
	without, _ := rep2.Find(indicator.OnTimeConfirmation)
	if withHolidays.Numerator.Value != "1" || without.Numerator.Value != "0" || withHolidays.Denominator.Value != "2" {
		t.Errorf("Q3 on time: with holidays %+v / %+v, weekends only %+v; want 1 of 2 (B1), then 0 of 2", withHolidays.Numerator, withHolidays.Denominator, without.Numerator)
	}
	// The cancelled lead-acid manifest counts nowhere.
	dID := d.byName["D"].trip.ID()
	nowP := params("440000", d.online.In(manifest.China).Format("2006"), calendar.Default())
	c, err := indicator.New(nowP)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Facts(ctx, index.Scan{IDs: []string{dID}}, func(f *index.Fact) error {
		if m := c.Add(f); m != 0 {
			t.Errorf("cancelled %s contributes to indicators (mask %b)", dID, m)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// As of a time before the trips, nothing counts.
	early := nowP
	early.AsOf = time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	rep3, err := indicator.FromIndex(ctx, ix, early)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range rep3.Indicators {
		if in.Manifests != 0 {
			t.Errorf("as of 1 Sep, %s has %d contributing manifests, want 0", in.ID, in.Manifests)
		}
	}
	_ = b2
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func TestRulesFindTheScenarioAnomalies(t *testing.T) {
	ctx := context.Background()
	d := buildDataset(t)
	ix := d.index(t)
	r := &reconcile.Reconciler{Index: ix, Ledger: d.ledger, Caller: d.world.RegulatorCaller(), Calendar: calendar.Default()}
	res, err := r.Rules(ctx, d.asOf)
	if err != nil {
		t.Fatal(err)
	}
	if res.Manifests != len(d.specs) {
		t.Errorf("Rules checked %d manifests, want %d", res.Manifests, len(d.specs))
	}
	id := func(name string) string { return d.byName[name].trip.ID() }
	want := []struct {
		rule, manifest string
		present        bool
	}{
		{reconcile.RuleReceiptLate, id("B2"), true},
		{reconcile.RuleReceiptLate, id("B1"), false}, // on time thanks to 国庆 and the worked Saturday
		{reconcile.RuleReceiptLate, id("A"), false},
		{reconcile.RuleRefused, id("B2"), true},
		{reconcile.RuleRefused, id("C"), false}, // carried on by C-onward
		{reconcile.RulePaperLate, id("A"), true},
		{reconcile.RulePaperLate, id("I"), true},
		{reconcile.RuleTransit, id("I"), true},
		{reconcile.RuleTransit, id("A"), false},
		{reconcile.RuleMedical48h, id("E2"), true},
		{reconcile.RuleMedical48h, id("E1"), false},
		{reconcile.RuleCrossProvince, id("H"), true},
		{reconcile.RuleCrossProvince, id("A"), false},
		{reconcile.RulePermit, id("H"), true}, // processed after the licence was revoked
		{reconcile.RuleCapacityNear, id("H"), true},
		{reconcile.RuleBatteryNoOrigin, id("G2"), true},
		{reconcile.RuleBatteryNoOrigin, id("G1"), false},
		{reconcile.RuleQuantity, id("F"), false}, // 100 kg of 8 t: within 5 %
	}
	for _, w := range want {
		page, err := ix.Anomalies(ctx, index.AnomalyFilter{Rule: w.rule, Manifest: w.manifest})
		if err != nil {
			t.Fatal(err)
		}
		if got := len(page.Items) > 0; got != w.present {
			t.Errorf("anomaly %s on %s present = %v, want %v (%+v)", w.rule, w.manifest, got, w.present, page.Items)
		}
	}
	// A second run adds nothing and resolves nothing.
	res2, err := r.Rules(ctx, d.asOf)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Added != 0 || res2.Resolved != 0 || res2.Findings != res.Findings {
		t.Errorf("second run: %+v, want the same %d findings, none added or resolved", res2, res.Findings)
	}
	// Acknowledge one.
	page, err := ix.Anomalies(ctx, index.AnomalyFilter{Rule: reconcile.RuleReceiptLate})
	if err != nil || len(page.Items) == 0 {
		t.Fatalf("Anomalies(receipt_late) = %v, %v", page, err)
	}
	a, err := ix.Acknowledge(ctx, page.Items[0].ID, "u1@regulator", "已约谈接受单位", time.Now())
	if err != nil || a.AcknowledgedAt == nil {
		t.Fatalf("Acknowledge = %+v, %v", a, err)
	}
	if _, err := ix.Acknowledge(ctx, page.Items[0].ID, "u2", "", time.Now()); manifest.CodeOf(err) != manifest.Conflict {
		t.Errorf("second Acknowledge error = %v, want conflict", err)
	}
	acked := true
	page, err = ix.Anomalies(ctx, index.AnomalyFilter{Acknowledged: &acked})
	if err != nil || len(page.Items) != 1 {
		t.Errorf("Anomalies(acknowledged) = %d items, %v; want 1", len(page.Items), err)
	}
	if !strings.Contains(a.Detail, "working days") {
		t.Errorf("receipt_late detail %q does not explain the working days", a.Detail)
	}
}
