package reconcile_test

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wasteledger/gateway/audit"
	"wasteledger/gateway/index"
	"wasteledger/gateway/reconcile"
	"wasteledger/gateway/reconcile/calendar"
	"wasteledger/manifest"
)

// tamper opens the index file as a second writer, the way an operator's
// mistake or a disk fault would change it.
func tamper(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestCheckReportsAndRepairsDeletedRows(t *testing.T) {
	ctx := context.Background()
	d := buildDataset(t)
	path := filepath.Join(t.TempDir(), index.DefaultFile)
	ix, err := index.Open(ctx, index.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if _, err := ix.CatchUp(ctx, d.ledger, nil); err != nil {
		t.Fatal(err)
	}
	r := &reconcile.Reconciler{Index: ix, Ledger: d.ledger, Caller: d.world.RegulatorCaller(), Calendar: calendar.Default()}
	clean, err := r.Check(ctx, reconcile.CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(clean.Problems) != 0 || clean.Checked != len(d.specs) {
		t.Fatalf("Check on a fresh index = %+v, want %d manifests and no problems", clean, len(d.specs))
	}
	gone, line, status, vanished := d.byName["A"].trip.ID(), d.byName["B2"].trip.ID(), d.byName["F"].trip.ID(), d.byName["G1"].trip.ID()
	tamper(t, path,
		"DELETE FROM manifests WHERE id = '"+gone+"'",
		"DELETE FROM lines WHERE manifest_id = '"+gone+"'",
		"DELETE FROM lines WHERE manifest_id = '"+line+"' AND line = 1",
		"UPDATE manifests SET status = 'in_transit' WHERE id = '"+status+"'",
		// every trace of G1, version log included: only the ledger's feed knows it
		"DELETE FROM manifests WHERE id = '"+vanished+"'",
		"DELETE FROM versions WHERE manifest_id = '"+vanished+"'",
		"DELETE FROM lines WHERE manifest_id = '"+vanished+"'",
		"DELETE FROM units WHERE manifest_id = '"+vanished+"'",
	)
	res, err := r.Check(ctx, reconcile.CheckOptions{Repair: true})
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, p := range res.Problems {
		found[p.Manifest] = p.Rule
		if !p.Repaired {
			t.Errorf("problem %+v not repaired", p)
		}
	}
	wantRules := map[string]string{gone: reconcile.RuleIndexGap, line: reconcile.RuleIndexDivergence, status: reconcile.RuleIndexDivergence}
	for id, rule := range wantRules {
		if found[id] != rule {
			t.Errorf("Check found %q for %s, want %q (all: %+v)", found[id], id, rule, res.Problems)
		}
	}
	if _, ok := found[vanished]; ok {
		t.Errorf("a quick check found %s, which left no trace in the index", vanished)
	}
	// The full check walks the ledger's feed and finds the vanished one.
	full, err := r.Check(ctx, reconcile.CheckOptions{Full: true, Repair: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(full.Problems) != 1 || full.Problems[0].Manifest != vanished || full.Problems[0].Rule != reconcile.RuleIndexGap {
		t.Errorf("full Check = %+v, want one gap: %s", full.Problems, vanished)
	}
	// Now the index matches the ledger again …
	again, err := r.Check(ctx, reconcile.CheckOptions{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Problems) != 0 {
		t.Errorf("after repair, Check = %+v, want no problems", again.Problems)
	}
	s, err := ix.Get(ctx, status)
	if err != nil || s.Status != manifest.StatusClosed {
		t.Errorf("repaired %s: %+v, %v; want closed", status, s, err)
	}
	// … and the anomalies say what was found and that it was repaired.
	for id, rule := range map[string]string{gone: reconcile.RuleIndexGap, vanished: reconcile.RuleIndexGap, line: reconcile.RuleIndexDivergence} {
		page, err := ix.Anomalies(ctx, index.AnomalyFilter{Rule: rule, Manifest: id})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Items) != 1 || page.Items[0].ResolvedAt == nil || !strings.Contains(page.Items[0].Detail, "repaired") || page.Items[0].Severity != index.High {
			t.Errorf("anomaly %s on %s = %+v, want one, high, resolved as repaired", rule, id, page.Items)
		}
	}
}

func TestAuditHistoryProofAndExport(t *testing.T) {
	ctx := context.Background()
	d := buildDataset(t)
	ix := d.index(t)
	a := &audit.Auditor{Ledger: d.ledger, Caller: d.world.RegulatorCaller(), Prover: d.ledger.Ledger}
	id := d.byName["A"].trip.ID()
	h, err := a.History(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if h.Verdict != "verified" {
		t.Fatalf("History(%s) verdict %s: %s", id, h.Verdict, h.Failure)
	}
	// create, sign, pickup, relay, delivery, receive, process, close
	if len(h.Versions) != 8 {
		t.Errorf("History(%s) has %d versions, want 8", id, len(h.Versions))
	}
	relay := h.Versions[3]
	if relay.Step == nil || relay.Step.Step != manifest.StepRelay || len(relay.Step.Signatures) != 2 || relay.Block == 0 || !relay.Step.PrevOK {
		t.Errorf("relay version = %+v, want a relay signed by both carriers, with a block", relay)
	}
	for _, s := range relay.Step.Signatures {
		if !s.Valid {
			t.Errorf("relay signature of %s invalid: %s", s.Org, s.Reason)
		}
	}
	p, err := a.Proof(ctx, relay.TxID)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Verified || p.Block != relay.Block || len(p.Path) == 0 {
		t.Errorf("Proof(%s) = verified %v block %d path %d, want verified in block %d", relay.TxID, p.Verified, p.Block, len(p.Path), relay.Block)
	}
	noProofs := &audit.Auditor{Ledger: d.ledger, Caller: d.world.RegulatorCaller()}
	if _, err := noProofs.Proof(ctx, relay.TxID); err != audit.ErrNoProofs {
		t.Errorf("Proof without a prover: %v, want ErrNoProofs", err)
	}

	ids, err := ix.ManifestIDs(ctx, index.Scan{Region: "440000"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := a.Export(ctx, &buf, audit.Selection{Region: "440000", Period: "2026", IDs: ids}, time.Now()); err != nil {
		t.Fatal(err)
	}
	export := buf.Bytes()
	rep, err := audit.VerifyExport(bytes.NewReader(export))
	if err != nil {
		t.Fatalf("VerifyExport: %v", err)
	}
	if rep.Manifests != len(ids) || rep.Signatures == 0 || rep.Keys == 0 {
		t.Errorf("VerifyExport = %+v, want %d manifests with signatures and keys", rep, len(ids))
	}
	lines := bytes.Split(bytes.TrimSuffix(export, []byte("\n")), []byte("\n"))
	// Flip one character of a signature in A's record: the failure names
	// the record (the document no longer hashes to its recorded hash).
	// Recompute the hash as a forger would, and the signature fails.
	for i, l := range lines {
		if !bytes.Contains(l, []byte(`"id":"`+id+`"`)) {
			continue
		}
		flipped := flipSig(t, l, false)
		bad := bytes.Replace(export, l, flipped, 1)
		_, err := audit.VerifyExport(bytes.NewReader(bad))
		var ee *audit.ExportError
		if err == nil || !errorsAs(err, &ee) || ee.Record != "manifest "+id || ee.Line != i+1 || !strings.Contains(ee.What, "hashes to") {
			t.Errorf("VerifyExport(flipped signature) = %v, want a failure of manifest %s on line %d", err, id, i+1)
		}
		forged := bytes.Replace(export, l, flipSig(t, l, true), 1)
		_, err = audit.VerifyExport(bytes.NewReader(forged))
		if err == nil || !errorsAs(err, &ee) || ee.Record != "manifest "+id || !strings.Contains(ee.What, "signature") {
			t.Errorf("VerifyExport(forged signature, rehashed) = %v, want a signature failure of manifest %s", err, id)
		}
		break
	}
	// Change a declared quantity in a document: its hash no longer matches.
	bad := bytes.Replace(export, []byte(`"qty":1200`), []byte(`"qty":1300`), 1)
	if _, err := audit.VerifyExport(bytes.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "hashes to") {
		t.Errorf("VerifyExport(changed quantity) = %v, want a hash failure", err)
	}
	// Drop a manifest line: the trailer catches it.
	var cut [][]byte
	for i, l := range lines {
		if i != 2 || !bytes.Contains(l, []byte(`"type":"manifest"`)) {
			cut = append(cut, l)
		}
	}
	if len(cut) < len(lines) {
		if _, err := audit.VerifyExport(bytes.NewReader(append(bytes.Join(cut, []byte("\n")), '\n'))); err == nil || !strings.Contains(err.Error(), "end") {
			t.Errorf("VerifyExport(dropped line) = %v, want the trailer to fail", err)
		}
	}
	if _, err := audit.VerifyExport(bytes.NewReader(bytes.Join(lines[:len(lines)-1], []byte("\n")))); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("VerifyExport(truncated) = %v, want truncated", err)
	}
}
