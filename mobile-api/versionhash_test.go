package mobileapi

import (
	"context"
	"encoding/json"
	"testing"

	"wasteledger/chaincode"
	"wasteledger/chaincode/scenario"
	"wasteledger/gateway/index/indextest"
	"wasteledger/manifest"
)

// versionHash answers what the ledger's history says, for every earlier
// version of a manifest that went through every step.
func TestVersionHashIsTheHistorys(t *testing.T) {
	ctx := context.Background()
	l := indextest.Open(t)
	w := scenario.NewWorld()
	if err := w.Setup(ctx, l.Host()); err != nil {
		t.Fatal(err)
	}
	tr := w.OilTrip(true)
	if err := indextest.Run(ctx, l.Host(), tr, indextest.Plan{To: manifest.StatusClosed}); err != nil {
		t.Fatal(err)
	}
	b, err := l.Evaluate(ctx, w.RegulatorCaller(), "ManifestHistory", []byte(tr.ID()))
	if err != nil {
		t.Fatal(err)
	}
	var hist []chaincode.HistoryEntry
	if err := json.Unmarshal(b, &hist); err != nil {
		t.Fatal(err)
	}
	var m manifest.Manifest
	if err := json.Unmarshal(hist[len(hist)-1].Manifest, &m); err != nil {
		t.Fatal(err)
	}
	if len(hist) < 7 || m.Version != len(hist) {
		t.Fatalf("history of %d versions, manifest at version %d", len(hist), m.Version)
	}
	for _, h := range hist[:len(hist)-1] {
		got, ok := versionHash(&m, h.Version)
		if !ok || got != h.Hash {
			t.Errorf("versionHash(%d) = %q, %v; want %q from the history", h.Version, got, ok, h.Hash)
		}
	}
	for _, v := range []int{0, m.Version, m.Version + 1, -1} {
		if got, ok := versionHash(&m, v); ok {
			t.Errorf("versionHash(%d) = %q, true; want false", v, got)
		}
	}
	m.Followups = []manifest.Followup{{Manifest: "20264401999999", Kind: "onward"}}
	if _, ok := versionHash(&m, 1); ok {
		t.Errorf("versionHash with a follow-up = true; want false (the history answers)")
	}
}
