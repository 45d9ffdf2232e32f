package store_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"maillon/internal/registry"
)

func TestMemberLoginWithLineCredentials(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		f.pools()
		ada := f.member("Ada Lovelace")
		line, err := f.line(ada.ID, "ada@DEMO")
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.reg.MemberLogin(f.ctx, " ada@DEMO ", "ada@DEMO-password")
		if err != nil || got.ID != ada.ID {
			t.Fatalf("login with the line's credentials = %+v, %v", got, err)
		}
		for _, c := range []struct{ login, password string }{
			{"ada@DEMO", "wrong"}, {"ada@DEMO", ""}, {"nobody@DEMO", "ada@DEMO-password"}, {"ada@demo", "ada@DEMO-password"},
		} {
			if _, err := f.reg.MemberLogin(f.ctx, c.login, c.password); !errors.Is(err, registry.ErrUnauthenticated) {
				t.Errorf("login %q/%q: err = %v, want ErrUnauthenticated", c.login, c.password, err)
			}
		}
		// A closed line no longer logs in; a suspended one still does, so
		// the member can see why.
		if _, err := f.reg.UpdateSubscription(f.ctx, f.admin, line.ID, registry.SubscriptionInput{State: ptr(registry.SubSuspended)}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.reg.MemberLogin(f.ctx, "ada@DEMO", "ada@DEMO-password"); err != nil {
			t.Fatalf("suspended line: %v", err)
		}
		if _, err := f.reg.UpdateSubscription(f.ctx, f.admin, line.ID, registry.SubscriptionInput{State: ptr(registry.SubClosed)}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.reg.MemberLogin(f.ctx, "ada@DEMO", "ada@DEMO-password"); !errors.Is(err, registry.ErrUnauthenticated) {
			t.Fatalf("closed line: err = %v", err)
		}
	})
}

func TestLoginLinkIsSingleUseAndExpires(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		ada := f.member("Ada Lovelace")
		if _, _, err := f.reg.IssueLoginLink(f.ctx, "nobody@example.org"); !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("unknown email: err = %v, want ErrNotFound", err)
		}
		token, m, err := f.reg.IssueLoginLink(f.ctx, "ADA.Lovelace@example.org")
		if err != nil || m.ID != ada.ID {
			t.Fatalf("issue: %+v, %v", m, err)
		}
		got, err := f.reg.RedeemLoginLink(f.ctx, token)
		if err != nil || got.ID != ada.ID {
			t.Fatalf("redeem: %+v, %v", got, err)
		}
		if _, err := f.reg.RedeemLoginLink(f.ctx, token); !errors.Is(err, registry.ErrUnauthenticated) {
			t.Fatalf("second use: err = %v, want ErrUnauthenticated", err)
		}
		if _, err := f.reg.RedeemLoginLink(f.ctx, token+"x"); !errors.Is(err, registry.ErrUnauthenticated) {
			t.Fatalf("altered token: err = %v", err)
		}

		late, _, err := f.reg.IssueLoginLink(f.ctx, ada.Email)
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(registry.LoginLinkTTL)
		if _, err := f.reg.RedeemLoginLink(f.ctx, late); !errors.Is(err, registry.ErrUnauthenticated) {
			t.Fatalf("expired link: err = %v", err)
		}

		// The token is in no audit entry, only its existence and use.
		entries, err := f.reg.Audit(f.ctx, registry.AuditFilter{Entity: "login_link"})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 3 {
			t.Fatalf("audit has %d login_link entries, want 3 (two issued, one used)", len(entries))
		}
		for _, e := range entries {
			for _, raw := range []json.RawMessage{e.Before, e.After} {
				if strings.Contains(string(raw), token) || strings.Contains(string(raw), registry.HashToken(token)) {
					t.Fatalf("audit entry %d holds the token or its hash: %s", e.ID, raw)
				}
			}
		}
		for _, e := range entries {
			if e.Action == "use" && e.Actor != registry.MemberActor(ada).Name {
				t.Errorf("the use is attributed to %q, not the member", e.Actor)
			}
		}
	})
}

func TestMemberPrefs(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		ada := f.member("Ada Lovelace")
		p, err := f.reg.MemberPrefs(f.ctx, ada.ID)
		if err != nil || p != registry.DefaultMemberPrefs(ada.ID) {
			t.Fatalf("defaults = %+v, %v", p, err)
		}
		if _, err := f.reg.MemberPrefs(f.ctx, ada.ID+100); !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("unknown member: err = %v", err)
		}
		actor := registry.MemberActor(ada)
		for _, want := range []registry.MemberPrefs{
			{MemberID: ada.ID, Maintenance: false, Incidents: true},
			{MemberID: ada.ID, Maintenance: true, Incidents: false},
		} {
			if _, err := f.reg.SetMemberPrefs(f.ctx, actor, want); err != nil {
				t.Fatal(err)
			}
			got, err := f.reg.MemberPrefs(f.ctx, ada.ID)
			if err != nil || got.Maintenance != want.Maintenance || got.Incidents != want.Incidents {
				t.Fatalf("after set %+v: %+v, %v", want, got, err)
			}
			if got.UpdatedAt.Before(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
				t.Fatalf("updated_at not kept: %v", got.UpdatedAt)
			}
		}
		entries, err := f.reg.Audit(f.ctx, registry.AuditFilter{Entity: "member_prefs", EntityID: ada.ID})
		if err != nil || len(entries) != 2 || entries[0].Actor != actor.Name {
			t.Fatalf("audit = %+v, %v", entries, err)
		}
		// Deleting the member takes their choices with them.
		if err := f.reg.DeleteMember(f.ctx, f.admin, ada.ID); err != nil {
			t.Fatal(err)
		}
	})
}
