package index

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
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
	pw, err := newProjector(ctx, tx)
	if err != nil {
		return fmt.Errorf("index: apply: %w", err)
	}
	defer pw.close()
	// Only the newest version of a manifest in the batch needs its rows
	// written; older ones only go to the version log.
	pw.newest = map[string]int{}
	for _, ev := range events {
		if !cur.Before(ev.Cursor) {
			continue
		}
		var h struct {
			Manifest, Original *struct {
				ID      string `json:"id"`
				Version int    `json:"version"`
			}
		}
		if json.Unmarshal(ev.Payload, &h) != nil {
			continue // event reports the decoding error
		}
		for _, m := range []*struct {
			ID      string `json:"id"`
			Version int    `json:"version"`
		}{h.Manifest, h.Original} {
			if m != nil && m.Version > pw.newest[m.ID] {
				pw.newest[m.ID] = m.Version
			}
		}
	}
	var last ledger.Event
	applied := 0
	for _, ev := range events {
		if !cur.Before(ev.Cursor) {
			continue
		}
		if err := pw.event(ev); err != nil {
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

// projector holds the prepared statements of one write transaction.
type projector struct {
	ctx    context.Context
	tx     *sql.Tx
	stmts  map[string]*sql.Stmt
	newest map[string]int // highest version of each manifest in the batch (Apply)
}

var projectorSQL = map[string]string{
	"version": "SELECT version FROM manifests WHERE id = ?",
	"log":     "INSERT OR IGNORE INTO versions (manifest_id, version, hash, tx_id, block, tx, time, event) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	"manifest": `INSERT OR REPLACE INTO manifests (id, version, hash, status, stream, producer, receiver, receiver_permit, legs, region, codes,
		declared_g, accepted_g, n_lines, next_step, next_from, next_to, flags, method, approval, ref_original, ref_kind, paper_number, paper_completed,
		created, updated, signed_at, signed_tx, picked_at, picked_tx, delivered_at, delivered_tx, received_at, received_tx, closed_at, closed_tx,
		cancelled_at, cancelled_tx, first_at, last_at, tx_id, block, tx)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
	"party":      "INSERT OR IGNORE INTO parties (org, manifest_id, role) VALUES (?, ?, ?)",
	"org":        "INSERT OR REPLACE INTO orgs (id, name, region, roles, msp, registered, doc) VALUES (?, ?, ?, ?, ?, ?, ?)",
	"key":        "INSERT OR REPLACE INTO keys (kid, org, kind, registered, revoked, doc) VALUES (?, ?, ?, ?, ?, ?)",
	"permit":     "INSERT OR REPLACE INTO permits (id, kind, org, valid_from, valid_to, capacity_t, revoked, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	"config":     "INSERT OR REPLACE INTO config (id, doc) VALUES (1, ?)",
	"snapshot":   "INSERT OR REPLACE INTO snapshots (id, org, region, period, digest, tx_id, time, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
}

func newProjector(ctx context.Context, tx *sql.Tx) (*projector, error) {
	p := &projector{ctx: ctx, tx: tx, stmts: make(map[string]*sql.Stmt, len(projectorSQL))}
	for name, q := range projectorSQL {
		st, err := tx.PrepareContext(ctx, q)
		if err != nil {
			p.close()
			return nil, fmt.Errorf("prepare %s: %w", name, err)
		}
		p.stmts[name] = st
	}
	return p, nil
}

func (p *projector) close() {
	for _, st := range p.stmts {
		st.Close()
	}
}

func (p *projector) exec(name string, args ...any) error {
	if _, err := p.stmts[name].ExecContext(p.ctx, args...); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// event projects one event.
func (p *projector) event(ev ledger.Event) error {
	var e chaincode.Event
	if err := json.Unmarshal(ev.Payload, &e); err != nil {
		return fmt.Errorf("decode event: %w", err)
	}
	pos := position{TxID: ev.TxID, Cursor: ev.Cursor, Time: ev.Time, Event: e.Type}
	if pos.TxID == "" {
		pos.TxID = e.TxID
	}
	switch {
	case len(e.Manifest) > 0:
		if err := p.manifestDoc(e.Manifest, e.Hash, pos); err != nil {
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
		if err := json.Unmarshal(e.Snapshot, &pub); err != nil {
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
		c, err := jcs.Canonicalize(raw)
		if err != nil {
			return fmt.Errorf("canonicalise manifest: %w", err)
		}
		hash = manifest.Hash(c)
	}
	var m manifest.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("decode manifest: %w", err)
	}
	return p.put(&m, hash, pos)
}

// put replaces every row of the manifest with its version m, unless the
// index already holds that version or a newer one; the version log gets
// the version either way.
func (p *projector) put(m *manifest.Manifest, hash string, pos position) error {
	if err := p.exec("log", m.ID, m.Version, hash, pos.TxID, pos.Cursor.Block, pos.Cursor.Tx, timeNS(pos.Time), pos.Event); err != nil {
		return err
	}
	if v, ok := p.newest[m.ID]; ok && m.Version < v {
		return nil // a newer version follows in this batch
	}
	var have int
	err := p.stmts["version"].QueryRowContext(p.ctx, m.ID).Scan(&have)
	switch {
	case err == sql.ErrNoRows:
	case err != nil:
		return fmt.Errorf("version: %w", err)
	case have >= m.Version:
		return nil
	}
	return p.write(m, hash, pos)
}

func (p *projector) write(m *manifest.Manifest, hash string, pos position) error {
	f := FactOf(m, hash)
	for _, t := range []string{"del.lines", "del.processing", "del.outputs", "del.units", "del.steps", "del.flags", "del.followups", "del.parties"} {
		if err := p.exec(t, m.ID); err != nil {
			return err
		}
	}
	codes := make([]string, 0, len(m.Lines))
	var declared int64
	for _, l := range m.Lines {
		codes = append(codes, l.Code)
		declared += manifest.Grams(l.Qty, l.Unit)
	}
	step, from, to := nextStep(m)
	first, last := f.span()
	if err := p.exec("manifest", m.ID, m.Version, hash, string(m.Status), string(m.Stream), m.Producer, m.Receiver, m.ReceiverPermit,
		mustJSON(f.Legs), m.Site.Region, mustJSON(codes), declared, m.AcceptedGrams(), len(m.Lines), string(step), from, to, len(m.Flags),
		m.Method, m.Approval, f.RefOriginal, f.RefKind, f.PaperNumber, f.PaperCompleted, f.Created, f.Updated,
		nullNS(f.Signed.At), nullNS(f.Signed.Tx), nullNS(f.PickedUp.At), nullNS(f.PickedUp.Tx), nullNS(f.Delivered.At), nullNS(f.Delivered.Tx),
		nullNS(f.Received.At), nullNS(f.Received.Tx), nullNS(f.Closed.At), nullNS(f.Closed.Tx), nullNS(f.Cancelled.At), nullNS(f.Cancelled.Tx),
		first, last, pos.TxID, pos.Cursor.Block, pos.Cursor.Tx); err != nil {
		return err
	}
	for i, l := range m.Lines {
		fl := f.Lines[i]
		recv := 0
		if fl.Received {
			recv = 1
		}
		if err := p.exec("line", m.ID, l.No, l.Code, l.Name, l.Qty, string(l.Unit), fl.DeclaredG, l.Packages, l.Medical, nullNS(fl.Generated),
			l.OriginLine, recv, fl.WeighedG, fl.AcceptedG, fl.RefusedG, string(fl.Decision)); err != nil {
			return err
		}
		if pr := fl.Processing; pr != nil {
			if err := p.exec("processing", m.ID, l.No, pr.Method, pr.QtyG, pr.At, pr.Tx); err != nil {
				return err
			}
			for j, o := range pr.Outputs {
				if err := p.exec("output", m.ID, l.No, j+1, o.Material, o.G); err != nil {
					return err
				}
			}
		}
		for _, u := range fl.Units {
			chem, typ := unitParts(u)
			if err := p.exec("unit", u, m.ID, l.No, chem, typ); err != nil {
				return err
			}
		}
	}
	for i, s := range m.Steps {
		type signer struct {
			Org      string `json:"org"`
			Key      string `json:"kid"`
			SignedBy string `json:"signed_by"`
		}
		ss := make([]signer, 0, len(s.Signatures))
		for _, sg := range s.Signatures {
			ss = append(ss, signer{sg.Org, sg.Key, sg.SignedBy})
		}
		if err := p.exec("step", m.ID, i+1, string(s.Step), s.TxID, timeNS(s.Committed), timeNS(s.Time), s.From, s.To, s.Vehicle, s.Digest, mustJSON(ss)); err != nil {
			return err
		}
	}
	for i, fl := range m.Flags {
		if err := p.exec("flag", m.ID, i+1, fl.Rule, fl.Line, fl.Detail, timeNS(fl.At)); err != nil {
			return err
		}
	}
	for _, fu := range f.Followups {
		if err := p.exec("followup", m.ID, fu.Manifest, fu.Kind, fu.Line, fu.Grams); err != nil {
			return err
		}
	}
	if err := p.exec("party", m.Producer, m.ID, "producer"); err != nil {
		return err
	}
	if err := p.exec("party", m.Receiver, m.ID, "receiver"); err != nil {
		return err
	}
	for _, l := range m.Legs {
		if err := p.exec("party", l.Carrier, m.ID, "carrier"); err != nil {
			return err
		}
	}
	return nil
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
	if err := json.Unmarshal(doc, &m); err != nil {
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
