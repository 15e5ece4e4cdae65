package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wasteledger/chaincode"
	"wasteledger/chaincode/embedded"
	"wasteledger/chaincode/scenario"
	"wasteledger/manifest"
)

// ledgerHost adapts the embedded ledger to scenario.Host.
type ledgerHost struct{ l *embedded.Ledger }

func (h ledgerHost) Submit(ctx context.Context, c chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	r, err := h.l.Submit(ctx, c, fn, args...)
	return r.Payload, err
}

func (h ledgerHost) Evaluate(ctx context.Context, c chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	return h.l.Evaluate(ctx, c, fn, args...)
}

// TestInitVerify creates a ledger with the CLI, runs real manifests through
// it, verifies it with the CLI, then edits one stored byte and sees verify
// fail naming where.
func TestInitVerify(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"init", "--data", data}, &out, &errOut); code != 0 {
		t.Fatalf("init exit %d: %s", code, errOut.String())
	}
	l, err := embedded.Open(ctx, embedded.Config{Path: ledgerPath(data), NoSync: true}, chaincode.New())
	if err != nil {
		t.Fatal(err)
	}
	w := scenario.NewWorld()
	h := ledgerHost{l}
	if err := w.Setup(ctx, h); err != nil {
		t.Fatal(err)
	}
	trip := w.OilTrip(true)
	if err := trip.Run(ctx, h, manifest.StatusClosed); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	out.Reset()
	if code := run(ctx, []string{"verify", "--data", data, "-q"}, &out, &errOut); code != 0 {
		t.Fatalf("verify exit %d: %s %s", code, out.String(), errOut.String())
	}
	if !strings.HasPrefix(out.String(), "OK ") {
		t.Fatalf("verify said %q", out.String())
	}

	// An edit by hand: change the weighed quantity inside the stored file.
	b, err := os.ReadFile(ledgerPath(data))
	if err != nil {
		t.Fatal(err)
	}
	// The receipt is in the world state, the history and the events; older
	// copies may linger in free pages, which hold no data. The last copy
	// is on the most recently written page, which is live.
	i := bytes.LastIndex(b, []byte(`"weighed":1200`))
	if i < 0 {
		t.Fatal("receipt not found in the ledger file")
	}
	b[i+len(`"weighed":1`)] = '3' // 1200 → 1300
	if err := os.WriteFile(ledgerPath(data), b, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(data, "ledger.db-wal"))
	out.Reset()
	if code := run(ctx, []string{"verify", "--data", data, "-q"}, &out, &errOut); code == 0 {
		t.Fatalf("verify passed an edited ledger: %s", out.String())
	}
	if !strings.Contains(out.String(), "first divergence: ") || !strings.Contains(out.String(), "block ") {
		t.Fatalf("verify did not name where: %q", out.String())
	}
	t.Log(out.String())
}

func TestInspect(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"init", "--data", data}, &out, &errOut); code != 0 {
		t.Fatalf("init: %s", errOut.String())
	}
	l, err := embedded.Open(ctx, embedded.Config{Path: ledgerPath(data), NoSync: true}, chaincode.New())
	if err != nil {
		t.Fatal(err)
	}
	w := scenario.NewWorld()
	h := ledgerHost{l}
	if err := w.Setup(ctx, h); err != nil {
		t.Fatal(err)
	}
	trip := w.MedicalTrip(3 * 60 * 60 * 1e9)
	if err := trip.Run(ctx, h, manifest.StatusReceived); err != nil {
		t.Fatal(err)
	}
	l.Close()
	out.Reset()
	if code := run(ctx, []string{"inspect", "--data", data, trip.ID()}, &out, &errOut); code != 0 {
		t.Fatalf("inspect exit %d: %s", code, errOut.String())
	}
	text := out.String()
	for _, want := range []string{"draft", "signed", "in_transit", "delivered", "received", "pickup", "by device ok"} {
		if !strings.Contains(text, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "FAILED") {
		t.Errorf("a signature failed:\n%s", text)
	}
}
