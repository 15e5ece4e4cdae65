package scenario

import (
	"context"
	"encoding/json"
	"fmt"

	"wasteledger/manifest"
)

// Create submits the draft as its producer.
func (t *Trip) Create(ctx context.Context, h Host) error {
	b, err := json.Marshal(t.Draft)
	if err != nil {
		return err
	}
	doc, err := h.Submit(ctx, t.Producer.Caller(), "CreateManifest", b)
	if err != nil {
		return err
	}
	t.Doc = doc
	return nil
}

// Statement starts a statement about the current version.
func (t *Trip) Statement(step manifest.Step) manifest.Statement {
	m := t.Manifest()
	st := manifest.Statement{Manifest: m.ID, Step: step, Time: Now(), Prev: Hash(t.Doc),
		Place: &manifest.Place{LatE6: 23_129_110, LonE6: 113_264_385, Text: "装卸区"}}
	if step == manifest.StepSign || step.Handover() {
		for _, l := range m.Lines {
			st.Lines = append(st.Lines, manifest.StatementLine{Line: l.No, Code: l.Code, Qty: l.Qty, Unit: l.Unit, Packages: l.Packages})
		}
	}
	if step == manifest.StepSign {
		st.Place = nil
	}
	return st
}

// Submit signs st by the signers and submits it with fn as the caller of
// the first signer (or of submitter when given).
func (t *Trip) Submit(ctx context.Context, h Host, fn string, st manifest.Statement, signers ...*Party) error {
	b, err := Sign(st, signers...)
	if err != nil {
		return err
	}
	doc, err := h.Submit(ctx, signers[len(signers)-1].Caller(), fn, b)
	if err != nil {
		return err
	}
	t.Doc = doc
	return nil
}

// SignByProducer signs the manifest as its producer.
func (t *Trip) SignByProducer(ctx context.Context, h Host) error {
	return t.Submit(ctx, h, "SignManifest", t.Statement(manifest.StepSign), t.Producer)
}

// Handover is the trip's i-th handover, unsigned, and the parties that
// sign it: 0 is the pickup, 1 … len(Carriers)-1 the relays,
// len(Carriers) the delivery. The receiving party (to) submits it.
func (t *Trip) Handover(i int) (st manifest.Statement, from, to *Party) {
	last := len(t.Carriers)
	switch {
	case i == 0:
		st, from, to = t.Statement(manifest.StepPickup), t.Producer, t.Carriers[0]
	case i < last:
		st, from, to = t.Statement(manifest.StepRelay), t.Carriers[i-1], t.Carriers[i]
	default:
		st, from, to = t.Statement(manifest.StepDelivery), t.Carriers[last-1], t.Receiver
	}
	st.Vehicle = t.Plates[min(i, len(t.Plates)-1)]
	return st, from, to
}

func (t *Trip) handover(ctx context.Context, h Host, i int) error {
	st, from, to := t.Handover(i)
	return t.Submit(ctx, h, "Handover", st, from, to)
}

// Pickup hands the waste from the producer to the first carrier.
func (t *Trip) Pickup(ctx context.Context, h Host) error { return t.handover(ctx, h, 0) }

// Relay hands the waste from carrier i to carrier i+1.
func (t *Trip) Relay(ctx context.Context, h Host, i int) error { return t.handover(ctx, h, i+1) }

// Deliver hands the waste from the last carrier to the receiver.
func (t *Trip) Deliver(ctx context.Context, h Host) error {
	return t.handover(ctx, h, len(t.Carriers))
}

// ReceiveAll records every line accepted at its declared quantity, or at the
// weighed quantities given per line.
func (t *Trip) ReceiveAll(ctx context.Context, h Host, weighed ...int64) error {
	st := t.Statement(manifest.StepReceive)
	for i, l := range t.Manifest().Lines {
		q := l.Qty
		if i < len(weighed) {
			q = weighed[i]
		}
		st.Lines = append(st.Lines, manifest.StatementLine{Line: l.No, Code: l.Code, Qty: q, Unit: l.Unit, Decision: manifest.Accepted})
	}
	return t.Submit(ctx, h, "Receive", st, t.Receiver)
}

// ProcessAll records every accepted line processed by the planned method.
func (t *Trip) ProcessAll(ctx context.Context, h Host, outputs ...manifest.Output) error {
	m := t.Manifest()
	st := t.Statement(manifest.StepProcess)
	for _, r := range m.Receipt {
		if r.Accepted == 0 {
			continue
		}
		l, _ := m.LineByNo(r.Line)
		sl := manifest.StatementLine{Line: l.No, Code: l.Code, Qty: r.Accepted, Unit: r.Unit, Method: m.Method}
		if len(st.Lines) == 0 {
			sl.Outputs = outputs
		}
		st.Lines = append(st.Lines, sl)
	}
	return t.Submit(ctx, h, "Process", st, t.Receiver)
}

// Close confirms the result as the producer.
func (t *Trip) Close(ctx context.Context, h Host) error {
	return t.Submit(ctx, h, "CloseManifest", t.Statement(manifest.StepClose), t.Producer)
}

// Cancel withdraws the manifest as the producer.
func (t *Trip) Cancel(ctx context.Context, h Host, reason string) error {
	st := t.Statement(manifest.StepCancel)
	st.Lines, st.Place, st.Reason = nil, nil, reason
	return t.Submit(ctx, h, "CancelManifest", st, t.Producer)
}

// Run drives the trip from creation to the given status (at most closed),
// relaying through every carrier.
func (t *Trip) Run(ctx context.Context, h Host, to manifest.Status) error {
	steps := []struct {
		reach manifest.Status
		do    func() error
	}{
		{manifest.StatusDraft, func() error { return t.Create(ctx, h) }},
		{manifest.StatusSigned, func() error { return t.SignByProducer(ctx, h) }},
		{manifest.StatusInTransit, func() error {
			if err := t.Pickup(ctx, h); err != nil {
				return err
			}
			for i := 0; i+1 < len(t.Carriers); i++ {
				if err := t.Relay(ctx, h, i); err != nil {
					return err
				}
			}
			return nil
		}},
		{manifest.StatusDelivered, func() error { return t.Deliver(ctx, h) }},
		{manifest.StatusReceived, func() error { return t.ReceiveAll(ctx, h) }},
		{manifest.StatusProcessed, func() error { return t.ProcessAll(ctx, h) }},
		{manifest.StatusClosed, func() error { return t.Close(ctx, h) }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("to %s: %w", s.reach, err)
		}
		if s.reach == to {
			return nil
		}
	}
	return fmt.Errorf("cannot run a trip to %s", to)
}
