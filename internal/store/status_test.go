package store_test

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"maillon/internal/registry"
)

func (f *fixture) read(fn func(r registry.Reader) error) {
	f.t.Helper()
	if err := f.reg.Read(f.ctx, fn); err != nil {
		f.t.Fatal(err)
	}
}

// TestStatusComponentsIncidentsMaintenance writes components linked to
// registry objects, an incident with its timeline and maintenance, and
// reads them back as written, each change audited.
func TestStatusComponentsIncidentsMaintenance(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		site, err := f.reg.CreateSite(f.ctx, f.admin, registry.SiteInput{Name: ptr("Fleming"), Kind: ptr(registry.SiteResidence)})
		if err != nil {
			t.Fatal(err)
		}
		sw, _ := f.reg.CreateHost(f.ctx, f.admin, registry.HostInput{Name: ptr("sw-fleming-1"), Role: ptr(registry.HostRoleSwitch), SiteID: &site.ID})
		c1, err := f.reg.CreateComponent(f.ctx, f.admin, registry.ComponentInput{Name: ptr("Internet — Fleming residence"), Group: ptr("Internet"),
			Targets: &[]string{"site:" + itoa(site.ID), "host:" + itoa(sw.ID), "site:" + itoa(site.ID)}})
		if err != nil {
			t.Fatal(err)
		}
		if len(c1.Targets) != 2 || c1.Targets[0] != (registry.Target{Kind: registry.TargetSite, ID: site.ID}) {
			t.Fatalf("targets = %+v", c1.Targets)
		}
		c2, err := f.reg.CreateComponent(f.ctx, f.admin, registry.ComponentInput{Name: ptr("VPN"), Position: ptr(-1), Targets: &[]string{"service:vpn"}})
		if err != nil {
			t.Fatal(err)
		}
		// Bad references are refused, naming the field.
		for _, bad := range [][]string{{"site:999"}, {"rack:1"}, {"host:x"}} {
			_, err := f.reg.CreateComponent(f.ctx, f.admin, registry.ComponentInput{Name: ptr("bad"), Targets: &bad})
			var ve *registry.ValidationError
			if !errors.As(err, &ve) || ve.Field != "targets" {
				t.Fatalf("targets %v: %v", bad, err)
			}
		}
		if _, err := f.reg.CreateComponent(f.ctx, f.admin, registry.ComponentInput{Name: ptr("vpn")}); !errors.Is(err, registry.ErrConflict) {
			t.Fatalf("duplicate name: %v", err)
		}
		var list []registry.Component
		f.read(func(r registry.Reader) error { list, err = r.ListComponents(f.ctx); return err })
		if len(list) != 2 || list[0].ID != c2.ID || list[1].Name != "Internet — Fleming residence" || list[1].Group != "Internet" {
			t.Fatalf("components by position = %+v", list)
		}

		inc, err := f.reg.OpenIncident(f.ctx, f.admin, registry.IncidentInput{Title: ptr("Fleming offline"), Impact: ptr(registry.ImpactMajor),
			Components: &[]int64{c1.ID}, Message: "The switch does not answer."})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.reg.OpenIncident(f.ctx, f.admin, registry.IncidentInput{Title: ptr("x"), Components: &[]int64{999}, Message: "m"}); err == nil {
			t.Fatal("incident on an unknown component accepted")
		}
		f.clock.Advance(10 * time.Minute)
		if _, err := f.reg.UpdateIncident(f.ctx, f.admin, inc.ID, registry.IncidentInput{State: ptr(registry.IncidentIdentified), Message: "Power cut in the basement."}); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Hour)
		res, err := f.reg.UpdateIncident(f.ctx, f.admin, inc.ID, registry.IncidentInput{State: ptr(registry.IncidentResolved), Message: "Power is back."})
		if err != nil {
			t.Fatal(err)
		}
		if res.ResolvedAt == nil || !res.ResolvedAt.Equal(f.clock.Now()) {
			t.Fatalf("resolved at %v, want %v", res.ResolvedAt, f.clock.Now())
		}
		if _, err := f.reg.UpdateIncident(f.ctx, f.admin, inc.ID, registry.IncidentInput{Message: "again"}); !errors.Is(err, registry.ErrConflict) {
			t.Fatalf("update of a resolved incident: %v", err)
		}
		var got registry.Incident
		f.read(func(r registry.Reader) error { got, err = r.GetIncident(f.ctx, inc.ID); return err })
		states := []registry.IncidentState{}
		for _, u := range got.Updates {
			states = append(states, u.State)
		}
		if !slices.Equal(states, []registry.IncidentState{"investigating", "identified", "resolved"}) || got.Updates[1].Message != "Power cut in the basement." ||
			!got.StartedAt.Equal(time.Date(2026, 3, 14, 10, 11, 32, 0, time.UTC)) || got.Updates[0].Author != "test" {
			t.Fatalf("incident = %+v", got)
		}
		var heads []registry.Incident
		f.read(func(r registry.Reader) error { heads, err = r.ListIncidentHeads(f.ctx, time.Time{}); return err })
		if len(heads) != 1 || heads[0].ID != inc.ID || len(heads[0].Updates) != 0 || heads[0].ResolvedAt == nil || heads[0].Title != "Fleming offline" {
			t.Fatalf("heads = %+v", heads)
		}
		f.read(func(r registry.Reader) error {
			heads, err = r.ListIncidentHeads(f.ctx, f.clock.Now().Add(time.Minute))
			return err
		})
		if len(heads) != 0 {
			t.Fatalf("heads since later = %+v", heads)
		}
		// Each timeline entry is a notice, once.
		var pending []registry.Notice
		f.read(func(r registry.Reader) error { pending, err = r.ListPendingNotices(f.ctx); return err })
		if len(pending) != 3 || pending[0].Key != registry.IncidentUpdateNotice(got.Updates[0].ID) {
			t.Fatalf("pending notices = %+v", pending)
		}

		now := f.clock.Now()
		m, err := f.reg.PlanMaintenance(f.ctx, f.admin, registry.MaintenanceInput{Title: "Switch firmware", Components: []int64{c1.ID, c2.ID},
			StartsAt: now.Add(24 * time.Hour), EndsAt: now.Add(26 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.reg.PlanMaintenance(f.ctx, f.admin, registry.MaintenanceInput{Title: "x", Components: []int64{c1.ID},
			StartsAt: now.Add(2 * time.Hour), EndsAt: now.Add(time.Hour)}); err == nil {
			t.Fatal("maintenance ending before it starts accepted")
		}
		if err := f.reg.DeleteComponent(f.ctx, f.admin, c2.ID); !errors.Is(err, registry.ErrInUse) {
			t.Fatalf("delete of a component named by maintenance: %v", err)
		}
		var ms []registry.Maintenance
		f.read(func(r registry.Reader) error { ms, err = r.ListMaintenance(f.ctx, now); return err })
		if len(ms) != 1 || !slices.Equal(ms[0].Components, []int64{c1.ID, c2.ID}) || !ms[0].StartsAt.Equal(now.Add(24*time.Hour)) || ms[0].Phase(now) != "planned" {
			t.Fatalf("maintenance = %+v", ms)
		}
		c, err := f.reg.CancelMaintenance(f.ctx, f.admin, m.ID)
		if err != nil || c.Phase(now) != "cancelled" {
			t.Fatalf("cancel: %+v, %v", c, err)
		}
		if _, err := f.reg.CancelMaintenance(f.ctx, f.admin, m.ID); !errors.Is(err, registry.ErrConflict) {
			t.Fatalf("second cancel: %v", err)
		}
		audit, _ := f.reg.Audit(f.ctx, registry.AuditFilter{})
		var actions []string
		for _, e := range audit {
			if e.Entity == "incident" || e.Entity == "maintenance" || e.Entity == "component" {
				actions = append(actions, e.Action+" "+e.Entity)
			}
		}
		for _, want := range []string{"create component", "open incident", "update incident", "resolve incident", "plan maintenance", "cancel maintenance"} {
			if !slices.Contains(actions, want) {
				t.Fatalf("audit has %v, not %q", actions, want)
			}
		}
	})
}

// TestStatusPrefsSubscribersDeliveries covers members' preferences, the
// double opt-in of public subscribers and the once-only delivery ledger.
func TestStatusPrefsSubscribersDeliveries(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		ada := f.member("Ada Lovelace")
		if err := f.reg.SetMemberLanguage(f.ctx, f.admin, ada.ID, "de"); err == nil {
			t.Fatal("language de accepted")
		}
		// The language keeps the member's notification choices, and they
		// keep the language.
		if _, err := f.reg.SetMemberPrefs(f.ctx, f.admin, registry.MemberPrefs{MemberID: ada.ID, Incidents: true}); err != nil {
			t.Fatal(err)
		}
		if err := f.reg.SetMemberLanguage(f.ctx, f.admin, ada.ID, "EN"); err != nil {
			t.Fatal(err)
		}
		bob := f.member("Bob Morane")
		if err := f.reg.SetMemberLanguage(f.ctx, f.admin, bob.ID, "fr"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.reg.SetMemberPrefs(f.ctx, f.admin, registry.MemberPrefs{MemberID: bob.ID, Maintenance: false, Incidents: false}); err != nil {
			t.Fatal(err)
		}
		var langs map[int64]string
		f.read(func(r registry.Reader) error { var err error; langs, err = r.MemberLanguages(f.ctx); return err })
		if len(langs) != 2 || langs[ada.ID] != "en" || langs[bob.ID] != "fr" {
			t.Fatalf("languages = %v", langs)
		}
		pa, _ := f.reg.MemberPrefs(f.ctx, ada.ID)
		pb, _ := f.reg.MemberPrefs(f.ctx, bob.ID)
		if pa.Maintenance || !pa.Incidents || pb.Maintenance || pb.Incidents {
			t.Fatalf("prefs = %+v, %+v", pa, pb)
		}
		if audit, _ := f.reg.Audit(f.ctx, registry.AuditFilter{Entity: "member_prefs"}); len(audit) != 4 {
			t.Fatalf("prefs audit = %d entries", len(audit))
		}

		comp, _ := f.reg.CreateComponent(f.ctx, f.admin, registry.ComponentInput{Name: ptr("Mail"), Targets: &[]string{"service:mail"}})
		if _, _, err := f.reg.Subscribe(f.ctx, registry.Actor{Name: "public"}, "not an email", "", nil); err == nil {
			t.Fatal("bad email accepted")
		}
		sub, token, err := f.reg.Subscribe(f.ctx, registry.Actor{Name: "public"}, "Reader@Example.org", "en", []int64{comp.ID})
		if err != nil || sub.ConfirmedAt != nil || token == "" || sub.Email != "reader@example.org" {
			t.Fatalf("subscribe = %+v, %q, %v", sub, token, err)
		}
		if _, err := f.reg.ConfirmSubscription(f.ctx, "wrong", 48*time.Hour); err == nil {
			t.Fatal("wrong token confirmed")
		}
		f.clock.Advance(time.Hour)
		conf, err := f.reg.ConfirmSubscription(f.ctx, token, 48*time.Hour)
		if err != nil || conf.ConfirmedAt == nil || conf.ID != sub.ID {
			t.Fatalf("confirm = %+v, %v", conf, err)
		}
		// An unconfirmed one expires; the confirmed one stays.
		late, lateToken, _ := f.reg.Subscribe(f.ctx, registry.Actor{Name: "public"}, "late@example.org", "", nil)
		f.clock.Advance(49 * time.Hour)
		if _, err := f.reg.ConfirmSubscription(f.ctx, lateToken, 48*time.Hour); err == nil {
			t.Fatal("expired token confirmed")
		}
		if n, err := f.reg.ExpireSubscriptions(f.ctx, 48*time.Hour); err != nil || n != 1 {
			t.Fatalf("expired %d, %v", n, err)
		}
		var subs []registry.Subscriber
		f.read(func(r registry.Reader) error { subs, err = r.ListSubscribers(f.ctx); return err })
		if len(subs) != 1 || subs[0].ID != sub.ID || subs[0].ID == late.ID {
			t.Fatalf("subscribers = %+v", subs)
		}

		m, _ := f.reg.PlanMaintenance(f.ctx, f.admin, registry.MaintenanceInput{Title: "t", Components: []int64{comp.ID},
			StartsAt: f.clock.Now().Add(time.Hour), EndsAt: f.clock.Now().Add(2 * time.Hour)})
		key := registry.MaintenanceNotice(m.ID, "planned")
		ds := []registry.Delivery{{Recipient: "member:1", Email: "a@example.org"}, {Recipient: "subscriber:1", Email: "r@example.org", Language: "en"}}
		if n, err := f.reg.PlanDeliveries(f.ctx, key, "maintenance", m.ID, ds); err != nil || n != 2 {
			t.Fatalf("planned %d, %v", n, err)
		}
		// Planning again adds nobody.
		if n, err := f.reg.PlanDeliveries(f.ctx, key, "maintenance", m.ID, ds); err != nil || n != 0 {
			t.Fatalf("planned again %d, %v", n, err)
		}
		var pend []registry.Delivery
		f.read(func(r registry.Reader) error { pend, err = r.ListPendingDeliveries(f.ctx, 3, 10); return err })
		if len(pend) != 2 {
			t.Fatalf("pending = %+v", pend)
		}
		// Two instances claim the same delivery: one wins.
		first, second := pend[0], pend[0]
		if ok, err := f.reg.ClaimDelivery(f.ctx, &first); err != nil || !ok || first.Attempts != 1 {
			t.Fatalf("claim: %v %v %+v", ok, err, first)
		}
		if ok, err := f.reg.ClaimDelivery(f.ctx, &second); err != nil || ok {
			t.Fatalf("second claim: %v %v", ok, err)
		}
		if err := f.reg.RecordDelivery(f.ctx, first, nil); err != nil {
			t.Fatal(err)
		}
		if ok, _ := f.reg.ClaimDelivery(f.ctx, &first); ok {
			t.Fatal("a sent delivery was claimed again")
		}
		for range 3 {
			d := pend[1]
			if ok, err := f.reg.ClaimDelivery(f.ctx, &d); err != nil || !ok {
				t.Fatalf("claim %+v: %v %v", d, ok, err)
			}
			if err := f.reg.RecordDelivery(f.ctx, d, errors.New("550 no such user")); err != nil {
				t.Fatal(err)
			}
			f.read(func(r registry.Reader) error { all, err := r.ListDeliveries(f.ctx, key); pend[1] = all[1]; return err })
		}
		f.read(func(r registry.Reader) error { pend, err = r.ListPendingDeliveries(f.ctx, 3, 10); return err })
		if len(pend) != 0 {
			t.Fatalf("still pending after a send and three failures: %+v", pend)
		}
		var all []registry.Delivery
		f.read(func(r registry.Reader) error { all, err = r.ListDeliveries(f.ctx, key); return err })
		if all[0].SentAt == nil || all[1].SentAt != nil || all[1].Attempts != 3 || all[1].LastError != "550 no such user" {
			t.Fatalf("deliveries = %+v", all)
		}
		// NoticeMaintenance writes once.
		for range 2 {
			if err := f.reg.NoticeMaintenance(f.ctx, m.ID, "start"); err != nil {
				t.Fatal(err)
			}
		}
		var ns []registry.Notice
		f.read(func(r registry.Reader) error { ns, err = r.ListPendingNotices(f.ctx); return err })
		if len(ns) != 1 || ns[0].Key != registry.MaintenanceNotice(m.ID, "start") {
			t.Fatalf("pending notices = %+v", ns)
		}
		// Deleting the member takes its preferences along.
		if err := f.reg.DeleteMember(f.ctx, f.admin, ada.ID); err != nil {
			t.Fatal(err)
		}
		f.read(func(r registry.Reader) error { var err error; langs, err = r.MemberLanguages(f.ctx); return err })
		if _, ok := langs[ada.ID]; ok {
			t.Fatalf("language of a deleted member kept: %v", langs)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// Components and checks name sites, hosts and NAS by id without a foreign
// key: deleting one they name is refused, as a site with hosts is, until
// nothing names it.
func TestDeleteRefusedWhileTargeted(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		site, err := f.reg.CreateSite(f.ctx, f.admin, registry.SiteInput{Name: ptr("Fleming")})
		if err != nil {
			t.Fatal(err)
		}
		host, err := f.reg.CreateHost(f.ctx, f.admin, registry.HostInput{Name: ptr("gw1")})
		if err != nil {
			t.Fatal(err)
		}
		nas, err := f.reg.CreateNAS(f.ctx, f.admin, registry.NASInput{Name: ptr("demo-bras"), Address: ptr("192.0.2.1"), Secret: ptr("xxxxxxxx"), Kind: ptr(registry.NASBras)})
		if err != nil {
			t.Fatal(err)
		}
		comp, err := f.reg.CreateComponent(f.ctx, f.admin, registry.ComponentInput{Name: ptr("Internet"), Targets: &[]string{"nas:demo-bras", "site:Fleming"}})
		if err != nil {
			t.Fatal(err)
		}
		chk, err := f.reg.CreateCheck(f.ctx, f.admin, registry.CheckInput{Name: ptr("radius"), Kind: ptr(registry.CheckRADIUS),
			Address: ptr("192.0.2.1:1812"), Secret: ptr("s3cret"), NASID: &nas.ID})
		if err != nil {
			t.Fatal(err)
		}
		hostCheck, err := f.reg.CreateCheck(f.ctx, f.admin, registry.CheckInput{Name: ptr("gw1 ping"), Kind: ptr(registry.CheckICMP), Address: ptr("192.0.2.2"), HostID: &host.ID})
		if err != nil {
			t.Fatal(err)
		}
		refused := func(what string, err error, want string) {
			t.Helper()
			if !errors.Is(err, registry.ErrInUse) || !strings.Contains(err.Error(), want) {
				t.Fatalf("delete %s = %v, want in use: …%s…", what, err, want)
			}
		}
		refused("NAS named by a component", f.reg.DeleteNAS(f.ctx, f.admin, nas.ID), `nas demo-bras is a target of status component "Internet"`)
		refused("site named by a component", f.reg.DeleteSite(f.ctx, f.admin, site.ID), `site Fleming is a target of status component "Internet"`)
		refused("host watched by a check", f.reg.DeleteHost(f.ctx, f.admin, host.ID), `host gw1 is watched by check "gw1 ping"`)
		if _, err := f.reg.UpdateComponent(f.ctx, f.admin, comp.ID, registry.ComponentInput{Targets: &[]string{"service:vpn"}}); err != nil {
			t.Fatal(err)
		}
		refused("NAS watched by a check", f.reg.DeleteNAS(f.ctx, f.admin, nas.ID), `nas demo-bras is watched by check "radius"`)
		// The check still loads, with its NAS.
		if err := f.reg.Read(f.ctx, func(r registry.Reader) error { _, err := r.GetCheck(f.ctx, chk.ID); return err }); err != nil {
			t.Fatalf("check after the refused delete: %v", err)
		}
		for _, id := range []int64{chk.ID, hostCheck.ID} {
			if err := f.reg.DeleteCheck(f.ctx, f.admin, id); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.reg.DeleteNAS(f.ctx, f.admin, nas.ID); err != nil {
			t.Fatalf("delete NAS nothing names: %v", err)
		}
		if err := f.reg.DeleteSite(f.ctx, f.admin, site.ID); err != nil {
			t.Fatalf("delete site nothing names: %v", err)
		}
		if err := f.reg.DeleteHost(f.ctx, f.admin, host.ID); err != nil {
			t.Fatalf("delete host nothing names: %v", err)
		}
	})
}
