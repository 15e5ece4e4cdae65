package fabric

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"wasteledger/chaincode/fabric/docref"
	"wasteledger/internal/recent"
	"wasteledger/manifest"
)

// Endorsing peers that share a chaincode server each send it every
// proposal: with three endorsements per transaction the contract ran
// three times on the same input. The server now records what a proposal's
// first run read and did, and answers the same proposal from another peer
// by replaying it: it asks that peer for the same keys, in one request,
// and only when every value is the one the first run read does it send
// the same writes, event and response. The contract is a function of the
// proposal (function, arguments, submitter, transaction id and time) and
// of the values it reads, so a replay answers exactly what a run would:
// the peer records the same read set (the same keys, at its own
// versions), the same write set, event and response. At the first
// difference it runs the contract. Runs that failed or read ranges or
// history are not recorded.

// recording is what one run of a proposal read and did, as the peer saw
// it: values as stored, the event and response as sent.
type recording struct {
	reads    []string
	values   [][]byte
	writes   []docref.Write // PutState calls in order, values as stored
	event    *event
	response []byte
}

// replays holds the recordings of recent proposals by digest. Endorsements
// of one transaction arrive within milliseconds: a few hundred suffice.
type replays struct {
	recent.Map[[sha256.Size]byte, *recording]
}

func newReplays() *replays {
	return &replays{recent.Map[[sha256.Size]byte, *recording]{Limit: 256}}
}

// proposalDigest names everything a run depends on besides the state: the
// channel, the transaction's id and time, the creator, the function and
// its arguments as received.
func proposalDigest(stub shim.ChaincodeStubInterface, creator []byte, fn string, args [][]byte) ([sha256.Size]byte, bool) {
	ts, err := stub.GetTxTimestamp()
	if err != nil || ts == nil {
		return [sha256.Size]byte{}, false
	}
	h := sha256.New()
	field := func(b []byte) {
		var n [8]byte
		h.Write(binary.BigEndian.AppendUint64(n[:0], uint64(len(b))))
		h.Write(b)
	}
	field([]byte(stub.GetChannelID()))
	field([]byte(stub.GetTxID()))
	field(binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32(nil, uint32(ts.GetNanos())), uint64(ts.GetSeconds())))
	field(creator)
	field([]byte(fn))
	for _, a := range args {
		field(a)
	}
	var d [sha256.Size]byte
	h.Sum(d[:0])
	return d, true
}

// Chaincode is contractapi's chaincode for the contract, with a proposal
// this server already ran for another endorser replayed before contractapi
// is entered: parsing the client identity's certificate and dispatching by
// reflection, which contractapi does for every proposal, cost a replayed
// endorsement more than the replay itself.
type Chaincode struct {
	*contractapi.ContractChaincode
	contract *Contract
}

// Invoke replays a recorded proposal and hands any other to contractapi.
func (ch *Chaincode) Invoke(stub shim.ChaincodeStubInterface) *peer.Response {
	nsFn, params := stub.GetFunctionAndParameters()
	fn := nsFn // contractapi's reading of "[contract:]function"
	if i := strings.LastIndex(nsFn, ":"); i >= 0 {
		if nsFn[:i] != ch.DefaultContract {
			return ch.ContractChaincode.Invoke(stub)
		}
		fn = nsFn[i+1:]
	}
	if r, n := utf8.DecodeRuneInString(fn); r != utf8.RuneError {
		fn = string(unicode.ToUpper(r)) + fn[n:]
	}
	raw, err := arguments(stub, fn, params)
	if err != nil {
		return ch.ContractChaincode.Invoke(stub) // which says what is wrong
	}
	creator, _ := stub.GetCreator()
	if digest, ok := proposalDigest(stub, creator, fn, raw); ok {
		if r, ok := ch.contract.replays.Get(digest); ok {
			stub.StartWriteBatch() // as the contract's invoke does
			if res, done, err := r.replay(stub); err != nil {
				return shim.Error(manifest.Errorf(manifest.Unavailable, "%s: %w", fn, err).Error())
			} else if done {
				return shim.Success(res)
			}
		}
	}
	return ch.ContractChaincode.Invoke(stub)
}

// replay answers the proposal as r did when the peer holds the values r
// read; done is false when it does not (or cannot tell), and the contract
// must run.
func (r *recording) replay(stub shim.ChaincodeStubInterface) (response []byte, done bool, err error) {
	if len(r.reads) > 0 {
		vs, err := stub.GetMultipleStates(r.reads...)
		if err != nil || len(vs) != len(r.values) {
			return nil, false, nil
		}
		for i := range vs {
			if !bytes.Equal(vs[i], r.values[i]) {
				return nil, false, nil
			}
		}
	}
	for _, w := range r.writes {
		if err := stub.PutState(w.Key, w.Value); err != nil {
			return nil, true, err
		}
	}
	if r.event != nil {
		if err := stub.SetEvent(r.event.name, r.event.payload); err != nil {
			return nil, true, err
		}
	}
	return r.response, true, nil
}
