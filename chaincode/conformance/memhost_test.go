package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"wasteledger/chaincode"
	"wasteledger/chaincode/scenario"
	"wasteledger/manifest"
)

// memHost is a hand-written in-memory host with Fabric semantics (buffered
// writes, MVCC on read versions), small enough to trust, so that the suite
// itself is tested apart from any real ledger.
type memHost struct {
	cc        *chaincode.Contract
	endorsers int // >1: run each transaction that many times at once, like peers sharing one chaincode server
	// heights keeps commits out while a transaction's endorsers run, so
	// that they all see the same state, like peers at the same height.
	heights sync.RWMutex
	mu      sync.Mutex
	state   map[string]memVal
	history map[string][]chaincode.Version
	seq     uint64
}

type memVal struct {
	v   []byte
	ver uint64
}

func newMemHost(*testing.T) scenario.Host {
	return &memHost{cc: chaincode.New(), state: map[string]memVal{}, history: map[string][]chaincode.Version{}}
}

type memTx struct {
	h      *memHost
	id     string
	at     time.Time
	caller chaincode.Caller
	reads  map[string]uint64
	writes map[string][]byte
	event  string
	evData []byte
}

func (t *memTx) Get(k string) ([]byte, error) {
	t.h.mu.Lock()
	defer t.h.mu.Unlock()
	v := t.h.state[k]
	t.reads[k] = v.ver
	return v.v, nil
}
func (t *memTx) Put(k string, v []byte) error { t.writes[k] = v; return nil }
func (t *memTx) Range(prefix string, fn func(string, []byte) error) error {
	t.h.mu.Lock()
	var keys []string
	for k := range t.h.state {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	t.h.mu.Unlock()
	sort.Strings(keys)
	for _, k := range keys {
		v, _ := t.Get(k)
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}
func (t *memTx) History(k string) ([]chaincode.Version, error) {
	t.h.mu.Lock()
	defer t.h.mu.Unlock()
	return append([]chaincode.Version(nil), t.h.history[k]...), nil
}
func (t *memTx) TxID() string                  { return t.id }
func (t *memTx) TxTime() time.Time             { return t.at }
func (t *memTx) Caller() chaincode.Caller      { return t.caller }
func (t *memTx) Emit(n string, b []byte) error { t.event, t.evData = n, b; return nil }

func (h *memHost) run(caller chaincode.Caller, fn string, args [][]byte, commit bool) ([]byte, error) {
	var id [16]byte
	rand.Read(id[:])
	newTx := func() *memTx {
		return &memTx{h: h, id: hex.EncodeToString(id[:]), at: time.Now().UTC().Truncate(time.Second), caller: caller, reads: map[string]uint64{}, writes: map[string][]byte{}}
	}
	tx := newTx()
	h.heights.RLock()
	out, err := h.cc.Invoke(tx, fn, args)
	if h.endorsers > 1 {
		if derr := h.endorseAgain(tx, out, err, fn, args, newTx); derr != nil {
			h.heights.RUnlock()
			return nil, derr
		}
	}
	h.heights.RUnlock()
	if err != nil || !commit {
		return out, err
	}
	h.heights.Lock()
	defer h.heights.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	for k, ver := range tx.reads {
		if h.state[k].ver != ver {
			return nil, manifest.Errorf(manifest.Conflict, "MVCC read conflict on %s", k)
		}
	}
	for k, v := range tx.writes {
		h.seq++
		h.state[k] = memVal{v: v, ver: h.seq}
		h.history[k] = append(h.history[k], chaincode.Version{TxID: tx.id, Time: tx.at, Value: v})
	}
	return out, nil
}

// endorseAgain runs the transaction again on h.endorsers-1 goroutines at
// once against the same state, as peers endorsing one proposal through a
// shared chaincode server do, and reports any difference from the first
// run: the contract must be deterministic, shared caches included.
func (h *memHost) endorseAgain(first *memTx, out []byte, err error, fn string, args [][]byte, newTx func() *memTx) error {
	type result struct {
		tx  *memTx
		out []byte
		err error
	}
	res := make([]result, h.endorsers-1)
	var wg sync.WaitGroup
	for i := range res {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tx := newTx()
			tx.at = first.at
			o, e := h.cc.Invoke(tx, fn, args)
			res[i] = result{tx, o, e}
		}()
	}
	wg.Wait()
	for _, r := range res {
		same := bytes.Equal(r.out, out) && fmt.Sprint(r.err) == fmt.Sprint(err) &&
			r.tx.event == first.event && bytes.Equal(r.tx.evData, first.evData) && len(r.tx.writes) == len(first.writes)
		for k, v := range first.writes {
			same = same && bytes.Equal(r.tx.writes[k], v)
		}
		if !same {
			return manifest.Errorf(manifest.Internal, "%s: endorsements differ (non-deterministic contract)", fn)
		}
	}
	return nil
}

func (h *memHost) Submit(_ context.Context, c chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	return h.run(c, fn, args, true)
}

func (h *memHost) Evaluate(_ context.Context, c chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	return h.run(c, fn, args, false)
}

func TestSuiteOnMemoryHost(t *testing.T) { Run(t, newMemHost) }

// TestSuiteOnConcurrentEndorsers runs every transaction on three
// endorsers at once through one Contract, the way Fabric peers share one
// chaincode server, and fails on any difference between them.
func TestSuiteOnConcurrentEndorsers(t *testing.T) {
	Run(t, func(t *testing.T) scenario.Host {
		h := newMemHost(t).(*memHost)
		h.endorsers = 3
		return h
	})
}
