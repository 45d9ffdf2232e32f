package status_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"maillon/internal/registry"
	"maillon/internal/secret"
	"maillon/internal/status"
	"maillon/internal/store"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fixture is a registry on SQLite with a simulated clock, and the status
// service on it.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	st    *store.Store
	reg   *registry.Service
	clock *clock
	admin registry.Actor
	svc   *status.Service
	opt   status.Options
}

var paris, _ = time.LoadLocation("Europe/Paris")

func newFixture(t *testing.T, start time.Time) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "maillon.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, _ := secret.ParseKey(secret.NewKey())
	box, _ := secret.New(key)
	c := &clock{now: start}
	reg := registry.New(st, box, registry.Options{Now: c.Now})
	f := &fixture{t: t, ctx: ctx, st: st, reg: reg, clock: c, admin: registry.Actor{Name: "ada-admin"}}
	f.opt = status.Options{Registry: reg, Title: "Aurore", PublicURL: "http://status.test/status", Language: "fr",
		Location: paris, LinkKey: []byte("0123456789abcdef0123456789abcdef"), ConfirmWithin: 48 * time.Hour}
	f.restart()
	return f
}

// restart makes a new status service on the same database, as a daemon
// restart would.
func (f *fixture) restart() {
	f.t.Helper()
	svc, err := status.New(f.opt)
	if err != nil {
		f.t.Fatal(err)
	}
	f.svc = svc
}

func ptr[T any](v T) *T { return &v }

func id(n int64) string { return strconv.FormatInt(n, 10) }

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func (f *fixture) member(name, email string, site *int64) registry.Member {
	f.t.Helper()
	start, _ := registry.ParseDate("2026-01-01")
	return must[registry.Member](f.t)(f.reg.CreateMember(f.ctx, f.admin, registry.MemberInput{Name: ptr(name), Email: ptr(email),
		SiteID: site, Periods: &[]registry.Period{{Start: start}}}))
}

func (f *fixture) component(name, group string, targets ...string) registry.Component {
	f.t.Helper()
	return must[registry.Component](f.t)(f.reg.CreateComponent(f.ctx, f.admin, registry.ComponentInput{Name: ptr(name), Group: ptr(group), Targets: &targets}))
}

func (f *fixture) server() *httptest.Server {
	mux := http.NewServeMux()
	for p, h := range f.svc.Mounts() {
		mux.Handle(p, h)
	}
	srv := httptest.NewServer(mux)
	f.t.Cleanup(srv.Close)
	return srv
}

// isp is a small residence network: the Fleming residence with a switch
// whose ports serve rooms, Curie elsewhere, a VPN server, and members.
type isp struct {
	fleming, curie     registry.Site
	sw                 registry.Host
	vpnNAS             registry.NAS
	ada, bob, eve, zoe registry.Member // ada, bob at Fleming; eve at Curie; zoe at Fleming, opted out
	vic                registry.Member // a VPN user
	internet, vpn      registry.Component
	curieNet           registry.Component
}

func (f *fixture) isp() *isp {
	t := f.t
	t.Helper()
	var n isp
	n.fleming = must[registry.Site](t)(f.reg.CreateSite(f.ctx, f.admin, registry.SiteInput{Name: ptr("Fleming"), Kind: ptr(registry.SiteResidence)}))
	n.curie = must[registry.Site](t)(f.reg.CreateSite(f.ctx, f.admin, registry.SiteInput{Name: ptr("Curie"), Kind: ptr(registry.SiteResidence)}))
	n.sw = must[registry.Host](t)(f.reg.CreateHost(f.ctx, f.admin, registry.HostInput{Name: ptr("sw-fleming"), Role: ptr(registry.HostRoleSwitch), SiteID: &n.fleming.ID}))
	port := must[registry.Port](t)(f.reg.CreatePort(f.ctx, f.admin, registry.PortInput{HostID: &n.sw.ID, Name: ptr("1/0/12"), Room: ptr("B12")}))
	for cidr, purpose := range map[string]registry.Purpose{"198.51.100.0/24": registry.PurposeSubscriber,
		"2001:db8:100::/40": registry.PurposeSubscriber, "2001:db8:1000::/36": registry.PurposeDelegated} {
		must[registry.Prefix](t)(f.reg.CreatePrefix(f.ctx, f.admin, registry.PrefixInput{CIDR: ptr(cidr), Purpose: ptr(purpose)}))
	}
	n.vpnNAS = must[registry.NAS](t)(f.reg.CreateNAS(f.ctx, f.admin, registry.NASInput{Name: ptr("vpn1"), Address: ptr("192.0.2.10"), Secret: ptr("s3cret-s3cret"), Kind: ptr(registry.NASOpenVPN)}))

	room := func(m registry.Member, mac string, site *int64, port *int64) {
		t.Helper()
		must[registry.Subscription](t)(f.reg.CreateSubscription(f.ctx, f.admin, registry.SubscriptionInput{MemberID: &m.ID, Kind: ptr(registry.KindRoomPort),
			Login: ptr("room-" + mac), MAC: ptr(mac), SiteID: site, PortID: port}))
	}
	// Ada's room is on a port of the Fleming switch; Bob's line names the
	// site; Zoe lives at Fleming (her member record says so).
	n.ada = f.member("Ada Lovelace", "ada@example.org", nil)
	room(n.ada, "02:00:00:00:00:01", nil, &port.ID)
	n.bob = f.member("Bob Morane", "bob@example.org", nil)
	room(n.bob, "02:00:00:00:00:02", &n.fleming.ID, nil)
	n.eve = f.member("Eve Curie", "eve@example.org", nil)
	room(n.eve, "02:00:00:00:00:03", &n.curie.ID, nil)
	n.zoe = f.member("Zoé Opt-Out", "zoe@example.org", &n.fleming.ID)
	room(n.zoe, "02:00:00:00:00:04", nil, nil)
	if _, err := f.reg.SetMemberPrefs(f.ctx, f.admin, registry.MemberPrefs{MemberID: n.zoe.ID}); err != nil {
		t.Fatal(err)
	}
	n.vic = f.member("Victor VPN", "vic@example.org", nil)
	must[registry.Subscription](t)(f.reg.CreateSubscription(f.ctx, f.admin, registry.SubscriptionInput{MemberID: &n.vic.ID, Kind: ptr(registry.KindVPN),
		Login: ptr("vic@VPN"), Password: ptr("vic-password")}))
	if err := f.reg.SetMemberLanguage(f.ctx, f.admin, n.bob.ID, "en"); err != nil {
		t.Fatal(err)
	}

	n.internet = f.component("Internet — Fleming residence", "Internet", "site:"+id(n.fleming.ID))
	n.curieNet = f.component("Internet — Curie residence", "Internet", "site:"+id(n.curie.ID))
	n.vpn = f.component("VPN", "VPN", "nas:"+id(n.vpnNAS.ID))
	return &n
}
