// Package chaincode is the wasteledger contract: every transaction, written
// once against the State interface, so that the same code runs inside a
// Hyperledger Fabric peer (chaincode/fabric) and inside the embedded ledger
// (chaincode/embedded).
package chaincode

import "time"

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

// Invoker runs one transaction function against a State. Hosts call it;
// the contract implements it.
type Invoker interface {
	Invoke(st State, fn string, args [][]byte) ([]byte, error)
}
