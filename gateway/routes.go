package gateway

import (
	"net/http"
	"sort"
	"strings"

	"github.com/gorilla/mux"

	"wasteledger/gateway/httpx"
	"wasteledger/gateway/problem"
	"wasteledger/manifest"
)

// This is the only file that imports the router. Every route of every
// package passes through the same stages, outermost first:
//
//	observe (request id, recover, access log, metrics) → path values →
//	authn → rate limit → roles → idempotency (writes) → handler
//
// Paths match exactly; "{name...}" matches the rest of the path.

// router builds the handler of the routes.
func (s *Server) router(routes []httpx.Route) http.Handler {
	r := mux.NewRouter()
	seen := map[string]bool{}
	for _, rt := range routes {
		k := rt.Method + " " + rt.Path
		if seen[k] {
			s.log.Error("route registered twice; keeping the first", "route", k)
			continue
		}
		seen[k] = true
		var h http.Handler = rt.Handler
		if isWrite(rt.Method) {
			h = s.idempotent(h)
		}
		h = s.roles(rt.Roles, h)
		h = s.limit(h)
		h = s.authn(rt.Public, h)
		h = pathValues(h)
		h = s.observe(rt.Path, h)
		r.Path(muxPath(rt.Path)).Methods(rt.Method).Handler(h)
	}
	r.NotFoundHandler = s.observe("unmatched", s.limit(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.fail(w, req, manifest.Errorf(manifest.NotFound, "no such resource: %s %s", req.Method, req.URL.Path))
	})))
	r.MethodNotAllowedHandler = s.observe("unmatched", s.limit(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.fail(w, req, &codedError{problem.MethodNotAllowed, "method " + req.Method + " is not allowed on " + req.URL.Path})
	})))
	return r
}

// pathValues copies the router's variables into the request, where
// handlers read them with r.PathValue.
func pathValues(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range mux.Vars(r) {
			r.SetPathValue(k, v)
		}
		next.ServeHTTP(w, r)
	})
}

// muxPath translates a route path into the router's syntax.
func muxPath(p string) string {
	if i := strings.Index(p, "...}"); i > 0 {
		return p[:i] + ":.*}" + p[i+4:]
	}
	return p
}

// RegisteredRoutes walks the router built from routes and returns "METHOD
// path" for each, as the router holds them: what the OpenAPI test compares
// with the document.
func RegisteredRoutes(h http.Handler) []string {
	r, ok := h.(*mux.Router)
	if !ok {
		return nil
	}
	var out []string
	_ = r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return nil
		}
		ms, _ := route.GetMethods()
		tpl = strings.ReplaceAll(tpl, ":.*}", "...}")
		for _, m := range ms {
			out = append(out, m+" "+tpl)
		}
		return nil
	})
	sort.Strings(out)
	return out
}
