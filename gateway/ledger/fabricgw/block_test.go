package fabricgw

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	gwproto "github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset/kvrwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"wasteledger/chaincode/fabric/docref"
	"wasteledger/chaincode/fabric/packed"
	"wasteledger/gateway/ledger"
)

// testTx describes one transaction of a synthetic block.
type testTx struct {
	id        string
	code      peer.TxValidationCode
	chaincode string // "" = no event
	event     string
	config    bool
	// Optional: the event payload and response as the chaincode set them,
	// and the writes of each namespace.
	payload  []byte
	response []byte
	writes   map[string][]docref.Write
	creator  []byte // the signature header's serialized identity
}

var t0 = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)

func mustMarshal(m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// makeBlock builds a block as a committing peer delivers it: envelopes
// with channel headers and chaincode actions, and the TRANSACTIONS_FILTER
// metadata with each transaction's validation code.
func makeBlock(num uint64, txs ...testTx) *common.Block {
	b := &common.Block{Header: &common.BlockHeader{Number: num}, Data: &common.BlockData{},
		Metadata: &common.BlockMetadata{Metadata: make([][]byte, len(common.BlockMetadataIndex_name))}}
	filter := make([]byte, len(txs))
	for i, tx := range txs {
		filter[i] = byte(tx.code)
		typ := common.HeaderType_ENDORSER_TRANSACTION
		if tx.config {
			typ = common.HeaderType_CONFIG
		}
		ch := &common.ChannelHeader{Type: int32(typ), TxId: tx.id, ChannelId: "wasteledger",
			Timestamp: timestamppb.New(t0.Add(time.Duration(num)*time.Minute + time.Duration(i)*time.Second))}
		var data []byte
		if !tx.config {
			ca := &peer.ChaincodeAction{ChaincodeId: &peer.ChaincodeID{Name: tx.chaincode}, Response: &peer.Response{Status: 200, Payload: tx.response}}
			if tx.chaincode != "" {
				payload := tx.payload
				if payload == nil {
					payload = []byte(`{"tx":"` + tx.id + `"}`)
				}
				ca.Events = mustMarshal(&peer.ChaincodeEvent{ChaincodeId: tx.chaincode, TxId: tx.id, EventName: tx.event, Payload: payload})
			}
			set := &rwset.TxReadWriteSet{DataModel: rwset.TxReadWriteSet_KV}
			for ns, ws := range tx.writes {
				kv := &kvrwset.KVRWSet{}
				for _, w := range ws {
					kv.Writes = append(kv.Writes, &kvrwset.KVWrite{Key: w.Key, Value: w.Value})
				}
				set.NsRwset = append(set.NsRwset, &rwset.NsReadWriteSet{Namespace: ns, Rwset: mustMarshal(kv)})
			}
			ca.Results = mustMarshal(set)
			prp := &peer.ProposalResponsePayload{Extension: mustMarshal(ca)}
			cap := &peer.ChaincodeActionPayload{Action: &peer.ChaincodeEndorsedAction{ProposalResponsePayload: mustMarshal(prp)}}
			data = mustMarshal(&peer.Transaction{Actions: []*peer.TransactionAction{{Payload: mustMarshal(cap)}}})
		}
		payload := &common.Payload{Header: &common.Header{ChannelHeader: mustMarshal(ch),
			SignatureHeader: mustMarshal(&common.SignatureHeader{Creator: tx.creator})}, Data: data}
		b.Data.Data = append(b.Data.Data, mustMarshal(&common.Envelope{Payload: mustMarshal(payload)}))
	}
	b.Metadata.Metadata[common.BlockMetadataIndex_TRANSACTIONS_FILTER] = filter
	return b
}

func TestParseBlock(t *testing.T) {
	b := makeBlock(7,
		testTx{id: "a", code: peer.TxValidationCode_VALID, chaincode: "wasteledger", event: "manifest.pickup"},
		testTx{id: "b", code: peer.TxValidationCode_MVCC_READ_CONFLICT, chaincode: "wasteledger", event: "manifest.pickup"},
		testTx{id: "c", code: peer.TxValidationCode_VALID},
		testTx{id: "d", code: peer.TxValidationCode_VALID, config: true},
	)
	txs, err := parseBlock(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(txs) != 4 {
		t.Fatalf("parseBlock() = %d transactions, want 4", len(txs))
	}
	if tx := txs[0]; tx.TxID != "a" || tx.Index != 0 || tx.EventName != "manifest.pickup" || tx.EventChaincode != "wasteledger" ||
		!tx.Time.Equal(t0.Add(7*time.Minute)) {
		t.Errorf("tx 0 = %+v", tx)
	}
	if tx := txs[1]; tx.Code != peer.TxValidationCode_MVCC_READ_CONFLICT || tx.Index != 1 {
		t.Errorf("tx 1 = %+v, want MVCC_READ_CONFLICT at index 1", tx)
	}
	if txs[2].EventName != "" || txs[3].TxID != "d" {
		t.Errorf("tx 2, 3 = %+v, %+v", txs[2], txs[3])
	}
	got, err := findTx(b, "c")
	if err != nil || got.Index != 2 {
		t.Errorf("findTx(c) = %+v, %v, want index 2", got, err)
	}
	if _, err := findTx(b, "zz"); err == nil {
		t.Error("findTx(zz) found a transaction that is not there")
	}
	b.Metadata.Metadata[common.BlockMetadataIndex_TRANSACTIONS_FILTER] = nil
	if _, err := parseBlock(b); err == nil {
		t.Error("parseBlock accepted a block without validation codes")
	}
}

// The chaincode's response and event name the documents the transaction
// writes (package docref); parsing restores them from the write set of
// the chaincode's own namespace, for blocks and for an endorsed
// transaction alike.
func TestDocumentsRestoredFromTheWriteSet(t *testing.T) {
	doc := []byte(`{"id":"20264401000001","steps":"` + strings.Repeat("s", 2*docref.MinLen) + `"}`)
	event := []byte(`{"type":"manifest.pickup","manifest":` + string(doc) + `}`)
	mine := []docref.Write{{Key: "cap~x", Value: []byte("12")}, {Key: "manifest~20264401000001", Value: doc}}
	other := []docref.Write{{Key: "manifest~20264401000001", Value: bytes.ToUpper(doc)}}
	// The write set holds the values as the chaincode stores them: packed.
	stored := make([]docref.Write, len(mine))
	for i, w := range mine {
		stored[i] = docref.Write{Key: w.Key, Value: packed.Encode(w.Value)}
	}
	if !packed.Packed(stored[1].Value) {
		t.Fatal("the test document is not packed")
	}
	tx := testTx{id: "a", code: peer.TxValidationCode_VALID, chaincode: "wasteledger", event: "manifest.pickup",
		payload: docref.Encode(event, mine), response: docref.Encode(doc, mine),
		writes: map[string][]docref.Write{"other": other, "wasteledger": stored}}
	if len(tx.payload)+len(tx.response) > len(event)-len(doc)+100 {
		t.Fatalf("encoded event and response are %d bytes: the document is repeated", len(tx.payload)+len(tx.response))
	}
	b := makeBlock(3, tx)
	txs, err := parseBlock(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(txs[0].EventPayload, event) || !bytes.Equal(txs[0].Response, doc) {
		t.Errorf("restored event %.60q…, response %.40q…; want the contract's", txs[0].EventPayload, txs[0].Response)
	}
	env := &common.Envelope{}
	if err := proto.Unmarshal(b.Data.Data[0], env); err != nil {
		t.Fatal(err)
	}
	prepared := mustMarshal(&gwproto.PreparedTransaction{TransactionId: "a", Envelope: env})
	if got, err := endorsedResponse(prepared); err != nil || !bytes.Equal(got, doc) {
		t.Errorf("endorsedResponse = %.40q…, %v; want the document", got, err)
	}

	// A packed value that does not unpack is an error, not a wrong document.
	corrupt := slices.Clone(stored)
	corrupt[1].Value = corrupt[1].Value[:len(corrupt[1].Value)/2]
	tx.writes = map[string][]docref.Write{"wasteledger": corrupt}
	if txs, err = parseBlock(makeBlock(3, tx)); err != nil {
		t.Fatal(err)
	}
	if err := txs[0].RestoreErr; err == nil || !strings.Contains(err.Error(), "packed value") {
		t.Errorf("restoring from a truncated packed document: %v, want an error", err)
	}

	// A reference the write set cannot answer is an error for a valid
	// transaction's event, not a silent half event. Anyone can put such a
	// payload in an invalid transaction: the block still parses and its
	// other events are read.
	tx.writes = map[string][]docref.Write{"other": other}
	f := newFollower(nil, "wasteledger", 10, testLog(t))
	if _, err := f.events(makeBlock(3, tx)); err == nil || !strings.Contains(err.Error(), "writes no") {
		t.Errorf("events of a valid transaction whose document is missing from the write set = %v, want an error", err)
	}
	tx.code = peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE
	evs, err := f.events(makeBlock(3, tx, testTx{id: "b", code: peer.TxValidationCode_VALID, chaincode: "wasteledger", event: "manifest.signed"}))
	if err != nil || len(evs) != 1 || evs[0].TxID != "b" {
		t.Errorf("events of a block with a bad reference in an invalid transaction = %v, %v; want b's", evs, err)
	}
}

// An event that names its transaction's id, time and submitter restores
// them from the transaction's header: the submitter's id as the chaincode
// library gives it, "x509::" subject "::" issuer in base64.
func TestFactsRestoredFromTheHeader(t *testing.T) {
	creatorOf := func(cn string) []byte {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
			NotBefore: t0, NotAfter: t0.Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		return mustMarshal(&msp.SerializedIdentity{Mspid: "CarrierMSP", IdBytes: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})})
	}
	idOf := func(cn string) string {
		return base64.StdEncoding.EncodeToString([]byte("x509::CN=" + cn + "::CN=" + cn))
	}
	creator := creatorOf("User1@carrier.example.com")
	callerID := idOf("User1@carrier.example.com")
	id := strings.Repeat("ab", 32)
	at := t0.Add(3 * time.Minute) // makeBlock's time of block 3, transaction 0
	event := []byte(`{"v":1,"type":"org.registered","tx_id":"` + id + `","time":"` + at.Format(time.RFC3339Nano) +
		`","caller":{"msp":"CarrierMSP","id":"` + callerID + `"}}`)
	payload := docref.Encode(event, docref.Facts(id, at, callerID))
	if !docref.Encoded(payload) || bytes.Contains(payload, []byte(callerID)) || bytes.Contains(payload, []byte(id)) {
		t.Fatalf("the event as sent repeats its facts: %q", payload)
	}
	tx := testTx{id: id, code: peer.TxValidationCode_VALID, chaincode: "wasteledger", event: "org.registered", payload: payload, creator: creator}
	txs, err := parseBlock(makeBlock(3, tx))
	if err != nil {
		t.Fatal(err)
	}
	if txs[0].RestoreErr != nil || !bytes.Equal(txs[0].EventPayload, event) {
		t.Errorf("restored event %q (%v), want %q", txs[0].EventPayload, txs[0].RestoreErr, event)
	}
	// The submitter's id is remembered by the creator's bytes: each
	// creator, asked again or after another, gives its own.
	for _, cn := range []string{"User2@carrier.example.com", "User1@carrier.example.com", "User2@carrier.example.com"} {
		tx2 := tx
		if tx2.creator = creator; cn != "User1@carrier.example.com" {
			tx2.creator = creatorOf(cn)
		}
		txs, err := parseBlock(makeBlock(3, tx2))
		if err != nil {
			t.Fatal(err)
		}
		want := bytes.Replace(event, []byte(callerID), []byte(idOf(cn)), 1)
		if txs[0].RestoreErr != nil || !bytes.Equal(txs[0].EventPayload, want) {
			t.Errorf("submitted by %s: restored event %q (%v), want %q", cn, txs[0].EventPayload, txs[0].RestoreErr, want)
		}
	}
	// Another submitter, or none that is X.509: not this event.
	for name, c := range map[string][]byte{
		"another submitter": mustMarshal(&msp.SerializedIdentity{Mspid: "CarrierMSP", IdBytes: []byte("not a certificate")}),
		"no submitter":      nil,
	} {
		tx.creator = c
		txs, err := parseBlock(makeBlock(3, tx))
		if err != nil {
			t.Fatal(err)
		}
		if txs[0].RestoreErr == nil {
			t.Errorf("%s: the event restored as %q", name, txs[0].EventPayload)
		}
	}
}

func TestProposalTime(t *testing.T) {
	ts := time.Date(2026, 5, 6, 7, 8, 9, 10, time.UTC)
	ch := mustMarshal(&common.ChannelHeader{Timestamp: timestamppb.New(ts)})
	p := mustMarshal(&peer.Proposal{Header: mustMarshal(&common.Header{ChannelHeader: ch})})
	pt := mustMarshal(&gwproto.ProposedTransaction{Proposal: &peer.SignedProposal{ProposalBytes: p}})
	got, err := proposalTime(pt)
	if err != nil || !got.Equal(ts) {
		t.Errorf("proposalTime() = %v, %v, want %v", got, err, ts)
	}
}

// chain is a fake channel: blocks appended over time, served to any number
// of streams from any start block; a stream can be cut.
type chain struct {
	mu      sync.Mutex
	blocks  []*common.Block
	grew    chan struct{}
	opens   int
	refuse  bool          // open fails
	cutNext chan struct{} // closing it ends the current streams
}

func newChain() *chain {
	c := &chain{grew: make(chan struct{}), cutNext: make(chan struct{})}
	c.append() // block 0: genesis, a config transaction
	return c
}

// append adds a block of the given transactions (each "id:event" or "id"
// for a transaction without event, "id!" for an invalid one).
func (c *chain) append(txs ...testTx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.blocks) == 0 {
		txs = []testTx{{id: "genesis", config: true}}
	}
	c.blocks = append(c.blocks, makeBlock(uint64(len(c.blocks)), txs...))
	close(c.grew)
	c.grew = make(chan struct{})
}

func (c *chain) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	close(c.cutNext)
	c.cutNext = make(chan struct{})
}

func (c *chain) source(ctx context.Context, start uint64) (<-chan *common.Block, string, error) {
	c.mu.Lock()
	c.opens++
	if c.refuse {
		c.mu.Unlock()
		return nil, "fake", fmt.Errorf("connection refused")
	}
	cut := c.cutNext
	c.mu.Unlock()
	ch := make(chan *common.Block)
	go func() {
		defer close(ch)
		for n := start; ; n++ {
			for {
				c.mu.Lock()
				have, grew := len(c.blocks), c.grew
				c.mu.Unlock()
				if int(n) < have {
					break
				}
				select {
				case <-grew:
				case <-cut:
					return
				case <-ctx.Done():
					return
				}
			}
			c.mu.Lock()
			b := c.blocks[n]
			c.mu.Unlock()
			select {
			case ch <- b:
			case <-cut:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, "fake", nil
}

func ev(id, name string) testTx {
	return testTx{id: id, code: peer.TxValidationCode_VALID, chaincode: "wasteledger", event: name}
}

func ids(evs []ledger.Event) string {
	s := ""
	for _, e := range evs {
		s += fmt.Sprintf("%s@%d.%d ", e.TxID, e.Cursor.Block, e.Cursor.Tx)
	}
	return s
}

func TestFollowerResumesExactlyAfterTheCursor(t *testing.T) {
	c := newChain()
	c.append(ev("a", "x"), testTx{id: "b", code: peer.TxValidationCode_MVCC_READ_CONFLICT, chaincode: "wasteledger", event: "x"}, ev("c", "x"))
	c.append(testTx{id: "d", code: peer.TxValidationCode_VALID, chaincode: "putstate", event: "x"}, ev("e", "x"))
	c.append(ev("f", "x"))

	ctx := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		t.Cleanup(cancel)
		return ctx
	}
	read := func(f *follower, after ledger.Cursor, limit int) []ledger.Event {
		t.Helper()
		evs, err := f.next(ctx(), after, limit)
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	// readN reads until it has n events: next returns what is there as
	// soon as there is something.
	readN := func(f *follower, after ledger.Cursor, n int) []ledger.Event {
		t.Helper()
		var out []ledger.Event
		for len(out) < n {
			evs := read(f, after, 10)
			out = append(out, evs...)
			after = evs[len(evs)-1].Cursor
		}
		return out
	}
	f := newFollower(c.source, "wasteledger", 100, testLog(t))
	defer f.stop()

	// From the start: every valid event of the chaincode, in order, with
	// its position; invalid transactions and other chaincodes skipped.
	var all []ledger.Event
	for cur := (ledger.Cursor{}); len(all) < 4; {
		evs := read(f, cur, 2)
		if len(evs) > 2 {
			t.Fatalf("next(limit 2) returned %d events", len(evs))
		}
		all = append(all, evs...)
		cur = evs[len(evs)-1].Cursor
	}
	if got, want := ids(all), "a@1.0 c@1.2 e@2.1 f@3.0 "; got != want {
		t.Fatalf("events from the start = %s, want %s", got, want)
	}

	// A new follower (a restart) from a stored cursor in the middle of a
	// block continues with the next event: no gap, no duplicate.
	g := newFollower(c.source, "wasteledger", 100, testLog(t))
	defer g.stop()
	if got := ids(readN(g, all[0].Cursor, 3)); got != "c@1.2 e@2.1 f@3.0 " {
		t.Errorf("after a@1.0 = %s, want c e f", got)
	}
	// Going back restarts the stream from there.
	if got := ids(readN(g, ledger.Cursor{Block: 2, Tx: 0}, 2)); got != "e@2.1 f@3.0 " {
		t.Errorf("after 2.0 = %s, want e f", got)
	}

	// Nothing new: an empty slice when the context ends, no error.
	short, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	evs, err := g.next(short, all[3].Cursor, 10)
	if err != nil || len(evs) != 0 || evs == nil {
		t.Errorf("next() with nothing new = %v, %v, want an empty slice", evs, err)
	}

	// A waiting reader gets the next block's events as they commit; a
	// broken stream is reopened where it stopped.
	done := make(chan []ledger.Event)
	go func() {
		var out []ledger.Event
		after := all[3].Cursor
		for len(out) < 2 {
			evs, err := g.next(ctx(), after, 10)
			if err != nil || len(evs) == 0 {
				break
			}
			out = append(out, evs...)
			after = evs[len(evs)-1].Cursor
		}
		done <- out
	}()
	time.Sleep(50 * time.Millisecond)
	c.cut()
	c.append(ev("g", "y"), ev("h", "y"))
	if got := ids(<-done); got != "g@4.0 h@4.1 " {
		t.Errorf("after the cut = %s, want g h", got)
	}
}

func TestFollowerBuffersBoundedAndReportsAnOutage(t *testing.T) {
	c := newChain()
	for i := 0; i < 10; i++ {
		c.append(ev(fmt.Sprintf("t%d", i), "x"))
	}
	f := newFollower(c.source, "wasteledger", 3, testLog(t))
	defer f.stop()
	cur := ledger.Cursor{}
	var got []ledger.Event
	for len(got) < 10 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		evs, err := f.next(ctx, cur, 100)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		f.mu.Lock()
		if n := len(f.buf); n > 3 {
			t.Errorf("buffer holds %d events, limit 3", n)
		}
		f.mu.Unlock()
		got = append(got, evs...)
		cur = evs[len(evs)-1].Cursor
	}
	for i, e := range got {
		if e.TxID != fmt.Sprintf("t%d", i) {
			t.Fatalf("event %d = %s, want t%d (all: %s)", i, e.TxID, i, ids(got))
		}
	}

	// The peer goes away: a reader waiting for news is told the stream is
	// down (Unavailable), not handed an empty page.
	c.mu.Lock()
	c.refuse = true
	c.mu.Unlock()
	c.cut()
	time.Sleep(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := f.next(ctx, cur, 10); err == nil || !isUnavailable(err) {
		t.Errorf("next() during an outage = %v, want unavailable", err)
	}
	c.mu.Lock()
	c.refuse = false
	c.mu.Unlock()
	c.append(ev("back", "x"))
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	evs, err := f.next(ctx2, cur, 10)
	if err != nil || ids(evs) != "back@11.0 " {
		t.Errorf("next() after the outage = %s, %v, want back@11.0", ids(evs), err)
	}
}
