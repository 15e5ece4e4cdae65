// Package reconcile checks the ledger's manifests against the transfer
// rules and the index against the ledger, records what it finds as
// anomalies for regulators, and serves the regulator's API: indicators,
// anomalies, published snapshots and audit.
package reconcile

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"wasteledger/gateway/index"
	"wasteledger/gateway/reconcile/calendar"
	"wasteledger/manifest"
	"wasteledger/manifest/catalog"
)

// Rules, as anomalies name them.
const (
	RuleQuantity        = "quantity_discrepancy"      // weighed differs from declared beyond tolerance
	RuleRefused         = "refused_without_followup"  // refused waste with no return or onward manifest
	RuleReceiptLate     = "receipt_late"              // confirmed (or still unconfirmed) after the working-day limit
	RuleTransit         = "in_transit_too_long"       // pickup to delivery beyond the limit
	RuleMedical48h      = "medical_48h"               // medical waste not disposed within the limit
	RulePaperLate       = "paper_late"                // paper manifest entered after the working-day limit
	RuleCapacity        = "capacity_exceeded"         // a receiver's accepted tonnage above its licensed annual capacity
	RuleCapacityNear    = "capacity_near"             // … above the warning share of it
	RulePermit          = "permit_invalid"            // a step while a permit was expired, revoked or missing
	RuleCrossProvince   = "cross_province_unapproved" // out of the province without an approval number
	RuleBatteryDup      = "battery_unit_duplicate"    // one unit code on two open manifests
	RuleBatteryNoOrigin = "battery_no_dismantling"    // recycled without a dismantler's manifest
	RuleIndexGap        = "index_gap"                 // a manifest or version the index lacks
	RuleIndexDivergence = "index_divergence"          // index rows that differ from the ledger's document
)

// ManifestRules are the rules Evaluate applies.
var ManifestRules = []string{RuleQuantity, RuleRefused, RuleReceiptLate, RuleTransit, RuleMedical48h, RulePaperLate,
	RuleCapacity, RuleCapacityNear, RulePermit, RuleCrossProvince, RuleBatteryDup, RuleBatteryNoOrigin}

// Limits are the operator's parameters of the rules.
type Limits struct {
	ConfirmDays     int           // receiver confirmation, working days after delivery (Art.18: 5)
	PaperDays       int           // paper back-entry, working days after completion (Art.20: 10)
	RefusalDays     int           // working days after receipt for a return or onward manifest (default 5)
	MaxTransit      time.Duration // pickup to delivery (default 72 h)
	CapacityWarnBP  int64         // warning share of licensed capacity, basis points (default 9000)
	ListedManifests int           // manifests named per aggregate finding (default 20)
}

// DefaultLimits are the limits in force unless the operator sets others.
func DefaultLimits() Limits {
	return Limits{ConfirmDays: 5, PaperDays: 10, RefusalDays: 5, MaxTransit: 72 * time.Hour, CapacityWarnBP: 9000, ListedManifests: 20}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.ConfirmDays <= 0 {
		l.ConfirmDays = d.ConfirmDays
	}
	if l.PaperDays <= 0 {
		l.PaperDays = d.PaperDays
	}
	if l.RefusalDays <= 0 {
		l.RefusalDays = d.RefusalDays
	}
	if l.MaxTransit <= 0 {
		l.MaxTransit = d.MaxTransit
	}
	if l.CapacityWarnBP <= 0 {
		l.CapacityWarnBP = d.CapacityWarnBP
	}
	if l.ListedManifests <= 0 {
		l.ListedManifests = d.ListedManifests
	}
	return l
}

// Env is what the rules need besides the facts.
type Env struct {
	AsOf     time.Time // findings as of this time; steps committed later are ignored
	Calendar *calendar.Calendar
	Config   manifest.Config
	Limits   Limits
	Orgs     map[string]manifest.Org
	Permits  map[string]manifest.Permit
	// Dismantlers are organisations whose manifests are dismantling records
	// of the batteries they carry. When nil, an organisation whose name
	// contains 拆解 (报废机动车回收拆解企业) is one.
	Dismantlers map[string]bool
}

// Checker applies the rules to facts, one manifest at a time; rules over
// several manifests (capacity, battery units) are settled by Findings.
type Checker struct {
	env      Env
	validity map[string][2]int64 // permit → [from, to) in force, Unix ns; revocation folded in
	asOf     int64
	out      []index.Finding
	capacity map[string]*capacityUse // permit~year
	units    map[string]*unitUse
}

type capacityUse struct {
	permit  string
	year    int
	byCode  map[string]int64
	entries []capacityEntry
}

type capacityEntry struct {
	at    int64
	grams int64
	id    string
}

type unitUse struct {
	open       []string // open manifests carrying it
	dismantled bool     // on a manifest of a dismantler
	recycled   []string // manifests that recycled it
}

// NewChecker returns a checker.
func NewChecker(env Env) *Checker {
	env.Limits = env.Limits.withDefaults()
	if env.Config.ToleranceBP == 0 && env.Config.MedicalMaxHours == 0 {
		env.Config = manifest.DefaultConfig()
	}
	c := &Checker{env: env, asOf: env.AsOf.UnixNano(), capacity: map[string]*capacityUse{}, units: map[string]*unitUse{}, validity: map[string][2]int64{}}
	for id, p := range env.Permits {
		from, err1 := manifest.ParseDate(p.ValidFrom)
		to, err2 := manifest.ParseDate(p.ValidTo)
		if err1 != nil || err2 != nil {
			continue // never in force
		}
		w := [2]int64{from.UnixNano(), to.AddDate(0, 0, 1).UnixNano()}
		if p.Revoked != nil && p.Revoked.UnixNano() < w[1] {
			w[1] = p.Revoked.UnixNano()
		}
		c.validity[id] = w
	}
	return c
}

// inForce is Permit.ValidOn with the dates parsed once.
func (c *Checker) inForce(permit string, t int64) bool {
	w, ok := c.validity[permit]
	return ok && t >= w[0] && t < w[1]
}

func (c *Checker) find(key, rule string, sev index.Severity, detail string, ids ...string) {
	c.out = append(c.out, index.Finding{Key: rule + ":" + key, Rule: rule, Severity: sev, Detail: detail, Manifests: ids})
}

func day(ns int64) string { return index.T(ns).In(manifest.China).Format("2006-01-02 15:04") }

func kg(g int64) string { return fmt.Sprintf("%d.%03d kg", g/1000, g%1000) }

func tonnes(g int64) string { return fmt.Sprintf("%d.%03d t", g/1_000_000, (g%1_000_000)/1000) }

// Add checks one manifest. f is not retained.
func (c *Checker) Add(f *index.Fact) {
	if f.Created > c.asOf {
		return
	}
	received := f.Received.Done(c.asOf)
	cfg, lim, cal := c.env.Config, c.env.Limits, c.env.Calendar

	if received {
		for _, l := range f.Lines {
			if !l.Received {
				continue
			}
			diff := l.WeighedG - l.DeclaredG
			if diff < 0 {
				diff = -diff
			}
			if diff*10000 > cfg.ToleranceBP*l.DeclaredG {
				what := "loss"
				if l.WeighedG > l.DeclaredG {
					what = "gain"
				}
				c.find(fmt.Sprintf("%s:%d", f.ID, l.No), RuleQuantity, index.Medium,
					fmt.Sprintf("line %d (%s): declared %s, weighed %s — a %s of %s, beyond the %d.%02d %% tolerance",
						l.No, l.Code, kg(l.DeclaredG), kg(l.WeighedG), what, kg(diff), cfg.ToleranceBP/100, cfg.ToleranceBP%100), f.ID)
			}
			if l.RefusedG > 0 {
				var carried int64
				var ids []string
				for _, fu := range f.Followups {
					if fu.Line == l.No {
						carried += fu.Grams
						ids = append(ids, fu.Manifest)
					}
				}
				due := cal.Deadline(index.T(f.Received.At), lim.RefusalDays).UnixNano()
				if carried < l.RefusedG && c.asOf >= due {
					c.find(fmt.Sprintf("%s:%d", f.ID, l.No), RuleRefused, index.High,
						fmt.Sprintf("line %d (%s): %s refused on %s; return/onward manifests carry %s, %s unaccounted for after %d working days",
							l.No, l.Code, kg(l.RefusedG), day(f.Received.At), kg(carried), kg(l.RefusedG-carried), lim.RefusalDays), append([]string{f.ID}, ids...)...)
				}
			}
		}
	}

	if f.Delivered.Done(c.asOf) {
		deadline := cal.Deadline(index.T(f.Delivered.At), lim.ConfirmDays)
		conf := f.Received.Tx
		how := "confirmed on the ledger"
		if f.PaperNumber != "" {
			conf, how = f.Received.At, "confirmed on paper"
		}
		switch {
		case received && conf >= deadline.UnixNano():
			c.find(f.ID, RuleReceiptLate, index.Medium,
				fmt.Sprintf("delivered %s, %s %s: %d working days later; the limit is %d (deadline %s)",
					day(f.Delivered.At), how, day(conf), cal.Between(index.T(f.Delivered.At), index.T(conf)), lim.ConfirmDays, deadline.Format("2006-01-02")), f.ID)
		case !received && c.asOf >= deadline.UnixNano():
			c.find(f.ID, RuleReceiptLate, index.High,
				fmt.Sprintf("delivered %s and still not confirmed; the %d working days ended %s",
					day(f.Delivered.At), lim.ConfirmDays, deadline.Add(-time.Nanosecond).Format("2006-01-02")), f.ID)
		}
	}

	if f.PickedUp.Done(c.asOf) {
		end, how := c.asOf, "still in transit"
		if f.Delivered.Done(c.asOf) {
			end, how = f.Delivered.At, "delivered "+day(f.Delivered.At)
		}
		if d := time.Duration(end - f.PickedUp.At); d > lim.MaxTransit {
			c.find(f.ID, RuleTransit, index.Medium,
				fmt.Sprintf("picked up %s, %s: %.0f h in transit; the limit is %.0f h", day(f.PickedUp.At), how, d.Hours(), lim.MaxTransit.Hours()), f.ID)
		}
	}

	if f.Stream == catalog.Medical && !f.Cancelled.Done(c.asOf) {
		limit := cfg.MedicalMaxHours * int64(time.Hour)
		for _, l := range f.Lines {
			if l.Generated == 0 || (received && l.Received && l.AcceptedG == 0) {
				continue
			}
			due := l.Generated + limit
			p := l.Processing
			switch {
			case p != nil && p.Tx != 0 && p.Tx <= c.asOf:
				if p.At > due {
					c.find(fmt.Sprintf("%s:%d", f.ID, l.No), RuleMedical48h, index.High,
						fmt.Sprintf("line %d (%s): generated %s, disposed %s — %.1f h; the limit is %d h",
							l.No, l.Code, day(l.Generated), day(p.At), float64(p.At-l.Generated)/float64(time.Hour), cfg.MedicalMaxHours), f.ID)
				}
			case c.asOf > due:
				c.find(fmt.Sprintf("%s:%d", f.ID, l.No), RuleMedical48h, index.High,
					fmt.Sprintf("line %d (%s): generated %s and not disposed after %d h", l.No, l.Code, day(l.Generated), cfg.MedicalMaxHours), f.ID)
			}
		}
	}

	if f.PaperNumber != "" {
		if done, err := manifest.ParseDate(f.PaperCompleted); err == nil {
			deadline := cal.Deadline(done, lim.PaperDays)
			if f.Created >= deadline.UnixNano() {
				c.find(f.ID, RulePaperLate, index.Medium,
					fmt.Sprintf("paper manifest %s completed %s, entered %s: %d working days later; the limit is %d",
						f.PaperNumber, f.PaperCompleted, day(f.Created), cal.Between(done, index.T(f.Created)), lim.PaperDays), f.ID)
			}
		}
	}

	c.permits(f)

	if f.Signed.Done(c.asOf) && f.Approval == "" && f.RefKind != "return" {
		if rcv, ok := c.env.Orgs[f.Receiver]; ok && len(rcv.Region) >= 2 && len(f.Region) >= 2 && rcv.Region[:2] != f.Region[:2] {
			c.find(f.ID, RuleCrossProvince, index.High,
				fmt.Sprintf("from %s (province %s0000) to %s in province %s0000 with no cross-province transfer approval (Art.21–27)",
					f.Region, f.Region[:2], rcv.Name, rcv.Region[:2]), f.ID)
		}
	}

	if received && f.ReceiverPermit != "" {
		year := index.T(f.Received.At).In(manifest.China).Year()
		k := fmt.Sprintf("%s~%04d", f.ReceiverPermit, year)
		u := c.capacity[k]
		if u == nil {
			u = &capacityUse{permit: f.ReceiverPermit, year: year, byCode: map[string]int64{}}
			c.capacity[k] = u
		}
		var g int64
		for _, l := range f.Lines {
			g += l.AcceptedG
			u.byCode[l.Code] += l.AcceptedG
		}
		if g > 0 {
			u.entries = append(u.entries, capacityEntry{at: f.Received.At, grams: g, id: f.ID})
		}
	}

	if f.Stream == catalog.Battery {
		dismantler := c.isDismantler(f.Producer)
		for _, l := range f.Lines {
			recycled := l.Processing != nil && l.Processing.Tx != 0 && l.Processing.Tx <= c.asOf && bucketOf(l.Processing.Method) == catalog.Recovery
			for _, code := range l.Units {
				u := c.units[code]
				if u == nil {
					u = &unitUse{}
					c.units[code] = u
				}
				if f.Status.Open() && !f.Cancelled.Done(c.asOf) {
					u.open = append(u.open, f.ID)
				}
				u.dismantled = u.dismantled || dismantler
				if recycled {
					u.recycled = append(u.recycled, f.ID)
				}
			}
		}
	}
}

func bucketOf(method string) catalog.Indicator {
	m, _ := catalog.LookupMethod(method)
	return m.Indicator
}

func (c *Checker) isDismantler(org string) bool {
	if c.env.Dismantlers != nil {
		return c.env.Dismantlers[org]
	}
	o, ok := c.env.Orgs[org]
	return ok && strings.Contains(o.Name, "拆解")
}

// permits checks every step against the permit it depended on: the taking
// carrier's transport permit on pickup and relay, the delivering carrier's
// on delivery, and the receiver's licence on delivery, receipt and
// processing.
func (c *Checker) permits(f *index.Fact) {
	relay := 0
	reported := map[string]bool{}
	check := func(seq int, s index.FactStep, permit, role string) {
		if permit == "" {
			return
		}
		key := f.ID + ":" + permit
		if reported[key] {
			return // one finding per manifest and permit: its first offending step
		}
		p, ok := c.env.Permits[permit]
		at := index.T(s.At)
		switch {
		case !ok:
			reported[key] = true
			c.find(key, RulePermit, index.High, fmt.Sprintf("%s on %s: the %s's permit %s is not on the ledger", s.Step, day(s.At), role, permit), f.ID)
		case !c.inForce(permit, s.At):
			reported[key] = true
			why := fmt.Sprintf("valid %s to %s", p.ValidFrom, p.ValidTo)
			if p.Revoked != nil && !at.Before(*p.Revoked) {
				why = "revoked " + p.Revoked.In(manifest.China).Format("2006-01-02") + ": " + p.Reason
			}
			c.find(key, RulePermit, index.High, fmt.Sprintf("%s on %s under the %s's permit %s, which was not in force (%s)", s.Step, day(s.At), role, permit, why), f.ID)
		}
	}
	leg := func(i int) string {
		if i >= 0 && i < len(f.Legs) {
			return f.Legs[i].Permit
		}
		return ""
	}
	licence := f.ReceiverPermit
	if f.RefKind == "return" {
		licence = ""
	}
	for i, s := range f.Steps {
		if s.Tx == 0 || s.Tx > c.asOf {
			continue
		}
		switch s.Step {
		case manifest.StepPickup:
			check(i+1, s, leg(0), "carrier")
		case manifest.StepRelay:
			relay++
			check(i+1, s, leg(relay), "carrier")
		case manifest.StepDelivery:
			check(i+1, s, leg(len(f.Legs)-1), "carrier")
			check(i+1, s, licence, "receiver")
		case manifest.StepReceive, manifest.StepProcess:
			check(i+1, s, licence, "receiver")
		}
	}
}

// Findings settles the rules over several manifests and returns every
// finding.
func (c *Checker) Findings() []index.Finding {
	lim := c.env.Limits
	keys := make([]string, 0, len(c.capacity))
	for k := range c.capacity {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		u := c.capacity[k]
		p, ok := c.env.Permits[u.permit]
		if !ok || p.CapacityT <= 0 {
			continue
		}
		sort.Slice(u.entries, func(i, j int) bool {
			if u.entries[i].at != u.entries[j].at {
				return u.entries[i].at < u.entries[j].at
			}
			return u.entries[i].id < u.entries[j].id
		})
		capG := p.CapacityT * 1_000_000
		warnG := capG / 10000 * lim.CapacityWarnBP
		var total int64
		var over, warn []string
		for _, e := range u.entries {
			total += e.grams
			if total > capG && len(over) < lim.ListedManifests {
				over = append(over, e.id)
			} else if total >= warnG && len(warn) == 0 && total <= capG {
				warn = append(warn, e.id)
			}
		}
		codes := make([]string, 0, len(u.byCode))
		for code := range u.byCode {
			codes = append(codes, code)
		}
		sort.Strings(codes)
		var parts []string
		for _, code := range codes {
			parts = append(parts, code+" "+tonnes(u.byCode[code]))
		}
		holder := p.Org
		if o, ok := c.env.Orgs[p.Org]; ok {
			holder = o.Name
		}
		summary := fmt.Sprintf("%s (%s) accepted %s in %d against its licensed %d t/yr (by code: %s)", holder, p.ID, tonnes(total), u.year, p.CapacityT, strings.Join(parts, ", "))
		switch {
		case total > capG:
			c.find(k, RuleCapacity, index.High, summary+"; the manifests listed took it over", over...)
		case total >= warnG:
			c.find(k, RuleCapacityNear, index.Low, fmt.Sprintf("%s: at least %d.%02d %% of capacity", summary, lim.CapacityWarnBP/100, lim.CapacityWarnBP%100), warn...)
		}
	}
	codes := make([]string, 0, len(c.units))
	for code := range c.units {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	for _, code := range codes {
		u := c.units[code]
		if len(u.open) > 1 {
			c.find(code, RuleBatteryDup, index.High, fmt.Sprintf("battery %s is on %d open manifests at once", code, len(u.open)), u.open...)
		}
		if len(u.recycled) > 0 && !u.dismantled {
			c.find(code, RuleBatteryNoOrigin, index.Medium,
				fmt.Sprintf("battery %s was recycled with no manifest from a dismantler (报废机动车回收拆解企业) carrying it", code), u.recycled...)
		}
	}
	return c.out
}
