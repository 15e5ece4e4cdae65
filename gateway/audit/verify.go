// Package audit gives a regulator the evidence behind a manifest: its
// complete history from the ledger with every party signature re-verified,
// inclusion proofs of transactions against a signed checkpoint, and
// exports of a region and period that anyone can verify offline with
// nothing but the public keys they contain.
package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"wasteledger/manifest"
	"wasteledger/manifest/jcs"
	"wasteledger/manifest/signature"
)

// VersionDoc is one committed version of a manifest.
type VersionDoc struct {
	Version int             `json:"version"`
	TxID    string          `json:"tx_id"`
	Block   uint64          `json:"block"`
	Tx      int             `json:"tx"`
	Time    time.Time       `json:"time"`
	Hash    string          `json:"hash"` // base64url SHA-256 of the canonical document
	Doc     json.RawMessage `json:"doc"`
}

// Verdict is the result of re-verifying one signature.
type Verdict struct {
	Org      string `json:"org"`
	Key      string `json:"kid"`
	SignedBy string `json:"signed_by"`
	Sig      string `json:"sig"`
	Valid    bool   `json:"valid"`
	Reason   string `json:"reason,omitempty"`
}

// StepCheck is a step with its statement and signature verdicts.
type StepCheck struct {
	Step       manifest.Step   `json:"step"`
	TxID       string          `json:"tx_id"`
	Time       time.Time       `json:"time"`      // statement time
	Committed  time.Time       `json:"committed"` // ledger time
	From       string          `json:"from,omitempty"`
	To         string          `json:"to,omitempty"`
	Statement  json.RawMessage `json:"statement"`
	Digest     string          `json:"digest"`
	Prev       string          `json:"prev"`
	PrevOK     bool            `json:"prev_ok"` // prev is the hash of the version before
	Signatures []Verdict       `json:"signatures"`
}

// VersionCheck is one version with what it added and whether it verifies.
type VersionCheck struct {
	Version int             `json:"version"`
	Status  manifest.Status `json:"status"`
	TxID    string          `json:"tx_id"`
	Block   uint64          `json:"block"`
	TxIndex int             `json:"tx_index"`
	Time    time.Time       `json:"time"`
	Hash    string          `json:"hash"`
	HashOK  bool            `json:"hash_ok"`
	Step    *StepCheck      `json:"step,omitempty"` // the signed step this version added; nil for a follow-up link
}

// KeyFunc returns the registered key kid.
type KeyFunc func(kid string) (manifest.Key, error)

// checkVersions re-verifies a manifest's versions, oldest first: each
// document's hash, that each version extends the one before by at most
// one step, that the step's statement hashes to its digest and names the
// previous version as prev, and every signature against the key of its
// party. It returns the checks and the first failure ("" when all hold).
func checkVersions(id string, vs []VersionDoc, keys KeyFunc) ([]VersionCheck, string) {
	out := make([]VersionCheck, 0, len(vs))
	first := ""
	fail := func(v int, format string, args ...any) {
		if first == "" {
			first = fmt.Sprintf("manifest %s version %d: ", id, v) + fmt.Sprintf(format, args...)
		}
	}
	var prev *manifest.Manifest
	prevHash := ""
	for i, v := range vs {
		vc := VersionCheck{Version: v.Version, TxID: v.TxID, Block: v.Block, TxIndex: v.Tx, Time: v.Time, Hash: v.Hash}
		canonical, err := jcs.Canonicalize(v.Doc)
		if err != nil {
			fail(v.Version, "document is not JSON: %v", err)
			out = append(out, vc)
			break
		}
		got := manifest.Hash(canonical)
		vc.HashOK = got == v.Hash
		if !vc.HashOK {
			fail(v.Version, "document hashes to %s, recorded %s", got, v.Hash)
		}
		var m manifest.Manifest
		if err := manifest.Decode(canonical, &m); err != nil {
			fail(v.Version, "document does not decode: %v", err)
			out = append(out, vc)
			break
		}
		vc.Status = m.Status
		if m.ID != id || m.Version != v.Version || v.Version != i+1 {
			fail(v.Version, "document is %s version %d, expected %s version %d", m.ID, m.Version, id, i+1)
		}
		var before []manifest.Record
		if prev != nil {
			before = prev.Steps
		}
		switch {
		case len(m.Steps) == len(before):
			// a follow-up was linked to this manifest: no new step
		case len(m.Steps) == len(before)+1:
			vc.Step = checkStep(m.Steps[len(before)], prevHash, keys, func(format string, args ...any) { fail(v.Version, format, args...) })
		default:
			fail(v.Version, "has %d steps after %d: versions must add at most one step", len(m.Steps), len(before))
		}
		for j := 0; j < len(before) && j < len(m.Steps); j++ {
			if !reflect.DeepEqual(m.Steps[j], before[j]) {
				fail(v.Version, "rewrites step %d (%s) of the version before", j+1, before[j].Step)
				break
			}
		}
		prev, prevHash = &m, v.Hash
		if !vc.HashOK {
			prevHash = got
		}
		out = append(out, vc)
	}
	return out, first
}

func checkStep(r manifest.Record, prevHash string, keys KeyFunc, fail func(string, ...any)) *StepCheck {
	sc := &StepCheck{Step: r.Step, TxID: r.TxID, Time: r.Time, Committed: r.Committed, From: r.From, To: r.To,
		Statement: json.RawMessage(r.Statement), Digest: r.Digest}
	stmt := []byte(r.Statement)
	if d := manifest.Hash(stmt); d != r.Digest {
		fail("%s statement hashes to %s, recorded digest %s", r.Step, d, r.Digest)
	}
	if c, err := jcs.Canonicalize(stmt); err != nil || !bytes.Equal(c, stmt) {
		fail("%s statement is not in canonical (RFC 8785) form", r.Step)
	}
	var st manifest.Statement
	if err := manifest.Decode(stmt, &st); err != nil {
		fail("%s statement does not decode: %v", r.Step, err)
		return sc
	}
	sc.Prev = st.Prev
	sc.PrevOK = st.Prev == prevHash
	if !sc.PrevOK {
		fail("%s statement names prev %s, but the version before hashes to %s", r.Step, st.Prev, prevHash)
	}
	if st.Step != r.Step {
		fail("statement is a %s, recorded as %s", st.Step, r.Step)
	}
	parties := []*manifest.Party{st.From}
	if st.To != nil {
		parties = append(parties, st.To)
	}
	if len(r.Signatures) != len(parties) {
		fail("%s has %d signatures for %d parties", r.Step, len(r.Signatures), len(parties))
	}
	for i, s := range r.Signatures {
		v := Verdict{Org: s.Org, Key: s.Key, SignedBy: s.SignedBy, Sig: s.Sig}
		v.Valid, v.Reason = verifySig(s, stmt, r.Committed, keys)
		if v.Valid && i < len(parties) && parties[i] != nil && (parties[i].Key != s.Key || parties[i].Org != s.Org) {
			v.Valid, v.Reason = false, fmt.Sprintf("the statement names %s's key %s here", parties[i].Org, parties[i].Key)
		}
		if !v.Valid {
			fail("%s signature of %s (key %s): %s", r.Step, s.Org, s.Key, v.Reason)
		}
		sc.Signatures = append(sc.Signatures, v)
	}
	return sc
}

func verifySig(s manifest.SignatureRecord, stmt []byte, committed time.Time, keys KeyFunc) (bool, string) {
	k, err := keys(s.Key)
	if err != nil {
		return false, "key not available: " + err.Error()
	}
	if k.Org != s.Org {
		return false, fmt.Sprintf("key is registered to %s", k.Org)
	}
	pub, err := signature.ParsePublicJWK(k.JWK)
	if err != nil {
		return false, "registered key does not parse: " + err.Error()
	}
	if signature.Thumbprint(pub) != s.Key {
		return false, "registered key does not match its id"
	}
	if !k.ActiveAt(committed) {
		return false, "key was not active when the step was committed"
	}
	if err := signature.Verify(pub, stmt, s.Sig); err != nil {
		return false, "signature does not verify: " + err.Error()
	}
	return true, ""
}
