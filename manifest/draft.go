package manifest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"wasteledger/manifest/catalog"
)

const (
	maxLines    = 50
	maxLegs     = 8
	maxUnits    = 2000
	maxOutputs  = 20
	maxPackages = 100_000
)

// CreateFacts are the ledger facts a new manifest is checked against.
type CreateFacts struct {
	Now            time.Time
	Config         Config
	Producer       Org
	Receiver       Org
	ReceiverPermit *Permit // nil only for a return to the producer
	Carriers       []Org   // per leg
	CarrierPermits []Permit
	Original       *Manifest // for a return or onward manifest
}

// NewManifest checks a draft and returns the new manifest at version 1.
func NewManifest(id string, d Draft, f CreateFacts) (*Manifest, error) {
	if err := ValidNumber(id); err != nil {
		return nil, FieldError(Invalid, "id", "%v", err)
	}
	if err := d.validate(f.Config); err != nil {
		return nil, err
	}
	if d.Producer != f.Producer.ID || !f.Producer.Has(Producer) {
		return nil, FieldError(Forbidden, "producer", "%s is not registered as a producer", d.Producer)
	}
	if !f.Receiver.Has(Receiver) && (d.Ref == nil || d.Ref.Kind != "return") {
		return nil, FieldError(RuleViolation, "receiver", "%s is not registered as a receiver", d.Receiver)
	}
	if len(f.Carriers) != len(d.Legs) || len(f.CarrierPermits) != len(d.Legs) {
		return nil, Errorf(Internal, "carrier facts do not match the legs")
	}
	for i, leg := range d.Legs {
		c, p := f.Carriers[i], f.CarrierPermits[i]
		field := fmt.Sprintf("legs[%d]", i)
		if !c.Has(Carrier) {
			return nil, FieldError(RuleViolation, field+".carrier", "%s is not registered as a carrier", leg.Carrier)
		}
		if err := checkTransportPermit(p, leg.Carrier, f.Now, field+".permit"); err != nil {
			return nil, err
		}
		for j, pl := range leg.Plates {
			if !p.HasPlate(pl) {
				return nil, FieldError(RuleViolation, fmt.Sprintf("%s.plates[%d]", field, j), "vehicle %s is not registered on transport permit %s", pl, p.ID)
			}
		}
	}
	stream, err := streamOf(d.Lines)
	if err != nil {
		return nil, err
	}
	if d.Ref != nil && d.Ref.Kind == "return" {
		if d.Receiver != d.Producer {
			return nil, FieldError(Invalid, "receiver", "a return manifest goes back to its producer")
		}
	} else if err := checkLicence(f.ReceiverPermit, d.Receiver, d.Lines, d.Method, stream, f.Now); err != nil {
		return nil, err
	}
	if d.Ref != nil {
		if err := checkRef(d, f.Original); err != nil {
			return nil, err
		}
	}
	m := &Manifest{
		ID:      id,
		Version: 1,
		Status:  StatusDraft,
		Stream:  stream,
		Draft:   d,
		Created: f.Now,
		Updated: f.Now,
		Leg:     -1,
	}
	m.normalise()
	return m, nil
}

// normalise fills defaults that make stored manifests uniform.
func (m *Manifest) normalise() {
	for i := range m.Lines {
		l := &m.Lines[i]
		if l.Hazard == "" {
			if w, ok := catalog.Lookup(l.Code); ok {
				l.Hazard = w.Hazard
			}
		}
		for j := range m.Legs {
			for k, pl := range m.Legs[j].Plates {
				m.Legs[j].Plates[k] = NormalizePlate(pl)
			}
		}
	}
}

func (d Draft) validate(cfg Config) error {
	if err := ValidUSCC(d.Producer); err != nil {
		return FieldError(Invalid, "producer", "%v", err)
	}
	if err := ValidUSCC(d.Receiver); err != nil {
		return FieldError(Invalid, "receiver", "%v", err)
	}
	if err := text("site.name", d.Site.Name, 200, true); err != nil {
		return err
	}
	if err := text("site.address", d.Site.Address, 500, true); err != nil {
		return err
	}
	if err := catalog.ValidRegion(d.Site.Region); err != nil {
		return FieldError(Invalid, "site.region", "%v", err)
	}
	if len(d.Legs) == 0 || len(d.Legs) > maxLegs {
		return FieldError(Invalid, "legs", "one to %d carrier legs are required", maxLegs)
	}
	for i, leg := range d.Legs {
		field := fmt.Sprintf("legs[%d]", i)
		if err := ValidUSCC(leg.Carrier); err != nil {
			return FieldError(Invalid, field+".carrier", "%v", err)
		}
		if leg.Carrier == d.Producer || leg.Carrier == d.Receiver {
			return FieldError(Invalid, field+".carrier", "the carrier must differ from producer and receiver")
		}
		if i > 0 && d.Legs[i-1].Carrier == leg.Carrier {
			return FieldError(Invalid, field+".carrier", "consecutive legs need different carriers")
		}
		if leg.Permit == "" {
			return FieldError(Invalid, field+".permit", "the carrier's transport permit number is required")
		}
		if len(leg.Plates) == 0 || len(leg.Plates) > 10 {
			return FieldError(Invalid, field+".plates", "one to 10 planned vehicles are required")
		}
	}
	if d.Producer == d.Receiver && (d.Ref == nil || d.Ref.Kind != "return") {
		return FieldError(Invalid, "receiver", "the receiver must differ from the producer")
	}
	if d.Ref == nil || d.Ref.Kind != "return" {
		if d.ReceiverPermit == "" {
			return FieldError(Invalid, "receiver_permit", "the receiver's licence number is required")
		}
		if err := catalog.ValidMethod(d.Method); err != nil {
			return FieldError(Invalid, "method", "%v", err)
		}
	} else if d.Method != "" {
		if err := catalog.ValidMethod(d.Method); err != nil {
			return FieldError(Invalid, "method", "%v", err)
		}
	}
	if err := text("emergency", d.Emergency, 2000, true); err != nil {
		return err
	}
	if len(d.Request) > 64 || strings.ContainsAny(d.Request, "~\x00") {
		return FieldError(Invalid, "request", "request id must be at most 64 bytes without '~'")
	}
	if err := text("approval", d.Approval, 64, false); err != nil {
		return err
	}
	if d.Paper != nil {
		if err := text("paper.number", d.Paper.Number, 64, true); err != nil {
			return err
		}
		if _, err := ParseDate(d.Paper.Completed); err != nil {
			return FieldError(Invalid, "paper.completed", "%v", err)
		}
	}
	if d.Ref != nil {
		if d.Ref.Kind != "return" && d.Ref.Kind != "onward" {
			return FieldError(Invalid, "ref.kind", "ref kind must be return or onward")
		}
		if err := ValidNumber(d.Ref.Original); err != nil {
			return FieldError(Invalid, "ref.original", "%v", err)
		}
	}
	if len(d.Lines) == 0 || len(d.Lines) > maxLines {
		return FieldError(Invalid, "lines", "one to %d lines are required", maxLines)
	}
	seenUnits := map[string]bool{}
	for i, l := range d.Lines {
		if err := l.validate(i, cfg, d.Ref != nil, seenUnits); err != nil {
			return err
		}
	}
	return nil
}

func (l Line) validate(i int, cfg Config, ref bool, seenUnits map[string]bool) error {
	field := fmt.Sprintf("lines[%d]", i)
	if l.No != i+1 {
		return FieldError(Invalid, field+".line", "lines are numbered 1, 2, … in order; want %d", i+1)
	}
	if err := catalog.ValidCode(l.Code); err != nil {
		return FieldError(Invalid, field+".code", "%v", err)
	}
	w, _ := catalog.Lookup(l.Code)
	if err := text(field+".name", l.Name, 200, true); err != nil {
		return err
	}
	switch l.Form {
	case Solid, SemiSolid, Liquid, Gas:
	default:
		return FieldError(Invalid, field+".form", "form must be solid, semi_solid, liquid or gas")
	}
	if l.Hazard == "" && strings.HasPrefix(l.Code, catalog.IdentifiedPrefix) {
		return FieldError(Invalid, field+".hazard", "an identified waste (%s) declares the hazard characteristics its identification found, e.g. \"T\" or \"T,C\"", l.Code)
	}
	if l.Hazard != "" {
		if err := hazardSubset(l.Hazard, w.Hazard); err != nil {
			return FieldError(Invalid, field+".hazard", "%v", err)
		}
	}
	if !slices.Contains(Packagings, l.Packaging) {
		return FieldError(Invalid, field+".packaging", "packaging must be one of %s", strings.Join(Packagings, ", "))
	}
	if l.Packages < 1 || l.Packages > maxPackages {
		return FieldError(Invalid, field+".packages", "package count must be 1–%d", maxPackages)
	}
	if err := checkQty(field+".qty", l.Qty, l.Unit, cfg); err != nil {
		return err
	}
	if l.Unit == "" || (l.Unit != Gram && l.Unit != Kilogram) {
		return FieldError(Invalid, field+".unit", "unit must be g or kg")
	}
	if len(l.Units) > maxUnits {
		return FieldError(Invalid, field+".units", "at most %d unit codes per line", maxUnits)
	}
	if catalog.RequiresUnitCodes(l.Code) && len(l.Units) == 0 {
		return FieldError(RuleViolation, field+".units", "a traction-battery line must list each battery's GB/T 34014 code")
	}
	if len(l.Units) > 0 && w.Stream != catalog.Battery {
		return FieldError(Invalid, field+".units", "unit codes belong on battery lines")
	}
	for j, u := range l.Units {
		if err := catalog.ValidBatteryCode(u); err != nil {
			return FieldError(RuleViolation, fmt.Sprintf("%s.units[%d]", field, j), "%v", err)
		}
		if seenUnits[u] {
			return FieldError(RuleViolation, fmt.Sprintf("%s.units[%d]", field, j), "battery %s is listed twice", u)
		}
		seenUnits[u] = true
	}
	if w.Stream == catalog.Medical {
		mc, ok := catalog.MedicalCategoryOf(l.Code)
		if !ok || string(mc) != l.Medical {
			return FieldError(Invalid, field+".medical", "medical line %s must state its category %q", l.Code, mc)
		}
		if l.Generated == nil || l.Generated.IsZero() {
			return FieldError(Invalid, field+".generated", "medical waste must state when it was generated")
		}
	} else if l.Medical != "" || l.Generated != nil {
		return FieldError(Invalid, field+".medical", "medical category and generation time belong on medical lines")
	}
	if l.OriginLine != 0 && !ref {
		return FieldError(Invalid, field+".origin_line", "origin_line belongs on return or onward manifests")
	}
	if ref && l.OriginLine < 1 {
		return FieldError(Invalid, field+".origin_line", "each line of a return or onward manifest names the original line it carries")
	}
	return nil
}

func checkQty(field string, qty int64, u Unit, cfg Config) error {
	if qty <= 0 {
		return FieldError(Invalid, field, "quantity must be positive")
	}
	if Grams(qty, u) > cfg.MaxLineKg*1000 || qty > cfg.MaxLineKg*1000 {
		return FieldError(RuleViolation, field, "quantity exceeds the bound of %d kg per line", cfg.MaxLineKg)
	}
	return nil
}

// hazardSubset checks that the declared hazard letters are among those of
// the list entry ("T,I", "T/C/I/R").
func hazardSubset(declared, listed string) error {
	allowed := map[string]bool{}
	for _, h := range strings.FieldsFunc(listed, func(r rune) bool { return r == ',' || r == '/' }) {
		allowed[h] = true
	}
	for _, h := range strings.FieldsFunc(declared, func(r rune) bool { return r == ',' || r == '/' }) {
		if !allowed[h] {
			return fmt.Errorf("hazard %q is not a characteristic of this code (listed: %s)", h, listed)
		}
	}
	return nil
}

// streamOf returns the waste stream of a manifest: all lines must belong to
// one stream, since each stream has its own rules and receivers.
func streamOf(lines []Line) (catalog.Stream, error) {
	var s catalog.Stream
	for i, l := range lines {
		w, _ := catalog.Lookup(l.Code)
		if i > 0 && w.Stream != s {
			return "", FieldError(Invalid, fmt.Sprintf("lines[%d].code", i), "one manifest carries one waste stream (%s, not %s)", s, w.Stream)
		}
		s = w.Stream
	}
	return s, nil
}

func checkTransportPermit(p Permit, carrier string, at time.Time, field string) error {
	if p.Kind != Transport || p.Org != carrier {
		return FieldError(RuleViolation, field, "permit %s is not a transport permit of %s", p.ID, carrier)
	}
	if !p.ValidOn(at) {
		return FieldError(RuleViolation, field, "transport permit %s is not valid on %s", p.ID, at.In(China).Format("2006-01-02"))
	}
	return nil
}

// checkLicence checks the receiver's licence: its kind, holder, validity on
// the date, and that it covers every line's code and the method.
func checkLicence(p *Permit, receiver string, lines []Line, method string, stream catalog.Stream, at time.Time) error {
	if p == nil {
		return FieldError(RuleViolation, "receiver_permit", "the receiver holds no licence of that number")
	}
	want := HWLicence
	for _, l := range lines {
		if l.Code == catalog.EVBattery {
			want = BatteryRecycling
		}
	}
	if p.Kind != want || p.Org != receiver {
		return FieldError(RuleViolation, "receiver_permit", "permit %s is not a %s of %s", p.ID, want, receiver)
	}
	if !p.ValidOn(at) {
		return FieldError(RuleViolation, "receiver_permit", "licence %s is not valid on %s", p.ID, at.In(China).Format("2006-01-02"))
	}
	for i, l := range lines {
		if !p.Covers(l.Code) {
			return FieldError(RuleViolation, fmt.Sprintf("lines[%d].code", i), "licence %s does not cover %s", p.ID, l.Code)
		}
	}
	if method != "" {
		if !p.Allows(method) {
			return FieldError(RuleViolation, "method", "licence %s does not authorise method %s", p.ID, method)
		}
		for i, l := range lines {
			if err := catalog.MethodAllowed(l.Code, method); err != nil {
				return FieldError(RuleViolation, fmt.Sprintf("lines[%d].code", i), "%v", err)
			}
		}
	}
	return nil
}

// checkRef checks that a return or onward manifest carries no more of each
// original line than the receiver refused and earlier follow-ups left.
func checkRef(d Draft, orig *Manifest) error {
	if orig == nil {
		return FieldError(NotFound, "ref.original", "original manifest %s not found", d.Ref.Original)
	}
	if orig.Producer != d.Producer {
		return FieldError(Forbidden, "ref.original", "manifest %s belongs to another producer", orig.ID)
	}
	if orig.Status != StatusReceived && orig.Status != StatusProcessed && orig.Status != StatusClosed {
		return FieldError(Conflict, "ref.original", "manifest %s has no receipt yet (status %s)", orig.ID, orig.Status)
	}
	left := map[int]int64{}
	for _, r := range orig.Receipt {
		left[r.Line] = Grams(r.Refused, r.Unit)
	}
	for _, f := range orig.Followups {
		for _, fl := range f.Lines {
			left[fl.Line] -= fl.Grams
		}
	}
	for i, l := range d.Lines {
		ol, ok := orig.LineByNo(l.OriginLine)
		field := fmt.Sprintf("lines[%d]", i)
		if !ok {
			return FieldError(Invalid, field+".origin_line", "manifest %s has no line %d", orig.ID, l.OriginLine)
		}
		if ol.Code != l.Code {
			return FieldError(Invalid, field+".code", "original line %d is %s, not %s", l.OriginLine, ol.Code, l.Code)
		}
		left[l.OriginLine] -= Grams(l.Qty, l.Unit)
		if left[l.OriginLine] < 0 {
			return FieldError(RuleViolation, field+".qty", "more than the refused quantity of original line %d", l.OriginLine)
		}
	}
	return nil
}

// AddFollowup records on the original manifest that m carries some of its
// refused waste.
func (orig *Manifest) AddFollowup(m *Manifest, now time.Time) {
	f := Followup{Manifest: m.ID, Kind: m.Ref.Kind}
	for _, l := range m.Lines {
		f.Lines = append(f.Lines, FollowupLine{Line: l.OriginLine, Grams: Grams(l.Qty, l.Unit)})
	}
	orig.Followups = append(orig.Followups, f)
	orig.Version++
	orig.Updated = now
}
