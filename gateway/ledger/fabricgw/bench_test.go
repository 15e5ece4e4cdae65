//go:build fabric

package fabricgw

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wasteledger/chaincode/scenario"
)

// BenchmarkFabric measures committed transactions per second and commit
// latency through the gateway (Submit: endorse by 3 of 4 organisations'
// peers, order, commit on the gateway peer, and on the other peers) at
// several numbers of concurrent clients, for two chaincodes side by side
// on the same network:
//
//   - cc=putstate: network/putstatecc's Put of a 200-byte value
//     ($FABRIC_BENCH_PUT_BYTES to change), the smallest useful transaction
//     — Fabric's own cost;
//   - cc=putstate-doc: the same Put of a 4,800-byte value, the size of a
//     manifest version in the middle of a trip ($FABRIC_BENCH_DOC_BYTES;
//     0 leaves it out) — what writing a handover's document costs alone;
//   - cc=wasteledger: a signed handover (pickup, relay or delivery of a
//     two-leg trip), with two P-256 party signatures verified by the
//     contract on every endorsing peer.
//
// b.N is the number of transactions; scripts/bench-fabric.sh chooses it
// per level with -benchtime=Nx. Submitters follow a trip's handovers: the
// receiving party's organisation (carrier, carrier, receiver) — putstate
// uses the same sequence of organisations. Clients defaults to 1, 32, 128;
// $FABRIC_BENCH_CLIENTS overrides ("1,8,32"). The phases run in the order
// above, rotated by $FABRIC_BENCH_ROUND - 1 (scripts/bench-fabric.sh
// numbers its rounds), after the signed trips are prepared. Besides tx/s
// and latency it reports cpu_ms/tx: CPU time of every network process and
// of the client, per committed transaction (the machine has 2 cores: the
// cost decides the rate).
func BenchmarkFabric(b *testing.B) {
	levels := []int{1, 32, 128}
	if v := os.Getenv("FABRIC_BENCH_CLIENTS"); v != "" {
		levels = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				b.Fatalf("FABRIC_BENCH_CLIENTS=%q", v)
			}
			levels = append(levels, n)
		}
	}
	round, err := strconv.Atoi(os.Getenv("FABRIC_BENCH_ROUND"))
	if err != nil || round < 1 {
		round = 1
	}
	for _, c := range levels {
		b.Run(fmt.Sprintf("clients=%d", c), func(b *testing.B) {
			type phase struct {
				name string
				run  func(b *testing.B)
			}
			put, doc := envBytes(b, "FABRIC_BENCH_PUT_BYTES", 200), envBytes(b, "FABRIC_BENCH_DOC_BYTES", 4800)
			phases := []phase{{"cc=putstate", func(b *testing.B) { benchPut(b, c, put) }}}
			if doc > 0 {
				phases = append(phases, phase{"cc=putstate-doc", func(b *testing.B) { benchPut(b, c, doc) }})
			}
			phases = append(phases, phase{"cc=wasteledger", func(b *testing.B) { benchHandover(b, c) }})
			// The signed trips the handovers need are prepared before the
			// first phase, whichever it is, and the phases take turns at
			// going first: no chaincode is always measured right after
			// the preparation's writes, or after the other's.
			if n, ok := benchtimeN(); ok {
				benchSetup(b)
				fillPool(b, tripsFor(1, c)+tripsFor(n, c))
			}
			k := (round - 1) % len(phases)
			for _, ph := range append(phases[k:], phases[:k]...) {
				b.Run(ph.name, ph.run)
			}
		})
	}
}

// benchtimeN is N of -test.benchtime=Nx, the transactions of a phase.
func benchtimeN() (int, bool) {
	f := flag.Lookup("test.benchtime")
	if f == nil {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(f.Value.String(), "x"))
	return n, err == nil && strings.HasSuffix(f.Value.String(), "x") && n > 0
}

// tripsFor is how many signed trips n handovers over clients take: each
// client works on one trip at a time and takes the next when it is
// delivered, so at most n/3 trips are finished and each client leaves at
// most one unfinished.
func tripsFor(n, clients int) int {
	perTrip := benchLegs + 1
	return min(n, (n+perTrip-1)/perTrip+clients)
}

var bench struct {
	once  sync.Once
	err   error
	lw    *Ledger // wasteledger
	lp    *Ledger // putstate
	world *loadWorld
	mu    sync.Mutex
	pool  []*tripRun // signed trips with handovers left
	runs  atomic.Int64

	networkDir string
}

func benchSetup(b *testing.B) {
	b.Helper()
	bench.once.Do(func() {
		var p Profile
		p, bench.err = LoadProfile(profilePath(b))
		if bench.err != nil {
			return
		}
		bench.networkDir = p.NetworkDir
		log := testLog(b)
		if bench.lw, bench.err = New(p, WithLogger(log)); bench.err != nil {
			return
		}
		if bench.lp, bench.err = New(p, WithChaincode("putstate"), WithLogger(log)); bench.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		bench.world = newLoadWorld(ctx, b, bench.lw, len(gdCities))
	})
	if bench.err != nil {
		b.Fatalf("benchmark setup (is the network up?): %v", bench.err)
	}
}

// submitters is the sequence of organisations that submit a two-leg
// trip's handovers.
var submitters = []string{scenario.CarrierMSP, scenario.CarrierMSP, scenario.ReceiverMSP}

const benchLegs = 2

// measure runs n transactions over clients goroutines and reports
// committed transactions per second (numerator: transactions whose Submit
// returned success; denominator: wall time from the first submit to the
// last commit) and the p50 and p99 of Submit's latency.
func measure(b *testing.B, clients, n int, do func(worker, i int) error) {
	lat := make([]time.Duration, n)
	var errs atomic.Int64
	var firstErr atomic.Value
	var next atomic.Int64
	var wg sync.WaitGroup
	settle(b)
	cpu0, by0 := cpuByProcess()
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				t0 := time.Now()
				if err := do(w, i); err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err)
					lat[i] = -1
					continue
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	cpu1, by1 := cpuByProcess()
	cpu := cpu1 - cpu0
	var ok []time.Duration
	for _, d := range lat {
		if d >= 0 {
			ok = append(ok, d)
		}
	}
	sort.Slice(ok, func(i, j int) bool { return ok[i] < ok[j] })
	pct := func(p float64) float64 {
		if len(ok) == 0 {
			return 0
		}
		return float64(ok[min(len(ok)-1, int(p*float64(len(ok))))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(ok))/elapsed.Seconds(), "tx/s")
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
	b.ReportMetric(float64(errs.Load()), "errors")
	if len(ok) > 0 && cpu > 0 {
		b.ReportMetric(1000*cpu/float64(len(ok)), "cpu_ms/tx")
		var parts []string
		for _, k := range []string{"peers", "orderers", "chaincode", "client"} {
			parts = append(parts, fmt.Sprintf("%s %.1f", k, 1000*(by1[k]-by0[k])/float64(len(ok))))
		}
		b.Logf("CPU ms per committed transaction: %s", strings.Join(parts, ", "))
	}
	if e := errs.Load(); e > 0 {
		b.Logf("%d of %d transactions failed; first: %v", e, n, firstErr.Load())
	}
}

// settle waits, up to 30 s, for the network to be idle (its processes
// using less than a fifth of a core over a second) before a measurement
// starts: what the preceding work left to do in the background (LevelDB
// compactions of its writes, the commits of its last blocks) is not charged
// to the transactions measured next. The unmeasured preparation of signed
// trips writes about as much as a round of handovers, right before them.
func settle(b *testing.B) {
	b.Helper()
	const window, idle, limit = time.Second, 0.2, 30 * time.Second
	start := time.Now()
	prev, _ := cpuByProcess()
	for time.Since(start) < limit {
		time.Sleep(window)
		now, _ := cpuByProcess()
		if (now-prev)/window.Seconds() < idle {
			return
		}
		prev = now
	}
	b.Logf("the network did not settle in %v; measuring anyway", limit)
}

// cpuByProcess is the CPU time used so far by the network's processes
// (network/up.sh records their PIDs) and by this one, in seconds, in total
// and by kind: divided by the transactions committed, it says what a
// transaction costs the machine.
func cpuByProcess() (float64, map[string]float64) {
	var total float64
	by := map[string]float64{}
	read := func(name, path string) {
		b, err := os.ReadFile(path)
		if err != nil {
			return
		}
		// Fields after the command (which may hold spaces) start after ")".
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 12 {
			u, _ := strconv.ParseFloat(f[11], 64)
			s, _ := strconv.ParseFloat(f[12], 64)
			total += (u + s) / 100 // USER_HZ
			by[name] += (u + s) / 100
		}
	}
	read("client", "/proc/self/stat")
	pids, _ := filepath.Glob(filepath.Join(bench.networkDir, "pids", "*.pid"))
	for _, pf := range pids {
		if b, err := os.ReadFile(pf); err == nil {
			name := strings.TrimSuffix(filepath.Base(pf), ".pid")
			if i := strings.IndexAny(name, "0123456789"); strings.HasPrefix(name, "orderer") && i > 0 {
				name = "orderers"
			} else if strings.HasPrefix(name, "peer-") {
				name = "peers"
			} else if strings.HasPrefix(name, "cc-") {
				name = "chaincode"
			}
			read(name, "/proc/"+strings.TrimSpace(string(b))+"/stat")
		}
	}
	return total, by
}

// envBytes is a value size from the environment: 0 or at least 40 bytes
// (the JSON around the filler).
func envBytes(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n != 0 && n < 40 {
		b.Fatalf("%s=%q: want 0 or a size of at least 40 bytes", name, v)
	}
	return n
}

func benchPut(b *testing.B, clients, size int) {
	if size < 40 {
		b.Fatalf("a Put of %d bytes: want at least 40", size)
	}
	benchSetup(b)
	run := bench.runs.Add(1)
	value := []byte(`{"v":1,"type":"bench","note":"` + strings.Repeat("x", size-34) + `"}`)
	orgs := map[string]*org{}
	for _, msp := range submitters {
		orgs[msp] = bench.lp.orgs[msp]
	}
	ctx := context.Background()
	measure(b, clients, b.N, func(_, i int) error {
		key := fmt.Sprintf("bench/%d/%d/%d", time.Now().UnixNano()%1e6, run, i)
		_, err := bench.lp.submit(ctx, orgs[submitters[i%len(submitters)]], "Put", call{args: [][]byte{[]byte(key), value}})
		return err
	})
}

// takeTrips returns n signed trips with handovers left, preparing what the
// pool lacks (not timed).
func takeTrips(b *testing.B, n int) []*tripRun {
	fillPool(b, n)
	bench.mu.Lock()
	defer bench.mu.Unlock()
	out := bench.pool[:n]
	bench.pool = bench.pool[n:]
	return out
}

// fillPool prepares signed trips until the pool holds n.
func fillPool(b *testing.B, n int) {
	bench.mu.Lock()
	defer bench.mu.Unlock()
	if short := n - len(bench.pool); short > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		t0 := time.Now()
		bench.pool = append(bench.pool, bench.world.prepare(ctx, b, bench.lw, short, benchLegs)...)
		b.Logf("prepared %d signed trips in %.1f s", short, time.Since(t0).Seconds())
	}
}

func giveBack(trips []*tripRun) {
	bench.mu.Lock()
	defer bench.mu.Unlock()
	for _, r := range trips {
		if r != nil && !r.done() {
			bench.pool = append(bench.pool, r)
		}
	}
}

func benchHandover(b *testing.B, clients int) {
	benchSetup(b)
	trips := takeTrips(b, tripsFor(b.N, clients))
	var nextTrip atomic.Int64
	current := make([]*tripRun, clients)
	ctx := context.Background()
	var docBytes atomic.Int64
	measure(b, clients, b.N, func(w, _ int) error {
		r := current[w]
		if r == nil || r.done() {
			k := int(nextTrip.Add(1) - 1)
			if k >= len(trips) {
				return fmt.Errorf("out of prepared trips")
			}
			r = trips[k]
			current[w] = r
		}
		c, _, _, err := r.handover(ctx, bench.lw)
		if err == nil {
			docBytes.Store(int64(len(c.Payload)))
		}
		return err
	})
	b.ReportMetric(float64(docBytes.Load()), "doc_bytes")
	giveBack(trips)
}
