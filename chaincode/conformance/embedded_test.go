package conformance

import (
	"context"
	"path/filepath"
	"testing"

	"wasteledger/chaincode"
	"wasteledger/chaincode/embedded"
	"wasteledger/chaincode/scenario"
)

type embeddedHost struct{ l *embedded.Ledger }

func (h embeddedHost) Submit(ctx context.Context, c chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	r, err := h.l.Submit(ctx, c, fn, args...)
	return r.Payload, err
}

func (h embeddedHost) Evaluate(ctx context.Context, c chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	return h.l.Evaluate(ctx, c, fn, args...)
}

// TestSuiteOnEmbeddedLedger runs the suite on the real embedded ledger,
// durable as in production, and verifies every ledger afterwards.
func TestSuiteOnEmbeddedLedger(t *testing.T) {
	Run(t, func(t *testing.T) scenario.Host {
		ctx := context.Background()
		cfg := embedded.Config{Path: filepath.Join(t.TempDir(), "ledger.db")}
		if _, err := embedded.Init(ctx, cfg); err != nil {
			t.Fatal(err)
		}
		l, err := embedded.Open(ctx, cfg, chaincode.New())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := l.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
			if _, err := embedded.Verify(ctx, cfg, chaincode.New(), nil); err != nil {
				t.Errorf("the ledger does not verify after the suite: %v", err)
			}
		})
		return embeddedHost{l}
	})
}
