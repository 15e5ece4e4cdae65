package embedded

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/transparency-dev/merkle/rfc6962"

	"wasteledger/chaincode"
	"wasteledger/manifest"
)

// Event is one entry of the event feed.
type Event struct {
	Seq     uint64    `json:"seq"` // the feed cursor: 1, 2, 3 … in commit order
	Block   uint64    `json:"block"`
	TxIndex int       `json:"tx_index"`
	TxID    string    `json:"tx_id"`
	Time    time.Time `json:"time"` // the transaction's time
	Name    string    `json:"name"`
	Payload []byte    `json:"payload"`
}

// Receipt says where a committed transaction landed.
type Receipt struct {
	TxID    string
	Block   uint64
	Index   int // position in the block
	Time    time.Time
	Payload []byte // the contract's response
	Event   *Event // the transaction's event, if it emitted one
}

// readRec is one key read by a simulation and the version it saw.
type readRec struct {
	key string
	ver version
}

// rangeRec is one Range call: the keys and versions it visited, and
// whether it ran to the end of the prefix (or the callback stopped it).
type rangeRec struct {
	prefix    string
	seen      []readRec
	exhausted bool
}

// writeRec is one buffered write; value nil means delete.
type writeRec struct {
	key   string
	value []byte
}

// pendingTx is a simulated transaction on its way to the committer.
type pendingTx struct {
	txID     string
	time     time.Time
	reads    []readRec
	ranges   []rangeRec
	writes   []writeRec // sorted by key
	evName   string
	evData   []byte
	hasEvent bool
	response []byte
	// respWrite is the index in writes of the value the response equals
	// (then only that history row stores the bytes), or -1.
	respWrite int
	// evWrite is the index in writes of a value the event payload carries
	// verbatim at byte evAt, or -1; evRest is the payload without it.
	evWrite int
	evAt    int
	evRest  []byte
	record  []byte
	leaf    []byte
	done    chan txResult // buffered

	// Set by the committer.
	block uint64
	idx   uint32
}

type txResult struct {
	rcpt Receipt
	err  error
}

// sim is the State a transaction runs against. Not safe for concurrent use
// by the contract (neither is Fabric's stub).
type sim struct {
	ctx      context.Context
	src      stateSource
	txID     string
	time     time.Time
	caller   chaincode.Caller
	reads    []readRec
	readIdx  map[string]struct{}
	ranges   []rangeRec
	writes   map[string][]byte
	hasEvent bool
	evName   string
	evData   []byte
	err      error // the first limit violation; fails the transaction
}

var _ chaincode.State = (*sim)(nil)

func (s *sim) TxID() string             { return s.txID }
func (s *sim) TxTime() time.Time        { return s.time }
func (s *sim) Caller() chaincode.Caller { return s.caller }
func (s *sim) fail(err *manifest.Error) error {
	if s.err == nil {
		s.err = err
	}
	return err
}

func checkKey(key string) *manifest.Error {
	switch {
	case key == "":
		return manifest.FieldError(manifest.Invalid, "key", "empty key")
	case len(key) > MaxKeyBytes:
		return manifest.FieldError(manifest.Invalid, "key", "key is %d bytes, the limit is %d", len(key), MaxKeyBytes)
	case key[0] == 0:
		return manifest.FieldError(manifest.Invalid, "key", "key starts with 0x00")
	case !validText(key):
		return manifest.FieldError(manifest.Invalid, "key", "key is not valid UTF-8")
	}
	return nil
}

// Get returns the committed value of key (nil if absent) and records the
// version read. It never sees this transaction's own Puts. The bytes are the
// committed ones, shared with other readers (State's contract: not to be
// modified); their capacity is clipped so that an append copies.
func (s *sim) Get(key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, s.fail(err)
	}
	e, err := s.src.read(key)
	if err != nil {
		return nil, err
	}
	s.noteRead(key, e.ver)
	if e.value == nil {
		return nil, nil
	}
	return slices.Clip(e.value), nil
}

func (s *sim) noteRead(key string, v version) {
	// The first read is the one validated; a later different one would
	// conflict anyway. Transactions read a handful of keys: a scan beats a
	// map until there are many.
	if s.readIdx != nil {
		if _, ok := s.readIdx[key]; ok {
			return
		}
		s.readIdx[key] = struct{}{}
	} else {
		for _, r := range s.reads {
			if r.key == key {
				return
			}
		}
		if len(s.reads) == readScanMax {
			s.readIdx = make(map[string]struct{}, 2*readScanMax)
			for _, r := range s.reads {
				s.readIdx[r.key] = struct{}{}
			}
			s.readIdx[key] = struct{}{}
		}
	}
	if s.reads == nil {
		s.reads = make([]readRec, 0, 8)
	}
	s.reads = append(s.reads, readRec{key, v})
}

const readScanMax = 16

// Put buffers a write. As in Fabric, an empty value deletes the key.
func (s *sim) Put(key string, value []byte) error {
	if err := checkKey(key); err != nil {
		return s.fail(err)
	}
	if len(value) > MaxValueBytes {
		return s.fail(manifest.FieldError(manifest.Invalid, "value", "value of %q is %d bytes, the limit is %d", key, len(value), MaxValueBytes))
	}
	if s.writes == nil {
		s.writes = make(map[string][]byte, 2)
	}
	if len(value) == 0 {
		s.writes[key] = nil
	} else {
		s.writes[key] = slices.Clone(value)
	}
	return nil
}

// Range visits committed keys with the prefix in ascending byte order and
// records them for the phantom check at commit.
func (s *sim) Range(prefix string, fn func(key string, value []byte) error) error {
	if prefix != "" {
		if err := checkKey(prefix); err != nil {
			return s.fail(err)
		}
	}
	rr := rangeRec{prefix: prefix}
	defer func() { s.ranges = append(s.ranges, rr) }()
	from := prefix
	for {
		page, err := s.src.rangePage(prefix, from, rangePageSize)
		if err != nil {
			return err
		}
		for _, kv := range page {
			rr.seen = append(rr.seen, readRec{kv.key, kv.ver})
			if err := fn(kv.key, kv.value); err != nil {
				return err
			}
		}
		if len(page) < rangePageSize {
			rr.exhausted = true
			return nil
		}
		from = page[len(page)-1].key + "\x00" // the next key in byte order
	}
}

const rangePageSize = 256

// History lists the committed versions of key, oldest first. Not validated
// at commit (as in Fabric): use it in queries.
func (s *sim) History(key string) ([]chaincode.Version, error) {
	if err := checkKey(key); err != nil {
		return nil, s.fail(err)
	}
	return s.src.history(s.ctx, key)
}

// Emit sets the transaction's event; a second Emit replaces the first.
func (s *sim) Emit(name string, payload []byte) error {
	switch {
	case name == "" || !validText(name):
		return s.fail(manifest.FieldError(manifest.Invalid, "event", "event name must be non-empty UTF-8"))
	case len(payload) > MaxValueBytes:
		return s.fail(manifest.FieldError(manifest.Invalid, "event", "event payload is %d bytes, the limit is %d", len(payload), MaxValueBytes))
	}
	s.hasEvent, s.evName, s.evData = true, name, slices.Clone(payload)
	return nil
}

// stateSource is the committed state a simulation reads: the live ledger's,
// or Verify's replayed one.
type stateSource interface {
	read(key string) (cacheEntry, error)
	rangePage(prefix, from string, n int) ([]kvRow, error)
	history(ctx context.Context, key string) ([]chaincode.Version, error)
}

func (l *Ledger) read(key string) (cacheEntry, error) { return l.readCommitted(key) }

// readCommitted returns the committed value and version of key, from the
// cache or SQLite.
func (l *Ledger) readCommitted(key string) (cacheEntry, error) {
	e, ok, gen := l.cache.get(key)
	if ok {
		return e, nil
	}
	if !l.keys.mayContain(key) {
		l.cache.fill(key, cacheEntry{}, gen)
		return cacheEntry{}, nil
	}
	var value []byte
	var blk uint64
	var tx uint32
	err := l.getStmt.QueryRow(key).Scan(&value, &blk, &tx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		e = cacheEntry{}
	case err != nil:
		return cacheEntry{}, unavailable("read state: %w", err)
	default:
		e = cacheEntry{value: value, ver: version{blk, tx}}
	}
	l.cache.fill(key, e, gen)
	return e, nil
}

type kvRow struct {
	key   string
	value []byte
	ver   version
}

// rangePage returns up to n committed keys with the prefix that are >= from.
// Pages are separate reads: if a commit lands between two pages the range
// is inconsistent, and the commit-time re-check rejects the transaction.
func (l *Ledger) rangePage(prefix, from string, n int) ([]kvRow, error) {
	rows, err := l.rangeStmt.Query(from, prefixEnd(prefix), n)
	if err != nil {
		return nil, unavailable("range: %w", err)
	}
	defer rows.Close()
	var out []kvRow
	for rows.Next() {
		var r kvRow
		if err := rows.Scan(&r.key, &r.value, &r.ver.Block, &r.ver.Tx); err != nil {
			return nil, unavailable("range: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("range: %w", err)
	}
	return out, nil
}

// prefixEnd returns the smallest string greater than every string with the
// prefix. Keys are valid UTF-8, which never contains 0xf5…0xff, so "\xf5"
// bounds the empty prefix.
func prefixEnd(prefix string) string {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return "\xf5"
}

func (l *Ledger) history(ctx context.Context, key string) ([]chaincode.Version, error) {
	rows, err := l.historyStmt.QueryContext(ctx, key)
	if err != nil {
		return nil, unavailable("history: %w", err)
	}
	defer rows.Close()
	var out []chaincode.Version
	for rows.Next() {
		var v chaincode.Version
		var ts string
		if err := rows.Scan(&v.TxID, &ts, &v.Value, &v.Deleted); err != nil {
			return nil, unavailable("history: %w", err)
		}
		if v.Time, err = time.Parse(timeLayout, ts); err != nil {
			return nil, manifest.Errorf(manifest.Internal, "history of %q: %w", key, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("history: %w", err)
	}
	return out, nil
}

// newTxID makes a transaction id as Fabric does: the hex SHA-256 of a
// random nonce followed by the creator's identity.
func newTxID(caller chaincode.Caller) string {
	var nonce [24]byte
	rand.Read(nonce[:])
	h := sha256.New()
	h.Write(nonce[:])
	h.Write([]byte(caller.MSP))
	h.Write([]byte{0})
	h.Write([]byte(caller.ID))
	return hex.EncodeToString(h.Sum(nil))
}

func checkProposal(caller chaincode.Caller, fn string, args [][]byte) error {
	if !validText(caller.MSP) || !validText(caller.ID) {
		return manifest.FieldError(manifest.Invalid, "caller", "caller identity is not valid UTF-8")
	}
	if !validText(fn) {
		return manifest.FieldError(manifest.Invalid, "function", "function name is not valid UTF-8")
	}
	n := 0
	for _, a := range args {
		n += len(a)
	}
	if n > MaxArgsBytes {
		return manifest.FieldError(manifest.Invalid, "args", "arguments total %d bytes, the limit is %d", n, MaxArgsBytes)
	}
	return nil
}

// simulate runs fn against committed state. The transaction's id and time
// are fixed first, at the proposal.
func (l *Ledger) simulate(ctx context.Context, caller chaincode.Caller, fn string, args [][]byte) (*sim, []byte, error) {
	txID, now := newTxID(caller), time.Now().UTC().Truncate(time.Microsecond)
	if err := checkProposal(caller, fn, args); err != nil {
		return nil, nil, err
	}
	// Simulations are CPU-bound (the contract verifies signatures): running
	// more of them than there are cores only queues the committer behind
	// them in the Go scheduler.
	select {
	case l.simSem <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, unavailable("simulate: %w", ctx.Err())
	}
	defer func() { <-l.simSem }()
	return runTx(ctx, l, l.cc, txID, now, caller, fn, args)
}

// runTx invokes the contract once against src.
func runTx(ctx context.Context, src stateSource, cc chaincode.Invoker, txID string, t time.Time, caller chaincode.Caller, fn string, args [][]byte) (*sim, []byte, error) {
	s := &sim{ctx: ctx, src: src, txID: txID, time: t, caller: caller}
	resp, err := cc.Invoke(s, fn, args)
	if err != nil {
		return nil, nil, err
	}
	if s.err != nil {
		return nil, nil, s.err
	}
	return s, resp, nil
}

// Evaluate runs a read-only simulation and returns the contract's response.
// Writes and events are discarded; nothing is recorded.
func (l *Ledger) Evaluate(ctx context.Context, caller chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, unavailable("evaluate: %w", err)
	}
	_, resp, err := l.simulate(ctx, caller, fn, args)
	return resp, err
}

// Submit simulates fn in the caller's goroutine, hands the result to the
// committer, and returns when the block holding the transaction is durable.
//
// Errors: whatever the contract returned (unchanged; nothing is recorded);
// manifest.Invalid for limits; manifest.Conflict when a value the
// transaction read changed before it could commit; manifest.Unavailable
// when the ledger is closed or failed, or when ctx ended while waiting for
// the commit (the receipt's TxID is set then, and the transaction may still
// commit: look it up with Transaction).
func (l *Ledger) Submit(ctx context.Context, caller chaincode.Caller, fn string, args ...[]byte) (Receipt, error) {
	if err := ctx.Err(); err != nil {
		return Receipt{}, unavailable("submit: %w", err)
	}
	l.simulating.Add(1)
	s, resp, err := l.simulate(ctx, caller, fn, args)
	if err != nil {
		l.simulating.Add(-1)
		return Receipt{}, err
	}
	p := s.pending(fn, args, resp)
	// Counted off before it is queued: the committer may close the open
	// block a moment early, never wait for a transaction already done.
	l.simulating.Add(-1)

	l.closeMu.RLock()
	if l.closed {
		l.closeMu.RUnlock()
		return Receipt{}, unavailable("submit: ledger is closed")
	}
	select {
	case l.submitCh <- p:
	case <-ctx.Done():
		l.closeMu.RUnlock()
		return Receipt{}, unavailable("submit: %w", ctx.Err())
	}
	l.closeMu.RUnlock()

	select {
	case r := <-p.done:
		return r.rcpt, r.err
	case <-ctx.Done():
		return Receipt{TxID: p.txID}, unavailable("submit %s: commit status unknown: %w", p.txID, ctx.Err())
	}
}

// pending builds the transaction's canonical record and leaf hash. This runs
// in the submitter's goroutine, so that hashing and encoding happen in
// parallel and the committer only orders, validates and stores.
func (s *sim) pending(fn string, args [][]byte, resp []byte) *pendingTx {
	p := &pendingTx{
		txID:     s.txID,
		time:     s.time,
		reads:    s.reads,
		ranges:   s.ranges,
		hasEvent: s.hasEvent,
		evName:   s.evName,
		evData:   s.evData,
		response: resp,
		done:     make(chan txResult, 1),
	}
	p.writes = make([]writeRec, 0, len(s.writes))
	for k, v := range s.writes {
		p.writes = append(p.writes, writeRec{k, v})
	}
	slices.SortFunc(p.writes, func(a, b writeRec) int { return strings.Compare(a.key, b.key) })
	refs := make([]WriteRef, len(p.writes))
	p.respWrite = -1
	var rh [sha256.Size]byte
	for i, w := range p.writes {
		refs[i] = writeRef(w.key, w.value)
		// A contract often returns the document it stored: keep one copy
		// (and hash it once).
		if p.respWrite < 0 && w.value != nil && len(resp) > 0 && bytes.Equal(resp, w.value) {
			p.respWrite = i
			hex.Decode(rh[:], []byte(refs[i].SHA256))
		}
	}
	var ev *EventRef
	p.evWrite = -1
	if s.hasEvent {
		ev = &EventRef{Name: s.evName, SHA256: sha256Hex(s.evData)}
		p.findEventValue()
	}
	if p.respWrite < 0 {
		rh = sha256.Sum256(resp)
	}
	// The record's size, so that it is built in one allocation: its fixed
	// text, the tx id, time and response hash, then what varies (strings
	// that need escaping only make it grow once).
	size := 256 + len(s.txID) + len(fn) + len(s.caller.ID) + len(s.caller.MSP)
	for _, a := range args {
		size += base64.StdEncoding.EncodedLen(len(a)) + 3
	}
	for _, w := range refs {
		size += len(w.Key) + len(w.SHA256) + 32
	}
	if ev != nil {
		size += len(ev.Name) + len(ev.SHA256) + 32
	}
	p.record = appendRecord(make([]byte, 0, size), s.txID, s.time, s.caller, fn, args, refs, ev, rh[:])
	p.leaf = rfc6962.DefaultHasher.HashLeaf(p.record)
	return p
}

// minSharedValue is the smallest written value worth storing once when an
// event payload carries it: below it, the reference costs about what it
// saves.
const minSharedValue = 256

// findEventValue looks for a written value inside the event payload (an
// event that embeds the document the transaction stored), so that the
// event row can refer to the history row instead of repeating it.
func (p *pendingTx) findEventValue() {
	for i, w := range p.writes {
		if len(w.value) < minSharedValue || len(w.value) > len(p.evData) {
			continue
		}
		// Events usually end with the document and a brace: try there
		// first.
		at := len(p.evData) - len(w.value) - 1
		if at < 0 || !bytes.Equal(p.evData[at:at+len(w.value)], w.value) {
			at = bytes.Index(p.evData, w.value)
		}
		if at < 0 {
			continue
		}
		p.evWrite, p.evAt = i, at
		p.evRest = make([]byte, 0, len(p.evData)-len(w.value))
		p.evRest = append(append(p.evRest, p.evData[:at]...), p.evData[at+len(w.value):]...)
		return
	}
}

func writeRef(key string, value []byte) WriteRef {
	if value == nil {
		return WriteRef{Key: key, Deleted: true}
	}
	return WriteRef{Key: key, SHA256: sha256Hex(value)}
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
