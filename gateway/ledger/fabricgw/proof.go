package fabricgw

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"

	"wasteledger/manifest"
)

// BlockProof shows that a transaction is in a block of the channel whose
// header the ordering service signed: Fabric's counterpart of the embedded
// ledger's Merkle inclusion proof. The block's data hash is SHA-256 of its
// transactions concatenated, so the proof carries all of them (a block
// holds at most the batch size, ten here). VerifyBlockProof checks it
// offline against the ordering organisation's root certificates.
type BlockProof struct {
	Kind    string `json:"kind"` // "fabric-block"
	Channel string `json:"channel"`
	TxID    string `json:"tx_id"`
	Block   uint64 `json:"block"`
	TxIndex int    `json:"tx_index"`
	// Validation is the committing peer's verdict on the transaction
	// (VALID, MVCC_READ_CONFLICT, …). It is block metadata written after
	// ordering: the orderers' signature does not cover it.
	Validation   string   `json:"validation"`
	PreviousHash string   `json:"previous_hash"` // base64, the header of block-1
	DataHash     string   `json:"data_hash"`     // base64, SHA-256(transactions[0] ‖ transactions[1] ‖ …)
	Transactions []string `json:"transactions"`  // base64 envelopes of the block, in order
	// SignedValue is the signatures metadata value (an OrdererBlockMetadata)
	// that each signature covers with the header.
	SignedValue string           `json:"signed_value"`
	Signatures  []BlockSignature `json:"signatures"`
	// OrdererRoots are the root CA certificates (PEM) of the ordering
	// organisations in the channel configuration the block was cut under.
	// A verifier compares them with the ones it trusts.
	OrdererRoots []string `json:"orderer_roots"`
	Verified     bool     `json:"verified"` // checked here against OrdererRoots
	How          string   `json:"how"`
}

// BlockSignature is one orderer's signature on the block header.
type BlockSignature struct {
	MSP         string `json:"msp"`
	Certificate string `json:"certificate"` // PEM, from the signature header
	// Header is the serialised SignatureHeader (creator and nonce).
	Header string `json:"signature_header"`
	// Signature is ASN.1 ECDSA over SHA-256(signed_value ‖ signature_header
	// ‖ DER(SEQUENCE{number INTEGER, previous_hash OCTET STRING, data_hash
	// OCTET STRING})).
	Signature string `json:"signature"`
}

const blockProofHow = "SHA-256 of the base64-decoded transactions concatenated must equal data_hash; the transaction at tx_index must carry tx_id; " +
	"each signature is ECDSA (ASN.1) over SHA-256(signed_value ‖ signature_header ‖ DER header{number, previous_hash, data_hash}) " +
	"by the certificate, which must chain to orderer_roots (the ordering organisations' CAs you trust); wasteledger/gateway/ledger/fabricgw.VerifyBlockProof does all of it"

// asn1Header is a block header as the orderers sign and hash it (Fabric's
// protoutil.BlockHeaderBytes).
type asn1Header struct {
	Number       *big.Int
	PreviousHash []byte
	DataHash     []byte
}

func headerBytes(number uint64, prev, data []byte) []byte {
	b, err := asn1.Marshal(asn1Header{Number: new(big.Int).SetUint64(number), PreviousHash: prev, DataHash: data})
	if err != nil {
		panic(err) // only the types above: cannot fail
	}
	return b
}

// BlockProof builds the proof of a committed transaction, with the
// ordering organisations' root certificates of the channel configuration
// in force for its block, and checks it.
func (l *Ledger) BlockProof(ctx context.Context, txID string) (BlockProof, error) {
	if txID == "" {
		return BlockProof{}, manifest.Errorf(manifest.Invalid, "empty transaction id")
	}
	b, g, found, err := l.blockOf(ctx, l.evOrg, txID)
	if err != nil && !found {
		return BlockProof{}, manifest.Errorf(manifest.Unavailable, "look transaction %s up: %v", txID, err)
	}
	if !found {
		return BlockProof{}, manifest.Errorf(manifest.NotFound, "transaction %s is not on the ledger", txID)
	}
	p, lastConfig, err := newBlockProof(b, l.channel, txID)
	if err != nil {
		return BlockProof{}, manifest.Errorf(manifest.Internal, "block %d: %v", b.GetHeader().GetNumber(), err)
	}
	ectx, cancel := context.WithTimeout(ctx, l.o.evaluateTimeout)
	raw, err := g.qscc.EvaluateWithContext(ectx, "GetBlockByNumber", client.WithArguments(l.channel, fmt.Sprint(lastConfig)))
	cancel()
	if err != nil {
		return BlockProof{}, manifest.Errorf(manifest.Unavailable, "read configuration block %d: %s", lastConfig, oneLine(err))
	}
	cfg := &common.Block{}
	if err := proto.Unmarshal(raw, cfg); err != nil {
		return BlockProof{}, manifest.Errorf(manifest.Internal, "configuration block %d: %v", lastConfig, err)
	}
	if p.OrdererRoots, err = ordererRoots(cfg); err != nil {
		return BlockProof{}, manifest.Errorf(manifest.Internal, "configuration block %d: %v", lastConfig, err)
	}
	roots := x509.NewCertPool()
	for _, r := range p.OrdererRoots {
		roots.AppendCertsFromPEM([]byte(r))
	}
	p.Verified = VerifyBlockProof(p, roots) == nil
	return p, nil
}

// newBlockProof takes what the proof needs from the block, and the number
// of the configuration block it was cut under.
func newBlockProof(b *common.Block, channel, txID string) (BlockProof, uint64, error) {
	tx, err := findTx(b, txID)
	if err != nil {
		return BlockProof{}, 0, err
	}
	h := b.GetHeader()
	p := BlockProof{Kind: "fabric-block", Channel: channel, TxID: txID, Block: h.GetNumber(), TxIndex: tx.Index,
		Validation: tx.Code.String(), PreviousHash: b64(h.GetPreviousHash()), DataHash: b64(h.GetDataHash()), How: blockProofHow}
	for _, d := range b.GetData().GetData() {
		p.Transactions = append(p.Transactions, b64(d))
	}
	md := b.GetMetadata().GetMetadata()
	if len(md) <= int(common.BlockMetadataIndex_SIGNATURES) {
		return BlockProof{}, 0, errors.New("no signatures metadata")
	}
	sigs := &common.Metadata{}
	if err := proto.Unmarshal(md[common.BlockMetadataIndex_SIGNATURES], sigs); err != nil {
		return BlockProof{}, 0, fmt.Errorf("signatures metadata: %w", err)
	}
	p.SignedValue = b64(sigs.GetValue())
	for _, s := range sigs.GetSignatures() {
		sh := &common.SignatureHeader{}
		if err := proto.Unmarshal(s.GetSignatureHeader(), sh); err != nil {
			return BlockProof{}, 0, fmt.Errorf("signature header: %w", err)
		}
		id := &msp.SerializedIdentity{}
		if err := proto.Unmarshal(sh.GetCreator(), id); err != nil {
			return BlockProof{}, 0, fmt.Errorf("signer: %w", err)
		}
		p.Signatures = append(p.Signatures, BlockSignature{MSP: id.GetMspid(), Certificate: string(id.GetIdBytes()),
			Header: b64(s.GetSignatureHeader()), Signature: b64(s.GetSignature())})
	}
	obm := &common.OrdererBlockMetadata{}
	if err := proto.Unmarshal(sigs.GetValue(), obm); err != nil {
		return BlockProof{}, 0, fmt.Errorf("orderer block metadata: %w", err)
	}
	return p, obm.GetLastConfig().GetIndex(), nil
}

// ordererRoots lists the root certificates (PEM) of every ordering
// organisation in a configuration block.
func ordererRoots(b *common.Block) ([]string, error) {
	data := b.GetData().GetData()
	if len(data) != 1 {
		return nil, fmt.Errorf("a configuration block holds one transaction, this one %d", len(data))
	}
	env := &common.Envelope{}
	payload := &common.Payload{}
	ce := &common.ConfigEnvelope{}
	if err := proto.Unmarshal(data[0], env); err != nil {
		return nil, err
	}
	if err := proto.Unmarshal(env.GetPayload(), payload); err != nil {
		return nil, err
	}
	if err := proto.Unmarshal(payload.GetData(), ce); err != nil {
		return nil, fmt.Errorf("config envelope: %w", err)
	}
	orderer := ce.GetConfig().GetChannelGroup().GetGroups()["Orderer"]
	if orderer == nil {
		return nil, errors.New("no Orderer group in the channel configuration")
	}
	var roots []string
	for name, org := range orderer.GetGroups() {
		v := org.GetValues()["MSP"]
		if v == nil {
			continue
		}
		mc := &msp.MSPConfig{}
		fc := &msp.FabricMSPConfig{}
		if err := proto.Unmarshal(v.GetValue(), mc); err != nil {
			return nil, fmt.Errorf("orderer organisation %s: %w", name, err)
		}
		if err := proto.Unmarshal(mc.GetConfig(), fc); err != nil {
			return nil, fmt.Errorf("orderer organisation %s: %w", name, err)
		}
		for _, c := range fc.GetRootCerts() {
			roots = append(roots, string(c))
		}
	}
	if len(roots) == 0 {
		return nil, errors.New("no ordering organisation root certificate in the channel configuration")
	}
	return roots, nil
}

// VerifyBlockProof checks a proof: the transactions hash to the header's
// data hash, the one at tx_index is tx_id, and at least one signature on
// the header verifies under a certificate that chains to roots. Pass the
// ordering organisations' CA certificates you trust, not the proof's own
// orderer_roots, unless you have compared them.
func VerifyBlockProof(p BlockProof, roots *x509.CertPool) error {
	dataHash, err1 := unb64(p.DataHash)
	prev, err2 := unb64(p.PreviousHash)
	value, err3 := unb64(p.SignedValue)
	if err := errors.Join(err1, err2, err3); err != nil {
		return err
	}
	h := sha256.New()
	var target []byte
	for i, t := range p.Transactions {
		b, err := unb64(t)
		if err != nil {
			return fmt.Errorf("transaction %d: %w", i, err)
		}
		h.Write(b)
		if i == p.TxIndex {
			target = b
		}
	}
	if !bytes.Equal(h.Sum(nil), dataHash) {
		return errors.New("the transactions do not hash to the block's data hash")
	}
	if target == nil {
		return fmt.Errorf("no transaction at index %d", p.TxIndex)
	}
	var tx blockTx
	if err := parseEnvelope(target, &tx); err != nil {
		return fmt.Errorf("transaction %d: %w", p.TxIndex, err)
	}
	if tx.TxID != p.TxID {
		return fmt.Errorf("transaction %d is %s, not %s", p.TxIndex, tx.TxID, p.TxID)
	}
	header := headerBytes(p.Block, prev, dataHash)
	var errs []error
	for i, s := range p.Signatures {
		if err := verifyBlockSignature(s, value, header, roots); err != nil {
			errs = append(errs, fmt.Errorf("signature %d (%s): %w", i, s.MSP, err))
			continue
		}
		return nil
	}
	if len(errs) == 0 {
		return errors.New("the block header carries no signature")
	}
	return errors.Join(errs...)
}

func verifyBlockSignature(s BlockSignature, value, header []byte, roots *x509.CertPool) error {
	sigHeader, err1 := unb64(s.Header)
	sig, err2 := unb64(s.Signature)
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	// The certificate shown must be the one in the signed header.
	sh := &common.SignatureHeader{}
	id := &msp.SerializedIdentity{}
	if err := proto.Unmarshal(sigHeader, sh); err != nil {
		return fmt.Errorf("signature header: %w", err)
	}
	if err := proto.Unmarshal(sh.GetCreator(), id); err != nil {
		return fmt.Errorf("signer: %w", err)
	}
	if id.GetMspid() != s.MSP || string(id.GetIdBytes()) != s.Certificate {
		return errors.New("the certificate is not the signer named in the signature header")
	}
	blk, _ := pem.Decode([]byte(s.Certificate))
	if blk == nil {
		return errors.New("certificate: not PEM")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return errors.New("certificate: not an ECDSA key")
	}
	digest := sha256.Sum256(bytes.Join([][]byte{value, sigHeader, header}, nil))
	if !ecdsa.VerifyASN1(pub, digest[:], sig) {
		return errors.New("the signature does not verify")
	}
	return nil
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func unb64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
