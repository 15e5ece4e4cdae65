package indicator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"wasteledger/chaincode"
	"wasteledger/gateway/index"
	"wasteledger/gateway/ledger"
	"wasteledger/gateway/reconcile"
	"wasteledger/gateway/reconcile/calendar"
	"wasteledger/gateway/reconcile/indicator"
	"wasteledger/manifest"
	"wasteledger/manifest/catalog"
)

// benchManifests is the size of the synthetic dataset; set
// WASTELEDGER_BENCH_MANIFESTS to change it.
func benchManifests() int {
	if s := os.Getenv("WASTELEDGER_BENCH_MANIFESTS"); s != "" {
		var n int
		fmt.Sscan(s, &n)
		return n
	}
	return 1_000_000
}

var cities = []string{"440106", "440111", "440112", "440113", "440304", "440305", "440402", "440507", "440604", "440606", "440703",
	"440803", "440902", "441202", "441302", "441402", "441502", "441602", "441702", "441802", "441900", "442000", "445102", "445202", "445302", "440203"}

// synth makes the final version of manifest n: a year of 2026 spread over
// Guangdong's cities and the four streams, most of them closed, with every
// step's statement time, commit time and a signature record (the
// signatures themselves are placeholders: the index does not verify).
func synth(n int, r *rand.Rand) *manifest.Manifest {
	region := cities[r.IntN(len(cities))]
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, manifest.China).Add(time.Duration(r.Int64N(int64(364 * 24 * time.Hour))))
	m := &manifest.Manifest{ID: fmt.Sprintf("2026%s%06d", region[:4], n%999_999+1), Leg: -1,
		Draft: manifest.Draft{Producer: fmt.Sprintf("P%06d", r.IntN(50_000)), Receiver: fmt.Sprintf("R%03d", r.IntN(300)), ReceiverPermit: "L" + fmt.Sprint(r.IntN(300)),
			Site: manifest.Site{Region: region}, Legs: []manifest.Leg{{Carrier: fmt.Sprintf("C%03d", r.IntN(200)), Permit: "T1"}}},
		Created: base.UTC(), Updated: base.UTC()}
	kg := func(lo, hi int64) int64 { return lo + r.Int64N(hi-lo) }
	switch x := r.IntN(100); {
	case x < 70:
		m.Stream, m.Method = catalog.Industrial, []string{"D10", "R9", "D1", "C1", "R4", "D9"}[r.IntN(6)]
		m.Lines = []manifest.Line{{No: 1, Code: "900-214-08", Qty: kg(200, 5000), Unit: manifest.Kilogram}, {No: 2, Code: "336-063-17", Qty: kg(500, 10000), Unit: manifest.Kilogram}}
	case x < 85:
		m.Stream, m.Method = catalog.Medical, "Y10"
		g := base.Add(-time.Duration(r.IntN(40)) * time.Hour).UTC()
		m.Lines = []manifest.Line{{No: 1, Code: "841-001-01", Qty: kg(20, 500), Unit: manifest.Kilogram, Generated: &g}, {No: 2, Code: "841-002-01", Qty: kg(5, 50), Unit: manifest.Kilogram, Generated: &g}}
	case x < 93:
		m.Stream, m.Method = catalog.FlyAsh, []string{"C1", "D1"}[r.IntN(2)]
		m.Lines = []manifest.Line{{No: 1, Code: "772-002-18", Qty: kg(5000, 30000), Unit: manifest.Kilogram}}
	default:
		m.Stream, m.Method = catalog.Battery, "R4"
		if r.IntN(2) == 0 {
			u := []string{fmt.Sprintf("0AZPE01CATL001N5A%07d", n%10_000_000), fmt.Sprintf("0AZPB01CATL002N5A%07d", n%10_000_000)}
			m.Lines = []manifest.Line{{No: 1, Code: "EV-BATTERY", Qty: 840, Unit: manifest.Kilogram, Units: u}}
		} else {
			m.Lines = []manifest.Line{{No: 1, Code: "900-052-31", Qty: kg(500, 5000), Unit: manifest.Kilogram}}
		}
	}
	t := base
	step := func(s manifest.Step, from, to string, d time.Duration) {
		t = t.Add(d)
		rec := manifest.Record{Step: s, TxID: fmt.Sprintf("%x", r.Uint64()), Committed: t.Add(time.Second).UTC(), Time: t.UTC(), From: from, To: to,
			Digest: "d", Statement: "{}", Signatures: []manifest.SignatureRecord{{Org: from, Key: "k" + from, Sig: "s", SignedBy: "device"}}}
		if to != "" {
			rec.Signatures = append(rec.Signatures, manifest.SignatureRecord{Org: to, Key: "k" + to, Sig: "s", SignedBy: "device"})
		}
		m.Steps = append(m.Steps, rec)
		m.Updated = rec.Committed
		m.Version = len(m.Steps) + 1
	}
	status := r.IntN(100)
	step(manifest.StepSign, m.Producer, "", time.Hour)
	if status < 2 {
		step(manifest.StepCancel, m.Producer, "", time.Hour)
		m.Status = manifest.StatusCancelled
		return m
	}
	step(manifest.StepPickup, m.Producer, m.Legs[0].Carrier, time.Hour)
	m.Status, m.Leg = manifest.StatusInTransit, 0
	if status < 5 {
		return m
	}
	step(manifest.StepDelivery, m.Legs[0].Carrier, m.Receiver, time.Duration(2+r.IntN(20))*time.Hour)
	step(manifest.StepReceive, m.Receiver, "", time.Duration(1+r.IntN(150))*time.Hour)
	m.Status, m.Leg = manifest.StatusReceived, -1
	for _, l := range m.Lines {
		w := l.Qty - r.Int64N(max(l.Qty/50, 1))
		acc := w
		dec := manifest.Accepted
		if r.IntN(50) == 0 {
			acc, dec = w*9/10, manifest.PartiallyRefused
		}
		m.Receipt = append(m.Receipt, manifest.Receipt{Line: l.No, Weighed: w, Accepted: acc, Refused: w - acc, Unit: l.Unit, Decision: dec})
	}
	if status < 10 {
		return m
	}
	step(manifest.StepProcess, m.Receiver, "", time.Duration(1+r.IntN(72))*time.Hour)
	for _, rc := range m.Receipt {
		p := manifest.Processing{Line: rc.Line, Method: m.Method, Qty: rc.Accepted, Unit: rc.Unit, Time: t.UTC()}
		if m.Method == "R4" || m.Method == "R9" {
			p.Outputs = []manifest.Output{{Material: "再生料", Qty: rc.Accepted / 3, Unit: rc.Unit}}
		}
		m.Processed = append(m.Processed, p)
	}
	m.Status = manifest.StatusProcessed
	if status < 20 {
		return m
	}
	step(manifest.StepClose, m.Producer, "", time.Duration(1+r.IntN(200))*time.Hour)
	m.Status = manifest.StatusClosed
	return m
}

// benchIndex returns an index holding n synthetic manifests, built once
// and kept in WASTELEDGER_BENCH_DIR (default the temporary directory)
// because building it takes minutes.
func benchIndex(b *testing.B, n int) *index.Index {
	b.Helper()
	dir := os.Getenv("WASTELEDGER_BENCH_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("wasteledger-bench-index-%d-v1.db", n))
	ctx := context.Background()
	_, statErr := os.Stat(path + ".done")
	if statErr != nil {
		os.Remove(path)
		os.Remove(path + "-wal")
		os.Remove(path + "-shm")
	}
	ix, err := index.Open(ctx, index.Config{Path: path})
	if err != nil {
		b.Fatal(err)
	}
	if statErr == nil {
		return ix
	}
	start := time.Now()
	r := rand.New(rand.NewPCG(1, 2))
	const batch = 2000
	evs := make([]ledger.Event, 0, batch)
	for i := 0; i < n; i++ {
		m := synth(i, r)
		doc, err := json.Marshal(m)
		if err != nil {
			b.Fatal(err)
		}
		ev, _ := json.Marshal(chaincode.Event{V: 1, Type: "manifest.closed", Manifest: doc, Hash: fmt.Sprintf("h%d", i)})
		evs = append(evs, ledger.Event{Cursor: ledger.Cursor{Block: uint64(i/500 + 1), Tx: i % 500}, TxID: fmt.Sprint(i), Time: m.Updated, Payload: ev})
		if len(evs) == batch || i == n-1 {
			if err := ix.Apply(ctx, evs); err != nil {
				b.Fatal(err)
			}
			evs = evs[:0]
		}
		if i%100_000 == 99_999 {
			b.Logf("built %d manifests in %.0f s", i+1, time.Since(start).Seconds())
		}
	}
	b.Logf("built an index of %d manifests (%d steps) in %.0f s at %s", n, n*6, time.Since(start).Seconds(), path)
	os.WriteFile(path+".done", nil, 0o644)
	return ix
}

// BenchmarkIndicatorsProvinceYear computes every indicator for Guangdong
// and 2026 over the synthetic index.
func BenchmarkIndicatorsProvinceYear(b *testing.B) {
	n := benchManifests()
	ix := benchIndex(b, n)
	defer ix.Close()
	p, _ := indicator.ParsePeriod("2026")
	params := indicator.Params{Region: "440000", Period: p, AsOf: time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC), Calendar: calendar.Default(), Config: manifest.DefaultConfig()}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		rep, err := indicator.FromIndex(context.Background(), ix, params)
		if err != nil {
			b.Fatal(err)
		}
		tr, _ := rep.Find(indicator.HWTransferred)
		b.ReportMetric(float64(tr.Manifests), "manifests")
		b.Logf("%d manifests: %s t transferred, %.1f s", tr.Manifests, *tr.Value, time.Since(start).Seconds())
	}
}

// BenchmarkIndicatorsCityMonth is the drill-in case: one city, one month.
func BenchmarkIndicatorsCityMonth(b *testing.B) {
	ix := benchIndex(b, benchManifests())
	defer ix.Close()
	p, _ := indicator.ParsePeriod("2026-06")
	params := indicator.Params{Region: "440100", Period: p, AsOf: time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC), Calendar: calendar.Default(), Config: manifest.DefaultConfig()}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := indicator.FromIndex(context.Background(), ix, params); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRules runs every reconciliation rule over the synthetic index
// (steps and legs read too), as reconcile and serve do.
func BenchmarkRules(b *testing.B) {
	ix := benchIndex(b, benchManifests())
	defer ix.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		permits := map[string]manifest.Permit{"T1": {ID: "T1", Kind: manifest.Transport, ValidFrom: "2024-01-01", ValidTo: "2030-12-31"}}
		for j := 0; j < 300; j++ {
			id := fmt.Sprintf("L%d", j)
			permits[id] = manifest.Permit{ID: id, Kind: manifest.HWLicence, ValidFrom: "2024-01-01", ValidTo: "2030-12-31", CapacityT: 1_000_000}
		}
		c := reconcile.NewChecker(reconcile.Env{AsOf: time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC), Calendar: calendar.Default(), Config: manifest.DefaultConfig(), Permits: permits})
		n := 0
		if err := ix.Facts(context.Background(), index.Scan{Steps: true}, func(f *index.Fact) error {
			n++
			c.Add(f)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		fs := c.Findings()
		b.ReportMetric(float64(n), "manifests")
		b.ReportMetric(float64(len(fs)), "findings")
	}
}
