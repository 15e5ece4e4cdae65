// Package index is the off-chain index of the ledger: a SQLite projection
// that follows the contract's events from a checkpoint written in the same
// transaction as its rows, can be rebuilt from genesis, and serves the
// list and filter queries of the API and the regulator's figures.
package index

import (
	"time"

	"wasteledger/manifest"
)

// Filter selects manifests. Zero fields select everything.
type Filter struct {
	Status     []manifest.Status // any of
	Party      string            // an organisation on the manifest in any role
	Code       string            // a waste code on any line
	Stream     string            // industrial, medical, fly_ash, battery
	Region     string            // GB/T 2260 division containing the producer's site (province, city or district)
	From, To   time.Time         // created in [From, To)
	WaitingFor string            // the organisation whose signature the next step needs
	Limit      int               // page size, at most 500 (default 50)
	After      string            // the Next token of the previous page
}

// Summary is one manifest in a list.
type Summary struct {
	ID           string          `json:"id"`
	Status       manifest.Status `json:"status"`
	Stream       string          `json:"stream"`
	Version      int             `json:"version"`
	Hash         string          `json:"hash"`
	Producer     string          `json:"producer"`
	ProducerName string          `json:"producer_name"`
	Receiver     string          `json:"receiver"`
	ReceiverName string          `json:"receiver_name"`
	Carriers     []string        `json:"carriers"`
	Region       string          `json:"region"` // the producer's site
	Codes        []string        `json:"codes"`
	DeclaredG    int64           `json:"declared_g"` // declared mass of all lines, grams
	AcceptedG    int64           `json:"accepted_g"` // accepted mass, grams (0 before receipt)
	NextStep     manifest.Step   `json:"next_step,omitempty"`
	WaitingFor   []string        `json:"waiting_for,omitempty"` // organisations that sign the next step
	Flags        int             `json:"flags"`
	Created      time.Time       `json:"created"`
	Updated      time.Time       `json:"updated"`
}

// Page is one page of a list.
type Page struct {
	Items []Summary `json:"items"`
	Next  string    `json:"next,omitempty"` // pass as Filter.After for the next page; empty on the last
}
