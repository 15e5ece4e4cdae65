package fabricgw

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"wasteledger/gateway/ledger"
	"wasteledger/manifest"
)

// blockSource opens a stream of the channel's blocks from block start, in
// order; the channel closes when the stream breaks. It names the peer.
type blockSource func(ctx context.Context, start uint64) (<-chan *common.Block, string, error)

// follower reads the channel's blocks in the background and keeps the
// contract's events of valid transactions, positioned by (block, index).
//
// Why blocks and not the gateway's chaincode-event stream: a Cursor is a
// (block, transaction index) pair, and a chaincode event carries only its
// block and transaction id. Blocks carry the index, the timestamp and the
// validation code of every transaction, so the follower resumes from a
// stored cursor exactly — it asks for the cursor's block (the equivalent of
// client.WithCheckpoint for a block stream) and skips what is at or before
// the cursor.
//
// Invariant: buf holds exactly the events in (base, head], where head is
// the end of the last block scanned, in order.
type follower struct {
	src       blockSource
	chaincode string
	max       int
	log       *slog.Logger

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change
	running bool
	closed  bool
	gen     uint64 // incremented by every restart; stale streams stop
	cancel  context.CancelFunc
	base    ledger.Cursor
	head    uint64 // last block scanned, when scanned
	scanned bool
	buf     []ledger.Event
	err     error // why the stream is down; nil while blocks flow
}

func newFollower(src blockSource, chaincode string, max int, log *slog.Logger) *follower {
	return &follower{src: src, chaincode: chaincode, max: max, log: log, changed: make(chan struct{})}
}

func (f *follower) notify() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// headCursor is the position after every transaction of the head block.
func (f *follower) headCursor() (ledger.Cursor, bool) {
	return ledger.Cursor{Block: f.head, Tx: math.MaxInt}, f.scanned
}

// restart starts a stream from the block of after. The caller holds mu.
func (f *follower) restart(after ledger.Cursor) {
	if f.cancel != nil {
		f.cancel()
	}
	f.gen++
	f.base, f.buf, f.scanned, f.err, f.running = after, nil, false, nil, true
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	go f.run(ctx, f.gen, after.Block)
	f.notify()
}

func (f *follower) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cancel != nil {
		f.cancel()
	}
	f.gen++
	f.running, f.closed = false, true
	f.notify()
}

// trim drops the events at or before after (the reader has them) and moves
// base up to after when the buffer covers it. The caller holds mu.
func (f *follower) trim(after ledger.Cursor) {
	n := 0
	for n < len(f.buf) && !after.Before(f.buf[n].Cursor) {
		n++
	}
	if n > 0 {
		f.buf = append(f.buf[:0:0], f.buf[n:]...)
		f.notify() // room for the stream
	}
	if h, ok := f.headCursor(); ok && !h.Before(after) && f.base.Before(after) {
		f.base = after
	}
}

func (f *follower) next(ctx context.Context, after ledger.Cursor, limit int) ([]ledger.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		if f.closed {
			return nil, manifest.Errorf(manifest.Unavailable, "%s: the ledger client is closed", stageEvents)
		}
		if !f.running || after.Before(f.base) {
			f.restart(after)
		}
		f.trim(after)
		var out []ledger.Event
		for _, ev := range f.buf {
			if len(out) == limit {
				break
			}
			if after.Before(ev.Cursor) {
				out = append(out, ev)
			}
		}
		if len(out) > 0 {
			return out, nil
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
			f.mu.Lock()
		case <-ctx.Done():
			f.mu.Lock()
			if f.err != nil {
				e := manifest.Errorf(manifest.Unavailable, "%s: the event stream is down: %w", stageEvents, f.err)
				return nil, e
			}
			return []ledger.Event{}, nil
		}
	}
}

func (f *follower) run(ctx context.Context, gen uint64, next uint64) {
	pause := 200 * time.Millisecond
	fail := func(err error) bool {
		f.mu.Lock()
		if gen == f.gen {
			f.err = err
			f.notify()
		}
		f.mu.Unlock()
		f.log.Warn("event stream down; reopening", "block", next, "pause", pause, "err", err)
		t := time.NewTimer(pause)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return false
		}
		pause = min(2*pause, 5*time.Second)
		return true
	}
	for ctx.Err() == nil {
		ch, addr, err := f.src(ctx, next)
		if err != nil {
			if !fail(fmt.Errorf("open from block %d at %s: %w", next, addr, err)) {
				return
			}
			continue
		}
		var streamErr error
		for b := range ch {
			n := b.GetHeader().GetNumber()
			if n < next {
				continue // already scanned
			}
			if n > next {
				streamErr = fmt.Errorf("%s sent block %d, want %d", addr, n, next)
				break
			}
			evs, err := f.events(b)
			if err != nil {
				streamErr = err
				break
			}
			if !f.add(ctx, gen, n, evs) {
				return
			}
			next = n + 1
			pause = 200 * time.Millisecond
		}
		if ctx.Err() != nil {
			return
		}
		if streamErr == nil {
			streamErr = fmt.Errorf("the block stream from %s ended at block %d", addr, next)
		}
		if !fail(streamErr) {
			return
		}
	}
}

// events lists the contract events of the block's valid transactions.
func (f *follower) events(b *common.Block) ([]ledger.Event, error) {
	txs, err := parseBlock(b)
	if err != nil {
		return nil, err
	}
	var evs []ledger.Event
	for _, tx := range txs {
		if tx.Code != peer.TxValidationCode_VALID || tx.EventName == "" || tx.EventChaincode != f.chaincode {
			continue
		}
		if tx.RestoreErr != nil {
			return nil, fmt.Errorf("block %d transaction %d: %w", b.GetHeader().GetNumber(), tx.Index, tx.RestoreErr)
		}
		evs = append(evs, ledger.Event{
			Cursor: ledger.Cursor{Block: b.GetHeader().GetNumber(), Tx: tx.Index},
			TxID:   tx.TxID, Time: tx.Time, Name: tx.EventName, Payload: tx.EventPayload,
		})
	}
	return evs, nil
}

// add appends a scanned block's events, waiting while the buffer is full.
// It reports false when the stream is stale or stopped.
func (f *follower) add(ctx context.Context, gen, block uint64, evs []ledger.Event) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		if gen != f.gen {
			return false
		}
		if len(f.buf) == 0 || len(f.buf)+len(evs) <= f.max {
			break
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
			f.mu.Lock()
		case <-ctx.Done():
			f.mu.Lock()
			return false
		}
	}
	for _, ev := range evs {
		if f.base.Before(ev.Cursor) {
			f.buf = append(f.buf, ev)
		}
	}
	f.head, f.scanned, f.err = block, true, nil
	f.notify()
	return true
}
