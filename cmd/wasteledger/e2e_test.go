package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"wasteledger/gateway"
	"wasteledger/manifest"
)

// e2eServer is the real binary running demo on loopback.
type e2eServer struct {
	t      *testing.T
	cmd    *exec.Cmd
	base   string
	mu     sync.Mutex
	stdout bytes.Buffer
	done   chan error
}

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wasteledger")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startDemo(t *testing.T, bin, data string, env ...string) *e2eServer {
	t.Helper()
	addr := freePort(t)
	s := &e2eServer{t: t, base: "http://" + addr, done: make(chan error, 1)}
	s.cmd = exec.Command(bin, "demo", "--data", data, "--addr", addr, "--log-level", "warn")
	s.cmd.Env = append(append(os.Environ(), "WASTELEDGER_RATE=-1"), env...)
	stdout, _ := s.cmd.StdoutPipe()
	var stderr bytes.Buffer
	s.cmd.Stderr = &stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			s.mu.Lock()
			s.stdout.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
		}
		s.done <- s.cmd.Wait()
	}()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", s.output(), stderr.String())
		}
	})
	// Ready when /readyz says so and demo has printed where to look.
	// Seeding on a Fabric network orders a few hundred transactions.
	wait := 90 * time.Second
	if len(env) > 0 {
		wait = 10 * time.Minute
	}
	deadline := time.Now().Add(wait)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("demo not ready after %s", wait)
		}
		select {
		case err := <-s.done:
			t.Fatalf("demo exited: %v\n%s\n%s", err, s.output(), stderr.String())
		default:
		}
		if res, err := http.Get(s.base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 && strings.Contains(s.output(), "wasteledger serving") {
				return s
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *e2eServer) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stdout.String()
}

func (s *e2eServer) stop() {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Fatalf("demo exited with %v after SIGINT", err)
		}
	case <-time.After(20 * time.Second):
		s.t.Fatal("demo did not stop within 20 s of SIGINT")
	}
}

func (s *e2eServer) call(method, path, token string, body []byte, out any) int {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.base+path, bytes.NewReader(body))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fmt.Sprintf("e2e-%d", time.Now().UnixNano()))
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	if res.StatusCode >= 300 {
		s.t.Logf("%s %s = %d %s", method, path, res.StatusCode, b)
	}
	return res.StatusCode
}

// printedPassword finds a user's password in the table demo printed.
func printedPassword(t *testing.T, out, username string) string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == username {
			return f[1]
		}
	}
	t.Fatalf("demo did not print credentials of %s:\n%s", username, out)
	return ""
}

// TestEndToEnd builds the real binary, starts demo on a free loopback port
// with a fresh data directory, signs in with the printed credentials and
// drives a manifest from signed to closed over HTTP, each party signing
// with its device key through `wasteledger sign`; then restarts demo on the
// same directory, which must not seed again.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	s := startDemo(t, bin, data)
	out := driveDemo(t, s, bin, data)
	res, err := http.Get(s.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !bytes.Contains(mb, []byte(`route="/api/v1/manifests/{id}/handover"`)) {
		t.Fatalf("metrics lack the handover route")
	}
	s.stop()

	// Again on the same data directory: nothing is seeded twice, the old
	// sign-ins still work.
	s2 := startDemo(t, bin, data)
	if out2 := s2.output(); strings.Contains(out2, "Seeded the demo") || !strings.Contains(out2, "was seeded on") {
		t.Fatalf("second demo run seeded again:\n%s", out2)
	}
	var tr gateway.TokenResponse
	body, _ := json.Marshal(map[string]string{"username": "factory-clerk", "password": printedPassword(t, out, "factory-clerk")})
	if st := s2.call("POST", "/api/v1/auth/token", "", body, &tr); st != 200 {
		t.Fatalf("sign-in after restart = %d", st)
	}
	s2.stop()
}

// driveDemo checks what demo seeded and drives a signed industrial manifest
// from signed to closed over HTTP, each party signing with its device key
// through `wasteledger sign`. It returns demo's output.
func driveDemo(t *testing.T, s *e2eServer, bin, data string) string {
	t.Helper()
	out := s.output()
	if !strings.Contains(out, "Seeded the demo") || !strings.Contains(out, "/api/v1/openapi.json") || !strings.Contains(out, "/m/") {
		t.Fatalf("demo output lacks the seeding summary or the URLs:\n%s", out)
	}

	var info gateway.DemoInfo
	b, err := os.ReadFile(filepath.Join(data, "demo", "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &info)
	counts := map[string]map[manifest.Status]bool{}
	for _, m := range info.Manifests {
		if counts[m.Stream] == nil {
			counts[m.Stream] = map[manifest.Status]bool{}
		}
		counts[m.Stream][m.Status] = true
	}
	for _, stream := range []string{"industrial", "medical", "fly_ash", "battery"} {
		if len(counts[stream]) != len(manifest.Statuses) {
			t.Errorf("demo seeded %s manifests in %d states, want all %d", stream, len(counts[stream]), len(manifest.Statuses))
		}
	}
	target, ok := info.Find("industrial", manifest.StatusSigned)
	if !ok {
		t.Fatal("no signed industrial manifest seeded")
	}
	login := func(name string) string {
		var tr gateway.TokenResponse
		body, _ := json.Marshal(map[string]string{"username": name, "password": printedPassword(t, out, name)})
		if st := s.call("POST", "/api/v1/auth/token", "", body, &tr); st != 200 {
			t.Fatalf("sign-in of %s = %d", name, st)
		}
		return tr.AccessToken
	}
	keyOf := func(name string) (string, string) {
		u, _ := info.User(name)
		return filepath.Join(data, "demo", u.KeyFile), u.KeyID
	}
	clerk, driver, plant := login("factory-clerk"), login("hauler-driver"), login("hwplant-clerk")

	var page struct {
		Items []struct{ ID string } `json:"items"`
	}
	s.call("GET", "/api/v1/manifests?waiting=me", driver, nil, &page)
	found := false
	for _, it := range page.Items {
		found = found || it.ID == target.ID
	}
	if !found {
		t.Fatalf("the driver's waiting-for-me list lacks %s", target.ID)
	}

	// One step: template → `wasteledger sign` with the signers' key files →
	// POST, as submitter.
	step := func(submitter string, st manifest.Step, signers ...string) {
		t.Helper()
		q := ""
		var files []string
		for i, name := range signers {
			f, kid := keyOf(name)
			files = append(files, "--key", f)
			q += map[int]string{0: "?from_key=", 1: "&to_key="}[i] + kid
		}
		var tpl json.RawMessage
		if code := s.call("GET", "/api/v1/manifests/"+target.ID+"/statements/"+string(st)+q, submitter, nil, &tpl); code != 200 {
			t.Fatalf("template %s = %d", st, code)
		}
		tf := filepath.Join(t.TempDir(), "tpl.json")
		os.WriteFile(tf, tpl, 0o600)
		signed, err := exec.CommandContext(context.Background(), bin, append(append([]string{"sign"}, files...), tf)...).Output()
		if err != nil {
			t.Fatalf("wasteledger sign: %v", err)
		}
		var ep struct{ Endpoint string }
		json.Unmarshal(tpl, &ep)
		var res gateway.StepResult
		if code := s.call("POST", ep.Endpoint, submitter, signed, &res); code != 200 {
			t.Fatalf("%s = %d", st, code)
		}
	}
	step(driver, manifest.StepPickup, "factory-clerk", "hauler-driver")
	step(plant, manifest.StepDelivery, "hauler-driver", "hwplant-clerk")
	step(plant, manifest.StepReceive, "hwplant-clerk")
	step(plant, manifest.StepProcess, "hwplant-clerk")
	step(clerk, manifest.StepClose, "factory-clerk")

	var h struct {
		Items []gateway.HistoryItem `json:"items"`
	}
	s.call("GET", "/api/v1/manifests/"+target.ID+"/history", clerk, nil, &h)
	var steps []string
	for _, it := range h.Items {
		steps = append(steps, it.Step)
	}
	if got := strings.Join(steps, ","); got != "create,sign,pickup,delivery,receive,process,close" {
		t.Fatalf("history = %s", got)
	}
	if code := s.call("GET", "/api/v1/manifests/"+target.ID+"/print", clerk, nil, nil); code != 200 {
		t.Fatalf("printable manifest = %d", code)
	}
	// The regulator proves the closing transaction is on the ledger: a
	// Merkle proof on the embedded ledger, a signed block on Fabric.
	var proof struct {
		Kind     string `json:"kind"`
		TxID     string `json:"tx_id"`
		Verified bool   `json:"verified"`
	}
	closing := h.Items[len(h.Items)-1].TxID
	if code := s.call("GET", "/api/v1/audit/proof/"+closing, login("gdee-officer"), nil, &proof); code != 200 || !proof.Verified || proof.TxID != closing {
		t.Fatalf("proof of %s = %d %+v, want 200 and verified", closing, code, proof)
	}
	return out
}
