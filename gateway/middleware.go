package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"wasteledger/gateway/auth"
	"wasteledger/gateway/problem"
	"wasteledger/gateway/store"
	"wasteledger/manifest"
)

// reqInfo is what the outer middleware learns from the inner ones: the
// route and, once authenticated, the actor. It travels in the context as a
// pointer so that the access log sees what later stages found.
type reqInfo struct {
	route string
	id    string
	actor auth.Actor
}

type infoKey struct{}

func infoOf(ctx context.Context) *reqInfo {
	i, _ := ctx.Value(infoKey{}).(*reqInfo)
	return i
}

func routeOf(r *http.Request) string {
	if i := infoOf(r.Context()); i != nil {
		return i.route
	}
	return r.URL.Path
}

// statusWriter remembers the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe is the outermost stage of every route: request id, panic
// recovery, the access log line and the request metrics.
func (s *Server) observe(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		info := &reqInfo{route: route, id: id}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic", "request_id", id, "http.route", route, "err", fmt.Sprint(v), "stack", string(debug.Stack()))
				if sw.status == 0 {
					problem.Write(sw, r, problem.New(string(manifest.Internal), "internal error", ""))
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			d := time.Since(start)
			s.metrics.observeHTTP(route, r.Method, status, d)
			if s.log.Enabled(r.Context(), slog.LevelInfo) {
				attrs := []slog.Attr{
					slog.String("request_id", id),
					slog.String("http.method", r.Method),
					slog.String("http.route", route),
					slog.Int("http.status", status),
					slog.Duration("duration", d),
					slog.Int("bytes", sw.bytes),
				}
				if info.actor.Org != "" {
					attrs = append(attrs, slog.String("actor_org", info.actor.Org), slog.String("actor_role", string(info.actor.Role)))
				}
				s.log.LogAttrs(r.Context(), slog.LevelInfo, "http request", attrs...)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// credentials returns the bearer token or API key a request carries.
func credentials(r *http.Request) string {
	if k := r.Header.Get("X-API-Key"); k != "" {
		return k
	}
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// authenticate turns a credential into the actor: an API key (wlk_…) or an
// access token.
func (s *Server) authenticate(ctx context.Context, cred string) (auth.Actor, error) {
	if strings.HasPrefix(cred, auth.APIKeyPrefix) {
		return s.apiKeyActor(ctx, cred)
	}
	return s.tokens.Verify(cred)
}

// authn authenticates the request. A public route lets anonymous requests
// through (and ignores unusable credentials); any other answers 401.
func (s *Server) authn(public bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cred := credentials(r)
		if cred == "" {
			if public {
				next.ServeHTTP(w, r)
				return
			}
			s.fail(w, r, manifest.Errorf(manifest.Unauthenticated, "sign in first: send Authorization: Bearer <access token> (POST /api/v1/auth/token) or an API key"))
			return
		}
		a, err := s.authenticate(r.Context(), cred)
		if err != nil {
			if public {
				next.ServeHTTP(w, r)
				return
			}
			s.fail(w, r, err)
			return
		}
		if i := infoOf(r.Context()); i != nil {
			i.actor = a
		}
		next.ServeHTTP(w, r.WithContext(auth.WithActor(r.Context(), a)))
	})
}

// limit applies the per-client token bucket: per actor once signed in, per
// IP address before.
func (s *Server) limit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := "ip:" + clientIP(r)
		if a, ok := auth.FromContext(r.Context()); ok {
			key = "actor:" + a.Subject
		}
		if ok, wait := s.limiter.allow(key); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
			s.fail(w, r, &codedError{problem.RateLimited, fmt.Sprintf("too many requests from this client; retry in %.1f s", wait.Seconds())})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// codedError is an HTTP-layer error with a problem code.
type codedError struct {
	code   string
	detail string
}

func (e *codedError) Error() string       { return e.detail }
func (e *codedError) ProblemCode() string { return e.code }

// roles refuses actors whose role the route does not allow.
func (s *Server) roles(allowed []auth.Role, next http.Handler) http.Handler {
	if len(allowed) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := auth.FromContext(r.Context())
		if !ok {
			s.fail(w, r, manifest.Errorf(manifest.Unauthenticated, "sign in first"))
			return
		}
		if !slices.Contains(allowed, a.Role) {
			names := make([]string, len(allowed))
			for i, r := range allowed {
				names[i] = string(r)
			}
			s.fail(w, r, forbidden("role %s may not do this (allowed: %s)", a.Role, strings.Join(names, ", ")))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// --- idempotency ----------------------------------------------------------------

// maxIdempotentBody bounds what the idempotency stage reads to hash; each
// handler applies its own, usually smaller, limit afterwards.
const maxIdempotentBody = 8 << 20

// inflight holds the (actor, key) pairs whose first request is running.
type inflight struct {
	mu sync.Mutex
	m  map[string]struct{}
}

func (f *inflight) init() { f.m = make(map[string]struct{}) }

func (f *inflight) start(k string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.m[k]; ok {
		return false
	}
	f.m[k] = struct{}{}
	return true
}

func (f *inflight) done(k string) {
	f.mu.Lock()
	delete(f.m, k)
	f.mu.Unlock()
}

// recorder keeps a copy of the response it passes through.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// idempotent makes a write with an Idempotency-Key header safe to retry:
// the first complete response for (actor, key) is recorded and replayed
// for a retry of the same request, which changes nothing; the same key
// with a different request is refused (422 idempotency_key_reused); a
// retry while the first is still running gets 409. Server errors are not
// recorded (the retry runs again), nor are successful answers that carry
// a secret (marked Cache-Control: no-store: tokens, new API keys, sign
// codes, generated passwords), which are never written to the database.
func (s *Server) idempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			next.ServeHTTP(w, r)
			return
		}
		if len(key) > 200 || strings.IndexFunc(key, func(c rune) bool { return c < 0x21 || c > 0x7e }) >= 0 {
			s.fail(w, r, &codedError{problem.BadRequest, "Idempotency-Key must be 1–200 printable ASCII characters"})
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxIdempotentBody))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				s.fail(w, r, &codedError{problem.TooLarge, fmt.Sprintf("request body is larger than %d bytes", maxIdempotentBody)})
				return
			}
			s.fail(w, r, &codedError{problem.BadRequest, "cannot read the request body"})
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h := sha256.New()
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00", r.Method, r.URL.Path, r.URL.RawQuery)
		h.Write(body)
		sum := h.Sum(nil)

		actor := "anonymous:" + clientIP(r)
		if a, ok := auth.FromContext(r.Context()); ok {
			actor = a.Subject
		}
		if rec, err := s.store.Idempotent(r.Context(), actor, key); err == nil {
			s.replay(w, r, rec, sum)
			return
		} else if manifest.CodeOf(err) != manifest.NotFound {
			s.fail(w, r, err)
			return
		}
		flight := actor + "\x00" + key
		if !s.idem.start(flight) {
			s.fail(w, r, manifest.Errorf(manifest.Conflict, "a request with this Idempotency-Key is still in progress; retry shortly"))
			return
		}
		defer s.idem.done(flight)
		// The first request may have finished between the look-up and now.
		if rec, err := s.store.Idempotent(r.Context(), actor, key); err == nil {
			s.replay(w, r, rec, sum)
			return
		}
		rw := &recorder{ResponseWriter: w}
		next.ServeHTTP(rw, r)
		if rw.status == 0 || rw.status >= 500 {
			return // not a result: a retry should run again
		}
		if rw.status < 300 && strings.Contains(rw.Header().Get("Cache-Control"), "no-store") {
			return // it carries a secret (a token, a key, a code): never stored
		}
		err = s.store.PutIdempotent(context.WithoutCancel(r.Context()), store.Response{
			Actor: actor, Key: key, RequestHash: sum, Status: rw.status,
			ContentType: rw.Header().Get("Content-Type"), Location: rw.Header().Get("Location"),
			Body: rw.body.Bytes(), Created: s.cfg.Now().UTC(),
		})
		if err != nil {
			s.log.ErrorContext(r.Context(), "record idempotent response", "http.route", routeOf(r), "err", err)
		}
	})
}

func (s *Server) replay(w http.ResponseWriter, r *http.Request, rec store.Response, sum []byte) {
	if !bytes.Equal(rec.RequestHash, sum) {
		s.fail(w, r, &codedError{problem.IdempotencyReuse, "this Idempotency-Key was used for a different request; use a new key for a new request"})
		return
	}
	if rec.ContentType != "" {
		w.Header().Set("Content-Type", rec.ContentType)
	}
	if rec.Location != "" {
		w.Header().Set("Location", rec.Location)
	}
	w.Header().Set("Idempotent-Replayed", "true")
	w.WriteHeader(rec.Status)
	_, _ = w.Write(rec.Body)
}

func isWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// --- API keys -------------------------------------------------------------------

// apiKeyCache remembers API key look-ups for a short while, so that a
// machine client's requests do not each read the database; a revoked key
// stops working within apiKeyTTL.
type apiKeyCache struct {
	mu sync.Mutex
	m  map[[32]byte]apiKeyEntry
}

type apiKeyEntry struct {
	actor auth.Actor
	err   error
	until time.Time
}

const apiKeyTTL = 30 * time.Second

func (c *apiKeyCache) init() { c.m = make(map[[32]byte]apiKeyEntry) }

func (s *Server) apiKeyActor(ctx context.Context, key string) (auth.Actor, error) {
	sum := sha256.Sum256([]byte(key))
	now := time.Now()
	s.apiKeys.mu.Lock()
	e, ok := s.apiKeys.m[sum]
	s.apiKeys.mu.Unlock()
	if ok && now.Before(e.until) {
		return e.actor, e.err
	}
	k, err := s.store.APIKeyByHash(ctx, sum[:])
	switch {
	case manifest.CodeOf(err) == manifest.NotFound:
		e = apiKeyEntry{err: manifest.Errorf(manifest.Unauthenticated, "unknown API key")}
	case err != nil:
		return auth.Actor{}, err
	case k.Revoked != nil:
		e = apiKeyEntry{err: manifest.Errorf(manifest.Unauthenticated, "API key %s was revoked", k.ID)}
	default:
		e = apiKeyEntry{actor: auth.Actor{Subject: "apikey:" + k.ID, Org: k.Org, Role: auth.Role(k.Role), MSP: k.MSP, APIKey: true}}
	}
	e.until = now.Add(apiKeyTTL)
	s.apiKeys.mu.Lock()
	if len(s.apiKeys.m) > 10000 {
		clear(s.apiKeys.m)
	}
	s.apiKeys.m[sum] = e
	s.apiKeys.mu.Unlock()
	return e.actor, e.err
}

func (s *Server) forgetAPIKeys() {
	s.apiKeys.mu.Lock()
	clear(s.apiKeys.m)
	s.apiKeys.mu.Unlock()
}
