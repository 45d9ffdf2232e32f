package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"maillon/internal/config"
	"maillon/internal/registry"
	"maillon/internal/testenv"
)

// Single sign-on against a real OpenID Connect provider: Debian's
// LemonLDAP::NG, with its demo users (dwho, rtyler).
func TestOIDCLoginWithLemonLDAP(t *testing.T) {
	var idp *testenv.LemonLDAP
	e := newUIEnvWith(t, func(base string, w *config.Web) {
		client := testenv.OIDCClient{ID: "maillon", Secret: "maillon-test-secret", RedirectURL: base + "/login/oidc/callback"}
		idp = testenv.StartLemonLDAP(t, client)
		w.OIDC = config.OIDC{Issuer: idp.Issuer, ClientID: client.ID, ClientSecret: client.Secret, RedirectURL: client.RedirectURL, Name: "LemonLDAP::NG"}
	})
	ctx := context.Background()
	name, email, roles := "Doctor", "dwho@badwolf.org", []registry.Role{registry.RoleReadOnly}
	if _, err := e.reg.CreateAdmin(ctx, registry.Actor{Name: "test"}, registry.AdminInput{Name: &name, Email: &email, Roles: &roles}); err != nil {
		t.Fatal(err)
	}

	b := e.browser()
	if r := b.get("/login"); !strings.Contains(r.body, `href="/login/oidc"`) || !strings.Contains(r.body, "Log in with LemonLDAP::NG") {
		t.Fatalf("login page without the single sign-on button:\n%s", r.body)
	}
	r := b.get("/login/oidc?next=/admin/audit")
	authz, err := url.Parse(r.location)
	if r.status != http.StatusFound || err != nil || !strings.HasPrefix(r.location, idp.Issuer) {
		t.Fatalf("start: %d %q", r.status, r.location)
	}
	q := authz.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("nonce") == "" ||
		!strings.Contains(q.Get("scope"), "openid") {
		t.Fatalf("authorization request lacks PKCE, state or nonce: %s", authz)
	}
	back := idp.SignIn(t, b.c, authz.String(), "dwho", "dwho")
	if !strings.HasPrefix(back.String(), e.srv.URL+"/login/oidc/callback?") || back.Query().Get("code") == "" {
		t.Fatalf("the provider sent the browser to %s", back)
	}
	r = b.get(back.RequestURI())
	if r.status != http.StatusSeeOther || r.location != "/admin/audit" {
		t.Fatalf("callback: %d %q\n%s", r.status, r.location, r.body)
	}
	r = b.get("/admin/")
	if r.status != 200 || !strings.Contains(r.body, "Doctor") || strings.Count(r.body, `method="post"`) != 1 {
		t.Fatalf("home after single sign-on (read-only: no form but logout): %d\n%s", r.status, r.body)
	}
	entries, _ := e.reg.Audit(ctx, registry.AuditFilter{Entity: "admin"})
	if len(entries) == 0 || entries[0].Action != "login" || !strings.Contains(string(entries[0].After), `"via":"oidc"`) {
		t.Fatalf("single sign-on not audited: %+v", entries)
	}
	// The same answer again: the attempt was used up.
	if r := b.get(back.RequestURI()); r.status != http.StatusBadRequest {
		t.Fatalf("replayed callback: %d", r.status)
	}

	// Someone the provider knows but who is no admin here.
	other := e.browser()
	r = other.get("/login/oidc")
	back = idp.SignIn(t, other.c, r.location, "rtyler", "rtyler")
	r = other.get(back.RequestURI())
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "rtyler@badwolf.org") {
		t.Fatalf("unknown admin: %d\n%s", r.status, r.body)
	}
	if r := other.get("/admin/"); r.status != http.StatusSeeOther {
		t.Fatalf("unknown admin got a session: %d", r.status)
	}
	// An email claim names admins by their email only: an admin whose
	// name happens to be that address is not who the provider vouched for.
	lookalike, elsewhere := "rtyler@badwolf.org", "someone@example.org"
	if _, err := e.reg.CreateAdmin(ctx, registry.Actor{Name: "test"}, registry.AdminInput{Name: &lookalike, Email: &elsewhere, Roles: &roles}); err != nil {
		t.Fatal(err)
	}
	r = other.get("/login/oidc")
	back = idp.SignIn(t, other.c, r.location, "rtyler", "rtyler")
	if r := other.get(back.RequestURI()); r.status != http.StatusForbidden {
		t.Fatalf("an email claim matched an admin's name: %d", r.status)
	}

	// A callback whose state is not this browser's is refused before the
	// code is even exchanged (login CSRF).
	third := e.browser()
	r = third.get("/login/oidc")
	back = idp.SignIn(t, third.c, r.location, "dwho", "dwho")
	forged := back.Query()
	forged.Set("state", "not-the-state")
	if r := third.get("/login/oidc/callback?" + forged.Encode()); r.status != http.StatusBadRequest {
		t.Fatalf("forged state: %d", r.status)
	}
}
