package main

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// Re-running the generator reproduces the committed vectors, signatures
// aside (ECDSA signatures are randomised; TestVectors in package signature
// checks that each committed one verifies as "expect" says).
func TestBuildReproducesCommittedVectors(t *testing.T) {
	committed, err := os.ReadFile("../../testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var want []Vector
	if err := json.Unmarshal(committed, &want); err != nil {
		t.Fatal(err)
	}
	got, err := Build(defaultSeed)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("Build made %d vectors, testdata/vectors.json has %d; run go generate ./manifest/signature", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		g.Signature, w.Signature = "", ""
		gb, _ := json.Marshal(g)
		wb, _ := json.Marshal(w)
		// Compare through compacted JSON: the file is indented.
		var gc, wc bytes.Buffer
		if err := json.Compact(&gc, gb); err != nil {
			t.Fatal(err)
		}
		if err := json.Compact(&wc, wb); err != nil {
			t.Fatal(err)
		}
		if gc.String() != wc.String() {
			t.Errorf("vector %d (%s) differs from testdata/vectors.json; run go generate ./manifest/signature\n got %s\nwant %s", i, w.Name, gc.String(), wc.String())
		}
	}
}

// The seed stream is SHA-256(seed ‖ uint64 counter) and reads the same in
// any chunking.
func TestSeedStream(t *testing.T) {
	a := &seedStream{seed: []byte("s")}
	whole := make([]byte, 100)
	a.Read(whole)
	b := &seedStream{seed: []byte("s")}
	var parts []byte
	for _, n := range []int{1, 31, 32, 7, 29} {
		p := make([]byte, n)
		b.Read(p)
		parts = append(parts, p...)
	}
	if !bytes.Equal(whole, parts) {
		t.Errorf("seed stream depends on read sizes:\n%x\n%x", whole, parts)
	}
}
