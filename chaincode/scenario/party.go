// Package scenario builds realistic worlds of Guangdong waste parties, each
// with its own P-256 key, and drives manifests through their lifecycle on any
// host of the contract: for the conformance suite, tests, benchmarks and the
// demo.
package scenario

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"wasteledger/chaincode"
	"wasteledger/manifest"
	"wasteledger/manifest/jcs"
	"wasteledger/manifest/signature"
)

// Host runs contract transactions as a given caller.
type Host interface {
	Submit(ctx context.Context, caller chaincode.Caller, fn string, args ...[]byte) ([]byte, error)
	Evaluate(ctx context.Context, caller chaincode.Caller, fn string, args ...[]byte) ([]byte, error)
}

// MSP ids of the ledger members; the Fabric network uses the same.
const (
	RegulatorMSP = "RegulatorMSP"
	ProducerMSP  = "ProducerMSP"
	CarrierMSP   = "CarrierMSP"
	ReceiverMSP  = "ReceiverMSP"
)

// Party is an organisation with one signing key.
type Party struct {
	Org manifest.Org
	Key *ecdsa.PrivateKey
	KID string
}

// Caller is the ledger identity that submits for the party.
func (p *Party) Caller() chaincode.Caller { return chaincode.Caller{MSP: p.Org.MSP, ID: p.Org.ID} }

// Ref names the party in a statement.
func (p *Party) Ref() *manifest.Party { return &manifest.Party{Org: p.Org.ID, Key: p.KID} }

var issued sync.Map // codes handed out in this process

// NewUSCC returns a valid unified social credit code in the region, random
// in its seven organisation characters (31^7 codes) and unique within the
// process, so that runs against a reused ledger do not collide.
func NewUSCC(region string) string {
	const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	for {
		var rnd [7]byte
		if _, err := rand.Read(rnd[:]); err != nil {
			panic(err)
		}
		body := []byte("91" + region[:6] + "MA")
		for _, b := range rnd {
			body = append(body, alphabet[int(b)%len(alphabet)])
		}
		check, err := manifest.USCCCheck(string(body))
		if err != nil {
			panic(err)
		}
		code := string(append(body, check))
		if _, dup := issued.LoadOrStore(code, true); !dup {
			return code
		}
	}
}

// NewParty makes an organisation with a fresh P-256 key; nothing is
// registered yet.
func NewParty(name, region, msp string, roles ...manifest.Role) *Party {
	key, err := signature.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return &Party{
		Org: manifest.Org{ID: NewUSCC(region), Name: name, Region: region, Roles: roles, MSP: msp,
			Address: name + "厂区", Contact: "020-00000000"},
		Key: key,
		KID: signature.Thumbprint(&key.PublicKey),
	}
}

// Sign builds a signed statement of the parties over st, each signing with
// its own key. st.From and st.To are filled from signers (the first is
// From).
func Sign(st manifest.Statement, signers ...*Party) ([]byte, error) {
	st.V = manifest.StatementVersion
	if len(signers) > 0 {
		st.From = signers[0].Ref()
	}
	if len(signers) > 1 {
		st.To = signers[1].Ref()
	}
	canonical, err := jcs.Marshal(st)
	if err != nil {
		return nil, err
	}
	env := manifest.Signed{Statement: canonical}
	for _, p := range signers {
		sig, err := signature.Sign(rand.Reader, p.Key, canonical)
		if err != nil {
			return nil, err
		}
		env.Signatures = append(env.Signatures, manifest.Signature{Key: p.KID, Sig: sig})
	}
	return json.Marshal(env)
}

// Register registers the party's organisation (as the regulator) and its
// key (as itself).
func Register(ctx context.Context, h Host, regulator chaincode.Caller, p *Party) error {
	b, err := json.Marshal(p.Org)
	if err != nil {
		return err
	}
	if _, err := h.Submit(ctx, regulator, "RegisterOrg", b); err != nil {
		return fmt.Errorf("register %s: %w", p.Org.Name, err)
	}
	return RegisterKey(ctx, h, p, p.Key, manifest.Device)
}

// RegisterKey registers one more key of the party.
func RegisterKey(ctx context.Context, h Host, p *Party, key *ecdsa.PrivateKey, kind manifest.KeyKind) error {
	reg := chaincode.KeyRegistration{Org: p.Org.ID, Holder: "device-" + signature.Thumbprint(&key.PublicKey)[:8], Kind: kind,
		JWK: signature.MarshalPublicJWK(&key.PublicKey)}
	b, err := json.Marshal(reg)
	if err != nil {
		return err
	}
	if _, err := h.Submit(ctx, p.Caller(), "RegisterKey", b); err != nil {
		return fmt.Errorf("register key of %s: %w", p.Org.Name, err)
	}
	return nil
}

// Issue issues a permit as the regulator.
func Issue(ctx context.Context, h Host, regulator chaincode.Caller, p manifest.Permit) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if _, err := h.Submit(ctx, regulator, "IssuePermit", b); err != nil {
		return fmt.Errorf("issue %s: %w", p.ID, err)
	}
	return nil
}

// Hash returns the hash of a stored manifest document, what the next
// statement names as prev.
func Hash(doc []byte) string { return manifest.Hash(doc) }

// Decode decodes a manifest document (as json.Unmarshal would, faster:
// the load benchmarks build every statement from it, as a phone does).
func Decode(doc []byte) (*manifest.Manifest, error) {
	var m manifest.Manifest
	if err := manifest.Decode(doc, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// Now is the statement time used by scenarios: the wall clock, truncated to
// the second as a phone would show it, a little behind the ledger's.
func Now() time.Time { return time.Now().UTC().Add(-2 * time.Second).Truncate(time.Second) }

// SignSnapshot signs an indicator snapshot as the party (a regulator) and
// returns the PublishIndicators argument.
func SignSnapshot(p *Party, snapshot []byte) ([]byte, error) {
	canonical, err := jcs.Canonicalize(snapshot)
	if err != nil {
		return nil, err
	}
	sig, err := signature.Sign(rand.Reader, p.Key, canonical)
	if err != nil {
		return nil, err
	}
	return json.Marshal(chaincode.SignedSnapshot{Snapshot: canonical, Signature: manifest.Signature{Key: p.KID, Sig: sig}})
}
