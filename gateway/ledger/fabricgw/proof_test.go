package fabricgw

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
)

// testCA is an ordering organisation's CA and one orderer it certified.
type testCA struct {
	root    *x509.Certificate
	rootPEM []byte
	key     *ecdsa.PrivateKey // the orderer's
	certPEM []byte            // the orderer's
}

func newTestCA(t *testing.T, name string) testCA {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca." + name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := x509.ParseCertificate(der)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "orderer1." + name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err = x509.CreateCertificate(rand.Reader, leaf, root, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{root: root, rootPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Raw}), key: key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// sign completes a block as an orderer does: data hash, then the
// signatures metadata over the header.
func (ca testCA) sign(t *testing.T, b *common.Block, lastConfig uint64) {
	t.Helper()
	b.Header.PreviousHash = []byte("previous-header-hash-32-bytes...")
	sum := sha256.New()
	for _, d := range b.Data.Data {
		sum.Write(d)
	}
	b.Header.DataHash = sum.Sum(nil)
	value := mustMarshal(&common.OrdererBlockMetadata{LastConfig: &common.LastConfig{Index: lastConfig}})
	sh := mustMarshal(&common.SignatureHeader{Creator: mustMarshal(&msp.SerializedIdentity{Mspid: "OrdererMSP", IdBytes: ca.certPEM}), Nonce: []byte("nonce")})
	digest := sha256.Sum256(append(append(append([]byte(nil), value...), sh...), headerBytes(b.Header.Number, b.Header.PreviousHash, b.Header.DataHash)...))
	sig, err := ecdsa.SignASN1(rand.Reader, ca.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	b.Metadata.Metadata[common.BlockMetadataIndex_SIGNATURES] = mustMarshal(&common.Metadata{Value: value,
		Signatures: []*common.MetadataSignature{{SignatureHeader: sh, Signature: sig}}})
}

func TestBlockProof(t *testing.T) {
	ca := newTestCA(t, "orderer.test")
	b := makeBlock(7, ev("t1", "manifest.created"), ev("t2", "manifest.pickup"), testTx{id: "t3", code: peer.TxValidationCode_MVCC_READ_CONFLICT})
	ca.sign(t, b, 3)
	roots := x509.NewCertPool()
	roots.AddCert(ca.root)

	p, lastConfig, err := newBlockProof(b, "wasteledger", "t2")
	if err != nil {
		t.Fatal(err)
	}
	if lastConfig != 3 || p.Block != 7 || p.TxIndex != 1 || p.Validation != "VALID" || len(p.Transactions) != 3 || len(p.Signatures) != 1 ||
		p.Signatures[0].MSP != "OrdererMSP" {
		t.Fatalf("proof = block %d index %d %s, %d transactions, %d signatures, last config %d; want 7 1 VALID 3 1 3",
			p.Block, p.TxIndex, p.Validation, len(p.Transactions), len(p.Signatures), lastConfig)
	}
	if err := VerifyBlockProof(p, roots); err != nil {
		t.Fatalf("a genuine proof does not verify: %v", err)
	}
	if _, _, err := newBlockProof(b, "wasteledger", "t9"); err == nil {
		t.Error("a proof for a transaction the block does not hold was built")
	}

	other := newTestCA(t, "other.test")
	otherRoots := x509.NewCertPool()
	otherRoots.AddCert(other.root)
	flip := func(s string) string {
		b, _ := base64.StdEncoding.DecodeString(s)
		b[len(b)/2] ^= 1
		return base64.StdEncoding.EncodeToString(b)
	}
	tests := []struct {
		name  string
		edit  func(*BlockProof)
		roots *x509.CertPool
		want  string
	}{
		{"a transaction altered", func(p *BlockProof) { p.Transactions[0] = flip(p.Transactions[0]) }, roots, "data hash"},
		{"a transaction left out", func(p *BlockProof) { p.Transactions = p.Transactions[:2] }, roots, "data hash"},
		{"another transaction claimed", func(p *BlockProof) { p.TxID = "t1" }, roots, "not t1"},
		{"index past the block", func(p *BlockProof) { p.TxIndex = 5 }, roots, "no transaction at index 5"},
		{"another block number", func(p *BlockProof) { p.Block = 8 }, roots, "does not verify"},
		{"previous hash altered", func(p *BlockProof) { p.PreviousHash = flip(p.PreviousHash) }, roots, "does not verify"},
		{"signature altered", func(p *BlockProof) { p.Signatures[0].Signature = flip(p.Signatures[0].Signature) }, roots, "does not verify"},
		{"signed value altered", func(p *BlockProof) { p.SignedValue = flip(p.SignedValue) }, roots, "does not verify"},
		{"certificate swapped", func(p *BlockProof) { p.Signatures[0].Certificate = string(other.certPEM) }, roots, "not the signer"},
		{"untrusted ordering CA", func(*BlockProof) {}, otherRoots, "certificate"},
		{"no signature", func(p *BlockProof) { p.Signatures = nil }, roots, "no signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := p
			q.Transactions = append([]string(nil), p.Transactions...)
			q.Signatures = append([]BlockSignature(nil), p.Signatures...)
			tt.edit(&q)
			err := VerifyBlockProof(q, tt.roots)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("VerifyBlockProof = %v, want an error about %q", err, tt.want)
			}
		})
	}
}

// The ordering organisations' roots come from the Orderer group of the
// channel configuration.
func TestOrdererRoots(t *testing.T) {
	ca := newTestCA(t, "orderer.test")
	mc := mustMarshal(&msp.MSPConfig{Config: mustMarshal(&msp.FabricMSPConfig{Name: "OrdererMSP", RootCerts: [][]byte{ca.rootPEM}})})
	cfg := &common.ConfigEnvelope{Config: &common.Config{ChannelGroup: &common.ConfigGroup{Groups: map[string]*common.ConfigGroup{
		"Orderer":     {Groups: map[string]*common.ConfigGroup{"OrdererOrg": {Values: map[string]*common.ConfigValue{"MSP": {Value: mc}}}}},
		"Application": {Groups: map[string]*common.ConfigGroup{"ProducerOrg": {}}},
	}}}}
	payload := &common.Payload{Header: &common.Header{}, Data: mustMarshal(cfg)}
	b := &common.Block{Header: &common.BlockHeader{}, Data: &common.BlockData{Data: [][]byte{mustMarshal(&common.Envelope{Payload: mustMarshal(payload)})}}}
	roots, err := ordererRoots(b)
	if err != nil || len(roots) != 1 || roots[0] != string(ca.rootPEM) {
		t.Fatalf("ordererRoots = %d roots, %v; want the one ordering CA", len(roots), err)
	}
	b.Data.Data = nil
	if _, err := ordererRoots(b); err == nil {
		t.Error("an empty block gave orderer roots")
	}
}
