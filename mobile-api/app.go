package mobileapi

import (
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"

	"wasteledger/gateway/httpx"
)

// web holds the driver's web app: plain HTML, CSS and JavaScript, no
// dependencies, WebCrypto for keys, signatures and ticket checks.
//
//go:embed web
var web embed.FS

// appCSP keeps the app to its own origin: its scripts, styles and API.
const appCSP = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; script-src 'self'; connect-src 'self'; worker-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// appRoutes serves every file of web/ under /m/ (index.html at /m/), one
// exact route per file, so that any router serves them.
func appRoutes() []httpx.Route {
	var names []string
	_ = fs.WalkDir(web, "web", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	sort.Strings(names)
	var routes []httpx.Route
	for _, name := range names {
		body, err := web.ReadFile(name)
		if err != nil {
			continue
		}
		rel := name[len("web/"):]
		urlPath := "/m/" + rel
		if rel == "index.html" {
			urlPath = "/m/"
		}
		ctype := mime.TypeByExtension(path.Ext(name))
		switch path.Ext(name) {
		case ".webmanifest":
			ctype = "application/manifest+json"
		case ".js", ".mjs":
			ctype = "text/javascript; charset=utf-8"
		}
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		routes = append(routes, httpx.Route{Method: http.MethodGet, Path: urlPath, Name: operationID(rel), Public: true,
			Handler: staticFile(body, ctype)})
	}
	return routes
}

// operationID names a file's route: index.html → driverApp, app.mjs →
// driverAppAppMjs.
func operationID(rel string) string {
	if rel == "index.html" {
		return "driverApp"
	}
	var b strings.Builder
	b.WriteString("driverApp")
	up := true
	for _, r := range rel {
		switch {
		case r >= 'a' && r <= 'z' && up:
			b.WriteRune(r - 'a' + 'A')
			up = false
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			up = false
		default:
			up = true
		}
	}
	return b.String()
}

func staticFile(body []byte, ctype string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		// The service worker keeps the app available offline; the network
		// copy is revalidated every time it is online.
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", appCSP)
		w.Header().Set("Referrer-Policy", "no-referrer")
		w.Header().Set("Permissions-Policy", "camera=(self), geolocation=(self)")
		_, _ = w.Write(body)
	}
}
