package index_test

import (
	"context"
	"path/filepath"
	"testing"

	"wasteledger/chaincode/scenario"
	"wasteledger/gateway/index"
	"wasteledger/gateway/index/indextest"
	"wasteledger/manifest"
)

// BenchmarkRebuild measures reindexing a real embedded ledger from
// genesis: 300 relayed manifests, closed (8 events each).
func BenchmarkRebuild(b *testing.B) {
	ctx := context.Background()
	l := indextest.Open(b)
	w := scenario.NewWorld()
	if err := w.Setup(ctx, l.Host()); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 300; i++ {
		if err := indextest.Run(ctx, l.Host(), w.OilTrip(true), indextest.Plan{To: manifest.StatusClosed}); err != nil {
			b.Fatal(err)
		}
	}
	ix, err := index.Open(ctx, index.Config{Path: filepath.Join(b.TempDir(), index.DefaultFile)})
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	b.ResetTimer()
	var n int64
	for i := 0; i < b.N; i++ {
		if n, err = ix.Rebuild(ctx, l, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
