package index_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"wasteledger/gateway/audit"
	"wasteledger/gateway/index"
	"wasteledger/gateway/index/indextest"
	"wasteledger/gateway/ledger"
	"wasteledger/manifest"
)

// tables dumps every projection table, rows sorted, for comparing two
// indexes. The version log's event column is left out: Repair writes
// "repair" there.
func tables(t *testing.T, path string) map[string][]string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string][]string{}
	for _, tb := range []string{"manifests", "lines", "processing", "outputs", "units", "steps", "flags", "followups", "parties", "versions", "orgs", "keys", "permits", "config", "snapshots"} {
		rows, err := db.Query("SELECT * FROM " + tb)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for i, c := range cols {
				if tb == "versions" && c == "event" {
					continue
				}
				fmt.Fprintf(&b, "%s=%v ", c, vals[i])
			}
			out[tb] = append(out[tb], b.String())
		}
		rows.Close()
		slices.Sort(out[tb])
	}
	return out
}

// TestProjectionIsTheSameHoweverApplied projects the same feed event by
// event (each version rewriting only the rows that changed), in batches,
// and from genesis in one batch, and compares every table with an index
// whose manifests were all rewritten by Repair from their full documents.
func TestProjectionIsTheSameHoweverApplied(t *testing.T) {
	ctx := context.Background()
	l := indextest.Open(t)
	w, trips := world(t, l)
	// An onward manifest for the refused part of the second trip: the
	// original gets a follow-up and a new version.
	onward := w.OilTrip(false)
	onward.Draft.Lines = []manifest.Line{{No: 1, Code: "900-214-08", Name: "废机油（拒收部分）", Form: manifest.Liquid, Hazard: "T,I", Packaging: "drum", Packages: 1, Qty: 200, Unit: manifest.Kilogram, OriginLine: 1}}
	onward.Draft.Ref = &manifest.Ref{Original: trips[1].ID(), Kind: "onward"}
	if err := indextest.Run(ctx, l.Host(), onward, indextest.Plan{To: manifest.StatusClosed}); err != nil {
		t.Fatal(err)
	}
	if err := indextest.Refresh(ctx, l.Host(), trips[1]); err != nil {
		t.Fatal(err)
	}
	if err := indextest.Continue(ctx, l.Host(), trips[1], indextest.Plan{To: manifest.StatusClosed}); err != nil {
		t.Fatal(err)
	}
	trips = append(trips, onward)
	all, err := l.Events(ctx, ledger.Cursor{}, 100000)
	if err != nil {
		t.Fatal(err)
	}

	open := func(name string) (*index.Index, string) {
		path := filepath.Join(t.TempDir(), name+".db")
		ix, err := index.Open(ctx, index.Config{Path: path, Batch: 7})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ix.Close() })
		return ix, path
	}
	one, onePath := open("one")
	for _, ev := range all {
		if err := one.Apply(ctx, []ledger.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
	batched, batchedPath := open("batched")
	if _, err := batched.CatchUp(ctx, l, nil); err != nil {
		t.Fatal(err)
	}
	// Replaying overlapping batches changes nothing.
	for i := 0; i < len(all); i += 5 {
		if err := batched.Apply(ctx, all[i:min(i+11, len(all))]); err != nil {
			t.Fatal(err)
		}
	}
	rebuilt, rebuiltPath := open("rebuilt")
	if _, err := rebuilt.CatchUp(ctx, l, nil); err != nil {
		t.Fatal(err)
	}
	if err := rebuilt.Apply(ctx, all); err != nil {
		t.Fatal(err)
	}
	if _, err := rebuilt.Rebuild(ctx, l, nil); err != nil {
		t.Fatal(err)
	}
	repaired, repairedPath := open("repaired")
	if _, err := repaired.CatchUp(ctx, l, nil); err != nil {
		t.Fatal(err)
	}
	a := audit.Auditor{Ledger: l, Caller: w.RegulatorCaller()}
	for _, tr := range trips {
		vs, err := a.Versions(ctx, tr.ID())
		if err != nil {
			t.Fatal(err)
		}
		var hist []index.Version
		for _, v := range vs {
			hist = append(hist, index.Version{Version: v.Version, Hash: v.Hash, TxID: v.TxID, Cursor: ledger.Cursor{Block: v.Block, Tx: v.Tx}, Time: v.Time, Doc: v.Doc})
		}
		if err := repaired.Repair(ctx, tr.ID(), hist); err != nil {
			t.Fatal(err)
		}
	}

	want := tables(t, repairedPath)
	if len(want["manifests"]) != len(trips) || len(want["steps"]) == 0 || len(want["followups"]) == 0 || len(want["units"]) == 0 || len(want["processing"]) == 0 {
		t.Fatalf("the dataset does not exercise every table: %v", want)
	}
	for name, path := range map[string]string{"event by event": onePath, "batched": batchedPath, "rebuilt": rebuiltPath} {
		got := tables(t, path)
		for tb := range want {
			if !reflect.DeepEqual(got[tb], want[tb]) {
				t.Errorf("%s: table %s =\n%s\nwant (repaired from full documents)\n%s", name, tb, strings.Join(got[tb], "\n"), strings.Join(want[tb], "\n"))
			}
		}
	}
}

// TestManifestRecordFields guards the projection's light decoding of
// steps: a field added to manifest.Record must be looked at (is it a
// column? then decode it in index.stepDoc) before this test is updated.
func TestManifestRecordFields(t *testing.T) {
	var got []string
	rt := reflect.TypeOf(manifest.Record{})
	for i := 0; i < rt.NumField(); i++ {
		got = append(got, rt.Field(i).Name)
	}
	want := []string{"Step", "TxID", "Committed", "Time", "From", "To", "Vehicle", "Place", "Digest", "Statement", "Signatures"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("manifest.Record fields = %v, want %v", got, want)
	}
	got = nil
	rt = reflect.TypeOf(manifest.SignatureRecord{})
	for i := 0; i < rt.NumField(); i++ {
		got = append(got, rt.Field(i).Name)
	}
	if want := []string{"Org", "Key", "Sig", "SignedBy"}; !reflect.DeepEqual(got, want) {
		t.Errorf("manifest.SignatureRecord fields = %v, want %v", got, want)
	}
}
