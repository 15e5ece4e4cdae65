package catalog

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestEmbeddedCopiesMatchShared checks that data/ holds byte-identical copies
// of the shared list files kept beside the repository (/work/shared/data).
// Only this comparison is skipped where that folder is absent.
func TestEmbeddedCopiesMatchShared(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	shared := filepath.Join(wd, "..", "..", "..", "shared", "data")
	for _, name := range []string{"hw-list-2021.csv", "hw-categories-2021.json"} {
		t.Run(name, func(t *testing.T) {
			got, err := files.ReadFile("data/" + name)
			if err != nil {
				t.Fatalf("embedded data/%s: %v", name, err)
			}
			if _, err := os.Stat(shared); errors.Is(err, fs.ErrNotExist) {
				t.Skipf("%s is absent; nothing to compare against", shared)
			}
			want, err := os.ReadFile(filepath.Join(shared, name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("embedded data/%s (%d bytes) differs from %s (%d bytes); copy it again unmodified",
					name, len(got), filepath.Join(shared, name), len(want))
			}
		})
	}
}

func TestLoad(t *testing.T) {
	if _, err := load(); err != nil {
		t.Fatalf("load() = %v, want nil", err)
	}
}
