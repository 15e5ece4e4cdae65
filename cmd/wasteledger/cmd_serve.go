package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"wasteledger/chaincode/embedded"
	"wasteledger/gateway"
	"wasteledger/gateway/auth"
	"wasteledger/gateway/index"
	"wasteledger/gateway/ledger"
	"wasteledger/gateway/ledger/fabricgw"
	"wasteledger/gateway/store"
)

func init() {
	register("serve", "run the service: REST API, driver API and console on the embedded ledger (or Fabric)", func(ctx context.Context, e *env, args []string) error {
		return runServe(ctx, e, "serve", args, false)
	})
	register("demo", "serve with a seeded Guangdong scenario (users, keys, manifests in every state)", func(ctx context.Context, e *env, args []string) error {
		return runServe(ctx, e, "demo", args, true)
	})
}

// serveConfig is the configuration of serve and demo, from flags with
// WASTELEDGER_* environment overrides.
type serveConfig struct {
	Addr          string
	PublicURL     string // base URL printed on QR tickets and links; default http://ADDR
	Data          string
	Ledger        string // embedded | fabric
	FabricProfile string
	Issuer        string
	Audience      string
	Rate          float64
	Burst         int
	LogFormat     string // text | json
	LogLevel      string // debug | info | warn | error
	BlockWait     time.Duration
	StateCacheMiB int64
	IndexLinger   time.Duration
	Demo          bool
	DebugAddr     string // net/http/pprof, off by default
	Holidays      string // holiday calendar file for the reconciler's working days
	Dismantlers   string // file of dismantling enterprises' credit codes
}

func serveFlags(e *env, name string, demo bool) (*flag.FlagSet, *serveConfig) {
	c := &serveConfig{Demo: demo}
	fs := e.flags(name, "")
	fs.StringVar(&c.Addr, "addr", envDefault("addr", "127.0.0.1:8080"), "listen address (WASTELEDGER_ADDR)")
	fs.StringVar(&c.PublicURL, "public-url", envDefault("public-url", ""), "public base URL for QR tickets and printed links; default http://ADDR (WASTELEDGER_PUBLIC_URL)")
	fs.StringVar(&c.Data, "data", envDefault("data", "./data"), "data directory: ledger, gateway database, keys (WASTELEDGER_DATA)")
	fs.StringVar(&c.Ledger, "ledger", envDefault("ledger", "embedded"), "ledger: embedded or fabric (WASTELEDGER_LEDGER)")
	fs.StringVar(&c.FabricProfile, "fabric-profile", envDefault("fabric-profile", "network/.run/connection.json"), "Fabric connection profile, with --ledger fabric (WASTELEDGER_FABRIC_PROFILE)")
	fs.StringVar(&c.Issuer, "issuer", envDefault("issuer", "wasteledger"), "access token issuer, iss (WASTELEDGER_ISSUER)")
	fs.StringVar(&c.Audience, "audience", envDefault("audience", "wasteledger-api"), "access token audience, aud (WASTELEDGER_AUDIENCE)")
	rate, _ := strconv.ParseFloat(envDefault("rate", "20"), 64)
	fs.Float64Var(&c.Rate, "rate", rate, "requests per second allowed per client; negative disables (WASTELEDGER_RATE)")
	burst, _ := strconv.Atoi(envDefault("burst", "0"))
	fs.IntVar(&c.Burst, "burst", burst, "rate limit bucket size; 0 means twice the rate (WASTELEDGER_BURST)")
	fs.StringVar(&c.LogFormat, "log-format", envDefault("log-format", "text"), "log format: text or json (WASTELEDGER_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", envDefault("log-level", "info"), "log level: debug, info (one line per request), warn, error (WASTELEDGER_LOG_LEVEL)")
	wait, _ := time.ParseDuration(envDefault("block-wait", embedded.DefaultBlockMaxWait.String()))
	fs.DurationVar(&c.BlockWait, "block-wait", wait, "embedded ledger: how long a block waits for more transactions (WASTELEDGER_BLOCK_WAIT)")
	cache, _ := strconv.ParseInt(envDefault("state-cache", strconv.Itoa(embedded.DefaultCacheBytes>>20)), 10, 64)
	fs.Int64Var(&c.StateCacheMiB, "state-cache", cache, "embedded ledger: world-state read cache, MiB; 0 or negative disables it (WASTELEDGER_STATE_CACHE)")
	linger, _ := time.ParseDuration(envDefault("index-linger", index.DefaultLinger.String()))
	fs.DurationVar(&c.IndexLinger, "index-linger", linger, "under load, how long the index lets ledger events gather before applying them in one transaction; an event that finds it idle is applied at once (WASTELEDGER_INDEX_LINGER)")
	fs.StringVar(&c.Holidays, "holidays", envDefault("holidays", ""), "holiday calendar file (date,holiday|workday,name) added to the built-in one, for the reconciler's working-day deadlines (WASTELEDGER_HOLIDAYS)")
	fs.StringVar(&c.Dismantlers, "dismantlers", envDefault("dismantlers", ""), "file of dismantling enterprises' credit codes, one a line (default: organisations named …拆解…) (WASTELEDGER_DISMANTLERS)")
	fs.StringVar(&c.DebugAddr, "debug-addr", envDefault("debug-addr", ""), "serve Go's pprof profiles on this address, e.g. 127.0.0.1:6060 (WASTELEDGER_DEBUG_ADDR)")
	if !demo {
		fs.BoolVar(&c.Demo, "demo", envDefault("demo", "") != "", "seed the demo scenario, as the demo command does (WASTELEDGER_DEMO)")
	}
	return fs, c
}

func runServe(ctx context.Context, e *env, name string, args []string, demo bool) error {
	serverGC()
	fs, c := serveFlags(e, name, demo)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	log, err := buildLogger(e.stderr, c.LogFormat, c.LogLevel)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	base := "http://" + ln.Addr().String()
	if c.PublicURL == "" {
		c.PublicURL = base
	}
	a, err := openApp(ctx, c, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer a.Close()
	if c.Demo {
		info, fresh, err := a.srv.SeedDemo(ctx, filepath.Join(c.Data, "demo"))
		if err != nil {
			ln.Close()
			return err
		}
		printDemo(e.stdout, base, c.Data, info, fresh)
	} else {
		cred, err := a.srv.Bootstrap(ctx, gateway.Bootstrap{})
		if err != nil {
			ln.Close()
			return err
		}
		if cred != nil {
			path := filepath.Join(c.Data, "bootstrap-credentials.txt")
			text := fmt.Sprintf("username: %s\npassword: %s\nrole: %s\norganisation: %s %s\n", cred.Username, cred.Password, cred.Role, cred.OrgName, cred.Org)
			if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
				ln.Close()
				return err
			}
			fmt.Fprintf(e.stdout, "First start: the regulator %s (%s) is registered.\nIts administrator signs in as %q with password %q (also in %s).\n\n",
				cred.OrgName, cred.Org, cred.Username, cred.Password, path)
		}
	}
	srv := &http.Server{
		Handler:           a.srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if c.DebugAddr != "" {
		dbg := &http.Server{Addr: c.DebugAddr, Handler: http.DefaultServeMux, ReadHeaderTimeout: 10 * time.Second}
		go func() { log.Info("pprof", "addr", c.DebugAddr, "err", dbg.ListenAndServe()) }()
		defer dbg.Close()
	}
	fmt.Fprintf(e.stdout, "wasteledger serving %s  (ledger: %s, data: %s; OpenAPI: %s/api/v1/openapi.json)\n", base, c.Ledger, c.Data, base)
	log.Info("serving", "addr", ln.Addr().String(), "ledger", c.Ledger, "data", c.Data)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	return nil
}

func buildLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	if os.Getenv("WASTELEDGER_DEBUG") != "" {
		lv = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, not %q", format)
}

// app is an opened service: ledger, store, keyring and server.
type app struct {
	ledger ledger.Ledger
	store  *store.Store
	srv    *gateway.Server
	closes []func() error
}

func (a *app) Close() error {
	var errs []error
	for i := len(a.closes) - 1; i >= 0; i-- {
		errs = append(errs, a.closes[i]())
	}
	return errors.Join(errs...)
}

// openApp opens everything serve needs from the data directory.
func openApp(ctx context.Context, c *serveConfig, log *slog.Logger) (_ *app, err error) {
	a := &app{}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if err := os.MkdirAll(c.Data, 0o750); err != nil {
		return nil, err
	}
	switch c.Ledger {
	case "embedded":
		l, err := ledger.OpenLocal(ctx, ledger.LocalConfig{Path: ledgerPath(c.Data), BlockMaxWait: c.BlockWait, CacheBytes: offIfZero(c.StateCacheMiB << 20), Logger: log})
		if err != nil {
			return nil, err
		}
		a.ledger = l
	case "fabric":
		if _, err := os.Stat(c.FabricProfile); err != nil {
			return nil, fmt.Errorf("--ledger fabric: connection profile %s: %w (start the network with `make network-up`)", c.FabricProfile, err)
		}
		l, err := fabricgw.Open(c.FabricProfile, fabricgw.WithLogger(log))
		if err != nil {
			return nil, fmt.Errorf("--ledger fabric: %w", err)
		}
		a.ledger = l
	default:
		return nil, fmt.Errorf("--ledger must be embedded or fabric, not %q", c.Ledger)
	}
	a.closes = append(a.closes, a.ledger.Close)
	if a.store, err = store.Open(ctx, store.Config{Path: filepath.Join(c.Data, "gateway.db")}); err != nil {
		return nil, err
	}
	a.closes = append(a.closes, a.store.Close)
	keys, err := auth.OpenKeyring(filepath.Join(c.Data, "jwt-keys.json"), 0)
	if err != nil {
		return nil, err
	}
	deps := gateway.Deps{Ledger: a.ledger, Store: a.store, Keyring: keys}
	extra, err := wireOthers(ctx, c, log, &deps, a)
	if err != nil {
		return nil, err
	}
	a.srv, err = gateway.New(gateway.Config{Issuer: c.Issuer, Audience: c.Audience, RateLimit: c.Rate, RateBurst: c.Burst, Logger: log}, deps)
	if err != nil {
		return nil, err
	}
	a.closes = append(a.closes, a.srv.Close)
	routes, err := extra(a.srv)
	if err != nil {
		return nil, err
	}
	a.srv.AddRoutes(routes...)
	return a, nil
}

func printDemo(w io.Writer, base, data string, d *gateway.DemoInfo, fresh bool) {
	demoDir := filepath.Join(data, "demo")
	if fresh {
		fmt.Fprintf(w, "Seeded the demo: %d users, %d manifests in every state of four waste streams.\n\n", len(d.Users), len(d.Manifests))
		fmt.Fprintln(w, d.CredentialsText())
		fmt.Fprintf(w, "These passwords are shown once; they are also in %s (device keys in %s).\n\n", filepath.Join(demoDir, "credentials.txt"), filepath.Join(demoDir, "keys"))
	} else {
		fmt.Fprintf(w, "The demo was seeded on %s; sign-ins are in %s, device keys in %s.\n\n", d.Seeded.Format(time.RFC3339), filepath.Join(demoDir, "credentials.txt"), filepath.Join(demoDir, "keys"))
	}
	sample := ""
	if m, ok := d.Find("industrial", "signed"); ok {
		sample = m.ID
	}
	clerk, _ := d.User("factory-clerk")
	driver, _ := d.User("hauler-driver")
	fmt.Fprintf(w, "Where to look:\n")
	fmt.Fprintf(w, "  API              %s/api/v1   (reference: %s/api/v1/openapi.json)\n", base, base)
	fmt.Fprintf(w, "  driver app       %s/m/\n", base)
	if sample != "" {
		fmt.Fprintf(w, "  printable form   %s/api/v1/manifests/%s/print\n", base, sample)
	}
	fmt.Fprintf(w, "  metrics          %s/metrics   health %s/readyz   JWKS %s/.well-known/jwks.json\n\n", base, base, base)
	fmt.Fprintf(w, "Try it (the README has the whole tour):\n")
	fmt.Fprintf(w, "  TOKEN=$(curl -s %s/api/v1/auth/token -H 'Content-Type: application/json' -d '{\"username\":\"%s\",\"password\":\"%s\"}' | jq -r .access_token)\n", base, clerk.Username, clerk.Password)
	fmt.Fprintf(w, "  curl -s -H \"Authorization: Bearer $TOKEN\" '%s/api/v1/manifests?waiting=me' | jq '.items[] | {id, status, next_step}'\n", base)
	if sample != "" {
		fmt.Fprintf(w, "  curl -s -H \"Authorization: Bearer $TOKEN\" '%s/api/v1/manifests/%s/statements/pickup?from_key=%s&to_key=%s' > tpl.json\n", base, sample, clerk.KeyID, driver.KeyID)
		fmt.Fprintf(w, "  go run ./cmd/wasteledger sign --key %s --key %s tpl.json > signed.json\n", filepath.Join(demoDir, clerk.KeyFile), filepath.Join(demoDir, driver.KeyFile))
		fmt.Fprintf(w, "  curl -s -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -H \"Idempotency-Key: $(uuidgen)\" %s/api/v1/manifests/%s/handover -d @signed.json | jq '{tx_id, block, status: .manifest.status}'\n", base, sample)
		fmt.Fprintf(w, "  curl -s -H \"Authorization: Bearer $TOKEN\" %s/api/v1/manifests/%s/history | jq '.items[] | {step, block, signers: [.signatures[]?.org]}'\n", base, sample)
	}
	fmt.Fprintln(w)
}

// offIfZero turns a flag's 0 ("off", as for --state-cache and
// --index-linger) into the -1 the packages' configurations read as off,
// where 0 means their default.
func offIfZero[T ~int64](v T) T {
	if v == 0 {
		return -1
	}
	return v
}
