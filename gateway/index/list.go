package index

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"wasteledger/manifest"
	"wasteledger/manifest/catalog"
)

// MaxLimit bounds a page.
const MaxLimit = 500

// RegionRange returns the half-open range [lo, hi) of GB/T 2260 codes a
// division contains: a province its cities and districts, a city its
// districts, a district itself. It fails on an invalid code.
func RegionRange(code string) (lo, hi string, err error) {
	if err := catalog.ValidRegion(code); err != nil {
		return "", "", manifest.FieldError(manifest.Invalid, "region", "%v", err)
	}
	r, _ := catalog.LookupRegion(code)
	prefix := code
	switch {
	case r.Level == catalog.ProvinceLevel || code[2:] == "0000":
		prefix = code[:2]
	case r.Level == catalog.CityLevel || code[4:] == "00":
		prefix = code[:4]
	}
	return prefix, prefix + "\xff", nil
}

// List returns one page of manifests matching f, newest first (by creation
// time, then number), with keyset pagination: pass Page.Next as f.After.
func (ix *Index) List(ctx context.Context, f Filter) (Page, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	if limit > MaxLimit {
		return Page{}, manifest.FieldError(manifest.Invalid, "limit", "limit must be 1–%d", MaxLimit)
	}
	var where []string
	var args []any
	if len(f.Status) > 0 {
		ph := make([]string, len(f.Status))
		for i, s := range f.Status {
			if !validStatus(s) {
				return Page{}, manifest.FieldError(manifest.Invalid, "status", "unknown status %q", s)
			}
			ph[i] = "?"
			args = append(args, string(s))
		}
		where = append(where, "m.status IN ("+strings.Join(ph, ",")+")")
	}
	if f.Party != "" {
		where = append(where, "m.id IN (SELECT manifest_id FROM parties WHERE org = ?)")
		args = append(args, f.Party)
	}
	if f.Code != "" {
		where = append(where, "m.id IN (SELECT manifest_id FROM lines WHERE code = ?)")
		args = append(args, f.Code)
	}
	if f.Stream != "" {
		switch catalog.Stream(f.Stream) {
		case catalog.Industrial, catalog.Medical, catalog.FlyAsh, catalog.Battery:
		default:
			return Page{}, manifest.FieldError(manifest.Invalid, "stream", "stream must be industrial, medical, fly_ash or battery")
		}
		where = append(where, "m.stream = ?")
		args = append(args, f.Stream)
	}
	if f.Region != "" {
		lo, hi, err := RegionRange(f.Region)
		if err != nil {
			return Page{}, err
		}
		where = append(where, "m.region >= ? AND m.region < ?")
		args = append(args, lo, hi)
	}
	if !f.From.IsZero() {
		where = append(where, "m.created >= ?")
		args = append(args, f.From.UnixNano())
	}
	if !f.To.IsZero() {
		where = append(where, "m.created < ?")
		args = append(args, f.To.UnixNano())
	}
	if f.WaitingFor != "" {
		where = append(where, "(m.next_from = ? OR m.next_to = ?)")
		args = append(args, f.WaitingFor, f.WaitingFor)
	}
	if f.After != "" {
		created, id, err := parseToken(f.After)
		if err != nil {
			return Page{}, err
		}
		where = append(where, "(m.created < ? OR (m.created = ? AND m.id < ?))")
		args = append(args, created, created, id)
	}
	q := summarySQL
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY m.created DESC, m.id DESC LIMIT ?"
	args = append(args, limit+1)
	rows, err := ix.r.QueryContext(ctx, q, args...)
	if err != nil {
		return Page{}, manifest.Errorf(manifest.Unavailable, "index: list: %w", err)
	}
	defer rows.Close()
	page := Page{Items: []Summary{}}
	for rows.Next() {
		s, created, err := scanSummary(rows)
		if err != nil {
			return Page{}, err
		}
		if len(page.Items) == limit {
			last := page.Items[len(page.Items)-1]
			page.Next = makeToken(last.Created.UnixNano(), last.ID)
			break
		}
		_ = created
		page.Items = append(page.Items, s)
	}
	if err := rows.Err(); err != nil {
		return Page{}, manifest.Errorf(manifest.Unavailable, "index: list: %w", err)
	}
	return page, nil
}

// Get returns the summary of one manifest.
func (ix *Index) Get(ctx context.Context, id string) (Summary, error) {
	rows, err := ix.r.QueryContext(ctx, summarySQL+" WHERE m.id = ?", id)
	if err != nil {
		return Summary{}, manifest.Errorf(manifest.Unavailable, "index: get: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return Summary{}, manifest.Errorf(manifest.Unavailable, "index: get: %w", err)
		}
		return Summary{}, manifest.Errorf(manifest.NotFound, "manifest %s is not in the index", id)
	}
	s, _, err := scanSummary(rows)
	return s, err
}

const summarySQL = `SELECT m.id, m.status, m.stream, m.version, m.hash, m.producer, COALESCE(po.name, ''), m.receiver, COALESCE(ro.name, ''),
	m.legs, m.region, m.codes, m.declared_g, m.accepted_g, m.next_step, m.next_from, m.next_to, m.flags, m.created, m.updated
	FROM manifests m LEFT JOIN orgs po ON po.id = m.producer LEFT JOIN orgs ro ON ro.id = m.receiver`

func scanSummary(rows *sql.Rows) (Summary, int64, error) {
	var s Summary
	var legs, codes, from, to string
	var created, updated int64
	if err := rows.Scan(&s.ID, &s.Status, &s.Stream, &s.Version, &s.Hash, &s.Producer, &s.ProducerName, &s.Receiver, &s.ReceiverName,
		&legs, &s.Region, &codes, &s.DeclaredG, &s.AcceptedG, &s.NextStep, &from, &to, &s.Flags, &created, &updated); err != nil {
		return s, 0, manifest.Errorf(manifest.Unavailable, "index: scan: %w", err)
	}
	var ls []FactLeg
	if err := json.Unmarshal([]byte(legs), &ls); err != nil {
		return s, 0, manifest.Errorf(manifest.Internal, "index: legs of %s: %w", s.ID, err)
	}
	s.Carriers = make([]string, 0, len(ls))
	for _, l := range ls {
		s.Carriers = append(s.Carriers, l.Carrier)
	}
	if err := json.Unmarshal([]byte(codes), &s.Codes); err != nil {
		return s, 0, manifest.Errorf(manifest.Internal, "index: codes of %s: %w", s.ID, err)
	}
	for _, o := range []string{from, to} {
		if o != "" {
			s.WaitingFor = append(s.WaitingFor, o)
		}
	}
	s.Created, s.Updated = nsTime(created), nsTime(updated)
	return s, created, nil
}

func validStatus(s manifest.Status) bool {
	for _, k := range manifest.Statuses {
		if k == s {
			return true
		}
	}
	return false
}

func makeToken(created int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(created, 10) + "." + id))
}

func parseToken(tok string) (int64, string, error) {
	bad := manifest.FieldError(manifest.Invalid, "after", "after must be the next token of a previous page")
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, "", bad
	}
	ts, id, ok := strings.Cut(string(b), ".")
	if !ok || manifest.ValidNumber(id) != nil {
		return 0, "", bad
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return 0, "", bad
	}
	return n, id, nil
}

var _ = fmt.Sprintf
