// Package chaincode is the wasteledger contract: every transaction, written
// once against the State interface, so that the same code runs inside a
// Hyperledger Fabric peer (chaincode/fabric) and inside the embedded ledger
// (chaincode/embedded).
package chaincode

import (
	"fmt"
	"slices"
	"time"
)

// Caller is the submitter of a transaction as the ledger authenticated it:
// on Fabric the client identity's MSP id and subject, on the embedded ledger
// what the gateway that holds the submitting organisation's identity says.
type Caller struct {
	MSP string `json:"msp"` // membership service provider id, e.g. "ProducerMSP"
	ID  string `json:"id"`  // the submitting identity within that MSP
}

// Version is one committed value of a key, as Fabric's GetHistoryForKey
// returns it.
type Version struct {
	TxID    string    `json:"tx_id"`
	Time    time.Time `json:"time"`
	Value   []byte    `json:"value,omitempty"`
	Deleted bool      `json:"deleted,omitempty"`
}

// State is everything the contract sees of the ledger. Its semantics follow
// Fabric's chaincode shim exactly, so that both hosts behave the same:
//
//   - Get returns the committed value, or nil and no error when the key is
//     absent. A Get never sees a Put made earlier in the same transaction.
//     The caller must not modify the bytes: a host may share them with
//     other readers (the embedded ledger returns its cached copy).
//   - Put buffers a write; writes become visible when the transaction commits,
//     and a transaction whose reads changed before its commit fails with a
//     conflict (MVCC), never overwriting the other writer.
//   - Range visits committed keys with the prefix in ascending byte order;
//     the host re-checks the range at commit (phantom reads are conflicts).
//   - History lists committed versions of a key, oldest first. It is not
//     re-validated at commit: use it in queries only.
//   - TxTime is the proposal's timestamp, the only clock the contract has.
//   - Emit sets the transaction's one event; a second Emit replaces it.
type State interface {
	Get(key string) ([]byte, error)
	Put(key string, value []byte) error
	Range(prefix string, fn func(key string, value []byte) error) error
	History(key string) ([]Version, error)
	TxID() string
	TxTime() time.Time
	Caller() Caller
	Emit(name string, payload []byte) error
}

// MultiGetter is implemented by a State that can read several keys in one
// round trip to the ledger (Fabric's GetMultipleStates). The values are
// what Get would return for each key, in the order of keys.
type MultiGetter interface {
	GetMany(keys []string) ([][]byte, error)
}

// Invoker runs one transaction function against a State. Hosts call it;
// the contract implements it.
type Invoker interface {
	Invoke(st State, fn string, args [][]byte) ([]byte, error)
}

// readAhead returns st with the keys read in one round trip when the host
// can (MultiGetter), so that the Gets of them that follow are answered
// without another; otherwise st itself. A Get never sees the
// transaction's own writes, so a value read ahead is what Get would return
// at any later point of the transaction.
func readAhead(st State, keys ...string) (State, error) {
	mg, ok := st.(MultiGetter)
	if !ok || len(keys) < 2 {
		return st, nil
	}
	keys = uniqueKeys(keys)
	vals, err := mg.GetMany(keys)
	if err != nil {
		return nil, err
	}
	if len(vals) != len(keys) {
		return nil, fmt.Errorf("read %d keys at once, got %d values", len(keys), len(vals))
	}
	got := make(map[string][]byte, len(keys))
	for i, k := range keys {
		got[k] = vals[i]
	}
	return &readAheadState{State: st, got: got}, nil
}

type readAheadState struct {
	State
	got map[string][]byte
}

func (s *readAheadState) Get(key string) ([]byte, error) {
	if v, ok := s.got[key]; ok {
		return v, nil
	}
	return s.State.Get(key)
}

func uniqueKeys(keys []string) []string {
	out := keys[:0:0]
	for _, k := range keys {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}
