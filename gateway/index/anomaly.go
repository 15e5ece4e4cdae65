package index

import (
	"context"
	"database/sql"
	"sort"
	"strings"
	"time"

	"wasteledger/manifest"
)

// Severity of an anomaly.
type Severity string

const (
	Low    Severity = "low"
	Medium Severity = "medium"
	High   Severity = "high"
)

// Finding is what a reconciliation rule found: Key names the finding
// (rule and subject), so that a finding seen again is the same anomaly.
type Finding struct {
	Key       string
	Rule      string
	Severity  Severity
	Detail    string
	Manifests []string
}

// Anomaly is a finding as stored, with when it was detected, whether it
// still holds and who acknowledged it.
type Anomaly struct {
	ID             int64      `json:"id"`
	Rule           string     `json:"rule"`
	Severity       Severity   `json:"severity"`
	Detail         string     `json:"detail"`
	Manifests      []string   `json:"manifests"`
	DetectedAt     time.Time  `json:"detected_at"`
	LastSeen       time.Time  `json:"last_seen"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"` // the finding no longer holds
	AcknowledgedBy string     `json:"acknowledged_by,omitempty"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	Note           string     `json:"note,omitempty"`
}

// Record stores the findings of one run of the given rules at now: new
// findings become anomalies, known ones are marked seen (and reopened if
// they had been resolved), and open anomalies of those rules that were not
// found again are marked resolved. It returns how many anomalies are new
// and how many were resolved.
func (ix *Index) Record(ctx context.Context, rules []string, findings []Finding, now time.Time) (added, resolved int, err error) {
	tx, err := ix.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, manifest.Errorf(manifest.Unavailable, "index: record: %w", err)
	}
	defer tx.Rollback()
	ns := now.UnixNano()
	seen := map[string]bool{}
	for _, f := range findings {
		if seen[f.Key] {
			continue
		}
		seen[f.Key] = true
		ms := append([]string(nil), f.Manifests...)
		sort.Strings(ms)
		var id int64
		err := tx.QueryRowContext(ctx, "SELECT id FROM anomalies WHERE key = ?", f.Key).Scan(&id)
		switch {
		case err == sql.ErrNoRows:
			res, err := tx.ExecContext(ctx, `INSERT INTO anomalies (key, rule, severity, detail, manifests, detected_at, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				f.Key, f.Rule, string(f.Severity), f.Detail, mustJSON(ms), ns, ns)
			if err != nil {
				return 0, 0, manifest.Errorf(manifest.Unavailable, "index: record: %w", err)
			}
			if id, err = res.LastInsertId(); err != nil {
				return 0, 0, manifest.Errorf(manifest.Unavailable, "index: record: %w", err)
			}
			added++
		case err != nil:
			return 0, 0, manifest.Errorf(manifest.Unavailable, "index: record: %w", err)
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE anomalies SET severity = ?, detail = ?, manifests = ?, last_seen = ?, resolved_at = NULL WHERE id = ?`,
				string(f.Severity), f.Detail, mustJSON(ms), ns, id); err != nil {
				return 0, 0, manifest.Errorf(manifest.Unavailable, "index: record: %w", err)
			}
		}
		for _, m := range ms {
			if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO anomaly_manifests (manifest_id, anomaly_id) VALUES (?, ?)", m, id); err != nil {
				return 0, 0, manifest.Errorf(manifest.Unavailable, "index: record: %w", err)
			}
		}
	}
	if len(rules) > 0 {
		rows, err := tx.QueryContext(ctx, "SELECT id, key FROM anomalies WHERE resolved_at IS NULL AND rule IN (SELECT value FROM json_each(?))", mustJSON(rules))
		if err != nil {
			return 0, 0, manifest.Errorf(manifest.Unavailable, "index: record: %w", err)
		}
		var gone []int64
		for rows.Next() {
			var id int64
			var key string
			if err := rows.Scan(&id, &key); err != nil {
				rows.Close()
				return 0, 0, manifest.Errorf(manifest.Unavailable, "index: record: %w", err)
			}
			if !seen[key] {
				gone = append(gone, id)
			}
		}
		rows.Close()
		for _, id := range gone {
			if _, err := tx.ExecContext(ctx, "UPDATE anomalies SET resolved_at = ? WHERE id = ?", ns, id); err != nil {
				return 0, 0, manifest.Errorf(manifest.Unavailable, "index: record: %w", err)
			}
		}
		resolved = len(gone)
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, manifest.Errorf(manifest.Unavailable, "index: record: %w", err)
	}
	return added, resolved, nil
}

// Resolve marks an anomaly resolved now, with a note appended to its
// detail (used when reconciliation repaired what it found).
func (ix *Index) Resolve(ctx context.Context, key, note string, now time.Time) error {
	_, err := ix.w.ExecContext(ctx, "UPDATE anomalies SET resolved_at = ?, detail = detail || ? WHERE key = ? AND resolved_at IS NULL", now.UnixNano(), note, key)
	if err != nil {
		return manifest.Errorf(manifest.Unavailable, "index: resolve: %w", err)
	}
	return nil
}

// AnomalyFilter selects anomalies; zero fields select everything.
type AnomalyFilter struct {
	Rule         string
	Severity     Severity
	Manifest     string
	Acknowledged *bool
	Open         *bool // true: not resolved; false: resolved
	Since        time.Time
	Limit        int   // default 50, at most 500
	Before       int64 // keyset: ids below this (the previous page's Next)
}

// AnomalyPage is one page of anomalies, newest first.
type AnomalyPage struct {
	Items []Anomaly `json:"items"`
	Next  int64     `json:"next,omitempty"` // pass as Before for the next page
}

// Anomalies lists anomalies matching f, newest first.
func (ix *Index) Anomalies(ctx context.Context, f AnomalyFilter) (AnomalyPage, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	if limit > MaxLimit {
		return AnomalyPage{}, manifest.FieldError(manifest.Invalid, "limit", "limit must be 1–%d", MaxLimit)
	}
	var where []string
	var args []any
	if f.Rule != "" {
		where, args = append(where, "rule = ?"), append(args, f.Rule)
	}
	if f.Severity != "" {
		where, args = append(where, "severity = ?"), append(args, string(f.Severity))
	}
	if f.Manifest != "" {
		where, args = append(where, "id IN (SELECT anomaly_id FROM anomaly_manifests WHERE manifest_id = ?)"), append(args, f.Manifest)
	}
	if f.Acknowledged != nil {
		if *f.Acknowledged {
			where = append(where, "acknowledged_at IS NOT NULL")
		} else {
			where = append(where, "acknowledged_at IS NULL")
		}
	}
	if f.Open != nil {
		if *f.Open {
			where = append(where, "resolved_at IS NULL")
		} else {
			where = append(where, "resolved_at IS NOT NULL")
		}
	}
	if !f.Since.IsZero() {
		where, args = append(where, "detected_at >= ?"), append(args, f.Since.UnixNano())
	}
	if f.Before > 0 {
		where, args = append(where, "id < ?"), append(args, f.Before)
	}
	q := "SELECT id, rule, severity, detail, manifests, detected_at, last_seen, resolved_at, acknowledged_by, acknowledged_at, ack_note FROM anomalies"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit+1)
	rows, err := ix.r.QueryContext(ctx, q, args...)
	if err != nil {
		return AnomalyPage{}, manifest.Errorf(manifest.Unavailable, "index: anomalies: %w", err)
	}
	defer rows.Close()
	page := AnomalyPage{Items: []Anomaly{}}
	for rows.Next() {
		a, err := scanAnomaly(rows)
		if err != nil {
			return AnomalyPage{}, err
		}
		if len(page.Items) == limit {
			page.Next = page.Items[len(page.Items)-1].ID
			break
		}
		page.Items = append(page.Items, a)
	}
	return page, rows.Err()
}

type scanner interface{ Scan(dest ...any) error }

func scanAnomaly(r scanner) (Anomaly, error) {
	var a Anomaly
	var ms string
	var det, seen int64
	var res, ack sql.NullInt64
	if err := r.Scan(&a.ID, &a.Rule, &a.Severity, &a.Detail, &ms, &det, &seen, &res, &a.AcknowledgedBy, &ack, &a.Note); err != nil {
		if err == sql.ErrNoRows {
			return a, err
		}
		return a, manifest.Errorf(manifest.Unavailable, "index: anomaly: %w", err)
	}
	if err := manifest.Decode([]byte(ms), &a.Manifests); err != nil {
		return a, manifest.Errorf(manifest.Internal, "index: anomaly %d: %w", a.ID, err)
	}
	a.DetectedAt, a.LastSeen = nsTime(det), nsTime(seen)
	if res.Valid {
		t := nsTime(res.Int64)
		a.ResolvedAt = &t
	}
	if ack.Valid {
		t := nsTime(ack.Int64)
		a.AcknowledgedAt = &t
	}
	return a, nil
}

// Anomaly returns one anomaly.
func (ix *Index) Anomaly(ctx context.Context, id int64) (Anomaly, error) {
	a, err := scanAnomaly(ix.r.QueryRowContext(ctx, "SELECT id, rule, severity, detail, manifests, detected_at, last_seen, resolved_at, acknowledged_by, acknowledged_at, ack_note FROM anomalies WHERE id = ?", id))
	if err == sql.ErrNoRows {
		return a, manifest.Errorf(manifest.NotFound, "anomaly %d not found", id)
	}
	return a, err
}

// Acknowledge records that by (a regulator's user) acknowledged the
// anomaly. Acknowledging twice is a conflict.
func (ix *Index) Acknowledge(ctx context.Context, id int64, by, note string, now time.Time) (Anomaly, error) {
	res, err := ix.w.ExecContext(ctx, "UPDATE anomalies SET acknowledged_by = ?, acknowledged_at = ?, ack_note = ? WHERE id = ? AND acknowledged_at IS NULL", by, now.UnixNano(), note, id)
	if err != nil {
		return Anomaly{}, manifest.Errorf(manifest.Unavailable, "index: acknowledge: %w", err)
	}
	n, _ := res.RowsAffected()
	a, err := ix.anomalyW(ctx, id)
	if err != nil {
		return a, err
	}
	if n == 0 {
		return a, manifest.Errorf(manifest.Conflict, "anomaly %d was already acknowledged by %s", id, a.AcknowledgedBy)
	}
	return a, nil
}

func (ix *Index) anomalyW(ctx context.Context, id int64) (Anomaly, error) {
	a, err := scanAnomaly(ix.w.QueryRowContext(ctx, "SELECT id, rule, severity, detail, manifests, detected_at, last_seen, resolved_at, acknowledged_by, acknowledged_at, ack_note FROM anomalies WHERE id = ?", id))
	if err == sql.ErrNoRows {
		return a, manifest.Errorf(manifest.NotFound, "anomaly %d not found", id)
	}
	return a, err
}
