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
	fs.DurationVar(&c.BlockWait, "block-wait", 10*time.Millisecond, "the started serve's --block-wait")
	if err := fs.Parse(args); err != nil {
		return err
	}
	for _, s := range strings.Split(*clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("--clients: %q is not a positive number", s)
		}
		c.Clients = append(c.Clients, n)
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
	}
	return b.run(ctx)
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
	cmd := exec.CommandContext(ctx, exe, "serve", "--data", data, "--addr", addr, "--rate", "1000000",
		"--log-level", b.cfg.ServerLog, "--block-wait", b.cfg.BlockWait.String())
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
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

// call sends a JSON request and decodes a 2xx answer into out.
func (b *bencher) call(ctx context.Context, method, path, token string, body []byte, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, b.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
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
	if res.StatusCode >= 300 {
		return res.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, bytes.TrimSpace(rb))
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
	b.ready, b.next = made, atomic.Int64{}
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

type result struct {
	clients   int
	elapsed   time.Duration
	samples   []sample
	exhausted int64
	firstErr  string
}

func (b *bencher) run(ctx context.Context) error {
	if err := b.setup(ctx); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	// Handovers/s to prepare for: a guess for the first run, then twice the
	// rate the previous run reached (more clients go faster, up to a point).
	rate := 150.0
	if b.cfg.Clients[0] > 1 {
		rate = 1500
	}
	var results []result
	for i, n := range b.cfg.Clients {
		want := int(rate*(b.cfg.Duration+b.cfg.Warmup).Seconds()) + n
		if i == 0 && b.cfg.Prepare > 0 {
			want = b.cfg.Prepare
		}
		if b.cfg.Mix[0] == 0 {
			want = 64
		}
		if err := b.prepare(ctx, want); err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		if i == 0 {
			b.fetchTickets(ctx)
		}
		if b.cfg.Warmup > 0 {
			b.level(ctx, n, b.cfg.Warmup)
		}
		r := b.level(ctx, n, b.cfg.Duration)
		results = append(results, r)
		h := r.count(opHandover)
		seen := float64(h) / r.elapsed.Seconds()
		rate = max(2*seen, 1000)
		fmt.Fprintf(b.log, "bench: %d clients done: %.0f handovers/s\n", n, seen)
		if r.firstErr != "" {
			fmt.Fprintf(b.log, "bench: first error: %s\n", r.firstErr)
		}
	}
	b.report(results)
	return nil
}

// level runs n clients for d.
func (b *bencher) level(ctx context.Context, n int, d time.Duration) result {
	pattern := make([]int, 0, 16)
	for op, w := range b.cfg.Mix {
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
						_, err = b.call(ctx, "GET", "/api/v1/manifests?waiting=me&limit=20", drv.token, nil, nil)
						break
					}
					p := b.ready[k]
					path := "/api/v1/manifests/" + p.id + "/handover"
					if b.cfg.HandoverAPI == "mobile" {
						path = "/mobile/v1/handovers"
					}
					_, err = b.call(ctx, "POST", path, b.drivers[p.driver].token, p.body, nil)
				case opScan:
					if len(b.tickets) > 0 {
						body, _ := json.Marshal(map[string]string{"ticket": b.tickets[i%len(b.tickets)]})
						_, err = b.call(ctx, "POST", "/mobile/v1/scan", drv.token, body, nil)
					} else {
						_, err = b.call(ctx, "GET", "/api/v1/manifests/"+b.ids[i%len(b.ids)], drv.token, nil, nil)
					}
				case opRead:
					if i%2 == 0 {
						_, err = b.call(ctx, "GET", "/api/v1/manifests/"+b.ids[(i*7)%len(b.ids)], drv.token, nil, nil)
					} else {
						_, err = b.call(ctx, "GET", "/api/v1/manifests?waiting=me&limit=20", drv.token, nil, nil)
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
	r := result{clients: n, elapsed: time.Since(start), samples: all, exhausted: exhausted.Load()}
	if v := firstErr.Load(); v != nil {
		r.firstErr = v.(string)
	}
	return r
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
	fmt.Fprintf(b.out, "\nwasteledger bench http: %s, mix handover:scan:read = %d:%d:%d, %v per run, handovers via %s\n",
		b.base, b.cfg.Mix[0], b.cfg.Mix[1], b.cfg.Mix[2], b.cfg.Duration, b.cfg.HandoverAPI)
	tw := tabwriter.NewWriter(b.out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "clients\trequests/s\thandovers/s\terrors\tp50 all\tp99 all\tp50 handover\tp99 handover\tp50 scan\tp99 scan\tp50 read\tp99 read\t")
	for _, r := range results {
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
		ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + " ms" }
		fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.clients, float64(len(all))/secs, float64(len(per[opHandover]))/secs, errs,
			ms(percentile(all, .5)), ms(percentile(all, .99)),
			ms(percentile(per[opHandover], .5)), ms(percentile(per[opHandover], .99)),
			ms(percentile(per[opScan], .5)), ms(percentile(per[opScan], .99)),
			ms(percentile(per[opRead], .5)), ms(percentile(per[opRead], .99)))
		if r.exhausted > 0 {
			defer fmt.Fprintf(b.out, "  (%d clients: %d handovers found no prepared manifest and read instead)\n", r.clients, r.exhausted)
		}
	}
	tw.Flush()
	fmt.Fprintln(b.out, "handovers/s counts committed signed handovers (two P-256 signatures each, verified by the contract); requests/s counts every 2xx answer.")
}
