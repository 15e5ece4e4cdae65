package fabricgw

import (
	"fmt"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	gwproto "github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset/kvrwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"wasteledger/chaincode/fabric/docref"
	"wasteledger/chaincode/fabric/packed"
)

// blockTx is one transaction of a block, as far as the ledger needs it.
type blockTx struct {
	Index int
	TxID  string
	Time  time.Time
	Code  peer.TxValidationCode
	// The chaincode event of an endorser transaction, if it set one.
	EventChaincode string
	EventName      string
	EventPayload   []byte
	// The chaincode's response payload.
	Response []byte
	// Why the response or the event payload could not be restored from
	// the write set (package docref); they are then left as sent. Only an
	// invalid transaction can carry such a payload: the contract's
	// endorsements never do.
	RestoreErr error
}

// parseBlock lists a block's transactions in order with their validation
// codes (from the block's TRANSACTIONS_FILTER metadata, as the committing
// peer wrote it) and chaincode events. Config transactions are listed
// without an event.
func parseBlock(b *common.Block) ([]blockTx, error) {
	data := b.GetData().GetData()
	var filter []byte
	if md := b.GetMetadata().GetMetadata(); len(md) > int(common.BlockMetadataIndex_TRANSACTIONS_FILTER) {
		filter = md[common.BlockMetadataIndex_TRANSACTIONS_FILTER]
	}
	if len(filter) != len(data) {
		return nil, fmt.Errorf("block %d: %d validation codes for %d transactions", b.GetHeader().GetNumber(), len(filter), len(data))
	}
	txs := make([]blockTx, 0, len(data))
	for i, raw := range data {
		tx := blockTx{Index: i, Code: peer.TxValidationCode(filter[i])}
		if err := parseEnvelope(raw, &tx); err != nil {
			return nil, fmt.Errorf("block %d transaction %d: %w", b.GetHeader().GetNumber(), i, err)
		}
		txs = append(txs, tx)
	}
	return txs, nil
}

func parseEnvelope(raw []byte, tx *blockTx) error {
	env := &common.Envelope{}
	if err := proto.Unmarshal(raw, env); err != nil {
		return fmt.Errorf("envelope: %w", err)
	}
	return readEnvelope(env, tx)
}

func readEnvelope(env *common.Envelope, tx *blockTx) error {
	payload := &common.Payload{}
	if err := proto.Unmarshal(env.GetPayload(), payload); err != nil {
		return fmt.Errorf("payload: %w", err)
	}
	ch := &common.ChannelHeader{}
	if err := proto.Unmarshal(payload.GetHeader().GetChannelHeader(), ch); err != nil {
		return fmt.Errorf("channel header: %w", err)
	}
	tx.TxID = ch.GetTxId()
	if ts := ch.GetTimestamp(); ts != nil {
		tx.Time = ts.AsTime().UTC()
	}
	if common.HeaderType(ch.GetType()) != common.HeaderType_ENDORSER_TRANSACTION {
		return nil
	}
	sh := &common.SignatureHeader{}
	if err := proto.Unmarshal(payload.GetHeader().GetSignatureHeader(), sh); err != nil {
		return fmt.Errorf("signature header: %w", err)
	}
	hdr := docref.Header{TxID: tx.TxID, Time: tx.Time, Creator: sh.GetCreator()}
	t := &peer.Transaction{}
	if err := proto.Unmarshal(payload.GetData(), t); err != nil {
		return fmt.Errorf("transaction: %w", err)
	}
	for _, action := range t.GetActions() {
		cap := &peer.ChaincodeActionPayload{}
		if err := proto.Unmarshal(action.GetPayload(), cap); err != nil {
			return fmt.Errorf("chaincode action payload: %w", err)
		}
		prp := &peer.ProposalResponsePayload{}
		if err := proto.Unmarshal(cap.GetAction().GetProposalResponsePayload(), prp); err != nil {
			return fmt.Errorf("proposal response payload: %w", err)
		}
		ca := &peer.ChaincodeAction{}
		if err := proto.Unmarshal(prp.GetExtension(), ca); err != nil {
			return fmt.Errorf("chaincode action: %w", err)
		}
		// The response and the event name the documents the transaction
		// writes rather than repeat them (package docref).
		cc := ca.GetChaincodeId().GetName()
		tx.Response = ca.GetResponse().GetPayload()
		if r, err := restore(ca, cc, hdr, tx.Response); err != nil {
			tx.RestoreErr = fmt.Errorf("response: %w", err)
		} else {
			tx.Response = r
		}
		if len(ca.GetEvents()) == 0 {
			continue
		}
		ev := &peer.ChaincodeEvent{}
		if err := proto.Unmarshal(ca.GetEvents(), ev); err != nil {
			return fmt.Errorf("chaincode event: %w", err)
		}
		if ev.GetEventName() == "" {
			continue
		}
		tx.EventChaincode, tx.EventName, tx.EventPayload = ev.GetChaincodeId(), ev.GetEventName(), ev.GetPayload()
		if p, err := restore(ca, ev.GetChaincodeId(), hdr, tx.EventPayload); err != nil {
			tx.RestoreErr = fmt.Errorf("chaincode event: %w", err)
		} else {
			tx.EventPayload = p
		}
	}
	return nil
}

// restore returns payload with the documents it references taken from the
// action's writes in the chaincode's namespace, unpacked (package packed),
// and the facts it references from the transaction's header.
func restore(ca *peer.ChaincodeAction, chaincode string, hdr docref.Header, payload []byte) ([]byte, error) {
	if !docref.Encoded(payload) {
		return payload, nil
	}
	writes, err := writesOf(ca, chaincode)
	if err != nil {
		return nil, err
	}
	var bad error
	out, err := docref.Decode(payload, func(key string) ([]byte, bool) {
		for _, w := range writes {
			if w.GetKey() == key && !w.GetIsDelete() {
				v, err := packed.Decode(w.GetValue()) // stored as the chaincode wrote it
				if err != nil {
					bad = fmt.Errorf("written value of %s: %w", key, err)
					return nil, false
				}
				return v, true
			}
		}
		return hdr.Fact(key)
	})
	if bad != nil {
		return nil, bad
	}
	return out, err
}

// writesOf lists the action's writes in the namespace.
func writesOf(ca *peer.ChaincodeAction, namespace string) ([]*kvrwset.KVWrite, error) {
	set := &rwset.TxReadWriteSet{}
	if err := proto.Unmarshal(ca.GetResults(), set); err != nil {
		return nil, fmt.Errorf("read-write set: %w", err)
	}
	for _, ns := range set.GetNsRwset() {
		if ns.GetNamespace() != namespace {
			continue
		}
		kv := &kvrwset.KVRWSet{}
		if err := proto.Unmarshal(ns.GetRwset(), kv); err != nil {
			return nil, fmt.Errorf("read-write set of %s: %w", namespace, err)
		}
		return kv.GetWrites(), nil
	}
	return nil, nil
}

// endorsedResponse is the chaincode response of an endorsed transaction
// (client.Transaction.Bytes()) with its documents restored.
func endorsedResponse(preparedTransaction []byte) ([]byte, error) {
	pt := &gwproto.PreparedTransaction{}
	if err := proto.Unmarshal(preparedTransaction, pt); err != nil {
		return nil, fmt.Errorf("prepared transaction: %w", err)
	}
	var tx blockTx
	if err := readEnvelope(pt.GetEnvelope(), &tx); err != nil {
		return nil, err
	}
	return tx.Response, tx.RestoreErr
}

// findTx returns the transaction with the id in the block.
func findTx(b *common.Block, txID string) (blockTx, error) {
	txs, err := parseBlock(b)
	if err != nil {
		return blockTx{}, err
	}
	for _, tx := range txs {
		if tx.TxID == txID {
			return tx, nil
		}
	}
	return blockTx{}, fmt.Errorf("block %d does not hold transaction %s", b.GetHeader().GetNumber(), txID)
}

// proposalTime is the timestamp of a serialised gateway proposal
// (client.Proposal.Bytes()): the transaction's time on the ledger.
func proposalTime(proposedTransaction []byte) (time.Time, error) {
	pt := &gwproto.ProposedTransaction{}
	if err := proto.Unmarshal(proposedTransaction, pt); err != nil {
		return time.Time{}, err
	}
	p := &peer.Proposal{}
	if err := proto.Unmarshal(pt.GetProposal().GetProposalBytes(), p); err != nil {
		return time.Time{}, err
	}
	h := &common.Header{}
	if err := proto.Unmarshal(p.GetHeader(), h); err != nil {
		return time.Time{}, err
	}
	ch := &common.ChannelHeader{}
	if err := proto.Unmarshal(h.GetChannelHeader(), ch); err != nil {
		return time.Time{}, err
	}
	return ch.GetTimestamp().AsTime().UTC(), nil
}
