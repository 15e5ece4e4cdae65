package main

import (
	"context"
	"fmt"
)

// verifyExport is wired to the audit package's offline verifier.
func verifyExport(ctx context.Context, e *env, path string) error {
	return fmt.Errorf("verify --export: not wired yet (%s)", path)
}
