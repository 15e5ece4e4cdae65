package fabric

import (
	"reflect"
	"sort"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/hyperledger/fabric-contract-api-go/v2/metadata"
	"github.com/hyperledger/fabric-contract-api-go/v2/serializer"

	"wasteledger/chaincode"
	"wasteledger/chaincode/fabric/docref"
	"wasteledger/chaincode/fabric/packed"
	"wasteledger/internal/recent"
	"wasteledger/manifest"
)

// MaxArgBytes bounds an argument sent packed (package packed): the
// gateway's Fabric backend packs an evaluation's arguments of
// packed.MinLen bytes or more (a submitted transaction's go literal as
// transient data, docref.TransientArg). A literal argument is taken as it is; no argument of the contract starts with byte
// 0 or is docref.TransientArg. The bound is eight times the gateway's
// largest request body.
const MaxArgBytes = 8 << 20

// Name is the contract's name in the chaincode metadata. It is also the
// default contract, so clients call "Handover", not "wasteledger:Handover".
const Name = "wasteledger"

// Contract is the wasteledger contract as fabric-contract-api-go sees it:
// one exported method per entry of chaincode.Functions, each taking the
// function's JSON argument as a string and returning the contract's
// response as a string. Every method hands over to chaincode.Contract.Invoke
// with a State over the stub; the caller is the transaction's client
// identity (MSP id and X.509 subject), never an argument.
//
// Errors keep the contract's "[code] …" message; the peer returns them as
// the chaincode response's message and the client parses the code back.
type Contract struct {
	contractapi.Contract
	cc     chaincode.Invoker
	values packed.Cache // the stored form of large values, shared by all transactions
	// callers remembers the caller of each creator (serialized identity):
	// a function of its bytes alone, and the few client identities of a
	// network submit every transaction.
	callers recent.Map[string, chaincode.Caller]
	replays *replays
}

// NewContract returns the Fabric contract over cc (usually chaincode.New()).
func NewContract(cc chaincode.Invoker) *Contract {
	c := &Contract{cc: cc, replays: newReplays()}
	c.Name = Name
	c.Info = metadata.InfoMetadata{
		Title:       "wasteledger",
		Description: "Hazardous-waste transfer manifests: signed handovers, receipts, processing and closure",
		Version:     "1",
	}
	c.UnknownTransaction = unknownTransaction
	return c
}

// NewChaincode returns the chaincode (a shim.Chaincode) serving the contract.
func NewChaincode(cc chaincode.Invoker) (*Chaincode, error) {
	c := NewContract(cc)
	ch, err := contractapi.NewChaincode(c)
	if err != nil {
		return nil, err
	}
	ch.DefaultContract = Name
	ch.TransactionSerializer = passThrough{}
	return &Chaincode{ContractChaincode: ch, contract: c}, nil
}

// passThrough is contractapi's JSON serializer without its JSON-schema
// checks, for a contract whose every parameter and result is a string: the
// argument reaches the adapter (invoke) as sent and the response leaves as
// the contract wrote it. The contract validates its arguments itself (strict
// JSON decoding, typed errors); checking "is a string" against a schema
// cost about a seventh of a handover's endorsement.
type passThrough struct{ serializer.JSONSerializer }

func (p passThrough) FromString(param string, t reflect.Type, _ *metadata.ParameterMetadata, _ *metadata.ComponentMetadata) (reflect.Value, error) {
	if t.Kind() == reflect.String {
		return reflect.ValueOf(param).Convert(t), nil
	}
	return p.JSONSerializer.FromString(param, t, nil, nil)
}

func (p passThrough) ToString(v reflect.Value, t reflect.Type, _ *metadata.ReturnMetadata, _ *metadata.ComponentMetadata) (string, error) {
	if t.Kind() == reflect.String {
		return v.String(), nil
	}
	return p.JSONSerializer.ToString(v, t, nil, nil)
}

// GetEvaluateTransactions tags the query functions "evaluate" in the
// metadata: clients evaluate them instead of ordering them.
func (c *Contract) GetEvaluateTransactions() []string {
	var q []string
	for name, f := range chaincode.Functions {
		if f.Query {
			q = append(q, name)
		}
	}
	sort.Strings(q)
	return q
}

func unknownTransaction(ctx contractapi.TransactionContextInterface) error {
	fn, _ := ctx.GetStub().GetFunctionAndParameters()
	return manifest.Errorf(manifest.Invalid, "unknown function %q", fn)
}

// callerOf is the authenticated submitter: MSP id and identity id from the
// client identity contractapi parsed from the signed proposal. An
// unparseable creator gives the zero Caller, which the contract refuses as
// unauthenticated.
func callerOf(ctx contractapi.TransactionContextInterface) chaincode.Caller {
	ci := ctx.GetClientIdentity()
	if ci == nil {
		return chaincode.Caller{}
	}
	if p, ok := ci.(*cid.ClientID); ok && p == nil { // contractapi ignores cid.New's error
		return chaincode.Caller{}
	}
	msp, err := ci.GetMSPID()
	if err != nil {
		return chaincode.Caller{}
	}
	id, err := ci.GetID()
	if err != nil {
		return chaincode.Caller{}
	}
	return chaincode.Caller{MSP: msp, ID: id}
}

// callerOf is callerOf(ctx), remembered by the creator's bytes (nil: the
// stub gave none).
func (c *Contract) callerOf(ctx contractapi.TransactionContextInterface, creator []byte) chaincode.Caller {
	if creator == nil {
		return callerOf(ctx)
	}
	if v, ok := recent.GetBytes(&c.callers, creator); ok {
		return v
	}
	v := callerOf(ctx)
	if v != (chaincode.Caller{}) {
		c.callers.Put(string(creator), v)
	}
	return v
}

func (c *Contract) invoke(ctx contractapi.TransactionContextInterface, fn string, args ...string) (out string, err error) {
	// A panic would take the chaincode server, and with it every peer's
	// endorsements, down; turn it into an error instead. The recovery is
	// deterministic: every endorser fails the same way.
	defer func() {
		if r := recover(); r != nil {
			out, err = "", manifest.Errorf(manifest.Internal, "%s: panic: %v", fn, r)
		}
	}()
	stub := ctx.GetStub()
	// Send the writes to the peer in one message when the transaction ends
	// (the shim flushes the batch after Invoke) instead of one round trip
	// per Put; a no-op on a peer without write batching. Reads are
	// unaffected: Fabric never shows a transaction its own writes.
	stub.StartWriteBatch()
	raw, err := arguments(stub, fn, args)
	if err != nil {
		return "", err
	}
	// A proposal Chaincode.Invoke could not replay runs here; the run is
	// recorded for the other endorsers (replay.go).
	creator, _ := stub.GetCreator()
	digest, replayable := proposalDigest(stub, creator, fn, raw)
	st, err := newState(stub, c.callerOf(ctx, creator), &c.values)
	if err != nil {
		return "", manifest.Errorf(manifest.Internal, "%s: %w", fn, err)
	}
	if replayable {
		st.rec = &recording{}
	}
	bs := make([][]byte, len(raw))
	for i, b := range raw {
		if bs[i], err = packed.DecodeMax(b, MaxArgBytes); err != nil {
			return "", manifest.Errorf(manifest.Invalid, "%s: argument %d: %v", fn, i+1, err)
		}
	}
	res, err := c.cc.Invoke(st, fn, bs)
	if err != nil {
		return "", err
	}
	if res, err = st.finish(res); err != nil {
		return "", manifest.Errorf(manifest.Internal, "%s: %w", fn, err)
	}
	if st.rec != nil {
		st.rec.response = res
		c.replays.Put(digest, st.rec)
	}
	return string(res), nil
}

// arguments are fn's arguments as sent, each taken from the proposal's
// transient data where it was sent there (docref.TransientArg).
func arguments(stub shim.ChaincodeStubInterface, fn string, args []string) ([][]byte, error) {
	raw := make([][]byte, len(args))
	var transient map[string][]byte
	for i, a := range args {
		raw[i] = []byte(a)
		if a != docref.TransientArg {
			continue
		}
		if transient == nil {
			var err error
			if transient, err = stub.GetTransient(); err != nil {
				return nil, manifest.Errorf(manifest.Invalid, "%s: argument %d: transient data: %v", fn, i+1, err)
			}
		}
		var ok bool
		if raw[i], ok = transient[docref.TransientKey(i+1)]; !ok {
			return nil, manifest.Errorf(manifest.Invalid, "%s: argument %d: sent as transient data, which the proposal does not hold", fn, i+1)
		}
	}
	return raw, nil
}

// The transactions, in the order of chaincode.Functions. Each argument is
// the function's JSON document (or an id), passed to the contract as sent,
// taken from the transient data when sent there, unpacked when sent packed
// (MaxArgBytes).

// RegisterOrg registers an organisation (regulator only).
func (c *Contract) RegisterOrg(ctx contractapi.TransactionContextInterface, org string) (string, error) {
	return c.invoke(ctx, "RegisterOrg", org)
}

// RegisterKey registers a party's public signing key.
func (c *Contract) RegisterKey(ctx contractapi.TransactionContextInterface, registration string) (string, error) {
	return c.invoke(ctx, "RegisterKey", registration)
}

// RevokeKey revokes a signing key.
func (c *Contract) RevokeKey(ctx contractapi.TransactionContextInterface, revocation string) (string, error) {
	return c.invoke(ctx, "RevokeKey", revocation)
}

// IssuePermit issues a transport permit or a licence (regulator only).
func (c *Contract) IssuePermit(ctx contractapi.TransactionContextInterface, permit string) (string, error) {
	return c.invoke(ctx, "IssuePermit", permit)
}

// RevokePermit revokes a permit (regulator only).
func (c *Contract) RevokePermit(ctx contractapi.TransactionContextInterface, revocation string) (string, error) {
	return c.invoke(ctx, "RevokePermit", revocation)
}

// SetConfig replaces the ledger configuration (regulator only).
func (c *Contract) SetConfig(ctx contractapi.TransactionContextInterface, config string) (string, error) {
	return c.invoke(ctx, "SetConfig", config)
}

// CreateManifest creates a manifest from a producer's draft.
func (c *Contract) CreateManifest(ctx contractapi.TransactionContextInterface, draft string) (string, error) {
	return c.invoke(ctx, "CreateManifest", draft)
}

// SignManifest records the producer's signature of a draft.
func (c *Contract) SignManifest(ctx contractapi.TransactionContextInterface, signed string) (string, error) {
	return c.invoke(ctx, "SignManifest", signed)
}

// Handover records a pickup, relay or delivery signed by both parties.
func (c *Contract) Handover(ctx contractapi.TransactionContextInterface, signed string) (string, error) {
	return c.invoke(ctx, "Handover", signed)
}

// Receive records the receiver's weighing, acceptance and refusals.
func (c *Contract) Receive(ctx contractapi.TransactionContextInterface, signed string) (string, error) {
	return c.invoke(ctx, "Receive", signed)
}

// Process records what the receiver did with the waste.
func (c *Contract) Process(ctx contractapi.TransactionContextInterface, signed string) (string, error) {
	return c.invoke(ctx, "Process", signed)
}

// CloseManifest closes a processed manifest.
func (c *Contract) CloseManifest(ctx contractapi.TransactionContextInterface, signed string) (string, error) {
	return c.invoke(ctx, "CloseManifest", signed)
}

// CancelManifest cancels a manifest before pickup.
func (c *Contract) CancelManifest(ctx contractapi.TransactionContextInterface, signed string) (string, error) {
	return c.invoke(ctx, "CancelManifest", signed)
}

// Diagnose proves the ledger's isolation (a write is not read back).
func (c *Contract) Diagnose(ctx contractapi.TransactionContextInterface) (string, error) {
	return c.invoke(ctx, "Diagnose")
}

// PublishIndicators publishes a regulator's signed indicator snapshot.
func (c *Contract) PublishIndicators(ctx contractapi.TransactionContextInterface, signed string) (string, error) {
	return c.invoke(ctx, "PublishIndicators", signed)
}

// GetIndicators returns a published indicator snapshot.
func (c *Contract) GetIndicators(ctx contractapi.TransactionContextInterface, id string) (string, error) {
	return c.invoke(ctx, "GetIndicators", id)
}

// GetManifest returns the current version of a manifest.
func (c *Contract) GetManifest(ctx contractapi.TransactionContextInterface, id string) (string, error) {
	return c.invoke(ctx, "GetManifest", id)
}

// ManifestHistory returns every committed version of a manifest.
func (c *Contract) ManifestHistory(ctx contractapi.TransactionContextInterface, id string) (string, error) {
	return c.invoke(ctx, "ManifestHistory", id)
}

// GetOrg returns a registered organisation.
func (c *Contract) GetOrg(ctx contractapi.TransactionContextInterface, id string) (string, error) {
	return c.invoke(ctx, "GetOrg", id)
}

// GetKey returns a registered key.
func (c *Contract) GetKey(ctx contractapi.TransactionContextInterface, id string) (string, error) {
	return c.invoke(ctx, "GetKey", id)
}

// GetPermit returns a permit.
func (c *Contract) GetPermit(ctx contractapi.TransactionContextInterface, id string) (string, error) {
	return c.invoke(ctx, "GetPermit", id)
}

// GetConfig returns the ledger configuration in force.
func (c *Contract) GetConfig(ctx contractapi.TransactionContextInterface) (string, error) {
	return c.invoke(ctx, "GetConfig")
}
