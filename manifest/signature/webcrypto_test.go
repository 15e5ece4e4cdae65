package signature_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wasteledger/manifest/jcs"
	"wasteledger/manifest/signature"
)

// runNode runs testdata/webcrypto.mjs with args. Without node it fails the
// test, unless WASTELEDGER_SKIP_NODE=1: browser interoperability is the
// point of this package, so its proof is not skipped silently.
func runNode(t *testing.T, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	if os.Getenv("WASTELEDGER_SKIP_NODE") == "1" {
		t.Skip("WASTELEDGER_SKIP_NODE=1: skipping the WebCrypto cross-check")
	}
	node, lookErr := exec.LookPath("node")
	if lookErr != nil {
		t.Fatalf("node not found in PATH (%v).\n"+
			"This test proves that browser WebCrypto and Verify agree; it needs Node.js 20 or later:\n"+
			"  Debian/Ubuntu: apt-get install nodejs   macOS: brew install node   or https://nodejs.org\n"+
			"To skip it deliberately, set WASTELEDGER_SKIP_NODE=1.", lookErr)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join("testdata", "webcrypto.mjs")}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.Bytes(), errOut.Bytes(), err
}

func TestWebCrypto(t *testing.T) {
	stdout, stderr, err := runNode(t)
	if err != nil {
		t.Fatalf("node testdata/webcrypto.mjs: %v\nstderr:\n%s", err, stderr)
	}
	var got struct {
		Checked   int             `json:"checked"`
		Input     string          `json:"input"`
		Canonical string          `json:"canonical"`
		KeyID     string          `json:"key_id"`
		PublicJWK json.RawMessage `json:"public_jwk"`
		Signature string          `json:"signature"`
	}
	if err := json.Unmarshal(stdout, &got); err != nil {
		t.Fatalf("webcrypto.mjs output %q: %v", stdout, err)
	}
	if want := len(loadVectors(t)); got.Checked != want {
		t.Errorf("webcrypto.mjs checked %d vectors, want %d", got.Checked, want)
	}

	// The key as WebCrypto exports it (with ext and key_ops) parses, and
	// both sides compute the same key id.
	pub, err := signature.ParsePublicJWK(got.PublicJWK)
	if err != nil {
		t.Fatalf("ParsePublicJWK(WebCrypto export %s): %v", got.PublicJWK, err)
	}
	if kid := signature.Thumbprint(pub); kid != got.KeyID {
		t.Errorf("Thumbprint = %s, WebCrypto side computed %s", kid, got.KeyID)
	}
	// Both sides canonicalise the statement to the same bytes.
	canonical, err := jcs.Canonicalize([]byte(got.Input))
	if err != nil {
		t.Fatalf("Canonicalize(node's statement): %v", err)
	}
	if string(canonical) != got.Canonical {
		t.Errorf("Canonicalize(node's statement) = %s\nnode wrote              %s", canonical, got.Canonical)
	}
	if err := signature.Verify(pub, []byte(got.Canonical), got.Signature); err != nil {
		t.Errorf("Verify(WebCrypto signature) = %v, want nil", err)
	}
	tampered := strings.Replace(got.Canonical, `"qty":1185`, `"qty":1186`, 1)
	if err := signature.Verify(pub, []byte(tampered), got.Signature); !errors.Is(err, signature.ErrMismatch) {
		t.Errorf("Verify(WebCrypto signature, tampered statement) = %v, want ErrMismatch", err)
	}
}

// The script's checks can fail: feed it wrong vectors and it must say so.
func TestWebCryptoScriptDetectsBadVectors(t *testing.T) {
	vs := loadVectors(t)
	vs[0].Canonical = strings.Replace(vs[0].Canonical, `"qty":1200`, `"qty":1300`, 1)
	vs[1].Expect = "mismatch"
	vs[2].KeyID = vs[3].KeyID + "x"
	b, err := json.Marshal(vs)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "vectors.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := runNode(t, path)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("webcrypto.mjs on bad vectors: err %v, want exit status 1\nstderr:\n%s", err, stderr)
	}
	for _, want := range []string{
		"FAIL " + vs[0].Name + ": canonical form differs",
		"FAIL " + vs[0].Name + ": signature is mismatch, want valid",
		"FAIL " + vs[1].Name + ": signature is valid, want mismatch",
		"FAIL " + vs[2].Name + ": thumbprint is",
	} {
		if !bytes.Contains(stderr, []byte(want)) {
			t.Errorf("webcrypto.mjs stderr does not contain %q:\n%s", want, stderr)
		}
	}
}
