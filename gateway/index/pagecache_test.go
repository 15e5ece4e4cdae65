package index_test

import (
	"context"
	"reflect"
	"testing"

	"wasteledger/gateway/index"
	"wasteledger/gateway/index/indextest"
	"wasteledger/manifest"
)

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
