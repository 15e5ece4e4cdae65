package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/bits"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"wasteledger/chaincode"
	"wasteledger/manifest"
)

// Block is a block header with its hash and signed checkpoint.
type Block struct {
	Number     uint64
	PrevHash   []byte
	Time       time.Time // when the block closed
	TxCount    uint64
	FirstLeaf  uint64 // Merkle leaf index of its first transaction
	TreeSize   uint64 // Merkle tree size after the block
	Root       []byte // Merkle root at TreeSize
	Hash       []byte // SHA-256 of the canonical header
	Checkpoint []byte // signed note: C2SP tlog-checkpoint + "block N hash"
}

// TxRecord is a committed transaction as recorded.
type TxRecord struct {
	TxID           string
	Block          uint64
	Index          int    // position in the block
	Leaf           uint64 // Merkle leaf index
	Time           time.Time
	Caller         chaincode.Caller
	Function       string
	Args           [][]byte
	Writes         []WriteRef
	Event          *EventRef
	ResponseSHA256 string
	Response       []byte
	Record         []byte // the canonical record, as hashed into the tree
	LeafHash       []byte // RFC 6962 leaf hash of Record
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func notFound(format string, args ...any) error {
	return manifest.Errorf(manifest.NotFound, format, args...)
}

// readBlock reads block n, or the last block when n < 0.
func (l *Ledger) readBlock(ctx context.Context, q querier, n int64) (Block, error) {
	const cols = "SELECT number, prev_hash, time, tx_count, first_leaf, tree_size, root, hash, checkpoint FROM blocks "
	var row *sql.Row
	if n < 0 {
		row = q.QueryRowContext(ctx, cols+"ORDER BY number DESC LIMIT 1")
	} else {
		row = q.QueryRowContext(ctx, cols+"WHERE number = ?", n)
	}
	var b Block
	var ts string
	err := row.Scan(&b.Number, &b.PrevHash, &ts, &b.TxCount, &b.FirstLeaf, &b.TreeSize, &b.Root, &b.Hash, &b.Checkpoint)
	if errors.Is(err, sql.ErrNoRows) {
		return Block{}, notFound("no block %d", n)
	}
	if err != nil {
		return Block{}, unavailable("read block: %w", err)
	}
	if b.Time, err = time.Parse(timeLayout, ts); err != nil {
		return Block{}, manifest.Errorf(manifest.Internal, "block %d time: %w", b.Number, err)
	}
	return b, nil
}

// Block returns block n (0 is genesis).
func (l *Ledger) Block(ctx context.Context, n uint64) (Block, error) {
	if n > l.Height() {
		return Block{}, notFound("no block %d (height %d)", n, l.Height())
	}
	return l.readBlock(ctx, l.rd, int64(n))
}

// Transaction returns the committed transaction txID, or a
// manifest.NotFound error (rejected transactions are never recorded).
func (l *Ledger) Transaction(ctx context.Context, txID string) (TxRecord, error) {
	leaf, err := l.lookupLeaf(ctx, txID)
	if err != nil {
		return TxRecord{}, err
	}
	var t TxRecord
	var idx int64
	var id string
	// A response stored by reference is the value of one of the
	// transaction's history rows (migration 0002).
	err = l.rd.QueryRowContext(ctx, "SELECT t.leaf, t.tx_id, t.block, t.idx, t.record, "+
		"CASE WHEN t.response_hist IS NULL THEN t.response ELSE (SELECT h.value FROM history h WHERE h.id = t.response_hist) END "+
		"FROM txs t WHERE t.leaf = ?", leaf).
		Scan(&t.Leaf, &id, &t.Block, &idx, &t.Record, &t.Response)
	if err != nil {
		return TxRecord{}, unavailable("read transaction: %w", err)
	}
	r, args, ts, err := parseRecord(t.Record)
	if err != nil || id != txID || r.TxID != txID {
		return TxRecord{}, manifest.Errorf(manifest.Internal, "transaction %s: leaf %d holds another record (%v); run verify", txID, leaf, err)
	}
	t.Index = int(idx)
	t.TxID, t.Time, t.Caller, t.Function, t.Args = r.TxID, ts, r.Caller, r.Function, args
	t.Writes, t.Event, t.ResponseSHA256 = r.Writes, r.Event, r.Response
	t.LeafHash = rfc6962.DefaultHasher.HashLeaf(t.Record)
	return t, nil
}

// lookupLeaf finds the Merkle leaf of a committed transaction.
func (l *Ledger) lookupLeaf(ctx context.Context, txID string) (uint64, error) {
	l.recentMu.RLock()
	leaf, ok := l.recent[txID]
	l.recentMu.RUnlock()
	if ok {
		return leaf, nil
	}
	err := l.rd.QueryRowContext(ctx, "SELECT leaf FROM txids WHERE tx_id = ?", txID).Scan(&leaf)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("no transaction %s", txID)
	}
	if err != nil {
		return 0, unavailable("find transaction: %w", err)
	}
	return leaf, nil
}

// Events returns up to limit events with seq > after, in order. limit <= 0
// means 100; it is capped at 10000.
func (l *Ledger) Events(ctx context.Context, after uint64, limit int) ([]Event, error) {
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 10000)
	rows, err := l.rd.QueryContext(ctx, "SELECT e.seq, e.block, e.tx, e.tx_id, e.time, e.name, e.payload, e.payload_at, "+
		"CASE WHEN e.payload_hist IS NULL THEN NULL ELSE (SELECT h.value FROM history h WHERE h.id = e.payload_hist) END "+
		"FROM events e WHERE e.seq > ? ORDER BY e.seq LIMIT ?", after, limit)
	if err != nil {
		return nil, unavailable("read events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var ts string
		var at sql.NullInt64
		var value []byte
		if err := rows.Scan(&e.Seq, &e.Block, &e.TxIndex, &e.TxID, &ts, &e.Name, &e.Payload, &at, &value); err != nil {
			return nil, unavailable("read events: %w", err)
		}
		if at.Valid {
			if e.Payload, err = splice(e.Payload, at.Int64, value); err != nil {
				return nil, manifest.Errorf(manifest.Internal, "event %d: %w; run verify", e.Seq, err)
			}
		}
		if e.Time, err = time.Parse(timeLayout, ts); err != nil {
			return nil, manifest.Errorf(manifest.Internal, "event %d time: %w", e.Seq, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("read events: %w", err)
	}
	return out, nil
}

// LastEventSeq is the seq of the newest committed event (0 if none).
func (l *Ledger) LastEventSeq() uint64 {
	l.evMu.Lock()
	defer l.evMu.Unlock()
	return l.evSeq
}

// WaitEvents blocks until an event with seq > after is committed, ctx ends
// (its error is returned) or the ledger closes (manifest.Unavailable).
func (l *Ledger) WaitEvents(ctx context.Context, after uint64) error {
	for {
		l.evMu.Lock()
		seq, wake := l.evSeq, l.evWake
		l.evMu.Unlock()
		if seq > after {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		case <-l.done:
			return unavailable("wait events: ledger is closed")
		}
	}
}

// Checkpoint returns the latest signed checkpoint and the tree size and
// root it commits to.
func (l *Ledger) Checkpoint(ctx context.Context) (signed []byte, size uint64, root []byte, err error) {
	l.tipMu.RLock()
	defer l.tipMu.RUnlock()
	return l.tip.Checkpoint, l.tip.TreeSize, l.tip.Root, nil
}

// InclusionProof proves that transaction txID is leaf leafIndex of the tree
// of size treeSize (0 means the latest). Verify it with
// proof.VerifyInclusion(rfc6962.DefaultHasher, leafIndex, treeSize,
// TxRecord.LeafHash, proof, root).
func (l *Ledger) InclusionProof(ctx context.Context, txID string, treeSize uint64) (uint64, [][]byte, error) {
	leaf, err := l.lookupLeaf(ctx, txID)
	if err != nil {
		return 0, nil, err
	}
	size := l.treeSize()
	if treeSize == 0 {
		treeSize = size
	}
	if treeSize > size || leaf >= treeSize {
		return 0, nil, manifest.FieldError(manifest.Invalid, "tree_size", "tree size %d: leaf %d, current size %d", treeSize, leaf, size)
	}
	nodes, err := proof.Inclusion(leaf, treeSize)
	if err != nil {
		return 0, nil, manifest.Errorf(manifest.Invalid, "inclusion proof: %w", err)
	}
	p, err := l.rehash(ctx, nodes)
	return leaf, p, err
}

// ConsistencyProof proves that the tree of size1 is a prefix of the tree of
// size2; verify with proof.VerifyConsistency.
func (l *Ledger) ConsistencyProof(ctx context.Context, size1, size2 uint64) ([][]byte, error) {
	if size2 > l.treeSize() {
		return nil, manifest.FieldError(manifest.Invalid, "tree_size", "tree size %d is beyond the current %d", size2, l.treeSize())
	}
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, manifest.Errorf(manifest.Invalid, "consistency proof: %w", err)
	}
	return l.rehash(ctx, nodes)
}

func (l *Ledger) treeSize() uint64 {
	l.tipMu.RLock()
	defer l.tipMu.RUnlock()
	return l.tip.TreeSize
}

func (l *Ledger) rehash(ctx context.Context, nodes proof.Nodes) ([][]byte, error) {
	hashes, err := l.nodeHashes(ctx, nodes.IDs)
	if err != nil {
		return nil, err
	}
	return nodes.Rehash(hashes, rfc6962.DefaultHasher.HashChildren)
}

// nodeHashes reads stored Merkle nodes.
func (l *Ledger) nodeHashes(ctx context.Context, ids []compact.NodeID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		err := l.rd.QueryRowContext(ctx, "SELECT hash FROM merkle WHERE pos = ?", nodePos(id)).Scan(&out[i])
		if errors.Is(err, sql.ErrNoRows) {
			return nil, manifest.Errorf(manifest.Internal, "merkle node %d/%d missing", id.Level, id.Index)
		}
		if err != nil {
			return nil, unavailable("merkle node: %w", err)
		}
	}
	return out, nil
}

// splice puts a value stored by reference back into the payload it was
// cut from (migration 0002).
func splice(rest []byte, at int64, value []byte) ([]byte, error) {
	if value == nil {
		return nil, errors.New("payload refers to a history row that holds no value")
	}
	if at < 0 || at > int64(len(rest)) {
		return nil, fmt.Errorf("payload offset %d is outside the stored %d bytes", at, len(rest))
	}
	out := make([]byte, 0, len(rest)+len(value))
	out = append(out, rest[:at]...)
	out = append(out, value...)
	return append(out, rest[at:]...), nil
}

// nodePos is the key of a Merkle node in the merkle table (migration
// 0003): its position in the post-order of the tree, in which every node
// an append completes comes after all existing ones.
func nodePos(id compact.NodeID) int64 {
	m := (id.Index+1)<<id.Level - 1 // the node's last leaf
	return int64(2*m - uint64(bits.OnesCount64(m)) + uint64(id.Level))
}
