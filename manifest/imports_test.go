package manifest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoIO keeps the domain core pure: no package under manifest/ may reach
// a database, the network, Fabric or the HTTP stack, even indirectly, nor
// import the file system, randomness or process control directly, nor read
// the clock.
func TestNoIO(t *testing.T) {
	forbiddenDeps := []string{"database/sql", "net", "net/http", "os/exec", "os/signal", "log/slog", "log",
		"github.com/mattn/go-sqlite3", "github.com/hyperledger/", "github.com/gorilla/", "github.com/golang-jwt/"}
	forbiddenDirect := []string{"os", "io/fs", "io/ioutil", "path/filepath", "syscall", "crypto/rand", "math/rand", "math/rand/v2", "unsafe"}

	out, err := exec.Command("go", "list", "-deps", "./...").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, f := range forbiddenDeps {
			if dep == f || (strings.HasSuffix(f, "/") && strings.HasPrefix(dep, f)) {
				t.Errorf("manifest/... depends on %s", dep)
			}
		}
	}
	out, err = exec.Command("go", "list", "-f", `{{.ImportPath}}:{{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ":")
		if strings.Contains(pkg, "/internal/") { // generators and tools, not the core
			continue
		}
		for _, imp := range strings.Fields(imports) {
			if pkg == "wasteledger/manifest/signature" && imp == "crypto/rand" {
				continue // key generation and signing, for clients; the contract only verifies
			}
			for _, f := range forbiddenDirect {
				if imp == f {
					t.Errorf("%s imports %s", pkg, imp)
				}
			}
		}
	}

	// No clock: time is a value passed in, never read.
	err = filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.Contains(path, "internal/") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, call := range []string{"time.Now(", "time.Since(", "time.Until(", "time.LoadLocation("} {
			if strings.Contains(string(b), call) {
				t.Errorf("%s calls %s", path, call)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
