package index

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"wasteledger/chaincode"
	"wasteledger/gateway/ledger"
	"wasteledger/manifest"
	"wasteledger/manifest/jcs"
)

// Apply projects a batch of events, in order, and moves the checkpoint to
// the last one — all in one SQLite transaction. Events at or before the
// checkpoint are skipped, and a manifest version older than the one stored
// never replaces it, so replaying a batch changes nothing.
func (ix *Index) Apply(ctx context.Context, events []ledger.Event) error {
	if len(events) == 0 {
		return nil
	}
	tx, err := ix.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("index: apply: %w", err)
	}
	defer tx.Rollback()
	var cur ledger.Cursor
	var n int64
	if err := tx.QueryRowContext(ctx, "SELECT block, tx, events FROM checkpoint WHERE id = 1").Scan(&cur.Block, &cur.Tx, &n); err != nil {
		return fmt.Errorf("index: apply: %w", err)
	}
	pw := newProjector(ctx, tx)
	// Each event is decoded once, up front: only the newest version of a
	// manifest in the batch needs its rows written; older ones only go to
	// the version log.
	pw.newest = map[string]int{}
	docs := make([]eventDoc, len(events))
	for i, ev := range events {
		if !cur.Before(ev.Cursor) {
			continue
		}
		d := &docs[i]
		if d.err = manifest.Decode(ev.Payload, &d.e); d.err != nil {
			continue // applying the event reports the decoding error
		}
		if m := d.e.Manifest; m != nil && m.Version > pw.newest[m.ID] {
			pw.newest[m.ID] = m.Version
		}
		if len(d.e.Original) > 0 {
			var h struct {
				ID      string `json:"id"`
				Version int    `json:"version"`
			}
			if manifest.Decode(d.e.Original, &h) == nil && h.Version > pw.newest[h.ID] {
				pw.newest[h.ID] = h.Version
			}
		}
	}
	var last ledger.Event
	applied := 0
	for i, ev := range events {
		if !cur.Before(ev.Cursor) {
			continue
		}
		if err := pw.event(ev, &docs[i]); err != nil {
			return fmt.Errorf("index: apply event %d/%d (tx %s): %w", ev.Cursor.Block, ev.Cursor.Tx, ev.TxID, err)
		}
		cur, last = ev.Cursor, ev
		applied++
	}
	if applied == 0 {
		return nil
	}
	now := time.Now()
	if _, err := tx.ExecContext(ctx, "UPDATE checkpoint SET block = ?, tx = ?, events = ?, event_time = ?, applied_at = ? WHERE id = 1",
		cur.Block, cur.Tx, n+int64(applied), nullNS(timeNS(last.Time)), now.UnixNano()); err != nil {
		return fmt.Errorf("index: apply: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("index: apply: %w", err)
	}
	ix.notify(func(s *Status) {
		s.Cursor, s.Events, s.EventTime, s.AppliedAt = cur, n+int64(applied), last.Time.UTC(), now
	})
	return nil
}

// eventDoc is an event decoded once for projecting: the wire event, with
// its manifest document decoded as the projection reads it.
type eventDoc struct {
	e struct {
		chaincode.Event
		Manifest *manifestDoc `json:"manifest,omitempty"` // shadows Event.Manifest
	}
	err error
}

// manifestDoc is a manifest document as the projection reads it: every
// field of manifest.Manifest except, in the recorded steps, the signed
// statement and the signature values — no row holds them, and decoding
// them was most of the work of decoding a document.
type manifestDoc struct {
	manifest.Manifest
	Steps []stepDoc `json:"steps"` // shadows Manifest.Steps
}

// stepDoc is a manifest.Record without Statement, Place and the signature
// values.
type stepDoc struct {
	Step       manifest.Step `json:"step"`
	TxID       string        `json:"tx_id"`
	Committed  time.Time     `json:"committed"`
	Time       time.Time     `json:"time"`
	From       string        `json:"from"`
	To         string        `json:"to"`
	Vehicle    string        `json:"vehicle"`
	Digest     string        `json:"digest"`
	Signatures []signer      `json:"signatures"`
}

// signer is a manifest.SignatureRecord without the signature value: what
// the projection keeps of a step's signatures.
type signer struct {
	Org      string `json:"org"`
	Key      string `json:"kid"`
	SignedBy string `json:"signed_by"`
}

// manifest returns the document as a manifest.Manifest whose steps lack
// what stepDoc leaves out.
func (d *manifestDoc) manifest() *manifest.Manifest {
	m := &d.Manifest
	m.Steps = nil
	if d.Steps != nil {
		m.Steps = make([]manifest.Record, len(d.Steps))
	}
	for i, s := range d.Steps {
		r := manifest.Record{Step: s.Step, TxID: s.TxID, Committed: s.Committed, Time: s.Time, From: s.From, To: s.To, Vehicle: s.Vehicle, Digest: s.Digest}
		if s.Signatures != nil {
			r.Signatures = make([]manifest.SignatureRecord, len(s.Signatures))
			for j, sg := range s.Signatures {
				r.Signatures[j] = manifest.SignatureRecord{Org: sg.Org, Key: sg.Key, SignedBy: sg.SignedBy}
			}
		}
		m.Steps[i] = r
	}
	return m
}

// projector writes the rows of one transaction. Its statements are
// prepared once per connection (the driver's statement cache).
type projector struct {
	ctx    context.Context
	tx     *sql.Tx
	newest map[string]int // highest version of each manifest in the batch (Apply)
	buf    []byte         // scratch for row digests
}

var projectorSQL = map[string]string{
	"version": "SELECT version, status, created, region, first_at, last_at, next_from, next_to, digests FROM manifests WHERE id = ?",
	"log":     "INSERT OR IGNORE INTO versions (manifest_id, version, hash, tx_id, block, tx, time, event) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	"manifest": `INSERT OR REPLACE INTO manifests (id, version, hash, status, stream, producer, receiver, receiver_permit, legs, region, codes,
		declared_g, accepted_g, n_lines, next_step, next_from, next_to, flags, method, approval, ref_original, ref_kind, paper_number, paper_completed,
		created, updated, signed_at, signed_tx, picked_at, picked_tx, delivered_at, delivered_tx, received_at, received_tx, closed_at, closed_tx,
		cancelled_at, cancelled_tx, first_at, last_at, tx_id, block, tx, digests)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	"del.lines":      "DELETE FROM lines WHERE manifest_id = ?",
	"del.processing": "DELETE FROM processing WHERE manifest_id = ?",
	"del.outputs":    "DELETE FROM outputs WHERE manifest_id = ?",
	"del.units":      "DELETE FROM units WHERE manifest_id = ?",
	"del.steps":      "DELETE FROM steps WHERE manifest_id = ?",
	"del.flags":      "DELETE FROM flags WHERE manifest_id = ?",
	"del.followups":  "DELETE FROM followups WHERE manifest_id = ?",
	"del.parties":    "DELETE FROM parties WHERE manifest_id = ?",
	"line": `INSERT INTO lines (manifest_id, line, code, name, qty, unit, declared_g, packages, medical, generated, origin_line, received, weighed_g, accepted_g, refused_g, decision)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	"processing": "INSERT INTO processing (manifest_id, line, method, qty_g, at, committed) VALUES (?, ?, ?, ?, ?, ?)",
	"output":     "INSERT INTO outputs (manifest_id, line, seq, material, qty_g) VALUES (?, ?, ?, ?, ?)",
	"unit":       "INSERT OR REPLACE INTO units (unit, manifest_id, line, chemistry, product_type) VALUES (?, ?, ?, ?, ?)",
	"step":       "INSERT INTO steps (manifest_id, seq, step, tx_id, committed, at, from_org, to_org, vehicle, digest, signers) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	"flag":       "INSERT INTO flags (manifest_id, seq, rule, line, detail, at) VALUES (?, ?, ?, ?, ?, ?)",
	"followup":   "INSERT OR REPLACE INTO followups (manifest_id, followup, kind, line, grams) VALUES (?, ?, ?, ?, ?)",
	"party":      "INSERT OR IGNORE INTO parties (org, manifest_id, role, created) VALUES (?, ?, ?, ?)",
	"org":        "INSERT OR REPLACE INTO orgs (id, name, region, roles, msp, registered, doc) VALUES (?, ?, ?, ?, ?, ?, ?)",
	"key":        "INSERT OR REPLACE INTO keys (kid, org, kind, registered, revoked, doc) VALUES (?, ?, ?, ?, ?, ?)",
	"permit":     "INSERT OR REPLACE INTO permits (id, kind, org, valid_from, valid_to, capacity_t, revoked, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	"config":     "INSERT OR REPLACE INTO config (id, doc) VALUES (1, ?)",
	"snapshot":   "INSERT OR REPLACE INTO snapshots (id, org, region, period, digest, tx_id, time, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
}

func newProjector(ctx context.Context, tx *sql.Tx) *projector {
	return &projector{ctx: ctx, tx: tx}
}

func (p *projector) exec(name string, args ...any) error {
	if _, err := p.tx.ExecContext(p.ctx, projectorSQL[name], args...); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// event projects one event, as Apply decoded it (d).
func (p *projector) event(ev ledger.Event, d *eventDoc) error {
	if d.err != nil {
		return fmt.Errorf("decode event: %w", d.err)
	}
	e := &d.e
	pos := position{TxID: ev.TxID, Cursor: ev.Cursor, Time: ev.Time, Event: e.Type}
	if pos.TxID == "" {
		pos.TxID = e.TxID
	}
	switch {
	case e.Manifest != nil:
		hash := e.Hash
		if hash == "" {
			// Not in the event: hash the canonical form of the document as
			// the event holds it.
			var raw struct {
				Manifest json.RawMessage `json:"manifest"`
			}
			if err := manifest.Decode(ev.Payload, &raw); err != nil {
				return fmt.Errorf("decode event: %w", err)
			}
			var err error
			if hash, err = canonicalHash(raw.Manifest); err != nil {
				return err
			}
		}
		if err := p.put(e.Manifest.manifest(), hash, pos); err != nil {
			return err
		}
		if len(e.Original) > 0 {
			return p.manifestDoc(e.Original, "", pos)
		}
	case e.Org != nil:
		return p.org(*e.Org)
	case e.Key != nil:
		return p.key(*e.Key)
	case e.Permit != nil:
		return p.permit(*e.Permit)
	case e.Config != nil:
		b, err := json.Marshal(e.Config)
		if err != nil {
			return err
		}
		return p.exec("config", string(b))
	case len(e.Snapshot) > 0:
		var pub chaincode.Published
		if err := manifest.Decode(e.Snapshot, &pub); err != nil {
			return fmt.Errorf("decode snapshot: %w", err)
		}
		doc, err := json.Marshal(pub)
		if err != nil {
			return err
		}
		return p.exec("snapshot", pub.ID, pub.Org, pub.Region, pub.Period, pub.Digest, pub.TxID, timeNS(pub.Time), string(doc))
	}
	return nil // diagnostics and unknown events carry nothing to index
}

// position is where a manifest version was committed.
type position struct {
	TxID   string
	Cursor ledger.Cursor
	Time   time.Time
	Event  string
}

// manifestDoc projects a manifest document. hash is the event's; when
// empty it is computed from the canonical form.
func (p *projector) manifestDoc(raw []byte, hash string, pos position) error {
	if hash == "" {
		var err error
		if hash, err = canonicalHash(raw); err != nil {
			return err
		}
	}
	var d manifestDoc
	if err := manifest.Decode(raw, &d); err != nil {
		return fmt.Errorf("decode manifest: %w", err)
	}
	return p.put(d.manifest(), hash, pos)
}

// canonicalHash is the hash of a manifest document's canonical form, what
// the next statement's prev names.
func canonicalHash(doc []byte) (string, error) {
	c, err := jcs.Canonicalize(doc)
	if err != nil {
		return "", fmt.Errorf("canonicalise manifest: %w", err)
	}
	return manifest.Hash(c), nil
}

// stored is what the manifests row holds of the version the index has.
type stored struct {
	version                          int
	status, region, nextFrom, nextTo string
	created, firstAt, lastAt         int64
	digests                          []byte
}

// put writes the rows of the manifest's version m, unless the index
// already holds that version or a newer one; the version log gets the
// version either way.
func (p *projector) put(m *manifest.Manifest, hash string, pos position) error {
	if err := p.exec("log", m.ID, m.Version, hash, pos.TxID, pos.Cursor.Block, pos.Cursor.Tx, timeNS(pos.Time), pos.Event); err != nil {
		return err
	}
	if v, ok := p.newest[m.ID]; ok && m.Version < v {
		return nil // a newer version follows in this batch
	}
	var old stored
	err := p.tx.QueryRowContext(p.ctx, projectorSQL["version"], m.ID).Scan(&old.version, &old.status, &old.created, &old.region,
		&old.firstAt, &old.lastAt, &old.nextFrom, &old.nextTo, &old.digests)
	switch {
	case err == sql.ErrNoRows:
		return p.write(m, hash, pos, nil)
	case err != nil:
		return fmt.Errorf("version: %w", err)
	case old.version >= m.Version:
		return nil
	}
	return p.write(m, hash, pos, &old)
}

// The groups of child rows of a manifest, each with a digest of the rows
// last written (Open's migration 0002), so that a new version rewrites
// only those that changed: lines change at receipt, processing at the
// process step, steps only grow. Steps have a chained digest instead: the
// count and the digest of the rows in order, so that appended steps are
// inserted and the recorded ones left alone.
const (
	groupLines = iota
	groupProcessing
	groupUnits
	groupFlags
	groupFollowups
	groupParties
	nGroups
)

const digestSize = 16

// digests is the stored form: a format byte, a digest per group, the
// number of steps and the chained digest of the steps.
type digests struct {
	group [nGroups][digestSize]byte
	steps uint32
	chain [digestSize]byte
}

const digestsFormat = 1

func (d *digests) bytes() []byte {
	b := make([]byte, 0, 1+nGroups*digestSize+4+digestSize)
	b = append(b, digestsFormat)
	for i := range d.group {
		b = append(b, d.group[i][:]...)
	}
	b = binary.BigEndian.AppendUint32(b, d.steps)
	return append(b, d.chain[:]...)
}

func parseDigests(b []byte) (digests, bool) {
	var d digests
	if len(b) != 1+nGroups*digestSize+4+digestSize || b[0] != digestsFormat {
		return d, false
	}
	b = b[1:]
	for i := range d.group {
		copy(d.group[i][:], b[:digestSize])
		b = b[digestSize:]
	}
	d.steps = binary.BigEndian.Uint32(b)
	copy(d.chain[:], b[4:])
	return d, true
}

// row is one child row: its statement and arguments.
type row struct {
	stmt string
	args []any
}

// appendArgs appends an unambiguous encoding of a row's arguments.
func appendArgs(b []byte, r row) []byte {
	b = append(b, r.stmt...)
	b = append(b, 0)
	for _, a := range r.args {
		switch v := a.(type) {
		case nil:
			b = append(b, 'n')
		case string:
			b = append(b, 's')
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		case int:
			b = append(b, 'i')
			b = binary.AppendVarint(b, int64(v))
		case int64:
			b = append(b, 'i')
			b = binary.AppendVarint(b, v)
		default:
			// Every argument below is one of the above; anything else is
			// encoded by its printed form, tagged with its type.
			b = append(b, 'x')
			s := fmt.Sprintf("%T:%v", v, v)
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
	}
	return b
}

func (p *projector) digest(rows []row) [digestSize]byte {
	p.buf = p.buf[:0]
	for _, r := range rows {
		p.buf = appendArgs(p.buf, r)
	}
	sum := sha256.Sum256(p.buf)
	return [digestSize]byte(sum[:digestSize])
}

func (p *projector) chain(prev [digestSize]byte, r row) [digestSize]byte {
	p.buf = append(p.buf[:0], prev[:]...)
	p.buf = appendArgs(p.buf, r)
	sum := sha256.Sum256(p.buf)
	return [digestSize]byte(sum[:digestSize])
}

var groupDeletes = [nGroups][]string{
	groupLines:      {"del.lines"},
	groupProcessing: {"del.processing", "del.outputs"},
	groupUnits:      {"del.units"},
	groupFlags:      {"del.flags"},
	groupFollowups:  {"del.followups"},
	groupParties:    {"del.parties"},
}

// write writes the rows of version m. old is what the manifests row holds
// of the version the index has; nil rewrites every child row.
func (p *projector) write(m *manifest.Manifest, hash string, pos position, old *stored) error {
	f := FactOf(m, hash)
	var groups [nGroups][]row
	for i, l := range m.Lines {
		fl := f.Lines[i]
		recv := 0
		if fl.Received {
			recv = 1
		}
		groups[groupLines] = append(groups[groupLines], row{"line", []any{m.ID, l.No, l.Code, l.Name, l.Qty, string(l.Unit), fl.DeclaredG, l.Packages, l.Medical, nullNS(fl.Generated),
			l.OriginLine, recv, fl.WeighedG, fl.AcceptedG, fl.RefusedG, string(fl.Decision)}})
		if pr := fl.Processing; pr != nil {
			groups[groupProcessing] = append(groups[groupProcessing], row{"processing", []any{m.ID, l.No, pr.Method, pr.QtyG, pr.At, pr.Tx}})
			for j, o := range pr.Outputs {
				groups[groupProcessing] = append(groups[groupProcessing], row{"output", []any{m.ID, l.No, j + 1, o.Material, o.G}})
			}
		}
		for _, u := range fl.Units {
			chem, typ := unitParts(u)
			groups[groupUnits] = append(groups[groupUnits], row{"unit", []any{u, m.ID, l.No, chem, typ}})
		}
	}
	for i, fl := range m.Flags {
		groups[groupFlags] = append(groups[groupFlags], row{"flag", []any{m.ID, i + 1, fl.Rule, fl.Line, fl.Detail, timeNS(fl.At)}})
	}
	for _, fu := range f.Followups {
		groups[groupFollowups] = append(groups[groupFollowups], row{"followup", []any{m.ID, fu.Manifest, fu.Kind, fu.Line, fu.Grams}})
	}
	groups[groupParties] = append(groups[groupParties], row{"party", []any{m.Producer, m.ID, "producer", f.Created}}, row{"party", []any{m.Receiver, m.ID, "receiver", f.Created}})
	for _, l := range m.Legs {
		groups[groupParties] = append(groups[groupParties], row{"party", []any{l.Carrier, m.ID, "carrier", f.Created}})
	}
	steps := make([]row, len(m.Steps))
	for i, s := range m.Steps {
		steps[i] = row{"step", []any{m.ID, i + 1, string(s.Step), s.TxID, timeNS(s.Committed), timeNS(s.Time), s.From, s.To, s.Vehicle, s.Digest, signersJSON(s.Signatures)}}
	}

	var prev digests
	known := false
	if old != nil {
		prev, known = parseDigests(old.digests)
	}
	var now digests
	for g := range groups {
		now.group[g] = p.digest(groups[g])
		if known && now.group[g] == prev.group[g] {
			continue // the rows written for the stored version are these
		}
		for _, del := range groupDeletes[g] {
			if err := p.exec(del, m.ID); err != nil {
				return err
			}
		}
		for _, r := range groups[g] {
			if err := p.exec(r.stmt, r.args...); err != nil {
				return err
			}
		}
	}
	// Steps: keep the stored ones when the new version starts with them.
	keep := -1
	for i, r := range steps {
		if known && i == int(prev.steps) && now.chain == prev.chain {
			keep = i
		}
		now.chain = p.chain(now.chain, r)
	}
	now.steps = uint32(len(steps))
	if known && len(steps) == int(prev.steps) && now.chain == prev.chain {
		keep = len(steps)
	}
	if keep < 0 {
		keep = 0
		if err := p.exec("del.steps", m.ID); err != nil {
			return err
		}
	}
	for _, r := range steps[keep:] {
		if err := p.exec(r.stmt, r.args...); err != nil {
			return err
		}
	}
	return p.manifestRow(m, &f, hash, pos, old, now.bytes())
}

// manifestRow writes the summary row. Over a stored version it updates the
// row in place, leaving out the indexed columns that did not change, so
// that SQLite leaves their index entries alone.
func (p *projector) manifestRow(m *manifest.Manifest, f *Fact, hash string, pos position, old *stored, dg []byte) error {
	codes := make([]string, 0, len(m.Lines))
	var declared int64
	for _, l := range m.Lines {
		codes = append(codes, l.Code)
		declared += manifest.Grams(l.Qty, l.Unit)
	}
	step, from, to := nextStep(m)
	first, last := f.span()
	cols := []struct {
		name string
		v    any
	}{
		{"id", m.ID}, {"version", m.Version}, {"hash", hash}, {"status", string(m.Status)}, {"stream", string(m.Stream)},
		{"producer", m.Producer}, {"receiver", m.Receiver}, {"receiver_permit", m.ReceiverPermit},
		{"legs", mustJSON(f.Legs)}, {"region", m.Site.Region}, {"codes", mustJSON(codes)},
		{"declared_g", declared}, {"accepted_g", m.AcceptedGrams()}, {"n_lines", len(m.Lines)},
		{"next_step", string(step)}, {"next_from", from}, {"next_to", to}, {"flags", len(m.Flags)},
		{"method", m.Method}, {"approval", m.Approval}, {"ref_original", f.RefOriginal}, {"ref_kind", f.RefKind},
		{"paper_number", f.PaperNumber}, {"paper_completed", f.PaperCompleted}, {"created", f.Created}, {"updated", f.Updated},
		{"signed_at", nullNS(f.Signed.At)}, {"signed_tx", nullNS(f.Signed.Tx)}, {"picked_at", nullNS(f.PickedUp.At)}, {"picked_tx", nullNS(f.PickedUp.Tx)},
		{"delivered_at", nullNS(f.Delivered.At)}, {"delivered_tx", nullNS(f.Delivered.Tx)}, {"received_at", nullNS(f.Received.At)}, {"received_tx", nullNS(f.Received.Tx)},
		{"closed_at", nullNS(f.Closed.At)}, {"closed_tx", nullNS(f.Closed.Tx)}, {"cancelled_at", nullNS(f.Cancelled.At)}, {"cancelled_tx", nullNS(f.Cancelled.Tx)},
		{"first_at", first}, {"last_at", last}, {"tx_id", pos.TxID}, {"block", pos.Cursor.Block}, {"tx", pos.Cursor.Tx}, {"digests", dg},
	}
	if old == nil {
		args := make([]any, len(cols))
		for i, c := range cols {
			args[i] = c.v
		}
		return p.exec("manifest", args...)
	}
	// Columns of an index, left out when they keep their stored values.
	same := map[string]bool{
		"created":   old.created == f.Created,
		"status":    old.status == string(m.Status),
		"next_from": old.nextFrom == from,
		"next_to":   old.nextTo == to,
	}
	region := old.region == m.Site.Region && old.firstAt == first && old.lastAt == last
	same["region"], same["first_at"], same["last_at"] = region, region, region
	var q strings.Builder
	q.WriteString("UPDATE manifests SET ")
	args := make([]any, 0, len(cols))
	for _, c := range cols[1:] {
		if same[c.name] {
			continue
		}
		if len(args) > 0 {
			q.WriteString(", ")
		}
		q.WriteString(c.name)
		q.WriteString(" = ?")
		args = append(args, c.v)
	}
	q.WriteString(" WHERE id = ?")
	args = append(args, m.ID)
	if _, err := p.tx.ExecContext(p.ctx, q.String(), args...); err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	return nil
}

// signersJSON is the steps.signers column: [{org, kid, signed_by}].
func signersJSON(sigs []manifest.SignatureRecord) string {
	ss := make([]signer, 0, len(sigs))
	for _, sg := range sigs {
		ss = append(ss, signer{sg.Org, sg.Key, sg.SignedBy})
	}
	return mustJSON(ss)
}

func unitParts(code string) (chemistry, productType string) {
	if len(code) >= 5 {
		return code[4:5], code[3:4]
	}
	return "", ""
}

func (p *projector) org(o manifest.Org) error {
	doc, err := json.Marshal(o)
	if err != nil {
		return err
	}
	return p.exec("org", o.ID, o.Name, o.Region, mustJSON(o.Roles), o.MSP, timeNS(o.Registered), string(doc))
}

func (p *projector) key(k manifest.Key) error {
	doc, err := json.Marshal(k)
	if err != nil {
		return err
	}
	var revoked int64
	if k.Revoked != nil {
		revoked = timeNS(*k.Revoked)
	}
	return p.exec("key", k.ID, k.Org, string(k.Kind), timeNS(k.Registered), nullNS(revoked), string(doc))
}

func (p *projector) permit(pm manifest.Permit) error {
	doc, err := json.Marshal(pm)
	if err != nil {
		return err
	}
	var revoked int64
	if pm.Revoked != nil {
		revoked = timeNS(*pm.Revoked)
	}
	return p.exec("permit", pm.ID, string(pm.Kind), pm.Org, pm.ValidFrom, pm.ValidTo, pm.CapacityT, nullNS(revoked), string(doc))
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func decodeManifest(doc []byte) (*manifest.Manifest, error) {
	var m manifest.Manifest
	if err := manifest.Decode(doc, &m); err != nil {
		return nil, fmt.Errorf("decode manifest: %w", err)
	}
	return &m, nil
}

// nextStep is m.NextStep, for documents from the ledger that may be
// malformed: a document the lifecycle cannot place waits for nothing.
func nextStep(m *manifest.Manifest) (step manifest.Step, from, to string) {
	defer func() {
		if recover() != nil {
			step, from, to = "", "", ""
		}
	}()
	step, from, to, _ = m.NextStep()
	return step, from, to
}
