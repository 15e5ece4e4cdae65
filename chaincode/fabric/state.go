// Package fabric runs the wasteledger contract inside a Hyperledger Fabric
// peer: a chaincode.State over the chaincode shim stub, and a
// fabric-contract-api-go contract that exposes every function of
// chaincode.Functions as a transaction. cmd/chaincode serves it as a
// chaincode-as-a-service process.
package fabric

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"wasteledger/chaincode"
	"wasteledger/chaincode/fabric/docref"
)

// state is a chaincode.State over one transaction's shim stub. Fabric gives
// the semantics chaincode.State documents: GetState reads committed state
// (never the transaction's own writes), PutState buffers, and the peer
// re-validates reads and ranges at commit (MVCC, phantom reads).
//
// It keeps the transaction's writes and its event until finish, which
// sets the event and returns the response with every written document
// they repeat replaced by a reference (package docref): a document
// travels once per transaction, in the write set.
type state struct {
	stub   shim.ChaincodeStubInterface
	caller chaincode.Caller
	txTime time.Time

	writes []docref.Write
	event  *event
}

type event struct {
	name    string
	payload []byte
}

// newState returns the State of the transaction the stub belongs to, run by
// caller. It fails when the proposal carries no usable timestamp.
func newState(stub shim.ChaincodeStubInterface, caller chaincode.Caller) (*state, error) {
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
	return &state{stub: stub, caller: caller, txTime: ts.AsTime().UTC()}, nil
}

func (s *state) Get(key string) ([]byte, error) { return s.stub.GetState(key) }

// GetMany reads the keys in one request to the peer; a peer that does not
// offer it is asked key by key by the shim itself.
func (s *state) GetMany(keys []string) ([][]byte, error) { return s.stub.GetMultipleStates(keys...) }

func (s *state) Put(key string, value []byte) error {
	if err := s.stub.PutState(key, value); err != nil {
		return err
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
		if err := fn(kv.GetKey(), kv.GetValue()); err != nil {
			return err
		}
	}
	return nil
}

// History lists the key's committed versions oldest first; Fabric's history
// iterator returns them newest first.
func (s *state) History(key string) ([]chaincode.Version, error) {
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
		v := chaincode.Version{TxID: km.GetTxId(), Value: km.GetValue(), Deleted: km.GetIsDelete()}
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
// response, each with the written documents it repeats referenced.
func (s *state) finish(response []byte) ([]byte, error) {
	if s.event != nil {
		if err := s.stub.SetEvent(s.event.name, docref.Encode(s.event.payload, s.writes)); err != nil {
			return nil, err
		}
	}
	return docref.Encode(response, s.writes), nil
}
