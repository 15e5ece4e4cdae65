package fabric

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/queryresult"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"wasteledger/chaincode/fabric/docref"
	"wasteledger/chaincode/fabric/packed"
)

// fakeLedger is a hand-written stand-in for a peer's world state: committed
// values with versions, history newest first (as Fabric's history database
// returns it), and commit-time validation of every read and range (MVCC and
// phantom reads). Only what the adapter and contractapi call is there.
type fakeLedger struct {
	mu      sync.Mutex
	state   map[string]fakeValue
	history map[string][]*queryresult.KeyModification // oldest first; the iterator reverses
	seq     uint64
}

type fakeValue struct {
	v   []byte
	ver uint64
}

func newFakeLedger() *fakeLedger {
	return &fakeLedger{state: map[string]fakeValue{}, history: map[string][]*queryresult.KeyModification{}}
}

// fakeStub is one transaction's stub. The embedded interface is nil: a call
// the adapter is not expected to make panics, which the test then shows.
type fakeStub struct {
	shim.ChaincodeStubInterface
	l         *fakeLedger
	txID      string
	ts        *timestamppb.Timestamp
	creator   []byte
	args      [][]byte
	transient map[string][]byte

	trips    int // read requests to the peer: one per GetState, one per GetMultipleStates
	creators int // GetCreator calls (contractapi makes one for every proposal it dispatches)
	reads    map[string]uint64
	ranges   []fakeRange
	writes   map[string][]byte
	order    []string // write order, for a deterministic commit
	batching bool
	event    struct {
		name    string
		payload []byte
		set     bool
	}
}

type fakeRange struct {
	start, end string
	seen       map[string]uint64
}

func (l *fakeLedger) newStub(creator []byte, at time.Time, args ...[]byte) *fakeStub {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		panic(err)
	}
	return &fakeStub{l: l, txID: hex.EncodeToString(id[:]), ts: timestamppb.New(at), creator: creator, args: args,
		reads: map[string]uint64{}, writes: map[string][]byte{}}
}

func (s *fakeStub) GetArgs() [][]byte { return s.args }

func (s *fakeStub) GetTransient() (map[string][]byte, error) { return s.transient, nil }

func (s *fakeStub) GetStringArgs() []string {
	out := make([]string, len(s.args))
	for i, a := range s.args {
		out[i] = string(a)
	}
	return out
}

func (s *fakeStub) GetFunctionAndParameters() (string, []string) {
	a := s.GetStringArgs()
	if len(a) == 0 {
		return "", nil
	}
	return a[0], a[1:]
}

// StartWriteBatch and FinishWriteBatch: writes are buffered until commit
// here anyway.
func (s *fakeStub) StartWriteBatch()        { s.batching = true }
func (s *fakeStub) FinishWriteBatch() error { return nil }

func (s *fakeStub) GetTxID() string                                 { return s.txID }
func (s *fakeStub) GetChannelID() string                            { return "wasteledger" }
func (s *fakeStub) GetTxTimestamp() (*timestamppb.Timestamp, error) { return s.ts, nil }
func (s *fakeStub) GetCreator() ([]byte, error)                     { s.creators++; return s.creator, nil }

func (s *fakeStub) GetState(key string) ([]byte, error) {
	s.trips++
	return s.get(key)
}

func (s *fakeStub) GetMultipleStates(keys ...string) ([][]byte, error) {
	s.trips++
	out := make([][]byte, len(keys))
	for i, k := range keys {
		v, err := s.get(k)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (s *fakeStub) get(key string) ([]byte, error) {
	if key == "" {
		return nil, fmt.Errorf("key must not be empty")
	}
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	v := s.l.state[key]
	s.reads[key] = v.ver
	return v.v, nil
}

func (s *fakeStub) PutState(key string, value []byte) error {
	if key == "" {
		return fmt.Errorf("key must not be empty")
	}
	if _, ok := s.writes[key]; !ok {
		s.order = append(s.order, key)
	}
	s.writes[key] = append([]byte(nil), value...)
	return nil
}

// written is the transaction's write set as docref.Decode asks it: the
// values as the contract wrote them, unpacked.
// written resolves a reference in the transaction's response or event as
// the gateway's Fabric backend does: a written value, unpacked, or a fact
// of the transaction's header.
func (s *fakeStub) written(key string) ([]byte, bool) {
	v, ok := s.writes[key]
	if !ok {
		return docref.Header{TxID: s.txID, Time: s.ts.AsTime(), Creator: s.creator}.Fact(key)
	}
	v, err := packed.Decode(v)
	return v, err == nil
}

func (s *fakeStub) SetEvent(name string, payload []byte) error {
	if name == "" {
		return fmt.Errorf("event name can not be empty string")
	}
	s.event.name, s.event.payload, s.event.set = name, payload, true
	return nil
}

// keysIn lists committed keys in [start, end) ascending; "" as end means
// no bound. The caller holds the lock.
func (l *fakeLedger) keysIn(start, end string) []string {
	var keys []string
	for k := range l.state {
		if k >= start && (end == "" || k < end) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func (s *fakeStub) GetStateByRange(start, end string) (shim.StateQueryIteratorInterface, error) {
	if start == "" {
		start = "\x01" // as the shim does
	}
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	r := fakeRange{start: start, end: end, seen: map[string]uint64{}}
	it := &fakeKVIter{}
	for _, k := range s.l.keysIn(start, end) {
		v := s.l.state[k]
		r.seen[k] = v.ver
		it.kvs = append(it.kvs, &queryresult.KV{Key: k, Value: v.v})
	}
	s.ranges = append(s.ranges, r)
	return it, nil
}

func (s *fakeStub) GetHistoryForKey(key string) (shim.HistoryQueryIteratorInterface, error) {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	h := s.l.history[key]
	it := &fakeHistIter{}
	for i := len(h) - 1; i >= 0; i-- { // newest first, like Fabric
		it.kms = append(it.kms, proto.Clone(h[i]).(*queryresult.KeyModification))
	}
	return it, nil
}

// commit validates the transaction's reads and ranges against the ledger
// and applies its writes, as a peer's validator and committer do.
func (s *fakeStub) commit() error {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	for k, ver := range s.reads {
		if s.l.state[k].ver != ver {
			return fmt.Errorf("MVCC_READ_CONFLICT on %q", k)
		}
	}
	for _, r := range s.ranges {
		now := s.l.keysIn(r.start, r.end)
		if len(now) != len(r.seen) {
			return fmt.Errorf("PHANTOM_READ_CONFLICT in [%q, %q)", r.start, r.end)
		}
		for _, k := range now {
			if ver, ok := r.seen[k]; !ok || ver != s.l.state[k].ver {
				return fmt.Errorf("PHANTOM_READ_CONFLICT in [%q, %q)", r.start, r.end)
			}
		}
	}
	for _, k := range s.order {
		s.l.seq++
		s.l.state[k] = fakeValue{v: s.writes[k], ver: s.l.seq}
		s.l.history[k] = append(s.l.history[k], &queryresult.KeyModification{TxId: s.txID, Value: s.writes[k], Timestamp: s.ts})
	}
	return nil
}

type fakeKVIter struct {
	kvs    []*queryresult.KV
	closed bool
}

func (it *fakeKVIter) HasNext() bool { return !it.closed && len(it.kvs) > 0 }
func (it *fakeKVIter) Close() error  { it.closed = true; return nil }
func (it *fakeKVIter) Next() (*queryresult.KV, error) {
	if !it.HasNext() {
		return nil, fmt.Errorf("no more results")
	}
	kv := it.kvs[0]
	it.kvs = it.kvs[1:]
	return kv, nil
}

type fakeHistIter struct {
	kms    []*queryresult.KeyModification
	closed bool
}

func (it *fakeHistIter) HasNext() bool { return !it.closed && len(it.kms) > 0 }
func (it *fakeHistIter) Close() error  { it.closed = true; return nil }
func (it *fakeHistIter) Next() (*queryresult.KeyModification, error) {
	if !it.HasNext() {
		return nil, fmt.Errorf("no more results")
	}
	km := it.kms[0]
	it.kms = it.kms[1:]
	return km, nil
}

// identities makes X.509 client identities as an MSP would issue them,
// serialised as the proposal's creator.
type identities struct {
	mu      sync.Mutex
	caKey   *ecdsa.PrivateKey
	ca      *x509.Certificate
	byMSPID map[string][]byte
}

func newIdentities(t testing.TB) *identities {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca.test", Organization: []string{"test"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &identities{caKey: key, ca: ca, byMSPID: map[string][]byte{}}
}

// creator returns the serialised identity "User1@<msp>" of the MSP; the
// empty MSP id has none (nil creator).
func (ids *identities) creator(t testing.TB, mspID string) []byte {
	t.Helper()
	if mspID == "" {
		return nil
	}
	ids.mu.Lock()
	defer ids.mu.Unlock()
	if b, ok := ids.byMSPID[mspID]; ok {
		return b
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(len(ids.byMSPID) + 2)),
		Subject:   pkix.Name{CommonName: "User1@" + strings.ToLower(mspID), OrganizationalUnit: []string{"client"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ids.ca, &key.PublicKey, ids.caKey)
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(&msp.SerializedIdentity{Mspid: mspID, IdBytes: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})})
	if err != nil {
		t.Fatal(err)
	}
	ids.byMSPID[mspID] = b
	return b
}
