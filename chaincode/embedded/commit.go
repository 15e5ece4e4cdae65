package embedded

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"

	"wasteledger/manifest"
)

// pendingBlock is a block being assembled by the committer and then
// written by the writer.
type pendingBlock struct {
	number uint64
	txs    []*pendingTx
}

// ovEntry is the newest write of a key in a block that is assembled or
// written but not yet applied to SQLite and the cache.
type ovEntry struct {
	ver   version // zero when the write deleted the key
	block uint64  // the block that wrote it
}

// commitLoop is the single goroutine that orders and validates
// transactions (Fabric's orderer and validator in one). It validates every
// read against committed state plus the writes of the blocks in flight and
// of the transactions before it in the pending block, packs valid ones into
// blocks and hands closed blocks to writeLoop, which runs concurrently (one
// block is assembled while the previous one is fsynced).
func (l *Ledger) commitLoop(out chan<- *pendingBlock) {
	defer close(out)
	overlay := make(map[string]ovEntry)
	next := l.tip.Number + 1
	var cur *pendingBlock
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var timerC <-chan time.Time

	flush := func() {
		if cur == nil {
			return
		}
		timer.Stop()
		timerC = nil
		out <- cur
		cur = nil
		next++
		// Forget the writes that SQLite and the cache now hold.
		applied := l.appliedHeight.Load()
		for k, e := range overlay {
			if e.block <= applied {
				delete(overlay, k)
			}
		}
	}

	// nothingComing: no transaction is being executed or queued, and no
	// closed block waits for the writer.
	nothingComing := func() bool {
		return !l.cfg.waitFull && l.simulating.Load() == 0 && len(l.submitCh) == 0 && len(out) == 0
	}
	for {
		select {
		case p, ok := <-l.submitCh:
			if !ok {
				flush()
				return
			}
			if err := l.failure(); err != nil {
				p.done <- txResult{err: err}
				continue
			}
			if err := l.validate(p, overlay); err != nil {
				p.done <- txResult{err: err}
				continue
			}
			if cur == nil {
				cur = &pendingBlock{number: next, txs: make([]*pendingTx, 0, min(l.cfg.BlockMaxTx, 1024))}
				timer.Reset(l.cfg.BlockMaxWait)
				timerC = timer.C
			}
			p.block, p.idx = cur.number, uint32(len(cur.txs))
			cur.txs = append(cur.txs, p)
			for _, w := range p.writes {
				e := ovEntry{block: cur.number}
				if w.value != nil {
					e.ver = version{cur.number, p.idx}
				}
				overlay[w.key] = e
			}
			// Full, or nothing else on its way and the writer free to
			// store it: close the block now.
			if len(cur.txs) >= l.cfg.BlockMaxTx || nothingComing() && !l.writing.Load() {
				flush()
			}
		case <-timerC:
			timerC = nil
			flush()
		case <-l.idle:
			if cur != nil && nothingComing() {
				flush()
			}
		}
	}
}

func conflict(p *pendingTx, format string, args ...any) error {
	return &manifest.Error{Code: manifest.Conflict, Op: "commit", Msg: fmt.Sprintf("tx %s: ", p.txID) + fmt.Sprintf(format, args...) + " (MVCC read conflict; retry)"}
}

// currentVersion is the version of key that a transaction ordered now
// would see.
func (l *Ledger) currentVersion(key string, overlay map[string]ovEntry) (version, error) {
	if e, ok := overlay[key]; ok {
		return e.ver, nil
	}
	e, err := l.readCommitted(key)
	return e.ver, err
}

func (l *Ledger) validate(p *pendingTx, overlay map[string]ovEntry) error {
	for _, r := range p.reads {
		v, err := l.currentVersion(r.key, overlay)
		if err != nil {
			return err
		}
		if v != r.ver {
			return conflict(p, "key %q changed since it was read", r.key)
		}
	}
	for _, rr := range p.ranges {
		if err := l.validateRange(p, rr, overlay); err != nil {
			return err
		}
	}
	return nil
}

// validateRange re-runs a range read against current state (Fabric's
// phantom check): the keys and versions must be the same, up to the last
// key the transaction saw if it stopped early.
func (l *Ledger) validateRange(p *pendingTx, rr rangeRec, overlay map[string]ovEntry) error {
	end := prefixEnd(rr.prefix)
	if !rr.exhausted {
		if len(rr.seen) == 0 {
			return nil
		}
		end = rr.seen[len(rr.seen)-1].key + "\x00"
	}
	cur := make(map[string]version)
	from := rr.prefix
	for {
		rows, err := l.versionsStmt.Query(from, end, rangePageSize)
		if err != nil {
			return unavailable("range check: %w", err)
		}
		n := 0
		var last string
		for rows.Next() {
			var k string
			var v version
			if err := rows.Scan(&k, &v.Block, &v.Tx); err != nil {
				rows.Close()
				return unavailable("range check: %w", err)
			}
			cur[k] = v
			last = k
			n++
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return unavailable("range check: %w", err)
		}
		if n < rangePageSize {
			break
		}
		from = last + "\x00"
	}
	for k, e := range overlay {
		if k >= rr.prefix && k < end {
			if e.ver.exists() {
				cur[k] = e.ver
			} else {
				delete(cur, k)
			}
		}
	}
	if len(cur) != len(rr.seen) {
		return conflict(p, "range %q changed since it was read (phantom)", rr.prefix)
	}
	for _, s := range rr.seen {
		if v, ok := cur[s.key]; !ok || v != s.ver {
			return conflict(p, "range %q changed since it was read (phantom)", rr.prefix)
		}
	}
	return nil
}

func (l *Ledger) failure() error {
	l.tipMu.RLock()
	defer l.tipMu.RUnlock()
	return l.failed
}

// writeLoop writes closed blocks and answers their Submits once they are
// durable. Blocks that queue up while an fsync is in progress are written
// together in one SQLite transaction (one fsync): each block is still
// whole — its header, transactions, rows and checkpoint commit atomically —
// and blocks stay in order, so this is group commit, not a change of block
// boundaries.
func (l *Ledger) writeLoop(in <-chan *pendingBlock) {
	defer close(l.done)
	var walBytes int
	for b := range in {
		l.writing.Store(true)
		group := []*pendingBlock{b}
		n := len(b.txs)
	drain:
		for n < maxGroupTx {
			select {
			case more, ok := <-in:
				if !ok {
					break drain
				}
				group = append(group, more)
				n += len(more.txs)
			default:
				break drain
			}
		}
		err := l.failure()
		if err == nil {
			var written int
			written, err = l.writeBlocks(group)
			walBytes += written
			if err != nil {
				l.log.Error("embedded ledger: blocks not written; refusing further writes", "block", group[0].number, "err", err)
				err = unavailable("block %d not written: %w", group[0].number, err)
				l.tipMu.Lock()
				l.failed = err
				l.tipMu.Unlock()
			}
		}
		if err != nil {
			for _, b := range group {
				for _, p := range b.txs {
					p.done <- txResult{rcpt: Receipt{TxID: p.txID}, err: err}
				}
			}
			l.writerIdle()
			continue
		}
		if walBytes > walCheckpointBytes {
			walBytes = 0
			select {
			case l.ckptWake <- struct{}{}:
			default:
			}
		}
		// The background checkpoint has copied most of the WAL; copy the
		// rest between two transactions, so that the next one starts the
		// WAL over instead of growing it.
		select {
		case <-l.ckptCaughtUp:
			frames, done, err := l.w.checkpoint()
			l.log.Debug("embedded ledger: wal checkpoint (writer)", "frames", frames, "checkpointed", done)
			if err != nil {
				l.log.Warn("embedded ledger: wal checkpoint", "err", err)
			}
		default:
		}
		l.writerIdle()
	}
}

// writerIdle tells the committer that the writer waits for blocks: an
// open block nothing else will join can close now.
func (l *Ledger) writerIdle() {
	l.writing.Store(false)
	select {
	case l.idle <- struct{}{}:
	default:
	}
}

// txidBatch is how many tx ids are indexed at once.
const txidBatch = 4096

func groupTxs(group []*pendingBlock) int {
	n := 0
	for _, b := range group {
		n += len(b.txs)
	}
	return n
}

// maxGroupTx bounds how many transactions one SQLite transaction carries.
const maxGroupTx = 4096

const walCheckpointBytes = 16 << 20

type nodeRec struct {
	id   compact.NodeID
	hash []byte
}

// builtBlock is a block with its header computed, ready to store.
type builtBlock struct {
	*pendingBlock
	blk   Block
	nodes []nodeRec
}

// writeBlocks appends the blocks' leaves to the Merkle tree, writes them in
// one SQLite transaction (fsynced unless NoSync), then publishes the new
// tip and answers the Submits. It returns roughly the bytes it wrote.
func (l *Ledger) writeBlocks(group []*pendingBlock) (int, error) {
	prev := l.tip // only this goroutine writes tip
	now := time.Now().UTC().Truncate(time.Microsecond)
	bbs := make([]builtBlock, len(group))
	for i, b := range group {
		bb := builtBlock{pendingBlock: b, nodes: make([]nodeRec, 0, 2*len(b.txs)+8)}
		visit := func(id compact.NodeID, h []byte) { bb.nodes = append(bb.nodes, nodeRec{id, h}) }
		firstLeaf := l.tree.End()
		for _, p := range b.txs {
			if err := l.tree.Append(p.leaf, visit); err != nil {
				return 0, err
			}
		}
		root, err := l.tree.GetRootHash(nil)
		if err != nil {
			return 0, err
		}
		hdr := blockHeader{
			Number:    b.number,
			PrevHash:  prev.Hash,
			Time:      now,
			TxCount:   uint64(len(b.txs)),
			FirstLeaf: firstLeaf,
			TreeSize:  l.tree.End(),
			Root:      root,
		}
		bb.blk = Block{Number: hdr.Number, PrevHash: hdr.PrevHash, Time: hdr.Time, TxCount: hdr.TxCount,
			FirstLeaf: hdr.FirstLeaf, TreeSize: hdr.TreeSize, Root: hdr.Root, Hash: hdr.hash()}
		if bb.blk.Checkpoint, err = signCheckpoint(l.signer, l.origin, bb.blk); err != nil {
			return 0, err
		}
		bbs[i] = bb
		prev = bb.blk
	}

	w := l.w
	tStart := time.Now()
	var tCommit time.Time
	if err := w.execNoArgs("BEGIN IMMEDIATE"); err != nil {
		return 0, err
	}
	bytes := 0
	seq := l.nextSeq
	hist := l.nextHist
	var flushed []txidLeaf
	err := func() error {
		// One multi-row INSERT per table (in statements of up to
		// maxBatchRows rows) rather than one statement per row: blocks
		// first (the other tables refer to them), then history before the
		// world state, whose rows lead to the history rows.
		ins := &l.ins
		chainHead := make(map[string]int64) // keys written earlier in this group
		stateRow := make(map[string]int)    // key → its row in ins.state
		for _, bb := range bbs {
			blk := bb.blk
			blockN := int64(blk.Number)
			ins.blocks.add(blockN, blk.PrevHash, formatTime(blk.Time), int64(blk.TxCount),
				int64(blk.FirstLeaf), int64(blk.TreeSize), blk.Root, blk.Hash, blk.Checkpoint)
			for i, p := range bb.txs {
				ts := formatTime(p.time)
				// The history rows hold the values; the world state, the
				// response and the event refer to them.
				firstHist := hist
				for _, wr := range p.writes {
					// A history row links to the key's previous one: from
					// this group, else the one the state row leads to.
					var prev any
					if h, ok := chainHead[wr.key]; ok {
						prev = h
					}
					chainHead[wr.key] = hist
					deleted, sb, st := int64(0), blockN, int64(i)
					if wr.value == nil {
						deleted, sb, st = 1, 0, 0 // the tombstone keeps the chain's head
					}
					ins.history.add(hist, wr.key, blockN, int64(i), p.txID, ts, wr.value, deleted, prev, wr.key)
					if r, ok := stateRow[wr.key]; ok {
						ins.state.set(r, wr.key, sb, st, hist)
					} else {
						stateRow[wr.key] = ins.state.rows()
						ins.state.add(wr.key, sb, st, hist)
					}
					hist++
					bytes += len(wr.key) + len(wr.value) + 150
				}
				var resp, respHist any = nilIfEmpty(p.response), nil
				if p.respWrite >= 0 {
					resp, respHist = nil, firstHist+int64(p.respWrite)
				}
				ins.txs.add(int64(blk.FirstLeaf)+int64(i), p.txID, blockN, int64(i), p.record, resp, respHist)
				bytes += len(p.record) + 200
				if p.respWrite < 0 {
					bytes += len(p.response)
				}
				if p.hasEvent {
					var payload, evHist, evAt any = p.evData, nil, nil
					if p.evWrite >= 0 {
						payload, evHist, evAt = p.evRest, firstHist+int64(p.evWrite), int64(p.evAt)
					}
					ins.events.add(int64(seq), blockN, int64(i), p.txID, ts, p.evName, payload, evHist, evAt)
					bytes += len(p.evData) + 100
					seq++
				}
			}
			for _, n := range bb.nodes {
				ins.merkle.add(nodePos(n.id), n.hash)
			}
		}
		for _, b := range []*insertBatch{&ins.blocks, &ins.history, &ins.state, &ins.txs, &ins.events, &ins.merkle} {
			if err := w.insert(b); err != nil {
				return err
			}
		}
		// Every txidBatch transactions, index their ids in one sorted batch.
		if len(l.unindexed)+groupTxs(group) >= l.cfg.txidBatch {
			flushed = slices.Clone(l.unindexed)
			for _, bb := range bbs {
				for i, p := range bb.txs {
					flushed = append(flushed, txidLeaf{p.txID, bb.blk.FirstLeaf + uint64(i)})
				}
			}
			sorted := slices.Clone(flushed)
			slices.SortFunc(sorted, func(a, b txidLeaf) int { return strings.Compare(a.id, b.id) })
			for _, t := range sorted {
				ins.txids.add(t.id, int64(t.leaf))
			}
			if err := w.insert(&ins.txids); err != nil {
				return err
			}
			if err := w.exec("UPDATE meta SET value = ? WHERE key = 'txids_indexed'", strconv.FormatUint(bbs[len(bbs)-1].blk.TreeSize, 10)); err != nil {
				return err
			}
		}
		tCommit = time.Now()
		return w.execNoArgs("COMMIT")
	}()
	if err != nil {
		l.ins.reset()
		w.execNoArgs("ROLLBACK")
		return bytes, err
	}
	if l.log.Enabled(context.Background(), slog.LevelDebug) {
		l.log.Debug("embedded ledger: blocks written", "block", group[len(group)-1].number, "blocks", len(group),
			"txs", groupTxs(group), "insert", tCommit.Sub(tStart), "commit", time.Since(tCommit))
	}

	// Durable. Publish: cache first, then the applied height the committer
	// uses to drop its overlay, then the tip and the events.
	var keys []string
	var ents []cacheEntry
	for _, bb := range bbs {
		for _, p := range bb.txs {
			for _, wr := range p.writes {
				e := cacheEntry{}
				if wr.value != nil {
					e = cacheEntry{value: wr.value, ver: version{bb.blk.Number, p.idx}}
				}
				keys = append(keys, wr.key)
				ents = append(ents, e)
			}
		}
	}
	for i, k := range keys {
		if ents[i].value != nil {
			l.keys.add(k) // before the cache generation moves, see readCommitted
		}
	}
	l.cache.set(keys, ents)
	l.recentMu.Lock()
	for _, bb := range bbs {
		for i, p := range bb.txs {
			t := txidLeaf{p.txID, bb.blk.FirstLeaf + uint64(i)}
			l.recent[t.id] = t.leaf
			if flushed == nil {
				l.unindexed = append(l.unindexed, t)
			}
		}
	}
	if flushed != nil {
		for _, t := range flushed {
			delete(l.recent, t.id)
		}
		l.unindexed = l.unindexed[:0]
	}
	l.recentMu.Unlock()
	l.nextHist = hist
	last := bbs[len(bbs)-1].blk
	l.appliedHeight.Store(last.Number)
	l.tipMu.Lock()
	l.tip = last
	l.tipMu.Unlock()

	firstSeq := l.nextSeq
	for _, bb := range bbs {
		for _, p := range bb.txs {
			r := Receipt{TxID: p.txID, Block: bb.blk.Number, Index: int(p.idx), Time: p.time, Payload: p.response}
			if p.hasEvent {
				r.Event = &Event{Seq: l.nextSeq, Block: bb.blk.Number, TxIndex: int(p.idx), TxID: p.txID, Time: p.time, Name: p.evName, Payload: p.evData}
				l.nextSeq++
			}
			p.done <- txResult{rcpt: r}
		}
	}
	if l.nextSeq != firstSeq {
		l.evMu.Lock()
		l.evSeq = l.nextSeq - 1
		close(l.evWake)
		l.evWake = make(chan struct{})
		l.evMu.Unlock()
	}
	return bytes, nil
}

func nilIfEmpty(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// checkpointer copies the WAL into the database file in the background, so
// that no commit waits for the bulk of it. A checkpoint can only restart
// the WAL (instead of letting it grow) if it completes between two write
// transactions, so when the background copy is done the writer is asked to
// finish the few frames committed meanwhile.
func (l *Ledger) checkpointer() {
	defer close(l.ckptDone)
	var rc *rawConn
	defer func() {
		if rc != nil {
			rc.close()
		}
	}()
	for range l.ckptWake {
		if rc == nil {
			var err error
			if rc, err = openRaw(l.cfg.Path, l.cfg.NoSync); err != nil {
				l.log.Warn("embedded ledger: wal checkpoint", "err", err)
				continue
			}
		}
		frames, done, err := rc.checkpoint()
		l.log.Debug("embedded ledger: wal checkpoint", "frames", frames, "checkpointed", done)
		if err != nil {
			l.log.Warn("embedded ledger: wal checkpoint", "err", err)
			continue
		}
		select {
		case l.ckptCaughtUp <- struct{}{}:
		default:
		}
	}
}

// checkpointText is the C2SP tlog-checkpoint body of a block: origin, tree
// size, base64 root, and one extension line naming the block and its hash.
func checkpointText(origin string, b Block) string {
	var s strings.Builder
	s.WriteString(origin)
	s.WriteByte('\n')
	s.WriteString(strconv.FormatUint(b.TreeSize, 10))
	s.WriteByte('\n')
	s.WriteString(base64.StdEncoding.EncodeToString(b.Root))
	s.WriteByte('\n')
	s.WriteString("block ")
	s.WriteString(strconv.FormatUint(b.Number, 10))
	s.WriteByte(' ')
	s.WriteString(hex.EncodeToString(b.Hash))
	s.WriteByte('\n')
	return s.String()
}

func signCheckpoint(signer note.Signer, origin string, b Block) ([]byte, error) {
	return note.Sign(&note.Note{Text: checkpointText(origin, b)}, signer)
}

// ParseCheckpoint opens a signed checkpoint with the given verifier key and
// returns what it commits to.
func ParseCheckpoint(signed []byte, verifierKey string) (Checkpoint, error) {
	v, err := note.NewVerifier(verifierKey)
	if err != nil {
		return Checkpoint{}, err
	}
	return parseCheckpoint(signed, v)
}

// Checkpoint is the content of a signed checkpoint.
type Checkpoint struct {
	Origin    string
	TreeSize  uint64
	Root      []byte
	Block     uint64
	BlockHash []byte
}

func parseCheckpoint(signed []byte, v note.Verifier) (Checkpoint, error) {
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint signature: %w", err)
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 4 {
		return Checkpoint{}, fmt.Errorf("checkpoint has %d lines, want 4", len(lines))
	}
	var c Checkpoint
	c.Origin = lines[0]
	if c.TreeSize, err = strconv.ParseUint(lines[1], 10, 64); err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint size: %w", err)
	}
	if c.Root, err = base64.StdEncoding.DecodeString(lines[2]); err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint root: %w", err)
	}
	for _, ext := range lines[3:] {
		f := strings.Fields(ext)
		if len(f) == 3 && f[0] == "block" {
			if c.Block, err = strconv.ParseUint(f[1], 10, 64); err != nil {
				return Checkpoint{}, fmt.Errorf("checkpoint block: %w", err)
			}
			if c.BlockHash, err = hex.DecodeString(f[2]); err != nil {
				return Checkpoint{}, fmt.Errorf("checkpoint block hash: %w", err)
			}
		}
	}
	if c.BlockHash == nil {
		return Checkpoint{}, fmt.Errorf("checkpoint has no block line")
	}
	return c, nil
}
