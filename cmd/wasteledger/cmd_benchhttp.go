package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"wasteledger/chaincode/embedded"
	"wasteledger/chaincode/scenario"
	"wasteledger/manifest"
	"wasteledger/manifest/jcs"
	"wasteledger/manifest/signature"
)

func init() {
	benchSubcommands["http"] = command{
		summary: "load serve over HTTP: signed handovers, scans and reads at several client counts; throughput and p50/p99",
		run:     runBenchHTTP,
	}
}

// benchHTTPConfig configures `wasteledger bench http`.
type benchHTTPConfig struct {
	Target        string // a running serve; empty: start one on a fresh data directory
	AdminUser     string // the regulator administrator of the target
	AdminPassword string
	Clients       []int
	Duration      time.Duration
	Warmup        time.Duration
	Mix           [3]int // weights: handover, scan, read
	Producers     int
	Drivers       int
	Prepare       int    // signed manifests prepared for the first level; later levels size from the rate seen
	HandoverAPI   string // rest (POST /api/v1/manifests/{id}/handover) or mobile (POST /mobile/v1/handovers)
	ServerLog     string // serve's --log-level
	BlockWait     time.Duration
	Idempotency   bool   // handovers carry an Idempotency-Key
	Reference     []int  // client counts of the reference runs: handovers only
	CPUProfile    string // prefix of the serve CPU profiles of the measured runs
	DebugURL      string // with Target: that serve's --debug-addr, for profiles
}

func runBenchHTTP(ctx context.Context, e *env, args []string) error {
	fs := e.flags("bench http", "")
	c := benchHTTPConfig{}
	fs.StringVar(&c.Target, "target", envDefault("bench-target", ""), "base URL of a running serve (default: start one on a fresh data directory)")
	fs.StringVar(&c.AdminUser, "admin", envDefault("bench-admin", "admin"), "with --target: the regulator administrator's username")
	fs.StringVar(&c.AdminPassword, "admin-password", envDefault("bench-admin-password", ""), "with --target: the administrator's password")
	clients := fs.String("clients", envDefault("bench-clients", "1,32,256"), "concurrent clients per run, comma-separated")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "measured time per run")
	fs.DurationVar(&c.Warmup, "warmup", 2*time.Second, "unmeasured time before each run")
	mix := fs.String("mix", "handover=2,scan=1,read=1", "operation weights")
	fs.IntVar(&c.Producers, "producers", 21, "producer organisations, one per Guangdong city (manifest numbers are drawn per city)")
	fs.IntVar(&c.Drivers, "drivers", 8, "driver users (each with a device key)")
	fs.IntVar(&c.Prepare, "prepare", 0, "signed manifests to prepare for the first run (default: sized from the runs' clients and duration)")
	fs.StringVar(&c.HandoverAPI, "handover-api", "rest", "rest: POST /api/v1/manifests/{id}/handover; mobile: POST /mobile/v1/handovers")
	fs.StringVar(&c.ServerLog, "server-log-level", "info", "the started serve's --log-level (info logs one line per request)")
	fs.DurationVar(&c.BlockWait, "block-wait", embedded.DefaultBlockMaxWait, "the started serve's --block-wait")
	reference := fs.String("reference-clients", envDefault("bench-reference-clients", "32"), "after the mixed runs, reference runs of handovers only at these client counts, comma-separated (empty: none)")
	fs.BoolVar(&c.Idempotency, "idempotency-keys", false, "send an Idempotency-Key with each handover (the gateway then records every answer; the driver app sends none)")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write serve's CPU profile of each measured run to PREFIX-MIX-CLIENTS.pprof (a started serve, or --target with --debug-url)")
	fs.StringVar(&c.DebugURL, "debug-url", "", "with --target and --cpuprofile: base URL of the target's pprof server (its --debug-addr)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var err error
	if c.Clients, err = parseCounts("--clients", *clients); err != nil {
		return err
	}
	if len(c.Clients) == 0 {
		return errors.New("--clients: no client counts")
	}
	if c.Reference, err = parseCounts("--reference-clients", *reference); err != nil {
		return err
	}
	for _, kv := range strings.Split(*mix, ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("--mix: %q", kv)
		}
		switch k {
		case "handover":
			c.Mix[0] = n
		case "scan":
			c.Mix[1] = n
		case "read":
			c.Mix[2] = n
		default:
			return fmt.Errorf("--mix: unknown operation %q (handover, scan, read)", k)
		}
	}
	if c.Mix[0]+c.Mix[1]+c.Mix[2] == 0 {
		return errors.New("--mix: all weights are zero")
	}
	if c.Producers < 1 || c.Producers > len(benchCities) {
		return fmt.Errorf("--producers must be 1–%d", len(benchCities))
	}

	b := &bencher{cfg: c, out: e.stdout, log: e.stderr}
	b.http = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 2048, MaxIdleConnsPerHost: 2048, IdleConnTimeout: time.Minute, DisableCompression: true,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	}}
	if c.Target == "" {
		stop, err := b.startServer(ctx)
		if err != nil {
			return err
		}
		defer stop()
	} else {
		b.base = strings.TrimRight(c.Target, "/")
		if c.AdminPassword == "" {
			return errors.New("--target needs --admin-password")
		}
		if c.CPUProfile != "" && c.DebugURL == "" {
			return errors.New("--cpuprofile with --target needs --debug-url")
		}
		b.debugURL = strings.TrimRight(c.DebugURL, "/")
	}
	return b.run(ctx)
}

func parseCounts(flag, list string) ([]int, error) {
	var out []int
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s: %q is not a positive number", flag, s)
		}
		out = append(out, n)
	}
	return out, nil
}

// benchCities are Guangdong's prefecture-level cities: one producer each,
// because manifest numbers are drawn from a counter per city and year.
var benchCities = []string{"440100", "440200", "440300", "440400", "440500", "440600", "440700", "440800", "440900", "441200",
	"441300", "441400", "441500", "441600", "441700", "441800", "441900", "442000", "445100", "445200", "445300"}

type bencher struct {
	cfg  benchHTTPConfig
	out  io.Writer
	log  io.Writer
	http *http.Client
	base string

	admin     string
	producers []*benchParty
	drivers   []*benchParty
	carrier   manifest.Org
	plant     manifest.Org
	permit    manifest.Permit
	licence   manifest.Permit

	pid      int    // the started serve's process, for its CPU time
	debugURL string // its pprof server, for --cpuprofile

	ready   []prepared // signed pickups not yet submitted
	next    atomic.Int64
	tickets []string
	ids     []string // manifests for reads
}

type benchParty struct {
	org   manifest.Org
	user  string
	token string
	key   *ecdsa.PrivateKey
	kid   string
}

type prepared struct {
	id     string
	driver int
	body   []byte
}

// startServer starts `serve` from this binary on a free loopback port with
// a fresh data directory.
func (b *bencher) startServer(ctx context.Context) (func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	data, err := os.MkdirTemp("", "wasteledger-bench-")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	logf, err := os.Create(filepath.Join(data, "serve.log"))
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--data", data, "--addr", addr, "--rate", "1000000",
		"--log-level", b.cfg.ServerLog, "--block-wait", b.cfg.BlockWait.String()}
	if b.cfg.CPUProfile != "" {
		dl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		b.debugURL = "http://" + dl.Addr().String()
		args = append(args, "--debug-addr", dl.Addr().String())
		dl.Close()
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b.pid = cmd.Process.Pid
	stop := func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
		}
		logf.Close()
		os.RemoveAll(data)
	}
	b.base = "http://" + addr
	fmt.Fprintf(b.log, "bench: started serve on %s (data %s, log level %s)\n", b.base, data, b.cfg.ServerLog)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if res, err := b.http.Get(b.base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			stop()
			return nil, errors.New("serve did not become ready within 60 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cred, err := os.ReadFile(filepath.Join(data, "bootstrap-credentials.txt"))
	if err != nil {
		stop()
		return nil, err
	}
	for _, line := range strings.Split(string(cred), "\n") {
		if v, ok := strings.CutPrefix(line, "username: "); ok {
			b.cfg.AdminUser = v
		}
		if v, ok := strings.CutPrefix(line, "password: "); ok {
			b.cfg.AdminPassword = v
		}
	}
	return stop, nil
}

// call sends a JSON request and decodes a 2xx answer into out. A
// non-empty idemKey is sent as the Idempotency-Key.
func (b *bencher) call(ctx context.Context, method, path, token string, body []byte, out any, idemKey ...string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, b.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	if len(idemKey) > 0 && idemKey[0] != "" {
		req.Header.Set("Idempotency-Key", idemKey[0])
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := b.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	rb, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, err
	}
	if err := statusError(method, path, res.StatusCode, rb); err != nil {
		return res.StatusCode, err
	}
	if out != nil {
		if err := json.Unmarshal(rb, out); err != nil {
			return res.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return res.StatusCode, nil
}

func (b *bencher) must(ctx context.Context, method, path, token string, v any, out any) error {
	var body []byte
	if v != nil {
		var err error
		if body, err = json.Marshal(v); err != nil {
			return err
		}
	}
	_, err := b.call(ctx, method, path, token, body, out)
	return err
}

func (b *bencher) login(ctx context.Context, user, password string) (string, error) {
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	err := b.must(ctx, "POST", "/api/v1/auth/token", "", map[string]string{"username": user, "password": password}, &tr)
	return tr.AccessToken, err
}

// setup registers a carrier, a plant and the producers, with users and
// device keys, through the API as the regulator's administrator.
func (b *bencher) setup(ctx context.Context) error {
	var err error
	if b.admin, err = b.login(ctx, b.cfg.AdminUser, b.cfg.AdminPassword); err != nil {
		return err
	}
	run := strconv.FormatInt(time.Now().Unix()%100000, 10)
	b.carrier = scenario.NewParty("广东粤安危险废物运输有限公司", "440111", scenario.CarrierMSP, manifest.Carrier).Org
	b.plant = scenario.NewParty("惠州东江绿源环保科技有限公司", "441300", scenario.ReceiverMSP, manifest.Receiver).Org
	b.permit = manifest.Permit{ID: "粤交运管危BENCH" + run, Kind: manifest.Transport, Org: b.carrier.ID, ValidFrom: "2024-01-01", ValidTo: "2029-12-31", Plates: []string{scenario.HaulerPlate}}
	b.licence = manifest.Permit{ID: "GD-HW-BENCH-" + run, Kind: manifest.HWLicence, Org: b.plant.ID, ValidFrom: "2024-01-01", ValidTo: "2029-12-31",
		Codes: []string{"HW08", "HW17"}, CapacityT: 10_000_000, Methods: []string{"D10"}}
	for _, o := range []manifest.Org{b.carrier, b.plant} {
		if err := b.must(ctx, "POST", "/api/v1/orgs", b.admin, o, nil); err != nil {
			return err
		}
	}
	for _, p := range []manifest.Permit{b.permit, b.licence} {
		if err := b.must(ctx, "POST", "/api/v1/permits", b.admin, p, nil); err != nil {
			return err
		}
	}
	const pw = "bench-password-1"
	person := func(o manifest.Org, name, role string) (*benchParty, error) {
		if err := b.must(ctx, "POST", "/api/v1/orgs/"+o.ID+"/users", b.admin, map[string]string{"username": name, "role": role, "password": pw}, nil); err != nil {
			return nil, err
		}
		key, err := signature.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		p := &benchParty{org: o, user: name, key: key, kid: signature.Thumbprint(&key.PublicKey)}
		reg := map[string]any{"jwk": json.RawMessage(signature.MarshalPublicJWK(&key.PublicKey)), "holder": "device-" + name, "kind": "device"}
		if err := b.must(ctx, "POST", "/api/v1/orgs/"+o.ID+"/keys", b.admin, reg, nil); err != nil {
			return nil, err
		}
		p.token, err = b.login(ctx, name, pw)
		return p, err
	}
	for i := 0; i < b.cfg.Drivers; i++ {
		p, err := person(b.carrier, fmt.Sprintf("bench%s-driver%d", run, i), "driver")
		if err != nil {
			return err
		}
		b.drivers = append(b.drivers, p)
	}
	for i := 0; i < b.cfg.Producers; i++ {
		o := scenario.NewParty(fmt.Sprintf("基准测试产废单位%02d", i), benchCities[i], scenario.ProducerMSP, manifest.Producer).Org
		if err := b.must(ctx, "POST", "/api/v1/orgs", b.admin, o, nil); err != nil {
			return err
		}
		p, err := person(o, fmt.Sprintf("bench%s-clerk%d", run, i), "producer_clerk")
		if err != nil {
			return err
		}
		b.producers = append(b.producers, p)
	}
	return nil
}

func (b *bencher) draft(p *benchParty) manifest.Draft {
	return manifest.Draft{
		Producer: p.org.ID,
		Site:     manifest.Site{Name: "危废暂存间", Address: "产废单位厂区", Region: p.org.Region},
		Legs:     []manifest.Leg{{Carrier: b.carrier.ID, Permit: b.permit.ID, Plates: []string{scenario.HaulerPlate}}},
		Receiver: b.plant.ID, ReceiverPermit: b.licence.ID,
		Lines: []manifest.Line{
			{No: 1, Code: "900-214-08", Name: "废机油", Form: manifest.Liquid, Hazard: "T,I", Packaging: "drum", Packages: 6, Qty: 1200, Unit: manifest.Kilogram},
			{No: 2, Code: "336-063-17", Name: "电镀污泥", Form: manifest.SemiSolid, Hazard: "T", Packaging: "bag", Packages: 10, Qty: 3000, Unit: manifest.Kilogram},
		},
		Method: "D10", Emergency: "泄漏时立即围堵收集，拨打 12369 与 119。",
	}
}

func signStatement(st manifest.Statement, signers ...*benchParty) ([]byte, error) {
	canonical, err := jcs.Marshal(st)
	if err != nil {
		return nil, err
	}
	env := manifest.Signed{Statement: canonical}
	for _, s := range signers {
		sig, err := signature.Sign(rand.Reader, s.key, canonical)
		if err != nil {
			return nil, err
		}
		env.Signatures = append(env.Signatures, manifest.Signature{Key: s.kid, Sig: sig})
	}
	return json.Marshal(env)
}

// prepare creates n manifests, has their producers sign them, and signs
// (but does not submit) each one's pickup by producer and driver.
func (b *bencher) prepare(ctx context.Context, n int) error {
	start := time.Now()
	type created struct {
		p    *benchParty
		id   string
		hash string
		doc  manifest.Manifest
	}
	toSign := make(chan created, 1024)
	var (
		mu       sync.Mutex
		firstErr error
		made     []prepared
		wg, swg  sync.WaitGroup
		driverRR atomic.Int64
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	for w := 0; w < 32; w++ {
		swg.Add(1)
		go func() {
			defer swg.Done()
			for c := range toSign {
				lines := make([]manifest.StatementLine, 0, len(c.doc.Lines))
				for _, l := range c.doc.Lines {
					lines = append(lines, manifest.StatementLine{Line: l.No, Code: l.Code, Qty: l.Qty, Unit: l.Unit, Packages: l.Packages})
				}
				now := time.Now().UTC().Add(-time.Second).Truncate(time.Second)
				st := manifest.Statement{V: manifest.StatementVersion, Manifest: c.id, Step: manifest.StepSign, From: &manifest.Party{Org: c.p.org.ID, Key: c.p.kid},
					Lines: lines, Time: now, Prev: c.hash}
				body, err := signStatement(st, c.p)
				if err != nil {
					fail(err)
					continue
				}
				var res struct {
					Hash string `json:"hash"`
				}
				if _, err := b.call(ctx, "POST", "/api/v1/manifests/"+c.id+"/sign", c.p.token, body, &res); err != nil {
					fail(err)
					continue
				}
				d := int(driverRR.Add(1)) % len(b.drivers)
				drv := b.drivers[d]
				pick := manifest.Statement{V: manifest.StatementVersion, Manifest: c.id, Step: manifest.StepPickup,
					From: &manifest.Party{Org: c.p.org.ID, Key: c.p.kid}, To: &manifest.Party{Org: b.carrier.ID, Key: drv.kid},
					Vehicle: scenario.HaulerPlate, Lines: lines, Time: now, Prev: res.Hash,
					Place: &manifest.Place{LatE6: 23_129_110, LonE6: 113_264_385, Text: "装卸区"}}
				pb, err := signStatement(pick, c.p, drv)
				if err != nil {
					fail(err)
					continue
				}
				if b.cfg.HandoverAPI == "mobile" {
					pb, _ = json.Marshal(map[string]any{"signed": json.RawMessage(pb), "device_time": now})
				}
				mu.Lock()
				made = append(made, prepared{id: c.id, driver: d, body: pb})
				mu.Unlock()
			}
		}()
	}
	per := (n + len(b.producers) - 1) / len(b.producers)
	for _, p := range b.producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(b.draft(p))
			for i := 0; i < per; i++ {
				var res struct {
					ID       string            `json:"id"`
					Hash     string            `json:"hash"`
					Manifest manifest.Manifest `json:"manifest"`
				}
				if _, err := b.call(ctx, "POST", "/api/v1/manifests", p.token, body, &res); err != nil {
					fail(err)
					return
				}
				toSign <- created{p: p, id: res.ID, hash: res.Hash, doc: res.Manifest}
			}
		}()
	}
	wg.Wait()
	close(toSign)
	swg.Wait()
	if firstErr != nil {
		return firstErr
	}
	// Pickups prepared earlier and not yet submitted are still valid: each
	// names the version its manifest is still at.
	left := b.ready[min(int(b.next.Load()), len(b.ready)):]
	b.ready = append(append(make([]prepared, 0, len(left)+len(made)), left...), made...)
	b.next.Store(0)
	if len(b.ids) == 0 {
		for _, m := range made {
			b.ids = append(b.ids, m.id)
		}
	}
	d := time.Since(start)
	fmt.Fprintf(b.log, "bench: prepared %d signed manifests with signed pickups in %v (%.0f manifests/s)\n", len(made), d.Round(time.Millisecond), float64(len(made))/d.Seconds())
	return nil
}

var ticketPattern = regexp.MustCompile(`#t=([A-Za-z0-9_.-]+)`)

// fetchTickets reads QR tickets off printable manifests, for scans.
func (b *bencher) fetchTickets(ctx context.Context) {
	for i := 0; i < len(b.ids) && len(b.tickets) < 64; i++ {
		req, _ := http.NewRequestWithContext(ctx, "GET", b.base+"/api/v1/manifests/"+b.ids[i]+"/print", nil)
		req.Header.Set("Authorization", "Bearer "+b.drivers[0].token)
		res, err := b.http.Do(req)
		if err != nil {
			return
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			fmt.Fprintf(b.log, "bench: no printable manifests (%d): scans read the manifest instead\n", res.StatusCode)
			return
		}
		if m := ticketPattern.FindSubmatch(body); m != nil {
			b.tickets = append(b.tickets, string(m[1]))
		}
	}
}

const (
	opHandover = iota
	opScan
	opRead
	opCount
)

var opNames = [opCount]string{"handover", "scan", "read"}

type sample struct {
	op  int
	d   time.Duration
	err bool
}

// result is one measured run.
type result struct {
	mix       [3]int
	clients   int
	elapsed   time.Duration
	samples   []sample
	exhausted int64
	firstErr  string
	serverCPU time.Duration // serve's user+system CPU time during the run; 0 if unknown
	benchCPU  time.Duration // this process's (the load generator's)
	lagAfter  int64         // index events not yet applied when the run ended; -1 if unknown
	catchUp   time.Duration // until the index had applied every event of the run
}

func (b *bencher) run(ctx context.Context) error {
	if err := b.setup(ctx); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	type plan struct {
		mix     [3]int
		clients int
	}
	var plans []plan
	for _, n := range b.cfg.Clients {
		plans = append(plans, plan{b.cfg.Mix, n})
	}
	if b.cfg.Mix != [3]int{1, 0, 0} {
		for _, n := range b.cfg.Reference {
			plans = append(plans, plan{[3]int{1, 0, 0}, n})
		}
	}
	// Handovers/s to prepare for: a guess for one client, then half again
	// the fastest rate seen so far, and at least the target,
	// 2,000/s, with a margin (more clients go faster, up to a point; a run
	// that runs out of prepared pickups under-reports). Unused pickups
	// carry over to the next run.
	const target = 2000.0
	maxSeen := 0.0
	var results []result
	for i, p := range plans {
		rate := max(1.5*maxSeen, 1.25*target)
		if i == 0 && p.clients == 1 {
			rate = 1000 // one client waits 1–2 ms a handover: at most ~600/s
		}
		want := int(rate*(b.cfg.Duration+b.cfg.Warmup).Seconds()) + p.clients
		if i == 0 && b.cfg.Prepare > 0 {
			want = b.cfg.Prepare
		}
		if i == 0 && p.mix[0] == 0 {
			want = 64 // manifests to scan and read
		}
		if need := want - (len(b.ready) - min(int(b.next.Load()), len(b.ready))); need > 0 {
			if err := b.prepare(ctx, need); err != nil {
				return fmt.Errorf("prepare: %w", err)
			}
		}
		if i == 0 {
			b.fetchTickets(ctx)
		}
		// Start from a quiet server: the index has applied what preparing wrote.
		b.waitIndex(ctx, 2*time.Minute)
		if b.cfg.Warmup > 0 {
			b.level(ctx, p.mix, p.clients, b.cfg.Warmup)
		}
		var prof *profileFetch
		if b.cfg.CPUProfile != "" {
			prof = b.startProfile(ctx, fmt.Sprintf("%s-%s-%d.pprof", b.cfg.CPUProfile, mixName(p.mix), p.clients), b.cfg.Duration)
		}
		s0, c0 := b.serverCPU(), processCPU()
		r := b.level(ctx, p.mix, p.clients, b.cfg.Duration)
		r.serverCPU, r.benchCPU = b.serverCPU()-s0, processCPU()-c0
		r.lagAfter, r.catchUp = b.indexLag(ctx), 0
		if r.lagAfter > 0 {
			t := time.Now()
			b.waitIndex(ctx, time.Minute)
			r.catchUp = time.Since(t)
		}
		if prof != nil {
			if err := prof.wait(); err != nil {
				fmt.Fprintf(b.log, "bench: cpu profile: %v\n", err)
			}
		}
		results = append(results, r)
		seen := float64(r.count(opHandover)) / r.elapsed.Seconds()
		maxSeen = max(maxSeen, seen)
		fmt.Fprintf(b.log, "bench: mix %s, %d clients done: %.0f handovers/s\n", mixName(p.mix), p.clients, seen)
		if r.firstErr != "" {
			fmt.Fprintf(b.log, "bench: first error: %s\n", r.firstErr)
		}
	}
	b.report(results)
	return nil
}

func mixName(m [3]int) string {
	var parts []string
	for op, w := range m {
		if w > 0 {
			parts = append(parts, opNames[op]+strconv.Itoa(w))
		}
	}
	return strings.Join(parts, "-")
}

// level runs n clients for d with the given mix.
func (b *bencher) level(ctx context.Context, mix [3]int, n int, d time.Duration) result {
	pattern := make([]int, 0, 16)
	for op, w := range mix {
		for j := 0; j < w; j++ {
			pattern = append(pattern, op)
		}
	}
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		all       []sample
		exhausted atomic.Int64
		firstErr  atomic.Value
	)
	stopAt := time.Now().Add(d)
	start := time.Now()
	for c := 0; c < n; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]sample, 0, 4096)
			drv := b.drivers[c%len(b.drivers)]
			conn := newBenchConn(b.base)
			if conn != nil {
				defer conn.close()
			}
			call := func(method, path, token string, body []byte, idemKey string) error {
				if conn != nil {
					_, err := conn.do(method, path, token, body, idemKey)
					return err
				}
				_, err := b.call(ctx, method, path, token, body, nil, idemKey)
				return err
			}
			reads := c
			for i := c; time.Now().Before(stopAt); i++ {
				op := pattern[i%len(pattern)]
				var (
					t0  = time.Now()
					err error
				)
				switch op {
				case opHandover:
					k := b.next.Add(1) - 1
					if k >= int64(len(b.ready)) {
						exhausted.Add(1)
						op = opRead
						err = call("GET", "/api/v1/manifests?waiting=me&limit=20", drv.token, nil, "")
						break
					}
					p := b.ready[k]
					path := "/api/v1/manifests/" + p.id + "/handover"
					if b.cfg.HandoverAPI == "mobile" {
						path = "/mobile/v1/handovers"
					}
					key := ""
					if b.cfg.Idempotency {
						key = "bench-handover-" + p.id
					}
					err = call("POST", path, b.drivers[p.driver].token, p.body, key)
				case opScan:
					if len(b.tickets) > 0 {
						body, _ := json.Marshal(map[string]string{"ticket": b.tickets[i%len(b.tickets)]})
						err = call("POST", "/mobile/v1/scan", drv.token, body, "")
					} else {
						err = call("GET", "/api/v1/manifests/"+b.ids[i%len(b.ids)], drv.token, nil, "")
					}
				case opRead:
					// Half the reads get a manifest, half list what waits for
					// the driver's carrier.
					reads++
					if reads%2 == 0 {
						err = call("GET", "/api/v1/manifests/"+b.ids[(i*7)%len(b.ids)], drv.token, nil, "")
					} else {
						err = call("GET", "/api/v1/manifests?waiting=me&limit=20", drv.token, nil, "")
					}
				}
				local = append(local, sample{op: op, d: time.Since(t0), err: err != nil})
				if err != nil {
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
			mu.Lock()
			all = append(all, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	r := result{mix: mix, clients: n, elapsed: time.Since(start), samples: all, exhausted: exhausted.Load(), lagAfter: -1}
	if v := firstErr.Load(); v != nil {
		r.firstErr = v.(string)
	}
	return r
}

// lagNotReady stands for an index lag beyond what /readyz accepts.
const lagNotReady = 1 << 30

// indexLag asks serve's /readyz how many events its index trails the
// ledger by; -1 if it does not say.
func (b *bencher) indexLag(ctx context.Context) int64 {
	req, err := http.NewRequestWithContext(ctx, "GET", b.base+"/readyz", nil)
	if err != nil {
		return -1
	}
	res, err := b.http.Do(req)
	if err != nil {
		return -1
	}
	defer res.Body.Close()
	var out struct {
		Lag *int64 `json:"index_lag_events"`
	}
	if res.StatusCode == http.StatusServiceUnavailable {
		return lagNotReady
	}
	if json.NewDecoder(res.Body).Decode(&out) != nil || out.Lag == nil {
		return -1
	}
	return *out.Lag
}

// waitIndex waits until serve's index has applied every event, at most max.
func (b *bencher) waitIndex(ctx context.Context, max time.Duration) {
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if lag := b.indexLag(ctx); lag <= 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// serverCPU is the started serve's user+system CPU time so far (Linux
// /proc); 0 when unknown.
func (b *bencher) serverCPU() time.Duration {
	if b.pid == 0 {
		return 0
	}
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(b.pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th, in clock ticks (100 per second).
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond
}

// benchCPU is this process's user+system CPU time so far.
// profileFetch is a CPU profile being taken of serve.
type profileFetch struct{ done chan error }

func (p *profileFetch) wait() error { return <-p.done }

// startProfile asks serve's pprof server for a CPU profile of the next d
// and writes it to path.
func (b *bencher) startProfile(ctx context.Context, path string, d time.Duration) *profileFetch {
	p := &profileFetch{done: make(chan error, 1)}
	go func() {
		p.done <- func() error {
			secs := max(int(d.Round(time.Second)/time.Second), 1)
			req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", b.debugURL, secs), nil)
			if err != nil {
				return err
			}
			res, err := b.http.Do(req)
			if err != nil {
				return err
			}
			defer res.Body.Close()
			if res.StatusCode != 200 {
				return fmt.Errorf("%s: %s", req.URL, res.Status)
			}
			f, err := os.Create(path)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, res.Body); err != nil {
				f.Close()
				return err
			}
			fmt.Fprintf(b.log, "bench: wrote %s\n", path)
			return f.Close()
		}()
	}()
	return p
}

func (r result) count(op int) int {
	n := 0
	for _, s := range r.samples {
		if s.op == op && !s.err {
			n++
		}
	}
	return n
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	i := int(float64(len(ds)-1) * p)
	return ds[i]
}

func (b *bencher) report(results []result) {
	idem := ""
	if b.cfg.Idempotency {
		idem = " with Idempotency-Key"
	}
	fmt.Fprintf(b.out, "\nwasteledger bench http: %s, %v per run, handovers via %s%s\n", b.base, b.cfg.Duration, b.cfg.HandoverAPI, idem)
	var notes []string
	var tw *tabwriter.Writer
	for k, r := range results {
		if k == 0 || r.mix != results[k-1].mix {
			if tw != nil {
				tw.Flush()
				fmt.Fprintln(b.out)
			}
			what := "mix"
			if r.mix == [3]int{1, 0, 0} && b.cfg.Mix != r.mix {
				what = "reference, handovers only:"
			}
			fmt.Fprintf(b.out, "%s handover:scan:read = %d:%d:%d\n", what, r.mix[0], r.mix[1], r.mix[2])
			tw = tabwriter.NewWriter(b.out, 0, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "clients\treq/s\thandovers/s\terrors\tp50 all\tp99 all\tp50 hand\tp99 hand\tp50 scan\tp99 scan\tp50 read\tp99 read\tCPU µs/hand\tCPU µs/req\tserve cores\tbench cores\t")
		}
		var all []time.Duration
		per := make([][]time.Duration, opCount)
		errs := 0
		for _, s := range r.samples {
			if s.err {
				errs++
				continue
			}
			all = append(all, s.d)
			per[s.op] = append(per[s.op], s.d)
		}
		secs := r.elapsed.Seconds()
		ms := func(d time.Duration) string {
			if d == 0 {
				return "-"
			}
			return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64)
		}
		cpu := func(total time.Duration, n int) string {
			if total == 0 || n == 0 {
				return "-"
			}
			return strconv.FormatFloat(float64(total)/1e3/float64(n), 'f', 0, 64)
		}
		cores := func(d time.Duration) string {
			if d == 0 {
				return "-"
			}
			return strconv.FormatFloat(d.Seconds()/secs, 'f', 2, 64)
		}
		fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.clients, float64(len(all))/secs, float64(len(per[opHandover]))/secs, errs,
			ms(percentile(all, .5)), ms(percentile(all, .99)),
			ms(percentile(per[opHandover], .5)), ms(percentile(per[opHandover], .99)),
			ms(percentile(per[opScan], .5)), ms(percentile(per[opScan], .99)),
			ms(percentile(per[opRead], .5)), ms(percentile(per[opRead], .99)),
			cpu(r.serverCPU, len(per[opHandover])), cpu(r.serverCPU, len(all)), cores(r.serverCPU), cores(r.benchCPU))
		if r.exhausted > 0 {
			notes = append(notes, fmt.Sprintf("%s, %d clients: %d handovers found no prepared manifest and read instead", mixName(r.mix), r.clients, r.exhausted))
		}
		switch {
		case r.lagAfter >= lagNotReady:
			notes = append(notes, fmt.Sprintf("%s, %d clients: the index was too far behind for /readyz when the run ended; it caught up %v later", mixName(r.mix), r.clients, r.catchUp.Round(time.Millisecond)))
		case r.lagAfter > 0:
			notes = append(notes, fmt.Sprintf("%s, %d clients: the index was %d events behind when the run ended; it caught up %v later", mixName(r.mix), r.clients, r.lagAfter, r.catchUp.Round(time.Millisecond)))
		}
		if r.firstErr != "" {
			notes = append(notes, fmt.Sprintf("%s, %d clients: first error: %s", mixName(r.mix), r.clients, r.firstErr))
		}
	}
	if tw != nil {
		tw.Flush()
	}
	fmt.Fprintln(b.out, "\nhandovers/s counts committed signed handovers (two P-256 signatures each, verified by the contract); requests/s counts every 2xx answer.")
	fmt.Fprintln(b.out, "Latencies in ms. CPU µs/hand and µs/req: serve's CPU time (user+system) over the run divided by the handovers, by all requests;")
	fmt.Fprintln(b.out, "cores: CPU seconds per second of serve and of this load generator, which share the machine.")
	for _, n := range notes {
		fmt.Fprintln(b.out, "  "+n)
	}
}
