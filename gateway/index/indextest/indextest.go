// Package indextest runs a real embedded ledger for the tests of the
// index, reconciliation and audit packages, behind the gateway's
// ledger.Ledger interface, and drives scenario trips through it at chosen
// statement times.
package indextest

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"wasteledger/chaincode"
	"wasteledger/chaincode/embedded"
	"wasteledger/chaincode/scenario"
	"wasteledger/gateway/ledger"
	"wasteledger/manifest"
)

// Ledger adapts an embedded ledger to ledger.Ledger: event cursors are
// (block, tx index) pairs, mapped to the embedded feed's sequence numbers.
type Ledger struct {
	*embedded.Ledger
	mu      sync.Mutex
	lastCur ledger.Cursor
	lastSeq uint64
}

var _ ledger.Ledger = (*Ledger)(nil)

// Open makes a new embedded ledger in t's temporary directory, closed at
// the end of the test.
func Open(t testing.TB) *Ledger {
	t.Helper()
	ctx := context.Background()
	cfg := embedded.Config{Path: filepath.Join(t.TempDir(), "ledger.db"), NoSync: true, BlockMaxWait: time.Millisecond}
	if _, err := embedded.Init(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	l, err := embedded.Open(ctx, cfg, chaincode.New())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return &Ledger{Ledger: l}
}

// Submit implements ledger.Ledger.
func (l *Ledger) Submit(ctx context.Context, caller chaincode.Caller, fn string, args ...[]byte) (ledger.Commit, error) {
	r, err := l.Ledger.Submit(ctx, caller, fn, args...)
	if err != nil {
		return ledger.Commit{}, err
	}
	return ledger.Commit{TxID: r.TxID, Block: r.Block, Time: r.Time, Payload: r.Payload}, nil
}

// Tx implements ledger.Ledger.
func (l *Ledger) Tx(ctx context.Context, txID string) (ledger.TxInfo, error) {
	r, err := l.Ledger.Transaction(ctx, txID)
	if err != nil {
		return ledger.TxInfo{}, err
	}
	return ledger.TxInfo{TxID: r.TxID, Block: r.Block, Index: r.Index, Time: r.Time}, nil
}

// Events implements ledger.Ledger, waiting for the first event until ctx
// ends.
func (l *Ledger) Events(ctx context.Context, after ledger.Cursor, limit int) ([]ledger.Event, error) {
	seq, err := l.seqOf(ctx, after)
	if err != nil {
		return nil, err
	}
	evs, err := l.Ledger.Events(ctx, seq, limit)
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 {
		if err := l.WaitEvents(ctx, seq); err != nil {
			if ctx.Err() != nil {
				return nil, nil
			}
			return nil, err
		}
		if evs, err = l.Ledger.Events(ctx, seq, limit); err != nil {
			return nil, err
		}
	}
	out := make([]ledger.Event, len(evs))
	for i, e := range evs {
		out[i] = ledger.Event{Cursor: ledger.Cursor{Block: e.Block, Tx: e.TxIndex}, TxID: e.TxID, Time: e.Time, Name: e.Name, Payload: e.Payload}
	}
	if n := len(evs); n > 0 {
		l.mu.Lock()
		l.lastCur, l.lastSeq = out[n-1].Cursor, evs[n-1].Seq
		l.mu.Unlock()
	}
	return out, nil
}

// seqOf finds the sequence number of the last event at or before the
// cursor.
func (l *Ledger) seqOf(ctx context.Context, c ledger.Cursor) (uint64, error) {
	if c == (ledger.Cursor{}) {
		return 0, nil
	}
	l.mu.Lock()
	if c == l.lastCur {
		defer l.mu.Unlock()
		return l.lastSeq, nil
	}
	l.mu.Unlock()
	n := l.LastEventSeq()
	var ferr error
	i := sort.Search(int(n), func(i int) bool { // first seq (i+1) after the cursor
		evs, err := l.Ledger.Events(ctx, uint64(i), 1)
		if err != nil || len(evs) == 0 {
			ferr = errors.Join(ferr, err)
			return true
		}
		return c.Before(ledger.Cursor{Block: evs[0].Block, Tx: evs[0].TxIndex})
	})
	return uint64(i), ferr
}

// Host is the ledger as a scenario host.
func (l *Ledger) Host() scenario.Host { return host{l} }

type host struct{ l *Ledger }

func (h host) Submit(ctx context.Context, caller chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	c, err := h.l.Submit(ctx, caller, fn, args...)
	return c.Payload, err
}

func (h host) Evaluate(ctx context.Context, caller chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	return h.l.Evaluate(ctx, caller, fn, args...)
}

// Times are the statement times of a trip's steps; zero fields use the
// scenario's clock.
type Times struct {
	Sign, Pickup, Relay, Delivery, Receive, Process, Close time.Time
}

// Plan says how far a trip goes and what the receiver records.
type Plan struct {
	To      manifest.Status // how far to run (draft … closed, or cancelled after signing)
	Times   Times
	Weighed []int64 // per line, in the line's unit; default the declared quantity
	Accept  []int64 // per line; default all weighed (a smaller value refuses the rest)
	Outputs []manifest.Output
	Method  string // processing method; default the planned one
}

// Run creates a trip and drives it as planned.
func Run(ctx context.Context, h scenario.Host, t *scenario.Trip, p Plan) error {
	if err := t.Create(ctx, h); err != nil {
		return err
	}
	return Continue(ctx, h, t, p)
}

// Refresh reloads the trip's document from the ledger (after another
// transaction changed it, e.g. a follow-up manifest).
func Refresh(ctx context.Context, h scenario.Host, t *scenario.Trip) error {
	doc, err := h.Evaluate(ctx, t.Producer.Caller(), "GetManifest", []byte(t.ID()))
	if err != nil {
		return err
	}
	t.Doc = doc
	return nil
}

// Continue drives a created trip from where it is to p.To.
func Continue(ctx context.Context, h scenario.Host, t *scenario.Trip, p Plan) error {
	at := func(st manifest.Statement, when time.Time) manifest.Statement {
		if !when.IsZero() {
			st.Time = when.UTC()
		}
		return st
	}
	for {
		m := t.Manifest()
		if m.Status == p.To || !m.Status.Open() {
			return nil
		}
		var err error
		switch m.Status {
		case manifest.StatusDraft:
			err = t.Submit(ctx, h, "SignManifest", at(t.Statement(manifest.StepSign), p.Times.Sign), t.Producer)
		case manifest.StatusSigned:
			if p.To == manifest.StatusCancelled {
				st := t.Statement(manifest.StepCancel)
				st.Lines, st.Place, st.Reason = nil, nil, "计划变更，取消转移"
				if !p.Times.Sign.IsZero() {
					st.Time = p.Times.Sign.Add(time.Minute).UTC()
				}
				err = t.Submit(ctx, h, "CancelManifest", st, t.Producer)
				break
			}
			st := at(t.Statement(manifest.StepPickup), p.Times.Pickup)
			st.Vehicle = t.Plates[0]
			err = t.Submit(ctx, h, "Handover", st, t.Producer, t.Carriers[0])
		case manifest.StatusInTransit:
			if m.Leg+1 < len(t.Carriers) {
				st := at(t.Statement(manifest.StepRelay), p.Times.Relay)
				st.Vehicle = t.Plates[m.Leg+1]
				err = t.Submit(ctx, h, "Handover", st, t.Carriers[m.Leg], t.Carriers[m.Leg+1])
				break
			}
			st := at(t.Statement(manifest.StepDelivery), p.Times.Delivery)
			st.Vehicle = t.Plates[len(t.Plates)-1]
			err = t.Submit(ctx, h, "Handover", st, t.Carriers[len(t.Carriers)-1], t.Receiver)
		case manifest.StatusDelivered:
			st := at(t.Statement(manifest.StepReceive), p.Times.Receive)
			for i, l := range m.Lines {
				q := l.Qty
				if i < len(p.Weighed) {
					q = p.Weighed[i]
				}
				sl := manifest.StatementLine{Line: l.No, Code: l.Code, Qty: q, Unit: l.Unit, Decision: manifest.Accepted}
				if i < len(p.Accept) && p.Accept[i] < q {
					a := p.Accept[i]
					sl.Accepted = &a
					sl.Decision, sl.Reason = manifest.PartiallyRefused, "包装破损，部分拒收"
					if a == 0 {
						sl.Decision, sl.Reason = manifest.Refused, "与联单不符，拒收"
					}
				}
				st.Lines = append(st.Lines, sl)
			}
			err = t.Submit(ctx, h, "Receive", st, t.Receiver)
		case manifest.StatusReceived:
			if m.AcceptedGrams() == 0 {
				err = t.Submit(ctx, h, "CloseManifest", at(t.Statement(manifest.StepClose), p.Times.Close), t.Producer)
				break
			}
			st := at(t.Statement(manifest.StepProcess), p.Times.Process)
			method := p.Method
			if method == "" {
				method = m.Method
			}
			for _, r := range m.Receipt {
				if r.Accepted == 0 {
					continue
				}
				l, _ := m.LineByNo(r.Line)
				sl := manifest.StatementLine{Line: l.No, Code: l.Code, Qty: r.Accepted, Unit: r.Unit, Method: method}
				if len(st.Lines) == 0 {
					sl.Outputs = p.Outputs
				}
				st.Lines = append(st.Lines, sl)
			}
			err = t.Submit(ctx, h, "Process", st, t.Receiver)
		case manifest.StatusProcessed:
			err = t.Submit(ctx, h, "CloseManifest", at(t.Statement(manifest.StepClose), p.Times.Close), t.Producer)
		}
		if err != nil {
			return fmt.Errorf("%s from %s: %w", t.ID(), m.Status, err)
		}
	}
}
