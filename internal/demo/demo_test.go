package demo_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"maillon/internal/demo"
	"maillon/internal/registry"
	"maillon/internal/secret"
	"maillon/internal/store"
)

func freshRegistry(t *testing.T, now time.Time) *registry.Service {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "maillon.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, _ := secret.ParseKey(secret.NewKey())
	box, err := secret.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return registry.New(st, box, registry.Options{Now: func() time.Time { return now }})
}

var day = time.Date(2026, 3, 14, 10, 11, 32, 0, time.UTC)

// snapshot is what must not change from one seed to the next.
func snapshot(t *testing.T, reg *registry.Service) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	err := reg.Read(ctx, func(r registry.Reader) error {
		ms, err := r.ListMembers(ctx, registry.ListOptions{})
		if err != nil {
			return err
		}
		for _, m := range ms {
			out = append(out, fmt.Sprintf("member %d %s %s %s %s %v", m.ID, m.Name, m.Email, m.Phone, m.State, m.Periods))
		}
		subs, err := r.ListSubscriptions(ctx, registry.SubscriptionFilter{})
		if err != nil {
			return err
		}
		for _, s := range subs {
			line := fmt.Sprintf("sub %s %s %s %d %s %s %d", s.Login, s.Kind, s.State, s.MemberID, s.UpstreamRef, s.MAC, s.VLAN)
			for _, a := range s.Addresses {
				line += " " + string(a.Role) + "=" + a.Block.String()
			}
			out = append(out, line)
		}
		cpes, err := r.ListCPEs(ctx, registry.ListOptions{})
		if err != nil {
			return err
		}
		for _, c := range cpes {
			out = append(out, fmt.Sprintf("cpe %s %s %s %s", c.Model, c.Serial, c.MAC, c.State))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSeedIsDeterministic(t *testing.T) {
	ctx := context.Background()
	a, b := freshRegistry(t, day), freshRegistry(t, day)
	sa, err := demo.Seed(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := demo.Seed(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if sa.String() != sb.String() {
		t.Errorf("summaries differ:\n%s\n%s", sa, sb)
	}
	x, y := snapshot(t, a), snapshot(t, b)
	if !slices.Equal(x, y) {
		for i := range min(len(x), len(y)) {
			if x[i] != y[i] {
				t.Fatalf("seeds differ at %d:\n%s\n%s", i, x[i], y[i])
			}
		}
		t.Fatalf("seeds differ in length: %d and %d", len(x), len(y))
	}
}

func TestSeedContents(t *testing.T) {
	ctx := context.Background()
	reg := freshRegistry(t, day)
	sum, err := demo.Seed(ctx, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", sum)

	// The minimums and the summary's honesty.
	if sum.Sites < 3 || sum.Members != 50 || sum.PPP < 10 || sum.VPN < 3 || sum.Switches < 2 || sum.RoomPorts < 5 {
		t.Errorf("summary below the issue's minimums: %+v", sum)
	}

	// demo1: the first line, so the lowest addresses of each pool.
	d := sum.Demo
	if d.Login != "demo1@DEMO" || d.Password != "demo1-password" || d.Member != "demo1" {
		t.Errorf("demo subscriber = %+v", d)
	}
	if d.IPv4 != netip.MustParseAddr("198.51.100.1") {
		t.Errorf("demo1 IPv4 = %v, want 198.51.100.1", d.IPv4)
	}
	if d.IPv6 != netip.MustParsePrefix("2001:db8:100::/64") {
		t.Errorf("demo1 IPv6 = %v, want 2001:db8:100::/64", d.IPv6)
	}
	if d.Delegated != netip.MustParsePrefix("2001:db8:1000::/56") {
		t.Errorf("demo1 delegated = %v, want 2001:db8:1000::/56", d.Delegated)
	}

	err = reg.Read(ctx, func(r registry.Reader) error {
		// Members and their membership today.
		ms, err := r.ListMembers(ctx, registry.ListOptions{})
		if err != nil {
			return err
		}
		status := map[registry.Membership]int{}
		states := map[registry.MemberState]int{}
		noPhone := 0
		for _, m := range ms {
			status[m.MembershipAt(day)]++
			states[m.State]++
			if m.Phone == "" {
				noPhone++
			}
		}
		if len(ms) != 50 {
			t.Errorf("%d members, want 50", len(ms))
		}
		want := map[registry.Membership]int{registry.MembershipCurrent: 44, registry.MembershipExpired: 5, registry.MembershipFuture: 1}
		if !mapsEqual(status, want) {
			t.Errorf("membership statuses %v, want %v", status, want)
		}
		if status[registry.MembershipExpired] != sum.Expired || status[registry.MembershipFuture] != sum.Future || status[registry.MembershipCurrent] != sum.Current {
			t.Errorf("summary says %d current, %d expired, %d future; the registry %v", sum.Current, sum.Expired, sum.Future, status)
		}
		if states[registry.MemberArchived] != 1 || sum.Archived != 1 || states[registry.MemberSuspended] != 1 {
			t.Errorf("member states %v (summary: %d archived), want one archived and one suspended", states, sum.Archived)
		}
		if noPhone < 2 {
			t.Errorf("%d members without phone, want a couple", noPhone)
		}
		demo1, err := r.GetMemberByEmail(ctx, "demo1@example.org")
		if err != nil {
			return err
		}
		if demo1.Name != "demo1" || demo1.State != registry.MemberActive || demo1.MembershipAt(day) != registry.MembershipCurrent {
			t.Errorf("demo1 = %+v", demo1)
		}

		// Subscriptions.
		subs, err := r.ListSubscriptions(ctx, registry.SubscriptionFilter{})
		if err != nil {
			return err
		}
		if len(subs) != sum.Subscriptions {
			t.Errorf("%d subscriptions, summary says %d", len(subs), sum.Subscriptions)
		}
		if subs[0].Login != demo.Login {
			t.Errorf("first subscription is %s, want %s", subs[0].Login, demo.Login)
		}
		kinds := map[registry.SubscriptionKind]int{}
		for _, s := range subs {
			kinds[s.Kind]++
			switch s.Kind {
			case registry.KindPPP:
				if !strings.HasSuffix(s.Login, "@DEMO") || s.UpstreamRef == "" {
					t.Errorf("ppp line %s (upstream %q)", s.Login, s.UpstreamRef)
				}
			case registry.KindRoomPort:
				if s.MAC == "" || s.PortID == nil || s.VLAN == 0 {
					t.Errorf("room port %s without MAC, port or VLAN: %+v", s.Login, s)
				}
			}
			if s.Kind.NeedsAddresses() && s.State != registry.SubClosed && len(s.Addresses) != 3 {
				t.Errorf("%s has %d addresses, want 3", s.Login, len(s.Addresses))
			}
			if s.Kind.NeedsAddresses() && !s.PasswordSet {
				t.Errorf("%s has no password", s.Login)
			}
		}
		if kinds[registry.KindPPP] != sum.PPP || kinds[registry.KindVPN] != sum.VPN || kinds[registry.KindRoomPort] != sum.RoomPorts || kinds[registry.KindVM] != sum.VMs {
			t.Errorf("kinds %v, summary %+v", kinds, sum)
		}
		s1, err := r.GetSubscriptionByLogin(ctx, demo.Login)
		if err != nil {
			return err
		}
		if s1.MemberID != demo1.ID || s1.State != registry.SubActive || s1.Kind != registry.KindPPP {
			t.Errorf("demo1@DEMO = %+v", s1)
		}
		if p, err := reg.Password(&s1); err != nil || p != demo.Password {
			t.Errorf("demo1@DEMO password = %q, %v", p, err)
		}
		s2, err := r.GetSubscriptionByLogin(ctx, demo.SuspendedLogin)
		if err != nil {
			return err
		}
		if s2.State != registry.SubSuspended {
			t.Errorf("%s is %s, want suspended", s2.Login, s2.State)
		}
		// VPN users draw from the VPN pools.
		vpnPool := netip.MustParsePrefix("198.51.100.128/26")
		for _, s := range subs {
			if s.Kind != registry.KindVPN {
				continue
			}
			for _, a := range s.Addresses {
				if a.Role == registry.RoleIPv4 && !vpnPool.Contains(a.Block.Addr()) {
					t.Errorf("VPN user %s got %s outside %s", s.Login, a.Block, vpnPool)
				}
				if a.Role == registry.RoleDelegated && a.Block.Bits() != 60 {
					t.Errorf("VPN user %s delegated %s, want a /60", s.Login, a.Block)
				}
			}
		}

		// Prefixes.
		ps, err := r.ListPrefixes(ctx)
		if err != nil {
			return err
		}
		cidrs := map[string]registry.Prefix{}
		for _, p := range ps {
			cidrs[p.CIDR.String()] = p
		}
		for _, c := range []string{"198.51.100.0/24", "2001:db8::/32", "198.51.100.128/26", "198.51.100.192/26", "2001:db8:1000::/36"} {
			if _, ok := cidrs[c]; !ok {
				t.Errorf("prefix %s missing", c)
			}
		}
		if p := cidrs["198.51.100.128/26"]; p.Kind != registry.KindVPN || p.Purpose != registry.PurposeSubscriber {
			t.Errorf("VPN pool = %+v", p)
		}
		if p := cidrs["198.51.100.192/26"]; p.Purpose != registry.PurposeInfrastructure {
			t.Errorf("infrastructure pool = %+v", p)
		}

		// NAS.
		nas, err := r.ListNAS(ctx)
		if err != nil {
			return err
		}
		nasKinds := map[registry.NASKind]registry.NAS{}
		for _, n := range nas {
			nasKinds[n.Kind] = n
		}
		bras := nasKinds[registry.NASBras]
		if bras.Name != "demo-bras" || bras.Address != netip.MustParsePrefix("127.0.0.1/32") || bras.MessageAuth != registry.MessageAuthAuto || bras.StripRealm {
			t.Errorf("BRAS = %+v", bras)
		}
		if s, err := reg.NASSecret(&bras); err != nil || s != "demo-secret" {
			t.Errorf("BRAS secret = %q, %v", s, err)
		}
		if _, ok := nasKinds[registry.NASOpenVPN]; !ok {
			t.Error("no openvpn NAS")
		}
		if sw, ok := nasKinds[registry.NASSwitch]; !ok || !sw.Address.Addr().IsLoopback() {
			t.Errorf("switch NAS = %+v", sw)
		}

		// Sites, hosts, switches and ports.
		sites, err := r.ListSites(ctx)
		if err != nil {
			return err
		}
		siteKinds := map[registry.SiteKind]int{}
		for _, s := range sites {
			siteKinds[s.Kind]++
		}
		if siteKinds[registry.SiteResidence] < 1 || siteKinds[registry.SiteDatacenter] < 1 || siteKinds[registry.SitePOP] < 1 {
			t.Errorf("site kinds %v", siteKinds)
		}
		hosts, err := r.ListHosts(ctx, registry.ListOptions{})
		if err != nil {
			return err
		}
		if len(hosts) != sum.Hosts {
			t.Errorf("%d hosts, summary says %d", len(hosts), sum.Hosts)
		}
		switches, rooms := 0, 0
		var cost registry.Money
		roles := map[string]int{}
		for _, h := range hosts {
			roles[h.Role]++
			cost += h.MonthlyCost
			if h.Role != registry.HostRoleSwitch {
				continue
			}
			switches++
			ports, err := r.ListPorts(ctx, h.ID)
			if err != nil {
				return err
			}
			for _, p := range ports {
				if p.Room != "" {
					rooms++
					if p.VLAN == 0 {
						t.Errorf("%s port %s (room %s) has no VLAN", h.Name, p.Name, p.Room)
					}
				}
			}
		}
		if switches < 2 || rooms < 16 || roles["hypervisor"] < 1 || roles["vm"] < 1 {
			t.Errorf("%d switches, %d rooms, roles %v", switches, rooms, roles)
		}
		if cost == 0 || cost != sum.MonthlyCost {
			t.Errorf("monthly cost %s, summary %s", cost, sum.MonthlyCost)
		}

		// CPE in every state, admins with every role.
		cpes, err := r.ListCPEs(ctx, registry.ListOptions{})
		if err != nil {
			return err
		}
		cpeStates := map[registry.CPEState]int{}
		for _, c := range cpes {
			cpeStates[c.State]++
		}
		for _, s := range []registry.CPEState{registry.CPEInStock, registry.CPELent, registry.CPESold, registry.CPEReturned, registry.CPEBroken} {
			if cpeStates[s] == 0 {
				t.Errorf("no CPE %s (%v)", s, cpeStates)
			}
		}
		admins, err := r.ListAdmins(ctx)
		if err != nil {
			return err
		}
		adminRoles := map[registry.Role]int{}
		for _, a := range admins {
			for _, role := range a.Roles {
				adminRoles[role]++
			}
		}
		for _, role := range []registry.Role{registry.RoleAdmin, registry.RoleTechnicalOfficer, registry.RoleReadOnly} {
			if adminRoles[role] == 0 {
				t.Errorf("no admin with role %s", role)
			}
		}
		if len(sum.Admins) != len(admins) {
			t.Errorf("summary names %d admins, registry has %d", len(sum.Admins), len(admins))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, want := range []string{"demo1@DEMO", "demo1-password", "198.51.100.1", "demo-bras", "127.0.0.1", "demo-secret", "camille"} {
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary does not mention %s:\n%s", want, sum)
		}
	}
}

// TestStatusesAnyDay seeds on awkward days: the memberships are relative
// to today, and the residences' academic year turns on 1 September.
func TestStatusesAnyDay(t *testing.T) {
	for _, d := range []string{"2026-08-31", "2026-09-01", "2027-01-01", "2028-02-29", "2026-12-31"} {
		t.Run(d, func(t *testing.T) {
			now, _ := time.Parse("2006-01-02 15:04", d+" 23:59")
			reg := freshRegistry(t, now)
			sum, err := demo.Seed(context.Background(), reg)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Current != 44 || sum.Expired != 5 || sum.Future != 1 || sum.Archived != 1 {
				t.Errorf("on %s: %d current, %d expired, %d future, %d archived; want 44, 5, 1, 1", d, sum.Current, sum.Expired, sum.Future, sum.Archived)
			}
		})
	}
}

func TestSeedRefusesNonEmptyRegistry(t *testing.T) {
	ctx := context.Background()
	reg := freshRegistry(t, day)
	if _, err := demo.Seed(ctx, reg); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Seed(ctx, reg); !errors.Is(err, demo.ErrNotEmpty) {
		t.Fatalf("second seed: %v, want ErrNotEmpty", err)
	}
}

func mapsEqual[K comparable](a, b map[K]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}
