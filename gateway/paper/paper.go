// Package paper serves what a manifest looks like on paper: its QR code
// (PNG and SVG) carrying a signed ticket, and a printable A4 view in
// Chinese with English labels. The ticket itself is package ticket's.
package paper

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"wasteledger/gateway/auth"
	"wasteledger/gateway/httpx"
	"wasteledger/gateway/ledger"
	"wasteledger/gateway/problem"
	"wasteledger/gateway/ticket"
	"wasteledger/manifest"
)

// Deps is what the handlers need.
type Deps struct {
	Ledger  ledger.Ledger
	Keyring ticket.Keyring
	BaseURL string // public base URL of the gateway; the QR code links to BaseURL/m/#t=…
	Issuer  string // ticket iss; ticket.DefaultIssuer when empty
	TTL     time.Duration
	Log     *slog.Logger
	Now     func() time.Time
}

func (d Deps) withDefaults() Deps {
	if d.Issuer == "" {
		d.Issuer = ticket.DefaultIssuer
	}
	if d.TTL <= 0 {
		d.TTL = ticket.DefaultTTL
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return d
}

// Routes are the paper endpoints. Every one needs a signed-in actor whose
// organisation is on the manifest, or a regulator.
func Routes(d Deps) []httpx.Route {
	h := &handlers{d: d.withDefaults()}
	return []httpx.Route{
		{Method: http.MethodGet, Path: "/api/v1/manifests/{id}/qr.png", Name: "getManifestQRPNG", Handler: h.qrPNG},
		{Method: http.MethodGet, Path: "/api/v1/manifests/{id}/qr.svg", Name: "getManifestQRSVG", Handler: h.qrSVG},
		{Method: http.MethodGet, Path: "/api/v1/manifests/{id}/print", Name: "getManifestPrint", Handler: h.print},
	}
}

type handlers struct{ d Deps }

// TicketURL issues a ticket for the stored version doc of m and returns
// the URL a QR code carries.
func TicketURL(kr ticket.Keyring, base, issuer string, ttl time.Duration, m *manifest.Manifest, doc []byte, now time.Time) (string, ticket.Ticket, error) {
	t := ticket.ForManifest(m, manifest.Hash(doc), issuer, now, ttl)
	tok, err := ticket.Issue(kr, t)
	if err != nil {
		return "", t, manifest.Errorf(manifest.Internal, "issue ticket: %w", err)
	}
	return ticket.URL(base, tok), t, nil
}

// page is what every paper endpoint starts from: the actor, the current
// version of the manifest, and a fresh ticket for it.
type page struct {
	actor  auth.Actor
	m      *manifest.Manifest
	doc    []byte
	url    string
	ticket ticket.Ticket
}

func (h *handlers) load(w http.ResponseWriter, r *http.Request) (page, bool) {
	a, ok := ActorFrom(w, r)
	if !ok {
		return page{}, false
	}
	m, doc, err := Load(r.Context(), h.d.Ledger, a, r.PathValue("id"))
	if err != nil {
		problem.Error(w, r, h.d.Log, err)
		return page{}, false
	}
	url, t, err := TicketURL(h.d.Keyring, h.d.BaseURL, h.d.Issuer, h.d.TTL, m, doc, h.d.Now())
	if err != nil {
		problem.Error(w, r, h.d.Log, err)
		return page{}, false
	}
	return page{actor: a, m: m, doc: doc, url: url, ticket: t}, true
}

// paperHeaders: a ticket is issued per request and names one version, so
// nothing is cached; the response is never sniffed into another type.
func paperHeaders(w http.ResponseWriter, contentType string) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
}

func (h *handlers) qrPNG(w http.ResponseWriter, r *http.Request) {
	p, ok := h.load(w, r)
	if !ok {
		return
	}
	b, err := ticket.PNG(p.url)
	if err != nil {
		problem.Error(w, r, h.d.Log, manifest.Errorf(manifest.Internal, "render QR: %w", err))
		return
	}
	paperHeaders(w, "image/png")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="%s-v%d.png"`, p.m.ID, p.m.Version))
	_, _ = w.Write(b)
}

func (h *handlers) qrSVG(w http.ResponseWriter, r *http.Request) {
	p, ok := h.load(w, r)
	if !ok {
		return
	}
	b, err := ticket.SVG(p.url, 0)
	if err != nil {
		problem.Error(w, r, h.d.Log, manifest.Errorf(manifest.Internal, "render QR: %w", err))
		return
	}
	paperHeaders(w, "image/svg+xml; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="%s-v%d.svg"`, p.m.ID, p.m.Version))
	_, _ = w.Write(b)
}

func (h *handlers) print(w http.ResponseWriter, r *http.Request) {
	p, ok := h.load(w, r)
	if !ok {
		return
	}
	svg, err := ticket.SVG(p.url, 0)
	if err != nil {
		problem.Error(w, r, h.d.Log, manifest.Errorf(manifest.Internal, "render QR: %w", err))
		return
	}
	v := buildView(r.Context(), h.d.Ledger, p.actor, p.m, p.doc, p.ticket, p.url, svg, h.d.Now())
	var buf bytes.Buffer
	if err := printTemplate.Execute(&buf, v); err != nil {
		problem.Error(w, r, h.d.Log, manifest.Errorf(manifest.Internal, "render print view: %w", err))
		return
	}
	paperHeaders(w, "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	_, _ = w.Write(buf.Bytes())
}
