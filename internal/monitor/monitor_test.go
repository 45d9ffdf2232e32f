package monitor_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"maillon/internal/config"
	"maillon/internal/monitor"
	"maillon/internal/registry"
	"maillon/internal/secret"
	"maillon/internal/store"
	"maillon/internal/testenv"
)

type fixture struct {
	t     *testing.T
	ctx   context.Context
	st    *store.Store
	reg   *registry.Service
	clock *testenv.Clock
	admin registry.Actor
	sent  *outbox
	mon   *monitor.Monitor
	maint *maintenance
	cfg   config.Monitor
}

// outbox records what the monitor asked its channels to deliver; the
// delivery itself (SMTP, webhook) is the notify package's, tested with
// real servers there and end to end in internal/app.
type outbox struct {
	mu   sync.Mutex
	msgs []sent
}

type sent struct {
	channel string
	msg     monitor.Message
}

func (o *outbox) Notify(_ context.Context, channel string, m monitor.Message) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.msgs = append(o.msgs, sent{channel, m})
	return nil
}

func (o *outbox) take() []sent {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := o.msgs
	o.msgs = nil
	return out
}

type maintenance struct {
	mu      sync.Mutex
	targets []monitor.MutedTarget
}

func (m *maintenance) ActiveAt(time.Time) []monitor.MutedTarget {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.targets
}

func (m *maintenance) set(t ...monitor.MutedTarget) {
	m.mu.Lock()
	m.targets = t
	m.mu.Unlock()
}

func ptr[T any](v T) *T { return &v }

var start = time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)

// defaultRoutes: critical to the on-call room at once, then SMS after 15
// minutes, repeated hourly; the rest by email.
func defaultRoutes() []config.AlertRoute {
	return []config.AlertRoute{
		{Name: "critical", Severities: []string{"critical"}, Repeat: config.Duration{Duration: time.Hour},
			Levels: []config.AlertLevel{{Channels: []string{"matrix"}}, {After: config.Duration{Duration: 15 * time.Minute}, Channels: []string{"sms"}}}},
		{Name: "rest", Levels: []config.AlertLevel{{Channels: []string{"email"}}}},
	}
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "maillon.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, _ := secret.ParseKey(secret.NewKey())
	box, _ := secret.New(key)
	clock := testenv.NewClock(start)
	reg := registry.New(st, box, registry.Options{Now: clock.Now})
	f := &fixture{t: t, ctx: ctx, st: st, reg: reg, clock: clock, admin: registry.Actor{Name: "test"}, sent: &outbox{}, maint: &maintenance{},
		cfg: config.Monitor{PublicURL: "https://maillon.example.org", Routes: defaultRoutes()}}
	f.mon = f.newMonitor()
	return f
}

func (f *fixture) newMonitor() *monitor.Monitor {
	m := monitor.New(monitor.Options{Registry: f.reg, Notifier: f.sent, Maintenance: f.maint, Clock: f.clock, Config: f.cfg, LinkKey: []byte("link-key")})
	if err := m.Load(f.ctx); err != nil {
		f.t.Fatal(err)
	}
	return m
}

func (f *fixture) check(in registry.CheckInput) registry.Check {
	f.t.Helper()
	if in.Timeout == nil {
		in.Timeout = ptr("2s")
	}
	c, err := f.reg.CreateCheck(f.ctx, f.admin, in)
	if err != nil {
		f.t.Fatalf("create check: %v", err)
	}
	return c
}

// tick reloads the checks, moves the clock and runs what is due.
func (f *fixture) tick(d time.Duration) {
	f.t.Helper()
	if err := f.mon.Load(f.ctx); err != nil {
		f.t.Fatal(err)
	}
	f.clock.Advance(d)
	f.mon.Tick(f.ctx)
}

func (f *fixture) state(c registry.Check) string {
	f.t.Helper()
	st, ok := f.mon.StateOf(c.ID)
	if !ok {
		f.t.Fatalf("check %s is not run", c.Name)
	}
	return st.State
}

func (f *fixture) wantStates(want map[*registry.Check]string) {
	f.t.Helper()
	for c, w := range want {
		if got := f.state(*c); got != w {
			st, _ := f.mon.StateOf(c.ID)
			f.t.Errorf("check %s is %s, want %s (%s)", c.Name, got, w, st.Message)
		}
	}
}

// switchable is a TCP target that can be stopped and started again on
// the same port.
type switchable struct {
	t    *testing.T
	addr string
	ln   net.Listener
}

func newSwitchable(t *testing.T) *switchable {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &switchable{t: t, addr: ln.Addr().String(), ln: ln}
	go accept(ln)
	t.Cleanup(func() { s.stop() })
	return s
}

func accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Close()
	}
}

func (s *switchable) stop() {
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
	}
}

func (s *switchable) start() {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatal(err)
	}
	s.ln = ln
	go accept(ln)
}

func startDNS(t *testing.T, answer string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := dns.NewServeMux()
	mux.HandleFunc("example.net.", func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		if r.Question[0].Name == "www.example.net." && r.Question[0].Qtype == dns.TypeA {
			rr, _ := dns.NewRR("www.example.net. 300 IN A " + answer)
			m.Answer = append(m.Answer, rr)
		} else {
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	})
	srv := &dns.Server{PacketConn: pc, Handler: mux}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

// TestCheckKinds runs HTTP, TCP and DNS checks against real servers
// started here, up then down for the right reason.
func TestCheckKinds(t *testing.T) {
	f := newFixture(t)
	var status = http.StatusOK
	var mu sync.Mutex
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.WriteHeader(status)
		fmt.Fprintln(w, "<html>Welcome to Neutrinet</html>")
	}))
	defer web.Close()
	tcp := newSwitchable(t)
	dnsAddr := startDNS(t, "192.0.2.10")

	httpOK := f.check(registry.CheckInput{Name: ptr("web"), Kind: ptr(registry.CheckHTTP), URL: ptr(web.URL), BodyMatch: ptr("Neutrinet")})
	httpBody := f.check(registry.CheckInput{Name: ptr("web-body"), Kind: ptr(registry.CheckHTTP), URL: ptr(web.URL), BodyMatch: ptr("Aurore")})
	tcpChk := f.check(registry.CheckInput{Name: ptr("smtp"), Kind: ptr(registry.CheckTCP), Address: ptr(tcp.addr)})
	dnsOK := f.check(registry.CheckInput{Name: ptr("dns-www"), Kind: ptr(registry.CheckDNS), Address: ptr(dnsAddr),
		QueryName: ptr("www.example.net"), BodyMatch: ptr("192.0.2.10")})
	dnsWrong := f.check(registry.CheckInput{Name: ptr("dns-wrong"), Kind: ptr(registry.CheckDNS), Address: ptr(dnsAddr),
		QueryName: ptr("www.example.net"), BodyMatch: ptr("192.0.2.99")})
	dnsNX := f.check(registry.CheckInput{Name: ptr("dns-nx"), Kind: ptr(registry.CheckDNS), Address: ptr(dnsAddr), QueryName: ptr("nope.example.net")})

	f.tick(0)
	f.wantStates(map[*registry.Check]string{&httpOK: "up", &httpBody: "down", &tcpChk: "up", &dnsOK: "up", &dnsWrong: "down", &dnsNX: "down"})
	st, _ := f.mon.StateOf(dnsNX.ID)
	if !strings.Contains(st.Message, "NXDOMAIN") {
		t.Errorf("dns-nx message %q does not say NXDOMAIN", st.Message)
	}
	st, _ = f.mon.StateOf(dnsWrong.ID)
	if !strings.Contains(st.Message, "192.0.2.10") {
		t.Errorf("dns-wrong message %q does not say what was answered", st.Message)
	}

	mu.Lock()
	status = http.StatusBadGateway
	mu.Unlock()
	tcp.stop()
	f.tick(time.Minute)
	f.wantStates(map[*registry.Check]string{&httpOK: "down", &tcpChk: "down", &dnsOK: "up"})
	st, _ = f.mon.StateOf(httpOK.ID)
	if st.Message != "status 502" {
		t.Errorf("web message %q, want status 502", st.Message)
	}
}

// TestHTTPSCertificateExpiry turns an https check down when the
// certificate expires within cert_days.
func TestHTTPSCertificateExpiry(t *testing.T) {
	web := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer web.Close()
	f := newFixture(t)
	f.mon = monitor.New(monitor.Options{Registry: f.reg, Notifier: f.sent, Clock: f.clock, Config: f.cfg, TLS: web.Client().Transport.(*http.Transport).TLSClientConfig})
	notAfter := web.Certificate().NotAfter
	days := int(notAfter.Sub(start).Hours()/24) - 10
	soon := f.check(registry.CheckInput{Name: ptr("tls"), Kind: ptr(registry.CheckHTTP), URL: ptr(web.URL), CertDays: ptr(days)})
	f.tick(0)
	f.wantStates(map[*registry.Check]string{&soon: "up"})
	st, _ := f.mon.StateOf(soon.ID)
	if st.CertExpiry == nil || !st.CertExpiry.Equal(notAfter) {
		t.Errorf("cert expiry %v, want %v", st.CertExpiry, notAfter)
	}
	f.tick(11 * 24 * time.Hour)
	f.wantStates(map[*registry.Check]string{&soon: "down"})
	st, _ = f.mon.StateOf(soon.ID)
	if !strings.Contains(st.Message, "certificate expires in") {
		t.Errorf("message %q", st.Message)
	}
}

// TestRetriesBeforeDown: two failures are tolerated with retries 2, the
// third makes it down and raises one alert; recovery resolves it.
func TestRetriesBeforeDown(t *testing.T) {
	f := newFixture(t)
	tcp := newSwitchable(t)
	c := f.check(registry.CheckInput{Name: ptr("mail"), Kind: ptr(registry.CheckTCP), Address: ptr(tcp.addr), Retries: ptr(2), Severity: ptr("warning")})
	f.tick(0)
	f.wantStates(map[*registry.Check]string{&c: "up"})
	tcp.stop()
	for i := 0; i < 2; i++ {
		f.tick(time.Minute)
		f.wantStates(map[*registry.Check]string{&c: "pending"})
	}
	if got := f.sent.take(); len(got) != 0 {
		t.Fatalf("notified while retrying: %v", got)
	}
	f.tick(time.Minute)
	f.wantStates(map[*registry.Check]string{&c: "down"})
	got := f.sent.take()
	if len(got) != 1 || got[0].channel != "email" || !strings.Contains(got[0].msg.Subject, "[FIRING] mail") {
		t.Fatalf("sent %+v, want one FIRING email", got)
	}
	if !strings.Contains(got[0].msg.Text, "https://maillon.example.org/alerts/") {
		t.Errorf("no acknowledgement link in %q", got[0].msg.Text)
	}
	f.tick(time.Minute)
	if got := f.sent.take(); len(got) != 0 {
		t.Fatalf("still down notified again: %v", got)
	}
	tcp.start()
	f.tick(time.Minute)
	f.wantStates(map[*registry.Check]string{&c: "up"})
	got = f.sent.take()
	if len(got) != 1 || !strings.Contains(got[0].msg.Subject, "[RESOLVED] mail") {
		t.Fatalf("sent %+v, want one RESOLVED", got)
	}
}

// TestICMP pings the loopback (up) and a TEST-NET-3 address nobody answers
// (down), through an unprivileged ICMP socket or a raw one; on a machine
// allowing neither the message says how to allow it.
func TestICMP(t *testing.T) {
	f := newFixture(t)
	lo := f.check(registry.CheckInput{Name: ptr("lo"), Kind: ptr(registry.CheckICMP), Address: ptr("127.0.0.1"), Timeout: ptr("1s")})
	lost := f.check(registry.CheckInput{Name: ptr("lost"), Kind: ptr(registry.CheckICMP), Address: ptr("203.0.113.77"), Timeout: ptr("1s")})
	f.tick(0)
	st, _ := f.mon.StateOf(lo.ID)
	if st.State != "up" {
		if strings.Contains(st.Message, "ping_group_range") {
			testenv.Unavailable(t, "%s", st.Message)
		}
		t.Fatalf("ping 127.0.0.1: %s (%s)", st.State, st.Message)
	}
	f.wantStates(map[*registry.Check]string{&lost: "down"})
}

// TestHealthAndDailyUptime: what the status page asks: the health of the
// checks watching a site (its uplink and the hosts in it), and their
// daily uptime from the recorded transitions.
func TestHealthAndDailyUptime(t *testing.T) {
	f := newFixture(t)
	site, _ := f.reg.CreateSite(f.ctx, f.admin, registry.SiteInput{Name: ptr("Fleming")})
	h, _ := f.reg.CreateHost(f.ctx, f.admin, registry.HostInput{Name: ptr("ap1"), SiteID: &site.ID})
	up, down := newSwitchable(t), newSwitchable(t)
	f.check(registry.CheckInput{Name: ptr("uplink"), Kind: ptr(registry.CheckTCP), Address: ptr(up.addr), SiteID: &site.ID})
	f.check(registry.CheckInput{Name: ptr("ap1"), Kind: ptr(registry.CheckTCP), Address: ptr(down.addr), HostID: &h.ID, Parents: &[]string{}})
	other := f.check(registry.CheckInput{Name: ptr("mail"), Kind: ptr(registry.CheckTCP), Address: ptr(up.addr), Service: ptr("mail")})
	fleming := []registry.Target{{Kind: registry.TargetSite, ID: site.ID}}
	f.tick(0)
	if got := f.mon.HealthOf(fleming); got != (monitor.Health{Checks: 2}) {
		t.Errorf("health %+v, want 2 checks all up", got)
	}
	if got := f.mon.HealthOf([]registry.Target{{Kind: registry.TargetService, Service: "mail"}}); got.Checks != 1 {
		t.Errorf("mail health %+v", got)
	}
	// ap1 is down for 6 hours of the day.
	f.tick(6 * time.Hour)
	down.stop()
	f.tick(6 * time.Hour)
	f.wantStates(map[*registry.Check]string{&other: "up"})
	if got := f.mon.HealthOf(fleming); got != (monitor.Health{Checks: 2, Failing: 1}) {
		t.Errorf("health %+v, want 1 of 2 failing", got)
	}
	down.start()
	f.tick(6 * time.Hour)
	f.tick(6 * time.Hour) // 10:00 the next day
	days, err := f.mon.DailyUptime(f.ctx, fleming, 3)
	if err != nil {
		t.Fatal(err)
	}
	// Day one, from 10:00: the uplink up 14 h of 14, ap1 down from 22:00,
	// 12 of 14; today until 10:00: ap1 back at 04:00, 6 of 10.
	want := []float64{-1, (1 + 12.0/14) / 2, (1 + 6.0/10) / 2}
	near := func(a, b float64) bool { return a > b-0.001 && a < b+0.001 }
	if len(days) != 3 || days[0] != -1 || !near(days[1], want[1]) || !near(days[2], want[2]) {
		t.Errorf("daily uptime %v, want %v", days, want)
	}
}

// TestDNSAgainstKnot: DNS checks against Knot serving a zone: the answer
// wanted, a wrong one, a name that does not exist, a zone it does not serve.
func TestDNSAgainstKnot(t *testing.T) {
	zone := `$ORIGIN example.org.
$TTL 300
@    SOA ns1 hostmaster 1 3600 600 1209600 300
@    NS  ns1
ns1  A   192.0.2.53
www  A   192.0.2.80
@    MX  10 mx1.example.org.
`
	k := testenv.StartKnot(t, 0, func(dir, listen string) string {
		return fmt.Sprintf(`server:
  listen: %s
  rundir: %q
database:
  storage: %q
template:
  - id: default
    storage: %q
zone:
  - domain: example.org.
    file: example.org.zone
`, listen, dir, dir, dir)
	}, map[string]string{"example.org.zone": zone})
	f := newFixture(t)
	www := f.check(registry.CheckInput{Name: ptr("www"), Kind: ptr(registry.CheckDNS), Address: ptr(k.Addr), QueryName: ptr("www.example.org"), BodyMatch: ptr("192.0.2.80")})
	mx := f.check(registry.CheckInput{Name: ptr("mx"), Kind: ptr(registry.CheckDNS), Address: ptr(k.Addr), QueryName: ptr("example.org"), QueryType: ptr("mx"), BodyMatch: ptr("mx1.example.org.")})
	wrong := f.check(registry.CheckInput{Name: ptr("wrong"), Kind: ptr(registry.CheckDNS), Address: ptr(k.Addr), QueryName: ptr("www.example.org"), BodyMatch: ptr("192.0.2.81")})
	nx := f.check(registry.CheckInput{Name: ptr("nx"), Kind: ptr(registry.CheckDNS), Address: ptr(k.Addr), QueryName: ptr("nope.example.org")})
	refused := f.check(registry.CheckInput{Name: ptr("refused"), Kind: ptr(registry.CheckDNS), Address: ptr(k.Addr), QueryName: ptr("example.com")})
	f.tick(0)
	f.wantStates(map[*registry.Check]string{&www: "up", &mx: "up", &wrong: "down", &nx: "down", &refused: "down"})
	for c, want := range map[*registry.Check]string{&nx: "NXDOMAIN", &refused: "REFUSED", &wrong: "answered 192.0.2.80"} {
		if st, _ := f.mon.StateOf(c.ID); !strings.Contains(st.Message, want) {
			t.Errorf("%s: message %q does not say %s", c.Name, st.Message, want)
		}
	}
}

// TestPushBeforeReload: a push URL works as soon as its check is created,
// before the monitor has reloaded; an unknown token stays a 404.
func TestPushBeforeReload(t *testing.T) {
	f := newFixture(t)
	c := f.check(registry.CheckInput{Name: ptr("borgmatic"), Kind: ptr(registry.CheckKind("push")), Interval: ptr("1h")})
	if c.PushToken == "" {
		t.Fatal("no push token on creation")
	}
	name, err := f.mon.Push(f.ctx, c.PushToken, true, "")
	if err != nil || name != "borgmatic" {
		t.Fatalf("push before reload: %q %v", name, err)
	}
	if _, err := f.mon.Push(f.ctx, "not-a-token", true, ""); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
}
