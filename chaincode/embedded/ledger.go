// Package embedded is the embedded ledger: it executes any chaincode.Invoker
// with Hyperledger Fabric's semantics (execute, order and validate, commit)
// inside one process, durably, in a SQLite file.
//
// Submit simulates a transaction in the caller's goroutine against committed
// state, recording what it read and buffering what it wrote. One committer
// goroutine orders the simulated transactions, rejects those whose reads went
// stale (MVCC, including phantom range reads) with a manifest.Conflict error,
// and packs the valid ones into blocks. A block closes at Config.BlockMaxTx
// transactions, Config.BlockMaxWait after its first one, or as soon as no
// other transaction is being executed while the writer is free; it is
// written in one SQLite transaction and fsynced, and only then do its
// Submits return.
//
// Tamper evidence: every valid transaction has a canonical JSON record whose
// RFC 6962 leaf hash goes into one Merkle tree over the whole ledger; blocks
// are hash-chained and each carries a signed checkpoint (a C2SP
// tlog-checkpoint signed as a golang.org/x/mod/sumdb/note). Verify re-checks
// all of it and replays every transaction through the contract.
package embedded

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"wasteledger/chaincode"
	"wasteledger/manifest"
)

// DefaultBlockMaxWait is how long at most a block waits for more
// transactions after its first. It closes sooner when no other
// transaction is being executed and the writer is idle: nothing would
// join it, and it would be stored at once. So a lone transaction does not
// wait, and under load each block gathers what the cores executed
// meanwhile (each block costs a signed checkpoint, each write an fsync).
const DefaultBlockMaxWait = 10 * time.Millisecond

// DefaultCacheBytes is the world-state read cache's default budget: about
// 60,000 manifest documents, the open manifests of a busy province. A
// handover whose manifest is not cached reads it from SQLite (about 30 µs
// more on 2 cores).
const DefaultCacheBytes = 256 << 20

// Config configures a ledger. Only Path is required.
type Config struct {
	Path         string        // the SQLite file
	KeyPath      string        // checkpoint signing key; default Path + ".key"
	BlockMaxTx   int           // a block closes at this many transactions (default 500)
	BlockMaxWait time.Duration // … or this long after its first transaction (default DefaultBlockMaxWait)
	NoSync       bool          // tests only: skip fsync. The default is durable.
	CacheBytes   int64         // world-state read cache budget (default DefaultCacheBytes; <0 disables)
	Readers      int           // read connections (default 8)
	// VerifierKey, when set, is the note verifier key Verify trusts for
	// checkpoint signatures instead of the one stored in the ledger file.
	VerifierKey string
	Logger      *slog.Logger

	txidBatch int  // tests shrink it
	waitFull  bool // tests: a block always waits BlockMaxWait (or fills), so that timed submissions share it
}

func (c Config) withDefaults() Config {
	if c.KeyPath == "" {
		c.KeyPath = c.Path + ".key"
	}
	if c.BlockMaxTx <= 0 {
		c.BlockMaxTx = 500
	}
	if c.BlockMaxWait <= 0 {
		c.BlockMaxWait = DefaultBlockMaxWait
	}
	if c.CacheBytes == 0 {
		c.CacheBytes = DefaultCacheBytes
	}
	if c.Readers <= 0 {
		c.Readers = 8
	}
	if c.txidBatch <= 0 {
		c.txidBatch = txidBatch
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Info describes a newly created ledger.
type Info struct {
	LedgerID    string // random, hex
	Origin      string // checkpoint origin line: "wasteledger/<ledger id>"
	VerifierKey string // note verifier key of the checkpoint signer
	Genesis     Block
}

// Limits on what a transaction may carry; exceeding one is manifest.Invalid.
const (
	MaxKeyBytes   = 1 << 10
	MaxValueBytes = 1 << 20
	MaxArgsBytes  = 4 << 20
)

// Ledger is an open embedded ledger. Its methods are safe for concurrent use.
type Ledger struct {
	cfg      Config
	log      *slog.Logger
	cc       chaincode.Invoker
	id       string
	origin   string
	signer   note.Signer
	verifier note.Verifier
	vkey     string

	rd           *sql.DB // pool of read connections
	getStmt      *sql.Stmt
	rangeStmt    *sql.Stmt
	versionsStmt *sql.Stmt // a range's keys and versions, without the values
	historyStmt  *sql.Stmt
	cache        *stateCache
	keys         *keyFilter

	// Submission and shutdown. Submit holds closeMu for reading while it
	// hands a transaction to the committer; Close takes it for writing.
	closeMu  sync.RWMutex
	closed   bool
	submitCh chan *pendingTx
	// simulating counts Submit calls still executing their transaction:
	// when none is and none waits in submitCh, the open block closes at
	// once instead of waiting out BlockMaxWait for company.
	simulating atomic.Int64
	// writing is set while the writer stores blocks: meanwhile the open
	// block keeps gathering transactions, since it could not be stored
	// sooner anyway.
	writing atomic.Bool
	idle    chan struct{} // the writer became idle (capacity 1)
	simSem  chan struct{} // bounds simulations running at once
	done    chan struct{} // closed when the writer has stopped

	// The committed tip, published by the writer.
	tipMu  sync.RWMutex
	tip    Block
	failed error // set once a block could not be written; the ledger then refuses writes

	// Event feed notification.
	evMu   sync.Mutex
	evSeq  uint64
	evWake chan struct{}

	// appliedHeight is the last block whose writes are in SQLite and the cache.
	appliedHeight atomic.Uint64

	// recent maps the tx ids not yet in the txids table to their leaves.
	recentMu sync.RWMutex
	recent   map[string]uint64

	// Owned by the writer goroutine.
	unindexed    []txidLeaf // leaves >= the txids watermark, in leaf order
	w            *rawConn
	ins          inserts
	tree         *compact.Range
	nextSeq      uint64 // the next event's seq
	nextHist     int64  // the next history row's id
	ckptWake     chan struct{}
	ckptCaughtUp chan struct{}
	ckptDone     chan struct{}
	lock         *os.File // flock on the key file while open
}

var rangeFactory = &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}

// Init creates a new ledger at cfg.Path: the schema, a checkpoint signing
// key in cfg.KeyPath (mode 0600) and the genesis block. It fails if either
// file exists.
func Init(ctx context.Context, cfg Config) (info Info, err error) {
	if cfg.Path == "" {
		return Info{}, errors.New("embedded: init: Config.Path is empty")
	}
	cfg = cfg.withDefaults()
	for _, p := range []string{cfg.Path, cfg.KeyPath} {
		if _, err := os.Stat(p); err == nil {
			return Info{}, fmt.Errorf("embedded: init: %s already exists", p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return Info{}, fmt.Errorf("embedded: init: %w", err)
		}
	}
	idb := make([]byte, 16)
	rand.Read(idb)
	id := hex.EncodeToString(idb)
	origin := "wasteledger/" + id
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return Info{}, fmt.Errorf("embedded: init: %w", err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return Info{}, fmt.Errorf("embedded: init: %w", err)
	}
	kf, err := os.OpenFile(cfg.KeyPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return Info{}, fmt.Errorf("embedded: init: %w", err)
	}
	defer func() {
		if err != nil { // leave nothing half made behind
			for _, p := range []string{cfg.KeyPath, cfg.Path, cfg.Path + "-wal", cfg.Path + "-shm"} {
				os.Remove(p)
			}
		}
	}()
	if _, err := kf.WriteString(skey + "\n"); err != nil {
		kf.Close()
		return Info{}, fmt.Errorf("embedded: init: %w", err)
	}
	if err := kf.Sync(); err != nil {
		kf.Close()
		return Info{}, fmt.Errorf("embedded: init: %w", err)
	}
	if err := kf.Close(); err != nil {
		return Info{}, fmt.Errorf("embedded: init: %w", err)
	}

	// The page size can only be chosen before the first table, and not once
	// the file is in WAL mode.
	db, err := sql.Open("sqlite3", dsn(cfg.Path, "_busy_timeout=10000", "_foreign_keys=on", "_synchronous=FULL"))
	if err != nil {
		return Info{}, fmt.Errorf("embedded: init: %w", err)
	}
	defer func() {
		if cerr := db.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("embedded: init: %w", cerr)
		}
	}()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "PRAGMA page_size = "+strconv.Itoa(pageSize)); err != nil {
		return Info{}, fmt.Errorf("embedded: init: %w", err)
	}
	if err := migrate(ctx, db); err != nil {
		return Info{}, fmt.Errorf("embedded: init: %w", err)
	}
	if _, err := db.ExecContext(ctx, "PRAGMA journal_mode = WAL"); err != nil {
		return Info{}, fmt.Errorf("embedded: init: %w", err)
	}

	root := rfc6962.DefaultHasher.EmptyRoot()
	hdr := blockHeader{Number: 0, PrevHash: make([]byte, sha256.Size), Time: time.Now().UTC().Truncate(time.Microsecond), Root: root}
	gen := Block{Number: 0, PrevHash: hdr.PrevHash, Time: hdr.Time, Root: root, Hash: hdr.hash()}
	gen.Checkpoint, err = signCheckpoint(signer, origin, gen)
	if err != nil {
		return Info{}, fmt.Errorf("embedded: init: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return Info{}, fmt.Errorf("embedded: init: %w", err)
	}
	defer tx.Rollback()
	for k, v := range map[string]string{
		"ledger_id":     id,
		"origin":        origin,
		"verifier_key":  vkey,
		"created":       formatTime(hdr.Time),
		"txids_indexed": "0",
	} {
		if _, err := tx.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES (?, ?)", k, v); err != nil {
			return Info{}, fmt.Errorf("embedded: init: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, insertBlockSQL, gen.Number, gen.PrevHash, formatTime(gen.Time), 0, 0, 0, gen.Root, gen.Hash, gen.Checkpoint); err != nil {
		return Info{}, fmt.Errorf("embedded: init: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Info{}, fmt.Errorf("embedded: init: %w", err)
	}
	return Info{LedgerID: id, Origin: origin, VerifierKey: vkey, Genesis: gen}, nil
}

// pageSize is the SQLite page size of new ledgers. Rows are a few KiB
// (records, values) and are appended, so pages larger than the default
// 4 KiB waste less space and WAL bytes per transaction.
const pageSize = 8192

// The world state holds, per key, the id of its newest history row, which
// holds the value (migration 0002); a deleted key's row is a tombstone with
// block 0 (migration 0004). CROSS JOIN keeps state as the outer loop.
const (
	getStateSQL   = "SELECT h.value, s.block, s.tx FROM state s CROSS JOIN history h ON h.id = s.hist WHERE s.key = ?"
	rangeStateSQL = "SELECT s.key, h.value, s.block, s.tx FROM state s CROSS JOIN history h ON h.id = s.hist " +
		"WHERE s.key >= ? AND s.key < ? AND s.block > 0 ORDER BY s.key LIMIT ?"
	versionsSQL = "SELECT key, block, tx FROM state WHERE key >= ? AND key < ? AND block > 0 ORDER BY key LIMIT ?"
	// historySQL follows a key's chain back from its state row (migration
	// 0004) and lists it oldest first. UNION, not UNION ALL: a forged
	// cycle ends the walk instead of looping.
	historySQL = "WITH RECURSIVE chain (id) AS (SELECT hist FROM state WHERE key = ? " +
		"UNION SELECT h.prev FROM history h JOIN chain c ON h.id = c.id WHERE h.prev IS NOT NULL) " +
		"SELECT h.tx_id, h.time, h.value, h.deleted FROM chain c CROSS JOIN history h ON h.id = c.id ORDER BY h.id"
)

const insertBlockSQL = `INSERT INTO blocks (number, prev_hash, time, tx_count, first_leaf, tree_size, root, hash, checkpoint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

// Open opens a ledger made by Init, applies pending migrations and starts
// its committer. Crash recovery is SQLite's: a block is either wholly in the
// file or not at all.
func Open(ctx context.Context, cfg Config, cc chaincode.Invoker) (*Ledger, error) {
	cfg = cfg.withDefaults()
	if cc == nil {
		return nil, errors.New("embedded: open: nil Invoker")
	}
	if _, err := os.Stat(cfg.Path); err != nil {
		return nil, fmt.Errorf("embedded: open: %w (run Init first)", err)
	}
	l := &Ledger{cfg: cfg, log: cfg.Logger, cc: cc, evWake: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			l.closeDBs()
		}
	}()
	var err error
	if l.lock, err = lockFile(cfg.KeyPath); err != nil {
		return nil, fmt.Errorf("embedded: open: %w", err)
	}
	mdb, err := sql.Open("sqlite3", writerDSN(cfg.Path, cfg.NoSync))
	if err != nil {
		return nil, fmt.Errorf("embedded: open: %w", err)
	}
	mdb.SetMaxOpenConns(1)
	err = migrate(ctx, mdb)
	mdb.Close()
	if err != nil {
		return nil, fmt.Errorf("embedded: open: %w", err)
	}

	l.rd, err = sql.Open("sqlite3", readerDSN(cfg.Path))
	if err != nil {
		return nil, fmt.Errorf("embedded: open: %w", err)
	}
	l.rd.SetMaxOpenConns(cfg.Readers)
	l.rd.SetMaxIdleConns(cfg.Readers)
	l.rd.SetConnMaxIdleTime(0)
	if err := l.loadMeta(ctx); err != nil {
		return nil, fmt.Errorf("embedded: open: %w", err)
	}
	skey, err := os.ReadFile(cfg.KeyPath)
	if err != nil {
		return nil, fmt.Errorf("embedded: open: signing key: %w", err)
	}
	l.signer, err = note.NewSigner(string(trimNL(skey)))
	if err != nil {
		return nil, fmt.Errorf("embedded: open: signing key: %w", err)
	}
	if l.signer.Name() != l.verifier.Name() || l.signer.KeyHash() != l.verifier.KeyHash() {
		return nil, fmt.Errorf("embedded: open: signing key %s does not match the ledger's verifier key", cfg.KeyPath)
	}
	for _, p := range []struct {
		st **sql.Stmt
		q  string
	}{
		{&l.getStmt, getStateSQL},
		{&l.rangeStmt, rangeStateSQL},
		{&l.versionsStmt, versionsSQL},
		{&l.historyStmt, historySQL},
	} {
		if *p.st, err = l.rd.PrepareContext(ctx, p.q); err != nil {
			return nil, fmt.Errorf("embedded: open: %w", err)
		}
	}
	l.cache = newStateCache(max(cfg.CacheBytes, 0))
	if err := l.loadKeys(ctx); err != nil {
		return nil, fmt.Errorf("embedded: open: %w", err)
	}

	if l.tip, err = l.readBlock(ctx, l.rd, -1); err != nil {
		return nil, fmt.Errorf("embedded: open: %w", err)
	}
	l.appliedHeight.Store(l.tip.Number)
	if err := l.rd.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) FROM events").Scan(&l.evSeq); err != nil {
		return nil, fmt.Errorf("embedded: open: %w", err)
	}
	l.nextSeq = l.evSeq + 1
	if err := l.rd.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM history").Scan(&l.nextHist); err != nil {
		return nil, fmt.Errorf("embedded: open: %w", err)
	}
	l.nextHist++
	if err := l.loadRecent(ctx); err != nil {
		return nil, fmt.Errorf("embedded: open: %w", err)
	}
	if l.tree, err = l.loadTree(ctx, l.tip.TreeSize); err != nil {
		return nil, fmt.Errorf("embedded: open: %w", err)
	}
	if root, err := l.tree.GetRootHash(nil); err != nil {
		return nil, fmt.Errorf("embedded: open: %w", err)
	} else if l.tip.TreeSize > 0 && !bytesEqual(root, l.tip.Root) {
		return nil, fmt.Errorf("embedded: open: stored Merkle nodes do not match block %d's root; run verify", l.tip.Number)
	}
	if l.w, err = openRaw(cfg.Path, cfg.NoSync); err != nil {
		return nil, fmt.Errorf("embedded: open: %w", err)
	}
	l.ins = newInserts()

	l.submitCh = make(chan *pendingTx, 4096)
	l.simSem = make(chan struct{}, max(4, 2*runtime.GOMAXPROCS(0)))
	l.done = make(chan struct{})
	l.ckptWake = make(chan struct{}, 1)
	l.ckptCaughtUp = make(chan struct{}, 1)
	l.ckptDone = make(chan struct{})
	blocks := make(chan *pendingBlock, 64)
	l.idle = make(chan struct{}, 1)
	go l.checkpointer()
	go l.commitLoop(blocks)
	go l.writeLoop(blocks)
	ok = true
	l.log.Info("embedded ledger open", "path", cfg.Path, "block", l.tip.Number, "tree_size", l.tip.TreeSize)
	return l, nil
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

func (l *Ledger) loadMeta(ctx context.Context) error {
	var vkey string
	if err := l.rd.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'ledger_id'").Scan(&l.id); err != nil {
		return fmt.Errorf("meta ledger_id: %w", err)
	}
	if err := l.rd.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'origin'").Scan(&l.origin); err != nil {
		return fmt.Errorf("meta origin: %w", err)
	}
	if err := l.rd.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'verifier_key'").Scan(&vkey); err != nil {
		return fmt.Errorf("meta verifier_key: %w", err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return fmt.Errorf("meta verifier_key: %w", err)
	}
	l.verifier = v
	l.vkey = vkey
	return nil
}

// loadKeys fills the key filter from the world state (keys only: the scan
// reads the key index, not the values).
func (l *Ledger) loadKeys(ctx context.Context) error {
	var n int
	if err := l.rd.QueryRowContext(ctx, "SELECT COUNT(*) FROM state WHERE block > 0").Scan(&n); err != nil {
		return err
	}
	l.keys = newKeyFilter(max(4*n, 1<<20))
	rows, err := l.rd.QueryContext(ctx, "SELECT key FROM state WHERE block > 0 ORDER BY key")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return err
		}
		l.keys.add(k)
	}
	return rows.Err()
}

type txidLeaf struct {
	id   string
	leaf uint64
}

// loadRecent reads the tx ids that the txids table does not hold yet.
func (l *Ledger) loadRecent(ctx context.Context) error {
	var mark string
	if err := l.rd.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'txids_indexed'").Scan(&mark); err != nil {
		return fmt.Errorf("meta txids_indexed: %w", err)
	}
	from, err := strconv.ParseUint(mark, 10, 64)
	if err != nil {
		return fmt.Errorf("meta txids_indexed: %w", err)
	}
	rows, err := l.rd.QueryContext(ctx, "SELECT tx_id, leaf FROM txs WHERE leaf >= ? ORDER BY leaf", from)
	if err != nil {
		return err
	}
	defer rows.Close()
	l.recent = make(map[string]uint64)
	for rows.Next() {
		var t txidLeaf
		if err := rows.Scan(&t.id, &t.leaf); err != nil {
			return err
		}
		l.recent[t.id] = t.leaf
		l.unindexed = append(l.unindexed, t)
	}
	return rows.Err()
}

// loadTree rebuilds the compact range of a tree of the given size from the
// stored nodes.
func (l *Ledger) loadTree(ctx context.Context, size uint64) (*compact.Range, error) {
	ids := compact.RangeNodes(0, size, nil)
	hashes, err := l.nodeHashes(ctx, ids)
	if err != nil {
		return nil, err
	}
	return rangeFactory.NewRange(0, size, hashes)
}

// Close stops accepting transactions, commits the ones already accepted,
// and closes the file.
func (l *Ledger) Close() error {
	l.closeMu.Lock()
	if l.closed {
		l.closeMu.Unlock()
		<-l.done
		return nil
	}
	l.closed = true
	close(l.submitCh)
	l.closeMu.Unlock()
	<-l.done
	close(l.ckptWake)
	<-l.ckptDone
	return l.closeDBs()
}

func (l *Ledger) closeDBs() error {
	var errs []error
	for _, st := range []*sql.Stmt{l.getStmt, l.rangeStmt, l.versionsStmt, l.historyStmt} {
		if st != nil {
			st.Close()
		}
	}
	if l.rd != nil {
		errs = append(errs, l.rd.Close())
	}
	if l.w != nil {
		// A final full checkpoint folds the WAL into the database file.
		l.w.execNoArgs("PRAGMA wal_checkpoint(TRUNCATE)")
		errs = append(errs, l.w.close())
	}
	if l.lock != nil {
		l.lock.Close()
	}
	return errors.Join(errs...)
}

// Height is the number of the last committed block.
func (l *Ledger) Height() uint64 {
	l.tipMu.RLock()
	defer l.tipMu.RUnlock()
	return l.tip.Number
}

// ID is the ledger's random id; its checkpoints' origin is "wasteledger/<id>".
func (l *Ledger) ID() string { return l.id }

// VerifierKey is the note verifier key that checks this ledger's checkpoints.
func (l *Ledger) VerifierKey() string { return l.vkey }

func unavailable(format string, args ...any) error {
	return manifest.Errorf(manifest.Unavailable, format, args...)
}
