package index_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"wasteledger/chaincode/scenario"
	"wasteledger/gateway/index"
	"wasteledger/gateway/index/indextest"
	"wasteledger/gateway/ledger"
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

// handoverEvents makes n signed manifests and picks each one up on a real
// embedded ledger, and returns the events before the first pickup (orgs,
// keys, permits, creations, signatures) and the pickups' events.
func handoverEvents(b *testing.B, n int) (setup, pickups []ledger.Event) {
	b.Helper()
	ctx := context.Background()
	l := indextest.Open(b)
	w := scenario.NewWorld()
	if err := w.Setup(ctx, l.Host()); err != nil {
		b.Fatal(err)
	}
	trips := make([]*scenario.Trip, n)
	for i := range trips {
		trips[i] = w.OilTrip(false)
		if err := indextest.Run(ctx, l.Host(), trips[i], indextest.Plan{To: manifest.StatusSigned}); err != nil {
			b.Fatal(err)
		}
	}
	var err error
	if setup, err = l.Events(ctx, ledger.Cursor{}, 1<<30); err != nil {
		b.Fatal(err)
	}
	for _, t := range trips {
		if err := indextest.Continue(ctx, l.Host(), t, indextest.Plan{To: manifest.StatusInTransit}); err != nil {
			b.Fatal(err)
		}
	}
	if pickups, err = l.Events(ctx, setup[len(setup)-1].Cursor, 1<<30); err != nil {
		b.Fatal(err)
	}
	return setup, pickups
}

// scaledEvents copies the manifests of setup and pickups into copies
// cities (manifest numbers rewritten), interleaved as a busy ledger's
// feed would hold them, with fresh cursors: an index the size of a loaded
// server's.
func scaledEvents(setup, pickups []ledger.Event, copies int) (bigSetup, bigPickups []ledger.Event) {
	num := regexp.MustCompile(`2026(4401)(\d{6})`)
	rewrite := func(ev ledger.Event, k int) ledger.Event {
		city := fmt.Sprintf("%02d%02d", 44+k/50, 1+k%50)
		ev.Payload = num.ReplaceAll(ev.Payload, []byte("2026"+city+"$2"))
		return ev
	}
	var block uint64
	add := func(out []ledger.Event, ev ledger.Event) []ledger.Event {
		block++
		ev.Cursor = ledger.Cursor{Block: block}
		return append(out, ev)
	}
	for i, ev := range setup {
		if !bytes.Contains(ev.Payload, []byte(`"manifest":`)) {
			bigSetup = add(bigSetup, ev)
			continue
		}
		for k := 0; k < copies; k++ {
			bigSetup = add(bigSetup, rewrite(setup[i], k))
		}
	}
	for _, ev := range pickups {
		for k := 0; k < copies; k++ {
			bigPickups = add(bigPickups, rewrite(ev, k))
		}
	}
	return bigSetup, bigPickups
}

// BenchmarkApplyHandovers measures what the follower spends per pickup
// event on an index that already holds 12,000 signed manifests, applying
// the events in batches of 1, 20 (a block at 32 clients), 100 and 500.
func BenchmarkApplyHandovers(b *testing.B) {
	ctx := context.Background()
	setup, pickups := handoverEvents(b, 600)
	setup, pickups = scaledEvents(setup, pickups, 20)
	pickups = pickups[:4000]
	base := filepath.Join(b.TempDir(), "base.db")
	ix, err := index.Open(ctx, index.Config{Path: base})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < len(setup); i += 1000 {
		if err := ix.Apply(ctx, setup[i:min(i+1000, len(setup))]); err != nil {
			b.Fatal(err)
		}
	}
	ix.Close()
	for _, batch := range []int{1, 20, 50, 100, 500} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			var events int
			var cpu time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				path := filepath.Join(b.TempDir(), index.DefaultFile)
				if err := copyFile(base, path); err != nil {
					b.Fatal(err)
				}
				ix, err := index.Open(ctx, index.Config{Path: path})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				c0 := cpuTime()
				for j := 0; j < len(pickups); j += batch {
					if err := ix.Apply(ctx, pickups[j:min(j+batch, len(pickups))]); err != nil {
						b.Fatal(err)
					}
				}
				cpu += cpuTime() - c0
				events += len(pickups)
				b.StopTimer()
				ix.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(events), "µs/event")
			b.ReportMetric(float64(cpu.Microseconds())/float64(events), "cpu-µs/event")
		})
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}
