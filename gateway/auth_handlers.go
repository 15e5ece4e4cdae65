package gateway

import (
	"context"
	"net/http"
	"time"

	"wasteledger/gateway/auth"
	"wasteledger/gateway/httpx"
	"wasteledger/gateway/store"
	"wasteledger/manifest"
)

// TokenResponse is what a sign-in or a refresh returns.
type TokenResponse struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type"` // "Bearer"
	ExpiresIn    int       `json:"expires_in"` // seconds
	ExpiresAt    time.Time `json:"expires_at"`
	RefreshToken string    `json:"refresh_token"`
	Actor        ActorView `json:"actor"`
}

// ActorView shows an actor.
type ActorView struct {
	Subject string    `json:"sub"`
	Org     string    `json:"org"`
	Role    auth.Role `json:"role"`
	MSP     string    `json:"msp"`
	APIKey  bool      `json:"api_key,omitempty"`
}

func viewActor(a auth.Actor) ActorView {
	return ActorView{Subject: a.Subject, Org: a.Org, Role: a.Role, MSP: a.MSP, APIKey: a.APIKey}
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if _, err := readJSON(w, r, 4<<10, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Username == "" || in.Password == "" {
		s.fail(w, r, invalid("username", "username and password are required"))
		return
	}
	if ok, wait := s.logins.allow(in.Username); !ok {
		w.Header().Set("Retry-After", "1")
		s.fail(w, r, &codedError{"rate_limited", "too many sign-ins for this user; retry in " + wait.Round(time.Second).String()})
		return
	}
	u, err := s.store.User(r.Context(), in.Username)
	if err != nil && manifest.CodeOf(err) != manifest.NotFound {
		s.fail(w, r, err)
		return
	}
	if err != nil {
		auth.BurnPasswordCheck(in.Password)
	}
	if err != nil || !auth.CheckPassword(u.Hash, in.Password) || u.Disabled {
		s.fail(w, r, manifest.Errorf(manifest.Unauthenticated, "wrong username or password, or the user is disabled"))
		return
	}
	resp, err := s.issue(r.Context(), u, "")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusOK, resp)
}

// issue makes an access token and a refresh token for a user. family is
// "" for a new sign-in.
func (s *Server) issue(ctx context.Context, u store.User, family string) (TokenResponse, error) {
	a := auth.Actor{Subject: u.Username, Org: u.Org, Role: auth.Role(u.Role), MSP: u.MSP}
	tok, exp, err := s.tokens.Issue(a)
	if err != nil {
		return TokenResponse{}, err
	}
	refresh := auth.NewSecret(auth.RefreshPrefix)
	if family == "" {
		family = newRequestID()
		if err := s.store.CreateRefresh(ctx, store.Refresh{Hash: auth.HashSecret(refresh), Family: family, Username: u.Username, Expires: s.cfg.Now().Add(s.cfg.RefreshTTL)}); err != nil {
			return TokenResponse{}, err
		}
	}
	return TokenResponse{AccessToken: tok, TokenType: "Bearer", ExpiresIn: int(time.Until(exp).Round(time.Second).Seconds()), ExpiresAt: exp,
		RefreshToken: refresh, Actor: viewActor(a)}, nil
}

func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) {
	var in struct {
		RefreshToken string `json:"refresh_token"`
	}
	if _, err := readJSON(w, r, 4<<10, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.RefreshToken == "" {
		s.fail(w, r, invalid("refresh_token", "refresh_token is required"))
		return
	}
	next := auth.NewSecret(auth.RefreshPrefix)
	old, err := s.store.UseRefresh(r.Context(), auth.HashSecret(in.RefreshToken), s.cfg.Now(),
		store.Refresh{Hash: auth.HashSecret(next), Expires: s.cfg.Now().Add(s.cfg.RefreshTTL)})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	u, err := s.store.User(r.Context(), old.Username)
	if err != nil || u.Disabled {
		s.fail(w, r, manifest.Errorf(manifest.Unauthenticated, "the user is disabled"))
		return
	}
	resp, err := s.issue(r.Context(), u, old.Family)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	resp.RefreshToken = next
	w.Header().Set("Cache-Control", "no-store")
	httpx.JSON(w, http.StatusOK, resp)
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	httpx.JSON(w, http.StatusOK, viewActor(actorOf(r)))
}

func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(s.keys.JWKS())
}

func (s *Server) handleRotate(w http.ResponseWriter, r *http.Request) {
	if !s.isRegulator(r.Context(), actorOf(r)) {
		s.fail(w, r, forbidden("only a regulator's administrator rotates the gateway's signing key"))
		return
	}
	kid, err := s.keys.Rotate()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "signing key rotated", "kid", kid)
	httpx.JSON(w, http.StatusOK, map[string]string{"kid": kid})
}
