// Package gateway is the off-chain service producers, drivers, plants and
// regulators use: the REST API under /api/v1 (JSON in and out, RFC 9457
// problems), its authentication (ES256 access tokens, refresh tokens, API
// keys), rate limiting, idempotent writes, metrics and the OpenAPI
// document. It talks to the ledger only through ledger.Ledger, so the
// embedded ledger and a Fabric network are interchangeable.
//
// routes.go is the one file that knows the router; handlers read path
// values with r.PathValue.
package gateway

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"wasteledger/chaincode"
	"wasteledger/gateway/auth"
	"wasteledger/gateway/httpx"
	"wasteledger/gateway/index"
	"wasteledger/gateway/ledger"
	"wasteledger/gateway/problem"
	"wasteledger/gateway/store"
	"wasteledger/manifest"
)

// Lister answers list queries over manifests; gateway/index implements it.
type Lister interface {
	List(ctx context.Context, f index.Filter) (index.Page, error)
}

// Config holds the service's settings. The zero value runs on a laptop.
type Config struct {
	Issuer   string // access token iss (default "wasteledger")
	Audience string // access token aud (default "wasteledger-api")

	// RateLimit is the sustained requests per second allowed per client
	// (an actor, or an IP address before sign-in); RateBurst the bucket
	// size. 0 means the defaults (20/s, burst 40); negative disables.
	RateLimit float64
	RateBurst int

	CodeTTL      time.Duration // sign-by-code code lifetime (default 10 min)
	CodeAttempts int           // wrong guesses that burn a code (default 5)
	RefreshTTL   time.Duration // refresh token lifetime (default 30 days)

	// ReadyMaxLag is how many events the index may trail the ledger by
	// while /readyz still answers ready (default 1000).
	ReadyMaxLag uint64

	Logger *slog.Logger
	Now    func() time.Time // tests
}

func (c Config) withDefaults() Config {
	if c.RateLimit == 0 {
		c.RateLimit = 20
	}
	if c.RateBurst <= 0 {
		c.RateBurst = max(int(2*c.RateLimit), 1)
	}
	if c.CodeTTL <= 0 {
		c.CodeTTL = 10 * time.Minute
	}
	if c.CodeAttempts <= 0 {
		c.CodeAttempts = 5
	}
	if c.RefreshTTL <= 0 {
		c.RefreshTTL = 30 * 24 * time.Hour
	}
	if c.ReadyMaxLag == 0 {
		c.ReadyMaxLag = 1000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Deps are what the server is built on.
type Deps struct {
	Ledger  ledger.Ledger
	Store   *store.Store
	Keyring *auth.Keyring
	// Index answers manifest lists (gateway/index, following the ledger).
	Index Lister
}

// Server is the gateway. Build it with New, add the other packages' routes
// with AddRoutes, then serve Handler.
type Server struct {
	cfg     Config
	log     *slog.Logger
	ledger  ledger.Ledger
	store   *store.Store
	keys    *auth.Keyring
	tokens  *auth.Tokens
	index   Lister
	metrics *metrics
	limiter *limiter
	codes   *limiter // sign-by-code guesses per actor
	logins  *limiter // sign-ins per username
	apiKeys apiKeyCache
	idem    inflight
	orgs    sync.Map // id → manifest.Org (organisations are never changed)

	mu      sync.Mutex
	extra   []httpx.Route
	handler http.Handler

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// New builds the server and starts its background work (purging old
// idempotency records).
func New(cfg Config, d Deps) (*Server, error) {
	if d.Ledger == nil || d.Store == nil || d.Keyring == nil || d.Index == nil {
		return nil, errors.New("gateway: Ledger, Store, Keyring and Index are required")
	}
	cfg = cfg.withDefaults()
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{
		cfg:     cfg,
		log:     cfg.Logger,
		ledger:  d.Ledger,
		store:   d.Store,
		keys:    d.Keyring,
		tokens:  auth.NewTokens(d.Keyring, auth.TokensConfig{Issuer: cfg.Issuer, Audience: cfg.Audience, Now: cfg.Now}),
		index:   d.Index,
		metrics: newMetrics(),
		limiter: newLimiter(cfg.RateLimit, cfg.RateBurst, cfg.Now),
		codes:   newLimiter(10.0/60, 10, cfg.Now),
		logins:  newLimiter(10.0/60, 10, cfg.Now),
		stop:    stop,
	}
	s.apiKeys.init()
	s.idem.init()
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.purge(ctx) }()
	return s, nil
}

// Close stops the background work. It does not close the ledger or store.
func (s *Server) Close() error {
	s.stop()
	s.wg.Wait()
	return nil
}

// Tokens is the access token issuer and verifier.
func (s *Server) Tokens() *auth.Tokens { return s.tokens }

// Ledger is the ledger the server submits to.
func (s *Server) Ledger() ledger.Ledger { return s.ledger }

// Store is the gateway's database.
func (s *Server) Store() *store.Store { return s.store }

// AddRoutes adds routes exported by other packages (the driver API, QR
// tickets, printing, the regulator's views). Call it before Handler.
func (s *Server) AddRoutes(rs ...[]httpx.Route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rs {
		s.extra = append(s.extra, r...)
	}
	s.handler = nil
}

// Routes lists every route the handler serves: the gateway's own and the
// added ones.
func (s *Server) Routes() []httpx.Route {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append(s.routes(), s.extra...)
}

// Handler is the HTTP handler of every route.
func (s *Server) Handler() http.Handler {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.handler == nil {
		s.handler = s.router(append(s.routes(), s.extra...))
	}
	return s.handler
}

// purge deletes idempotency records older than a day, hourly.
func (s *Server) purge(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if _, err := s.store.PurgeIdempotent(ctx, s.cfg.Now().Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
			s.log.Warn("purge idempotency records", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// --- helpers every handler uses --------------------------------------------

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	p := problem.From(err)
	if p.Status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "http.route", routeOf(r), "http.status", p.Status, "err", err)
	}
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="wasteledger"`)
	}
	problem.Write(w, r, p)
}

func actorOf(r *http.Request) auth.Actor {
	a, _ := auth.FromContext(r.Context())
	return a
}

// caller is the ledger identity a request submits as: the actor's
// organisation's member, naming the actor.
func caller(a auth.Actor) chaincode.Caller { return chaincode.Caller{MSP: a.MSP, ID: a.Subject} }

// gatewayCaller is the identity of the gateway's own look-ups.
var gatewayCaller = chaincode.Caller{MSP: "RegulatorMSP", ID: "gateway"}

func forbidden(format string, args ...any) error {
	return manifest.Errorf(manifest.Forbidden, format, args...)
}

func invalid(field, format string, args ...any) error {
	return manifest.FieldError(manifest.Invalid, field, format, args...)
}

// org returns a registered organisation, cached: organisations never change
// once registered.
func (s *Server) org(ctx context.Context, id string) (manifest.Org, error) {
	if v, ok := s.orgs.Load(id); ok {
		return v.(manifest.Org), nil
	}
	if manifest.ValidUSCC(id) != nil {
		return manifest.Org{}, manifest.Errorf(manifest.NotFound, "organisation %s not found", id)
	}
	b, err := s.ledger.Evaluate(ctx, gatewayCaller, "GetOrg", []byte(id))
	if err != nil {
		return manifest.Org{}, err
	}
	var o manifest.Org
	if err := manifest.Decode(b, &o); err != nil {
		return manifest.Org{}, manifest.Errorf(manifest.Internal, "decode organisation %s: %w", id, err)
	}
	s.orgs.Store(id, o)
	return o, nil
}

// isRegulator reports whether the actor acts for a regulator: a regulator
// user, or the administrator of a regulator organisation.
func (s *Server) isRegulator(ctx context.Context, a auth.Actor) bool {
	if a.Role == auth.Regulator {
		return true
	}
	if a.Role != auth.Admin {
		return false
	}
	o, err := s.org(ctx, a.Org)
	return err == nil && o.Has(manifest.Regulator)
}

// canAdminister reports whether the actor administers organisation org: its
// own administrator, or a regulator's.
func (s *Server) canAdminister(ctx context.Context, a auth.Actor, org string) bool {
	if a.Role == auth.Admin && a.Org == org {
		return true
	}
	return a.Role == auth.Admin && s.isRegulator(ctx, a)
}

// submit submits a transaction, retrying MVCC read conflicts (nothing was
// recorded then; a signed step names the version it applies to, so it can
// never apply twice), and records the latency.
func (s *Server) submit(ctx context.Context, c chaincode.Caller, fn string, args ...[]byte) (ledger.Commit, error) {
	var (
		res ledger.Commit
		err error
	)
	for attempt := 0; ; attempt++ {
		start := time.Now()
		res, err = s.ledger.Submit(ctx, c, fn, args...)
		s.metrics.observeSubmit(fn, err, time.Since(start))
		if err == nil || attempt >= maxConflictRetries || !isReadConflict(err) || ctx.Err() != nil {
			return res, err
		}
		// Jittered backoff: concurrent writers of one key (a city's manifest
		// serial, a plant's capacity) meet again in the next block otherwise.
		time.Sleep(time.Duration(1+rand.IntN(5*(attempt+1))) * time.Millisecond)
	}
}

// maxConflictRetries bounds the resubmissions of a transaction whose reads
// went stale.
const maxConflictRetries = 25

func isReadConflict(err error) bool {
	var e *manifest.Error
	return errors.As(err, &e) && e.Code == manifest.Conflict &&
		(strings.Contains(e.Msg, "MVCC") || strings.Contains(e.Msg, "PHANTOM_READ_CONFLICT"))
}
