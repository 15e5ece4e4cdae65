package index

import (
	"context"
	"errors"
	"fmt"
	"time"

	"wasteledger/gateway/ledger"
	"wasteledger/manifest"
)

// Source is what the index needs of a ledger: its event feed. Events
// returns up to limit events after the cursor in commit order, waiting up
// to the context's deadline for the first one (an empty slice then).
// ledger.Ledger satisfies it, embedded or Fabric.
type Source interface {
	Events(ctx context.Context, after ledger.Cursor, limit int) ([]ledger.Event, error)
}

// poll is how long one Events call may wait for new events before the
// follower checks its context again.
const poll = 2 * time.Second

// Follow applies the source's events from the checkpoint on until ctx ends,
// then returns ctx's error. The source wakes it as soon as a commit lands,
// so an event is visible to queries within milliseconds when the follower
// was idle, and within Config.Linger more under load, when it lets events
// gather into larger transactions. Read errors are retried with backoff
// and reported in Status.
func (ix *Index) Follow(ctx context.Context, src Source) error {
	ix.notify(func(s *Status) { s.Following = true })
	defer ix.notify(func(s *Status) { s.Following = false })
	backoff := 100 * time.Millisecond
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, read, err := ix.step(ctx, src, poll)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			ix.log.Warn("index: follow", "err", err, "retry_in", backoff)
			ix.notify(func(s *Status) { s.Err = err.Error(); s.CaughtUp = false })
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return ctx.Err()
			}
			backoff = min(2*backoff, 30*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		caught := n < ix.cfg.Batch
		if st := ix.Status(); st.CaughtUp != caught || st.Err != "" {
			ix.notify(func(s *Status) { s.CaughtUp, s.Err = caught, "" })
		}
		// Let the next events gather, unless the feed is behind by a
		// whole batch already.
		if wait := time.Until(read.Add(ix.cfg.Linger)); n > 0 && caught && wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		}
	}
}

// step reads and applies one batch after the checkpoint, waiting up to wait
// for the first event. It returns how many events the source returned and
// when it returned them.
func (ix *Index) step(ctx context.Context, src Source, wait time.Duration) (int, time.Time, error) {
	rctx, cancel := context.WithTimeout(ctx, wait)
	evs, err := src.Events(rctx, ix.Checkpoint(), ix.cfg.Batch)
	cancel()
	read := time.Now()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return 0, read, nil // no new events within the wait
		}
		if manifest.CodeOf(err) == manifest.Unavailable && rctx.Err() != nil && ctx.Err() == nil {
			return 0, read, nil
		}
		return 0, read, fmt.Errorf("read events: %w", err)
	}
	if err := ix.Apply(ctx, evs); err != nil {
		return 0, read, err
	}
	return len(evs), read, nil
}

// CatchUp applies events until the source has no more, then returns the
// number applied. progress, if not nil, is called after each batch.
func (ix *Index) CatchUp(ctx context.Context, src Source, progress func(Status)) (int64, error) {
	var total int64
	for {
		n, _, err := ix.step(ctx, src, 200*time.Millisecond)
		if err != nil {
			return total, err
		}
		total += int64(n)
		if progress != nil && n > 0 {
			progress(ix.Status())
		}
		if n < ix.cfg.Batch {
			ix.notify(func(s *Status) { s.CaughtUp, s.Err = true, "" })
			return total, nil
		}
	}
}

// projectionTables are emptied by Rebuild; anomalies and their
// acknowledgements are kept.
var projectionTables = []string{"manifests", "lines", "processing", "outputs", "units", "steps", "flags", "followups", "parties", "versions", "orgs", "keys", "permits", "config", "snapshots"}

// Rebuild empties the projection and the checkpoint in one transaction and
// re-applies every event from genesis. progress, if not nil, is called
// after each batch. An interrupted rebuild is resumed by Follow or CatchUp
// from the checkpoint it reached.
func (ix *Index) Rebuild(ctx context.Context, src Source, progress func(Status)) (int64, error) {
	tx, err := ix.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("index: rebuild: %w", err)
	}
	defer tx.Rollback()
	for _, t := range projectionTables {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+t); err != nil {
			return 0, fmt.Errorf("index: rebuild: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, "UPDATE checkpoint SET block = 0, tx = 0, events = 0, event_time = NULL, applied_at = NULL WHERE id = 1"); err != nil {
		return 0, fmt.Errorf("index: rebuild: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("index: rebuild: %w", err)
	}
	ix.notify(func(s *Status) { *s = Status{Following: s.Following} })
	return ix.CatchUp(ctx, src, progress)
}

// Version is one committed version of a manifest as the ledger's history
// gives it, for Repair.
type Version struct {
	Version int
	Hash    string
	TxID    string
	Cursor  ledger.Cursor // its block and transaction index
	Time    time.Time
	Doc     []byte // the manifest document
}

// Repair replaces every row of a manifest with its history from the
// ledger, in one transaction: the version log gets every version and the
// summary rows the last one. A newer version the follower applied
// meanwhile is kept.
func (ix *Index) Repair(ctx context.Context, id string, history []Version) error {
	if len(history) == 0 {
		return fmt.Errorf("index: repair %s: no versions", id)
	}
	tx, err := ix.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("index: repair %s: %w", id, err)
	}
	defer tx.Rollback()
	p := newProjector(ctx, tx)
	if _, err := tx.ExecContext(ctx, "DELETE FROM versions WHERE manifest_id = ? AND version <= ?", id, history[len(history)-1].Version); err != nil {
		return fmt.Errorf("index: repair %s: %w", id, err)
	}
	var have int
	_ = tx.QueryRowContext(ctx, "SELECT version FROM manifests WHERE id = ?", id).Scan(&have)
	for i, v := range history {
		pos := position{TxID: v.TxID, Cursor: v.Cursor, Time: v.Time, Event: "repair"}
		if err := p.exec("log", id, v.Version, v.Hash, v.TxID, v.Cursor.Block, v.Cursor.Tx, timeNS(v.Time), "repair"); err != nil {
			return fmt.Errorf("index: repair %s: %w", id, err)
		}
		if i < len(history)-1 || v.Version < have {
			continue
		}
		m, err := decodeManifest(v.Doc)
		if err != nil {
			return fmt.Errorf("index: repair %s: %w", id, err)
		}
		if err := p.write(m, v.Hash, pos, nil); err != nil { // every row, whatever the index holds
			return fmt.Errorf("index: repair %s: %w", id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("index: repair %s: %w", id, err)
	}
	ix.notify(func(*Status) {})
	return nil
}
