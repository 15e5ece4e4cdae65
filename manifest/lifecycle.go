package manifest

import (
	"fmt"
	"slices"
	"time"

	"wasteledger/manifest/catalog"
)

// transitions is the lifecycle: for each step, the statuses it may start
// from. Who may take it is decided by Parties.
var transitions = map[Step][]Status{
	StepSign:     {StatusDraft},
	StepPickup:   {StatusSigned},
	StepRelay:    {StatusInTransit},
	StepDelivery: {StatusInTransit},
	StepReceive:  {StatusDelivered},
	StepProcess:  {StatusReceived},
	StepClose:    {StatusProcessed, StatusReceived},
	StepCancel:   {StatusDraft, StatusSigned},
}

// Allowed reports whether step may be taken from status (not yet who).
func Allowed(from Status, step Step) bool { return slices.Contains(transitions[step], from) }

// Parties returns who must sign the step now: the acting organisation and,
// on a handover, the taking one. It fails with Conflict when the manifest is
// not in a state where the step can happen.
func (m *Manifest) Parties(step Step) (from, to string, err error) {
	if !Allowed(m.Status, step) {
		return "", "", Errorf(Conflict, "manifest is %s; %s is not possible now", m.Status, step)
	}
	last := len(m.Legs) - 1
	switch step {
	case StepSign, StepCancel:
		return m.Producer, "", nil
	case StepPickup:
		return m.Producer, m.Legs[0].Carrier, nil
	case StepRelay:
		if m.Leg >= last {
			return "", "", Errorf(Conflict, "the waste is on its last leg; the next handover is the delivery to %s", m.Receiver)
		}
		return m.Legs[m.Leg].Carrier, m.Legs[m.Leg+1].Carrier, nil
	case StepDelivery:
		if m.Leg != last {
			return "", "", Errorf(Conflict, "the waste is on leg %d of %d; the next handover is a relay to %s", m.Leg+1, last+1, m.Legs[m.Leg+1].Carrier)
		}
		return m.Legs[last].Carrier, m.Receiver, nil
	case StepReceive, StepProcess:
		return m.Receiver, "", nil
	case StepClose:
		if m.Status == StatusReceived && m.acceptedGrams() > 0 {
			return "", "", Errorf(Conflict, "accepted waste is not processed yet")
		}
		return m.Producer, "", nil
	}
	return "", "", Errorf(Invalid, "unknown step %q", step)
}

// StepFacts are the ledger facts a step is checked against.
type StepFacts struct {
	Now            time.Time // the transaction time
	Config         Config
	ReceiverPermit *Permit // the licence named on the manifest (nil for a return)
	CarrierPermit  *Permit // the transport permit of the carrier whose vehicle the statement names
	CapacityUsedG  int64   // grams already accepted this year under ReceiverPermit
	TxID           string
}

// Apply checks a signed statement against the manifest and, if every rule
// holds, applies it: the manifest moves to its next version. sigs are the
// verified signatures (VerifySignatures). On error the manifest is
// unchanged.
func (m *Manifest) Apply(st Statement, canonical []byte, sigs []SignatureRecord, f StepFacts) error {
	next, err := m.apply(st, canonical, sigs, f)
	if err != nil {
		return err
	}
	*m = *next
	return nil
}

func (m *Manifest) apply(st Statement, canonical []byte, sigs []SignatureRecord, f StepFacts) (*Manifest, error) {
	if st.Manifest != m.ID {
		return nil, FieldError(Invalid, "statement.manifest", "statement is for %s, not %s", st.Manifest, m.ID)
	}
	from, to, err := m.Parties(st.Step)
	if err != nil {
		return nil, err
	}
	if st.From.Org != from {
		return nil, FieldError(Forbidden, "statement.from", "%s must be signed by %s, not %s", st.Step, from, st.From.Org)
	}
	if to != "" && st.To.Org != to {
		return nil, FieldError(Forbidden, "statement.to", "%s goes to %s, not %s", st.Step, to, st.To.Org)
	}
	if err := m.checkTime(st, f); err != nil {
		return nil, err
	}
	n := m.clone()
	switch st.Step {
	case StepSign:
		err = n.sign(st, f)
	case StepPickup, StepRelay, StepDelivery:
		err = n.handover(st, f)
	case StepReceive:
		err = n.receive(st, f)
	case StepProcess:
		err = n.process(st, f)
	case StepClose:
		err = n.noLines(st, StatusClosed)
	case StepCancel:
		err = n.noLines(st, StatusCancelled)
	}
	if err != nil {
		return nil, err
	}
	rec := Record{
		Step:       st.Step,
		TxID:       f.TxID,
		Committed:  f.Now,
		Time:       st.Time,
		From:       st.From.Org,
		Vehicle:    st.Vehicle,
		Place:      st.Place,
		Digest:     Hash(canonical),
		Statement:  string(canonical),
		Signatures: sigs,
	}
	if st.To != nil {
		rec.To = st.To.Org
	}
	n.Steps = append(n.Steps, rec)
	n.Version++
	n.Updated = f.Now
	return n, nil
}

func (m *Manifest) clone() *Manifest {
	n := *m
	n.Lines = slices.Clone(m.Lines)
	n.Legs = slices.Clone(m.Legs)
	n.Steps = slices.Clone(m.Steps)
	n.Receipt = slices.Clone(m.Receipt)
	n.Processed = slices.Clone(m.Processed)
	n.Flags = slices.Clone(m.Flags)
	n.Followups = slices.Clone(m.Followups)
	return &n
}

func (m *Manifest) checkTime(st Statement, f StepFacts) error {
	skew := time.Duration(f.Config.ClockSkewSeconds) * time.Second
	if st.Time.After(f.Now.Add(skew)) {
		return FieldError(Invalid, "statement.time", "statement time %s is ahead of the ledger time %s", st.Time.UTC().Format(time.RFC3339), f.Now.UTC().Format(time.RFC3339))
	}
	if m.Paper == nil && st.Time.Before(f.Now.Add(-time.Duration(f.Config.MaxOfflineHours)*time.Hour)) {
		return FieldError(RuleViolation, "statement.time", "statement signed more than %d h ago", f.Config.MaxOfflineHours)
	}
	if st.Time.Before(m.Created.Add(-skew)) && m.Paper == nil {
		return FieldError(Invalid, "statement.time", "statement time is before the manifest was created")
	}
	if n := len(m.Steps); n > 0 && st.Time.Before(m.Steps[n-1].Time) {
		return FieldError(Conflict, "statement.time", "statement time is before the previous step (%s at %s): out of order", m.Steps[n-1].Step, m.Steps[n-1].Time.UTC().Format(time.RFC3339))
	}
	return nil
}

// matchDeclared checks that a statement states exactly the declared lines.
func (m *Manifest) matchDeclared(st Statement) error {
	if len(st.Lines) != len(m.Lines) {
		return FieldError(RuleViolation, "statement.lines", "statement has %d lines, the manifest %d", len(st.Lines), len(m.Lines))
	}
	for i, sl := range st.Lines {
		l := m.Lines[i]
		if sl.Line != l.No || sl.Code != l.Code || sl.Qty != l.Qty || sl.Unit != l.Unit || sl.Packages != l.Packages {
			return FieldError(RuleViolation, fmt.Sprintf("statement.lines[%d]", i),
				"line %d does not match the manifest: stated %s %d %s in %d packages, declared %s %d %s in %d packages",
				l.No, sl.Code, sl.Qty, sl.Unit, sl.Packages, l.Code, l.Qty, l.Unit, l.Packages)
		}
		if sl.Accepted != nil || sl.Decision != "" || sl.Method != "" || len(sl.Outputs) > 0 || sl.Reason != "" {
			return FieldError(Invalid, fmt.Sprintf("statement.lines[%d]", i), "%s lines carry no decision, method or outputs", st.Step)
		}
	}
	return nil
}

func (m *Manifest) sign(st Statement, f StepFacts) error {
	if err := m.matchDeclared(st); err != nil {
		return err
	}
	if st.Vehicle != "" {
		return FieldError(Invalid, "statement.vehicle", "signing names no vehicle")
	}
	if err := m.checkReceiverLicence(st.Time, f); err != nil {
		return err
	}
	m.Status = StatusSigned
	return nil
}

func (m *Manifest) checkReceiverLicence(at time.Time, f StepFacts) error {
	if m.Ref != nil && m.Ref.Kind == "return" {
		return nil
	}
	return checkLicence(f.ReceiverPermit, m.Receiver, m.Lines, m.Method, m.Stream, at)
}

func (m *Manifest) handover(st Statement, f StepFacts) error {
	if err := m.matchDeclared(st); err != nil {
		return err
	}
	// The vehicle is the taking carrier's on pickup and relay, and the
	// arriving carrier's on delivery.
	leg := m.Leg + 1
	if st.Step == StepDelivery {
		leg = m.Leg
	}
	carrier := m.Legs[leg]
	if st.Vehicle == "" {
		return FieldError(Invalid, "statement.vehicle", "a handover names the vehicle")
	}
	if f.CarrierPermit == nil || f.CarrierPermit.ID != carrier.Permit {
		return Errorf(Internal, "carrier permit fact missing for leg %d", leg)
	}
	if err := checkTransportPermit(*f.CarrierPermit, carrier.Carrier, st.Time, "statement.vehicle"); err != nil {
		return err
	}
	if !f.CarrierPermit.HasPlate(st.Vehicle) {
		return FieldError(RuleViolation, "statement.vehicle", "vehicle %s is not registered on transport permit %s of %s", st.Vehicle, f.CarrierPermit.ID, carrier.Carrier)
	}
	switch st.Step {
	case StepPickup, StepRelay:
		m.Status = StatusInTransit
		m.Leg = leg
		m.Custody = carrier.Carrier
	case StepDelivery:
		if err := m.checkReceiverLicence(st.Time, f); err != nil {
			return err
		}
		if err := m.checkMedicalTime(st.Time, f); err != nil {
			return err
		}
		m.Status = StatusDelivered
		m.Leg = -1
		m.Custody = m.Receiver
	}
	return nil
}

// checkMedicalTime flags (or, when configured, refuses) medical waste that
// reaches its receiver later than the limit after its declared generation.
func (m *Manifest) checkMedicalTime(at time.Time, f StepFacts) error {
	if m.Stream != catalog.Medical {
		return nil
	}
	limit := time.Duration(f.Config.MedicalMaxHours) * time.Hour
	for _, l := range m.Lines {
		if l.Generated == nil {
			continue
		}
		age := at.Sub(*l.Generated)
		if age <= limit {
			continue
		}
		mins := int64(age / time.Minute)
		detail := fmt.Sprintf("delivered %d h %02d min after generation; the limit is %d h", mins/60, mins%60, f.Config.MedicalMaxHours)
		if f.Config.MedicalRefuseLate {
			return FieldError(RuleViolation, fmt.Sprintf("lines[%d].generated", l.No-1), "medical waste %s", detail)
		}
		m.Flags = append(m.Flags, Flag{Rule: FlagMedicalLate, Line: l.No, Detail: detail, At: f.Now})
	}
	return nil
}

func (m *Manifest) receive(st Statement, f StepFacts) error {
	if st.Vehicle != "" {
		return FieldError(Invalid, "statement.vehicle", "a receipt names no vehicle")
	}
	if len(st.Lines) != len(m.Lines) {
		return FieldError(Invalid, "statement.lines", "a receipt states every line: want %d, got %d", len(m.Lines), len(st.Lines))
	}
	if err := m.checkReceiverLicence(st.Time, f); err != nil {
		return err
	}
	var acceptedG int64
	receipt := make([]Receipt, 0, len(m.Lines))
	for i, sl := range st.Lines {
		l := m.Lines[i]
		field := fmt.Sprintf("statement.lines[%d]", i)
		if sl.Line != l.No || sl.Code != l.Code || sl.Unit != l.Unit {
			return FieldError(Invalid, field, "line %d is %s in %s", l.No, l.Code, l.Unit)
		}
		if sl.Method != "" || len(sl.Outputs) > 0 || sl.Packages != 0 {
			return FieldError(Invalid, field, "a receipt line carries no method, outputs or package count")
		}
		if sl.Qty < 0 || Grams(sl.Qty, sl.Unit) > f.Config.MaxLineKg*1000 {
			return FieldError(Invalid, field+".qty", "weighed quantity must be 0–%d kg", f.Config.MaxLineKg)
		}
		r := Receipt{Line: l.No, Weighed: sl.Qty, Unit: l.Unit, Decision: sl.Decision, Reason: sl.Reason}
		switch sl.Decision {
		case Accepted:
			r.Accepted = sl.Qty
			if sl.Accepted != nil && *sl.Accepted != sl.Qty {
				return FieldError(Invalid, field+".accepted", "an accepted line accepts its weighed quantity")
			}
			if sl.Qty == 0 {
				return FieldError(Invalid, field+".qty", "nothing weighed cannot be accepted; refuse the line with a reason")
			}
		case PartiallyRefused:
			if sl.Accepted == nil || *sl.Accepted <= 0 || *sl.Accepted >= sl.Qty {
				return FieldError(Invalid, field+".accepted", "a partially refused line accepts more than 0 and less than the weighed quantity")
			}
			r.Accepted = *sl.Accepted
		case Refused:
			if sl.Accepted != nil && *sl.Accepted != 0 {
				return FieldError(Invalid, field+".accepted", "a refused line accepts nothing")
			}
		default:
			return FieldError(Invalid, field+".decision", "decision must be accepted, partially_refused or refused")
		}
		if sl.Decision != Accepted {
			if err := text(field+".reason", sl.Reason, 500, true); err != nil {
				return FieldError(Invalid, field+".reason", "a refusal states its reason")
			}
		}
		r.Refused = r.Weighed - r.Accepted
		acceptedG += Grams(r.Accepted, r.Unit)
		receipt = append(receipt, r)

		diff := sl.Qty - l.Qty
		if diff < 0 {
			diff = -diff
		}
		if diff*10000 > f.Config.ToleranceBP*l.Qty {
			m.Flags = append(m.Flags, Flag{Rule: FlagDiscrepancy, Line: l.No, At: f.Now,
				Detail: fmt.Sprintf("declared %d %s, weighed %d %s: %s beyond the %s tolerance", l.Qty, l.Unit, sl.Qty, l.Unit, percent(diff, l.Qty), percent(f.Config.ToleranceBP, 10000))})
		}
		if r.Refused > 0 || (sl.Decision == Refused && l.Qty > 0) {
			m.Flags = append(m.Flags, Flag{Rule: FlagRefused, Line: l.No, At: f.Now,
				Detail: fmt.Sprintf("%s: %d %s refused: %s", sl.Decision, r.Refused, l.Unit, sl.Reason)})
		}
	}
	if p := f.ReceiverPermit; p != nil && acceptedG > 0 {
		capG := p.CapacityT * 1_000_000
		if f.CapacityUsedG+acceptedG > capG {
			return FieldError(RuleViolation, "statement.lines", "accepting %s would exceed licence %s's annual capacity of %d t (already %s this year)",
				tonnes(acceptedG), p.ID, p.CapacityT, tonnes(f.CapacityUsedG))
		}
	}
	m.Receipt = receipt
	m.Status = StatusReceived
	return nil
}

func (m *Manifest) acceptedGrams() int64 {
	var g int64
	for _, r := range m.Receipt {
		g += Grams(r.Accepted, r.Unit)
	}
	return g
}

// AcceptedGrams is the mass the receiver accepted, in grams.
func (m *Manifest) AcceptedGrams() int64 { return m.acceptedGrams() }

func (m *Manifest) process(st Statement, f StepFacts) error {
	if st.Vehicle != "" {
		return FieldError(Invalid, "statement.vehicle", "processing names no vehicle")
	}
	if len(st.Lines) == 0 {
		return FieldError(Invalid, "statement.lines", "processing states at least one line")
	}
	if m.acceptedGrams() == 0 {
		return Errorf(Conflict, "nothing was accepted; there is nothing to process")
	}
	for i, sl := range st.Lines {
		field := fmt.Sprintf("statement.lines[%d]", i)
		l, ok := m.LineByNo(sl.Line)
		if !ok || sl.Code != l.Code || sl.Unit != l.Unit {
			return FieldError(Invalid, field, "no line %d of %s in %s", sl.Line, sl.Code, sl.Unit)
		}
		r, _ := m.ReceiptFor(l.No)
		if r == nil || r.Accepted == 0 {
			return FieldError(Conflict, field, "line %d was not accepted", l.No)
		}
		for _, p := range m.Processed {
			if p.Line == l.No {
				return FieldError(Conflict, field, "line %d is already processed", l.No)
			}
		}
		if sl.Qty <= 0 || sl.Qty > r.Accepted {
			return FieldError(Invalid, field+".qty", "processed quantity must be 1–%d %s (the accepted quantity)", r.Accepted, r.Unit)
		}
		if sl.Accepted != nil || sl.Decision != "" || sl.Packages != 0 || sl.Reason != "" {
			return FieldError(Invalid, field, "a processing line carries no decision or package count")
		}
		if err := catalog.ValidMethod(sl.Method); err != nil {
			return FieldError(Invalid, field+".method", "%v", err)
		}
		if err := catalog.MethodAllowed(l.Code, sl.Method); err != nil {
			return FieldError(RuleViolation, field+".method", "%v", err)
		}
		if p := f.ReceiverPermit; p != nil && !p.Allows(sl.Method) {
			return FieldError(RuleViolation, field+".method", "licence %s does not authorise method %s", p.ID, sl.Method)
		}
		if len(sl.Outputs) > maxOutputs {
			return FieldError(Invalid, field+".outputs", "at most %d outputs", maxOutputs)
		}
		for j, o := range sl.Outputs {
			of := fmt.Sprintf("%s.outputs[%d]", field, j)
			if err := text(of+".material", o.Material, 100, true); err != nil {
				return err
			}
			if o.Qty <= 0 || (o.Unit != Gram && o.Unit != Kilogram) || Grams(o.Qty, o.Unit) > Grams(sl.Qty, sl.Unit) {
				return FieldError(Invalid, of+".qty", "an output is a positive quantity in g or kg, no more than the processed quantity")
			}
		}
		for _, p := range st.Lines[:i] {
			if p.Line == sl.Line {
				return FieldError(Invalid, field, "line %d stated twice", sl.Line)
			}
		}
		m.Processed = append(m.Processed, Processing{Line: l.No, Method: sl.Method, Qty: sl.Qty, Unit: sl.Unit, Time: st.Time, Outputs: sl.Outputs})
	}
	done := true
	for _, r := range m.Receipt {
		if r.Accepted == 0 {
			continue
		}
		found := false
		for _, p := range m.Processed {
			found = found || p.Line == r.Line
		}
		done = done && found
	}
	if done {
		m.Status = StatusProcessed
	}
	return nil
}

func (m *Manifest) noLines(st Statement, to Status) error {
	if len(st.Lines) > 0 || st.Vehicle != "" {
		return FieldError(Invalid, "statement.lines", "%s states no lines and no vehicle", st.Step)
	}
	if to == StatusCancelled {
		if err := text("statement.reason", st.Reason, 500, true); err != nil {
			return FieldError(Invalid, "statement.reason", "a cancellation states its reason")
		}
	}
	m.Status = to
	m.Custody = ""
	return nil
}

func percent(num, den int64) string {
	if den == 0 {
		return "∞ %"
	}
	// tenths of a percent, integer arithmetic only
	t := num * 1000 / den
	return fmt.Sprintf("%d.%d %%", t/10, t%10)
}

func tonnes(g int64) string { return fmt.Sprintf("%d.%03d t", g/1_000_000, (g%1_000_000)/1000) }
