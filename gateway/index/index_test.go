package index_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"wasteledger/chaincode/scenario"
	"wasteledger/gateway/index"
	"wasteledger/gateway/index/indextest"
	"wasteledger/gateway/ledger"
	"wasteledger/manifest"
)

func openIndex(t *testing.T) *index.Index {
	t.Helper()
	ix, err := index.Open(context.Background(), index.Config{Path: filepath.Join(t.TempDir(), index.DefaultFile), Batch: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

// world runs a small mixed dataset and returns the trips.
func world(t *testing.T, l *indextest.Ledger) (*scenario.World, []*scenario.Trip) {
	t.Helper()
	ctx := context.Background()
	h := l.Host()
	w := scenario.NewWorld()
	if err := w.Setup(ctx, h); err != nil {
		t.Fatal(err)
	}
	var trips []*scenario.Trip
	run := func(tr *scenario.Trip, p indextest.Plan) {
		t.Helper()
		if err := indextest.Run(ctx, h, tr, p); err != nil {
			t.Fatal(err)
		}
		trips = append(trips, tr)
	}
	run(w.OilTrip(true), indextest.Plan{To: manifest.StatusClosed, Weighed: []int64{1150, 3000}})
	run(w.OilTrip(false), indextest.Plan{To: manifest.StatusReceived, Accept: []int64{1000, 3000}})
	run(w.MedicalTrip(10*time.Hour), indextest.Plan{To: manifest.StatusProcessed})
	run(w.FlyAshTrip(8000), indextest.Plan{To: manifest.StatusInTransit})
	run(w.BatteryTrip(scenario.BatteryCode(1), scenario.BatteryCode(2)), indextest.Plan{To: manifest.StatusClosed,
		Outputs: []manifest.Output{{Material: "碳酸锂", Qty: 60, Unit: manifest.Kilogram}}})
	run(w.LeadTrip(), indextest.Plan{To: manifest.StatusCancelled})
	return w, trips
}

func TestFollowProjectsEveryManifest(t *testing.T) {
	ctx := context.Background()
	l := indextest.Open(t)
	w, trips := world(t, l)
	ix := openIndex(t)
	n, err := ix.CatchUp(ctx, l, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 || !ix.Status().CaughtUp {
		t.Fatalf("CatchUp applied %d events, status %+v", n, ix.Status())
	}
	for _, tr := range trips {
		doc, err := l.Evaluate(ctx, w.RegulatorCaller(), "GetManifest", []byte(tr.ID()))
		if err != nil {
			t.Fatal(err)
		}
		var m manifest.Manifest
		if err := json.Unmarshal(doc, &m); err != nil {
			t.Fatal(err)
		}
		want := index.FactOf(&m, manifest.Hash(doc))
		var got *index.Fact
		err = ix.Facts(ctx, index.Scan{IDs: []string{m.ID}, Steps: true}, func(f *index.Fact) error {
			c := *f
			got = &c
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got == nil || !reflect.DeepEqual(*got, want) {
			t.Errorf("Facts(%s) =\n%+v\nwant\n%+v", m.ID, got, want)
		}
		s, err := ix.Get(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if s.Status != m.Status || s.Version != m.Version || s.Hash != manifest.Hash(doc) || s.ProducerName != tr.Producer.Org.Name {
			t.Errorf("Get(%s) = %+v, want status %s version %d", m.ID, s, m.Status, m.Version)
		}
	}
	// Replaying the whole feed changes nothing.
	before := ix.Status()
	all, err := l.Events(ctx, ledger.Cursor{}, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Apply(ctx, all); err != nil {
		t.Fatal(err)
	}
	if after := ix.Status(); after.Events != before.Events || after.Cursor != before.Cursor {
		t.Errorf("replay moved the checkpoint: %+v → %+v", before, after)
	}
	p, err := ix.List(ctx, index.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != len(trips) {
		t.Errorf("List() has %d items, want %d", len(p.Items), len(trips))
	}
}

func TestListFiltersAndPages(t *testing.T) {
	ctx := context.Background()
	l := indextest.Open(t)
	w, trips := world(t, l)
	ix := openIndex(t)
	if _, err := ix.CatchUp(ctx, l, nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    index.Filter
		want int
	}{
		{"all", index.Filter{}, 6},
		{"closed", index.Filter{Status: []manifest.Status{manifest.StatusClosed}}, 2},
		{"relay carrier", index.Filter{Party: w.Relay.Org.ID}, 3}, // relayed oil, battery, lead
		{"code", index.Filter{Code: "336-063-17"}, 2},
		{"stream", index.Filter{Stream: "medical"}, 1},
		{"foshan", index.Filter{Region: "440600"}, 2},
		{"guangdong", index.Filter{Region: "440000"}, 6},
		{"district", index.Filter{Region: "440111"}, 2},
		{"waiting for hauler", index.Filter{WaitingFor: w.Hauler.Org.ID}, 1}, // fly ash to deliver
		{"waiting for plant", index.Filter{WaitingFor: w.HWPlant.Org.ID}, 1}, // oil to process
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ids []string
			f := tt.f
			f.Limit = 1
			for {
				p, err := ix.List(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range p.Items {
					ids = append(ids, s.ID)
				}
				if p.Next == "" {
					break
				}
				f.After = p.Next
			}
			if len(ids) != tt.want {
				t.Errorf("List(%+v) paged = %d manifests %v, want %d", tt.f, len(ids), ids, tt.want)
			}
			seen := map[string]bool{}
			for _, id := range ids {
				if seen[id] {
					t.Errorf("manifest %s listed twice", id)
				}
				seen[id] = true
			}
		})
	}
	_ = trips
	if _, err := ix.List(ctx, index.Filter{After: "garbage"}); manifest.CodeOf(err) != manifest.Invalid {
		t.Errorf("List(bad token) error = %v, want invalid", err)
	}
}

func TestFollowWakesOnCommit(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := indextest.Open(t)
	ix := openIndex(t)
	done := make(chan error, 1)
	go func() { done <- ix.Follow(ctx, l) }()
	w := scenario.NewWorld()
	if err := w.Setup(ctx, l.Host()); err != nil {
		t.Fatal(err)
	}
	tr := w.OilTrip(false)
	changed := ix.Changed()
	if err := tr.Create(ctx, l.Host()); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	for {
		if _, err := ix.Get(ctx, tr.ID()); err == nil {
			break
		}
		select {
		case <-changed:
			changed = ix.Changed()
		case <-deadline:
			t.Fatalf("manifest %s not indexed within 5 s", tr.ID())
		}
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Follow returned %v, want context.Canceled", err)
	}
}
