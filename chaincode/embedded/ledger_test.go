package embedded

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"wasteledger/chaincode"
	"wasteledger/manifest"
)

func TestNoReadYourWrites(t *testing.T) {
	tests := []struct {
		name      string
		committed string // "" = key absent before the transaction
		wantRead  string
	}{
		{"absent key", "", "read:"},
		{"existing key", "committed", "read:committed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLedger(t, nil)
			if tt.committed != "" {
				l.submit(t, "put", "k", tt.committed)
			}
			r := l.submit(t, "putTwiceThenRead", "k")
			if got := string(r.Payload); got != tt.wantRead {
				t.Errorf("putTwiceThenRead response = %q, want %q (a Get must not see the tx's own Put)", got, tt.wantRead)
			}
			// Last write wins inside a transaction.
			if got := l.get(t, "k"); got != "second" {
				t.Errorf("after putTwiceThenRead, k = %q, want %q", got, "second")
			}
			rec, err := l.Transaction(context.Background(), r.TxID)
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.Writes) != 1 || rec.Writes[0].SHA256 != sha256Hex([]byte("second")) {
				t.Errorf("recorded write set = %+v, want one write of %q", rec.Writes, "second")
			}
		})
	}
}

func TestConcurrentIncrements(t *testing.T) {
	const goroutines, each = 8, 25
	l := newLedger(t, func(c *Config) { c.BlockMaxWait = time.Millisecond })
	var (
		mu        sync.Mutex
		successes int
		conflicts int
		others    []error
		wg        sync.WaitGroup
	)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				_, err := l.Submit(context.Background(), alice, "incr", []byte("counter"))
				mu.Lock()
				switch {
				case err == nil:
					successes++
				case manifest.CodeOf(err) == manifest.Conflict:
					conflicts++
				default:
					others = append(others, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(others) > 0 {
		t.Fatalf("incr errors other than conflicts: %v", others)
	}
	got, _ := strconv.Atoi(l.get(t, "counter"))
	if got != successes {
		t.Errorf("counter = %d, want %d (one per successful incr; %d conflicts) — a lost update", got, successes, conflicts)
	}
	if successes+conflicts != goroutines*each {
		t.Errorf("successes %d + conflicts %d != %d submits", successes, conflicts, goroutines*each)
	}
	t.Logf("%d successes, %d conflicts", successes, conflicts)
}

// TestRacingWriters interleaves two read-modify-write transactions on the
// same key deterministically: exactly one wins, the other gets a conflict.
func TestRacingWriters(t *testing.T) {
	l := newLedger(t, nil)
	l.submit(t, "put", "counter", "10")
	entered, release := l.cc.gate("slow")
	slow := l.submitAsync("incr", "counter", "slow") // reads 10, then waits
	<-entered
	fast := l.submit(t, "incr", "counter") // reads 10, commits 11
	release()
	res := <-slow
	if manifest.CodeOf(res.err) != manifest.Conflict {
		t.Fatalf("slow incr error = %v, want a %s error", res.err, manifest.Conflict)
	}
	var me *manifest.Error
	if !errors.As(res.err, &me) {
		t.Fatalf("slow incr error is %T, want *manifest.Error", res.err)
	}
	if got := l.get(t, "counter"); got != "11" {
		t.Errorf("counter = %s, want 11 (only %s's update)", got, fast.TxID)
	}
	if _, err := l.Transaction(context.Background(), res.r.TxID); manifest.CodeOf(err) != manifest.NotFound {
		t.Errorf("Transaction(conflicting tx) error = %v, want not_found", err)
	}
}

func TestPhantomRange(t *testing.T) {
	tests := []struct {
		name         string
		fn           string   // range function under test
		interleave   []string // a transaction committed between the range read and the commit
		wantConflict bool
	}{
		{"insert into range", "rangeSum", []string{"put", "acct/b2", "5"}, true},
		{"update in range", "rangeSum", []string{"put", "acct/a", "7"}, true},
		{"delete from range", "rangeSum", []string{"del", "acct/c"}, true},
		{"write outside range", "rangeSum", []string{"put", "acctx", "9"}, false},
		{"write beside prefix", "rangeSum", []string{"put", "acc", "9"}, false},
		{"insert after the last key read", "rangeFirst", []string{"put", "acct/z", "5"}, false},
		{"insert before the last key read", "rangeFirst", []string{"put", "acct/0", "5"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLedger(t, nil)
			for _, k := range []string{"acct/a", "acct/b", "acct/c"} {
				l.submit(t, "put", k, "1")
			}
			entered, release := l.cc.gate("g")
			ch := l.submitAsync(tt.fn, "acct/", "total", "g")
			<-entered
			l.submit(t, tt.interleave[0], tt.interleave[1:]...)
			release()
			res := <-ch
			if gotConflict := manifest.CodeOf(res.err) == manifest.Conflict; gotConflict != tt.wantConflict {
				t.Errorf("%s after %v: error = %v, want conflict %v", tt.fn, tt.interleave, res.err, tt.wantConflict)
			}
			if !tt.wantConflict && res.err != nil {
				t.Errorf("unexpected error %v", res.err)
			}
		})
	}
}

func TestRangeOrderAndPaging(t *testing.T) {
	l := newLedger(t, func(c *Config) { c.BlockMaxTx = 1000 })
	var want []string
	var wg sync.WaitGroup
	for i := 0; i < rangePageSize+10; i++ {
		k := fmt.Sprintf("p/%04d", (i*7919)%(rangePageSize+10)) // scrambled order of submission
		want = append(want, fmt.Sprintf("p/%04d", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.submit(t, "put", k, "1")
		}()
	}
	wg.Wait()
	l.submit(t, "put", "p", "1")   // equal to the prefix: inside the range
	l.submit(t, "put", "q/0", "1") // outside
	want = append([]string{"p"}, want...)
	r := l.submit(t, "rangeSum", "p", "total")
	var got []string
	json.Unmarshal(r.Payload, &got)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Range(p) visited %d keys %v…, want %d keys in byte order", len(got), got[:min(5, len(got))], len(want))
	}
	if total := l.get(t, "total"); total != strconv.Itoa(len(want)) {
		t.Errorf("total = %s, want %d", total, len(want))
	}
}

func TestRejectedTxLeavesNoTrace(t *testing.T) {
	tests := []struct {
		name     string
		fn       string
		args     [][]byte
		wantErr  error // compared with ==, when set
		wantCode manifest.Code
	}{
		{"contract error", "fail", bs("k"), errRefused, manifest.RuleViolation},
		{"unknown function", "nope", nil, nil, manifest.Invalid},
		{"key too long", "put", bs(strings.Repeat("k", MaxKeyBytes+1), "v"), nil, manifest.Invalid},
		{"key starts with NUL", "put", bs("\x00k", "v"), nil, manifest.Invalid},
		{"key not UTF-8", "put", bs("k\xff", "v"), nil, manifest.Invalid},
		{"empty key", "put", bs("", "v"), nil, manifest.Invalid},
		{"value too large", "put", [][]byte{[]byte("k"), make([]byte, MaxValueBytes+1)}, nil, manifest.Invalid},
		{"args too large", "put", [][]byte{[]byte("k"), []byte("v"), make([]byte, MaxArgsBytes)}, nil, manifest.Invalid},
		{"ignored Put error still fails", "putQuiet", bs(strings.Repeat("k", MaxKeyBytes+1), "v"), nil, manifest.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLedger(t, nil)
			ctx := context.Background()
			h0 := l.Height()
			_, err := l.Submit(ctx, alice, tt.fn, tt.args...)
			if tt.wantErr != nil && err != tt.wantErr {
				t.Errorf("Submit error = %v (%T), want the contract's error unchanged", err, err)
			}
			if got := manifest.CodeOf(err); got != tt.wantCode {
				t.Errorf("Submit error code = %q (%v), want %q", got, err, tt.wantCode)
			}
			l.submit(t, "put", "marker", "x") // a later valid tx still commits
			if got := l.Height(); got != h0+1 {
				t.Errorf("Height = %d, want %d (only the valid tx's block)", got, h0+1)
			}
			evs, _ := l.Events(ctx, 0, 10)
			if len(evs) != 1 || evs[0].Name != "put" {
				t.Errorf("Events = %+v, want only the marker's", evs)
			}
			if v := l.get(t, "k"); v != "" {
				t.Errorf("k = %q, want absent", v)
			}
			rep := verifyOK(t, l)
			if rep.Txs != 1 {
				t.Errorf("Verify counted %d txs, want 1", rep.Txs)
			}
		})
	}
}

func TestEventsFeed(t *testing.T) {
	l := newLedger(t, nil)
	ctx := context.Background()
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := l.WaitEvents(cctx, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitEvents(cancelled, 0) on an empty feed = %v, want context.Canceled", err)
	}

	woke := make(chan error, 1)
	go func() { woke <- l.WaitEvents(ctx, 0) }()
	var rs []Receipt
	for i := 0; i < 5; i++ {
		rs = append(rs, l.submit(t, "put", fmt.Sprintf("k%d", i), "v", fmt.Sprintf("payload %d", i)))
	}
	l.submit(t, "del", "k0") // no event
	rs = append(rs, l.submit(t, "emitTwice"))
	if err := <-woke; err != nil {
		t.Fatalf("WaitEvents(0) = %v after events were committed", err)
	}

	var all []Event
	var after uint64
	for {
		page, err := l.Events(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 2 {
			t.Fatalf("Events(limit 2) returned %d", len(page))
		}
		all = append(all, page...)
		after = page[len(page)-1].Seq
	}
	if len(all) != 6 {
		t.Fatalf("feed has %d events, want 6", len(all))
	}
	for i, e := range all {
		if e.Seq != uint64(i+1) || e.TxID != rs[i].TxID || rs[i].Event == nil || rs[i].Event.Seq != e.Seq {
			t.Errorf("event %d = seq %d tx %s, want seq %d tx %s (receipt event %+v)", i, e.Seq, e.TxID, i+1, rs[i].TxID, rs[i].Event)
		}
		if e.Block != rs[i].Block || e.TxIndex != rs[i].Index || !e.Time.Equal(rs[i].Time) {
			t.Errorf("event %d at block %d tx %d time %v, receipt says %d/%d/%v", i, e.Block, e.TxIndex, e.Time, rs[i].Block, rs[i].Index, rs[i].Time)
		}
	}
	if got := string(all[2].Payload); got != "payload 2" {
		t.Errorf("event 3 payload = %q", got)
	}
	if last := all[5]; last.Name != "second" || string(last.Payload) != "2" {
		t.Errorf("emitTwice event = %s %q, want the second Emit to replace the first", last.Name, last.Payload)
	}
	if err := l.WaitEvents(ctx, 5); err != nil {
		t.Errorf("WaitEvents(5) with 6 events = %v", err)
	}
}

func TestHistoryOrder(t *testing.T) {
	l := newLedger(t, nil)
	steps := []struct {
		fn      string
		args    []string
		value   string
		deleted bool
	}{
		{"put", []string{"h", "v1"}, "v1", false},
		{"put", []string{"h", "v2"}, "v2", false},
		{"del", []string{"h"}, "", true},
		{"put", []string{"h", "v3"}, "v3", false},
	}
	var rs []Receipt
	for _, s := range steps {
		rs = append(rs, l.submit(t, s.fn, s.args...))
	}
	out, err := l.Evaluate(context.Background(), alice, "history", []byte("h"))
	if err != nil {
		t.Fatal(err)
	}
	var got []chaincode.Version
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(steps) {
		t.Fatalf("History(h) has %d versions, want %d", len(got), len(steps))
	}
	for i, s := range steps {
		if got[i].TxID != rs[i].TxID || string(got[i].Value) != s.value || got[i].Deleted != s.deleted || !got[i].Time.Equal(rs[i].Time) {
			t.Errorf("History(h)[%d] = %+v, want tx %s value %q deleted %v (oldest first)", i, got[i], rs[i].TxID, s.value, s.deleted)
		}
	}
}

func TestProposalIdentity(t *testing.T) {
	l := newLedger(t, nil)
	bob := chaincode.Caller{MSP: "CarrierMSP", ID: "bob \"the driver\""}
	r, err := l.Submit(context.Background(), bob, "whoami")
	if err != nil {
		t.Fatal(err)
	}
	var seen struct {
		TxID   string           `json:"tx_id"`
		Time   time.Time        `json:"time"`
		Caller chaincode.Caller `json:"caller"`
	}
	json.Unmarshal(r.Payload, &seen)
	if seen.TxID != r.TxID || len(r.TxID) != 64 {
		t.Errorf("contract saw tx id %q, receipt %q, want the same 64 hex digits", seen.TxID, r.TxID)
	}
	if _, err := hex.DecodeString(r.TxID); err != nil {
		t.Errorf("tx id %q is not hex", r.TxID)
	}
	if !seen.Time.Equal(r.Time) || r.Time.Location() != time.UTC || r.Time.Nanosecond()%1000 != 0 {
		t.Errorf("contract saw time %v, receipt %v, want the same UTC microsecond", seen.Time, r.Time)
	}
	if seen.Caller != bob {
		t.Errorf("contract saw caller %+v, want %+v", seen.Caller, bob)
	}
	rec, err := l.Transaction(context.Background(), r.TxID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Caller != bob || rec.Function != "whoami" || !rec.Time.Equal(r.Time) || !bytes.Equal(rec.Response, r.Payload) {
		t.Errorf("Transaction = %+v, want caller, function, time and response of the receipt", rec)
	}
}

func TestEvaluateDoesNotWrite(t *testing.T) {
	l := newLedger(t, nil)
	ctx := context.Background()
	h := l.Height()
	for _, fn := range []string{"put", "incr"} {
		if _, err := l.Evaluate(ctx, alice, fn, []byte("e"), []byte("1")); err != nil {
			t.Fatalf("Evaluate(%s): %v", fn, err)
		}
	}
	if got := l.get(t, "e"); got != "" {
		t.Errorf("after Evaluate(put), e = %q, want absent", got)
	}
	if l.Height() != h {
		t.Errorf("Height = %d after Evaluate, want %d", l.Height(), h)
	}
	if evs, _ := l.Events(ctx, 0, 10); len(evs) != 0 {
		t.Errorf("Events after Evaluate = %v, want none", evs)
	}
	if _, err := l.Evaluate(ctx, alice, "fail", []byte("e")); err != errRefused {
		t.Errorf("Evaluate(fail) = %v, want the contract's error", err)
	}
}

func TestProofs(t *testing.T) {
	l := newLedger(t, func(c *Config) { c.BlockMaxTx = 3 })
	ctx := context.Background()
	var rs []Receipt
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := l.submit(t, "put", fmt.Sprintf("k%d", i), "v")
			mu.Lock()
			rs = append(rs, r)
			mu.Unlock()
		}()
	}
	wg.Wait()
	signed, size, root, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := ParseCheckpoint(signed, l.VerifierKey())
	if err != nil {
		t.Fatalf("checkpoint does not verify: %v", err)
	}
	if cp.TreeSize != size || !bytes.Equal(cp.Root, root) || size != 20 || cp.Origin != "wasteledger/"+l.ID() || cp.Block != l.Height() {
		t.Fatalf("checkpoint = %+v, want size 20, root %x, block %d", cp, root, l.Height())
	}
	for _, r := range rs {
		rec, err := l.Transaction(ctx, r.TxID)
		if err != nil {
			t.Fatal(err)
		}
		idx, p, err := l.InclusionProof(ctx, r.TxID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if idx != rec.Leaf {
			t.Errorf("InclusionProof leaf = %d, record leaf %d", idx, rec.Leaf)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, idx, cp.TreeSize, rec.LeafHash, p, cp.Root); err != nil {
			t.Errorf("inclusion of %s: %v", r.TxID, err)
		}
		// A tampered record does not verify.
		bad := rfc6962.DefaultHasher.HashLeaf(append(bytes.Clone(rec.Record), ' '))
		if proof.VerifyInclusion(rfc6962.DefaultHasher, idx, cp.TreeSize, bad, p, cp.Root) == nil {
			t.Errorf("inclusion of a tampered record of %s verified", r.TxID)
		}
	}
	// Every earlier block's signed checkpoint is consistent with the latest.
	for n := uint64(0); n <= l.Height(); n++ {
		b, err := l.Block(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		old, err := ParseCheckpoint(b.Checkpoint, l.VerifierKey())
		if err != nil {
			t.Fatalf("block %d checkpoint: %v", n, err)
		}
		p, err := l.ConsistencyProof(ctx, old.TreeSize, cp.TreeSize)
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, old.TreeSize, cp.TreeSize, p, old.Root, cp.Root); err != nil {
			t.Errorf("consistency %d→%d: %v", old.TreeSize, cp.TreeSize, err)
		}
		// Inclusion in an older tree, against that tree's checkpoint.
		if old.TreeSize > 0 {
			tx := rs[0].TxID
			rec, _ := l.Transaction(ctx, tx)
			if rec.Leaf < old.TreeSize {
				idx, p, err := l.InclusionProof(ctx, tx, old.TreeSize)
				if err != nil {
					t.Fatal(err)
				}
				if err := proof.VerifyInclusion(rfc6962.DefaultHasher, idx, old.TreeSize, rec.LeafHash, p, old.Root); err != nil {
					t.Errorf("inclusion in tree %d: %v", old.TreeSize, err)
				}
			}
		}
	}
	if _, err := ParseCheckpoint(signed, otherVerifierKey(t)); err == nil {
		t.Error("checkpoint verified with another ledger's key")
	}
}

func otherVerifierKey(t *testing.T) string {
	o := newLedger(t, nil)
	return o.VerifierKey()
}

func TestAppendOnly(t *testing.T) {
	l := newLedger(t, nil)
	l.submit(t, "put", "k", "v")
	l.Close()
	db, err := sql.Open("sqlite3", writerDSN(l.cfg.Path, true))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range []string{
		"UPDATE blocks SET time = 'x'", "DELETE FROM blocks",
		"UPDATE txs SET record = 'x'", "DELETE FROM txs",
		"UPDATE history SET value = 'x'", "DELETE FROM history",
		"UPDATE events SET payload = 'x'", "DELETE FROM events",
		"UPDATE merkle SET hash = 'x'", "DELETE FROM merkle",
	} {
		if _, err := db.Exec(stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: error = %v, want append-only refusal", stmt, err)
		}
	}
}

func TestReopen(t *testing.T) {
	l := newLedger(t, func(c *Config) { c.BlockMaxTx = 2 })
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		l.submit(t, "incr", "c")
	}
	h := l.Height()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Submit(ctx, alice, "incr", []byte("c")); manifest.CodeOf(err) != manifest.Unavailable {
		t.Errorf("Submit after Close = %v, want unavailable", err)
	}
	l2, err := Open(ctx, l.cfg, l.cc)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if l2.Height() != h {
		t.Errorf("reopened Height = %d, want %d", l2.Height(), h)
	}
	r, err := l2.Submit(ctx, alice, "incr", []byte("c"))
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Payload) != "6" || r.Block != h+1 || r.Event == nil || r.Event.Seq != 6 {
		t.Errorf("after reopen: incr = %s in block %d event %+v, want 6 in block %d, event seq 6", r.Payload, r.Block, r.Event, h+1)
	}
	if _, err := Init(ctx, l.cfg); err == nil {
		t.Error("Init over an existing ledger succeeded")
	}
	l2.Close()
	rep, err := Verify(ctx, l.cfg, l.cc, nil)
	if err != nil {
		t.Fatalf("Verify after reopen: %v", err)
	}
	if rep.Txs != 6 || rep.Blocks != h+2 {
		t.Errorf("Verify report = %+v, want 6 txs in %d blocks", rep, h+2)
	}
}

// verifyOK runs Verify on a live ledger and fails the test on divergence.
func verifyOK(t *testing.T, l *testLedger) Report {
	t.Helper()
	rep, err := Verify(context.Background(), l.cfg, l.cc, nil)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

// TestTxIDIndex covers the three places a tx id is found: the in-memory
// map of recent transactions, the batched txids table, and after reopening
// (the map rebuilt from the txs table).
func TestTxIDIndex(t *testing.T) {
	l := newLedger(t, func(c *Config) { c.txidBatch = 5; c.BlockMaxTx = 3 })
	ctx := context.Background()
	var ids []string
	for i := 0; i < 13; i++ {
		ids = append(ids, l.submit(t, "put", fmt.Sprintf("k%d", i), "v").TxID)
	}
	check := func(l *Ledger, when string) {
		t.Helper()
		for i, id := range ids {
			rec, err := l.Transaction(ctx, id)
			if err != nil || rec.Leaf != uint64(i) {
				t.Errorf("%s: Transaction(tx %d) = leaf %d, %v; want leaf %d", when, i, rec.Leaf, err, i)
			}
		}
		if _, err := l.Transaction(ctx, strings.Repeat("0", 64)); manifest.CodeOf(err) != manifest.NotFound {
			t.Errorf("%s: Transaction(unknown) error = %v, want not_found", when, err)
		}
	}
	check(l.Ledger, "open")
	var indexed int
	l.rd.QueryRow("SELECT COUNT(*) FROM txids").Scan(&indexed)
	if indexed == 0 || indexed == len(ids) {
		t.Errorf("txids table holds %d of %d ids, want some but not all (batches of 5)", indexed, len(ids))
	}
	verifyOK(t, l)
	l.Close()
	l2, err := Open(ctx, l.cfg, l.cc)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	check(l2, "reopened")
}

func TestInitFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Path: filepath.Join(dir, "l.db"), NoSync: true}
	ctx := context.Background()
	info, err := Init(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(cfg.Path + ".key")
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("signing key mode = %v, want 0600", st.Mode().Perm())
	}
	if info.Origin != "wasteledger/"+info.LedgerID || info.Genesis.Number != 0 || info.Genesis.TxCount != 0 {
		t.Errorf("Init info = %+v", info)
	}
	if _, err := ParseCheckpoint(info.Genesis.Checkpoint, info.VerifierKey); err != nil {
		t.Errorf("genesis checkpoint: %v", err)
	}
	// A signing key of another ledger is refused.
	other := Config{Path: filepath.Join(dir, "other.db"), NoSync: true}
	if _, err := Init(ctx, other); err != nil {
		t.Fatal(err)
	}
	cfg.KeyPath = other.Path + ".key"
	if l, err := Open(ctx, cfg, newKV()); err == nil {
		l.Close()
		t.Error("Open with another ledger's signing key succeeded")
	}
	cfg.KeyPath = ""
	l, err := Open(ctx, cfg, newKV())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l2, err := Open(ctx, cfg, newKV()); err == nil {
		l2.Close()
		t.Error("a second Open of an open ledger succeeded")
	}
	if _, err := Open(ctx, Config{Path: filepath.Join(dir, "missing.db")}, newKV()); err == nil {
		t.Error("Open of a missing ledger succeeded")
	}
}

// TestConcurrentMixedThenVerify runs a mixed, conflicting workload with
// small blocks, then checks the invariant every successful increment
// leaves (counter == successes) and that Verify's replay agrees with every
// recorded transaction.
func TestConcurrentMixedThenVerify(t *testing.T) {
	l := newLedger(t, func(c *Config) { c.BlockMaxTx = 7; c.BlockMaxWait = time.Millisecond; c.txidBatch = 16 })
	const goroutines, each, counters = 8, 40, 3
	var mu sync.Mutex
	incrs := make(map[string]int)
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				var err error
				c := fmt.Sprintf("ctr/%d", (g+i)%counters)
				switch i % 4 {
				case 0, 1:
					_, err = l.Submit(context.Background(), alice, "incr", []byte(c))
					if err == nil {
						mu.Lock()
						incrs[c]++
						mu.Unlock()
					}
				case 2:
					_, err = l.Submit(context.Background(), alice, "rangeSum", []byte("ctr/"), []byte(fmt.Sprintf("sum/%d", g)))
				case 3:
					_, err = l.Submit(context.Background(), alice, "put", []byte(fmt.Sprintf("g%d/%d", g, i)), []byte("v"))
				}
				if err != nil && manifest.CodeOf(err) != manifest.Conflict {
					t.Errorf("submit: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	for c, n := range incrs {
		if got := l.get(t, c); got != strconv.Itoa(n) {
			t.Errorf("%s = %s, want %d successful increments", c, got, n)
		}
	}
	rep := verifyOK(t, l)
	t.Logf("%d txs in %d blocks verified", rep.Txs, rep.Blocks)
}

// A block closes as soon as no other transaction is being executed: a
// lone submission does not wait out BlockMaxWait for company.
func TestLoneTransactionDoesNotWait(t *testing.T) {
	l := newLedger(t, func(c *Config) { c.BlockMaxWait = time.Hour; c.waitFull = false })
	type result struct {
		r   Receipt
		err error
	}
	done := make(chan result, 1)
	for _, k := range []string{"a", "b"} {
		go func() {
			r, err := l.Submit(context.Background(), alice, "put", bs(k, "v")...)
			done <- result{r, err}
		}()
		select {
		case res := <-done:
			if res.err != nil || res.r.Block == 0 {
				t.Fatalf("put %s = block %d, %v", k, res.r.Block, res.err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("put %s still waits for its block (BlockMaxWait 1 h)", k)
		}
	}
}
