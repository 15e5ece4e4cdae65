package manifest

import "time"

// Template returns the statement of step that the parties would sign now
// against the manifest version whose stored bytes hash to prev: the signing
// parties and their roles are named by organisation (their key ids are the
// signers' to fill), the declared lines are filled for signing and
// handovers, and receive and process lines are prefilled from the declared
// and accepted quantities for the receiver to correct. at is the signing
// time as the device sees it.
func (m *Manifest) Template(step Step, prev string, at time.Time) (Statement, error) {
	from, to, err := m.Parties(step)
	if err != nil {
		return Statement{}, err
	}
	st := Statement{V: StatementVersion, Manifest: m.ID, Step: step, From: &Party{Org: from}, Time: at.UTC().Truncate(time.Second), Prev: prev}
	if to != "" {
		st.To = &Party{Org: to}
	}
	switch step {
	case StepSign, StepPickup, StepRelay, StepDelivery:
		for _, l := range m.Lines {
			st.Lines = append(st.Lines, StatementLine{Line: l.No, Code: l.Code, Qty: l.Qty, Unit: l.Unit, Packages: l.Packages})
		}
	case StepReceive:
		for _, l := range m.Lines {
			st.Lines = append(st.Lines, StatementLine{Line: l.No, Code: l.Code, Qty: l.Qty, Unit: l.Unit, Decision: Accepted})
		}
	case StepProcess:
		for _, r := range m.Receipt {
			if r.Accepted == 0 || m.processed(r.Line) {
				continue
			}
			l, _ := m.LineByNo(r.Line)
			st.Lines = append(st.Lines, StatementLine{Line: l.No, Code: l.Code, Qty: r.Accepted, Unit: r.Unit, Method: m.Method})
		}
	}
	switch step {
	case StepPickup, StepRelay:
		if leg := m.Leg + 1; leg < len(m.Legs) && len(m.Legs[leg].Plates) > 0 {
			st.Vehicle = m.Legs[leg].Plates[0]
		}
	case StepDelivery:
		if m.Leg >= 0 && len(m.Legs[m.Leg].Plates) > 0 {
			st.Vehicle = m.Legs[m.Leg].Plates[0]
		}
		// The vehicle actually used at pickup or relay is the one arriving.
		for i := len(m.Steps) - 1; i >= 0; i-- {
			if s := m.Steps[i]; (s.Step == StepPickup || s.Step == StepRelay) && s.To == from && s.Vehicle != "" {
				st.Vehicle = s.Vehicle
				break
			}
		}
	}
	return st, nil
}

func (m *Manifest) processed(line int) bool {
	for _, p := range m.Processed {
		if p.Line == line {
			return true
		}
	}
	return false
}

// NextStep is the step the manifest waits for and who must take it: the
// signing organisation, and on a handover the taking one. Done manifests
// (closed, cancelled) wait for nothing.
func (m *Manifest) NextStep() (step Step, from, to string, ok bool) {
	var candidates []Step
	switch m.Status {
	case StatusDraft:
		candidates = []Step{StepSign}
	case StatusSigned:
		candidates = []Step{StepPickup}
	case StatusInTransit:
		candidates = []Step{StepRelay, StepDelivery}
	case StatusDelivered:
		candidates = []Step{StepReceive}
	case StatusReceived:
		candidates = []Step{StepProcess, StepClose}
	case StatusProcessed:
		candidates = []Step{StepClose}
	}
	for _, s := range candidates {
		if f, t, err := m.Parties(s); err == nil {
			return s, f, t, true
		}
	}
	return "", "", "", false
}
