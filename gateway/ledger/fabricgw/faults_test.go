//go:build fabric

// Fault tests: they stop and start nodes of the network with network/ctl.sh
// and leave every node running again when they end.

package fabricgw

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wasteledger/chaincode"
	"wasteledger/chaincode/scenario"
	"wasteledger/gateway/ledger"
	"wasteledger/manifest"
)

type ack struct {
	run   *tripRun
	step  manifest.Step
	txID  string
	block uint64
	at    time.Time
}

type failure struct {
	run  *tripRun
	body []byte
	err  error
	at   time.Time
}

// checkExactlyOnce asserts that every acknowledged handover is on the
// ledger once, in the block Submit reported, and that no manifest holds a
// step twice.
func checkExactlyOnce(ctx context.Context, t *testing.T, l *Ledger, acks []ack, runs []*tripRun) {
	t.Helper()
	byTx := map[string]ack{}
	for _, a := range acks {
		if _, dup := byTx[a.txID]; dup {
			t.Errorf("transaction %s acknowledged twice", a.txID)
		}
		byTx[a.txID] = a
	}
	reg := chaincode.Caller{MSP: scenario.RegulatorMSP}
	found := 0
	for _, r := range runs {
		doc, err := l.Evaluate(ctx, reg, "GetManifest", []byte(r.trip.ID()))
		if err != nil {
			t.Fatalf("GetManifest %s: %v", r.trip.ID(), err)
		}
		m, err := scenario.Decode(doc)
		if err != nil {
			t.Fatal(err)
		}
		steps := map[manifest.Step]int{}
		txs := map[string]int{}
		for _, s := range m.Steps {
			steps[s.Step]++
			txs[s.TxID]++
		}
		if steps[manifest.StepPickup] > 1 || steps[manifest.StepDelivery] > 1 || steps[manifest.StepRelay] > r.legs-1 || steps[manifest.StepSign] != 1 {
			t.Errorf("manifest %s holds steps %v: a handover was recorded twice", m.ID, steps)
		}
		for tx, n := range txs {
			if n > 1 {
				t.Errorf("manifest %s records transaction %s %d times", m.ID, tx, n)
			}
			if _, ok := byTx[tx]; ok {
				found++
			}
		}
		if m.Version != 1+len(m.Steps) {
			t.Errorf("manifest %s at version %d with %d steps", m.ID, m.Version, len(m.Steps))
		}
	}
	if found != len(byTx) {
		t.Errorf("%d acknowledged handovers, %d of them on the ledger: an acknowledged handover is missing", len(byTx), found)
	}
	for _, a := range acks {
		info, err := l.Tx(ctx, a.txID)
		if err != nil || info.Block != a.block {
			t.Errorf("Tx(%s) = block %d, %v; Submit said block %d", a.txID, info.Block, err, a.block)
		}
	}
}

// With three Raft orderers, killing the leader under a load of handovers
// pauses ordering for an election; commits then continue on two, every
// acknowledged handover is on the ledger exactly once, and a handover
// whose outcome was reported unavailable can be resubmitted safely.
func TestOrdererLeaderStoppedUnderLoad(t *testing.T) {
	l := shared(t)
	p := sharedProfile
	nc := newNetctl(t, p)
	ctx := ctxFor(t, 8*time.Minute)

	// More handovers than 45 s can take (a trip is legs+1 handovers, each
	// ~130 ms to commit and 200 ms apart: ~136 a worker), so that work is
	// left after the restart even when no handover is caught by the kill.
	const workers, perWorker, legs = 4, 50, 2
	w := newLoadWorld(ctx, t, l, workers)
	runs := w.prepare(ctx, t, l, workers*perWorker, legs)
	leader := nc.raftLeader(t, p)
	t.Logf("Raft leader: %s", leader)
	stopped := false
	t.Cleanup(func() {
		if stopped {
			nc.run(t, "start", leader)
		}
	})

	var mu sync.Mutex
	var acks []ack
	var fails []failure
	start := time.Now()
	end := start.Add(45 * time.Second)
	var wg sync.WaitGroup
	for wk := 0; wk < workers; wk++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := wk; i < len(runs) && time.Now().Before(end); i += workers {
				r := runs[i]
				for !r.done() && time.Now().Before(end) {
					c, step, body, err := r.handover(ctx, l)
					mu.Lock()
					if err != nil {
						fails = append(fails, failure{run: r, body: body, err: err, at: time.Now()})
					} else {
						acks = append(acks, ack{run: r, step: step, txID: c.TxID, block: c.Block, at: time.Now()})
					}
					mu.Unlock()
					if err != nil {
						break // this trip stops here; its statement is resubmitted below
					}
					time.Sleep(200 * time.Millisecond)
				}
			}
		}()
	}

	time.Sleep(4 * time.Second)
	nc.run(t, "kill", leader) // a crash: no goodbye to the other orderers
	stopped = true
	stopAt := time.Now()
	// Long enough for a handover the leader took with it to be resolved:
	// its commit status times out (10 s), the peers are searched for it
	// (up to 10 s) and it is sent again to the new leader. With every
	// worker caught that way, nothing is acknowledged for about 21 s.
	time.Sleep(30 * time.Second)
	nc.run(t, "start", leader)
	stopped = false
	restartAt := time.Now()
	wg.Wait()

	count := func(from, to time.Time) int {
		n := 0
		for _, a := range acks {
			if !a.at.Before(from) && a.at.Before(to) {
				n++
			}
		}
		return n
	}
	before, during, after := count(start, stopAt), count(stopAt, restartAt), count(restartAt, time.Now())
	t.Logf("acknowledged handovers: %d before the stop, %d while %s was down, %d after it restarted; %d failed",
		before, during, leader, after, len(fails))
	if count(stopAt.Add(10*time.Second), restartAt) == 0 {
		// Timeouts: commit status 10 s, look-up 10 s (defaultOptions).
		t.Errorf("no handover committed between 10 s after %s stopped and its restart: ordering did not continue on two orderers", leader)
	}
	if after == 0 {
		t.Error("no handover committed after the orderer restarted")
	}
	for _, f := range fails {
		if c := manifest.CodeOf(f.err); c != manifest.Unavailable {
			t.Errorf("a handover failed with %s, want only unavailable during an orderer failover: %v", c, f.err)
		}
	}
	// A client resubmits what failed: the statement commits if it never
	// did, and is refused as a conflict if it did. Never twice.
	for _, f := range fails {
		submitter := f.run.trip.Receiver
		if f.run.next < f.run.legs {
			submitter = f.run.trip.Carriers[f.run.next]
		}
		c, err := l.Submit(ctx, submitter.Caller(), "Handover", f.body)
		switch {
		case err == nil:
			f.run.trip.Doc = c.Payload
			f.run.next++
			acks = append(acks, ack{run: f.run, txID: c.TxID, block: c.Block, at: time.Now()})
		case manifest.CodeOf(err) == manifest.Conflict:
			t.Logf("resubmitted handover refused as a conflict (the first copy had committed): %v", err)
		default:
			t.Errorf("resubmitting a failed handover: %v", err)
		}
	}
	checkExactlyOnce(ctx, t, l, acks, runs)
}

// A peer stopped and restarted catches up; an event follower restarted
// from its stored cursor while the peer it read from was down resumes with
// no gap and no duplicate; transactions submitted as the stopped peer's
// organisation go through another organisation's gateway.
func TestPeerRestartAndEventFollower(t *testing.T) {
	l := shared(t)
	p := sharedProfile
	nc := newNetctl(t, p)
	ctx := ctxFor(t, 6*time.Minute)
	const peerNode, peerMSP = "peer-producer", scenario.ProducerMSP
	stopped := false
	t.Cleanup(func() {
		if stopped {
			nc.run(t, "start", peerNode)
		}
	})

	reg := chaincode.Caller{MSP: scenario.RegulatorMSP}
	mark, err := l.Submit(ctx, reg, "Diagnose")
	if err != nil {
		t.Fatal(err)
	}
	info, err := l.Tx(ctx, mark.TxID)
	if err != nil {
		t.Fatal(err)
	}
	origin := ledger.Cursor{Block: info.Block, Tx: info.Index}

	// The follower reads from the producer's peer, the one that will stop.
	open := func() *Ledger {
		f, err := New(p, WithEvents(peerMSP, 64), WithLogger(testLog(t)))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	var seen []ledger.Event
	checkpoint := origin // what a follower stores after handling events
	consume := func(f *Ledger, d time.Duration) {
		until := time.Now().Add(d)
		for time.Now().Before(until) {
			cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			evs, err := f.Events(cctx, checkpoint, 50)
			cancel()
			if err != nil {
				t.Logf("events: %v", err) // the stream may be down for a moment
				continue
			}
			if len(evs) > 0 {
				seen = append(seen, evs...)
				checkpoint = evs[len(evs)-1].Cursor
			}
		}
	}

	// A steady load of writes as every organisation.
	var mu sync.Mutex
	acked := map[string]uint64{}
	var producerAcks, producerAcksWhileDown atomic.Int32
	var down atomic.Bool
	var loadErrs []error
	stop := make(chan struct{})
	var wg sync.WaitGroup
	msps := []string{scenario.RegulatorMSP, scenario.ProducerMSP, scenario.CarrierMSP, scenario.ReceiverMSP}
	for i, msp := range msps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				case <-time.After(time.Duration(50+10*i) * time.Millisecond):
				}
				c, err := l.Submit(ctx, chaincode.Caller{MSP: msp}, "Diagnose")
				mu.Lock()
				if err != nil {
					loadErrs = append(loadErrs, fmt.Errorf("%s: %w", msp, err))
				} else {
					acked[c.TxID] = c.Block
					if msp == peerMSP {
						producerAcks.Add(1)
						if down.Load() {
							producerAcksWhileDown.Add(1)
						}
					}
				}
				mu.Unlock()
			}
		}()
	}

	f1 := open()
	consume(f1, 3*time.Second)
	nc.run(t, "stop", peerNode)
	stopped = true
	down.Store(true)
	consume(f1, 4*time.Second)
	// The follower process restarts, from its stored cursor, while the
	// peer it reads from is still down.
	f1.Close()
	f2 := open()
	defer f2.Close()
	consume(f2, 4*time.Second)
	nc.run(t, "start", peerNode)
	stopped = false
	down.Store(false)
	restarted := time.Now()

	// The restarted peer catches up with the others.
	var caughtUp bool
	for time.Since(restarted) < 60*time.Second {
		consume(f2, 500*time.Millisecond)
		hp, err1 := height(ctx, l, peerMSP)
		hr, err2 := height(ctx, l, scenario.RegulatorMSP)
		if err1 == nil && err2 == nil && hp >= hr {
			t.Logf("%s caught up at height %d, %.1f s after its restart", peerNode, hp, time.Since(restarted).Seconds())
			caughtUp = true
			break
		}
	}
	if !caughtUp {
		t.Errorf("%s did not catch up within 60 s of its restart", peerNode)
	}
	consume(f2, 2*time.Second)
	close(stop)
	wg.Wait()
	last, err := l.Submit(ctx, reg, "Diagnose")
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if n := len(seen); n > 0 && seen[n-1].TxID == last.TxID {
			break
		}
		consume(f2, 500*time.Millisecond)
	}

	t.Logf("%d writes acknowledged (%d as %s, %d of them while its peer was down), %d failed; %d events followed",
		len(acked), producerAcks.Load(), peerMSP, producerAcksWhileDown.Load(), len(loadErrs), len(seen))
	for _, err := range loadErrs {
		t.Logf("failed write: %v", err)
		if manifest.CodeOf(err) != manifest.Unavailable {
			t.Errorf("a write failed with %s while a peer was down: %v", manifest.CodeOf(err), err)
		}
	}
	if producerAcksWhileDown.Load() == 0 {
		t.Errorf("no write as %s committed while its peer was down: the other gateways were not used", peerMSP)
	}
	if len(loadErrs) > len(acked)/10 {
		t.Errorf("%d of %d writes failed while one peer of four was down", len(loadErrs), len(acked)+len(loadErrs))
	}

	// No duplicate, in order.
	for i := 1; i < len(seen); i++ {
		if !seen[i-1].Cursor.Before(seen[i].Cursor) {
			t.Fatalf("event %d at %+v does not follow event %d at %+v: duplicate or disorder", i, seen[i].Cursor, i-1, seen[i-1].Cursor)
		}
	}
	// No gap: every acknowledged write's event was followed, and the
	// followed events are exactly those a fresh reader finds.
	got := map[string]bool{}
	for _, e := range seen {
		got[e.TxID] = true
	}
	missing := 0
	for tx := range acked {
		if !got[tx] {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d acknowledged writes have no followed event: a gap", missing)
	}
	f3, err := New(p, WithLogger(testLog(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer f3.Close()
	var again []ledger.Event
	for cur := origin; len(again) < len(seen); {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		evs, err := f3.Events(cctx, cur, 500)
		cancel()
		if err != nil || len(evs) == 0 {
			t.Fatalf("re-reading the events: %v (%d of %d)", err, len(again), len(seen))
		}
		again = append(again, evs...)
		cur = evs[len(evs)-1].Cursor
	}
	again = again[:len(seen)]
	for i := range seen {
		if seen[i].TxID != again[i].TxID || seen[i].Cursor != again[i].Cursor {
			t.Fatalf("followed event %d is %s at %+v, a fresh reader finds %s at %+v", i, seen[i].TxID, seen[i].Cursor, again[i].TxID, again[i].Cursor)
		}
	}
}

// A chaincode server that is down makes writes and reads fail as
// unavailable, promptly, without changing anything; once it is back the
// same signed handover commits exactly once.
func TestChaincodeServerDown(t *testing.T) {
	l := shared(t)
	p := sharedProfile
	nc := newNetctl(t, p)
	ctx := ctxFor(t, 4*time.Minute)
	w := newLoadWorld(ctx, t, l, 1)
	runs := w.prepare(ctx, t, l, 1, 2)
	r := runs[0]
	body, submitter, _, err := r.signNext()
	if err != nil {
		t.Fatal(err)
	}
	before, err := l.Evaluate(ctx, submitter.Caller(), "GetManifest", []byte(r.trip.ID()))
	if err != nil {
		t.Fatal(err)
	}

	nc.run(t, "stop", "cc-"+l.o.chaincode)
	stopped := true
	t.Cleanup(func() {
		if stopped {
			nc.run(t, "start", "cc-"+l.o.chaincode)
		}
	})
	start := time.Now()
	_, err = l.Submit(ctx, submitter.Caller(), "Handover", body)
	if manifest.CodeOf(err) != manifest.Unavailable {
		t.Errorf("Handover with the chaincode server down = %v, want unavailable", err)
	}
	t.Logf("with the chaincode server down, Submit answered in %v: %v", time.Since(start).Round(time.Millisecond), err)
	if _, err := l.Evaluate(ctx, submitter.Caller(), "GetManifest", []byte(r.trip.ID())); manifest.CodeOf(err) != manifest.Unavailable {
		t.Errorf("GetManifest with the chaincode server down = %v, want unavailable", err)
	}
	if d := time.Since(start); d > 40*time.Second {
		t.Errorf("failing took %v", d)
	}

	nc.run(t, "start", "cc-"+l.o.chaincode)
	stopped = false
	var now []byte
	for deadline := time.Now().Add(30 * time.Second); ; {
		now, err = l.Evaluate(ctx, submitter.Caller(), "GetManifest", []byte(r.trip.ID()))
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("the chaincode server is back, but: %v", err)
	}
	if string(now) != string(before) {
		t.Fatal("the manifest changed while the chaincode server was down")
	}
	c, err := l.Submit(ctx, submitter.Caller(), "Handover", body)
	if err != nil {
		t.Fatalf("the same signed handover after the restart: %v", err)
	}
	_, err = l.Submit(ctx, submitter.Caller(), "Handover", body)
	if manifest.CodeOf(err) != manifest.Conflict || !strings.Contains(err.Error(), "already recorded") {
		t.Errorf("the handover submitted again = %v, want conflict: already recorded", err)
	}
	checkExactlyOnce(ctx, t, l, []ack{{run: r, txID: c.TxID, block: c.Block}}, runs)
}

// A transaction whose commit status does not come in time (here: a
// 1 ms commit-status timeout) is resolved by looking it up; one that was
// endorsed but perhaps never ordered is found missing, sent again (the
// same signed transaction) and committed; resolving it once more finds
// that one commit. Never two.
func TestUnknownOutcomeIsResolved(t *testing.T) {
	shared(t)
	p := sharedProfile
	ctx := ctxFor(t, 4*time.Minute)
	l, err := New(p, WithLogger(testLog(t)), WithCommitStatusTimeout(time.Millisecond), WithResolveTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	w := newLoadWorld(ctx, t, l, 1)
	runs := w.prepare(ctx, t, l, 2, 2)

	// The commit status times out: the look-up finds the commit.
	c, _, _, err := runs[0].handover(ctx, l)
	if err != nil {
		t.Fatalf("handover with a 1 ms commit-status timeout: %v", err)
	}
	info, err := l.Tx(ctx, c.TxID)
	if err != nil || info.Block != c.Block {
		t.Errorf("Tx(%s) = %+v, %v; Submit said block %d", c.TxID, info, err, c.Block)
	}

	// Endorsed, then the client lost track before ordering.
	r := runs[1]
	body, submitter, _, err := r.signNext()
	if err != nil {
		t.Fatal(err)
	}
	og := l.orgs[submitter.Org.MSP]
	pend, err := l.endorse(ctx, og, "Handover", carry([][]byte{body}))
	if err != nil {
		t.Fatal(err)
	}
	first, err := l.resolve(ctx, pend, fmt.Errorf("simulated: the submit's answer was lost"))
	if err != nil {
		t.Fatalf("resolving a transaction that was never ordered: %v", err)
	}
	again, err := l.resolve(ctx, pend, fmt.Errorf("simulated: asked again"))
	if err != nil || again.TxID != first.TxID || again.Block != first.Block {
		t.Errorf("resolving it again = %+v, %v; want the same commit %s in block %d", again, err, first.TxID, first.Block)
	}
	r.trip.Doc = first.Payload
	r.next++
	checkExactlyOnce(ctx, t, l, []ack{{run: runs[0], txID: c.TxID, block: c.Block}, {run: r, txID: first.TxID, block: first.Block}}, runs)
}
