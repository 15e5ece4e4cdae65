package auth

import "context"

// Role is what a signed-in user or machine client may do.
type Role string

const (
	ProducerClerk Role = "producer_clerk" // creates and signs manifests for a producer
	Driver        Role = "driver"         // a carrier's driver: scans, takes and gives handovers
	ReceiverClerk Role = "receiver_clerk" // a plant's clerk: confirms deliveries, receipts, processing
	Regulator     Role = "regulator"      // an environment bureau: registers, audits, reports
	Admin         Role = "admin"          // an organisation's administrator: users and party keys
)

// Roles lists every role.
var Roles = []Role{ProducerClerk, Driver, ReceiverClerk, Regulator, Admin}

// Actor is the authenticated caller of a request, as the middleware found
// it in a verified access token or API key. Handlers read it with
// FromContext and never parse tokens themselves.
type Actor struct {
	Subject string // user id, or "apikey:<id>"
	Org     string // the organisation's unified social credit code
	Role    Role
	MSP     string // the ledger member that submits for the organisation
	APIKey  bool   // a machine client
}

type ctxKey struct{}

// WithActor returns a context carrying the actor.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, ctxKey{}, a)
}

// FromContext returns the request's actor.
func FromContext(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(ctxKey{}).(Actor)
	return a, ok
}
