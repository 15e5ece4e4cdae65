package ledger

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"wasteledger/chaincode"
	"wasteledger/chaincode/embedded"
	"wasteledger/manifest"
)

// Local is the Ledger over the embedded ledger, in this process.
type Local struct {
	l *embedded.Ledger

	// seqs remembers the feed position (embedded seq) of recently returned
	// events by cursor, so that a follower continuing from the last event
	// it saw costs no lookup. Other cursors are found by binary search.
	mu   sync.Mutex
	seqs map[Cursor]uint64
	ring []Cursor
	next int
}

var _ Ledger = (*Local)(nil)

// LocalConfig configures OpenLocal.
type LocalConfig struct {
	Path         string        // the ledger file, e.g. data/ledger.db
	BlockMaxTx   int           // see embedded.Config
	BlockMaxWait time.Duration // see embedded.Config
	CacheBytes   int64         // see embedded.Config
	NoSync       bool          // tests only
	Logger       *slog.Logger
}

// OpenLocal opens the embedded ledger at cfg.Path running the wasteledger
// contract, creating it (and its directory) first when it does not exist.
func OpenLocal(ctx context.Context, cfg LocalConfig) (*Local, error) {
	ecfg := embedded.Config{Path: cfg.Path, BlockMaxTx: cfg.BlockMaxTx, BlockMaxWait: cfg.BlockMaxWait, CacheBytes: cfg.CacheBytes, NoSync: cfg.NoSync, Logger: cfg.Logger}
	if _, err := os.Stat(cfg.Path); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o750); err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
		if _, err := embedded.Init(ctx, ecfg); err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	l, err := embedded.Open(ctx, ecfg, chaincode.New())
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return NewLocal(l), nil
}

// NewLocal wraps an open embedded ledger; Close closes it.
func NewLocal(l *embedded.Ledger) *Local {
	return &Local{l: l, seqs: make(map[Cursor]uint64, cursorMemory), ring: make([]Cursor, cursorMemory)}
}

const cursorMemory = 4096

// Embedded returns the embedded ledger, for commands that inspect it.
func (x *Local) Embedded() *embedded.Ledger { return x.l }

// Submit implements Ledger.
func (x *Local) Submit(ctx context.Context, caller chaincode.Caller, fn string, args ...[]byte) (Commit, error) {
	r, err := x.l.Submit(ctx, caller, fn, args...)
	if err != nil {
		return Commit{TxID: r.TxID}, err
	}
	if r.Event != nil {
		x.remember(Cursor{Block: r.Event.Block, Tx: r.Event.TxIndex}, r.Event.Seq)
	}
	return Commit{TxID: r.TxID, Block: r.Block, Time: r.Time, Payload: r.Payload}, nil
}

// Evaluate implements Ledger.
func (x *Local) Evaluate(ctx context.Context, caller chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	return x.l.Evaluate(ctx, caller, fn, args...)
}

// Tx implements Ledger.
func (x *Local) Tx(ctx context.Context, txID string) (TxInfo, error) {
	t, err := x.l.Transaction(ctx, txID)
	if err != nil {
		return TxInfo{}, err
	}
	return TxInfo{TxID: t.TxID, Block: t.Block, Index: t.Index, Time: t.Time}, nil
}

// Close implements Ledger.
func (x *Local) Close() error { return x.l.Close() }

// Head is the cursor of the newest event, and how many events the feed
// holds: what a follower compares its own cursor with.
func (x *Local) Head(ctx context.Context) (Cursor, uint64, error) {
	seq := x.l.LastEventSeq()
	if seq == 0 {
		return Cursor{}, 0, nil
	}
	evs, err := x.l.Events(ctx, seq-1, 1)
	if err != nil {
		return Cursor{}, 0, err
	}
	if len(evs) == 0 {
		return Cursor{}, 0, manifest.Errorf(manifest.Internal, "event %d is missing", seq)
	}
	return Cursor{Block: evs[0].Block, Tx: evs[0].TxIndex}, seq, nil
}

// Lag is the number of events after the cursor.
func (x *Local) Lag(ctx context.Context, c Cursor) (uint64, error) {
	seq, err := x.seqAfter(ctx, c)
	if err != nil {
		return 0, err
	}
	last := x.l.LastEventSeq()
	if seq >= last {
		return 0, nil
	}
	return last - seq, nil
}

// Events implements Ledger.
func (x *Local) Events(ctx context.Context, after Cursor, limit int) ([]Event, error) {
	seq, err := x.seqAfter(ctx, after)
	if err != nil {
		return nil, err
	}
	for {
		evs, err := x.l.Events(ctx, seq, limit)
		if err != nil {
			return nil, err
		}
		if len(evs) > 0 {
			out := make([]Event, len(evs))
			for i, e := range evs {
				c := Cursor{Block: e.Block, Tx: e.TxIndex}
				out[i] = Event{Cursor: c, TxID: e.TxID, Time: e.Time, Name: e.Name, Payload: e.Payload}
			}
			last := evs[len(evs)-1]
			x.remember(out[len(out)-1].Cursor, last.Seq)
			return out, nil
		}
		if err := x.l.WaitEvents(ctx, seq); err != nil {
			if ctx.Err() != nil {
				return []Event{}, nil
			}
			return nil, err
		}
	}
}

func (x *Local) remember(c Cursor, seq uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if _, ok := x.seqs[c]; ok {
		return
	}
	if old := x.ring[x.next]; old != (Cursor{}) {
		delete(x.seqs, old)
	}
	x.ring[x.next] = c
	x.next = (x.next + 1) % len(x.ring)
	x.seqs[c] = seq
}

// seqAfter returns the feed position just before the first event after c:
// the seq of the last event at or before c.
func (x *Local) seqAfter(ctx context.Context, c Cursor) (uint64, error) {
	if c == (Cursor{}) {
		return 0, nil
	}
	x.mu.Lock()
	seq, ok := x.seqs[c]
	x.mu.Unlock()
	if ok {
		return seq, nil
	}
	// Binary search for the largest seq whose event is not after c.
	lo, hi := uint64(0), x.l.LastEventSeq()
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		evs, err := x.l.Events(ctx, mid-1, 1)
		if err != nil {
			return 0, err
		}
		if len(evs) == 0 {
			return 0, manifest.Errorf(manifest.Internal, "event %d is missing", mid)
		}
		if ec := (Cursor{Block: evs[0].Block, Tx: evs[0].TxIndex}); c.Before(ec) {
			hi = mid - 1
		} else {
			lo = mid
		}
	}
	return lo, nil
}
