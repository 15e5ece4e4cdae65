package index

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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
// The page may be one computed for the same filter since the index last
// changed, less than pageTTL ago: drivers' phones ask for what waits for
// their company far more often than the follower applies a batch. The
// items are shared: callers must not modify them.
func (ix *Index) List(ctx context.Context, f Filter) (Page, error) {
	key, gen, now := f.key(), ix.gen.Load(), time.Now()
	if p, ok := ix.pages.get(key, gen, now); ok {
		return p, nil
	}
	p, err := ix.list(ctx, f)
	if err == nil && ix.gen.Load() == gen {
		ix.pages.put(key, gen, now, p)
	}
	return p, err
}

// pageTTL bounds how long a cached page is served: the index's own writes
// invalidate it at once, this covers another process writing the file
// (reindex against a Fabric ledger while serve runs).
const pageTTL = time.Second

// pageCache holds the pages computed since the index last changed (gen).
type pageCache struct {
	mu  sync.Mutex
	gen uint64
	m   map[string]cachedPage
}

type cachedPage struct {
	page Page
	at   time.Time
}

const maxCachedPages = 1024

func (c *pageCache) get(key string, gen uint64, now time.Time) (Page, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return Page{}, false
	}
	e, ok := c.m[key]
	if !ok || now.Sub(e.at) >= pageTTL {
		return Page{}, false
	}
	return e.page, true
}

func (c *pageCache) put(key string, gen uint64, at time.Time, p Page) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen < c.gen {
		return // computed before a change another put already saw
	}
	if c.m == nil || c.gen != gen || len(c.m) >= maxCachedPages {
		c.gen, c.m = gen, make(map[string]cachedPage)
	}
	c.m[key] = cachedPage{page: p, at: at}
}

// key identifies the filter: every field, unambiguously.
func (f Filter) key() string {
	b := append(strconv.AppendInt(make([]byte, 0, 128), int64(len(f.Status)), 10), ':')
	for _, s := range f.Status {
		b = strconv.AppendQuote(b, string(s))
	}
	for _, s := range []string{f.Party, f.Code, f.Stream, f.Region, f.WaitingFor, f.After} {
		b = append(strconv.AppendQuote(b, s), ';')
	}
	for _, t := range []time.Time{f.From, f.To} {
		b = append(strconv.AppendInt(b, t.UnixNano(), 10), ';')
		b = strconv.AppendBool(b, t.IsZero())
	}
	return string(strconv.AppendInt(b, int64(f.Limit), 10))
}

func (ix *Index) list(ctx context.Context, f Filter) (Page, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	if limit > MaxLimit {
		return Page{}, manifest.FieldError(manifest.Invalid, "limit", "limit must be 1–%d", MaxLimit)
	}
	var where []string // the filters' terms on m
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
	var after []any // the keyset: (created, id) of the previous page's last item
	if f.After != "" {
		created, id, err := parseToken(f.After)
		if err != nil {
			return Page{}, err
		}
		after = []any{created, id}
	}
	// Every plan walks an index newest first and stops after limit+1
	// matches: by waiting organisation (one range per side of the step),
	// by party, or by creation.
	if f.WaitingFor != "" {
		return ix.listWaiting(ctx, f, where, args, after, limit)
	}
	var q string
	var qargs []any
	if f.Party != "" {
		// One party row per manifest: an organisation may hold several
		// roles on it.
		w := append([]string{"p.org = ?", "p.role = (SELECT MIN(p2.role) FROM parties p2 WHERE p2.org = p.org AND p2.manifest_id = p.manifest_id)"}, where...)
		qargs = append([]any{f.Party}, args...)
		if after != nil {
			w = append(w, "(p.created, p.manifest_id) < (?, ?)")
			qargs = append(qargs, after...)
		}
		q = "SELECT " + summaryCols + " FROM parties p JOIN manifests m ON m.id = p.manifest_id" + summaryJoins +
			" WHERE " + strings.Join(w, " AND ") + " ORDER BY p.created DESC, p.manifest_id DESC LIMIT ?"
	} else {
		if after != nil {
			where = append(where, "(m.created, m.id) < (?, ?)")
			args = append(args, after...)
		}
		q = summarySQL
		if len(where) > 0 {
			q += " WHERE " + strings.Join(where, " AND ")
		}
		q += " ORDER BY m.created DESC, m.id DESC"
		q += " LIMIT ?"
		qargs = args
	}
	rows, err := ix.r.QueryContext(ctx, q, append(qargs, limit+1)...)
	if err != nil {
		return Page{}, manifest.Errorf(manifest.Unavailable, "index: list: %w", err)
	}
	defer rows.Close()
	var items []Summary
	for rows.Next() {
		s, err := scanSummary(rows)
		if err != nil {
			return Page{}, err
		}
		items = append(items, s)
	}
	if err := rows.Err(); err != nil {
		return Page{}, manifest.Errorf(manifest.Unavailable, "index: list: %w", err)
	}
	return pageOf(items, limit), nil
}

// pageOf makes a page of up to limit+1 items in order.
func pageOf(items []Summary, limit int) Page {
	page := Page{Items: items}
	if page.Items == nil {
		page.Items = []Summary{}
	}
	if len(items) > limit {
		page.Items = items[:limit]
		last := page.Items[limit-1]
		page.Next = makeToken(last.Created.UnixNano(), last.ID)
	}
	return page
}

// listWaiting lists the manifests waiting for f.WaitingFor: the newest
// limit+1 of each side of the step (both from the index, in order), merged,
// and their summaries, all read in one snapshot.
func (ix *Index) listWaiting(ctx context.Context, f Filter, where []string, args, after []any, limit int) (Page, error) {
	tx, err := ix.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Page{}, manifest.Errorf(manifest.Unavailable, "index: list: %w", err)
	}
	defer tx.Rollback()
	type key struct {
		created int64
		id      string
	}
	var keys []key
	seen := map[string]bool{}
	for _, col := range []string{"next_from", "next_to"} {
		w := append([]string{"m." + col + " = ?", "m." + col + " <> ''"}, where...)
		a := append([]any{f.WaitingFor}, args...)
		if f.Party != "" {
			w = append(w, "m.id IN (SELECT manifest_id FROM parties WHERE org = ?)")
			a = append(a, f.Party)
		}
		if after != nil {
			w = append(w, "(m.created, m.id) < (?, ?)")
			a = append(a, after...)
		}
		rows, err := tx.QueryContext(ctx, "SELECT m.created, m.id FROM manifests m WHERE "+strings.Join(w, " AND ")+
			" ORDER BY m.created DESC, m.id DESC LIMIT ?", append(a, limit+1)...)
		if err != nil {
			return Page{}, manifest.Errorf(manifest.Unavailable, "index: list: %w", err)
		}
		for rows.Next() {
			var k key
			if err := rows.Scan(&k.created, &k.id); err != nil {
				rows.Close()
				return Page{}, manifest.Errorf(manifest.Unavailable, "index: list: %w", err)
			}
			// A manifest waiting for the organisation on both sides is
			// listed once.
			if !seen[k.id] {
				seen[k.id] = true
				keys = append(keys, k)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return Page{}, manifest.Errorf(manifest.Unavailable, "index: list: %w", err)
		}
	}
	// Each side's newest limit+1 hold the newest limit+1 of both.
	slices.SortFunc(keys, func(a, b key) int {
		if c := cmp.Compare(b.created, a.created); c != 0 {
			return c
		}
		return strings.Compare(b.id, a.id)
	})
	keys = keys[:min(len(keys), limit+1)]
	if len(keys) == 0 {
		return pageOf(nil, limit), nil
	}
	ids := make([]string, len(keys))
	at := make(map[string]int, len(keys))
	for i, k := range keys {
		ids[i], at[k.id] = k.id, i
	}
	rows, err := tx.QueryContext(ctx, summarySQL+" WHERE m.id IN (SELECT value FROM json_each(?))", mustJSON(ids))
	if err != nil {
		return Page{}, manifest.Errorf(manifest.Unavailable, "index: list: %w", err)
	}
	defer rows.Close()
	items := make([]Summary, len(keys))
	found := 0
	for rows.Next() {
		s, err := scanSummary(rows)
		if err != nil {
			return Page{}, err
		}
		items[at[s.ID]] = s
		found++
	}
	if err := rows.Err(); err != nil {
		return Page{}, manifest.Errorf(manifest.Unavailable, "index: list: %w", err)
	}
	if found != len(keys) {
		return Page{}, manifest.Errorf(manifest.Internal, "index: list: %d of %d manifests read", found, len(keys))
	}
	return pageOf(items, limit), nil
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
	s, err := scanSummary(rows)
	return s, err
}

const (
	summaryCols = `m.id, m.status, m.stream, m.version, m.hash, m.producer, COALESCE(po.name, ''), m.receiver, COALESCE(ro.name, ''),
	m.legs, m.region, m.codes, m.declared_g, m.accepted_g, m.next_step, m.next_from, m.next_to, m.flags, m.created, m.updated`
	summaryJoins = ` LEFT JOIN orgs po ON po.id = m.producer LEFT JOIN orgs ro ON ro.id = m.receiver`
	summarySQL   = `SELECT ` + summaryCols + ` FROM manifests m` + summaryJoins
)

func scanSummary(rows *sql.Rows) (Summary, error) {
	var s Summary
	var legs, codes, from, to string
	var created, updated int64
	if err := rows.Scan(&s.ID, &s.Status, &s.Stream, &s.Version, &s.Hash, &s.Producer, &s.ProducerName, &s.Receiver, &s.ReceiverName,
		&legs, &s.Region, &codes, &s.DeclaredG, &s.AcceptedG, &s.NextStep, &from, &to, &s.Flags, &created, &updated); err != nil {
		return s, manifest.Errorf(manifest.Unavailable, "index: scan: %w", err)
	}
	if c, ok := quickCarriers(legs); ok {
		s.Carriers = c
	} else {
		var ls []FactLeg
		if err := manifest.Decode([]byte(legs), &ls); err != nil {
			return s, manifest.Errorf(manifest.Internal, "index: legs of %s: %w", s.ID, err)
		}
		s.Carriers = make([]string, 0, len(ls))
		for _, l := range ls {
			s.Carriers = append(s.Carriers, l.Carrier)
		}
	}
	if c, ok := quickStrings(codes); ok {
		s.Codes = c
	} else if err := manifest.Decode([]byte(codes), &s.Codes); err != nil {
		return s, manifest.Errorf(manifest.Internal, "index: codes of %s: %w", s.ID, err)
	}
	for _, o := range []string{from, to} {
		if o != "" {
			s.WaitingFor = append(s.WaitingFor, o)
		}
	}
	s.Created, s.Updated = nsTime(created), nsTime(updated)
	return s, nil
}

// quickStrings decodes a JSON array of strings without escapes, as the
// projection writes codes: ["a","b"]. It reports false for anything else
// (null, escapes, other shapes), which json.Unmarshal then decodes.
func quickStrings(j string) ([]string, bool) {
	if len(j) < 2 || j[0] != '[' || j[len(j)-1] != ']' || strings.IndexByte(j, '\\') >= 0 {
		return nil, false
	}
	out := []string{}
	rest := j[1 : len(j)-1]
	for rest != "" {
		if len(rest) < 2 || rest[0] != '"' {
			return nil, false
		}
		end := strings.IndexByte(rest[1:], '"')
		if end < 0 {
			return nil, false
		}
		v := rest[1 : 1+end]
		if !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 }) {
			return nil, false
		}
		out = append(out, v)
		rest = rest[2+end:]
		if rest == "" {
			break
		}
		if rest[0] != ',' || len(rest) == 1 {
			return nil, false
		}
		rest = rest[1:]
	}
	return out, true
}

// quickCarriers decodes the carriers of the legs column as the projection
// writes it, [{"carrier":"…","permit":"…"},…], without escapes; false for
// anything else.
func quickCarriers(j string) ([]string, bool) {
	if len(j) < 2 || j[0] != '[' || j[len(j)-1] != ']' || strings.IndexByte(j, '\\') >= 0 {
		return nil, false
	}
	out := []string{}
	rest := j[1 : len(j)-1]
	for rest != "" {
		obj, after, ok := strings.Cut(rest, "}")
		if !ok || !strings.HasPrefix(obj, `{"carrier":"`) {
			return nil, false
		}
		obj = obj[len(`{"carrier":"`):]
		carrier, permit, ok := strings.Cut(obj, `","permit":"`)
		if !ok || !strings.HasSuffix(permit, `"`) || strings.IndexByte(carrier, '"') >= 0 || strings.IndexByte(permit[:len(permit)-1], '"') >= 0 {
			return nil, false
		}
		for _, v := range []string{carrier, permit} {
			if !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 }) {
				return nil, false
			}
		}
		out = append(out, carrier)
		rest = after
		if rest == "" {
			break
		}
		if rest[0] != ',' || len(rest) == 1 {
			return nil, false
		}
		rest = rest[1:]
	}
	return out, true
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
