//go:build !unix

package embedded

import "os"

// lockFile only opens path where advisory locks are not available.
func lockFile(path string) (*os.File, error) { return os.Open(path) }
