//go:build fabric

package fabricgw

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
	"time"

	"wasteledger/chaincode"
	"wasteledger/chaincode/fabric/packed"
	"wasteledger/chaincode/scenario"
	"wasteledger/manifest"
)

// A committed transaction's block proof verifies, here and against the
// ordering organisation's CA certificate as the network's crypto material
// holds it (a trust root the proof does not supply).
func TestBlockProofOnFabric(t *testing.T) {
	l := shared(t)
	ctx := ctxFor(t, time.Minute)
	cm, err := l.Submit(ctx, chaincode.Caller{MSP: scenario.ProducerMSP}, "Diagnose")
	if err != nil {
		t.Fatal(err)
	}
	p, err := l.BlockProof(ctx, cm.TxID)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Verified || p.Block != cm.Block || p.Validation != "VALID" || len(p.Signatures) == 0 || len(p.OrdererRoots) == 0 {
		t.Fatalf("BlockProof(%s) = verified %v, block %d (commit said %d), %s, %d signatures, %d roots",
			cm.TxID, p.Verified, p.Block, cm.Block, p.Validation, len(p.Signatures), len(p.OrdererRoots))
	}
	cas, _ := filepath.Glob(filepath.Join(filepath.Dir(profilePath(t)), "crypto", "ordererOrganizations", "*", "msp", "cacerts", "*.pem"))
	if len(cas) == 0 {
		t.Fatal("no ordering organisation CA certificate under the network's crypto material")
	}
	roots := x509.NewCertPool()
	for _, f := range cas {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		roots.AppendCertsFromPEM(b)
	}
	if err := VerifyBlockProof(p, roots); err != nil {
		t.Errorf("the proof does not verify against the ordering CA: %v", err)
	}
	if _, err := l.BlockProof(ctx, "0000000000000000000000000000000000000000000000000000000000000000"); manifest.CodeOf(err) != manifest.NotFound {
		t.Errorf("BlockProof(unknown) = %v, want not_found", err)
	}
}

// A handover's signed statement is sent as transient data: the ordered
// transaction does not carry it (neither as sent nor packed), and the
// manifest version it writes holds it verbatim.
func TestArgumentsLeftOutOfTheTransaction(t *testing.T) {
	l := shared(t)
	ctx := ctxFor(t, 2*time.Minute)
	w := newLoadWorld(ctx, t, l, 1)
	run := w.prepare(ctx, t, l, 1, 1)[0]
	c, _, body, err := run.handover(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	p, err := l.BlockProof(ctx, c.TxID)
	if err != nil {
		t.Fatal(err)
	}
	env, err := base64.StdEncoding.DecodeString(p.Transactions[p.TxIndex])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("a pickup's transaction: %d bytes", len(env))
	if bytes.Contains(env, body) || bytes.Contains(env, packed.Encode(body)) {
		t.Errorf("the transaction (%d bytes) carries the signed statement", len(env))
	}
	_, _, canonical, err := manifest.ParseSigned(body)
	if err != nil {
		t.Fatal(err)
	}
	m, err := scenario.Decode(c.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if last := m.Steps[len(m.Steps)-1]; last.Statement != string(canonical) || len(last.Signatures) != 2 {
		t.Errorf("the written version's last step holds %q with %d signatures, want the statement signed twice", last.Statement, len(last.Signatures))
	}
}
