package embedded

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"

	"wasteledger/chaincode"
)

// tamperFixture is a closed ledger with one known target transaction in
// the middle.
type tamperFixture struct {
	cfg    Config
	cc     *kv
	target Receipt
	value  string // the target's value, stored raw in its history row (the state refers to it)
	event  string // the target's event payload
}

func buildTamperFixture(t *testing.T) tamperFixture {
	t.Helper()
	l := newLedger(t, func(c *Config) { c.BlockMaxTx = 2; c.txidBatch = 4 })
	for i := 0; i < 5; i++ {
		l.submit(t, "incr", "c")
		l.submit(t, "put", fmt.Sprintf("k%d", i), fmt.Sprintf("value %d", i))
	}
	f := tamperFixture{cfg: l.cfg, cc: l.cc,
		value: "VALUE-MARKER-7f3a9c-the-waste-went-to-plant-42",
		event: "EVENT-MARKER-c0ffee-handover-signed"}
	f.target = l.submit(t, "put", "target", f.value, f.event)
	for i := 5; i < 9; i++ {
		l.submit(t, "incr", "c")
		l.submit(t, "put", fmt.Sprintf("k%d", i), fmt.Sprintf("value %d", i))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(f.cfg.Path + "-wal"); err == nil && st.Size() > 0 {
		t.Fatalf("WAL not folded into the database at Close (%d bytes)", st.Size())
	}
	if _, err := Verify(context.Background(), f.cfg, f.cc, nil); err != nil {
		t.Fatalf("Verify of the untampered ledger: %v", err)
	}
	return f
}

// copyLedger copies the fixture's files to a new directory.
func (f tamperFixture) copyLedger(t *testing.T, edit func(db []byte)) Config {
	t.Helper()
	b, err := os.ReadFile(f.cfg.Path)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(b)
	}
	cfg := f.cfg
	cfg.Path = filepath.Join(t.TempDir(), "ledger.db")
	cfg.KeyPath = f.cfg.KeyPath
	if err := os.WriteFile(cfg.Path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func offsets(b, s []byte) []int {
	var out []int
	for i := 0; ; {
		j := bytes.Index(b[i:], s)
		if j < 0 {
			return out
		}
		out = append(out, i+j)
		i += j + 1
	}
}

func wantDivergence(t *testing.T, err error, block int64, tx int) {
	t.Helper()
	var d *Divergence
	if !errors.As(err, &d) {
		t.Fatalf("Verify error = %v, want a divergence at block %d tx %d", err, block, tx)
	}
	if d.Block != block || (tx >= -1 && d.Tx != tx) {
		t.Fatalf("Verify divergence = %q, want block %d tx %d", d.Error(), block, tx)
	}
	if tx >= 0 && !strings.Contains(d.Error(), fmt.Sprintf("block %d tx %d (tx id ", block, tx)) {
		t.Errorf("divergence message %q does not name the block and tx", d.Error())
	}
	t.Logf("caught: %v", d)
}

// TestVerifyDetectsByteFlip flips one byte of the SQLite file inside each
// copy of a known value, event payload and record. SQLite may leave stale
// copies of a row in free space when it rebalances pages; a flip there
// changes nothing the ledger serves, so Verify must pass and the live rows
// must read back unchanged. Every other flip must be caught and attributed
// to the transaction that wrote the bytes.
func TestVerifyDetectsByteFlip(t *testing.T) {
	f := buildTamperFixture(t)
	file, err := os.ReadFile(f.cfg.Path)
	if err != nil {
		t.Fatal(err)
	}
	live := f.liveRows(t, f.cfg.Path)
	tests := []struct {
		name     string
		needle   string
		wantLive int // copies that rows of the ledger hold
	}{
		{"value (history row)", f.value, 1},
		{"event payload", f.event, 1},
		{"record (base64 argument)", base64.StdEncoding.EncodeToString([]byte(f.value))[8:40], 1},
	}
	for _, tt := range tests {
		offs := offsets(file, []byte(tt.needle))
		caught := 0
		for i, off := range offs {
			t.Run(fmt.Sprintf("%s copy %d", tt.name, i), func(t *testing.T) {
				cfg := f.copyLedger(t, func(db []byte) { db[off+10] ^= 0x01 })
				_, err := Verify(context.Background(), cfg, f.cc, nil)
				if err == nil {
					if got := f.liveRows(t, cfg.Path); got != live {
						t.Fatalf("Verify passed but the ledger's rows changed:\n%s\nwant\n%s", got, live)
					}
					t.Logf("offset %d is free space: nothing changed, Verify passes", off)
					return
				}
				caught++
				wantDivergence(t, err, int64(f.target.Block), f.target.Index)
			})
		}
		if caught != tt.wantLive {
			t.Errorf("%s: %d of %d flips caught, want %d (the live copies)", tt.name, caught, len(offs), tt.wantLive)
		}
	}
}

// liveRows reads the target's rows as SQLite serves them.
func (f tamperFixture) liveRows(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite3", dsn(path, "mode=ro"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rec, state, hist, payload []byte
	id := f.target.TxID
	for _, q := range []struct {
		sql  string
		dest *[]byte
	}{
		{"SELECT record FROM txs WHERE tx_id = ?", &rec},
		{"SELECT value FROM history WHERE tx_id = ?", &hist},
		{"SELECT payload FROM events WHERE tx_id = ?", &payload},
	} {
		if err := db.QueryRow(q.sql, id).Scan(q.dest); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	if err := db.QueryRow(getStateSQL, "target").Scan(&state, new(int64), new(int64)); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("record %s\nstate %s\nhistory %s\nevent %s", rec, state, hist, payload)
}

func TestVerifyDetectsSQLEdit(t *testing.T) {
	f := buildTamperFixture(t)
	tb, ti := int64(f.target.Block), f.target.Index
	id := f.target.TxID
	record := func(db *sql.DB) string {
		var rec string
		if err := db.QueryRow("SELECT record FROM txs WHERE tx_id = ?", id).Scan(&rec); err != nil {
			t.Fatal(err)
		}
		// Same JSON value, not canonical any more.
		return strings.Replace(rec, `"tx_id"`, ` "tx_id"`, 1)
	}
	// A canonical record of a different transaction: another caller.
	forged := func(db *sql.DB) []byte {
		var rec []byte
		if err := db.QueryRow("SELECT record FROM txs WHERE tx_id = ?", id).Scan(&rec); err != nil {
			t.Fatal(err)
		}
		r, args, ts, err := parseRecord(rec)
		if err != nil {
			t.Fatal(err)
		}
		r.Caller.ID = "mallory"
		resp, _ := hex.DecodeString(r.Response)
		return appendRecord(nil, r.TxID, ts, r.Caller, r.Function, args, r.Writes, r.Event, resp)
	}
	type stmt struct {
		sql  string
		args func(db *sql.DB) []any
	}
	plain := func(q string, args ...any) stmt { return stmt{q, func(*sql.DB) []any { return args }} }
	tests := []struct {
		name  string
		edits []stmt
		block int64
		tx    int // -1: the block itself; -2: any tx of the block
	}{
		{"history value", []stmt{plain("DROP TRIGGER history_no_update"),
			plain("UPDATE history SET value = 'forged' WHERE tx_id = ?", id)}, tb, ti},
		{"world state refers to another value", []stmt{plain("UPDATE state SET hist = (SELECT MIN(id) FROM history) WHERE key = 'target'")}, tb, ti},
		{"world state refers to a missing history row", []stmt{plain("UPDATE state SET hist = 1000000 WHERE key = 'target'")}, tb, ti},
		{"world state key removed", []stmt{plain("DELETE FROM state WHERE key = 'target'")}, tb, ti},
		{"event payload", []stmt{plain("DROP TRIGGER events_no_update"),
			plain("UPDATE events SET payload = 'forged' WHERE tx_id = ?", id)}, tb, ti},
		{"response", []stmt{plain("DROP TRIGGER txs_no_update"),
			plain("UPDATE txs SET response = 'forged' WHERE tx_id = ?", id)}, tb, ti},
		{"record re-encoded", []stmt{plain("DROP TRIGGER txs_no_update"),
			{"UPDATE txs SET record = ? WHERE tx_id = ?", func(db *sql.DB) []any { return []any{[]byte(record(db)), id} }}}, tb, ti},
		{"record and its Merkle leaf rewritten", []stmt{plain("DROP TRIGGER txs_no_update"), plain("DROP TRIGGER merkle_no_update"),
			{"UPDATE merkle SET hash = ? WHERE pos = ?",
				func(db *sql.DB) []any {
					var leaf uint64
					if err := db.QueryRow("SELECT leaf FROM txs WHERE tx_id = ?", id).Scan(&leaf); err != nil {
						t.Fatal(err)
					}
					return []any{rfc6962.DefaultHasher.HashLeaf(forged(db)), nodePos(compact.NewNodeID(0, leaf))}
				}},
			{"UPDATE txs SET record = ? WHERE tx_id = ?", func(db *sql.DB) []any { return []any{forged(db), id} }}}, tb, -2},
		{"transaction deleted", []stmt{plain("DROP TRIGGER txs_no_delete"),
			plain("DELETE FROM txs WHERE tx_id = ?", id)}, tb, ti},
		{"tx id index redirected", []stmt{plain("DROP TRIGGER txids_no_update"),
			plain("UPDATE txids SET leaf = leaf + 1 WHERE tx_id = ?", id)}, tb, ti},
		{"block time edited", []stmt{plain("DROP TRIGGER blocks_no_update"),
			plain("UPDATE blocks SET time = '2020-01-01T00:00:00.000000Z' WHERE number = ?", tb)}, tb, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.verifyEdited(t, func(db *sql.DB) {
				for _, e := range tt.edits {
					if _, err := db.Exec(e.sql, e.args(db)...); err != nil {
						t.Fatalf("%s: %v", e.sql, err)
					}
				}
			})
			wantDivergence(t, err, tt.block, tt.tx)
		})
	}
}

// verifyEdited edits a copy of the fixture's ledger through SQL (foreign
// keys off) and returns what Verify says of the copy.
func (f tamperFixture) verifyEdited(t *testing.T, edit func(db *sql.DB)) error {
	t.Helper()
	cfg := f.copyLedger(t, nil)
	db, err := sql.Open("sqlite3", dsn(cfg.Path, "_foreign_keys=off"))
	if err != nil {
		t.Fatal(err)
	}
	edit(db)
	db.Close()
	_, err = Verify(context.Background(), cfg, f.cc, nil)
	return err
}

// execAll is an edit for verifyEdited: the statements, in order.
func execAll(t *testing.T, stmts ...string) func(db *sql.DB) {
	return func(db *sql.DB) {
		for _, q := range stmts {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
}

// TestVerifyReplays shows that Verify re-executes the contract: the same
// records replayed by a contract that behaves differently diverge at the
// first transaction whose outcome changes.
func TestVerifyReplays(t *testing.T) {
	l := newLedger(t, nil)
	l.submit(t, "put", "a", "1")
	first := l.submit(t, "incr", "c")
	l.submit(t, "incr", "c")
	l.Close()
	if _, err := Verify(context.Background(), l.cfg, l.cc, nil); err != nil {
		t.Fatalf("Verify with the same contract: %v", err)
	}
	other := newKV()
	other.incrBy = 2
	_, err := Verify(context.Background(), l.cfg, other, nil)
	wantDivergence(t, err, int64(first.Block), first.Index)
	if !strings.Contains(err.Error(), "write set") {
		t.Errorf("divergence %q does not say the write set differs", err)
	}
}

func TestVerifyReportAndProgress(t *testing.T) {
	l := newLedger(t, func(c *Config) { c.BlockMaxTx = 3 })
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); l.submit(t, "put", fmt.Sprintf("k%d", i), "v") }()
	}
	wg.Wait()
	var calls []uint64
	rep, err := Verify(context.Background(), l.cfg, l.cc, func(done, total uint64) {
		if total != 10 {
			t.Errorf("progress total = %d, want 10", total)
		}
		calls = append(calls, done)
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Txs != 10 || rep.Events != 10 || rep.Keys != 10 || rep.Blocks != l.Height()+1 || rep.TreeSize != 10 {
		t.Errorf("Report = %+v, want 10 txs, events and keys in %d blocks", rep, l.Height()+1)
	}
	if len(calls) != int(rep.Blocks) || calls[len(calls)-1] != 10 {
		t.Errorf("progress calls = %v, want one per block ending at 10", calls)
	}
	if _, err := Verify(context.Background(), Config{Path: l.cfg.Path, VerifierKey: otherVerifierKey(t)}, l.cc, nil); err == nil {
		t.Error("Verify with another ledger's trusted key passed")
	}
}

// --- kill -9 -----------------------------------------------------------------

const childEnv = "WASTELEDGER_EMBEDDED_KILL9_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		os.Exit(runWriterChild(path))
	}
	os.Exit(m.Run())
}

// runWriterChild opens the ledger durably and submits concurrently,
// printing each tx id the moment its Submit returns, until killed.
func runWriterChild(path string) int {
	l, err := Open(context.Background(), Config{Path: path}, newKV())
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		return 2
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100000; i++ {
				r, err := l.Submit(context.Background(), alice, "put", []byte(fmt.Sprintf("g%d/%d", g, i)), bytes.Repeat([]byte("x"), 512))
				if err != nil {
					fmt.Fprintln(os.Stderr, "child submit:", err)
					continue
				}
				mu.Lock()
				os.Stdout.WriteString(r.TxID + "\n")
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return 0
}

func TestKill9LosesNoAcknowledgedTx(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a writer process")
	}
	const acks = 400
	cfg := Config{Path: filepath.Join(t.TempDir(), "ledger.db")}
	ctx := context.Background()
	if _, err := Init(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+cfg.Path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	for len(acked) < acks && sc.Scan() {
		acked = append(acked, sc.Text())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Acks already written to the pipe before the kill count too.
	for sc.Scan() {
		if line := sc.Text(); len(line) == 64 {
			acked = append(acked, line)
		}
	}
	cmd.Wait()
	if len(acked) < acks {
		t.Fatalf("child acknowledged only %d txs before exiting; stderr:\n%s", len(acked), stderr.String())
	}

	cc := newKV()
	rep, err := Verify(ctx, cfg, cc, nil)
	if err != nil {
		t.Fatalf("Verify after kill -9: %v", err)
	}
	l, err := Open(ctx, cfg, cc)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, id := range acked {
		if _, err := l.Transaction(ctx, id); err != nil {
			t.Errorf("acknowledged tx %s lost: %v", id, err)
		}
	}
	t.Logf("%d acknowledged, %d committed before the kill, %d blocks", len(acked), rep.Txs, rep.Blocks)
	if _, err := l.Submit(ctx, alice, "put", []byte("after"), []byte("restart")); err != nil {
		t.Errorf("Submit after recovery: %v", err)
	}
}

// --- golden wire format ------------------------------------------------------

func TestGoldenWireFormat(t *testing.T) {
	ts := time.Date(2026, 3, 1, 8, 30, 15, 123456000, time.UTC)
	h := sha256.Sum256([]byte("response"))
	rec := appendRecord(nil,
		"6c0c8f3a35a1d8b2b0f5d5f0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4",
		ts,
		chaincode.Caller{MSP: "ProducerMSP", ID: "张三 \"ops\"\n"},
		"handover",
		[][]byte{[]byte("MF-2026-0001"), {0, 1, 2, 0xff}, nil},
		[]WriteRef{
			writeRef("manifest/MF-2026-0001", []byte(`{"status":"in_transit"}`)),
			writeRef("ticket/MF-2026-0001", nil),
		},
		&EventRef{Name: "manifest.handover", SHA256: sha256Hex([]byte(`{"id":"MF-2026-0001"}`))},
		h[:])
	hdr := appendHeader(nil, blockHeader{
		Number: 42, PrevHash: bytes.Repeat([]byte{0xab}, 32), Time: ts,
		TxCount: 3, FirstLeaf: 100, TreeSize: 103, Root: bytes.Repeat([]byte{0xcd}, 32),
	})
	for _, g := range []struct {
		file string
		got  []byte
	}{
		{"testdata/record.golden.json", rec},
		{"testdata/block_header.golden.json", hdr},
	} {
		if os.Getenv("UPDATE_GOLDEN") != "" {
			if err := os.WriteFile(g.file, append(bytes.Clone(g.got), '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(g.file)
		if err != nil {
			t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create)", err)
		}
		if !bytes.Equal(g.got, bytes.TrimSuffix(want, []byte("\n"))) {
			t.Errorf("%s drifted:\n got %s\nwant %s", g.file, g.got, want)
		}
	}
	// The record round-trips through the parser as canonical.
	if _, _, _, err := parseRecord(rec); err != nil {
		t.Errorf("parseRecord(golden record) = %v", err)
	}
}
