package paper

import (
	"context"
	"net/http"
	"slices"
	"sync"

	"wasteledger/chaincode"
	"wasteledger/gateway/auth"
	"wasteledger/gateway/ledger"
	"wasteledger/gateway/problem"
	"wasteledger/manifest"
)

// Caller is the ledger identity a request runs as: the actor's
// organisation's member, and the actor as the submitting identity.
func Caller(a auth.Actor) chaincode.Caller { return chaincode.Caller{MSP: a.MSP, ID: a.Subject} }

// Visible reports whether the actor may see the manifest: its producer,
// one of its carriers, its receiver, or a regulator.
func Visible(a auth.Actor, m *manifest.Manifest) bool {
	if a.Role == auth.Regulator {
		return true
	}
	if a.Org == "" {
		return false
	}
	if a.Org == m.Producer || a.Org == m.Receiver {
		return true
	}
	return slices.ContainsFunc(m.Legs, func(l manifest.Leg) bool { return l.Carrier == a.Org })
}

// Load reads the current version of manifest id as the actor and checks
// that the actor may see it. It returns the manifest and its stored bytes
// (whose manifest.Hash the next statement names as prev). Errors are
// *manifest.Error: invalid (a malformed number), not_found, forbidden, or
// what the ledger answered.
func Load(ctx context.Context, l ledger.Ledger, a auth.Actor, id string) (*manifest.Manifest, []byte, error) {
	if err := manifest.ValidNumber(id); err != nil {
		return nil, nil, manifest.FieldError(manifest.Invalid, "id", "%v", err)
	}
	doc, err := l.Evaluate(ctx, Caller(a), "GetManifest", []byte(id))
	if err != nil {
		return nil, nil, err
	}
	var m manifest.Manifest
	if err := manifest.Decode(doc, &m); err != nil {
		return nil, nil, manifest.Errorf(manifest.Internal, "decode manifest %s: %w", id, err)
	}
	if !Visible(a, &m) {
		return nil, nil, manifest.Errorf(manifest.Forbidden, "manifest %s is shown to its producer, carriers, receiver and regulators only / 仅联单相关单位及监管部门可查看", id)
	}
	return &m, doc, nil
}

// Orgs reads the organisations named, for their names; one that cannot be
// read is left out (the id is still shown).
func Orgs(ctx context.Context, l ledger.Ledger, a auth.Actor, ids ...string) map[string]manifest.Org {
	return (*OrgCache)(nil).Get(ctx, l, a, ids...)
}

// OrgCache is Orgs with a memory: an organisation never changes once the
// ledger registered it, so one read from the ledger serves every later
// request. Only what the ledger returned is remembered, and only answered
// to actors with a ledger identity (the ledger refuses the others). The
// zero value is ready; a nil *OrgCache remembers nothing.
type OrgCache struct{ m sync.Map } // id → manifest.Org

// Get is Orgs, answered from memory where it can be.
func (c *OrgCache) Get(ctx context.Context, l ledger.Ledger, a auth.Actor, ids ...string) map[string]manifest.Org {
	out := make(map[string]manifest.Org, len(ids))
	for _, id := range ids {
		if _, done := out[id]; done || id == "" {
			continue
		}
		if c != nil && a.MSP != "" {
			if v, ok := c.m.Load(id); ok {
				out[id] = v.(manifest.Org)
				continue
			}
		}
		b, err := l.Evaluate(ctx, Caller(a), "GetOrg", []byte(id))
		if err != nil {
			continue
		}
		var o manifest.Org
		if manifest.Decode(b, &o) == nil {
			out[id] = o
			if c != nil && o.ID == id {
				c.m.Store(id, o)
			}
		}
	}
	return out
}

// Parties lists every organisation on the manifest: producer, carriers,
// receiver.
func Parties(m *manifest.Manifest) []string {
	ids := []string{m.Producer}
	for _, l := range m.Legs {
		ids = append(ids, l.Carrier)
	}
	return append(ids, m.Receiver)
}

// ActorFrom returns the request's actor or writes 401.
func ActorFrom(w http.ResponseWriter, r *http.Request) (auth.Actor, bool) {
	a, ok := auth.FromContext(r.Context())
	if !ok {
		problem.Write(w, r, problem.New(string(manifest.Unauthenticated), "sign in first / 请先登录", ""))
		return a, false
	}
	return a, true
}
