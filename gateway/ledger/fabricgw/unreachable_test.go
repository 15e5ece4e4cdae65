package fabricgw

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wasteledger/chaincode"
	"wasteledger/gateway/ledger"
	"wasteledger/manifest"
)

// writeIdentity writes a CA certificate and a client certificate and key
// signed by it, as cryptogen lays them out, and returns their paths.
func writeIdentity(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tlsca.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	userKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	userDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "User1@test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}, caTmpl, &userKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(userKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", userDER), write("key.pem", "PRIVATE KEY", pkcs8)
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Every peer unreachable: Submit, Evaluate, Tx and Events answer
// manifest.Unavailable quickly, saying so; nothing hangs or pretends.
func TestUnreachablePeersAreUnavailable(t *testing.T) {
	dir := t.TempDir()
	ca, cert, key := writeIdentity(t, dir)
	p := Profile{Channel: "wasteledger"}
	for _, msp := range []string{"RegulatorMSP", "ProducerMSP"} {
		p.Orgs = append(p.Orgs, ProfileOrg{MSPID: msp, PeerAddress: closedPort(t), TLSRootCertPath: ca, CertPath: cert, KeyPath: key})
	}
	l, err := New(p, WithLogger(testLog(t)), WithEndorseTimeout(2*time.Second), WithEvaluateTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()

	_, err = l.Submit(ctx, chaincode.Caller{MSP: "ProducerMSP"}, "Diagnose")
	if manifest.CodeOf(err) != manifest.Unavailable || !strings.Contains(err.Error(), "cannot be reached") {
		t.Errorf("Submit with every peer down = %v, want unavailable: cannot be reached", err)
	}
	_, err = l.Evaluate(ctx, chaincode.Caller{MSP: "RegulatorMSP"}, "GetConfig")
	if manifest.CodeOf(err) != manifest.Unavailable {
		t.Errorf("Evaluate with every peer down = %v, want unavailable", err)
	}
	_, err = l.Tx(ctx, "abc")
	if manifest.CodeOf(err) != manifest.Unavailable {
		t.Errorf("Tx with every peer down = %v, want unavailable", err)
	}
	ectx, ecancel := context.WithTimeout(ctx, time.Second)
	defer ecancel()
	_, err = l.Events(ectx, ledger.Cursor{}, 10)
	if manifest.CodeOf(err) != manifest.Unavailable {
		t.Errorf("Events with every peer down = %v, want unavailable", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("answering took %v; an unreachable ledger must fail fast", d)
	}
}
