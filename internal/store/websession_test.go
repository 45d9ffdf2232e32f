package store_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"maillon/internal/registry"
)

func TestWebSessions(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		name, email := "Ada", "ada@example.org"
		roles := []registry.Role{registry.RoleAdmin}
		ad, err := f.reg.CreateAdmin(f.ctx, f.admin, registry.AdminInput{Name: &name, Email: &email, Roles: &roles})
		if err != nil {
			f.t.Fatal(err)
		}
		if _, err := f.reg.CheckAdminPassword(f.ctx, "Ada", "anything at all"); !errors.Is(err, registry.ErrUnauthenticated) {
			f.t.Fatalf("login without a password set: %v", err)
		}
		if err := f.reg.SetAdminPassword(f.ctx, f.admin, ad.ID, "short"); err == nil {
			f.t.Fatal("a 5-character password was accepted")
		}
		if err := f.reg.SetAdminPassword(f.ctx, f.admin, ad.ID, "correct horse battery"); err != nil {
			f.t.Fatal(err)
		}
		got, err := f.reg.CheckAdminPassword(f.ctx, "ADA@example.org", "correct horse battery")
		if err != nil || got.ID != ad.ID {
			f.t.Fatalf("login by email: %v %+v", err, got)
		}
		if _, err := f.reg.CheckAdminPassword(f.ctx, "Ada", "correct horse batterY"); !errors.Is(err, registry.ErrUnauthenticated) {
			f.t.Fatalf("wrong password: %v", err)
		}

		token, ws, err := f.reg.StartWebSession(f.ctx, registry.Actor{Name: "admin:Ada"}, registry.SessionStart{
			Kind: registry.SessionAdmin, SubjectID: ad.ID, Via: "password", RemoteAddr: "192.0.2.1", Lifetime: time.Hour})
		if err != nil {
			f.t.Fatal(err)
		}
		back, err := f.reg.WebSession(f.ctx, token)
		if err != nil || back.ID != ws.ID || back.CSRF != ws.CSRF || back.Kind != registry.SessionAdmin || !back.ExpiresAt.Equal(ws.ExpiresAt) {
			f.t.Fatalf("session read back: %v\n%+v\n%+v", err, back, ws)
		}
		later := ws.LastSeenAt.Add(10 * time.Minute)
		if err := f.reg.TouchWebSession(f.ctx, ws.ID, later); err != nil {
			f.t.Fatal(err)
		}
		if back, _ := f.reg.WebSession(f.ctx, token); !back.LastSeenAt.Equal(later) {
			f.t.Fatalf("touched at %v, read %v", later, back.LastSeenAt)
		}
		// The audit log has the login, never the token or its hash.
		entries, _ := f.reg.Audit(f.ctx, registry.AuditFilter{Entity: "admin", EntityID: ad.ID})
		for _, e := range entries {
			if strings.Contains(string(e.After), token) || strings.Contains(string(e.After), ws.TokenHash) ||
				strings.Contains(string(e.After), "argon2") {
				f.t.Fatalf("a secret in the audit log: %s", e.After)
			}
		}
		// A new password ends the admin's sessions.
		if err := f.reg.SetAdminPassword(f.ctx, f.admin, ad.ID, "another long password"); err != nil {
			f.t.Fatal(err)
		}
		if _, err := f.reg.WebSession(f.ctx, token); !errors.Is(err, registry.ErrUnauthenticated) {
			f.t.Fatalf("session after a password change: %v", err)
		}
		if ok, _ := f.reg.AdminHasPassword(f.ctx, ad.ID); !ok {
			f.t.Fatal("password not recorded")
		}
		if err := f.reg.SetAdminPassword(f.ctx, f.admin, ad.ID, ""); err != nil {
			f.t.Fatal(err)
		}
		if ok, _ := f.reg.AdminHasPassword(f.ctx, ad.ID); ok {
			f.t.Fatal("password still set after removal")
		}
		// Logout deletes; expired sessions go at the next login.
		token, ws, _ = f.reg.StartWebSession(f.ctx, registry.Actor{Name: "admin:Ada"}, registry.SessionStart{
			Kind: registry.SessionAdmin, SubjectID: ad.ID, Via: "password", Lifetime: time.Hour})
		if err := f.reg.EndWebSession(f.ctx, registry.Actor{Name: "admin:Ada"}, ws, "logout"); err != nil {
			f.t.Fatal(err)
		}
		if _, err := f.reg.WebSession(f.ctx, token); !errors.Is(err, registry.ErrUnauthenticated) {
			f.t.Fatalf("session after logout: %v", err)
		}
		old, _, _ := f.reg.StartWebSession(f.ctx, registry.Actor{Name: "admin:Ada"}, registry.SessionStart{
			Kind: registry.SessionAdmin, SubjectID: ad.ID, Lifetime: time.Minute})
		f.clock.Advance(2 * time.Minute)
		f.reg.StartWebSession(f.ctx, registry.Actor{Name: "admin:Ada"}, registry.SessionStart{
			Kind: registry.SessionAdmin, SubjectID: ad.ID, Lifetime: time.Minute})
		if _, err := f.reg.WebSession(f.ctx, old); !errors.Is(err, registry.ErrUnauthenticated) {
			f.t.Fatalf("expired session kept: %v", err)
		}
	})
}

func TestVerifyPassword(t *testing.T) {
	h, err := registry.HashPassword("pässword ünicode")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=4$") {
		t.Fatalf("PHC string %q", h)
	}
	if ok, err := registry.VerifyPassword(h, "pässword ünicode"); !ok || err != nil {
		t.Fatalf("right password: %v %v", ok, err)
	}
	if ok, _ := registry.VerifyPassword(h, "password unicode"); ok {
		t.Fatal("wrong password accepted")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", "$argon2id$v=19$m=99999999,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		strings.Replace(h, "v=19", "v=16", 1)} {
		if ok, err := registry.VerifyPassword(bad, "x"); ok || err == nil {
			t.Errorf("VerifyPassword(%q) = %v, %v; want an error", bad, ok, err)
		}
	}
}
