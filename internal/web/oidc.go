package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"maillon/internal/config"
	"maillon/internal/registry"
)

// oidcLogin is single sign-on for admins through the ISP's OpenID
// Connect provider (Keycloak, authentik, LemonLDAP::NG...): authorization
// code flow with PKCE, state and nonce. The provider vouches for an email
// (or the configured claim), which must be an admin's email or name; what
// the admin may do still comes from the registry's roles.
type oidcLogin struct {
	label  string
	cfg    config.OIDC
	client *http.Client

	mu       sync.Mutex
	provider *oidc.Provider
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// oidcCookie carries one login attempt between the redirect to the
// provider and its callback. It needs no signature: the browser's cookie
// jar is what binds the callback to the browser that started it, and only
// this site can set it.
const oidcCookie = "maillon_oidc"

type oidcAttempt struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"x,omitempty"`
}

func newOIDC(cfg config.OIDC) *oidcLogin {
	label := cfg.Name
	if label == "" {
		label = "single sign-on"
	}
	return &oidcLogin{label: label, cfg: cfg, client: &http.Client{Timeout: 10 * time.Second}}
}

// setup discovers the provider on first use, so that a provider down
// when maillon starts only delays single sign-on.
func (o *oidcLogin) setup(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.oauth != nil {
		return o.oauth, o.verifier, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, o.client), o.cfg.Issuer)
	if err != nil {
		return nil, nil, fmt.Errorf("discover %s: %w", o.cfg.Issuer, err)
	}
	scopes := o.cfg.Scopes
	if len(scopes) == 0 {
		scopes = []string{"email", "profile"}
	}
	o.oauth = &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, RedirectURL: o.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: append([]string{oidc.ScopeOpenID}, scopes...)}
	o.verifier = p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID})
	o.provider = p
	return o.oauth, o.verifier, nil
}

func init() { uiRoutes = append(uiRoutes, (*Server).oidcRoutes) }

func (s *Server) oidcRoutes() {
	if cfg := s.web().OIDC; cfg.Enabled() {
		s.oidc = newOIDC(cfg)
	}
	if s.oidc == nil {
		return
	}
	s.mux.HandleFunc("GET /login/oidc", s.ui(s.oidcStart))
	s.mux.HandleFunc("GET /login/oidc/callback", s.ui(s.oidcCallback))
}

// oidcStart sends the browser to the provider.
func (s *Server) oidcStart(w http.ResponseWriter, r *http.Request) {
	oauth, _, err := s.oidc.setup(r.Context())
	if err != nil {
		s.opt.Logger.Warn("single sign-on unavailable", "err", err)
		s.oidcFailed(w, r, http.StatusBadGateway, "the identity provider does not answer")
		return
	}
	a := oidcAttempt{State: registry.NewRandom(), Nonce: registry.NewRandom(), Verifier: oauth2.GenerateVerifier(),
		Next: localPath(r.URL.Query().Get("next"), "")}
	b, _ := json.Marshal(a)
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: base64.RawURLEncoding.EncodeToString(b), Path: "/login/oidc",
		HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode, MaxAge: 600})
	http.Redirect(w, r, oauth.AuthCodeURL(a.State, oidc.Nonce(a.Nonce), oauth2.S256ChallengeOption(a.Verifier)), http.StatusFound)
}

// oidcCallback checks the provider's answer and opens the session.
func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(oidcCookie)
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: "/login/oidc", HttpOnly: true, Secure: s.secure(r), MaxAge: -1})
	var a oidcAttempt
	if err == nil {
		b, derr := base64.RawURLEncoding.DecodeString(c.Value)
		err = errors.Join(derr, json.Unmarshal(b, &a))
	}
	q := r.URL.Query()
	if err != nil || a.State == "" || !registry.SameSecret(q.Get("state"), a.State) {
		s.oidcFailed(w, r, http.StatusBadRequest, "this answer does not match a login started from this browser (start again)")
		return
	}
	if e := q.Get("error"); e != "" {
		s.oidcFailed(w, r, http.StatusUnauthorized, "the identity provider refused: "+e+" "+q.Get("error_description"))
		return
	}
	oauth, verifier, err := s.oidc.setup(r.Context())
	if err != nil {
		s.oidcFailed(w, r, http.StatusBadGateway, "the identity provider does not answer")
		return
	}
	ctx := oidc.ClientContext(r.Context(), s.oidc.client)
	tok, err := oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(a.Verifier))
	if err != nil {
		s.opt.Logger.Warn("single sign-on: code exchange", "err", err)
		s.oidcFailed(w, r, http.StatusUnauthorized, "the code could not be exchanged")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := verifier.Verify(ctx, raw)
	if err != nil || !registry.SameSecret(idt.Nonce, a.Nonce) {
		s.opt.Logger.Warn("single sign-on: ID token refused", "err", err)
		s.oidcFailed(w, r, http.StatusUnauthorized, "the ID token is not valid")
		return
	}
	who, err := s.oidc.identity(ctx, idt, tok)
	if err != nil {
		s.oidcFailed(w, r, http.StatusForbidden, err.Error())
		return
	}
	admin, err := s.opt.Registry.FindAdminForSSO(r.Context(), who, s.oidc.claim() == "email")
	if err != nil {
		if !isNotFound(err) {
			s.renderFailure(w, r, err)
			return
		}
		s.opt.Logger.Info("single sign-on of an unknown admin", "who", who)
		s.renderStatus(w, r, http.StatusForbidden, "login.html", s.loginPage(r, loginData{Error: "login.sso_unknown", Who: who}))
		return
	}
	if err := s.startSession(w, r, registry.SessionAdmin, admin.ID, "oidc", registry.Actor{Name: "admin:" + admin.Name}); err != nil {
		s.renderFailure(w, r, err)
		return
	}
	http.Redirect(w, r, localPath(a.Next, "/admin/"), http.StatusSeeOther)
}

// claim names the claim that names the admin.
func (o *oidcLogin) claim() string {
	if o.cfg.Claim == "" {
		return "email"
	}
	return o.cfg.Claim
}

// identity is the claim that names the admin, from the ID token or else
// from the UserInfo endpoint (providers such as LemonLDAP::NG put only
// sub in the ID token); an email must not be marked unverified.
func (o *oidcLogin) identity(ctx context.Context, idt *oidc.IDToken, tok *oauth2.Token) (string, error) {
	name := o.claim()
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return "", fmt.Errorf("the ID token's claims: %w", err)
	}
	if _, ok := claims[name]; !ok {
		info, err := o.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			return "", fmt.Errorf("the ID token has no %q claim and UserInfo failed: %v", name, err)
		}
		if info.Subject != idt.Subject {
			return "", fmt.Errorf("UserInfo is about another subject than the ID token")
		}
		claims = map[string]any{}
		if err := info.Claims(&claims); err != nil {
			return "", fmt.Errorf("UserInfo claims: %w", err)
		}
	}
	v, _ := claims[name].(string)
	if strings.TrimSpace(v) == "" {
		return "", fmt.Errorf("neither the ID token nor UserInfo has a %q claim (web.oidc.claim)", name)
	}
	if name == "email" {
		if verified, ok := claims["email_verified"].(bool); ok && !verified {
			return "", fmt.Errorf("the identity provider has not verified the email %s", v)
		}
	}
	return v, nil
}

func (s *Server) oidcFailed(w http.ResponseWriter, r *http.Request, status int, why string) {
	s.renderStatus(w, r, status, "login.html", s.loginPage(r, loginData{Error: "login.sso_failed", Who: why}))
}
