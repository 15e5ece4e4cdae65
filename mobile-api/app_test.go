package mobileapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	mobileapi "wasteledger/mobile-api"
)

func TestRoutes(t *testing.T) {
	want := []string{
		"POST /mobile/v1/scan",
		"GET /mobile/v1/manifests/{id}/template",
		"POST /mobile/v1/handovers",
		"POST /mobile/v1/handovers/batch",
		"GET /m/", "GET /m/app.mjs", "GET /m/wl.mjs", "GET /m/style.css", "GET /m/sw.js", "GET /m/manifest.webmanifest",
	}
	var got, names []string
	for _, r := range mobileapi.Routes(mobileapi.Deps{}) {
		got = append(got, r.Method+" "+r.Path)
		if slices.Contains(names, r.Name) || r.Name == "" {
			t.Errorf("route %s %s has a missing or repeated name %q", r.Method, r.Path, r.Name)
		}
		names = append(names, r.Name)
		if strings.HasPrefix(r.Path, "/m/") != r.Public {
			t.Errorf("route %s: public = %v; only the app's static files are public", r.Path, r.Public)
		}
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("routes lack %s (have %v)", w, got)
		}
	}
}

func TestDriverAppFiles(t *testing.T) {
	e := newEnv(t)
	tests := []struct{ path, ctype, contains string }{
		{"/m/", "text/html; charset=utf-8", `<script type="module" src="/m/app.mjs">`},
		{"/m/app.mjs", "text/javascript; charset=utf-8", "verifyTicket"},
		{"/m/wl.mjs", "text/javascript; charset=utf-8", "export function jcs"},
		{"/m/style.css", "text/css; charset=utf-8", "--green"},
		{"/m/sw.js", "text/javascript; charset=utf-8", "caches.open"},
		{"/m/manifest.webmanifest", "application/manifest+json", `"scope": "/m/"`},
	}
	for _, tc := range tests {
		rec := e.do(nil, http.MethodGet, tc.path, nil)
		if rec.Code != 200 || rec.Header().Get("Content-Type") != tc.ctype || !strings.Contains(rec.Body.String(), tc.contains) {
			t.Errorf("GET %s = %d %s, want %s containing %q", tc.path, rec.Code, rec.Header().Get("Content-Type"), tc.ctype, tc.contains)
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s CSP = %q", tc.path, csp)
		}
	}
}
