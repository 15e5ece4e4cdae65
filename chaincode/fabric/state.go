// Package fabric runs the wasteledger contract inside a Hyperledger Fabric
// peer: a chaincode.State over the chaincode shim stub, and a
// fabric-contract-api-go contract that exposes every function of
// chaincode.Functions as a transaction. cmd/chaincode serves it as a
// chaincode-as-a-service process.
package fabric

import (
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"wasteledger/chaincode"
	"wasteledger/chaincode/fabric/docref"
	"wasteledger/chaincode/fabric/packed"
)

// state is a chaincode.State over one transaction's shim stub. Fabric gives
// the semantics chaincode.State documents: GetState reads committed state
// (never the transaction's own writes), PutState buffers, and the peer
// re-validates reads and ranges at commit (MVCC, phantom reads).
//
// Values of MinLen bytes or more are stored packed (package packed) and
// read back as written.
//
// It keeps the transaction's writes and its event until finish, which
// sets the event and returns the response with every written document
// they repeat replaced by a reference (package docref): a document
// travels once per transaction, in the write set.
type state struct {
	stub   shim.ChaincodeStubInterface
	caller chaincode.Caller
	txTime time.Time
	values *packed.Cache

	writes []docref.Write
	event  *event
	// rec records the run for replays (replay.go) while it can be
	// replayed: nil for a run that read a range or a history.
	rec *recording
}

type event struct {
	name    string
	payload []byte
}

// newState returns the State of the transaction the stub belongs to, run by
// caller, packing and unpacking values through values. It fails when the
// proposal carries no usable timestamp.
func newState(stub shim.ChaincodeStubInterface, caller chaincode.Caller, values *packed.Cache) (*state, error) {
	ts, err := stub.GetTxTimestamp()
	if err != nil {
		return nil, fmt.Errorf("transaction timestamp: %w", err)
	}
	if ts == nil {
		return nil, fmt.Errorf("transaction timestamp: the proposal has none")
	}
	if err := ts.CheckValid(); err != nil {
		return nil, fmt.Errorf("transaction timestamp: %w", err)
	}
	return &state{stub: stub, caller: caller, txTime: ts.AsTime().UTC(), values: values}, nil
}

// read records a value the peer answered.
func (s *state) read(key string, b []byte) {
	if s.rec == nil || slices.Contains(s.rec.reads, key) {
		return
	}
	s.rec.reads = append(s.rec.reads, key)
	s.rec.values = append(s.rec.values, b)
}

// unpack returns the value stored as b.
func (s *state) unpack(key string, b []byte) ([]byte, error) {
	v, err := s.values.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return v, nil
}

func (s *state) Get(key string) ([]byte, error) {
	b, err := s.stub.GetState(key)
	if err != nil {
		return nil, err
	}
	s.read(key, b)
	return s.unpack(key, b)
}

// GetMany reads the keys in one request to the peer; a peer that does not
// offer it is asked key by key by the shim itself.
func (s *state) GetMany(keys []string) ([][]byte, error) {
	vs, err := s.stub.GetMultipleStates(keys...)
	if err != nil {
		return nil, err
	}
	if len(vs) != len(keys) {
		return nil, fmt.Errorf("asked for %d keys, the peer answered %d values", len(keys), len(vs))
	}
	for i := range vs {
		s.read(keys[i], vs[i])
		if vs[i], err = s.unpack(keys[i], vs[i]); err != nil {
			return nil, err
		}
	}
	return vs, nil
}

func (s *state) Put(key string, value []byte) error {
	stored := s.values.Encode(value)
	if err := s.stub.PutState(key, stored); err != nil {
		return err
	}
	if s.rec != nil {
		s.rec.writes = append(s.rec.writes, docref.Write{Key: key, Value: stored})
	}
	for i := range s.writes {
		if s.writes[i].Key == key { // the write set keeps a key's last value
			s.writes[i].Value = value
			return nil
		}
	}
	s.writes = append(s.writes, docref.Write{Key: key, Value: value})
	return nil
}

// rangeEnd is the exclusive end of a prefix range: no valid UTF-8 key that
// starts with the prefix sorts at or after prefix+U+10FFFF (Fabric keys are
// UTF-8), the bound the shim itself uses for partial composite keys.
const rangeEnd = string(utf8.MaxRune)

func (s *state) Range(prefix string, fn func(key string, value []byte) error) error {
	s.rec = nil // phantom reads are checked by range: not replayed
	start, end := prefix, prefix+rangeEnd
	if prefix == "" {
		start, end = "", "" // the whole (simple-key) namespace
	}
	it, err := s.stub.GetStateByRange(start, end)
	if err != nil {
		return err
	}
	defer it.Close()
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			return err
		}
		v, err := s.unpack(kv.GetKey(), kv.GetValue())
		if err != nil {
			return err
		}
		if err := fn(kv.GetKey(), v); err != nil {
			return err
		}
	}
	return nil
}

// History lists the key's committed versions oldest first; Fabric's history
// iterator returns them newest first.
func (s *state) History(key string) ([]chaincode.Version, error) {
	s.rec = nil
	it, err := s.stub.GetHistoryForKey(key)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var vs []chaincode.Version
	for it.HasNext() {
		km, err := it.Next()
		if err != nil {
			return nil, err
		}
		value, err := s.unpack(key, km.GetValue())
		if err != nil {
			return nil, err
		}
		v := chaincode.Version{TxID: km.GetTxId(), Value: value, Deleted: km.GetIsDelete()}
		if ts := km.GetTimestamp(); ts != nil {
			v.Time = ts.AsTime().UTC()
		}
		vs = append(vs, v)
	}
	for i, j := 0, len(vs)-1; i < j; i, j = i+1, j-1 {
		vs[i], vs[j] = vs[j], vs[i]
	}
	return vs, nil
}

func (s *state) TxID() string { return s.stub.GetTxID() }

func (s *state) TxTime() time.Time { return s.txTime }

func (s *state) Caller() chaincode.Caller { return s.caller }

func (s *state) Emit(name string, payload []byte) error {
	if name == "" {
		return fmt.Errorf("event name can not be empty string") // as the shim says it
	}
	s.event = &event{name: name, payload: payload}
	return nil
}

// finish ends a successful transaction: it sets the event and returns the
// response, each with the written documents and the transaction's facts
// (id, time, submitter) it repeats referenced.
func (s *state) finish(response []byte) ([]byte, error) {
	known := slices.Concat(s.writes, docref.Facts(s.stub.GetTxID(), s.txTime, s.caller.ID))
	if s.event != nil {
		payload := docref.Encode(s.event.payload, known)
		if err := s.stub.SetEvent(s.event.name, payload); err != nil {
			return nil, err
		}
		if s.rec != nil {
			s.rec.event = &event{name: s.event.name, payload: payload}
		}
	}
	return docref.Encode(response, known), nil
}
