package main

import (
	"context"
	"fmt"
	"os"

	"wasteledger/gateway/audit"
)

// verifyExport checks an audit export offline, with nothing but the public
// keys it carries (wasteledger verify --export FILE).
func verifyExport(_ context.Context, e *env, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rep, err := audit.VerifyExport(f)
	if err != nil {
		fmt.Fprintf(e.stdout, "FAILED %s\nfirst failure: %v\n", path, err)
		return fmt.Errorf("export does not verify")
	}
	fmt.Fprintf(e.stdout, "OK %s: region %s, period %s\n", path, rep.Region, rep.Period)
	fmt.Fprintf(e.stdout, "  %d manifests, %d versions, %d steps, %d signatures verified with %d keys (%d lines)\n",
		rep.Manifests, rep.Versions, rep.Steps, rep.Signatures, rep.Keys, rep.Lines)
	return nil
}
