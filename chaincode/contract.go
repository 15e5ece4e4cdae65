package chaincode

import (
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"time"

	sjson "github.com/segmentio/encoding/json"

	"wasteledger/manifest"
	"wasteledger/manifest/catalog"
	"wasteledger/manifest/jcs"
	"wasteledger/manifest/signature"
)

// Keys of the world state. Plain keys (not Fabric composite keys) so that
// both ledgers order them the same way.
const (
	keyConfig   = "config"
	prefixOrg   = "org~"
	prefixKey   = "key~"
	prefixPerm  = "permit~"
	prefixMan   = "manifest~"
	prefixSeq   = "seq~"
	prefixUnit  = "unit~"
	prefixCap   = "capacity~"
	prefixDiag  = "diag~"
	prefixIndic = "indicators~"
	prefixReq   = "request~"
)

// ManifestKey is the state key of a manifest.
func ManifestKey(id string) string { return prefixMan + id }

// Contract is the wasteledger contract. Its zero value is not usable; call
// New. It is safe for concurrent use: hosts run transactions in parallel.
type Contract struct {
	// pubs caches parsed public keys by key id. A key id is the RFC 7638
	// thumbprint of its JWK, so an id names exactly one public key and the
	// cache can never disagree with the ledger; the key's status is still
	// read from state in every transaction.
	pubs sync.Map // string → *ecdsa.PublicKey

	orgs    decoded[manifest.Org]
	keys    decoded[manifest.Key]
	permits decoded[manifest.Permit]
	configs decoded[manifest.Config]
	// Kept only by a contract serving endorsing peers (NewForPeers).
	written  *routes
	verified *verified
}

// New returns the contract.
func New() *Contract { return &Contract{} }

// NewForPeers returns the contract for a chaincode server. Every endorsing
// peer that uses the server runs each proposal, and each of its reads is a
// round trip to the peer: this contract remembers the party signatures
// that verified and, for the manifest versions it wrote, the permits their
// next step reads (read with the manifest, in one round trip). Neither
// changes what a transaction reads, writes or answers.
func NewForPeers() *Contract { return &Contract{written: &routes{}, verified: &verified{}} }

type txFunc func(c *Contract, st State, args [][]byte) ([]byte, error)

// Functions lists every transaction function by name. Query functions do
// not write; hosts may evaluate them without ordering.
var Functions = map[string]struct {
	Fn    txFunc
	Query bool
	Args  int
}{
	"RegisterOrg":       {(*Contract).registerOrg, false, 1},
	"RegisterKey":       {(*Contract).registerKey, false, 1},
	"RevokeKey":         {(*Contract).revokeKey, false, 1},
	"IssuePermit":       {(*Contract).issuePermit, false, 1},
	"RevokePermit":      {(*Contract).revokePermit, false, 1},
	"SetConfig":         {(*Contract).setConfig, false, 1},
	"CreateManifest":    {(*Contract).createManifest, false, 1},
	"SignManifest":      {stepFn(manifest.StepSign), false, 1},
	"Handover":          {stepFn(manifest.StepPickup, manifest.StepRelay, manifest.StepDelivery), false, 1},
	"Receive":           {stepFn(manifest.StepReceive), false, 1},
	"Process":           {stepFn(manifest.StepProcess), false, 1},
	"CloseManifest":     {stepFn(manifest.StepClose), false, 1},
	"CancelManifest":    {stepFn(manifest.StepCancel), false, 1},
	"Diagnose":          {(*Contract).diagnose, false, 0},
	"PublishIndicators": {(*Contract).publishIndicators, false, 1},
	"GetIndicators":     {getDoc(prefixIndic, "indicator snapshot"), true, 1},
	"GetManifest":       {getDoc(prefixMan, "manifest"), true, 1},
	"ManifestHistory":   {(*Contract).manifestHistory, true, 1},
	"GetOrg":            {getDoc(prefixOrg, "organisation"), true, 1},
	"GetKey":            {getDoc(prefixKey, "key"), true, 1},
	"GetPermit":         {getDoc(prefixPerm, "permit"), true, 1},
	"GetConfig":         {(*Contract).getConfig, true, 0},
}

// Invoke runs one transaction function. Every error it returns is a
// *manifest.Error whose message starts with its code.
func (c *Contract) Invoke(st State, fn string, args [][]byte) ([]byte, error) {
	f, ok := Functions[fn]
	if !ok {
		return nil, manifest.Errorf(manifest.Invalid, "unknown function %q", fn)
	}
	if st.Caller().MSP == "" {
		return nil, manifest.Errorf(manifest.Unauthenticated, "%s: the caller has no ledger identity", fn)
	}
	if len(args) != f.Args {
		return nil, manifest.Errorf(manifest.Invalid, "%s takes %d argument(s), got %d", fn, f.Args, len(args))
	}
	out, err := f.Fn(c, st, args)
	if err != nil {
		return nil, manifest.WithOp(err, fn, "")
	}
	return out, nil
}

// Event is the payload of every event the contract emits: one per write
// transaction. It is a wire contract (the off-chain index and webhooks
// consume it); see testdata/events for examples.
type Event struct {
	V        int               `json:"v"`
	Type     string            `json:"type"`
	TxID     string            `json:"tx_id"`
	Time     time.Time         `json:"time"`
	Caller   Caller            `json:"caller"`
	Manifest json.RawMessage   `json:"manifest,omitempty"` // the new version, canonical JSON as stored
	Hash     string            `json:"hash,omitempty"`     // its hash, what the next statement's prev names
	Original json.RawMessage   `json:"original,omitempty"` // the original's new version, for a return or onward manifest
	Org      *manifest.Org     `json:"org,omitempty"`
	Key      *manifest.Key     `json:"key,omitempty"`
	Permit   *manifest.Permit  `json:"permit,omitempty"`
	Config   *manifest.Config  `json:"config,omitempty"`
	Snapshot json.RawMessage   `json:"snapshot,omitempty"`
	Probe    map[string]string `json:"probe,omitempty"`
}

// EventVersion is the version of the Event format.
const EventVersion = 1

func emit(st State, e Event) error {
	e.V = EventVersion
	e.TxID = st.TxID()
	e.Time = st.TxTime().UTC()
	e.Caller = st.Caller()
	// The documents are canonical JSON the contract itself just encoded:
	// they are appended as they are rather than re-scanned by encoding/json.
	docs := []struct {
		name string
		doc  json.RawMessage
	}{{"manifest", e.Manifest}, {"original", e.Original}, {"snapshot", e.Snapshot}}
	size := 512 + len(e.Manifest) + len(e.Original) + len(e.Snapshot)
	e.Manifest, e.Original, e.Snapshot = nil, nil, nil
	// As encoding/json writes it (TestEventsAsEncodingJSON), into a buffer
	// the documents fit in.
	b, err := sjson.Append(make([]byte, 0, size), e, sjson.EscapeHTML|sjson.SortMapKeys)
	if err != nil {
		return manifest.Errorf(manifest.Internal, "encode event: %w", err)
	}
	for _, d := range docs {
		if d.doc == nil {
			continue
		}
		b = append(b[:len(b)-1], `,"`...)
		b = append(b, d.name...)
		b = append(b, `":`...)
		b = append(b, d.doc...)
		b = append(b, '}')
	}
	return st.Emit(e.Type, b)
}

// --- state helpers -------------------------------------------------------

func getJSON(st State, key, what, id string, v any) error {
	b, err := st.Get(key)
	if err != nil {
		return manifest.Errorf(manifest.Unavailable, "read %s: %w", key, err)
	}
	if b == nil {
		return manifest.Errorf(manifest.NotFound, "%s %s not found", what, id)
	}
	if err := manifest.Decode(b, v); err != nil {
		return manifest.Errorf(manifest.Internal, "decode %s: %w", key, err)
	}
	return nil
}

func exists(st State, key string) (bool, error) {
	b, err := st.Get(key)
	if err != nil {
		return false, manifest.Errorf(manifest.Unavailable, "read %s: %w", key, err)
	}
	return b != nil, nil
}

func putJSON(st State, key string, v any) ([]byte, error) {
	b, err := jcs.Marshal(v)
	if err != nil {
		return nil, manifest.Errorf(manifest.Internal, "encode %s: %w", key, err)
	}
	if err := st.Put(key, b); err != nil {
		return nil, manifest.Errorf(manifest.Unavailable, "write %s: %w", key, err)
	}
	return b, nil
}

func (c *Contract) config(st State) (manifest.Config, error) {
	b, err := st.Get(keyConfig)
	if err != nil {
		return manifest.Config{}, manifest.Errorf(manifest.Unavailable, "read config: %w", err)
	}
	if b == nil {
		return manifest.DefaultConfig(), nil
	}
	var cfg manifest.Config
	if err := c.configs.decode(b, &cfg); err != nil {
		return cfg, manifest.Errorf(manifest.Internal, "decode config: %w", err)
	}
	return cfg, nil
}

func (c *Contract) org(st State, id string) (manifest.Org, error) {
	var o manifest.Org
	err := getCached(st, prefixOrg+id, "organisation", id, &c.orgs, &o)
	return o, err
}

func (c *Contract) permit(st State, id string) (manifest.Permit, error) {
	var p manifest.Permit
	err := getCached(st, prefixPerm+id, "permit", id, &c.permits, &p)
	return p, err
}

// getCached is getJSON through a decoding cache.
func getCached[T any](st State, key, what, id string, cache *decoded[T], v *T) error {
	b, err := st.Get(key)
	if err != nil {
		return manifest.Errorf(manifest.Unavailable, "read %s: %w", key, err)
	}
	if b == nil {
		return manifest.Errorf(manifest.NotFound, "%s %s not found", what, id)
	}
	if err := cache.decode(b, v); err != nil {
		return manifest.Errorf(manifest.Internal, "decode %s: %w", key, err)
	}
	return nil
}

func loadManifest(st State, id string) (*manifest.Manifest, []byte, error) {
	b, err := st.Get(ManifestKey(id))
	if err != nil {
		return nil, nil, manifest.Errorf(manifest.Unavailable, "read manifest: %w", err)
	}
	if b == nil {
		return nil, nil, manifest.Errorf(manifest.NotFound, "manifest %s not found", id)
	}
	var m manifest.Manifest
	if err := manifest.DecodeShared(b, &m); err != nil {
		return nil, nil, manifest.Errorf(manifest.Internal, "decode manifest %s: %w", id, err)
	}
	return &m, b, nil
}

func isRegulator(st State, cfg manifest.Config) bool {
	msp := st.Caller().MSP
	for _, r := range cfg.RegulatorMSPs {
		if r == msp {
			return true
		}
	}
	return false
}

func (c *Contract) requireRegulator(st State) (manifest.Config, error) {
	cfg, err := c.config(st)
	if err != nil {
		return cfg, err
	}
	if !isRegulator(st, cfg) {
		return cfg, manifest.Errorf(manifest.Forbidden, "only a regulator may do this (caller %s)", st.Caller().MSP)
	}
	return cfg, nil
}

// --- organisations, keys, permits, configuration -------------------------

func (c *Contract) registerOrg(st State, args [][]byte) ([]byte, error) {
	if _, err := c.requireRegulator(st); err != nil {
		return nil, err
	}
	var o manifest.Org
	if err := manifest.DecodeStrict(args[0], &o); err != nil {
		return nil, err
	}
	o.Registered = st.TxTime().UTC()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if ok, err := exists(st, prefixOrg+o.ID); err != nil || ok {
		if err == nil {
			err = manifest.FieldError(manifest.Conflict, "id", "organisation %s is already registered", o.ID)
		}
		return nil, err
	}
	b, err := putJSON(st, prefixOrg+o.ID, o)
	if err != nil {
		return nil, err
	}
	return b, emit(st, Event{Type: "org.registered", Org: &o})
}

// KeyRegistration is the argument of RegisterKey.
type KeyRegistration struct {
	Org    string           `json:"org"`
	Holder string           `json:"holder"`
	Kind   manifest.KeyKind `json:"kind"`
	JWK    json.RawMessage  `json:"jwk"`
}

func (c *Contract) registerKey(st State, args [][]byte) ([]byte, error) {
	var r KeyRegistration
	if err := manifest.DecodeStrict(args[0], &r); err != nil {
		return nil, err
	}
	pub, err := signature.ParsePublicJWK(r.JWK)
	if err != nil {
		return nil, manifest.FieldError(manifest.Invalid, "jwk", "%v", err)
	}
	k := manifest.Key{
		ID:         signature.Thumbprint(pub),
		Org:        r.Org,
		Holder:     r.Holder,
		Kind:       r.Kind,
		JWK:        signature.MarshalPublicJWK(pub),
		Registered: st.TxTime().UTC(),
	}
	if err := manifest.ValidateKey(k); err != nil {
		return nil, err
	}
	o, err := c.org(st, r.Org)
	if err != nil {
		return nil, err
	}
	if err := c.requireHostOrRegulator(st, o); err != nil {
		return nil, err
	}
	k.MSP = o.MSP
	if ok, err := exists(st, prefixKey+k.ID); err != nil || ok {
		if err == nil {
			err = manifest.FieldError(manifest.Conflict, "jwk", "key %s is already registered", k.ID)
		}
		return nil, err
	}
	b, err := putJSON(st, prefixKey+k.ID, k)
	if err != nil {
		return nil, err
	}
	return b, emit(st, Event{Type: "key.registered", Key: &k})
}

func (c *Contract) requireHostOrRegulator(st State, o manifest.Org) error {
	if st.Caller().MSP == o.MSP {
		return nil
	}
	cfg, err := c.config(st)
	if err != nil {
		return err
	}
	if isRegulator(st, cfg) {
		return nil
	}
	return manifest.Errorf(manifest.Forbidden, "%s does not submit for organisation %s", st.Caller().MSP, o.ID)
}

// Revocation is the argument of RevokeKey and RevokePermit.
type Revocation struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

func (c *Contract) revokeKey(st State, args [][]byte) ([]byte, error) {
	var r Revocation
	if err := manifest.DecodeStrict(args[0], &r); err != nil {
		return nil, err
	}
	if r.Reason == "" || len(r.Reason) > 500 {
		return nil, manifest.FieldError(manifest.Invalid, "reason", "a revocation states its reason (at most 500 bytes)")
	}
	var k manifest.Key
	if err := getJSON(st, prefixKey+r.ID, "key", r.ID, &k); err != nil {
		return nil, err
	}
	o, err := c.org(st, k.Org)
	if err != nil {
		return nil, err
	}
	if err := c.requireHostOrRegulator(st, o); err != nil {
		return nil, err
	}
	if k.Revoked != nil {
		return nil, manifest.Errorf(manifest.Conflict, "key %s is already revoked", k.ID)
	}
	now := st.TxTime().UTC()
	k.Revoked, k.Reason = &now, r.Reason
	b, err := putJSON(st, prefixKey+k.ID, k)
	if err != nil {
		return nil, err
	}
	return b, emit(st, Event{Type: "key.revoked", Key: &k})
}

func (c *Contract) issuePermit(st State, args [][]byte) ([]byte, error) {
	if _, err := c.requireRegulator(st); err != nil {
		return nil, err
	}
	var p manifest.Permit
	if err := manifest.DecodeStrict(args[0], &p); err != nil {
		return nil, err
	}
	p.Issued, p.Revoked, p.Reason = st.TxTime().UTC(), nil, ""
	if err := p.Validate(); err != nil {
		return nil, err
	}
	o, err := c.org(st, p.Org)
	if err != nil {
		return nil, err
	}
	need := manifest.Receiver
	if p.Kind == manifest.Transport {
		need = manifest.Carrier
	}
	if !o.Has(need) {
		return nil, manifest.FieldError(manifest.RuleViolation, "org", "a %s is issued to a %s; %s is not one", p.Kind, need, o.ID)
	}
	if ok, err := exists(st, prefixPerm+p.ID); err != nil || ok {
		if err == nil {
			err = manifest.FieldError(manifest.Conflict, "id", "permit %s already exists", p.ID)
		}
		return nil, err
	}
	b, err := putJSON(st, prefixPerm+p.ID, p)
	if err != nil {
		return nil, err
	}
	return b, emit(st, Event{Type: "permit.issued", Permit: &p})
}

func (c *Contract) revokePermit(st State, args [][]byte) ([]byte, error) {
	if _, err := c.requireRegulator(st); err != nil {
		return nil, err
	}
	var r Revocation
	if err := manifest.DecodeStrict(args[0], &r); err != nil {
		return nil, err
	}
	if r.Reason == "" || len(r.Reason) > 500 {
		return nil, manifest.FieldError(manifest.Invalid, "reason", "a revocation states its reason (at most 500 bytes)")
	}
	p, err := c.permit(st, r.ID)
	if err != nil {
		return nil, err
	}
	if p.Revoked != nil {
		return nil, manifest.Errorf(manifest.Conflict, "permit %s is already revoked", p.ID)
	}
	now := st.TxTime().UTC()
	p.Revoked, p.Reason = &now, r.Reason
	b, err := putJSON(st, prefixPerm+p.ID, p)
	if err != nil {
		return nil, err
	}
	return b, emit(st, Event{Type: "permit.revoked", Permit: &p})
}

func (c *Contract) setConfig(st State, args [][]byte) ([]byte, error) {
	if _, err := c.requireRegulator(st); err != nil {
		return nil, err
	}
	var cfg manifest.Config
	if err := manifest.DecodeStrict(args[0], &cfg); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b, err := putJSON(st, keyConfig, cfg)
	if err != nil {
		return nil, err
	}
	return b, emit(st, Event{Type: "config.set", Config: &cfg})
}

func (c *Contract) getConfig(st State, _ [][]byte) ([]byte, error) {
	cfg, err := c.config(st)
	if err != nil {
		return nil, err
	}
	return jcs.Marshal(cfg)
}

func getDoc(prefix, what string) txFunc {
	return func(_ *Contract, st State, args [][]byte) ([]byte, error) {
		id := string(args[0])
		b, err := st.Get(prefix + id)
		if err != nil {
			return nil, manifest.Errorf(manifest.Unavailable, "read %s: %w", what, err)
		}
		if b == nil {
			return nil, manifest.Errorf(manifest.NotFound, "%s %s not found", what, id)
		}
		return b, nil
	}
}

// --- manifests -------------------------------------------------------------

func (c *Contract) createManifest(st State, args [][]byte) ([]byte, error) {
	var d manifest.Draft
	if err := manifest.DecodeStrict(args[0], &d); err != nil {
		return nil, err
	}
	now := st.TxTime().UTC()
	// What creation reads, in one round trip where the ledger can.
	ahead := []string{keyConfig, prefixOrg + d.Producer, prefixOrg + d.Receiver}
	if d.ReceiverPermit != "" {
		ahead = append(ahead, prefixPerm+d.ReceiverPermit)
	}
	for _, leg := range d.Legs {
		ahead = append(ahead, prefixOrg+leg.Carrier, prefixPerm+leg.Permit)
	}
	if d.Request != "" {
		ahead = append(ahead, prefixReq+d.Producer+"~"+d.Request)
	}
	st, err := readAhead(st, ahead...)
	if err != nil {
		return nil, manifest.Errorf(manifest.Unavailable, "read: %w", err)
	}
	cfg, err := c.config(st)
	if err != nil {
		return nil, err
	}
	f := manifest.CreateFacts{Now: now, Config: cfg}
	if f.Producer, err = c.org(st, d.Producer); err != nil {
		return nil, manifest.WithOp(err, "", "")
	}
	if st.Caller().MSP != f.Producer.MSP {
		return nil, manifest.FieldError(manifest.Forbidden, "producer", "%s does not submit for producer %s", st.Caller().MSP, d.Producer)
	}
	if f.Receiver, err = c.org(st, d.Receiver); err != nil {
		return nil, err
	}
	if d.ReceiverPermit != "" {
		p, err := c.permit(st, d.ReceiverPermit)
		if err != nil && manifest.CodeOf(err) != manifest.NotFound {
			return nil, err
		}
		if err == nil {
			f.ReceiverPermit = &p
		}
	}
	for i, leg := range d.Legs {
		o, err := c.org(st, leg.Carrier)
		if err != nil {
			return nil, manifest.FieldError(manifest.CodeOf(err), fmt.Sprintf("legs[%d].carrier", i), "%v", err)
		}
		p, err := c.permit(st, leg.Permit)
		if err != nil {
			return nil, manifest.FieldError(manifest.RuleViolation, fmt.Sprintf("legs[%d].permit", i), "transport permit %s not found", leg.Permit)
		}
		f.Carriers = append(f.Carriers, o)
		f.CarrierPermits = append(f.CarrierPermits, p)
	}
	var origBytes []byte
	if d.Ref != nil {
		orig, _, err := loadManifest(st, d.Ref.Original)
		if err != nil && manifest.CodeOf(err) != manifest.NotFound {
			return nil, err
		}
		f.Original = orig
	}

	var reqKey string
	if d.Request != "" {
		// A repeated creation returns the manifest the first one made.
		reqKey = prefixReq + d.Producer + "~" + d.Request
		if b, err := st.Get(reqKey); err != nil {
			return nil, manifest.Errorf(manifest.Unavailable, "read request: %w", err)
		} else if b != nil {
			_, doc, err := loadManifest(st, string(b))
			return doc, err
		}
	}

	year := now.In(manifest.China).Year()
	series := prefixSeq + manifest.SeriesKey(year, f.Producer.Region)
	serial := 0
	if b, err := st.Get(series); err != nil {
		return nil, manifest.Errorf(manifest.Unavailable, "read serial: %w", err)
	} else if b != nil {
		if serial, err = strconv.Atoi(string(b)); err != nil {
			return nil, manifest.Errorf(manifest.Internal, "decode serial %s: %w", series, err)
		}
	}
	serial++
	id, err := manifest.Number(year, f.Producer.Region, serial)
	if err != nil {
		return nil, err
	}
	m, err := manifest.NewManifest(id, d, f)
	if err != nil {
		return nil, err
	}
	for _, l := range m.Lines {
		for _, u := range l.Units {
			if err := claimUnit(st, u, id); err != nil {
				return nil, err
			}
		}
	}
	if reqKey != "" {
		if err := st.Put(reqKey, []byte(id)); err != nil {
			return nil, manifest.Errorf(manifest.Unavailable, "write request: %w", err)
		}
	}
	if err := st.Put(series, []byte(strconv.Itoa(serial))); err != nil {
		return nil, manifest.Errorf(manifest.Unavailable, "write serial: %w", err)
	}
	if f.Original != nil {
		f.Original.AddFollowup(m, now)
		if origBytes, err = putJSON(st, ManifestKey(f.Original.ID), f.Original); err != nil {
			return nil, err
		}
	}
	b, err := putJSON(st, ManifestKey(id), m)
	if err != nil {
		return nil, err
	}
	h := manifest.Hash(b)
	c.written.remember(h, m)
	return b, emit(st, Event{Type: "manifest.created", Manifest: b, Hash: h, Original: origBytes})
}

// claimUnit records that a battery unit travels on manifest id, refusing a
// unit that is on another manifest still open.
func claimUnit(st State, unit, id string) error {
	b, err := st.Get(prefixUnit + unit)
	if err != nil {
		return manifest.Errorf(manifest.Unavailable, "read unit: %w", err)
	}
	if b != nil {
		other, _, err := loadManifest(st, string(b))
		if err != nil {
			return err
		}
		if other.Status.Open() {
			return manifest.FieldError(manifest.RuleViolation, "lines.units", "battery %s is already on open manifest %s", unit, other.ID)
		}
	}
	if err := st.Put(prefixUnit+unit, []byte(id)); err != nil {
		return manifest.Errorf(manifest.Unavailable, "write unit: %w", err)
	}
	return nil
}

func stepFn(steps ...manifest.Step) txFunc {
	return func(c *Contract, st State, args [][]byte) ([]byte, error) {
		return c.step(st, args[0], steps)
	}
}

// step runs one signed step: parse and canonicalise the statement, check it
// names the current version, verify every party signature against the keys
// on the ledger, check the rules, and store the next version.
func (c *Contract) step(st State, raw []byte, steps []manifest.Step) ([]byte, error) {
	env, s, canonical, err := manifest.ParseSigned(raw)
	if err != nil {
		return nil, err
	}
	allowed := false
	for _, want := range steps {
		allowed = allowed || s.Step == want
	}
	if !allowed {
		return nil, manifest.FieldError(manifest.Invalid, "statement.step", "this transaction takes %v, not %s", steps, s.Step)
	}
	// What every step reads, in one round trip where the ledger can. The
	// parties' organisations are not among them: a key records its
	// organisation's ledger member (see partyKey).
	ahead := []string{ManifestKey(s.Manifest), keyConfig}
	for _, p := range []*manifest.Party{s.From, s.To} {
		if p != nil {
			ahead = append(ahead, prefixKey+p.Key)
		}
	}
	// The permits the step reads are named by the version the statement
	// names (prev). When this contract wrote that version, it knows them
	// and reads them in the same round trip. The read set does not depend
	// on it: a step whose stored version is not prev fails below, and one
	// whose version is prev reads exactly these permits either way.
	if r, ok := c.written.of(s.Prev); ok {
		for _, id := range permitsRead(r, s.Step) {
			if id != "" {
				ahead = append(ahead, prefixPerm+id)
			}
		}
	}
	if st, err = readAhead(st, ahead...); err != nil {
		return nil, manifest.Errorf(manifest.Unavailable, "read: %w", err)
	}
	m, stored, err := loadManifest(st, s.Manifest)
	if err != nil {
		return nil, manifest.WithOp(err, "", s.Manifest)
	}
	fail := func(err error) ([]byte, error) { return nil, manifest.WithOp(err, string(s.Step), m.ID) }
	digest := manifest.Hash(canonical)
	for _, r := range m.Steps {
		if r.Digest == digest {
			return fail(manifest.FieldError(manifest.Conflict, "statement", "statement already recorded in transaction %s", r.TxID))
		}
	}
	if prev := manifest.Hash(stored); s.Prev != prev {
		return fail(manifest.FieldError(manifest.Conflict, "statement.prev",
			"the manifest changed since the statement was signed: it is now version %d (%s)", m.Version, m.Status))
	}
	cfg, err := c.config(st)
	if err != nil {
		return fail(err)
	}
	now := st.TxTime().UTC()

	// The submitter must be the ledger member of one of the signing parties.
	caller := st.Caller().MSP
	hosted := false
	keys := map[string]manifest.PublicKey{}
	for _, p := range []*manifest.Party{s.From, s.To} {
		if p == nil {
			continue
		}
		k, msp, err := c.partyKey(st, p)
		if err != nil {
			return fail(err)
		}
		hosted = hosted || msp == caller
		keys[k.ID] = k
	}
	if !hosted {
		return fail(manifest.Errorf(manifest.Forbidden, "%s does not submit for any party of this statement", caller))
	}
	verify := signature.Verify
	if c.verified != nil {
		verify = c.verified.verify
	}
	sigs, err := manifest.VerifySignatures(s, canonical, env.Signatures, keys, now, verify)
	if err != nil {
		return fail(err)
	}

	f := manifest.StepFacts{Now: now, Config: cfg, TxID: st.TxID()}
	permits := permitsRead(m, s.Step)
	for i, target := range []**manifest.Permit{&f.ReceiverPermit, &f.CarrierPermit} {
		if id := permits[i]; id != "" {
			p, err := c.permit(st, id)
			if err != nil {
				return fail(err)
			}
			*target = &p
		}
	}
	var capKey string
	if s.Step == manifest.StepReceive && f.ReceiverPermit != nil {
		capKey = fmt.Sprintf("%s%s~%04d", prefixCap, f.ReceiverPermit.ID, s.Time.In(manifest.China).Year())
		if b, err := st.Get(capKey); err != nil {
			return fail(manifest.Errorf(manifest.Unavailable, "read capacity: %w", err))
		} else if b != nil {
			if f.CapacityUsedG, err = strconv.ParseInt(string(b), 10, 64); err != nil {
				return fail(manifest.Errorf(manifest.Internal, "decode %s: %w", capKey, err))
			}
		}
	}
	if err := m.Apply(s, canonical, sigs, f); err != nil {
		return fail(err)
	}
	if capKey != "" {
		used := f.CapacityUsedG + m.AcceptedGrams()
		if err := st.Put(capKey, []byte(strconv.FormatInt(used, 10))); err != nil {
			return fail(manifest.Errorf(manifest.Unavailable, "write capacity: %w", err))
		}
	}
	b, err := putJSON(st, ManifestKey(m.ID), m)
	if err != nil {
		return fail(err)
	}
	h := manifest.Hash(b)
	c.written.remember(h, m)
	return b, emit(st, Event{Type: "manifest." + eventVerb(s.Step), Manifest: b, Hash: h})
}

// permitsRead names the permits a step on m reads, as ids: the receiver's
// licence (or "") and the transport permit of the leg the handover is
// about (or "").
func permitsRead(m *manifest.Manifest, step manifest.Step) [2]string {
	var ids [2]string
	if m.ReceiverPermit != "" && (step == manifest.StepSign || step == manifest.StepDelivery || step == manifest.StepReceive || step == manifest.StepProcess) {
		ids[0] = m.ReceiverPermit
	}
	if step.Handover() {
		leg := m.Leg + 1
		if step == manifest.StepDelivery {
			leg = m.Leg
		}
		if leg >= 0 && leg < len(m.Legs) {
			ids[1] = m.Legs[leg].Permit
		}
	}
	return ids
}

func eventVerb(s manifest.Step) string {
	switch s {
	case manifest.StepSign:
		return "signed"
	case manifest.StepReceive:
		return "received"
	case manifest.StepProcess:
		return "processed"
	case manifest.StepClose:
		return "closed"
	case manifest.StepCancel:
		return "cancelled"
	}
	return string(s) // pickup, relay, delivery
}

// partyKey reads the key a statement's party signs with and the ledger
// member of the party's organisation. A key registered to the party's
// organisation records that member, so the organisation is read only for
// older keys and when something is wrong; its errors come first, as a
// missing organisation is the first thing wrong with such a party.
func (c *Contract) partyKey(st State, p *manifest.Party) (manifest.PublicKey, string, error) {
	k, kerr := c.publicKey(st, p.Key)
	if kerr == nil && k.Org == p.Org && k.MSP != "" {
		return k, k.MSP, nil
	}
	o, err := c.org(st, p.Org)
	if err != nil {
		return k, "", manifest.FieldError(manifest.CodeOf(err), "statement.party", "%v", err)
	}
	return k, o.MSP, kerr
}

// publicKey reads a registered key and its parsed public key.
func (c *Contract) publicKey(st State, kid string) (manifest.PublicKey, error) {
	var k manifest.Key
	if err := getCached(st, prefixKey+kid, "key", kid, &c.keys, &k); err != nil {
		if manifest.CodeOf(err) == manifest.NotFound {
			return manifest.PublicKey{}, manifest.FieldError(manifest.BadSignature, "statement.key", "key %s is not registered", kid)
		}
		return manifest.PublicKey{}, err
	}
	if v, ok := c.pubs.Load(kid); ok {
		return manifest.PublicKey{Key: k, Pub: v.(*ecdsa.PublicKey)}, nil
	}
	pub, err := signature.ParsePublicJWK(k.JWK)
	if err != nil {
		return manifest.PublicKey{}, manifest.Errorf(manifest.Internal, "registered key %s: %w", kid, err)
	}
	if signature.Thumbprint(pub) != kid {
		return manifest.PublicKey{}, manifest.Errorf(manifest.Internal, "registered key %s does not match its id", kid)
	}
	c.pubs.Store(kid, pub)
	return manifest.PublicKey{Key: k, Pub: pub}, nil
}

// HistoryEntry is one committed version of a manifest.
type HistoryEntry struct {
	TxID     string          `json:"tx_id"`
	Time     time.Time       `json:"time"`
	Version  int             `json:"version"`
	Status   manifest.Status `json:"status"`
	Hash     string          `json:"hash"`
	Manifest json.RawMessage `json:"manifest"`
}

func (c *Contract) manifestHistory(st State, args [][]byte) ([]byte, error) {
	id := string(args[0])
	vs, err := st.History(ManifestKey(id))
	if err != nil {
		return nil, manifest.Errorf(manifest.Unavailable, "read history: %w", err)
	}
	if len(vs) == 0 {
		return nil, manifest.Errorf(manifest.NotFound, "manifest %s not found", id)
	}
	out := make([]HistoryEntry, 0, len(vs))
	for _, v := range vs {
		var head struct {
			Version int             `json:"version"`
			Status  manifest.Status `json:"status"`
		}
		if err := manifest.Decode(v.Value, &head); err != nil {
			return nil, manifest.Errorf(manifest.Internal, "decode history of %s: %w", id, err)
		}
		out = append(out, HistoryEntry{TxID: v.TxID, Time: v.Time.UTC(), Version: head.Version, Status: head.Status, Hash: manifest.Hash(v.Value), Manifest: v.Value})
	}
	return json.Marshal(out)
}

// diagnose proves the ledger's isolation: it writes a key and reads it back
// in the same transaction. On a ledger with Fabric semantics the read does
// not see the write.
func (c *Contract) diagnose(st State, _ [][]byte) ([]byte, error) {
	key := prefixDiag + st.TxID()
	if err := st.Put(key, []byte("written")); err != nil {
		return nil, manifest.Errorf(manifest.Unavailable, "write: %w", err)
	}
	b, err := st.Get(key)
	if err != nil {
		return nil, manifest.Errorf(manifest.Unavailable, "read: %w", err)
	}
	probe := map[string]string{"saw_own_write": strconv.FormatBool(b != nil)}
	if err := emit(st, Event{Type: "diag.probe", Probe: probe}); err != nil {
		return nil, err
	}
	return json.Marshal(probe)
}

// SignedSnapshot is the argument of PublishIndicators: a regulator's
// indicator snapshot and its party signature over the snapshot's canonical
// JSON. The contract stores the canonical bytes, so that anyone can later
// prove a published figure unchanged.
type SignedSnapshot struct {
	Snapshot  json.RawMessage    `json:"snapshot"`
	Signature manifest.Signature `json:"signature"`
}

// snapshotHead is what the contract reads of a snapshot; the figures
// themselves are the publisher's.
type snapshotHead struct {
	Org    string `json:"org"`    // the publishing regulator
	Region string `json:"region"` // GB/T 2260
	Period string `json:"period"` // 2026, 2026-Q3, 2026-11
}

// Published is a stored indicator snapshot.
type Published struct {
	ID        string                   `json:"id"`
	Org       string                   `json:"org"`
	Region    string                   `json:"region"`
	Period    string                   `json:"period"`
	Digest    string                   `json:"digest"`   // base64url SHA-256 of Snapshot
	Snapshot  string                   `json:"snapshot"` // canonical JSON, as signed
	Signature manifest.SignatureRecord `json:"signature"`
	TxID      string                   `json:"tx_id"`
	Time      time.Time                `json:"time"`
}

func (c *Contract) publishIndicators(st State, args [][]byte) ([]byte, error) {
	var in SignedSnapshot
	if err := manifest.DecodeStrict(args[0], &in); err != nil {
		return nil, err
	}
	if len(in.Snapshot) == 0 || len(in.Snapshot) > 512<<10 {
		return nil, manifest.FieldError(manifest.Invalid, "snapshot", "a snapshot of at most 512 KiB is required")
	}
	canonical, err := jcs.Canonicalize(in.Snapshot)
	if err != nil {
		return nil, manifest.FieldError(manifest.Invalid, "snapshot", "%v", err)
	}
	var head snapshotHead
	if err := manifest.Decode(canonical, &head); err != nil {
		return nil, manifest.FieldError(manifest.Invalid, "snapshot", "%v", err)
	}
	if err := catalog.ValidRegion(head.Region); err != nil {
		return nil, manifest.FieldError(manifest.Invalid, "snapshot.region", "%v", err)
	}
	if !periodPattern.MatchString(head.Period) {
		return nil, manifest.FieldError(manifest.Invalid, "snapshot.period", "period must be YYYY, YYYY-Qn or YYYY-MM")
	}
	o, err := c.org(st, head.Org)
	if err != nil {
		return nil, err
	}
	if !o.Has(manifest.Regulator) || o.MSP != st.Caller().MSP {
		return nil, manifest.FieldError(manifest.Forbidden, "snapshot.org", "indicators are published by a regulator, for itself")
	}
	k, err := c.publicKey(st, in.Signature.Key)
	if err != nil {
		return nil, err
	}
	if k.Org != o.ID || !k.ActiveAt(st.TxTime()) {
		return nil, manifest.FieldError(manifest.BadSignature, "signature.kid", "key %s is not an active key of %s", k.ID, o.ID)
	}
	if err := signature.Verify(k.Pub, canonical, in.Signature.Sig); err != nil {
		return nil, manifest.FieldError(manifest.BadSignature, "signature.sig", "snapshot signature does not verify: %v", err)
	}
	digest := manifest.Hash(canonical)
	p := Published{ID: head.Region + "~" + head.Period + "~" + digest[:16], Org: o.ID, Region: head.Region, Period: head.Period,
		Digest: digest, Snapshot: string(canonical), TxID: st.TxID(), Time: st.TxTime().UTC(),
		Signature: manifest.SignatureRecord{Org: o.ID, Key: k.ID, Sig: in.Signature.Sig, SignedBy: k.SignedBy()}}
	if ok, err := exists(st, prefixIndic+p.ID); err != nil || ok {
		if err == nil {
			err = manifest.Errorf(manifest.Conflict, "snapshot %s is already published", p.ID)
		}
		return nil, err
	}
	b, err := putJSON(st, prefixIndic+p.ID, p)
	if err != nil {
		return nil, err
	}
	return b, emit(st, Event{Type: "indicators.published", Snapshot: b})
}

var periodPattern = regexp.MustCompile(`^\d{4}(-Q[1-4]|-(0[1-9]|1[0-2]))?$`)
