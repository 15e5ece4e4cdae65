// Package docref lets a Fabric transaction carry each document it writes
// once. A handover writes the manifest's next version (about 5 KB); the
// contract also returns it and puts it in its event, and every copy is
// signed by each endorser, ordered, replicated, validated and stored by
// every peer. On Fabric the response and the event payload therefore name
// a written value by its key instead of repeating it, and a reader that
// holds the transaction restores them from its write set: the chaincode
// adapter encodes (chaincode/fabric), the gateway's Fabric backend decodes
// (gateway/ledger/fabricgw), so the contract and everything above the
// ledger see the same bytes as on the embedded ledger.
//
// Format: a payload that does not start with byte 0 is literal. Otherwise
// it is 0, a uvarint count, count × (uvarint offset, uvarint key length,
// key), then the rest: the payload with each referenced value cut out.
// Offsets are where each value starts in the restored payload, ascending.
// Contract responses and event payloads are JSON or plain identifiers, so
// they never start with 0; one that did would be encoded with no
// reference, keeping the format unambiguous.
//
// A payload may also name facts of its transaction that the transaction's
// header holds anyway: its id, its time and the submitter's identity
// (Facts). Every event of the contract repeats all three, about 300 bytes.
// Their keys are not valid UTF-8, so no written key is ever one of them.
package docref

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"

	"wasteledger/internal/recent"
)

// MinLen is the size from which a written value is referenced rather than
// repeated: below it the reference costs about as much as the value.
const MinLen = 256

const marker = 0

// maxInt bounds every number read, far above any Fabric payload (100 MB).
const maxInt = 1 << 40

// Write is one key the transaction writes and its final value.
type Write struct {
	Key   string
	Value []byte
}

// The keys of a transaction's facts.
const (
	FactTxID   = "\xfftx_id"  // the transaction id
	FactTime   = "\xfftime"   // its time (the channel header's timestamp), as JSON writes it, unquoted
	FactCaller = "\xffcaller" // the submitter's id, as the chaincode library's cid.ClientID.GetID gives it
)

// minFact is the size from which a fact is referenced: a reference costs
// about ten bytes.
const minFact = 16

// Facts lists a transaction's facts, for Encode, and for a reader to
// resolve: both sides compute each from the same header field with the
// same function. callerID may be empty (not referenced).
func Facts(txID string, t time.Time, callerID string) []Write {
	return []Write{
		{FactTxID, []byte(txID)},
		{FactTime, []byte(t.UTC().Format(time.RFC3339Nano))},
		{FactCaller, []byte(callerID)},
	}
}

func isFact(key string) bool { return len(key) > 0 && key[0] == 0xff }

// Header is what a reader of a transaction resolves its facts from: the
// channel header's id and timestamp, the signature header's creator.
type Header struct {
	TxID    string
	Time    time.Time
	Creator []byte // a serialized identity
}

// Fact returns the fact named key, as Facts gives it to the chaincode
// (the submitter's id is computed only when asked for); false when key is
// not a fact or the creator is not an X.509 identity.
func (h Header) Fact(key string) ([]byte, bool) {
	var id string
	if key == FactCaller {
		var ok bool
		if id, ok = submitterID(h.Creator); !ok {
			return nil, false
		}
	}
	for _, f := range Facts(h.TxID, h.Time, id) {
		if f.Key == key {
			return f.Value, true
		}
	}
	return nil, false
}

// submitterIDs remembers the submitter id of each creator (serialized
// identity) seen lately: it is a function of the creator's bytes alone,
// parsing the certificate was most of the cost of restoring an event, and
// the few client identities of a network submit every transaction.
var submitterIDs recent.Map[string, string]

// submitterID is the id cid gives the chaincode for creator; false when
// creator is not an X.509 identity.
func submitterID(c []byte) (string, bool) {
	if id, ok := recent.GetBytes(&submitterIDs, c); ok {
		return id, true
	}
	ci, err := cid.New(creator(c))
	if err != nil {
		return "", false
	}
	id, err := ci.GetID()
	if err != nil {
		return "", false
	}
	submitterIDs.Put(string(c), id)
	return id, true
}

// creator is the one stub method cid.New asks for.
type creator []byte

func (c creator) GetCreator() ([]byte, error) { return c, nil }

// Encoded reports whether payload is in the reference form.
func Encoded(payload []byte) bool { return len(payload) > 0 && payload[0] == marker }

type ref struct {
	at, n int
	key   string
}

// Encode returns payload with the first occurrence of each value of
// writes (MinLen bytes or more, or a fact of 16 bytes or more) replaced by
// a reference to its key; a payload with nothing to reference is returned
// as it is.
func Encode(payload []byte, writes []Write) []byte {
	var refs []ref
	for _, w := range writes {
		least := MinLen
		if isFact(w.Key) {
			least = minFact
		}
		if len(w.Value) < least || len(w.Value) > len(payload) {
			continue
		}
		if i := bytes.Index(payload, w.Value); i >= 0 {
			refs = append(refs, ref{i, len(w.Value), w.Key})
		}
	}
	if len(refs) == 0 && !Encoded(payload) {
		return payload
	}
	// By position, then in the order of writes: the same on every endorser.
	slices.SortStableFunc(refs, func(a, b ref) int { return a.at - b.at })
	kept := refs[:0]
	end := 0
	for _, r := range refs {
		if r.at >= end { // overlapping values: the earlier one wins
			kept = append(kept, r)
			end = r.at + r.n
		}
	}
	size := 1 + binary.MaxVarintLen64 + len(payload)
	for _, r := range kept {
		size += 2*binary.MaxVarintLen64 + len(r.key) - r.n
	}
	out := make([]byte, 0, size)
	out = append(out, marker)
	out = binary.AppendUvarint(out, uint64(len(kept)))
	for _, r := range kept {
		out = binary.AppendUvarint(out, uint64(r.at))
		out = binary.AppendUvarint(out, uint64(len(r.key)))
		out = append(out, r.key...)
	}
	prev := 0
	for _, r := range kept {
		out = append(out, payload[prev:r.at]...)
		prev = r.at + r.n
	}
	return append(out, payload[prev:]...)
}

// Decode restores an encoded payload, taking each referenced value from
// value (the transaction's write set); a literal payload is returned as it
// is. It fails when the payload is malformed or names a key that value
// does not know.
func Decode(payload []byte, value func(key string) ([]byte, bool)) ([]byte, error) {
	if !Encoded(payload) {
		return payload, nil
	}
	p := payload[1:]
	uvarint := func(what string) (int, error) {
		v, n := binary.Uvarint(p)
		if n <= 0 || v > maxInt {
			return 0, fmt.Errorf("document references: bad %s", what)
		}
		p = p[n:]
		return int(v), nil
	}
	count, err := uvarint("count")
	if err != nil {
		return nil, err
	}
	if count > len(p) {
		return nil, errors.New("document references: count exceeds the payload")
	}
	refs := make([]ref, count)
	for i := range refs {
		if refs[i].at, err = uvarint("offset"); err != nil {
			return nil, err
		}
		n, err := uvarint("key length")
		if err != nil {
			return nil, err
		}
		if n > len(p) {
			return nil, errors.New("document references: key beyond the payload")
		}
		refs[i].key, p = string(p[:n]), p[n:]
	}
	// Each written value is referenced at most once (as Encode does), so
	// the restored payload is never larger than the transaction: a
	// payload from anyone cannot make the reader allocate more.
	vals := make([][]byte, len(refs))
	size := len(p)
	for i, r := range refs {
		for _, o := range refs[:i] {
			if o.key == r.key {
				return nil, fmt.Errorf("document references: %q referenced twice", r.key)
			}
		}
		v, ok := value(r.key)
		if !ok {
			return nil, fmt.Errorf("document references: the transaction writes no %q", r.key)
		}
		vals[i] = v
		size += len(v)
	}
	out := make([]byte, 0, size)
	for i, r := range refs {
		lit := r.at - len(out)
		if lit < 0 || lit > len(p) {
			return nil, fmt.Errorf("document references: offset %d out of order or beyond the payload", r.at)
		}
		out = append(out, p[:lit]...)
		out = append(out, vals[i]...)
		p = p[lit:]
	}
	return append(out, p...), nil
}

// Arguments, too, need not travel in the transaction. A submitted
// transaction keeps the arguments of its proposal for ever, in every
// block, on every orderer and peer; but what the contract writes already
// holds what it needs of them (a handover's new manifest version holds
// the signed statement and its signatures, verbatim). The gateway's Fabric
// backend therefore sends an argument in the proposal's transient data
// under TransientKey(i), which endorsers read and the transaction leaves
// out, and puts TransientArg in its place; the chaincode adapter takes it
// from there.
const TransientArg = "\x01"

// TransientKey names the i-th argument (1 for the first after the
// function name) in a proposal's transient data.
func TransientKey(i int) string { return "arg" + strconv.Itoa(i) }
