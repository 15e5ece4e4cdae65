package embedded

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"wasteledger/chaincode"
)

// Report summarises a Verify run.
type Report struct {
	LedgerID string
	Blocks   uint64 // blocks checked, genesis included
	Txs      uint64 // transactions checked and replayed
	Events   uint64
	Keys     uint64 // world-state keys compared
	TreeSize uint64
	Root     []byte
	Duration time.Duration
}

// Divergence is the first place where the ledger file is not what its own
// hashes, signatures and a replay of its transactions say it must be.
type Divergence struct {
	Block int64 // -1 when not tied to a block
	Tx    int   // -1 when not tied to a transaction
	TxID  string
	What  string
}

func (d *Divergence) Error() string {
	switch {
	case d.Block < 0:
		return "ledger: " + d.What
	case d.Tx < 0:
		return fmt.Sprintf("block %d: %s", d.Block, d.What)
	default:
		return fmt.Sprintf("block %d tx %d (tx id %s): %s", d.Block, d.Tx, d.TxID, d.What)
	}
}

// Verify checks a ledger file, closed or open (it reads one consistent
// snapshot): SQLite's integrity check; every block's header hash and the
// hash chain; every transaction record's canonical form and leaf hash; the
// whole Merkle tree against every stored node and every block root; every
// checkpoint signature; every history row and event against its record;
// then it replays every transaction through cc from genesis (same caller,
// tx id, time and arguments, so the contract re-checks every signature) and
// compares write sets, events and responses to the records, and the final
// replayed state to the stored world state.
//
// The error is a *Divergence naming the first difference found, or an I/O
// error. progress, if not nil, is called after each block with the number
// of transactions done and the total.
func Verify(ctx context.Context, cfg Config, cc chaincode.Invoker, progress func(done, total uint64)) (Report, error) {
	start := time.Now()
	cfg = cfg.withDefaults()
	var rep Report
	if _, err := os.Stat(cfg.Path); err != nil {
		return rep, fmt.Errorf("embedded: verify: %w", err)
	}
	db, err := sql.Open("sqlite3", verifyDSN(cfg.Path))
	if err != nil {
		return rep, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	var ic []string
	rows, err := db.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return rep, fmt.Errorf("integrity check: %w", err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return rep, err
		}
		ic = append(ic, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("integrity check: %w", err)
	}
	if len(ic) != 1 || ic[0] != "ok" {
		return rep, &Divergence{Block: -1, Tx: -1, What: "SQLite integrity check: " + strings.Join(ic, "; ")}
	}

	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return rep, err
	}
	defer tx.Rollback()
	v := &verifier{ctx: ctx, tx: tx, cc: cc, rep: &rep}
	err = v.run(cfg, progress)
	rep.Duration = time.Since(start)
	return rep, err
}

type verifier struct {
	ctx  context.Context
	tx   *sql.Tx
	cc   chaincode.Invoker
	rep  *Report
	node *sql.Stmt
	hist *sql.Stmt
	txid *sql.Stmt
	// indexed is how many leaves the txids table covers.
	indexed uint64
	rs      *replayState
}

func (v *verifier) run(cfg Config, progress func(done, total uint64)) error {
	ctx, tx := v.ctx, v.tx
	var origin, vkey string
	if err := tx.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'ledger_id'").Scan(&v.rep.LedgerID); err != nil {
		return &Divergence{Block: -1, Tx: -1, What: fmt.Sprintf("meta ledger_id: %v", err)}
	}
	if err := tx.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'origin'").Scan(&origin); err != nil {
		return &Divergence{Block: -1, Tx: -1, What: fmt.Sprintf("meta origin: %v", err)}
	}
	if err := tx.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'verifier_key'").Scan(&vkey); err != nil {
		return &Divergence{Block: -1, Tx: -1, What: fmt.Sprintf("meta verifier_key: %v", err)}
	}
	if cfg.VerifierKey != "" {
		if cfg.VerifierKey != vkey {
			return &Divergence{Block: -1, Tx: -1, What: "the ledger's verifier key is not the trusted one"}
		}
		vkey = cfg.VerifierKey
	}
	nv, err := note.NewVerifier(vkey)
	if err != nil {
		return &Divergence{Block: -1, Tx: -1, What: fmt.Sprintf("verifier key: %v", err)}
	}
	var total uint64
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM txs").Scan(&total); err != nil {
		return err
	}
	if v.node, err = tx.PrepareContext(ctx, "SELECT hash FROM merkle WHERE level = ? AND idx = ?"); err != nil {
		return err
	}
	var mark string
	if err := tx.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'txids_indexed'").Scan(&mark); err != nil {
		return &Divergence{Block: -1, Tx: -1, What: fmt.Sprintf("meta txids_indexed: %v", err)}
	}
	if v.indexed, err = strconv.ParseUint(mark, 10, 64); err != nil || v.indexed > total {
		return &Divergence{Block: -1, Tx: -1, What: fmt.Sprintf("meta txids_indexed %q is not a count of transactions", mark)}
	}
	if v.txid, err = tx.PrepareContext(ctx, "SELECT leaf FROM txids WHERE tx_id = ?"); err != nil {
		return err
	}
	if v.hist, err = tx.PrepareContext(ctx, "SELECT tx_id, time, value, deleted FROM history WHERE key = ? AND (block < ? OR (block = ? AND tx < ?)) ORDER BY block, tx"); err != nil {
		return err
	}
	v.rs = newReplayState(v)

	blocks, err := newCursor(ctx, tx, "SELECT number, prev_hash, time, tx_count, first_leaf, tree_size, root, hash, checkpoint FROM blocks ORDER BY number")
	if err != nil {
		return err
	}
	defer blocks.close()
	txs, err := newCursor(ctx, tx, "SELECT leaf, tx_id, block, idx, record, response FROM txs ORDER BY leaf")
	if err != nil {
		return err
	}
	defer txs.close()
	hist, err := newCursor(ctx, tx, "SELECT key, block, tx, tx_id, time, value, deleted FROM history ORDER BY id")
	if err != nil {
		return err
	}
	defer hist.close()
	evs, err := newCursor(ctx, tx, "SELECT seq, block, tx, tx_id, time, name, payload FROM events ORDER BY seq")
	if err != nil {
		return err
	}
	defer evs.close()

	tree := rangeFactory.NewEmptyRange(0)
	var prevHash []byte
	var want uint64 // next block number
	var seq uint64  // last event seq
	for {
		var b Block
		var ts string
		ok, err := blocks.next(&b.Number, &b.PrevHash, &ts, &b.TxCount, &b.FirstLeaf, &b.TreeSize, &b.Root, &b.Hash, &b.Checkpoint)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		bad := func(format string, args ...any) error {
			return &Divergence{Block: int64(want), Tx: -1, What: fmt.Sprintf(format, args...)}
		}
		if b.Number != want {
			return bad("missing (the next stored block is %d)", b.Number)
		}
		if b.Time, err = time.Parse(timeLayout, ts); err != nil {
			return bad("time %q: %v", ts, err)
		}
		if want == 0 {
			prevHash = make([]byte, sha256.Size)
		}
		if !bytes.Equal(b.PrevHash, prevHash) {
			return bad("prev_hash %x is not the hash of block %d (%x)", b.PrevHash, int64(want)-1, prevHash)
		}
		if b.FirstLeaf != tree.End() || b.TreeSize != b.FirstLeaf+b.TxCount {
			return bad("first_leaf %d, tx_count %d, tree_size %d do not follow tree size %d", b.FirstLeaf, b.TxCount, b.TreeSize, tree.End())
		}
		if want == 0 && b.TxCount != 0 {
			return bad("genesis holds transactions")
		}
		hdr := blockHeader{Number: b.Number, PrevHash: b.PrevHash, Time: b.Time, TxCount: b.TxCount, FirstLeaf: b.FirstLeaf, TreeSize: b.TreeSize, Root: b.Root}
		if h := hdr.hash(); !bytes.Equal(h, b.Hash) {
			return bad("header hash %x, recomputed %x", b.Hash, h)
		}
		cp, err := parseCheckpoint(b.Checkpoint, nv)
		if err != nil {
			return bad("%v", err)
		}
		if cp.Origin != origin || cp.TreeSize != b.TreeSize || !bytes.Equal(cp.Root, b.Root) || cp.Block != b.Number || !bytes.Equal(cp.BlockHash, b.Hash) {
			return bad("signed checkpoint (origin %s, size %d, block %d) does not match the block", cp.Origin, cp.TreeSize, cp.Block)
		}

		// Read the block's transactions; parse and replay them in
		// parallel; then check each in order, so the first divergence
		// by position is the one reported.
		items := make([]txItem, 0, min(b.TxCount, 4096))
		for i := uint64(0); i < b.TxCount; i++ {
			var it txItem
			ok, err := txs.next(&it.leaf, &it.txID, &it.blk, &it.idx, &it.rec, &it.resp)
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			items = append(items, it)
		}
		v.prepareBlock(b, items)
		written := make(map[string]struct{})
		for i := range items {
			if err := v.checkTx(b, i, &items[i], tree, hist, evs, &seq); err != nil {
				return err
			}
			if err := v.checkReplay(b, i, &items[i], written); err != nil {
				return err
			}
		}
		if uint64(len(items)) < b.TxCount {
			return &Divergence{Block: int64(b.Number), Tx: len(items), What: fmt.Sprintf("missing (the block says it holds %d transactions)", b.TxCount)}
		}
		v.rep.Txs += b.TxCount
		root, err := tree.GetRootHash(nil)
		if err != nil {
			return err
		}
		if tree.End() == 0 {
			root = rfc6962.DefaultHasher.EmptyRoot()
		}
		if !bytes.Equal(root, b.Root) {
			return bad("Merkle root %x, recomputed from the transaction records %x", b.Root, root)
		}
		prevHash = b.Hash
		want++
		v.rep.Blocks++
		v.rep.TreeSize, v.rep.Root = b.TreeSize, b.Root
		if progress != nil {
			progress(v.rep.Txs, total)
		}
		if err := v.ctx.Err(); err != nil {
			return err
		}
	}
	if want == 0 {
		return &Divergence{Block: -1, Tx: -1, What: "no genesis block"}
	}

	// Rows that no block accounts for.
	var leaf, blk, idx uint64
	var txID string
	if ok, err := txs.next(&leaf, &txID, &blk, &idx, new([]byte), new([]byte)); err != nil {
		return err
	} else if ok {
		return &Divergence{Block: int64(blk), Tx: int(idx), TxID: txID, What: fmt.Sprintf("transaction row (leaf %d) is not part of any block", leaf)}
	}
	var key string
	if ok, err := hist.next(&key, &blk, &idx, &txID, new(string), new([]byte), new(bool)); err != nil {
		return err
	} else if ok {
		return &Divergence{Block: int64(blk), Tx: int(idx), TxID: txID, What: fmt.Sprintf("history row for key %q that the transaction did not write", key)}
	}
	var s uint64
	if ok, err := evs.next(&s, &blk, &idx, &txID, new(string), new(string), new([]byte)); err != nil {
		return err
	} else if ok {
		return &Divergence{Block: int64(blk), Tx: int(idx), TxID: txID, What: fmt.Sprintf("event %d that the transaction did not emit", s)}
	}
	var n uint64
	if err := v.tx.QueryRowContext(v.ctx, "SELECT COUNT(*) FROM txids").Scan(&n); err != nil {
		return err
	}
	if n != v.indexed {
		return &Divergence{Block: -1, Tx: -1, What: fmt.Sprintf("the tx id index has %d entries, want %d", n, v.indexed)}
	}
	return v.compareState()
}

// txItem is one stored transaction on its way through Verify.
type txItem struct {
	leaf, blk, idx uint64
	txID           string
	rec, resp      []byte

	r        *record // parsed record, unless parseErr
	args     [][]byte
	ts       time.Time
	parseErr error
	replay   replayed
}

// replayed is the outcome of replaying one transaction.
type replayed struct {
	s   *sim
	p   *pendingTx
	err error
}

// prepareBlock parses every record of a block and replays it, in parallel,
// against the state before the block. A valid block's transactions never
// read what an earlier transaction of the same block wrote (the committer
// rejects those as conflicts), so this gives the sequential outcome;
// checkReplay replays again, in order, any transaction for which it would
// not (possible only in a forged ledger).
func (v *verifier) prepareBlock(b Block, items []txItem) {
	v.rs.merge()
	work := func(i int) {
		it := &items[i]
		it.r, it.args, it.ts, it.parseErr = parseRecord(it.rec)
		if it.parseErr == nil {
			it.replay = v.replayTx(b, i, it)
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(items))
	if workers <= 1 {
		for i := range items {
			work(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(items); i = int(next.Add(1) - 1) {
				work(i)
			}
		}()
	}
	wg.Wait()
}

func (v *verifier) replayTx(b Block, i int, it *txItem) replayed {
	src := &replaySource{rs: v.rs, at: version{b.Number, uint32(i)}}
	s, resp, err := runTx(v.ctx, src, v.cc, it.r.TxID, it.ts, it.r.Caller, it.r.Function, it.args)
	if err != nil {
		return replayed{err: err}
	}
	return replayed{s: s, p: s.pending(it.r.Function, it.args, resp)}
}

// checkReplay compares a transaction's replay with its record and applies
// it to the replayed state.
func (v *verifier) checkReplay(b Block, i int, it *txItem, written map[string]struct{}) error {
	res := it.replay
	if res.err == nil && readsAny(res.s, written) {
		v.rs.merge()
		res = v.replayTx(b, i, it) // against the state after transactions 0 … i-1
	}
	bad := func(format string, args ...any) error {
		return &Divergence{Block: int64(b.Number), Tx: i, TxID: it.txID, What: fmt.Sprintf(format, args...)}
	}
	if res.err != nil {
		return bad("replay of %s failed: %v", it.r.Function, res.err)
	}
	if !bytes.Equal(res.p.record, it.rec) {
		return bad("replay of %s differs from the record: %s", it.r.Function, recordDiff(res.p.record, it.rec))
	}
	for _, w := range res.p.writes {
		v.rs.apply(w, version{b.Number, uint32(i)})
		written[w.key] = struct{}{}
	}
	return nil
}

// checkTx checks transaction i of block b against its record, the Merkle
// tree and its history and event rows.
func (v *verifier) checkTx(b Block, i int, it *txItem, tree *compact.Range, hist, evs *cursor, seq *uint64) error {
	leaf, blk, idx, txID, rec, resp := it.leaf, it.blk, it.idx, it.txID, it.rec, it.resp
	bad := func(format string, args ...any) error {
		return &Divergence{Block: int64(b.Number), Tx: i, TxID: txID, What: fmt.Sprintf(format, args...)}
	}
	if leaf != b.FirstLeaf+uint64(i) || blk != b.Number || idx != uint64(i) {
		return bad("stored as leaf %d, block %d, index %d", leaf, blk, idx)
	}
	if it.parseErr != nil {
		return bad("%v", it.parseErr)
	}
	r, ts := it.r, it.ts
	if r.TxID != txID {
		return bad("record names tx id %s", r.TxID)
	}
	if leaf < v.indexed {
		var got uint64
		if err := v.txid.QueryRowContext(v.ctx, txID).Scan(&got); err != nil || got != leaf {
			return bad("the tx id index maps it to leaf %d (%v), not %d", got, err, leaf)
		}
	}
	if h := sha256Hex(resp); h != r.Response {
		return bad("stored response hashes to %s, the record says %s", h, r.Response)
	}

	// The Merkle tree: recompute, and compare every node the tree stores.
	lh := rfc6962.DefaultHasher.HashLeaf(rec)
	var nodeErr error
	err := tree.Append(lh, func(id compact.NodeID, h []byte) {
		if nodeErr != nil {
			return
		}
		var stored []byte
		if err := v.node.QueryRowContext(v.ctx, id.Level, id.Index).Scan(&stored); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				nodeErr = bad("Merkle node %d/%d is missing", id.Level, id.Index)
			} else {
				nodeErr = err
			}
			return
		}
		if !bytes.Equal(stored, h) {
			if id.Level == 0 {
				nodeErr = bad("the record's leaf hash %x differs from the stored Merkle leaf %x", h, stored)
			} else {
				nodeErr = bad("Merkle node %d/%d is %x, recomputed %x", id.Level, id.Index, stored, h)
			}
		}
	})
	if err != nil {
		return err
	}
	if nodeErr != nil {
		return nodeErr
	}

	// History rows: exactly the record's write set, in key order.
	tstr := formatTime(ts)
	for _, w := range r.Writes {
		var key, htx, htime string
		var hb, hi uint64
		var val []byte
		var del bool
		ok, err := hist.next(&key, &hb, &hi, &htx, &htime, &val, &del)
		if err != nil {
			return err
		}
		if !ok {
			return bad("history row for key %q is missing", w.Key)
		}
		if key != w.Key || hb != b.Number || hi != uint64(i) || htx != txID {
			return bad("history row (key %q, block %d, tx %d, tx id %s) where the record's write of %q belongs", key, hb, hi, htx, w.Key)
		}
		if htime != tstr {
			return bad("history of key %q has time %s, the record %s", key, htime, tstr)
		}
		if del != w.Deleted || (!del && sha256Hex(val) != w.SHA256) {
			return bad("history value of key %q does not match the record's write set", key)
		}
	}

	// The event row.
	if r.Event != nil {
		var s, eb, ei uint64
		var etx, etime, name string
		var payload []byte
		ok, err := evs.next(&s, &eb, &ei, &etx, &etime, &name, &payload)
		if err != nil {
			return err
		}
		if !ok {
			return bad("event is missing")
		}
		if s != *seq+1 || eb != b.Number || ei != uint64(i) || etx != txID {
			return bad("event %d (block %d, tx %d, tx id %s) where event %d belongs", s, eb, ei, etx, *seq+1)
		}
		if etime != tstr || name != r.Event.Name || sha256Hex(payload) != r.Event.SHA256 {
			return bad("event %d does not match the record (name %q, time %s, payload hash)", s, name, etime)
		}
		*seq = s
		v.rep.Events++
	}

	return nil
}

// readsAny reports whether a simulation read any of the keys, directly or
// through a range.
func readsAny(s *sim, keys map[string]struct{}) bool {
	if len(keys) == 0 {
		return false
	}
	for _, r := range s.reads {
		if _, ok := keys[r.key]; ok {
			return true
		}
	}
	for _, rr := range s.ranges {
		for k := range keys {
			if strings.HasPrefix(k, rr.prefix) {
				return true
			}
		}
	}
	return false
}

// recordDiff names the first field where two records differ.
func recordDiff(got, want []byte) string {
	g, _, _, err1 := parseRecord(got)
	w, _, _, err2 := parseRecord(want)
	if err1 != nil || err2 != nil {
		return "records differ"
	}
	switch {
	case !slices.Equal(g.Writes, w.Writes):
		for i := 0; i < max(len(g.Writes), len(w.Writes)); i++ {
			var gw, ww WriteRef
			if i < len(g.Writes) {
				gw = g.Writes[i]
			}
			if i < len(w.Writes) {
				ww = w.Writes[i]
			}
			if gw != ww {
				return fmt.Sprintf("write set: replay wrote %s, the record says %s", describeWrite(gw), describeWrite(ww))
			}
		}
		return "write set differs"
	case (g.Event == nil) != (w.Event == nil) || (g.Event != nil && *g.Event != *w.Event):
		return fmt.Sprintf("event: replay emitted %s, the record says %s", describeEvent(g.Event), describeEvent(w.Event))
	case g.Response != w.Response:
		return fmt.Sprintf("response: replay's hashes to %s, the record says %s", g.Response, w.Response)
	}
	return "records differ"
}

func describeWrite(w WriteRef) string {
	switch {
	case w.Key == "":
		return "nothing"
	case w.Deleted:
		return fmt.Sprintf("delete %q", w.Key)
	}
	return fmt.Sprintf("%q (sha256 %s)", w.Key, w.SHA256)
}

func describeEvent(e *EventRef) string {
	if e == nil {
		return "none"
	}
	return fmt.Sprintf("%q (sha256 %s)", e.Name, e.SHA256)
}

// compareState compares the replayed world state with the stored one.
func (v *verifier) compareState() error {
	rows, err := newCursor(v.ctx, v.tx, "SELECT key, value, block, tx FROM state ORDER BY key")
	if err != nil {
		return err
	}
	defer rows.close()
	keys := v.rs.sortedKeys()
	i := 0
	txID := func(ver version) string {
		var id string
		v.tx.QueryRowContext(v.ctx, "SELECT tx_id FROM txs WHERE block = ? AND idx = ?", ver.Block, ver.Tx).Scan(&id)
		return id
	}
	for {
		var key string
		var val []byte
		var ver version
		ok, err := rows.next(&key, &val, &ver.Block, &ver.Tx)
		if err != nil {
			return err
		}
		// Replayed keys before this stored one are missing from the table.
		for i < len(keys) && (!ok || keys[i] < key) {
			e := v.rs.kv[keys[i]]
			return &Divergence{Block: int64(e.ver.Block), Tx: int(e.ver.Tx), TxID: txID(e.ver),
				What: fmt.Sprintf("world state lacks key %q that this transaction wrote", keys[i])}
		}
		if !ok {
			break
		}
		if i == len(keys) || keys[i] != key {
			return &Divergence{Block: int64(ver.Block), Tx: int(ver.Tx), TxID: txID(ver),
				What: fmt.Sprintf("world state has key %q that no transaction left there", key)}
		}
		e := v.rs.kv[key]
		if e.ver != ver {
			return &Divergence{Block: int64(e.ver.Block), Tx: int(e.ver.Tx), TxID: txID(e.ver),
				What: fmt.Sprintf("world state says key %q was written by block %d tx %d", key, ver.Block, ver.Tx)}
		}
		if !bytes.Equal(e.value, val) {
			return &Divergence{Block: int64(e.ver.Block), Tx: int(e.ver.Tx), TxID: txID(e.ver),
				What: fmt.Sprintf("world state value of key %q differs from the replayed one", key)}
		}
		i++
		v.rep.Keys++
	}
	return nil
}

// cursor walks the rows of one query.
type cursor struct {
	rows *sql.Rows
}

func newCursor(ctx context.Context, tx *sql.Tx, q string) (*cursor, error) {
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	return &cursor{rows: rows}, nil
}

func (c *cursor) next(dest ...any) (bool, error) {
	if !c.rows.Next() {
		return false, c.rows.Err()
	}
	return true, c.rows.Scan(dest...)
}

func (c *cursor) close() { c.rows.Close() }

// replayState is the world state Verify rebuilds, in memory. Reads are
// safe for concurrent use between merges and applies.
type replayState struct {
	v      *verifier
	kv     map[string]*replayVal
	sorted []string // every key ever written, sorted once Range needs it
	fresh  []string // keys written since sorted was last merged
	histMu sync.Mutex
}

// replaySource is the state one replayed transaction reads.
type replaySource struct {
	rs *replayState
	at version // the transaction being replayed
}

func (s *replaySource) read(key string) (cacheEntry, error) { return s.rs.read(key) }
func (s *replaySource) rangePage(prefix, from string, n int) ([]kvRow, error) {
	return s.rs.rangePage(prefix, from, n)
}
func (s *replaySource) history(ctx context.Context, key string) ([]chaincode.Version, error) {
	return s.rs.history(ctx, key, s.at)
}

type replayVal struct {
	value []byte // nil when deleted
	ver   version
}

func newReplayState(v *verifier) *replayState {
	return &replayState{v: v, kv: make(map[string]*replayVal)}
}

func (rs *replayState) apply(w writeRec, ver version) {
	e, ok := rs.kv[w.key]
	if !ok {
		e = &replayVal{}
		rs.kv[w.key] = e
		rs.fresh = append(rs.fresh, w.key)
	}
	e.value, e.ver = w.value, ver
	if w.value == nil {
		e.ver = version{}
	}
}

func (rs *replayState) read(key string) (cacheEntry, error) {
	if e, ok := rs.kv[key]; ok && e.value != nil {
		return cacheEntry{value: e.value, ver: e.ver}, nil
	}
	return cacheEntry{}, nil
}

func (rs *replayState) merge() {
	if len(rs.fresh) == 0 {
		return
	}
	sort.Strings(rs.fresh)
	rs.sorted = mergeSorted(rs.sorted, rs.fresh)
	rs.fresh = rs.fresh[:0]
}

func mergeSorted(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if a[i] < b[j] {
			out = append(out, a[i])
			i++
		} else {
			out = append(out, b[j])
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

func (rs *replayState) rangePage(prefix, from string, n int) ([]kvRow, error) {
	end := prefixEnd(prefix)
	var out []kvRow
	for i := sort.SearchStrings(rs.sorted, from); i < len(rs.sorted) && rs.sorted[i] < end && len(out) < n; i++ {
		k := rs.sorted[i]
		if e := rs.kv[k]; e.value != nil {
			out = append(out, kvRow{k, slices.Clone(e.value), e.ver})
		}
	}
	return out, nil
}

// history serves the contract's History calls during replay from the
// stored history rows of earlier transactions (already checked against
// their records).
func (rs *replayState) history(ctx context.Context, key string, at version) ([]chaincode.Version, error) {
	rs.histMu.Lock()
	defer rs.histMu.Unlock()
	rows, err := rs.v.hist.QueryContext(ctx, key, at.Block, at.Block, at.Tx)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []chaincode.Version
	for rows.Next() {
		var ver chaincode.Version
		var ts string
		if err := rows.Scan(&ver.TxID, &ts, &ver.Value, &ver.Deleted); err != nil {
			return nil, err
		}
		if ver.Time, err = time.Parse(timeLayout, ts); err != nil {
			return nil, err
		}
		out = append(out, ver)
	}
	return out, rows.Err()
}

func (rs *replayState) sortedKeys() []string {
	rs.merge()
	out := make([]string, 0, len(rs.sorted))
	for _, k := range rs.sorted {
		if rs.kv[k].value != nil {
			out = append(out, k)
		}
	}
	return out
}
