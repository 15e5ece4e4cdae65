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
// checkpoint signature; every history row and event against its record,
// and every stored response and event payload, whether kept in place or as
// a reference to the history row holding its bytes; every key's history
// chain; then it replays every transaction through cc from genesis (same
// caller, tx id, time and arguments, so the contract re-checks every
// signature) and compares write sets, events and responses to the records,
// and the final replayed state (each key's value, version and newest
// history row, deleted keys' tombstones) to the stored world state. It
// reads ledgers of every schema version, migrated or not.
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
	schema  int // PRAGMA user_version
	rs      *replayState

	// Schema 4 chains each key's history rows. head is every key's newest
	// history row before the block being checked, blockHead the newest
	// within it so far; nextHist is the id of the next history row.
	head      map[string]int64
	blockHead map[string]int64
	nextHist  int64
	histRow   *sql.Stmt // one history row by id
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
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v.schema); err != nil {
		return err
	}
	nodeSQL := "SELECT hash FROM merkle WHERE pos = ?" // migration 0003
	if v.schema < 3 {
		nodeSQL = "SELECT hash FROM merkle WHERE level = ? AND idx = ?"
	}
	if v.node, err = tx.PrepareContext(ctx, nodeSQL); err != nil {
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
	if v.schema < 4 {
		if v.hist, err = tx.PrepareContext(ctx, "SELECT tx_id, time, value, deleted FROM history WHERE key = ? AND block < ? ORDER BY block, tx"); err != nil {
			return err
		}
	} else if v.histRow, err = tx.PrepareContext(ctx, "SELECT prev, tx_id, time, value, deleted FROM history WHERE id = ?"); err != nil {
		return err
	}
	v.head, v.blockHead, v.nextHist = make(map[string]int64), make(map[string]int64), 1
	v.rs = newReplayState(v)

	blocks, err := newCursor(ctx, tx, "SELECT number, prev_hash, time, tx_count, first_leaf, tree_size, root, hash, checkpoint FROM blocks ORDER BY number")
	if err != nil {
		return err
	}
	defer blocks.close()
	// Schema 2 (migration 0002) stores a response equal to a written value
	// by reference to its history row, and the world state's values in
	// history only.
	txsSQL := "SELECT leaf, tx_id, block, idx, record, response, response_hist FROM txs ORDER BY leaf"
	if v.schema < 2 {
		txsSQL = "SELECT leaf, tx_id, block, idx, record, response, NULL FROM txs ORDER BY leaf"
	}
	txs, err := newCursor(ctx, tx, txsSQL)
	if err != nil {
		return err
	}
	defer txs.close()
	histSQL := "SELECT id, key, block, tx, tx_id, time, value, deleted, prev FROM history ORDER BY id"
	if v.schema < 4 {
		histSQL = "SELECT id, key, block, tx, tx_id, time, value, deleted, NULL FROM history ORDER BY id"
	}
	hist, err := newCursor(ctx, tx, histSQL)
	if err != nil {
		return err
	}
	defer hist.close()
	evsSQL := "SELECT seq, block, tx, tx_id, time, name, payload, payload_hist, payload_at FROM events ORDER BY seq"
	if v.schema < 2 {
		evsSQL = "SELECT seq, block, tx, tx_id, time, name, payload, NULL, NULL FROM events ORDER BY seq"
	}
	evs, err := newCursor(ctx, tx, evsSQL)
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
			ok, err := txs.next(&it.leaf, &it.txID, &it.blk, &it.idx, &it.rec, &it.resp, &it.respHist)
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
		for k, id := range v.blockHead {
			v.head[k] = id
		}
		clear(v.blockHead)
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
	if ok, err := txs.next(&leaf, &txID, &blk, &idx, new([]byte), new([]byte), new(sql.NullInt64)); err != nil {
		return err
	} else if ok {
		return &Divergence{Block: int64(blk), Tx: int(idx), TxID: txID, What: fmt.Sprintf("transaction row (leaf %d) is not part of any block", leaf)}
	}
	var key string
	if ok, err := hist.next(new(int64), &key, &blk, &idx, &txID, new(string), new([]byte), new(bool), new(sql.NullInt64)); err != nil {
		return err
	} else if ok {
		return &Divergence{Block: int64(blk), Tx: int(idx), TxID: txID, What: fmt.Sprintf("history row for key %q that the transaction did not write", key)}
	}
	var s uint64
	if ok, err := evs.next(&s, &blk, &idx, &txID, new(string), new(string), new([]byte), new(sql.NullInt64), new(sql.NullInt64)); err != nil {
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
	respHist       sql.NullInt64 // the history row holding the response, if stored by reference

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

	// The Merkle tree: recompute, and compare every node the tree stores.
	lh := rfc6962.DefaultHasher.HashLeaf(rec)
	var nodeErr error
	err := tree.Append(lh, func(id compact.NodeID, h []byte) {
		if nodeErr != nil {
			return
		}
		var stored []byte
		args := []any{nodePos(id)}
		if v.schema < 3 {
			args = []any{id.Level, id.Index}
		}
		if err := v.node.QueryRowContext(v.ctx, args...).Scan(&stored); err != nil {
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
	if it.respHist.Valid && resp != nil {
		return bad("response stored both in place and by reference to history row %d", it.respHist.Int64)
	}
	var written map[int64][]byte // this transaction's values by history row, for references
	for _, w := range r.Writes {
		var id int64
		var key, htx, htime string
		var hb, hi uint64
		var val []byte
		var del bool
		var prev sql.NullInt64
		ok, err := hist.next(&id, &key, &hb, &hi, &htx, &htime, &val, &del, &prev)
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
		// The chain: the row before this one of the same key.
		last, seen := v.blockHead[key]
		if !seen {
			last, seen = v.head[key]
		}
		if v.schema >= 4 && (prev.Valid != seen || prev.Int64 != last) {
			return bad("history row of key %q links to row %v, not to the key's previous version (%v)", key, prev.Int64, last)
		}
		v.blockHead[key] = id
		v.nextHist = id + 1
		if !del {
			if written == nil {
				written = make(map[int64][]byte, len(r.Writes))
			}
			written[id] = val
		}
	}
	if it.respHist.Valid {
		resp = written[it.respHist.Int64]
	}
	if it.respHist.Valid && resp == nil {
		return bad("response refers to history row %d, which holds no value this transaction wrote", it.respHist.Int64)
	}
	if h := sha256Hex(resp); h != r.Response {
		return bad("stored response hashes to %s, the record says %s", h, r.Response)
	}

	// The event row.
	if r.Event != nil {
		var s, eb, ei uint64
		var etx, etime, name string
		var payload []byte
		var ref, at sql.NullInt64
		ok, err := evs.next(&s, &eb, &ei, &etx, &etime, &name, &payload, &ref, &at)
		if err != nil {
			return err
		}
		if !ok {
			return bad("event is missing")
		}
		if s != *seq+1 || eb != b.Number || ei != uint64(i) || etx != txID {
			return bad("event %d (block %d, tx %d, tx id %s) where event %d belongs", s, eb, ei, etx, *seq+1)
		}
		if ref.Valid != at.Valid {
			return bad("event %d has half a payload reference", s)
		}
		if ref.Valid {
			val, ok := written[ref.Int64]
			if !ok {
				return bad("event %d refers to history row %d, which holds no value this transaction wrote", s, ref.Int64)
			}
			if payload, err = splice(payload, at.Int64, val); err != nil {
				return bad("event %d: %v", s, err)
			}
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
	// Schema 2: the value is that of the history row the state row refers
	// to, which must be the write of that key at that version. Schema 4:
	// it is the key's newest history row, and a deleted key keeps a
	// tombstone (block 0) that refers to its delete.
	var q string
	switch {
	case v.schema >= 4:
		q = "SELECT s.key, h.value, s.block, s.tx, s.hist, h.id IS NOT NULL AND h.key = s.key AND (" +
			"(s.block > 0 AND h.block = s.block AND h.tx = s.tx AND h.deleted = 0) OR (s.block = 0 AND s.tx = 0 AND h.deleted = 1)) " +
			"FROM state s LEFT JOIN history h ON h.id = s.hist ORDER BY s.key"
	case v.schema >= 2:
		q = "SELECT s.key, h.value, s.block, s.tx, s.hist, h.id IS NOT NULL AND h.key = s.key AND h.block = s.block AND h.tx = s.tx AND h.deleted = 0 " +
			"FROM state s LEFT JOIN history h ON h.id = s.hist ORDER BY s.key"
	default:
		q = "SELECT key, value, block, tx, NULL, 1 FROM state ORDER BY key"
	}
	rows, err := newCursor(v.ctx, v.tx, q)
	if err != nil {
		return err
	}
	defer rows.close()
	tombstones := v.schema >= 4
	keys := v.rs.sortedKeys(tombstones)
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
		var hist sql.NullInt64
		var refOK bool
		ok, err := rows.next(&key, &val, &ver.Block, &ver.Tx, &hist, &refOK)
		if err != nil {
			return err
		}
		// Replayed keys before this stored one are missing from the table.
		for i < len(keys) && (!ok || keys[i] < key) {
			e := v.rs.kv[keys[i]]
			what := fmt.Sprintf("world state lacks key %q that this transaction wrote", keys[i])
			if e.value == nil {
				what = fmt.Sprintf("world state lacks the tombstone of key %q that this transaction deleted", keys[i])
			}
			return &Divergence{Block: int64(e.ver.Block), Tx: int(e.ver.Tx), TxID: txID(e.ver), What: what}
		}
		if !ok {
			break
		}
		if i == len(keys) || keys[i] != key {
			return &Divergence{Block: int64(ver.Block), Tx: int(ver.Tx), TxID: txID(ver),
				What: fmt.Sprintf("world state has key %q that no transaction left there", key)}
		}
		e := v.rs.kv[key]
		diverge := func(format string, args ...any) error {
			return &Divergence{Block: int64(e.ver.Block), Tx: int(e.ver.Tx), TxID: txID(e.ver), What: fmt.Sprintf(format, args...)}
		}
		switch {
		case e.value == nil && ver != (version{}):
			return diverge("world state says deleted key %q was written by block %d tx %d", key, ver.Block, ver.Tx)
		case e.value != nil && e.ver != ver:
			return diverge("world state says key %q was written by block %d tx %d", key, ver.Block, ver.Tx)
		case !refOK:
			return diverge("world state of key %q refers to a history row that is not this write", key)
		case tombstones && (!hist.Valid || hist.Int64 != v.head[key]):
			return diverge("world state of key %q refers to history row %d, not to the key's newest (%d)", key, hist.Int64, v.head[key])
		case !bytes.Equal(e.value, val):
			return diverge("world state value of key %q differs from the replayed one", key)
		}
		i++
		if e.value != nil {
			v.rep.Keys++
		}
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
	e.value, e.ver = w.value, ver // a deleted key keeps the delete's version, to name it
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
// stored history rows of earlier blocks (already checked against their
// records). A transaction is simulated before its block is written, so
// History never showed it the writes of its own block.
func (rs *replayState) history(ctx context.Context, key string, at version) ([]chaincode.Version, error) {
	rs.histMu.Lock()
	defer rs.histMu.Unlock()
	if rs.v.schema >= 4 {
		return rs.v.chainHistory(ctx, key)
	}
	rows, err := rs.v.hist.QueryContext(ctx, key, at.Block)
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

// sortedKeys lists the live keys, and the deleted ones too if asked.
func (rs *replayState) sortedKeys(deleted bool) []string {
	rs.merge()
	out := make([]string, 0, len(rs.sorted))
	for _, k := range rs.sorted {
		if deleted || rs.kv[k].value != nil {
			out = append(out, k)
		}
	}
	return out
}

// chainHistory is History(key) as of the start of the block being checked
// (schema 4): the key's chain from its newest row before the block.
func (v *verifier) chainHistory(ctx context.Context, key string) ([]chaincode.Version, error) {
	var out []chaincode.Version
	id, ok := v.head[key]
	for ok {
		if int64(len(out)) >= v.nextHist {
			return nil, fmt.Errorf("history chain of key %q loops", key)
		}
		var ver chaincode.Version
		var ts string
		var prev sql.NullInt64
		if err := v.histRow.QueryRowContext(ctx, id).Scan(&prev, &ver.TxID, &ts, &ver.Value, &ver.Deleted); err != nil {
			return nil, fmt.Errorf("history row %d of key %q: %w", id, key, err)
		}
		var err error
		if ver.Time, err = time.Parse(timeLayout, ts); err != nil {
			return nil, err
		}
		out = append(out, ver)
		id, ok = prev.Int64, prev.Valid
	}
	slices.Reverse(out)
	return out, nil
}
