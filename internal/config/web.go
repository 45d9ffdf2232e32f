package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"time"
)

// Web configures the browser interface: sessions and single sign-on.
type Web struct {
	// SessionLifetime ends a session this long after login, active or not.
	SessionLifetime Duration `yaml:"session_lifetime"`
	// IdleTimeout ends a session left unused this long.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// SecureCookies marks cookies Secure even on plain HTTP, for a daemon
	// behind a reverse proxy that terminates TLS. Requests over TLS get
	// Secure cookies regardless.
	SecureCookies bool `yaml:"secure_cookies"`
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed when rate-limiting logins per client address.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// MetricsFrom are the networks that may read /metrics without a token,
	// besides this machine; others need an admin's API token.
	// Check names and targets describe the network's inside.
	MetricsFrom []string `yaml:"metrics_from"`
	// PublicURL is maillon's address as browsers reach it
	// (https://maillon.example.org), for the login links mailed to
	// members; empty turns the emailed login off.
	PublicURL string `yaml:"public_url"`
	// OIDC is single sign-on for admins; empty Issuer turns it off.
	OIDC OIDC `yaml:"oidc"`
}

// OIDC is an OpenID Connect provider (Keycloak, authentik, ...) admins log
// in with. maillon is a confidential client using the authorization code
// flow with PKCE.
type OIDC struct {
	Issuer       string `yaml:"issuer"`
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
	// RedirectURL is maillon's callback as the browser reaches it,
	// https://maillon.example.org/login/oidc/callback; registered at the
	// provider.
	RedirectURL string `yaml:"redirect_url"`
	// Claim names the ID-token claim matched against admins' emails (or
	// names): "email" (the default, which must then be verified) or e.g.
	// "preferred_username".
	Claim string `yaml:"claim"`
	// Scopes added to openid; default email and profile.
	Scopes []string `yaml:"scopes"`
	// Name is shown on the login button ("Log in with Keycloak").
	Name string `yaml:"name"`
}

func defaultWeb() Web {
	return Web{SessionLifetime: Duration{12 * time.Hour}, IdleTimeout: Duration{time.Hour}}
}

// Enabled reports whether single sign-on is configured.
func (o OIDC) Enabled() bool { return o.Issuer != "" }

func (w *Web) validate() error {
	if w.SessionLifetime.Duration <= 0 {
		return fmt.Errorf("web.session_lifetime: must be positive")
	}
	if w.IdleTimeout.Duration <= 0 {
		return fmt.Errorf("web.idle_timeout: must be positive")
	}
	for _, list := range []struct {
		key  string
		nets []string
	}{{"trusted_proxies", w.TrustedProxies}, {"metrics_from", w.MetricsFrom}} {
		for _, p := range list.nets {
			if _, err := netip.ParsePrefix(p); err != nil {
				if _, err := netip.ParseAddr(p); err != nil {
					return fmt.Errorf("web.%s: %q is not an address or prefix", list.key, p)
				}
			}
		}
	}
	if w.PublicURL != "" {
		if u, err := url.Parse(w.PublicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("web.public_url: %q is not an http(s) URL", w.PublicURL)
		}
	}
	o := w.OIDC
	if !o.Enabled() {
		return nil
	}
	if u, err := url.Parse(o.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("web.oidc.issuer: %q is not an http(s) URL", o.Issuer)
	}
	if o.ClientID == "" {
		return fmt.Errorf("web.oidc.client_id: required with web.oidc.issuer")
	}
	if u, err := url.Parse(o.RedirectURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("web.oidc.redirect_url: %q is not an http(s) URL (maillon's /login/oidc/callback as browsers reach it)", o.RedirectURL)
	}
	return nil
}
