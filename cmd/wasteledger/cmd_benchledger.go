package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"wasteledger/chaincode"
	"wasteledger/chaincode/embedded"
	"wasteledger/chaincode/scenario"
	"wasteledger/manifest"
	"wasteledger/manifest/catalog"
	"wasteledger/manifest/signature"
)

func init() {
	benchSubcommands["ledger"] = command{
		summary: "signed handovers committed per second on the embedded ledger, beside the raw P-256 verify rate",
		run:     runBenchLedger,
	}
}

// runBenchLedger measures what issue #2 asks: signed handovers committed per
// second on the embedded ledger with durable (fsync'd) group commit, and in
// the same run the raw ECDSA P-256 verification rate on all cores. The
// target: committed handovers/s × 2 signatures ≥ 50 % of the raw rate.
func runBenchLedger(ctx context.Context, e *env, args []string) error {
	fs := e.flags("bench ledger", "")
	n := fs.Int("handovers", 20000, "signed handovers to commit")
	clients := fs.Int("clients", 256, "concurrent submitters")
	blockWait := fs.Duration("block-wait", embedded.DefaultBlockMaxWait, "a block waits at most this long after its first transaction (it closes at once when nothing else is being executed)")
	blockMax := fs.Int("block-max", 500, "… or at this many transactions")
	rawFor := fs.Duration("raw", 3*time.Second, "how long to measure the raw verify rate")
	data := fs.String("data", "", "directory for the ledger (default: a temporary one, removed after)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the measured part to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir := *data
	if dir == "" {
		d, err := os.MkdirTemp("", "wasteledger-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	cfg := embedded.Config{Path: filepath.Join(dir, "ledger.db"), BlockMaxTx: *blockMax, BlockMaxWait: *blockWait}
	if _, err := embedded.Init(ctx, cfg); err != nil {
		return err
	}
	l, err := embedded.Open(ctx, cfg, chaincode.New())
	if err != nil {
		return err
	}
	defer l.Close()
	h := benchHost{l}

	fmt.Fprintf(e.stdout, "wasteledger bench ledger: %d signed handovers, %d clients, GOMAXPROCS %d, durable group commit (block ≤ %d tx or %s)\n",
		*n, *clients, runtime.GOMAXPROCS(0), *blockMax, *blockWait)
	start := time.Now()
	trips, err := prepareSignedManifests(ctx, h, *n)
	if err != nil {
		return err
	}
	bodies := make([][]byte, len(trips))
	for i, t := range trips {
		st := t.Statement(manifest.StepPickup)
		st.Vehicle = t.Plates[0]
		if bodies[i], err = scenario.Sign(st, t.Producer, t.Carriers[0]); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "setup: %d manifests created and signed by their producers, %d pickups signed by both parties (%.1f s, not measured)\n",
		len(trips), len(bodies), time.Since(start).Seconds())

	carrier := trips[0].Carriers[0].Caller()
	lat := make([]time.Duration, len(bodies))
	var next, failed atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer f.Close()
	}
	t0, cpu0 := time.Now(), processCPU()
	for c := 0; c < *clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(bodies) {
					return
				}
				s := time.Now()
				if _, err := l.Submit(ctx, carrier, "Handover", bodies[i]); err != nil {
					failed.Add(1)
					once.Do(func() { firstErr = err })
				}
				lat[i] = time.Since(s)
			}
		}()
	}
	wg.Wait()
	elapsed, cpu := time.Since(t0), processCPU()-cpu0
	if *cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	if failed.Load() > 0 {
		return fmt.Errorf("%d handovers failed, first: %w", failed.Load(), firstErr)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	rate := float64(len(bodies)) / elapsed.Seconds()

	raw, rawCPU := rawVerifyRate(bodies[0], trips[0].Producer.Key, *rawFor)
	ratio := rate * 2 / raw
	fmt.Fprintf(e.stdout, "committed: %d handovers in %.2f s = %.0f handovers/s (2 party signatures each); commit latency p50 %s p99 %s\n",
		len(bodies), elapsed.Seconds(), rate, lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)*99/100].Round(time.Millisecond))
	fmt.Fprintf(e.stdout, "raw ECDSA P-256 verify on %d cores: %.0f verifies/s\n", runtime.GOMAXPROCS(0), raw)
	verdict := "meets"
	if ratio < 0.5 {
		verdict = "MISSES"
	}
	fmt.Fprintf(e.stdout, "ratio: %.0f handovers/s × 2 signatures / %.0f verifies/s = %.2f (target ≥ 0.50: %s)\n", rate, raw, ratio, verdict)
	// On a shared machine the two phases above can get different shares of
	// the cores; CPU time per operation does not depend on that. 2 × the CPU
	// of one verify over the CPU of one handover is the share of the run's
	// CPU that went to the signatures, the ratio above at full use of the
	// cores.
	perTx := cpu.Seconds() * 1e6 / float64(len(bodies))
	fmt.Fprintf(e.stdout, "cpu: %.0f µs per handover (%.2f of %d cores busy), %.1f µs per raw verify: verify share %.2f\n",
		perTx, cpu.Seconds()/elapsed.Seconds(), runtime.GOMAXPROCS(0), rawCPU, 2*rawCPU/perTx)
	return nil
}

type benchHost struct{ l *embedded.Ledger }

func (h benchHost) Submit(ctx context.Context, c chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	r, err := h.l.Submit(ctx, c, fn, args...)
	return r.Payload, err
}

func (h benchHost) Evaluate(ctx context.Context, c chaincode.Caller, fn string, args ...[]byte) ([]byte, error) {
	return h.l.Evaluate(ctx, c, fn, args...)
}

// prepareSignedManifests registers a world with one producer per Guangdong
// city (manifest serials are counted per city, so creations in different
// cities do not contend) and returns n manifests signed by their producers.
func prepareSignedManifests(ctx context.Context, h scenario.Host, n int) ([]*scenario.Trip, error) {
	w := scenario.NewWorld()
	if err := w.Setup(ctx, h); err != nil {
		return nil, err
	}
	var producers []*scenario.Party
	for _, r := range catalog.Regions() {
		if r.Level == catalog.CityLevel && r.Code[:2] == "44" {
			p := scenario.NewParty(r.Name+"安达制造有限公司", r.Code, scenario.ProducerMSP, manifest.Producer)
			if err := scenario.Register(ctx, h, w.RegulatorCaller(), p); err != nil {
				return nil, err
			}
			producers = append(producers, p)
		}
	}
	trips := make([]*scenario.Trip, n)
	var wg sync.WaitGroup
	errs := make(chan error, len(producers))
	for lane, p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each lane creates its city's manifests one after another (they
			// share the city's serial) and signs them as it goes.
			for i := lane; i < n; i += len(producers) {
				t := w.OilTrip(false)
				t.Producer = p
				t.Draft.Producer = p.Org.ID
				t.Draft.Site.Region = p.Org.Region
				for {
					err := t.Create(ctx, h)
					if manifest.CodeOf(err) == manifest.Conflict {
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					break
				}
				if err := t.SignByProducer(ctx, h); err != nil {
					errs <- err
					return
				}
				trips[i] = t
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return trips, nil
}

// rawVerifyRate verifies one real signed statement on every core for d and
// returns verifications per second and the process CPU time per
// verification, in µs.
func rawVerifyRate(body []byte, key *ecdsa.PrivateKey, d time.Duration) (float64, float64) {
	_, st, canonical, err := manifest.ParseSigned(body)
	if err != nil || st.From == nil {
		return 0, 0
	}
	sig, err := signature.Sign(rand.Reader, key, canonical)
	if err != nil {
		return 0, 0
	}
	var count atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	t0, cpu0 := time.Now(), processCPU()
	for c := 0; c < runtime.GOMAXPROCS(0); c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if err := signature.Verify(&key.PublicKey, canonical, sig); err != nil {
					panic(errors.New("verify failed in the raw benchmark"))
				}
				count.Add(1)
			}
		}()
	}
	wg.Wait()
	n := float64(count.Load())
	return n / time.Since(t0).Seconds(), (processCPU() - cpu0).Seconds() * 1e6 / n
}

// processCPU is the CPU time (user and system) the process has used (0
// when the system will not say).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
