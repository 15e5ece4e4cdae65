// Package ledger is the gateway's view of a ledger: submit and evaluate
// contract transactions as an organisation's member, and follow the event
// feed. The embedded ledger (Local) and a Hyperledger Fabric network
// (package fabricgw) both implement it, so that the rest of the gateway
// never knows which one it talks to.
package ledger

import (
	"context"
	"time"

	"wasteledger/chaincode"
)

// Ledger is what the gateway needs of a ledger.
//
// Errors from the contract come back as *manifest.Error with their code
// intact (on Fabric, parsed from the endorsement error's "[code]" prefix).
// A ledger that cannot be reached returns manifest.Unavailable. A commit
// whose outcome is unknown (Fabric: the commit status timed out) is
// resolved by the implementation — by looking the transaction up — before
// it returns; it never reports success for a transaction that did not
// commit.
type Ledger interface {
	// Submit orders and commits a transaction as caller and returns when
	// it is committed.
	Submit(ctx context.Context, caller chaincode.Caller, fn string, args ...[]byte) (Commit, error)
	// Evaluate runs a query function on committed state; nothing is
	// ordered.
	Evaluate(ctx context.Context, caller chaincode.Caller, fn string, args ...[]byte) ([]byte, error)
	// Events returns up to limit contract events after the cursor, in
	// commit order, waiting up to the context's deadline for the first
	// one when none is available yet (an empty slice then, no error).
	Events(ctx context.Context, after Cursor, limit int) ([]Event, error)
	// Tx returns where a committed transaction is, for history views.
	Tx(ctx context.Context, txID string) (TxInfo, error)
	// Close releases connections.
	Close() error
}

// Commit is a committed transaction.
type Commit struct {
	TxID    string
	Block   uint64
	Time    time.Time // the transaction's timestamp
	Payload []byte    // the contract's response
}

// Cursor is a position in the event feed: after block Block, transaction
// index Tx. The zero cursor is before the first event. Both ledgers order
// events by (block, tx index), so a cursor stored by a follower stays valid
// across restarts and ledger kinds.
type Cursor struct {
	Block uint64 `json:"block"`
	Tx    int    `json:"tx"`
}

// Before reports whether c comes before o.
func (c Cursor) Before(o Cursor) bool {
	return c.Block < o.Block || (c.Block == o.Block && c.Tx < o.Tx)
}

// Event is one contract event (chaincode.Event is its payload).
type Event struct {
	Cursor  Cursor // its own position: pass it as `after` to continue
	TxID    string
	Time    time.Time
	Name    string
	Payload []byte
}

// TxInfo locates a committed transaction.
type TxInfo struct {
	TxID  string
	Block uint64
	Index int
	Time  time.Time
}
