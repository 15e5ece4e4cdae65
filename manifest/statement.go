package manifest

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	sjson "github.com/segmentio/encoding/json"

	"wasteledger/manifest/jcs"
)

// Step is a signed step of the lifecycle.
type Step string

const (
	StepSign     Step = "sign"     // the producer signs the manifest
	StepPickup   Step = "pickup"   // producer → first carrier
	StepRelay    Step = "relay"    // carrier → next carrier
	StepDelivery Step = "delivery" // last carrier → receiver
	StepReceive  Step = "receive"  // the receiver records weighed quantities and decisions
	StepProcess  Step = "process"  // the receiver records method and processed quantities
	StepClose    Step = "close"    // the producer confirms the result
	StepCancel   Step = "cancel"   // the producer withdraws the manifest before pickup
)

// Steps lists every step in lifecycle order.
var Steps = []Step{StepSign, StepPickup, StepRelay, StepDelivery, StepReceive, StepProcess, StepClose, StepCancel}

// Handover reports whether the step moves custody between two parties, who
// both sign.
func (s Step) Handover() bool { return s == StepPickup || s == StepRelay || s == StepDelivery }

// StatementVersion is the version of the statement format.
const StatementVersion = 1

// Statement is what parties sign. Its signed bytes are its RFC 8785 (JCS)
// canonical JSON; see DESIGN.md §3 and manifest/signature.
type Statement struct {
	V        int             `json:"v"`
	Manifest string          `json:"manifest"`
	Step     Step            `json:"step"`
	From     *Party          `json:"from,omitempty"` // the signing party; the giver on a handover
	To       *Party          `json:"to,omitempty"`   // the taker on a handover
	Vehicle  string          `json:"vehicle,omitempty"`
	Lines    []StatementLine `json:"lines,omitempty"`
	Time     time.Time       `json:"time"` // when the parties signed, their clock
	Place    *Place          `json:"place,omitempty"`
	Reason   string          `json:"reason,omitempty"` // cancel
	Prev     string          `json:"prev"`             // Hash of the manifest version the parties saw
}

// Party names a signer: its organisation and the key it signs with.
type Party struct {
	Org string `json:"org"`
	Key string `json:"key"` // key id (RFC 7638 thumbprint)
}

// Place is a GPS position in micro-degrees (integers: no floating point is
// stored), with an optional description.
type Place struct {
	LatE6 int64  `json:"lat_e6"`
	LonE6 int64  `json:"lon_e6"`
	Text  string `json:"text,omitempty"`
}

// StatementLine is a line as a step states it. Which fields a step uses:
// handovers: line, code, qty, unit, packages; receive: line, code, qty
// (weighed), unit, accepted, decision, reason; process: line, code, qty
// (processed), unit, method, outputs.
type StatementLine struct {
	Line     int      `json:"line"`
	Code     string   `json:"code"`
	Qty      int64    `json:"qty"`
	Unit     Unit     `json:"unit"`
	Packages int      `json:"packages,omitempty"`
	Accepted *int64   `json:"accepted,omitempty"`
	Decision Decision `json:"decision,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	Method   string   `json:"method,omitempty"`
	Outputs  []Output `json:"outputs,omitempty"`
}

// Signed is a statement with its party signatures, the argument of every
// signed transaction.
type Signed struct {
	Statement  json.RawMessage `json:"statement"`
	Signatures []Signature     `json:"signatures"`
}

// Signature is one party's signature over the canonical statement.
type Signature struct {
	Key string `json:"kid"`
	Sig string `json:"sig"` // IEEE P1363 r‖s, base64url without padding
}

// MaxStatementBytes bounds a statement.
const MaxStatementBytes = 64 << 10

// ParseSigned decodes a signed statement: the envelope strictly, the
// statement canonicalised (RFC 8785) and decoded strictly. It returns the
// statement and its canonical bytes, which are what the signatures cover.
func ParseSigned(raw []byte) (Signed, Statement, []byte, error) {
	var env Signed
	if err := strictJSON(raw, &env); err != nil {
		return env, Statement{}, nil, FieldError(Invalid, "", "signed statement: %v", err)
	}
	if len(env.Statement) == 0 {
		return env, Statement{}, nil, FieldError(Invalid, "statement", "statement is required")
	}
	if len(env.Statement) > MaxStatementBytes {
		return env, Statement{}, nil, FieldError(Invalid, "statement", "statement is larger than %d bytes", MaxStatementBytes)
	}
	canonical, err := jcs.Canonicalize(env.Statement)
	if err != nil {
		return env, Statement{}, nil, FieldError(Invalid, "statement", "not canonicalisable JSON: %v", err)
	}
	var st Statement
	if err := strictJSON(canonical, &st); err != nil {
		return env, Statement{}, nil, FieldError(Invalid, "statement", "%v", err)
	}
	if err := st.validate(); err != nil {
		return env, st, nil, err
	}
	if len(env.Signatures) == 0 || len(env.Signatures) > 2 {
		return env, st, nil, FieldError(Invalid, "signatures", "one or two signatures are required")
	}
	return env, st, canonical, nil
}

var errTrailing = errors.New("trailing data after JSON value")

// strictJSON and Decode use segmentio/encoding/json, which decodes as
// encoding/json does (TestDecodersAgree) in about half the time; decoding is
// a tenth of a handover's cost in the contract.
func strictJSON(b []byte, v any) error { return parseOne(b, v, sjson.DisallowUnknownFields) }

// parseOne decodes the one JSON value b holds, refusing trailing data.
func parseOne(b []byte, v any, flags sjson.ParseFlags) error {
	rest, err := sjson.Parse(b, v, flags)
	if err == nil && len(bytes.TrimSpace(rest)) != 0 {
		return errTrailing
	}
	return err
}

// Decode decodes one JSON value the way json.Unmarshal does. The contract
// uses it for the documents it stored itself.
func Decode(b []byte, v any) error { return sjson.Unmarshal(b, v) }

// DecodeShared is Decode for bytes that never change afterwards, such as a
// committed ledger value: the decoded strings share b's memory instead of
// copying it.
func DecodeShared(b []byte, v any) error { return parseOne(b, v, sjson.DontCopyString) }

// DecodeStrict decodes one JSON value, refusing unknown fields and trailing
// data, into an Invalid error naming the problem.
func DecodeStrict(b []byte, v any) error {
	if err := strictJSON(b, v); err != nil {
		return FieldError(Invalid, "", "%v", err)
	}
	return nil
}

func (st Statement) validate() error {
	if st.V != StatementVersion {
		return FieldError(Invalid, "statement.v", "statement version must be %d", StatementVersion)
	}
	if err := ValidNumber(st.Manifest); err != nil {
		return FieldError(Invalid, "statement.manifest", "%v", err)
	}
	known := false
	for _, s := range Steps {
		known = known || s == st.Step
	}
	if !known {
		return FieldError(Invalid, "statement.step", "unknown step %q", st.Step)
	}
	if st.From == nil {
		return FieldError(Invalid, "statement.from", "the signing party is required")
	}
	if st.Step.Handover() != (st.To != nil) {
		if st.To == nil {
			return FieldError(Invalid, "statement.to", "a handover names the taking party")
		}
		return FieldError(Invalid, "statement.to", "only a handover names a taking party")
	}
	for _, p := range []*Party{st.From, st.To} {
		if p == nil {
			continue
		}
		if err := ValidUSCC(p.Org); err != nil {
			return FieldError(Invalid, "statement.party.org", "%v", err)
		}
		if len(p.Key) != 43 {
			return FieldError(Invalid, "statement.party.key", "key id must be a 43-character RFC 7638 thumbprint")
		}
	}
	if st.Time.IsZero() {
		return FieldError(Invalid, "statement.time", "time is required")
	}
	if len(st.Prev) != 43 {
		return FieldError(Invalid, "statement.prev", "prev must be the 43-character base64url SHA-256 of the manifest version signed")
	}
	if p := st.Place; p != nil {
		if p.LatE6 < -90_000_000 || p.LatE6 > 90_000_000 || p.LonE6 < -180_000_000 || p.LonE6 > 180_000_000 {
			return FieldError(Invalid, "statement.place", "position out of range")
		}
		if err := text("statement.place.text", p.Text, 200, false); err != nil {
			return err
		}
	}
	if err := text("statement.reason", st.Reason, 500, false); err != nil {
		return err
	}
	if len(st.Lines) > maxLines {
		return FieldError(Invalid, "statement.lines", "at most %d lines", maxLines)
	}
	return nil
}

// PublicKey is a parsed registered key.
type PublicKey struct {
	Key
	Pub *ecdsa.PublicKey
}

// VerifySignatures checks that every party of the statement signed it with
// the key it names, that the key is registered to that party's organisation
// and active at the statement's time and at the transaction's, and returns
// the signature records to keep. keys holds the registered keys by id;
// verify checks one signature (signature.Verify, or a cache in front of it).
func VerifySignatures(st Statement, canonical []byte, sigs []Signature, keys map[string]PublicKey, now time.Time,
	verify func(pub *ecdsa.PublicKey, message []byte, sig string) error) ([]SignatureRecord, error) {
	parties := []*Party{st.From}
	if st.To != nil {
		parties = append(parties, st.To)
		if st.To.Org == st.From.Org {
			return nil, FieldError(Invalid, "statement.to", "a handover is between two different organisations")
		}
	}
	if len(sigs) != len(parties) {
		return nil, FieldError(Invalid, "signatures", "%d signatures for %d parties", len(sigs), len(parties))
	}
	out := make([]SignatureRecord, 0, len(parties))
	for i, p := range parties {
		var sig *Signature
		for j := range sigs {
			if sigs[j].Key == p.Key {
				sig = &sigs[j]
			}
		}
		if sig == nil {
			return nil, FieldError(BadSignature, fmt.Sprintf("signatures[%d]", i), "no signature by key %s of %s", p.Key, p.Org)
		}
		k, ok := keys[p.Key]
		if !ok {
			return nil, FieldError(BadSignature, "statement.key", "key %s is not registered", p.Key)
		}
		if k.Org != p.Org {
			return nil, FieldError(BadSignature, "statement.key", "key %s is registered to %s, not %s", p.Key, k.Org, p.Org)
		}
		// A key revoked before the transaction signs nothing any more, even
		// a statement dated earlier: a lost phone's thief could back-date.
		if !k.ActiveAt(now) {
			return nil, FieldError(BadSignature, "statement.key", "key %s is revoked", p.Key)
		}
		if err := verify(k.Pub, canonical, sig.Sig); err != nil {
			return nil, FieldError(BadSignature, fmt.Sprintf("signatures[%d]", i), "signature of %s does not verify: %v", p.Org, err)
		}
		out = append(out, SignatureRecord{Org: p.Org, Key: p.Key, Sig: sig.Sig, SignedBy: k.SignedBy()})
	}
	return out, nil
}
