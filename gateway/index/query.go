package index

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"wasteledger/manifest"
)

// Scan selects the facts Facts reads.
type Scan struct {
	Region   string    // GB/T 2260 division containing the producer's site; "" for all
	From, To time.Time // the manifest's span (every time it records) overlaps [From, To); zero for unbounded
	IDs      []string  // only these manifests, when not empty
	Steps    bool      // read Fact.Steps and Fact.Legs too
}

func (s Scan) where() (string, []any, error) { return s.whereScan(false) }

// whereScan builds the filter; with scan, its terms use no index (a unary
// + on each column), so that SQLite reads the table in key order.
func (s Scan) whereScan(scan bool) (string, []any, error) {
	var where []string
	var args []any
	p := ""
	if scan {
		p = "+"
	}
	if s.Region != "" {
		lo, hi, err := RegionRange(s.Region)
		if err != nil {
			return "", nil, err
		}
		where = append(where, p+"m.region >= ? AND "+p+"m.region < ?")
		args = append(args, lo, hi)
	}
	if !s.To.IsZero() {
		where = append(where, p+"m.first_at < ?")
		args = append(args, s.To.UnixNano())
	}
	if !s.From.IsZero() {
		where = append(where, p+"m.last_at >= ?")
		args = append(args, s.From.UnixNano())
	}
	if len(s.IDs) > 0 {
		where = append(where, "m.id IN (SELECT value FROM json_each(?))")
		args = append(args, mustJSON(s.IDs))
	}
	if len(where) == 0 {
		return "", nil, nil
	}
	return " WHERE " + strings.Join(where, " AND "), args, nil
}

// child is a cursor over rows of a child table, ordered by manifest id.
type child struct {
	rows *sql.Rows
	id   string // manifest id of the row read ahead; "" when exhausted
	scan func(rows *sql.Rows, id *string) error
	err  error
}

func (c *child) next() {
	if c.rows.Next() {
		c.err = c.scan(c.rows, &c.id)
		return
	}
	c.id, c.err = "", c.rows.Err()
}

// Facts calls fn with the fact of every manifest s selects, in manifest
// number order. The *Fact is reused between calls: copy what you keep.
func (ix *Index) Facts(ctx context.Context, s Scan, fn func(*Fact) error) error {
	where, args, err := s.where()
	if err != nil {
		return err
	}
	tx, err := ix.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return manifest.Errorf(manifest.Unavailable, "index: facts: %w", err)
	}
	defer tx.Rollback()
	// Two plans. A broad selection (most of the index) scans every table
	// in primary-key order — all ordered by manifest number, so they merge
	// without sorting — and skips the rows of manifests not selected. A
	// narrow one collects the selected numbers first and looks up their
	// rows.
	from, childWhere, childArgs := "manifests m", "", []any(nil)
	broad := len(s.IDs) == 0
	if broad && s.Region != "" && s.Region[2:] != "0000" {
		var sel, all int64
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM manifests m"+where, args...).Scan(&sel); err != nil {
			return manifest.Errorf(manifest.Unavailable, "index: facts: %w", err)
		}
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM manifests").Scan(&all); err != nil {
			return manifest.Errorf(manifest.Unavailable, "index: facts: %w", err)
		}
		broad = sel*4 >= all
	}
	if broad {
		if where, args, err = s.whereScan(true); err != nil {
			return err
		}
	} else {
		ids := s.IDs
		if len(ids) == 0 {
			if ids, err = ix.ManifestIDs(ctx, s); err != nil {
				return err
			}
		}
		from, where, args = "manifests m", " WHERE m.id IN (SELECT value FROM json_each(?))", []any{mustJSON(ids)}
		childWhere, childArgs = " WHERE c.manifest_id IN (SELECT value FROM json_each(?))", args
	}
	q := func(cols, table, order string) (*sql.Rows, error) {
		return tx.QueryContext(ctx, "SELECT "+cols+" FROM "+table+childWhere+" ORDER BY "+order, childArgs...)
	}
	var cur *Fact
	var line *FactLine
	findLine := func(n int) *FactLine {
		if line != nil && line.No == n {
			return line
		}
		line = cur.Line(n)
		return line
	}
	var lineRow struct {
		no, origin, recv int
		code, decision   string
		decl, gen        int64
		w, a, r          int64
	}
	var procRow struct {
		line         int
		method       string
		qty, at, ptx int64
	}
	var outRow struct {
		line     int
		material string
		g        int64
	}
	var unitRow struct {
		line int
		unit string
	}
	var fuRow struct {
		followup, kind string
		line           int
		grams          int64
	}
	var stepRow FactStep
	children := []struct {
		cols, from, order string
		scan              func(rows *sql.Rows, id *string) error
		apply             func()
	}{
		{"c.manifest_id, c.line, c.code, c.declared_g, COALESCE(c.generated, 0), c.origin_line, c.received, c.weighed_g, c.accepted_g, c.refused_g, c.decision",
			"lines c", "c.manifest_id, c.line",
			func(rows *sql.Rows, id *string) error {
				r := &lineRow
				return rows.Scan(id, &r.no, &r.code, &r.decl, &r.gen, &r.origin, &r.recv, &r.w, &r.a, &r.r, &r.decision)
			},
			func() {
				r := &lineRow
				cur.Lines = append(cur.Lines, FactLine{No: r.no, Code: r.code, DeclaredG: r.decl, Generated: r.gen, OriginLine: r.origin,
					Received: r.recv == 1, WeighedG: r.w, AcceptedG: r.a, RefusedG: r.r, Decision: manifest.Decision(r.decision)})
				line = nil
			}},
		{"c.manifest_id, c.line, c.method, c.qty_g, c.at, c.committed", "processing c", "c.manifest_id, c.line",
			func(rows *sql.Rows, id *string) error {
				r := &procRow
				return rows.Scan(id, &r.line, &r.method, &r.qty, &r.at, &r.ptx)
			},
			func() {
				if l := findLine(procRow.line); l != nil {
					l.Processing = &FactProcessing{Method: procRow.method, QtyG: procRow.qty, At: procRow.at, Tx: procRow.ptx}
				}
			}},
		{"c.manifest_id, c.line, c.material, c.qty_g", "outputs c", "c.manifest_id, c.line, c.seq",
			func(rows *sql.Rows, id *string) error {
				r := &outRow
				return rows.Scan(id, &r.line, &r.material, &r.g)
			},
			func() {
				if l := findLine(outRow.line); l != nil && l.Processing != nil {
					l.Processing.Outputs = append(l.Processing.Outputs, FactOutput{Material: outRow.material, G: outRow.g})
				}
			}},
		{"c.manifest_id, c.line, c.unit", "units c", "c.manifest_id, c.line, c.unit",
			func(rows *sql.Rows, id *string) error {
				return rows.Scan(id, &unitRow.line, &unitRow.unit)
			},
			func() {
				if l := findLine(unitRow.line); l != nil {
					l.Units = append(l.Units, unitRow.unit)
				}
			}},
		{"c.manifest_id, c.followup, c.kind, c.line, c.grams", "followups c", "c.manifest_id, c.followup, c.line",
			func(rows *sql.Rows, id *string) error {
				r := &fuRow
				return rows.Scan(id, &r.followup, &r.kind, &r.line, &r.grams)
			},
			func() {
				cur.Followups = append(cur.Followups, FactFollowup{Manifest: fuRow.followup, Kind: fuRow.kind, Line: fuRow.line, Grams: fuRow.grams})
			}},
	}
	if s.Steps {
		children = append(children, struct {
			cols, from, order string
			scan              func(rows *sql.Rows, id *string) error
			apply             func()
		}{"c.manifest_id, c.step, c.at, c.committed, c.from_org, c.to_org", "steps c", "c.manifest_id, c.seq",
			func(rows *sql.Rows, id *string) error {
				return rows.Scan(id, &stepRow.Step, &stepRow.At, &stepRow.Tx, &stepRow.From, &stepRow.To)
			},
			func() { cur.Steps = append(cur.Steps, stepRow) }})
	}
	curs := make([]*child, len(children))
	for i, c := range children {
		rows, err := q(c.cols, c.from, c.order)
		if err != nil {
			return manifest.Errorf(manifest.Unavailable, "index: facts %s: %w", c.from, err)
		}
		defer rows.Close()
		curs[i] = &child{rows: rows, scan: c.scan}
		curs[i].next()
	}
	rows, err := tx.QueryContext(ctx, `SELECT m.id, m.version, m.hash, m.status, m.stream, m.producer, m.receiver, m.receiver_permit, m.legs, m.region,
		m.method, m.approval, m.ref_original, m.ref_kind, m.paper_number, m.paper_completed, m.created, m.updated, m.flags,
		COALESCE(m.signed_at, 0), COALESCE(m.signed_tx, 0), COALESCE(m.picked_at, 0), COALESCE(m.picked_tx, 0),
		COALESCE(m.delivered_at, 0), COALESCE(m.delivered_tx, 0), COALESCE(m.received_at, 0), COALESCE(m.received_tx, 0),
		COALESCE(m.closed_at, 0), COALESCE(m.closed_tx, 0), COALESCE(m.cancelled_at, 0), COALESCE(m.cancelled_tx, 0)
		FROM `+from+where+" ORDER BY m.id", args...)
	if err != nil {
		return manifest.Errorf(manifest.Unavailable, "index: facts: %w", err)
	}
	defer rows.Close()
	var f Fact
	var legs string
	for rows.Next() {
		lines, fus, steps := f.Lines[:0], f.Followups[:0], f.Steps[:0]
		f = Fact{Lines: lines, Followups: fus, Steps: steps}
		if err := rows.Scan(&f.ID, &f.Version, &f.Hash, &f.Status, &f.Stream, &f.Producer, &f.Receiver, &f.ReceiverPermit, &legs, &f.Region,
			&f.Method, &f.Approval, &f.RefOriginal, &f.RefKind, &f.PaperNumber, &f.PaperCompleted, &f.Created, &f.Updated, &f.Flags,
			&f.Signed.At, &f.Signed.Tx, &f.PickedUp.At, &f.PickedUp.Tx, &f.Delivered.At, &f.Delivered.Tx, &f.Received.At, &f.Received.Tx,
			&f.Closed.At, &f.Closed.Tx, &f.Cancelled.At, &f.Cancelled.Tx); err != nil {
			return manifest.Errorf(manifest.Unavailable, "index: facts: %w", err)
		}
		if s.Steps {
			if err := manifest.Decode([]byte(legs), &f.Legs); err != nil {
				return manifest.Errorf(manifest.Internal, "index: legs of %s: %w", f.ID, err)
			}
		}
		cur, line = &f, nil
		for i, c := range curs {
			for c.err == nil && c.id != "" && c.id < f.ID {
				c.next() // a child row without its manifest: the check reports it
			}
			for c.err == nil && c.id == f.ID {
				children[i].apply()
				c.next()
			}
			if c.err != nil {
				return manifest.Errorf(manifest.Unavailable, "index: facts %s: %w", children[i].from, c.err)
			}
		}
		if len(f.Lines) == 0 {
			f.Lines = nil
		}
		if len(f.Followups) == 0 {
			f.Followups = nil
		}
		if len(f.Steps) == 0 {
			f.Steps = nil
		}
		if err := fn(&f); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return manifest.Errorf(manifest.Unavailable, "index: facts: %w", err)
	}
	return nil
}

// Head is what the index holds of a manifest, for the ledger/index check.
type Head struct {
	ID         string
	Version    int    // of the summary row; 0 when the row is missing
	Hash       string // of the summary row
	LogVersion int    // highest version in the version log
	LogHash    string
}

// Heads lists every manifest the index knows of — from its summary rows or
// its version log — in number order.
func (ix *Index) Heads(ctx context.Context, fn func(Head) error) error {
	rows, err := ix.r.QueryContext(ctx, `
		SELECT id, MAX(version), MAX(hash), MAX(log_version), MAX(log_hash) FROM (
			SELECT id, version, hash, 0 AS log_version, '' AS log_hash FROM manifests
			UNION ALL
			SELECT manifest_id, 0, '', version, hash FROM (SELECT manifest_id, MAX(version) AS version, hash FROM versions GROUP BY manifest_id)
		) GROUP BY id ORDER BY id`)
	if err != nil {
		return manifest.Errorf(manifest.Unavailable, "index: heads: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h Head
		if err := rows.Scan(&h.ID, &h.Version, &h.Hash, &h.LogVersion, &h.LogHash); err != nil {
			return manifest.Errorf(manifest.Unavailable, "index: heads: %w", err)
		}
		if err := fn(h); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Org returns a registered organisation.
func (ix *Index) Org(ctx context.Context, id string) (manifest.Org, error) {
	var o manifest.Org
	return o, ix.doc(ctx, "SELECT doc FROM orgs WHERE id = ?", id, "organisation", &o)
}

// Key returns a registered key.
func (ix *Index) Key(ctx context.Context, kid string) (manifest.Key, error) {
	var k manifest.Key
	return k, ix.doc(ctx, "SELECT doc FROM keys WHERE kid = ?", kid, "key", &k)
}

// Permit returns a permit.
func (ix *Index) Permit(ctx context.Context, id string) (manifest.Permit, error) {
	var p manifest.Permit
	return p, ix.doc(ctx, "SELECT doc FROM permits WHERE id = ?", id, "permit", &p)
}

// Config returns the rule configuration on the ledger (the default until a
// regulator set one).
func (ix *Index) Config(ctx context.Context) (manifest.Config, error) {
	c := manifest.DefaultConfig()
	err := ix.doc(ctx, "SELECT doc FROM config WHERE id = ?", 1, "config", &c)
	if manifest.CodeOf(err) == manifest.NotFound {
		return manifest.DefaultConfig(), nil
	}
	return c, err
}

func (ix *Index) doc(ctx context.Context, q string, id any, what string, v any) error {
	var doc string
	err := ix.r.QueryRowContext(ctx, q, id).Scan(&doc)
	if err == sql.ErrNoRows {
		return manifest.Errorf(manifest.NotFound, "%s %v is not in the index", what, id)
	}
	if err != nil {
		return manifest.Errorf(manifest.Unavailable, "index: %s: %w", what, err)
	}
	if err := manifest.Decode([]byte(doc), v); err != nil {
		return manifest.Errorf(manifest.Internal, "index: %s %v: %w", what, id, err)
	}
	return nil
}

// Orgs returns every registered organisation by id.
func (ix *Index) Orgs(ctx context.Context) (map[string]manifest.Org, error) {
	out := map[string]manifest.Org{}
	err := ix.docs(ctx, "SELECT doc FROM orgs", func(b []byte) error {
		var o manifest.Org
		if err := manifest.Decode(b, &o); err != nil {
			return err
		}
		out[o.ID] = o
		return nil
	})
	return out, err
}

// Permits returns every permit by id.
func (ix *Index) Permits(ctx context.Context) (map[string]manifest.Permit, error) {
	out := map[string]manifest.Permit{}
	err := ix.docs(ctx, "SELECT doc FROM permits", func(b []byte) error {
		var p manifest.Permit
		if err := manifest.Decode(b, &p); err != nil {
			return err
		}
		out[p.ID] = p
		return nil
	})
	return out, err
}

func (ix *Index) docs(ctx context.Context, q string, fn func([]byte) error, args ...any) error {
	rows, err := ix.r.QueryContext(ctx, q, args...)
	if err != nil {
		return manifest.Errorf(manifest.Unavailable, "index: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return manifest.Errorf(manifest.Unavailable, "index: %w", err)
		}
		if err := fn(b); err != nil {
			return manifest.Errorf(manifest.Internal, "index: %w", err)
		}
	}
	return rows.Err()
}

// Signers returns the key ids that signed any step of the manifests,
// sorted.
func (ix *Index) Signers(ctx context.Context, ids []string) ([]string, error) {
	rows, err := ix.r.QueryContext(ctx, `SELECT DISTINCT json_extract(j.value, '$.kid') AS kid FROM steps s, json_each(s.signers) j
		WHERE s.manifest_id IN (SELECT value FROM json_each(?)) ORDER BY kid`, mustJSON(ids))
	if err != nil {
		return nil, manifest.Errorf(manifest.Unavailable, "index: signers: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, manifest.Errorf(manifest.Unavailable, "index: signers: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// Snapshot is a published indicator snapshot as indexed.
type Snapshot struct {
	ID     string    `json:"id"`
	Org    string    `json:"org"`
	Region string    `json:"region"`
	Period string    `json:"period"`
	Digest string    `json:"digest"`
	TxID   string    `json:"tx_id"`
	Time   time.Time `json:"time"`
}

// Snapshots lists the published snapshots of a region and period (either
// may be empty for all), newest first.
func (ix *Index) Snapshots(ctx context.Context, region, period string) ([]Snapshot, error) {
	rows, err := ix.r.QueryContext(ctx, `SELECT id, org, region, period, digest, tx_id, time FROM snapshots
		WHERE (? = '' OR region = ?) AND (? = '' OR period = ?) ORDER BY time DESC, id`, region, region, period, period)
	if err != nil {
		return nil, manifest.Errorf(manifest.Unavailable, "index: snapshots: %w", err)
	}
	defer rows.Close()
	out := []Snapshot{}
	for rows.Next() {
		var s Snapshot
		var t int64
		if err := rows.Scan(&s.ID, &s.Org, &s.Region, &s.Period, &s.Digest, &s.TxID, &t); err != nil {
			return nil, manifest.Errorf(manifest.Unavailable, "index: snapshots: %w", err)
		}
		s.Time = nsTime(t)
		out = append(out, s)
	}
	return out, rows.Err()
}

// ManifestIDs lists the manifests a scan selects, in number order.
func (ix *Index) ManifestIDs(ctx context.Context, s Scan) ([]string, error) {
	where, args, err := s.where()
	if err != nil {
		return nil, err
	}
	rows, err := ix.r.QueryContext(ctx, "SELECT m.id FROM manifests m"+where+" ORDER BY m.id", args...)
	if err != nil {
		return nil, manifest.Errorf(manifest.Unavailable, "index: ids: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("index: ids: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
