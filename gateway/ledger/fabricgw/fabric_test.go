//go:build fabric

// Tests against a running Fabric network (scripts/test-fabric.sh starts
// one): the contract's conformance suite through the gateway, events, and
// faults. The connection profile is $WASTELEDGER_FABRIC_PROFILE, else
// $NETWORK_DIR/connection.json, else network/.run/connection.json.

package fabricgw

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"wasteledger/chaincode"
	"wasteledger/chaincode/conformance"
	"wasteledger/chaincode/scenario"
	"wasteledger/gateway/ledger"
	"wasteledger/manifest"
)

func profilePath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("WASTELEDGER_FABRIC_PROFILE"); p != "" {
		return p
	}
	if d := os.Getenv("NETWORK_DIR"); d != "" {
		return filepath.Join(d, "connection.json")
	}
	return filepath.Join("..", "..", "..", "network", ".run", "connection.json")
}

var (
	sharedOnce    sync.Once
	sharedLedger  *Ledger
	sharedProfile Profile
	sharedErr     error
)

// shared is one Ledger for the whole test binary, as a gateway holds one.
func shared(t testing.TB) *Ledger {
	t.Helper()
	sharedOnce.Do(func() {
		sharedProfile, sharedErr = LoadProfile(profilePath(t))
		if sharedErr != nil {
			return
		}
		level := slog.LevelWarn
		if os.Getenv("FABRICGW_DEBUG") != "" {
			level = slog.LevelDebug
		}
		sharedLedger, sharedErr = New(sharedProfile, WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))))
	})
	if sharedErr != nil {
		t.Fatalf("open the Fabric network (is it up? scripts/test-fabric.sh starts one): %v", sharedErr)
	}
	return sharedLedger
}

// host is the conformance suite's view of the ledger.
type host struct{ l *Ledger }

func (h host) Submit(ctx context.Context, c chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	cm, err := h.l.Submit(ctx, c, fn, args...)
	return cm.Payload, err
}

func (h host) Evaluate(ctx context.Context, c chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	return h.l.Evaluate(ctx, c, fn, args...)
}

func TestConformanceOnFabric(t *testing.T) {
	l := shared(t)
	conformance.Run(t, func(t *testing.T) scenario.Host { return host{l} })
}

func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Commits report their block; Tx finds them there with their index and
// time; the event feed has each one once, at that position, in order.
func TestEventsAndTxOnFabric(t *testing.T) {
	l := shared(t)
	ctx := ctxFor(t, 2*time.Minute)
	callers := []chaincode.Caller{{MSP: scenario.RegulatorMSP}, {MSP: scenario.ProducerMSP}, {MSP: scenario.CarrierMSP}, {MSP: scenario.ReceiverMSP}}
	var commits []ledger.Commit
	for _, c := range callers {
		cm, err := l.Submit(ctx, c, "Diagnose")
		if err != nil {
			t.Fatal(err)
		}
		if cm.TxID == "" || cm.Block == 0 || cm.Time.IsZero() || string(cm.Payload) != `{"saw_own_write":"false"}` {
			t.Fatalf("Submit(Diagnose) = %+v", cm)
		}
		commits = append(commits, cm)
	}
	var infos []ledger.TxInfo
	for _, cm := range commits {
		info, err := l.Tx(ctx, cm.TxID)
		if err != nil {
			t.Fatal(err)
		}
		if info.Block != cm.Block || !info.Time.Equal(cm.Time) {
			t.Errorf("Tx(%s) = %+v, Submit said block %d at %v", cm.TxID, info, cm.Block, cm.Time)
		}
		infos = append(infos, info)
	}
	if _, err := l.Tx(ctx, "0000000000000000000000000000000000000000000000000000000000000000"); manifest.CodeOf(err) != manifest.NotFound {
		t.Errorf("Tx(unknown) = %v, want not_found", err)
	}

	// From just before the first commit: the four events, in order, at
	// the positions Tx gave, each with its payload.
	from := ledger.Cursor{Block: infos[0].Block, Tx: infos[0].Index - 1}
	if infos[0].Index == 0 {
		from = ledger.Cursor{Block: infos[0].Block - 1, Tx: 1 << 30}
	}
	var evs []ledger.Event
	for cur := from; len(evs) < len(commits); {
		page, err := l.Events(ctxFor(t, 10*time.Second), cur, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			t.Fatalf("no events after %+v", cur)
		}
		evs = append(evs, page...)
		cur = page[len(page)-1].Cursor
	}
	mine := 0
	for _, e := range evs {
		for i, cm := range commits {
			if e.TxID != cm.TxID {
				continue
			}
			mine++
			if e.Cursor != (ledger.Cursor{Block: infos[i].Block, Tx: infos[i].Index}) || e.Name != "diag.probe" || !e.Time.Equal(cm.Time) {
				t.Errorf("event of %s = %+v, want diag.probe at %+v", cm.TxID, e, infos[i])
			}
			var ev chaincode.Event
			if err := json.Unmarshal(e.Payload, &ev); err != nil || ev.TxID != cm.TxID || ev.Caller.MSP != callers[i].MSP {
				t.Errorf("event payload of %s = %s (%v), want its tx id and caller %s", cm.TxID, e.Payload, err, callers[i].MSP)
			}
		}
	}
	if mine != len(commits) {
		t.Errorf("%d of the %d transactions found in the events %+v", mine, len(commits), evs)
	}
}
