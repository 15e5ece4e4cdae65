package main

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"wasteledger/chaincode"
	"wasteledger/chaincode/scenario"
	"wasteledger/gateway/index"
	"wasteledger/gateway/index/indextest"
	"wasteledger/gateway/ledger"
	"wasteledger/manifest"
)

type localHost struct{ l *ledger.Local }

func (h localHost) Submit(ctx context.Context, c chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	r, err := h.l.Submit(ctx, c, fn, args...)
	return r.Payload, err
}

func (h localHost) Evaluate(ctx context.Context, c chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	return h.l.Evaluate(ctx, c, fn, args...)
}

func TestReindexAndReconcileCommands(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	l, err := ledger.OpenLocal(ctx, ledger.LocalConfig{Path: ledgerPath(data), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	h := localHost{l}
	w := scenario.NewWorld()
	if err := w.Setup(ctx, h); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tr := range []*scenario.Trip{w.OilTrip(true), w.FlyAshTrip(5000), w.LeadTrip()} {
		if err := indextest.Run(ctx, h, tr, indextest.Plan{To: manifest.StatusClosed}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tr.ID())
	}
	l.Close()

	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"reindex", "--data", data}, &out, &errOut); code != 0 {
		t.Fatalf("reindex exit %d: %s %s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "indexed") || !strings.Contains(errOut.String(), "reindex:") {
		t.Errorf("reindex output %q, progress %q", out.String(), errOut.String())
	}
	// Lose a manifest's rows; reconcile finds and repairs it.
	db, err := sql.Open("sqlite3", filepath.Join(data, index.DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("DELETE FROM lines WHERE manifest_id = ?", ids[1]); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out.Reset()
	errOut.Reset()
	if code := run(ctx, []string{"reconcile", "--data", data, "-q"}, &out, &errOut); code != 0 {
		t.Fatalf("reconcile exit %d: %s %s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "index_divergence "+ids[1]+" (repaired)") || !strings.Contains(out.String(), "rules: 3 manifests") {
		t.Errorf("reconcile output:\n%s", out.String())
	}
	out.Reset()
	if code := run(ctx, []string{"reconcile", "--data", data, "-q", "--no-repair"}, &out, &errOut); code != 0 {
		t.Errorf("second reconcile exit %d: %s", code, out.String())
	}
	if !strings.Contains(out.String(), "0 problems") {
		t.Errorf("after repair: %s", out.String())
	}
	if code := run(ctx, []string{"reindex", "--data", t.TempDir()}, &out, &errOut); code == 0 {
		t.Errorf("reindex without a ledger succeeded")
	}
}
