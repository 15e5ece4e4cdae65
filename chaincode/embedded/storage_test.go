package embedded

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"

	"wasteledger/chaincode"
)

// TestValuesStoredOnce: a value lives in its history row only; the world
// state and a response equal to a written value refer to it, and every
// reader still gets the bytes.
func TestValuesStoredOnce(t *testing.T) {
	l := newLedger(t, nil)
	ctx := context.Background()
	l.submit(t, "incr", "c")
	r := l.submit(t, "incr", "c")          // responds with the value it wrote
	q := l.submit(t, "putQuiet", "p", "v") // responds with something else
	l.submit(t, "put", "gone", "x")
	l.submit(t, "del", "gone")
	doc := `{"id":"M-1","steps":"` + strings.Repeat("pickup ", 60) + `"}`
	e := l.submit(t, "putEmbed", "m", doc) // the event embeds the value
	wantPayload := `{"doc":` + doc + `}`
	if e.Event == nil || string(e.Event.Payload) != wantPayload {
		t.Fatalf("putEmbed receipt event = %+v, want payload %s", e.Event, wantPayload)
	}
	var rest []byte
	var ref, at sql.NullInt64
	if err := l.rd.QueryRow("SELECT payload, payload_hist, payload_at FROM events WHERE tx_id = ?", e.TxID).Scan(&rest, &ref, &at); err != nil {
		t.Fatal(err)
	}
	if string(rest) != `{"doc":}` || !ref.Valid || at.Int64 != 7 {
		t.Errorf("putEmbed's events row: payload %q, payload_hist %v, payload_at %v; want {\"doc\":}, a history row, 7", rest, ref, at)
	}
	evs, err := l.Events(ctx, e.Event.Seq-1, 1)
	if err != nil || len(evs) != 1 || string(evs[0].Payload) != wantPayload {
		t.Errorf("Events(the embed event) = %+v, %v; want payload %s", evs, err, wantPayload)
	}
	if string(r.Payload) != "2" {
		t.Fatalf("incr receipt payload = %q, want 2", r.Payload)
	}
	var resp []byte
	if err := l.rd.QueryRow("SELECT response, response_hist FROM txs WHERE tx_id = ?", r.TxID).Scan(&resp, &ref); err != nil {
		t.Fatal(err)
	}
	if resp != nil || !ref.Valid {
		t.Errorf("incr's txs row: response %q, response_hist %v; want NULL and a history row", resp, ref)
	}
	if err := l.rd.QueryRow("SELECT response, response_hist FROM txs WHERE tx_id = ?", q.TxID).Scan(&resp, &ref); err != nil {
		t.Fatal(err)
	}
	if string(resp) != "ok" || ref.Valid {
		t.Errorf("putQuiet's txs row: response %q, response_hist %v; want \"ok\" and NULL", resp, ref)
	}
	for _, tc := range []struct{ id, want string }{{r.TxID, "2"}, {q.TxID, "ok"}} {
		rec, err := l.Transaction(ctx, tc.id)
		if err != nil || string(rec.Response) != tc.want {
			t.Errorf("Transaction(%s).Response = %q, %v; want %q", tc.id, rec.Response, err, tc.want)
		}
	}
	verifyOK(t, l)

	// Reopened, the cache is cold: reads and ranges come from SQLite.
	l.Close()
	l2, err := Open(ctx, l.cfg, l.cc)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	tl := &testLedger{Ledger: l2, cfg: l.cfg, cc: l.cc}
	for k, want := range map[string]string{"c": "2", "p": "v", "gone": ""} {
		if got := tl.get(t, k); got != want {
			t.Errorf("get(%q) after reopen = %q, want %q", k, got, want)
		}
	}
	tl.submit(t, "rangeSum", "", "sum")
	if got := tl.get(t, "sum"); got != "2" {
		t.Errorf("rangeSum over the whole state = %q, want 2", got)
	}
	rec, err := l2.Transaction(ctx, r.TxID)
	if err != nil || string(rec.Response) != "2" {
		t.Errorf("Transaction(incr).Response after reopen = %q, %v; want 2", rec.Response, err)
	}
}

// TestVerifyDetectsReferenceEdits: references that point at the wrong
// history row are divergences even when the bytes they reach look right.
func TestVerifyDetectsReferenceEdits(t *testing.T) {
	l := newLedger(t, nil)
	a := l.submit(t, "put", "a", "same")
	b := l.submit(t, "put", "b", "same")
	l.submit(t, "incr", "c")
	second := l.submit(t, "incr", "c")
	l.submit(t, "incr", "c")
	doc := strings.Repeat("d", 300)
	l.submit(t, "putEmbed", "m1", doc)
	emb := l.submit(t, "putEmbed", "m2", doc) // same bytes as m1's
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(context.Background(), l.cfg, l.cc, nil); err != nil {
		t.Fatalf("Verify of the untampered ledger: %v", err)
	}
	f := tamperFixture{cfg: l.cfg, cc: l.cc}
	tests := []struct {
		name  string
		edits []string
		at    Receipt
	}{
		{"state of b refers to a's write of the same bytes",
			[]string{"UPDATE state SET hist = (SELECT id FROM history WHERE tx_id = '" + a.TxID + "') WHERE key = 'b'"}, b},
		{"response refers to another transaction's write",
			[]string{"DROP TRIGGER txs_no_update", "UPDATE txs SET response_hist = response_hist - 1 WHERE tx_id = '" + second.TxID + "'"}, second},
		{"response reference dropped",
			[]string{"DROP TRIGGER txs_no_update", "UPDATE txs SET response_hist = NULL WHERE tx_id = '" + second.TxID + "'"}, second},
		{"response stored twice",
			[]string{"DROP TRIGGER txs_no_update", "UPDATE txs SET response = '2' WHERE tx_id = '" + second.TxID + "'"}, second},
		{"event payload refers to another transaction's write of the same bytes",
			[]string{"DROP TRIGGER events_no_update", "UPDATE events SET payload_hist = payload_hist - 1 WHERE tx_id = '" + emb.TxID + "'"}, emb},
		{"event payload spliced at another offset",
			[]string{"DROP TRIGGER events_no_update", "UPDATE events SET payload_at = payload_at - 1 WHERE tx_id = '" + emb.TxID + "'"}, emb},
		{"event payload offset outside the stored bytes",
			[]string{"DROP TRIGGER events_no_update", "UPDATE events SET payload_at = 1000 WHERE tx_id = '" + emb.TxID + "'"}, emb},
		{"event payload reference dropped",
			[]string{"DROP TRIGGER events_no_update", "UPDATE events SET payload_hist = NULL, payload_at = NULL WHERE tx_id = '" + emb.TxID + "'"}, emb},
		{"event payload half a reference",
			[]string{"DROP TRIGGER events_no_update", "UPDATE events SET payload_at = NULL WHERE tx_id = '" + emb.TxID + "'"}, emb},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantDivergence(t, f.verifyEdited(t, execAll(t, tt.edits...)), int64(tt.at.Block), tt.at.Index)
		})
	}
}

// withKey gives a copied ledger the original's signing key.
func withKey(t *testing.T, from, to Config) Config {
	t.Helper()
	k, err := os.ReadFile(from.Path + ".key")
	if err != nil {
		t.Fatal(err)
	}
	to.KeyPath = to.Path + ".key"
	if err := os.WriteFile(to.KeyPath, k, 0o600); err != nil {
		t.Fatal(err)
	}
	return to
}

// toSchema1 rewrites a closed ledger into the layout migration 0001 made:
// values in the world state and no tombstones, every response in place,
// Merkle nodes by (level, idx), history indexed by key.
func toSchema1(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite3", dsn(path, "_foreign_keys=off"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var refs int
	if err := db.QueryRow("SELECT COUNT(*) FROM events WHERE payload_hist IS NOT NULL").Scan(&refs); err != nil || refs > 0 {
		t.Fatalf("toSchema1: %d event payloads stored by reference (%v); the helper does not undo those", refs, err)
	}
	for _, q := range []string{
		`CREATE TABLE state_v1 (key TEXT PRIMARY KEY, value BLOB NOT NULL, block INTEGER NOT NULL, tx INTEGER NOT NULL)`,
		`INSERT INTO state_v1 SELECT s.key, h.value, s.block, s.tx FROM state s JOIN history h ON h.id = s.hist WHERE s.block > 0`,
		`DROP TABLE state`,
		`ALTER TABLE state_v1 RENAME TO state`,
		`DROP TRIGGER txs_no_update`,
		`UPDATE txs SET response = (SELECT value FROM history WHERE id = response_hist) WHERE response_hist IS NOT NULL`,
		`ALTER TABLE txs DROP COLUMN response_hist`,
		`ALTER TABLE events DROP COLUMN payload_hist`,
		`ALTER TABLE events DROP COLUMN payload_at`,
		`ALTER TABLE history DROP COLUMN prev`,
		`CREATE INDEX history_key ON history (key, block, tx)`,
		`CREATE TRIGGER txs_no_update BEFORE UPDATE ON txs BEGIN SELECT RAISE(ABORT, 'txs are append-only'); END`,
		`CREATE TABLE merkle_v1 (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Merkle nodes back under (level, idx), recomputed from the records.
	rows, err := db.Query("SELECT record FROM txs ORDER BY leaf")
	if err != nil {
		t.Fatal(err)
	}
	var recs [][]byte
	for rows.Next() {
		var r []byte
		rows.Scan(&r)
		recs = append(recs, r)
	}
	rows.Close()
	tree := rangeFactory.NewEmptyRange(0)
	for _, r := range recs {
		err := tree.Append(rfc6962.DefaultHasher.HashLeaf(r), func(id compact.NodeID, h []byte) {
			if _, err := db.Exec("INSERT INTO merkle_v1 VALUES (?, ?, ?)", id.Level, id.Index, h); err != nil {
				t.Fatal(err)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		`DROP TABLE merkle`,
		`ALTER TABLE merkle_v1 RENAME TO merkle`,
		`CREATE TRIGGER merkle_no_update BEFORE UPDATE ON merkle BEGIN SELECT RAISE(ABORT, 'merkle nodes are append-only'); END`,
		`CREATE TRIGGER merkle_no_delete BEFORE DELETE ON merkle BEGIN SELECT RAISE(ABORT, 'merkle nodes are append-only'); END`,
		`PRAGMA user_version = 1`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestMerklePositions: the positions the writer uses grow with every
// append, and migration 0003's SQL computes the same ones from (level,
// idx).
func TestMerklePositions(t *testing.T) {
	mig, err := fs.ReadFile(migrationFiles, "migrations/0003_merkle_append_order.sql")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", dsn(filepath.Join(t.TempDir(), "m.db")))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE merkle (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID"); err != nil {
		t.Fatal(err)
	}
	tree := rangeFactory.NewEmptyRange(0)
	last := int64(-1)
	want := map[int64]compact.NodeID{}
	tx, _ := db.Begin()
	for i := 0; i < 3000; i++ {
		leaf := rfc6962.DefaultHasher.HashLeaf([]byte(strconv.Itoa(i)))
		err := tree.Append(leaf, func(id compact.NodeID, h []byte) {
			p := nodePos(id)
			if p != last+1 {
				t.Fatalf("node %d/%d at position %d, want %d (the next one)", id.Level, id.Index, p, last+1)
			}
			last = p
			want[p] = id
			if _, err := tx.Exec("INSERT INTO merkle VALUES (?, ?, ?)", id.Level, id.Index, []byte(fmt.Sprint(id.Level, "/", id.Index))); err != nil {
				t.Fatal(err)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Far-away nodes too: the SQL must hold for big trees.
	for _, id := range []compact.NodeID{compact.NewNodeID(0, 1<<40-1), compact.NewNodeID(20, 12345), compact.NewNodeID(39, 1), compact.NewNodeID(7, 1<<33+5)} {
		want[nodePos(id)] = id
		if _, err := tx.Exec("INSERT INTO merkle VALUES (?, ?, ?)", id.Level, id.Index, []byte(fmt.Sprint(id.Level, "/", id.Index))); err != nil {
			t.Fatal(err)
		}
	}
	tx.Commit()
	if _, err := db.Exec(string(mig)); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query("SELECT pos, hash FROM merkle")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var p int64
		var h string
		rows.Scan(&p, &h)
		id, ok := want[p]
		if !ok || h != fmt.Sprint(id.Level, "/", id.Index) {
			t.Fatalf("migrated node %s at position %d, want it at %d", h, p, nodePos(id))
		}
		n++
	}
	if n != len(want) {
		t.Errorf("migrated %d nodes, want %d", n, len(want))
	}
}

// TestMigrateStateToReferences: a ledger written with schema 1 verifies
// as it is, migrates on Open, serves the same state and verifies again;
// a schema-1 world state that disagrees with its history stops the
// migration instead of being silently replaced.
func TestMigrateStateToReferences(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t, func(c *Config) { c.BlockMaxTx = 2 })
	for i := 0; i < 3; i++ {
		l.submit(t, "incr", "c")
	}
	incr := l.submit(t, "incr", "c")
	l.submit(t, "put", "k", "v")
	l.submit(t, "put", "gone", "x")
	l.submit(t, "del", "gone")
	l.submit(t, "putQuiet", "q", "w")
	histories := map[string]string{}
	for _, k := range []string{"c", "gone", "k"} {
		histories[k] = historyOf(t, l.Ledger, k)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	f := tamperFixture{cfg: l.cfg, cc: l.cc}

	cfg := withKey(t, l.cfg, f.copyLedger(t, nil))
	toSchema1(t, cfg.Path)
	if _, err := Verify(ctx, cfg, l.cc, nil); err != nil {
		t.Fatalf("Verify of the schema-1 ledger: %v", err)
	}
	l2, err := Open(ctx, cfg, l.cc)
	if err != nil {
		t.Fatalf("Open (migrating): %v", err)
	}
	tl := &testLedger{Ledger: l2, cfg: cfg, cc: l.cc}
	for k, want := range map[string]string{"c": "4", "k": "v", "gone": "", "q": "w"} {
		if got := tl.get(t, k); got != want {
			t.Errorf("get(%q) after migration = %q, want %q", k, got, want)
		}
	}
	for k, want := range histories {
		if got := historyOf(t, l2, k); got != want {
			t.Errorf("History(%q) after migration = %s, want %s", k, got, want)
		}
	}
	if rec, err := l2.Transaction(ctx, incr.TxID); err != nil || string(rec.Response) != "4" {
		t.Errorf("Transaction(incr).Response after migration = %q, %v; want 4", rec.Response, err)
	}
	tl.submit(t, "incr", "c")
	if err := l2.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(ctx, cfg, l.cc, nil); err != nil {
		t.Fatalf("Verify after migration: %v", err)
	}

	bad := withKey(t, l.cfg, f.copyLedger(t, nil))
	toSchema1(t, bad.Path)
	db, err := sql.Open("sqlite3", dsn(bad.Path))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE state SET value = 'forged' WHERE key = 'k'"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Verify(ctx, bad, l.cc, nil); err == nil {
		t.Error("Verify of a schema-1 ledger with a forged state value passed")
	}
	if l3, err := Open(ctx, bad, l.cc); err == nil {
		l3.Close()
		t.Error("Open migrated a schema-1 ledger whose state disagrees with its history")
	} else if !strings.Contains(err.Error(), "without a matching history row") {
		t.Errorf("Open error = %v, want the migration's refusal", err)
	}
}

func historyOf(t *testing.T, l *Ledger, key string) string {
	t.Helper()
	out, err := l.Evaluate(context.Background(), alice, "history", []byte(key))
	if err != nil {
		t.Fatalf("Evaluate(history %q): %v", key, err)
	}
	return string(out)
}

// TestHistoryChain: History(key) follows the chain from the state row
// through deletes, across reopen, and Verify replays a transaction that
// read History as its simulation did, even when its own block wrote the
// key before it.
func TestHistoryChain(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t, func(c *Config) { c.BlockMaxWait = 100 * time.Millisecond })
	l.submit(t, "put", "h", "v1")
	l.submit(t, "put", "other", "x")
	l.submit(t, "put", "h", "v2")
	l.submit(t, "del", "h")
	l.submit(t, "history", "h") // recorded: Verify replays it
	// Same block: a put of h, then a History(h) simulated before the put
	// was committed.
	put := l.submitAsync("put", "h", "v3")
	time.Sleep(20 * time.Millisecond)
	hist := l.submitAsync("history", "h")
	p, h := <-put, <-hist
	if p.err != nil || h.err != nil {
		t.Fatalf("put %v, history %v", p.err, h.err)
	}
	if p.r.Block != h.r.Block || p.r.Index > h.r.Index {
		t.Fatalf("put in block %d tx %d, history in block %d tx %d; want the put first in the same block", p.r.Block, p.r.Index, h.r.Block, h.r.Index)
	}
	var vs []chaincode.Version
	if err := json.Unmarshal(h.r.Payload, &vs); err != nil || len(vs) != 3 {
		t.Fatalf("History(h) in the put's block = %s, %v; want 3 versions (not the put's)", h.r.Payload, err)
	}
	want := historyOf(t, l.Ledger, "h")
	if err := json.Unmarshal([]byte(want), &vs); err != nil || len(vs) != 4 || vs[2].Deleted != true || string(vs[3].Value) != "v3" {
		t.Fatalf("History(h) = %s, %v; want v1, v2, deleted, v3", want, err)
	}
	verifyOK(t, l)
	l.Close()
	l2, err := Open(ctx, l.cfg, l.cc)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if got := historyOf(t, l2, "h"); got != want {
		t.Errorf("History(h) after reopen = %s, want %s", got, want)
	}
}

// TestVerifyDetectsChainEdits: the links of a key's history and the
// tombstones that keep deleted keys' chains are checked.
func TestVerifyDetectsChainEdits(t *testing.T) {
	l := newLedger(t, nil)
	l.submit(t, "put", "h", "v1")
	second := l.submit(t, "put", "h", "v2")
	del := l.submit(t, "del", "h")
	l.submit(t, "put", "other", "v2")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	f := tamperFixture{cfg: l.cfg, cc: l.cc}
	tests := []struct {
		name  string
		edits []string
		at    Receipt
	}{
		{"history link cut", []string{"DROP TRIGGER history_no_update",
			"UPDATE history SET prev = NULL WHERE tx_id = '" + second.TxID + "'"}, second},
		{"history link to another key", []string{"DROP TRIGGER history_no_update",
			"UPDATE history SET prev = (SELECT MAX(id) FROM history) WHERE tx_id = '" + second.TxID + "'"}, second},
		{"tombstone removed", []string{"DELETE FROM state WHERE key = 'h'"}, del},
		{"tombstone leads to an older version", []string{
			"UPDATE state SET hist = (SELECT id FROM history WHERE tx_id = '" + second.TxID + "') WHERE key = 'h'"}, del},
		{"deleted key brought back", []string{
			"UPDATE state SET block = (SELECT block FROM history WHERE tx_id = '" + second.TxID + "'), tx = 0, " +
				"hist = (SELECT id FROM history WHERE tx_id = '" + second.TxID + "') WHERE key = 'h'"}, del},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantDivergence(t, f.verifyEdited(t, execAll(t, tt.edits...)), int64(tt.at.Block), tt.at.Index)
		})
	}
}
