package index_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"wasteledger/gateway/index"
	"wasteledger/gateway/index/indextest"
	"wasteledger/manifest"
)

// Every plan of List (by waiting organisation, by party, by creation)
// answers what filtering every manifest would, page after page.
func TestListPlansAgreeWithAFullScan(t *testing.T) {
	ctx := context.Background()
	l := indextest.Open(t)
	w, trips := world(t, l)
	// A return manifest: its producer is its receiver too (two roles).
	back := w.OilTrip(false)
	back.Draft.Lines = []manifest.Line{{No: 1, Code: "900-214-08", Name: "废机油（退回）", Form: manifest.Liquid, Hazard: "T,I", Packaging: "drum", Packages: 1, Qty: 200, Unit: manifest.Kilogram, OriginLine: 1}}
	back.Draft.Ref = &manifest.Ref{Original: trips[1].ID(), Kind: "return"}
	back.Draft.Receiver, back.Draft.ReceiverPermit, back.Draft.Method = trips[1].Producer.Org.ID, "", ""
	if err := indextest.Run(ctx, l.Host(), back, indextest.Plan{To: manifest.StatusSigned}); err != nil {
		t.Fatal(err)
	}
	ix := openIndex(t)
	if _, err := ix.CatchUp(ctx, l, nil); err != nil {
		t.Fatal(err)
	}
	all, err := ix.List(ctx, index.Filter{Limit: index.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Items) != len(trips)+1 {
		t.Fatalf("List() = %d manifests, want %d", len(all.Items), len(trips)+1)
	}
	orgs := map[string]bool{}
	for _, s := range all.Items {
		orgs[s.Producer], orgs[s.Receiver] = true, true
		for _, c := range s.Carriers {
			orgs[c] = true
		}
	}
	party := func(s index.Summary, org string) bool {
		return s.Producer == org || s.Receiver == org || slices.Contains(s.Carriers, org)
	}
	statuses := [][]manifest.Status{nil, {manifest.StatusSigned}, {manifest.StatusInTransit, manifest.StatusReceived, manifest.StatusClosed}}
	var filters []index.Filter
	for org := range orgs {
		for _, st := range statuses {
			filters = append(filters, index.Filter{WaitingFor: org, Status: st}, index.Filter{Party: org, Status: st},
				index.Filter{WaitingFor: org, Party: org, Status: st})
		}
	}
	for _, st := range statuses {
		filters = append(filters, index.Filter{Status: st}, index.Filter{Status: st, Stream: "industrial"})
	}
	for _, f := range filters {
		var want []string
		for _, s := range all.Items {
			if (len(f.Status) == 0 || slices.Contains(f.Status, s.Status)) && (f.Stream == "" || s.Stream == f.Stream) &&
				(f.Party == "" || party(s, f.Party)) && (f.WaitingFor == "" || slices.Contains(s.WaitingFor, f.WaitingFor)) {
				want = append(want, s.ID)
			}
		}
		for _, limit := range []int{1, 2, 50} {
			f := f
			f.Limit = limit
			var got []string
			for pages := 0; ; pages++ {
				p, err := ix.List(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, s := range p.Items {
					got = append(got, s.ID)
				}
				if p.Next == "" || pages > 20 {
					break
				}
				f.After = p.Next
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("List(%+v) = %v, want %v", f, got, want)
			}
		}
	}
}

// A list asked again after the index applied events answers from the new
// state, never from the page cached before; asked again without a change,
// it answers the same page.
func TestListCacheFollowsTheIndex(t *testing.T) {
	ctx := context.Background()
	l := indextest.Open(t)
	w, _ := world(t, l)
	ix := openIndex(t)
	if _, err := ix.CatchUp(ctx, l, nil); err != nil {
		t.Fatal(err)
	}
	trip := w.OilTrip(false)
	hauler := trip.Carriers[0].Org.ID
	waiting := index.Filter{WaitingFor: hauler, Limit: 5}
	before, err := ix.List(ctx, waiting)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ix.List(ctx, waiting)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, again) {
		t.Fatalf("no change, yet the page differs:\n%+v\n%+v", before, again)
	}
	// A new signed manifest now waits for the hauler's pickup.
	if err := indextest.Run(ctx, l.Host(), trip, indextest.Plan{To: manifest.StatusSigned}); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.CatchUp(ctx, l, nil); err != nil {
		t.Fatal(err)
	}
	after, err := ix.List(ctx, waiting)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Items) == 0 || after.Items[0].ID != trip.ID() {
		t.Fatalf("after the new manifest %s was applied, waiting for %s lists %+v", trip.ID(), hauler, after.Items)
	}
	if reflect.DeepEqual(before, after) {
		t.Fatal("the page cached before the change was served after it")
	}
}
