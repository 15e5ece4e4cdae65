package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wasteledger/chaincode"
	"wasteledger/chaincode/scenario"
	"wasteledger/gateway"
	"wasteledger/gateway/auth"
	"wasteledger/gateway/index"
	"wasteledger/gateway/ledger"
	"wasteledger/gateway/store"
	"wasteledger/manifest"
)

// The two benchmarks below submit the same signed pickups (two P-256
// signatures each) at the same concurrency, one straight to the embedded
// ledger, one through the gateway over loopback HTTP: their difference is
// what the gateway costs. Both use a durable ledger, as serve does.
//
//	go test ./gateway -run XXX -bench Handover -benchtime 3000x -cpu 2
//
// BENCH_CLIENTS sets the concurrent submitters (default 32).

type benchWorld struct {
	l       *ledger.Local
	w       *scenario.World
	bodies  [][]byte
	ids     []string
	drivers chaincode.Caller
}

func benchClients() int {
	n := 32
	fmt.Sscanf(getenv("BENCH_CLIENTS"), "%d", &n)
	return n
}

// prepareHandovers makes n manifests signed by their producers — eight
// producers in eight cities, since numbers are drawn per city — and signs
// each one's pickup by producer and carrier, without submitting it.
func prepareHandovers(b *testing.B, dir string, n int) *benchWorld {
	b.Helper()
	ctx := context.Background()
	l, err := ledger.OpenLocal(ctx, ledger.LocalConfig{Path: filepath.Join(dir, "ledger.db")})
	if err != nil {
		b.Fatal(err)
	}
	w := scenario.NewWorld()
	h := host{l}
	if err := w.Setup(ctx, h); err != nil {
		b.Fatal(err)
	}
	cities := []string{"440100", "440300", "440400", "440600", "440700", "441300", "441900", "442000"}
	var producers []*scenario.Party
	for _, c := range cities {
		p := scenario.NewParty("产废单位"+c, c, scenario.ProducerMSP, manifest.Producer)
		if err := scenario.Register(ctx, h, w.RegulatorCaller(), p); err != nil {
			b.Fatal(err)
		}
		producers = append(producers, p)
	}
	bw := &benchWorld{l: l, w: w, bodies: make([][]byte, n), ids: make([]string, n), drivers: w.Hauler.Caller()}
	var wg sync.WaitGroup
	var next atomic.Int64
	var firstErr atomic.Value
	for _, p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t := w.OilTrip(false)
				t.Producer = p
				t.Draft.Producer = p.Org.ID
				t.Draft.Site.Region = p.Org.Region
				if err := t.Run(ctx, h, manifest.StatusSigned); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				st := t.Statement(manifest.StepPickup)
				st.Vehicle = t.Plates[0]
				body, err := scenario.Sign(st, t.Producer, t.Carriers[0])
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				bw.bodies[i], bw.ids[i] = body, t.ID()
			}
		}()
	}
	wg.Wait()
	if v := firstErr.Load(); v != nil {
		b.Fatal(v)
	}
	return bw
}

// host runs scenario transactions on a ledger.
type host struct{ l ledger.Ledger }

func (h host) Submit(ctx context.Context, c chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	r, err := h.l.Submit(ctx, c, fn, args...)
	return r.Payload, err
}

func (h host) Evaluate(ctx context.Context, c chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	return h.l.Evaluate(ctx, c, fn, args...)
}

func runParallel(b *testing.B, clients int, n int, do func(i int) error) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	start := time.Now()
	b.ResetTimer()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := do(i); err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if v := failed.Load(); v != nil {
		b.Fatal(v)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "handovers/s")
}

func BenchmarkHandoverLedger(b *testing.B) {
	bw := prepareHandovers(b, b.TempDir(), b.N)
	defer bw.l.Close()
	ctx := context.Background()
	runParallel(b, benchClients(), b.N, func(i int) error {
		_, err := bw.l.Submit(ctx, bw.drivers, "Handover", bw.bodies[i])
		return err
	})
}

func BenchmarkHandoverHTTP(b *testing.B) {
	dir := b.TempDir()
	bw := prepareHandovers(b, dir, b.N)
	defer bw.l.Close()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Path: filepath.Join(dir, "gateway.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	keys, _ := auth.NewKeyring(0)
	deps := gateway.Deps{Ledger: bw.l, Store: st, Keyring: keys}
	if getenv("BENCH_NO_INDEX") != "" {
		deps.Index = noIndex{} // measure the gateway without an index follower
	} else {
		ix, err := index.Open(ctx, index.Config{Path: filepath.Join(dir, "index.db")})
		if err != nil {
			b.Fatal(err)
		}
		defer ix.Close()
		fctx, stop := context.WithCancel(ctx)
		defer stop()
		go ix.Follow(fctx, bw.l)
		deps.Index = ix
	}
	srv, err := gateway.New(gateway.Config{RateLimit: 1e6}, deps)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	token, _, _ := srv.Tokens().Issue(auth.Actor{Subject: "hauler-driver", Org: bw.w.Hauler.Org.ID, Role: auth.Driver, MSP: bw.w.Hauler.Org.MSP})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024}}
	runParallel(b, benchClients(), b.N, func(i int) error {
		req, _ := http.NewRequest("POST", ts.URL+"/api/v1/manifests/"+bw.ids[i]+"/handover", bytes.NewReader(bw.bodies[i]))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		var out struct{ TxID string }
		json.NewDecoder(res.Body).Decode(&out)
		res.Body.Close()
		if res.StatusCode != 200 {
			return fmt.Errorf("handover %d: %d", i, res.StatusCode)
		}
		return nil
	})
}

func getenv(k string) string { return os.Getenv(k) }

type noIndex struct{}

func (noIndex) List(context.Context, index.Filter) (index.Page, error) { return index.Page{}, nil }
