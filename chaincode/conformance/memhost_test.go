package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
	cc      *chaincode.Contract
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
func (t *memTx) Emit(n string, _ []byte) error { t.event = n; return nil }

func (h *memHost) run(caller chaincode.Caller, fn string, args [][]byte, commit bool) ([]byte, error) {
	var id [16]byte
	rand.Read(id[:])
	tx := &memTx{h: h, id: hex.EncodeToString(id[:]), at: time.Now().UTC(), caller: caller, reads: map[string]uint64{}, writes: map[string][]byte{}}
	out, err := h.cc.Invoke(tx, fn, args)
	if err != nil || !commit {
		return out, err
	}
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

func (h *memHost) Submit(_ context.Context, c chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	return h.run(c, fn, args, true)
}

func (h *memHost) Evaluate(_ context.Context, c chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	return h.run(c, fn, args, false)
}

func TestSuiteOnMemoryHost(t *testing.T) { Run(t, newMemHost) }
