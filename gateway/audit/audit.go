package audit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"wasteledger/chaincode"
	"wasteledger/chaincode/embedded"
	"wasteledger/gateway/ledger"
	"wasteledger/manifest"
)

// Ledger is what the auditor reads of the ledger. ledger.Ledger satisfies
// it.
type Ledger interface {
	Evaluate(ctx context.Context, caller chaincode.Caller, fn string, args ...[]byte) ([]byte, error)
	Tx(ctx context.Context, txID string) (ledger.TxInfo, error)
}

// Prover hands out inclusion proofs against signed checkpoints. The
// embedded ledger (*embedded.Ledger) satisfies it; a Fabric network has no
// Merkle tree over its transactions.
type Prover interface {
	ID() string
	VerifierKey() string
	Checkpoint(ctx context.Context) (signed []byte, size uint64, root []byte, err error)
	InclusionProof(ctx context.Context, txID string, treeSize uint64) (uint64, [][]byte, error)
	Transaction(ctx context.Context, txID string) (embedded.TxRecord, error)
}

// Auditor reads evidence from the ledger.
type Auditor struct {
	Ledger Ledger
	Caller chaincode.Caller // the identity queries run as (a regulator's)
	Prover Prover           // nil on Fabric
}

// History is a manifest's complete history with every signature re-verified
// against the keys registered on the ledger.
type History struct {
	Manifest string          `json:"manifest"`
	Verdict  string          `json:"verdict"` // "verified" or "failed"
	Failure  string          `json:"failure,omitempty"`
	Versions []VersionCheck  `json:"versions"`
	Current  json.RawMessage `json:"current"` // the current document
}

// Versions reads a manifest's versions from the ledger with the block and
// transaction index of each.
func (a *Auditor) Versions(ctx context.Context, id string) ([]VersionDoc, error) {
	b, err := a.Ledger.Evaluate(ctx, a.Caller, "ManifestHistory", []byte(id))
	if err != nil {
		return nil, err
	}
	var hs []chaincode.HistoryEntry
	if err := manifest.Decode(b, &hs); err != nil {
		return nil, manifest.Errorf(manifest.Internal, "decode history of %s: %w", id, err)
	}
	out := make([]VersionDoc, 0, len(hs))
	for _, h := range hs {
		info, err := a.Ledger.Tx(ctx, h.TxID)
		if err != nil {
			return nil, fmt.Errorf("locate transaction %s: %w", h.TxID, err)
		}
		out = append(out, VersionDoc{Version: h.Version, TxID: h.TxID, Block: info.Block, Tx: info.Index, Time: h.Time, Hash: h.Hash, Doc: h.Manifest})
	}
	return out, nil
}

// Key reads a registered key from the ledger.
func (a *Auditor) Key(ctx context.Context, kid string) (manifest.Key, error) {
	var k manifest.Key
	b, err := a.Ledger.Evaluate(ctx, a.Caller, "GetKey", []byte(kid))
	if err != nil {
		return k, err
	}
	if err := manifest.Decode(b, &k); err != nil {
		return k, manifest.Errorf(manifest.Internal, "decode key %s: %w", kid, err)
	}
	return k, nil
}

// History reads and verifies a manifest's history.
func (a *Auditor) History(ctx context.Context, id string) (History, error) {
	vs, err := a.Versions(ctx, id)
	if err != nil {
		return History{}, err
	}
	cache := map[string]manifest.Key{}
	keys := func(kid string) (manifest.Key, error) {
		if k, ok := cache[kid]; ok {
			return k, nil
		}
		k, err := a.Key(ctx, kid)
		if err == nil {
			cache[kid] = k
		}
		return k, err
	}
	checks, first := checkVersions(id, vs, keys)
	h := History{Manifest: id, Verdict: "verified", Failure: first, Versions: checks, Current: vs[len(vs)-1].Doc}
	if first != "" {
		h.Verdict = "failed"
	}
	return h, nil
}

// Proof is an RFC 6962 inclusion proof of a transaction in the embedded
// ledger's Merkle tree, against its latest signed checkpoint.
type Proof struct {
	Kind        string   `json:"kind"` // "merkle-rfc6962"
	TxID        string   `json:"tx_id"`
	Block       uint64   `json:"block"`
	LeafIndex   uint64   `json:"leaf_index"`
	TreeSize    uint64   `json:"tree_size"`
	Record      string   `json:"record"`    // the canonical transaction record, the leaf's data
	LeafHash    string   `json:"leaf_hash"` // base64: SHA-256(0x00 ‖ record)
	Path        []string `json:"proof"`     // base64 sibling hashes, leaf to root
	Root        string   `json:"root"`      // base64
	Checkpoint  string   `json:"checkpoint"`
	VerifierKey string   `json:"verifier_key"`
	Verified    bool     `json:"verified"` // checked here: checkpoint signature, root and path
	How         string   `json:"how"`
}

// Proof proves that transaction txID is in the ledger.
func (a *Auditor) Proof(ctx context.Context, txID string) (Proof, error) {
	if a.Prover == nil {
		return Proof{}, ErrNoProofs
	}
	signed, size, root, err := a.Prover.Checkpoint(ctx)
	if err != nil {
		return Proof{}, err
	}
	rec, err := a.Prover.Transaction(ctx, txID)
	if err != nil {
		return Proof{}, err
	}
	leaf, path, err := a.Prover.InclusionProof(ctx, txID, size)
	if err != nil {
		return Proof{}, err
	}
	p := Proof{Kind: "merkle-rfc6962", TxID: txID, Block: rec.Block, LeafIndex: leaf, TreeSize: size, Record: string(rec.Record),
		LeafHash: base64.StdEncoding.EncodeToString(rec.LeafHash), Root: base64.StdEncoding.EncodeToString(root),
		Checkpoint: string(signed), VerifierKey: a.Prover.VerifierKey(),
		How: "open the checkpoint with the verifier key (golang.org/x/mod/sumdb/note), then proof.VerifyInclusion(rfc6962.DefaultHasher, leaf_index, tree_size, SHA-256(0x00‖record), proof, root) from github.com/transparency-dev/merkle"}
	for _, h := range path {
		p.Path = append(p.Path, base64.StdEncoding.EncodeToString(h))
	}
	cp, err := embedded.ParseCheckpoint(signed, p.VerifierKey)
	if err != nil {
		return p, manifest.Errorf(manifest.Internal, "checkpoint does not verify: %w", err)
	}
	leafHash := rfc6962.DefaultHasher.HashLeaf(rec.Record)
	p.Verified = cp.TreeSize == size && string(cp.Root) == string(root) && string(leafHash) == string(rec.LeafHash) &&
		proof.VerifyInclusion(rfc6962.DefaultHasher, leaf, size, leafHash, path, root) == nil
	return p, nil
}

// ErrNoProofs is returned by Proof on a ledger without a Merkle tree.
var ErrNoProofs = manifest.Errorf(manifest.Unavailable, "this ledger (Hyperledger Fabric) keeps no Merkle tree over its transactions: inclusion proofs are available on the embedded ledger only")

// Selection is what an export covers.
type Selection struct {
	Region   string
	Period   string
	From, To time.Time
	IDs      []string // the manifests, in number order
}

// Export writes the selection as JSON Lines: a header with the ledger's
// identity and checkpoint, then every manifest with all its versions, each
// preceded by the keys that signed it and were not written yet, and a
// trailer. It streams: one manifest's history is read from the ledger at a
// time.
func (a *Auditor) Export(ctx context.Context, w io.Writer, s Selection, now time.Time) error {
	ref := &LedgerRef{Kind: "fabric"}
	if a.Prover != nil {
		signed, size, _, err := a.Prover.Checkpoint(ctx)
		if err != nil {
			return err
		}
		ref = &LedgerRef{Kind: "embedded", ID: a.Prover.ID(), Checkpoint: string(signed), VerifierKey: a.Prover.VerifierKey(), TreeSize: size}
	}
	x := NewWriter(w, s.Region, s.Period, s.From, s.To, now.UTC(), ref)
	written := map[string]bool{}
	for _, id := range s.IDs {
		vs, err := a.Versions(ctx, id)
		if err != nil {
			return fmt.Errorf("export manifest %s: %w", id, err)
		}
		var last struct {
			Steps []manifest.Record `json:"steps"`
		}
		if err := manifest.Decode(vs[len(vs)-1].Doc, &last); err != nil {
			return manifest.Errorf(manifest.Internal, "export manifest %s: %w", id, err)
		}
		for _, st := range last.Steps {
			for _, sg := range st.Signatures {
				if written[sg.Key] {
					continue
				}
				k, err := a.Key(ctx, sg.Key)
				if err != nil {
					return fmt.Errorf("export key %s: %w", sg.Key, err)
				}
				if err := x.Key(k); err != nil {
					return err
				}
				written[sg.Key] = true
			}
		}
		if err := x.Manifest(id, vs); err != nil {
			return err
		}
	}
	return x.Close()
}
