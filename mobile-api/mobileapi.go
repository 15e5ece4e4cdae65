// Package mobileapi is the driver-facing API under /mobile/v1 and the
// driver's web app under /m/: scan a QR ticket, see the manifest, the step
// due next and what to check, fetch the statement to sign, and submit
// signed handovers, one at a time while online or as a batch signed while
// offline. See README.md for the offline design and its limits.
package mobileapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"wasteledger/gateway/auth"
	"wasteledger/gateway/httpx"
	"wasteledger/gateway/ledger"
	"wasteledger/gateway/paper"
	"wasteledger/gateway/ticket"
	"wasteledger/manifest"
)

// Deps is what the driver API needs. Ledger, Keyring and Now are required;
// without Countersign, sign-by-code is refused.
type Deps struct {
	Ledger  ledger.Ledger
	Keyring ticket.Keyring
	// Countersign signs canonical, a statement of manifestID, with the
	// custodial key of the party whose clerk typed the one-time code on
	// the driver's phone (the gateway's Server.Countersign).
	Countersign func(ctx context.Context, actor auth.Actor, manifestID, code string, canonical []byte) (manifest.Signature, error)
	BaseURL     string
	Log         *slog.Logger
	Now         func() time.Time

	// Issuer is the tickets' iss (ticket.DefaultIssuer when empty).
	Issuer string
	// CodeKey returns the id of an organisation's custodial key, the key
	// Countersign signs with, so that a statement signed by code names it
	// before the driver signs. Optional: without it, the template and scan
	// answers carry no code_keys and the app cannot prepare a statement
	// for sign-by-code.
	CodeKey func(ctx context.Context, org string) (kid string, ok bool)
}

func (d Deps) withDefaults() Deps {
	if d.Issuer == "" {
		d.Issuer = ticket.DefaultIssuer
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return d
}

// Limits.
const (
	// MaxBatchItems bounds a batch: a driver's day of milk-run pickups
	// fits many times over.
	MaxBatchItems = 100
	// MaxBatchBytes bounds a batch body (413 beyond). A signed handover
	// is about 1 KiB.
	MaxBatchBytes = 1 << 20
	// MaxHandoverBytes bounds a single handover body.
	MaxHandoverBytes = 128 << 10
	// MaxScanBytes bounds a scan body (a ticket URL is ~450 bytes).
	MaxScanBytes = 4 << 10
)

// Routes are the driver API and the driver's web app.
func Routes(d Deps) []httpx.Route {
	h := &handlers{d: d.withDefaults()}
	handoverRoles := []auth.Role{auth.Driver, auth.Admin}
	routes := []httpx.Route{
		{Method: http.MethodPost, Path: "/mobile/v1/scan", Name: "mobileScan", Handler: h.scan},
		{Method: http.MethodGet, Path: "/mobile/v1/manifests/{id}/template", Name: "mobileTemplate", Handler: h.template},
		{Method: http.MethodPost, Path: "/mobile/v1/handovers", Name: "mobileHandover", Roles: handoverRoles, Handler: h.handover},
		{Method: http.MethodPost, Path: "/mobile/v1/handovers/batch", Name: "mobileHandoverBatch", Roles: handoverRoles, Handler: h.batch},
	}
	return append(routes, appRoutes()...)
}

type handlers struct {
	d       Deps
	tickets ticketCache
	orgs    paper.OrgCache
}
