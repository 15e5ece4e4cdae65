package reconcile_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"wasteledger/chaincode/scenario"
	"wasteledger/gateway/index"
	"wasteledger/gateway/index/indextest"
	"wasteledger/gateway/reconcile/calendar"
	"wasteledger/gateway/reconcile/indicator"
	"wasteledger/manifest"
)

// BenchmarkCommitToIndicator measures how long after a pickup commits on
// the embedded ledger the district's transferred-waste indicator counts it,
// with the index following the ledger as serve runs it. It reports the
// median and worst latency.
func BenchmarkCommitToIndicator(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := indextest.Open(b)
	h := l.Host()
	w := scenario.NewWorld()
	if err := w.Setup(ctx, h); err != nil {
		b.Fatal(err)
	}
	ix, err := index.Open(ctx, index.Config{Path: filepath.Join(b.TempDir(), index.DefaultFile)})
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	go ix.Follow(ctx, l)
	period, _ := indicator.ParsePeriod(time.Now().In(manifest.China).Format("2006-01"))
	count := func() int {
		p := indicator.Params{Region: "440112", Period: period, AsOf: time.Now(), Calendar: calendar.Default()}
		rep, err := indicator.FromIndex(ctx, ix, p)
		if err != nil {
			b.Fatal(err)
		}
		in, _ := rep.Find(indicator.HWTransferred)
		return in.Manifests
	}
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		tr := w.OilTrip(i%2 == 0)
		if err := indextest.Run(ctx, h, tr, indextest.Plan{To: manifest.StatusSigned}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := indextest.Continue(ctx, h, tr, indextest.Plan{To: manifest.StatusInTransit}); err != nil {
			b.Fatal(err)
		}
		committed := time.Now()
		for count() < i+1 {
			select {
			case <-ix.Changed():
			case <-time.After(2 * time.Millisecond):
			}
			if time.Since(committed) > 10*time.Second {
				b.Fatalf("manifest %s not counted 10 s after its pickup committed", tr.ID())
			}
		}
		lat = append(lat, time.Since(committed))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms-p50")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "ms-max")
}
