//go:build fabric

package main

import (
	"os"
	"testing"
)

// TestEndToEndOnFabric runs the real binary's demo on the local Fabric
// network (scripts/test-fabric.sh brings it up and sets
// WASTELEDGER_FABRIC_PROFILE) and drives a manifest's lifecycle over HTTP,
// exactly as TestEndToEnd does on the embedded ledger.
func TestEndToEndOnFabric(t *testing.T) {
	profile := os.Getenv("WASTELEDGER_FABRIC_PROFILE")
	if profile == "" {
		t.Fatal("WASTELEDGER_FABRIC_PROFILE is not set: run scripts/test-fabric.sh")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	s := startDemo(t, bin, data, "WASTELEDGER_LEDGER=fabric", "WASTELEDGER_FABRIC_PROFILE="+profile)
	driveDemo(t, s, bin, data)
	s.stop()
}
