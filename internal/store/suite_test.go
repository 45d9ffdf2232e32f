package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"maillon/internal/registry"
	"maillon/internal/secret"
	"maillon/internal/store"
	"maillon/internal/testenv"
)

// The one storage test suite: every test runs on SQLite and on PostgreSQL.
type engine struct {
	name string
	open func(t *testing.T) string
}

var engines = []engine{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "maillon.db") }},
	{"postgres", func(t *testing.T) string { return testenv.FreshPostgresDB(t) }},
	{"pgbouncer", pgbouncerURL},
}

type fixture struct {
	t     *testing.T
	ctx   context.Context
	st    *store.Store
	reg   *registry.Service
	clock *fakeClock
	admin registry.Actor
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func forEachEngine(t *testing.T, fn func(f *fixture)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			url := e.open(t)
			ctx := context.Background()
			st, err := store.Open(ctx, url)
			if err != nil {
				t.Fatalf("open %s: %v", e.name, err)
			}
			t.Cleanup(func() { st.Close() })
			key, _ := secret.ParseKey(secret.NewKey())
			box, _ := secret.New(key)
			clock := &fakeClock{now: time.Date(2026, 3, 14, 10, 11, 32, 0, time.UTC)}
			reg := registry.New(st, box, registry.Options{Quarantine: 24 * time.Hour, Now: clock.Now})
			fn(&fixture{t: t, ctx: ctx, st: st, reg: reg, clock: clock, admin: registry.Actor{Name: "test"}})
		})
	}
}

func ptr[T any](v T) *T { return &v }

func (f *fixture) member(name string) registry.Member {
	f.t.Helper()
	start, _ := registry.ParseDate("2026-01-01")
	m, err := f.reg.CreateMember(f.ctx, f.admin, registry.MemberInput{
		Name: ptr(name), Email: ptr(strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.org"),
		Periods: &[]registry.Period{{Start: start}},
	})
	if err != nil {
		f.t.Fatalf("create member %s: %v", name, err)
	}
	return m
}

func (f *fixture) prefix(cidr string, purpose registry.Purpose) registry.Prefix {
	f.t.Helper()
	p, err := f.reg.CreatePrefix(f.ctx, f.admin, registry.PrefixInput{CIDR: ptr(cidr), Purpose: ptr(purpose)})
	if err != nil {
		f.t.Fatalf("create prefix %s: %v", cidr, err)
	}
	return p
}

func (f *fixture) pools() {
	f.prefix("198.51.100.0/24", registry.PurposeAggregate)
	f.prefix("198.51.100.0/25", registry.PurposeSubscriber)
	f.prefix("2001:db8::/32", registry.PurposeAggregate)
	f.prefix("2001:db8:100::/40", registry.PurposeSubscriber)
	f.prefix("2001:db8:1000::/36", registry.PurposeDelegated)
}

func (f *fixture) line(memberID int64, login string) (registry.Subscription, error) {
	return f.reg.CreateSubscription(f.ctx, f.admin, registry.SubscriptionInput{
		MemberID: &memberID, Kind: ptr(registry.KindPPP), Login: ptr(login), Password: ptr(login + "-password"),
	})
}

func (f *fixture) countMembers() int64 {
	var n int64
	if err := f.reg.Read(f.ctx, func(r registry.Reader) error {
		var err error
		n, err = r.CountMembers(f.ctx)
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func addrOf(s registry.Subscription, role registry.AddressRole) netip.Prefix {
	for _, a := range s.Addresses {
		if a.Role == role {
			return a.Block
		}
	}
	return netip.Prefix{}
}

func TestMemberLifecycle(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		m := f.member("Ada Lovelace")
		if m.ID == 0 || m.State != registry.MemberActive || len(m.Periods) != 1 {
			t.Fatalf("created member = %+v", m)
		}
		got, err := f.reg.FindMember(f.ctx, "ADA.lovelace@EXAMPLE.org")
		if err != nil || got.ID != m.ID {
			t.Fatalf("find by email: %+v, %v", got, err)
		}
		end, _ := registry.ParseDate("2026-06-30")
		upd, err := f.reg.UpdateMember(f.ctx, f.admin, m.ID, registry.MemberInput{
			Phone:   ptr("+32 470 12 34 56"),
			Periods: &[]registry.Period{{Start: m.Periods[0].Start, End: &end}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if upd.Phone != "+32 470 12 34 56" || upd.Name != "Ada Lovelace" {
			t.Fatalf("update lost or ignored fields: %+v", upd)
		}
		if s := upd.MembershipAt(f.clock.Now()); s != registry.MembershipCurrent {
			t.Fatalf("membership in March = %s", s)
		}
		// Nobody edits anything: July comes and the member is expired.
		if s := upd.MembershipAt(time.Date(2026, 7, 1, 0, 0, 1, 0, time.UTC)); s != registry.MembershipExpired {
			t.Fatalf("membership in July = %s", s)
		}
		list, err := listMembers(f, registry.ListOptions{Search: "lovel"})
		if err != nil || len(list) != 1 || len(list[0].Periods) != 1 || list[0].Periods[0].End == nil {
			t.Fatalf("search = %+v, %v", list, err)
		}
		if err := f.reg.DeleteMember(f.ctx, f.admin, m.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.reg.FindMember(f.ctx, fmt.Sprint(m.ID)); !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("deleted member still found: %v", err)
		}
		audit, err := f.reg.Audit(f.ctx, registry.AuditFilter{Entity: "member", EntityID: m.ID})
		if err != nil || len(audit) != 3 {
			t.Fatalf("audit = %d entries, %v", len(audit), err)
		}
		if audit[0].Action != "delete" || audit[0].After != nil || !strings.Contains(string(audit[0].Before), "+32 470") {
			t.Fatalf("delete audit entry = %+v", audit[0])
		}
		if audit[1].Action != "update" || !strings.Contains(string(audit[1].After), "2026-06-30") || strings.Contains(string(audit[1].Before), "2026-06-30") {
			t.Fatalf("update audit entry before/after = %s / %s", audit[1].Before, audit[1].After)
		}
		if audit[2].Actor != "test" {
			t.Fatalf("audit actor = %q", audit[2].Actor)
		}
	})
}

func listMembers(f *fixture, opt registry.ListOptions) ([]registry.Member, error) {
	var out []registry.Member
	err := f.reg.Read(f.ctx, func(r registry.Reader) error {
		var err error
		out, err = r.ListMembers(f.ctx, opt)
		return err
	})
	return out, err
}

func TestBadMemberInputChangesNothing(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		f.member("Grace Hopper")
		cases := []registry.MemberInput{
			{Name: ptr("X"), Email: ptr("not-an-email")},
			{Name: ptr("X"), Email: ptr("x@localhost")},
			{Name: ptr(""), Email: ptr("x@example.org")},
			{Name: ptr("X"), Email: ptr("x@example.org"), Phone: ptr("call me maybe")},
			{Name: ptr("X"), Email: ptr("x@example.org"), State: ptr(registry.MemberState("gone"))},
		}
		for _, in := range cases {
			_, err := f.reg.CreateMember(f.ctx, f.admin, in)
			var ve *registry.ValidationError
			if !errors.As(err, &ve) || ve.Field == "" {
				t.Errorf("CreateMember(%+v) = %v, want a validation error naming the field", in, err)
			}
		}
		// Same email in another case: a conflict, not a second member.
		_, err := f.reg.CreateMember(f.ctx, f.admin, registry.MemberInput{Name: ptr("Imposter"), Email: ptr("GRACE.hopper@example.org")})
		if !errors.Is(err, registry.ErrConflict) || !strings.Contains(err.Error(), "email") {
			t.Errorf("duplicate email = %v", err)
		}
		if n := f.countMembers(); n != 1 {
			t.Fatalf("bad input left %d members", n)
		}
		// Phone is optional (re2o made it mandatory; its users asked why).
		if _, err := f.reg.CreateMember(f.ctx, f.admin, registry.MemberInput{Name: ptr("No Phone"), Email: ptr("np@example.org")}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSubscriptionAllocatesAddresses(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		f.pools()
		m := f.member("Linus")
		s1, err := f.line(m.ID, "p1f9bd1@NEUTRINET")
		if err != nil {
			t.Fatal(err)
		}
		v4, v6, pd := addrOf(s1, registry.RoleIPv4), addrOf(s1, registry.RoleIPv6), addrOf(s1, registry.RoleDelegated)
		if v4.String() != "198.51.100.1/32" || v6.String() != "2001:db8:100::/64" || pd.String() != "2001:db8:1000::/56" {
			t.Fatalf("first line got %s %s %s", v4, v6, pd)
		}
		s2, err := f.line(m.ID, "demo2@DEMO")
		if err != nil {
			t.Fatal(err)
		}
		if addrOf(s2, registry.RoleIPv4).String() != "198.51.100.2/32" || addrOf(s2, registry.RoleDelegated).String() != "2001:db8:1000:100::/56" {
			t.Fatalf("second line got %v", s2.Addresses)
		}
		// Lookups by what an admin has at hand.
		for _, ref := range []string{"p1f9bd1@NEUTRINET", "198.51.100.1", "2001:db8:100::42", "2001:db8:1000:ff::1", fmt.Sprint(s1.ID)} {
			got, err := f.reg.FindSubscription(f.ctx, ref)
			if err != nil || got.ID != s1.ID {
				t.Errorf("FindSubscription(%q) = %d, %v; want %d", ref, got.ID, err, s1.ID)
			}
		}
		if mm, err := f.reg.FindMember(f.ctx, "198.51.100.2"); err != nil || mm.ID != m.ID {
			t.Errorf("FindMember by IP = %+v, %v", mm, err)
		}
		// The password is sealed, never in the audit log, and opens.
		if !s1.PasswordSet {
			t.Fatal("password not recorded")
		}
		if p, err := f.reg.Password(&s1); err != nil || p != "p1f9bd1@NEUTRINET-password" {
			t.Fatalf("Password = %q, %v", p, err)
		}
		audit, _ := f.reg.Audit(f.ctx, registry.AuditFilter{Entity: "subscription"})
		for _, e := range audit {
			if strings.Contains(string(e.After)+string(e.Before), "-password") {
				t.Fatalf("password in audit log: %s", e.After)
			}
		}
		if !strings.Contains(string(audit[0].After), "198.51.100.2/32") {
			t.Fatalf("audit entry does not show the allocated address: %s", audit[0].After)
		}
		// A duplicate login is refused and allocates nothing.
		if _, err := f.line(m.ID, "demo2@DEMO"); !errors.Is(err, registry.ErrConflict) {
			t.Fatalf("duplicate login = %v", err)
		}
		s3, err := f.line(m.ID, "demo3@DEMO")
		if err != nil || addrOf(s3, registry.RoleIPv4).String() != "198.51.100.3/32" {
			t.Fatalf("after a refused duplicate the next line got %v, %v", s3.Addresses, err)
		}
	})
}

func TestPrefixOverlapRules(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		f.pools()
		bad := []struct {
			cidr    string
			purpose registry.Purpose
		}{
			{"198.51.100.64/26", registry.PurposeSubscriber}, // inside a pool
			{"198.51.100.0/23", registry.PurposeSubscriber},  // around a pool
			{"198.51.100.0/25", registry.PurposeInfrastructure},
			{"198.51.100.0/24", registry.PurposeAggregate}, // exists
			{"198.51.100.7/24", registry.PurposeAggregate}, // host bits
		}
		for _, b := range bad {
			_, err := f.reg.CreatePrefix(f.ctx, f.admin, registry.PrefixInput{CIDR: ptr(b.cidr), Purpose: ptr(b.purpose)})
			if err == nil {
				t.Errorf("prefix %s (%s) accepted", b.cidr, b.purpose)
			}
		}
		// Nesting inside an aggregate is fine.
		f.prefix("198.51.100.128/26", registry.PurposeInfrastructure)
		var n int
		f.reg.Read(f.ctx, func(r registry.Reader) error {
			ps, err := r.ListPrefixes(f.ctx)
			n = len(ps)
			return err
		})
		if n != 6 {
			t.Fatalf("%d prefixes after refusals, want 6", n)
		}
		_, err := f.reg.CreatePrefix(f.ctx, f.admin, registry.PrefixInput{CIDR: ptr("2001:db8:2000::/36"), Purpose: ptr(registry.PurposeDelegated), BlockBits: ptr(40)})
		if err == nil {
			t.Fatal("a /40 delegation size accepted")
		}
	})
}

func TestExhaustedPoolLeavesNothing(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		f.prefix("192.0.2.0/30", registry.PurposeSubscriber) // .1 and .2 usable
		m := f.member("Margaret")
		for i := range 2 {
			if _, err := f.line(m.ID, fmt.Sprintf("l%d@DEMO", i)); err != nil {
				t.Fatal(err)
			}
		}
		_, err := f.line(m.ID, "l3@DEMO")
		if !errors.Is(err, registry.ErrExhausted) || !strings.Contains(err.Error(), "192.0.2.0/30") {
			t.Fatalf("third line on a /30 = %v", err)
		}
		if _, err := f.reg.FindSubscription(f.ctx, "l3@DEMO"); !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("refused subscription exists: %v", err)
		}
	})
}

func TestDeleteMemberWithActiveLine(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		f.pools()
		m := f.member("Alan")
		s, err := f.line(m.ID, "alan@DEMO")
		if err != nil {
			t.Fatal(err)
		}
		err = f.reg.DeleteMember(f.ctx, f.admin, m.ID)
		if !errors.Is(err, registry.ErrInUse) || !strings.Contains(err.Error(), "alan@DEMO") {
			t.Fatalf("delete member with active line = %v", err)
		}
		if f.countMembers() != 1 {
			t.Fatal("member gone after refused delete")
		}
		if _, err := f.reg.UpdateSubscription(f.ctx, f.admin, s.ID, registry.SubscriptionInput{State: ptr(registry.SubClosed)}); err != nil {
			t.Fatal(err)
		}
		if err := f.reg.DeleteMember(f.ctx, f.admin, m.ID); err != nil {
			t.Fatalf("delete member with closed line: %v", err)
		}
	})
}

func TestQuarantineBeforeReuse(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		f.prefix("192.0.2.0/29", registry.PurposeSubscriber) // .1 to .6
		m := f.member("Barbara")
		var subs []registry.Subscription
		for i := range 6 {
			s, err := f.line(m.ID, fmt.Sprintf("b%d@DEMO", i))
			if err != nil {
				t.Fatal(err)
			}
			subs = append(subs, s)
		}
		freed := addrOf(subs[2], registry.RoleIPv4)
		if err := f.reg.DeleteSubscription(f.ctx, f.admin, subs[2].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.reg.FindSubscription(f.ctx, freed.Addr().String()); !errors.Is(err, registry.ErrNotFound) || !strings.Contains(err.Error(), "quarantine") {
			t.Fatalf("lookup of a quarantined address = %v", err)
		}
		// Still in quarantine: the pool counts as full.
		if _, err := f.line(m.ID, "new@DEMO"); !errors.Is(err, registry.ErrExhausted) {
			t.Fatalf("allocation during quarantine = %v", err)
		}
		f.clock.Advance(25 * time.Hour)
		s, err := f.line(m.ID, "new@DEMO")
		if err != nil {
			t.Fatal(err)
		}
		if got := addrOf(s, registry.RoleIPv4); got != freed {
			t.Fatalf("after quarantine got %s, want the freed %s", got, freed)
		}
	})
}

func TestCloseAndReopenLine(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		f.pools()
		m := f.member("Edsger")
		s, _ := f.line(m.ID, "ed@DEMO")
		closed, err := f.reg.UpdateSubscription(f.ctx, f.admin, s.ID, registry.SubscriptionInput{State: ptr(registry.SubClosed)})
		if err != nil || len(closed.Addresses) != 0 {
			t.Fatalf("closed line keeps %v, %v", closed.Addresses, err)
		}
		reopened, err := f.reg.UpdateSubscription(f.ctx, f.admin, s.ID, registry.SubscriptionInput{State: ptr(registry.SubActive)})
		if err != nil || len(reopened.Addresses) != 3 {
			t.Fatalf("reopened line has %v, %v", reopened.Addresses, err)
		}
		if addrOf(reopened, registry.RoleIPv4) == addrOf(s, registry.RoleIPv4) {
			t.Fatal("reopened line got its quarantined address back at once")
		}
		susp, err := f.reg.UpdateSubscription(f.ctx, f.admin, s.ID, registry.SubscriptionInput{State: ptr(registry.SubSuspended)})
		if err != nil || addrOf(susp, registry.RoleIPv4) != addrOf(reopened, registry.RoleIPv4) {
			t.Fatalf("suspension changed addresses: %v, %v", susp.Addresses, err)
		}
	})
}

// ChangeSubscription gives the line as its own transaction found it: a
// colleague's suspension a moment earlier shows as the state before, so
// the second suspension (or a notes edit) does not look like one.
func TestChangeSubscriptionGivesTheStateItChanged(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		f.pools()
		m := f.member("Barbara")
		s, _ := f.line(m.ID, "barbara@DEMO")
		before, after, err := f.reg.ChangeSubscription(f.ctx, f.admin, s.ID, registry.SubscriptionInput{State: ptr(registry.SubSuspended)})
		if err != nil || before.State != registry.SubActive || after.State != registry.SubSuspended {
			t.Fatalf("first suspension: before %s after %s, %v", before.State, after.State, err)
		}
		before, after, err = f.reg.ChangeSubscription(f.ctx, f.admin, s.ID, registry.SubscriptionInput{Notes: ptr("called")})
		if err != nil || before.State != registry.SubSuspended || after.State != registry.SubSuspended || after.Notes != "called" {
			t.Fatalf("notes edit after the suspension: before %s after %s, %v", before.State, after.State, err)
		}
	})
}

// A password is never in the audit log, but that it changed is: the
// object alone shows no difference (password_set stays true).
func TestAuditSaysAPasswordChanged(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		f.pools()
		m := f.member("Barbara")
		s, _ := f.line(m.ID, "barbara@DEMO")
		if _, err := f.reg.UpdateSubscription(f.ctx, f.admin, s.ID, registry.SubscriptionInput{Password: ptr("a-new-password")}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.reg.UpdateSubscription(f.ctx, f.admin, s.ID, registry.SubscriptionInput{Notes: ptr("moved to B12")}); err != nil {
			t.Fatal(err)
		}
		entries, err := f.reg.Audit(f.ctx, registry.AuditFilter{Entity: "subscription", EntityID: s.ID})
		if err != nil || len(entries) != 3 {
			t.Fatalf("audit = %d entries, %v", len(entries), err)
		}
		var note, password map[string]any
		if json.Unmarshal(entries[0].After, &note) != nil || json.Unmarshal(entries[1].After, &password) != nil {
			t.Fatalf("audit entries: %s, %s", entries[0].After, entries[1].After)
		}
		if password["password_changed"] != true || strings.Contains(string(entries[1].After), "a-new-password") {
			t.Errorf("password change audited as %s", entries[1].After)
		}
		if _, ok := note["password_changed"]; ok {
			t.Errorf("note change audited as a password change: %s", entries[0].After)
		}
	})
}

// Many writers race for the last addresses of a pool: each address goes to
// exactly one of them and the losers are told the pool is exhausted.
func TestConcurrentAllocationRace(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		f.prefix("192.0.2.0/28", registry.PurposeSubscriber) // 14 usable
		m := f.member("Racer")
		const writers = 24
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			got  = map[netip.Prefix]string{}
			errs []error
			ok   int
		)
		start := make(chan struct{})
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				s, err := f.line(m.ID, fmt.Sprintf("race%d@DEMO", i))
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				ok++
				a := addrOf(s, registry.RoleIPv4)
				if other, dup := got[a]; dup {
					t.Errorf("%s allocated to %s and %s", a, other, s.Login)
				}
				got[a] = s.Login
			}()
		}
		close(start)
		wg.Wait()
		if ok != 14 || len(got) != 14 {
			t.Fatalf("%d writers succeeded with %d distinct addresses, want 14", ok, len(got))
		}
		for _, err := range errs {
			if !errors.Is(err, registry.ErrExhausted) {
				t.Errorf("loser got %v, want exhausted", err)
			}
		}
	})
}

func TestNASSecretsAndOverlap(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		n, err := f.reg.CreateNAS(f.ctx, f.admin, registry.NASInput{Name: ptr("agg01"), Address: ptr("127.0.0.1"), Secret: ptr("demo-secret"), Kind: ptr(registry.NASBras)})
		if err != nil {
			t.Fatal(err)
		}
		if n.MessageAuth != registry.MessageAuthYes || n.Address.String() != "127.0.0.1/32" || n.CoAPort != 3799 {
			t.Fatalf("NAS defaults = %+v", n)
		}
		if s, err := f.reg.NASSecret(&n); err != nil || s != "demo-secret" {
			t.Fatalf("NASSecret = %q, %v", s, err)
		}
		if _, err := f.reg.CreateNAS(f.ctx, f.admin, registry.NASInput{Name: ptr("agg02"), Address: ptr("127.0.0.0/8"), Secret: ptr("other-secret")}); !errors.Is(err, registry.ErrConflict) {
			t.Fatalf("overlapping NAS = %v", err)
		}
		if _, err := f.reg.CreateNAS(f.ctx, f.admin, registry.NASInput{Name: ptr("nosecret"), Address: ptr("192.0.2.1")}); err == nil {
			t.Fatal("NAS without secret accepted")
		}
		audit, _ := f.reg.Audit(f.ctx, registry.AuditFilter{Entity: "nas"})
		if len(audit) != 1 || strings.Contains(string(audit[0].After), "demo-secret") {
			t.Fatalf("NAS audit = %+v", audit)
		}
	})
}

func TestSitesHostsPortsCPE(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		site, err := f.reg.CreateSite(f.ctx, f.admin, registry.SiteInput{Name: ptr("Fleming"), Kind: ptr(registry.SiteResidence)})
		if err != nil {
			t.Fatal(err)
		}
		cost, _ := registry.ParseMoney("42,50")
		sw, err := f.reg.CreateHost(f.ctx, f.admin, registry.HostInput{Name: ptr("sw-fleming-1"), SiteID: &site.ID, Role: ptr("switch"), Address: ptr("10.0.0.2"), MonthlyCost: &cost})
		if err != nil {
			t.Fatal(err)
		}
		if sw.MonthlyCost != 4250 {
			t.Fatalf("cost = %v", sw.MonthlyCost)
		}
		port, err := f.reg.CreatePort(f.ctx, f.admin, registry.PortInput{HostID: &sw.ID, Name: ptr("1/1/13"), Room: ptr("F-204"), VLAN: ptr(204)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.reg.CreatePort(f.ctx, f.admin, registry.PortInput{HostID: &sw.ID, Name: ptr("1/1/13")}); !errors.Is(err, registry.ErrConflict) || err.Error() != "create port: port name on this switch is already taken" {
			t.Fatalf("duplicate port = %v", err)
		}
		if _, err := f.reg.CreateHost(f.ctx, f.admin, registry.HostInput{Name: ptr("SW-Fleming-1")}); !errors.Is(err, registry.ErrConflict) || err.Error() != "create host: name is already taken" {
			t.Fatalf("duplicate host = %v", err)
		}
		if err := f.reg.DeleteSite(f.ctx, f.admin, site.ID); !errors.Is(err, registry.ErrInUse) {
			t.Fatalf("delete site with a host = %v", err)
		}
		m := f.member("Room Dweller")
		if _, err := f.reg.CreateCPE(f.ctx, f.admin, registry.CPEInput{Model: ptr("TP-Link"), Serial: ptr("SN1"), State: ptr(registry.CPELent)}); err == nil {
			t.Fatal("lent CPE without holder accepted")
		}
		cpe, err := f.reg.CreateCPE(f.ctx, f.admin, registry.CPEInput{Model: ptr("TP-Link"), Serial: ptr("SN1"), MAC: ptr("BC2411D5FE0E"), State: ptr(registry.CPELent), MemberID: &m.ID})
		if err != nil || cpe.MAC != "bc:24:11:d5:fe:0e" {
			t.Fatalf("CPE = %+v, %v", cpe, err)
		}
		if got, err := f.reg.FindMember(f.ctx, "bc24.11d5.fe0e"); err != nil || got.ID != m.ID {
			t.Fatalf("FindMember by CPE MAC = %+v, %v", got, err)
		}
		sub, err := f.reg.CreateSubscription(f.ctx, f.admin, registry.SubscriptionInput{MemberID: &m.ID, Kind: ptr(registry.KindRoomPort), Login: ptr("room-f204"), PortID: &port.ID, MAC: ptr("08-55-31-FA-75-4E")})
		if err != nil || len(sub.Addresses) != 0 {
			t.Fatalf("room-port subscription = %+v, %v", sub, err)
		}
		if got, err := f.reg.FindSubscription(f.ctx, "08:55:31:fa:75:4e"); err != nil || got.ID != sub.ID {
			t.Fatalf("FindSubscription by MAC = %v", err)
		}
		if err := f.reg.DeleteMember(f.ctx, f.admin, m.ID); !errors.Is(err, registry.ErrInUse) {
			t.Fatalf("delete member holding a lent CPE = %v", err)
		}
	})
}

func TestTokensAndAdmins(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		a, err := f.reg.CreateAdmin(f.ctx, f.admin, registry.AdminInput{Name: ptr("tharyrok"), Email: ptr("t@example.org"), Roles: &[]registry.Role{"technical-officer", "admin", "admin"}})
		if err != nil || len(a.Roles) != 2 {
			t.Fatalf("admin = %+v, %v", a, err)
		}
		if _, err := f.reg.CreateAdmin(f.ctx, f.admin, registry.AdminInput{Name: ptr("x"), Email: ptr("x@example.org"), Roles: &[]registry.Role{"god"}}); err == nil {
			t.Fatal("unknown role accepted")
		}
		tok, rec, err := f.reg.CreateToken(f.ctx, f.admin, a.ID, "laptop", time.Hour)
		if err != nil || !strings.HasPrefix(tok, "mln_") {
			t.Fatalf("token %q, %v", tok, err)
		}
		got, err := f.reg.Authenticate(f.ctx, tok)
		if err != nil || got.ID != a.ID {
			t.Fatalf("Authenticate = %+v, %v", got, err)
		}
		if _, err := f.reg.Authenticate(f.ctx, tok+"x"); !errors.Is(err, registry.ErrUnauthenticated) {
			t.Fatalf("wrong token = %v", err)
		}
		f.clock.Advance(2 * time.Hour)
		if _, err := f.reg.Authenticate(f.ctx, tok); !errors.Is(err, registry.ErrUnauthenticated) {
			t.Fatalf("expired token = %v", err)
		}
		audit, _ := f.reg.Audit(f.ctx, registry.AuditFilter{Entity: "token", EntityID: rec.ID})
		if len(audit) != 1 || strings.Contains(string(audit[0].After), registry.HashToken(tok)) {
			t.Fatalf("token audit = %+v", audit)
		}
	})
}

func TestEventsFollowCommits(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		events, stop := f.reg.Events().Subscribe()
		defer stop()
		m := f.member("Evented")
		if _, err := f.reg.CreateMember(f.ctx, f.admin, registry.MemberInput{Name: ptr("Bad"), Email: ptr("bad")}); err == nil {
			t.Fatal("bad member accepted")
		}
		select {
		case e := <-events:
			if e.Entity != "member" || e.ID != m.ID || e.Action != "create" {
				t.Fatalf("event = %+v", e)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no event for a committed change")
		}
		select {
		case e := <-events:
			t.Fatalf("event for a refused change: %+v", e)
		default:
		}
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	forEachEngine(t, func(f *fixture) {
		v1, err := f.st.SchemaVersion(f.ctx)
		if err != nil || v1 == 0 {
			t.Fatalf("schema version %d, %v", v1, err)
		}
		if err := f.st.Migrate(f.ctx); err != nil {
			t.Fatal(err)
		}
		v2, _ := f.st.SchemaVersion(f.ctx)
		if v1 != v2 {
			t.Fatalf("second migrate moved %d -> %d", v1, v2)
		}
	})
}
