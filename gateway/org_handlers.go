package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"time"

	"wasteledger/chaincode"
	"wasteledger/gateway/auth"
	"wasteledger/gateway/httpx"
	"wasteledger/gateway/store"
	"wasteledger/manifest"
	"wasteledger/manifest/signature"
)

func (s *Server) handleRegisterOrg(w http.ResponseWriter, r *http.Request) {
	a := actorOf(r)
	if !s.isRegulator(r.Context(), a) {
		s.fail(w, r, forbidden("only a regulator registers organisations"))
		return
	}
	var o manifest.Org
	body, err := readJSON(w, r, maxBody, &o)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.submit(r.Context(), caller(a), "RegisterOrg", body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/orgs/"+o.ID)
	httpx.RawJSON(w, http.StatusCreated, c.Payload)
}

func (s *Server) handleGetOrg(w http.ResponseWriter, r *http.Request) {
	a, id := actorOf(r), r.PathValue("id")
	if a.Org != id && !s.isRegulator(r.Context(), a) {
		s.fail(w, r, forbidden("you may read your own organisation only"))
		return
	}
	b, err := s.ledger.Evaluate(r.Context(), caller(a), "GetOrg", []byte(id))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpx.RawJSON(w, http.StatusOK, b)
}

var usernamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,63}$`)

// roleFits reports whether an organisation can have users (or API keys) of
// the role.
func roleFits(o manifest.Org, r auth.Role) bool {
	switch r {
	case auth.Admin:
		return true
	case auth.ProducerClerk:
		return o.Has(manifest.Producer)
	case auth.Driver:
		return o.Has(manifest.Carrier)
	case auth.ReceiverClerk:
		return o.Has(manifest.Receiver)
	case auth.Regulator:
		return o.Has(manifest.Regulator)
	}
	return false
}

// UserView is a user as the API shows it; Password is set only when the
// gateway generated it, in the response that created the user.
type UserView struct {
	Username string    `json:"username"`
	Org      string    `json:"org"`
	Role     auth.Role `json:"role"`
	MSP      string    `json:"msp"`
	Disabled bool      `json:"disabled"`
	Created  time.Time `json:"created"`
	Password string    `json:"password,omitempty"`
}

func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	a, id := actorOf(r), r.PathValue("id")
	var in struct {
		Username string    `json:"username"`
		Role     auth.Role `json:"role"`
		Password string    `json:"password,omitempty"`
	}
	if _, err := readJSON(w, r, 4<<10, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if !s.canAdminister(r.Context(), a, id) {
		s.fail(w, r, forbidden("only the organisation's administrator creates its users"))
		return
	}
	u, password, err := s.CreateUser(r.Context(), id, in.Username, in.Role, in.Password)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/orgs/"+id+"/users")
	w.Header().Set("Cache-Control", "no-store")
	v := viewUser(u)
	v.Password = password
	httpx.JSON(w, http.StatusCreated, v)
}

func viewUser(u store.User) UserView {
	return UserView{Username: u.Username, Org: u.Org, Role: auth.Role(u.Role), MSP: u.MSP, Disabled: u.Disabled, Created: u.Created}
}

// CreateUser creates a user of a registered organisation; with an empty
// password one is generated and returned.
func (s *Server) CreateUser(ctx context.Context, org, username string, role auth.Role, password string) (store.User, string, error) {
	if !usernamePattern.MatchString(username) {
		return store.User{}, "", invalid("username", "username must be 3–64 characters of a–z, 0–9, '.', '_' and '-', starting with a letter or digit")
	}
	o, err := s.org(ctx, org)
	if err != nil {
		return store.User{}, "", err
	}
	if !roleFits(o, role) {
		return store.User{}, "", manifest.FieldError(manifest.RuleViolation, "role", "organisation %s (%v) cannot have a user of role %q", o.ID, o.Roles, role)
	}
	generated := ""
	if password == "" {
		password = NewPassword()
		generated = password
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return store.User{}, "", invalid("password", "%v", err)
	}
	u := store.User{Username: username, Org: o.ID, MSP: o.MSP, Role: string(role), Hash: hash, Created: s.cfg.Now().UTC()}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return store.User{}, "", err
	}
	return u, generated, nil
}

// NewPassword returns a random 16-character password.
func NewPassword() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request) {
	a, id := actorOf(r), r.PathValue("id")
	if !(a.Role == auth.Admin && a.Org == id) && !s.isRegulator(r.Context(), a) {
		s.fail(w, r, forbidden("only the organisation's administrator or a regulator lists its users"))
		return
	}
	us, err := s.store.Users(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]UserView, len(us))
	for i, u := range us {
		out[i] = viewUser(u)
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"items": out})
}

func (s *Server) handleDisableUser(w http.ResponseWriter, r *http.Request) {
	a, id, name := actorOf(r), r.PathValue("id"), r.PathValue("username")
	if !s.canAdminister(r.Context(), a, id) {
		s.fail(w, r, forbidden("only the organisation's administrator disables its users"))
		return
	}
	if name == a.Subject {
		s.fail(w, r, manifest.Errorf(manifest.Conflict, "you cannot disable yourself"))
		return
	}
	if err := s.store.SetUserDisabled(r.Context(), id, name, true); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// KeyRequest registers a person's or a device's public key.
type KeyRequest struct {
	JWK    json.RawMessage  `json:"jwk"`
	Holder string           `json:"holder"` // a user or device id, never a personal name
	Kind   manifest.KeyKind `json:"kind"`   // person or device
}

func (s *Server) handleRegisterKey(w http.ResponseWriter, r *http.Request) {
	a, id := actorOf(r), r.PathValue("id")
	var in KeyRequest
	if _, err := readJSON(w, r, 16<<10, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if !s.canAdminister(r.Context(), a, id) {
		s.fail(w, r, forbidden("only the organisation's administrator registers its keys"))
		return
	}
	if in.Kind != manifest.Person && in.Kind != manifest.Device {
		s.fail(w, r, invalid("kind", "kind must be person or device (custodial keys are made with POST /api/v1/orgs/{id}/custodial-key)"))
		return
	}
	if _, err := s.org(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	arg, _ := json.Marshal(chaincode.KeyRegistration{Org: id, Holder: in.Holder, Kind: in.Kind, JWK: in.JWK})
	c, err := s.submit(r.Context(), caller(a), "RegisterKey", arg)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var k manifest.Key
	_ = manifest.Decode(c.Payload, &k)
	w.Header().Set("Location", "/api/v1/keys/"+k.ID)
	httpx.RawJSON(w, http.StatusCreated, c.Payload)
}

func (s *Server) handleCustodialKey(w http.ResponseWriter, r *http.Request) {
	a, id := actorOf(r), r.PathValue("id")
	if !s.canAdminister(r.Context(), a, id) {
		s.fail(w, r, forbidden("only the organisation's administrator creates its custodial key"))
		return
	}
	k, err := s.CreateCustodialKey(r.Context(), a, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/keys/"+k.ID)
	httpx.JSON(w, http.StatusCreated, k)
}

// CreateCustodialKey generates a P-256 key for an organisation that signs
// by code, registers its public part on the ledger as kind "custodial" and
// keeps the private part sealed in the store.
func (s *Server) CreateCustodialKey(ctx context.Context, a auth.Actor, org string) (manifest.Key, error) {
	o, err := s.org(ctx, org)
	if err != nil {
		return manifest.Key{}, err
	}
	if !o.Has(manifest.Producer) && !o.Has(manifest.Regulator) {
		return manifest.Key{}, manifest.FieldError(manifest.RuleViolation, "org", "custodial keys are for producers (sign by code) and regulators (indicator snapshots); %s is neither", org)
	}
	if _, err := s.store.Custodial(ctx, org); err == nil {
		return manifest.Key{}, manifest.Errorf(manifest.Conflict, "organisation %s already has a custodial key; revoke it first", org)
	} else if manifest.CodeOf(err) != manifest.NotFound {
		return manifest.Key{}, err
	}
	priv, err := signature.GenerateKey(rand.Reader)
	if err != nil {
		return manifest.Key{}, err
	}
	kid := signature.Thumbprint(&priv.PublicKey)
	arg, _ := json.Marshal(chaincode.KeyRegistration{Org: org, Holder: "gateway-custodial", Kind: manifest.Custodial, JWK: signature.MarshalPublicJWK(&priv.PublicKey)})
	c, err := s.submit(ctx, caller(a), "RegisterKey", arg)
	if err != nil {
		return manifest.Key{}, err
	}
	sealed := s.store.Seal(signature.MarshalPrivateJWK(priv), store.CustodialAAD(kid, org))
	if err := s.store.PutCustodial(ctx, store.CustodialKey{KID: kid, Org: org, Sealed: sealed, Created: s.cfg.Now().UTC()}); err != nil {
		return manifest.Key{}, err
	}
	var k manifest.Key
	if err := manifest.Decode(c.Payload, &k); err != nil {
		return manifest.Key{}, manifest.Errorf(manifest.Internal, "decode key: %w", err)
	}
	return k, nil
}

func (s *Server) handleGetKey(w http.ResponseWriter, r *http.Request) {
	b, err := s.ledger.Evaluate(r.Context(), caller(actorOf(r)), "GetKey", []byte(r.PathValue("kid")))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpx.RawJSON(w, http.StatusOK, b)
}

// Reason is the body of a revocation.
type Reason struct {
	Reason string `json:"reason"`
}

func (s *Server) handleRevokeKey(w http.ResponseWriter, r *http.Request) {
	a, kid := actorOf(r), r.PathValue("kid")
	var in Reason
	if _, err := readJSON(w, r, 4<<10, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	b, err := s.ledger.Evaluate(r.Context(), caller(a), "GetKey", []byte(kid))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var k manifest.Key
	if err := manifest.Decode(b, &k); err != nil {
		s.fail(w, r, manifest.Errorf(manifest.Internal, "decode key: %w", err))
		return
	}
	if !s.canAdminister(r.Context(), a, k.Org) {
		s.fail(w, r, forbidden("only the organisation's administrator revokes its keys"))
		return
	}
	arg, _ := json.Marshal(chaincode.Revocation{ID: kid, Reason: in.Reason})
	c, err := s.submit(r.Context(), caller(a), "RevokeKey", arg)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if k.Kind == manifest.Custodial {
		if err := s.store.RevokeCustodial(r.Context(), kid, c.Time); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	httpx.RawJSON(w, http.StatusOK, c.Payload)
}

// APIKeyView is an API key as listed; Key is set only in the response that
// created it.
type APIKeyView struct {
	ID      string     `json:"id"`
	Name    string     `json:"name"`
	Org     string     `json:"org"`
	Role    auth.Role  `json:"role"`
	Created time.Time  `json:"created"`
	Revoked *time.Time `json:"revoked,omitempty"`
	Key     string     `json:"key,omitempty"`
}

func (s *Server) handleCreateAPIKey(w http.ResponseWriter, r *http.Request) {
	a, id := actorOf(r), r.PathValue("id")
	var in struct {
		Name string    `json:"name"`
		Role auth.Role `json:"role"`
	}
	if _, err := readJSON(w, r, 4<<10, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if !s.canAdminister(r.Context(), a, id) {
		s.fail(w, r, forbidden("only the organisation's administrator creates its API keys"))
		return
	}
	if in.Name == "" || len(in.Name) > 100 {
		s.fail(w, r, invalid("name", "name is required (at most 100 bytes)"))
		return
	}
	o, err := s.org(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Role == auth.Admin || !roleFits(o, in.Role) {
		s.fail(w, r, manifest.FieldError(manifest.RuleViolation, "role", "an API key of %s cannot have role %q", id, in.Role))
		return
	}
	kid, key := auth.NewAPIKey()
	k := store.APIKey{ID: kid, Hash: auth.HashSecret(key), Name: in.Name, Org: o.ID, MSP: o.MSP, Role: string(in.Role), Created: s.cfg.Now().UTC()}
	if err := s.store.CreateAPIKey(r.Context(), k); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusCreated, APIKeyView{ID: k.ID, Name: k.Name, Org: k.Org, Role: in.Role, Created: k.Created, Key: key})
}

func (s *Server) handleListAPIKeys(w http.ResponseWriter, r *http.Request) {
	a, id := actorOf(r), r.PathValue("id")
	if !s.canAdminister(r.Context(), a, id) {
		s.fail(w, r, forbidden("only the organisation's administrator lists its API keys"))
		return
	}
	ks, err := s.store.APIKeys(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]APIKeyView, len(ks))
	for i, k := range ks {
		out[i] = APIKeyView{ID: k.ID, Name: k.Name, Org: k.Org, Role: auth.Role(k.Role), Created: k.Created, Revoked: k.Revoked}
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"items": out})
}

func (s *Server) handleRevokeAPIKey(w http.ResponseWriter, r *http.Request) {
	a, id := actorOf(r), r.PathValue("id")
	if !s.canAdminister(r.Context(), a, id) {
		s.fail(w, r, forbidden("only the organisation's administrator revokes its API keys"))
		return
	}
	if err := s.store.RevokeAPIKey(r.Context(), id, r.PathValue("keyId"), s.cfg.Now()); err != nil {
		s.fail(w, r, err)
		return
	}
	s.forgetAPIKeys()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleIssuePermit(w http.ResponseWriter, r *http.Request) {
	a := actorOf(r)
	if !s.isRegulator(r.Context(), a) {
		s.fail(w, r, forbidden("only a regulator issues permits"))
		return
	}
	var p manifest.Permit
	body, err := readJSON(w, r, maxBody, &p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.submit(r.Context(), caller(a), "IssuePermit", body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/permits/"+p.ID)
	httpx.RawJSON(w, http.StatusCreated, c.Payload)
}

func (s *Server) handleGetPermit(w http.ResponseWriter, r *http.Request) {
	a := actorOf(r)
	b, err := s.ledger.Evaluate(r.Context(), caller(a), "GetPermit", []byte(r.PathValue("id")))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var p manifest.Permit
	if err := manifest.Decode(b, &p); err != nil {
		s.fail(w, r, manifest.Errorf(manifest.Internal, "decode permit: %w", err))
		return
	}
	if p.Org != a.Org && !s.isRegulator(r.Context(), a) {
		s.fail(w, r, forbidden("you may read your own organisation's permits only"))
		return
	}
	httpx.RawJSON(w, http.StatusOK, b)
}

func (s *Server) handleRevokePermit(w http.ResponseWriter, r *http.Request) {
	a := actorOf(r)
	var in Reason
	if _, err := readJSON(w, r, 4<<10, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if !s.isRegulator(r.Context(), a) {
		s.fail(w, r, forbidden("only a regulator revokes permits"))
		return
	}
	arg, _ := json.Marshal(chaincode.Revocation{ID: r.PathValue("id"), Reason: in.Reason})
	c, err := s.submit(r.Context(), caller(a), "RevokePermit", arg)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpx.RawJSON(w, http.StatusOK, c.Payload)
}

func (s *Server) handleGetConfig(w http.ResponseWriter, r *http.Request) {
	b, err := s.ledger.Evaluate(r.Context(), caller(actorOf(r)), "GetConfig")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpx.RawJSON(w, http.StatusOK, b)
}

func (s *Server) handleSetConfig(w http.ResponseWriter, r *http.Request) {
	a := actorOf(r)
	var cfg manifest.Config
	body, err := readJSON(w, r, 16<<10, &cfg)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !s.isRegulator(r.Context(), a) {
		s.fail(w, r, forbidden("only a regulator sets the rule configuration"))
		return
	}
	c, err := s.submit(r.Context(), caller(a), "SetConfig", body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpx.RawJSON(w, http.StatusOK, c.Payload)
}
