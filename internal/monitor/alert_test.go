package monitor_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"maillon/internal/monitor"
	"maillon/internal/registry"
)

func subjects(msgs []sent) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.channel+" "+m.msg.Subject)
	}
	return out
}

func (f *fixture) firing() []registry.Alert {
	f.t.Helper()
	var out []registry.Alert
	f.reg.Read(f.ctx, func(r registry.Reader) error {
		var err error
		out, err = r.ListAlerts(f.ctx, registry.AlertFilter{State: registry.AlertFiring})
		return err
	})
	return out
}

// TestSwitchDownHostsUnreachable: a switch and the three hosts behind it
// all stop answering; the switch is down, the hosts unreachable, and one
// notification is sent, not four. When the switch comes back the hosts
// are probed again at once.
func TestSwitchDownHostsUnreachable(t *testing.T) {
	f := newFixture(t)
	site, _ := f.reg.CreateSite(f.ctx, f.admin, registry.SiteInput{Name: ptr("Fleming")})
	sw := newSwitchable(t)
	swHost, _ := f.reg.CreateHost(f.ctx, f.admin, registry.HostInput{Name: ptr("sw-fleming"), Role: ptr("switch"), SiteID: &site.ID})
	swCheck := f.check(registry.CheckInput{Name: ptr("sw-fleming"), Kind: ptr(registry.CheckTCP), Address: ptr(sw.addr), HostID: &swHost.ID})
	var hosts []*switchable
	var checks []registry.Check
	for _, name := range []string{"ap1", "ap2", "ap3"} {
		h, _ := f.reg.CreateHost(f.ctx, f.admin, registry.HostInput{Name: ptr(name), SiteID: &site.ID})
		s := newSwitchable(t)
		hosts = append(hosts, s)
		checks = append(checks, f.check(registry.CheckInput{Name: ptr(name), Kind: ptr(registry.CheckTCP), Address: ptr(s.addr),
			HostID: &h.ID, Parents: &[]string{"sw-fleming"}}))
	}
	// A service on ap1, below its host check by the registry's relation
	// (an ICMP check would be its base; here an explicit parent).
	svc := f.check(registry.CheckInput{Name: ptr("ap1-web"), Kind: ptr(registry.CheckTCP), Address: ptr(hosts[0].addr), Parents: &[]string{"ap1"}})

	f.tick(0)
	f.wantStates(map[*registry.Check]string{&swCheck: "up", &checks[0]: "up", &svc: "up"})

	// Power cut in the residence: everything stops at once.
	sw.stop()
	for _, h := range hosts {
		h.stop()
	}
	f.tick(time.Minute)
	f.wantStates(map[*registry.Check]string{&swCheck: "down", &checks[0]: "unreachable", &checks[1]: "unreachable", &checks[2]: "unreachable", &svc: "unreachable"})
	got := f.sent.take()
	if len(got) != 1 || !strings.Contains(got[0].msg.Subject, "sw-fleming") {
		t.Fatalf("sent %v, want one alert about the switch", subjects(got))
	}
	st, _ := f.mon.StateOf(checks[1].ID)
	if st.Cause != "sw-fleming" {
		t.Errorf("ap2's cause %q, want sw-fleming", st.Cause)
	}
	if n := len(f.firing()); n != 1 {
		t.Errorf("%d firing alerts, want 1", n)
	}
	f.tick(time.Minute)
	if got := f.sent.take(); len(got) != 0 {
		t.Fatalf("sent again: %v", subjects(got))
	}

	// The switch comes back but ap2 stays dead: ap2 is now down on its own.
	sw.start()
	hosts[0].start()
	hosts[2].start()
	f.tick(time.Minute)
	f.mon.Tick(f.ctx) // the children woken by the switch's recovery
	f.wantStates(map[*registry.Check]string{&swCheck: "up", &checks[0]: "up", &checks[1]: "down", &checks[2]: "up", &svc: "up"})
	got = f.sent.take()
	want := map[string]bool{"email [RESOLVED] sw-fleming (warning)": true, "email [FIRING] ap2 (warning)": true}
	if len(got) != 2 || !want[subjects(got)[0]] || !want[subjects(got)[1]] {
		t.Fatalf("sent %v, want the switch resolved and ap2 firing", subjects(got))
	}
}

// TestImpliedDependencies: without explicit parents, a host's services
// depend on its ping and the host on its site's uplink; a cycle through
// an explicit parent is refused with the names in the message.
func TestImpliedDependencies(t *testing.T) {
	f := newFixture(t)
	site, _ := f.reg.CreateSite(f.ctx, f.admin, registry.SiteInput{Name: ptr("Fleming")})
	h, _ := f.reg.CreateHost(f.ctx, f.admin, registry.HostInput{Name: ptr("gw1"), SiteID: &site.ID})
	uplink := f.check(registry.CheckInput{Name: ptr("uplink"), Kind: ptr(registry.CheckICMP), Address: ptr("192.0.2.1"), SiteID: &site.ID})
	ping := f.check(registry.CheckInput{Name: ptr("gw1-ping"), Kind: ptr(registry.CheckICMP), Address: ptr("192.0.2.2"), HostID: &h.ID})
	web := f.check(registry.CheckInput{Name: ptr("gw1-web"), Kind: ptr(registry.CheckHTTP), URL: ptr("http://192.0.2.2/"), HostID: &h.ID})
	g, err := f.reg.CheckGraph(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	parents := func(c registry.Check) []int64 {
		var out []int64
		for _, e := range g.Parents[c.ID] {
			out = append(out, e.Parent)
		}
		return out
	}
	if p := parents(web); len(p) != 1 || p[0] != ping.ID {
		t.Errorf("gw1-web's parents %v, want gw1-ping", p)
	}
	if p := parents(ping); len(p) != 1 || p[0] != uplink.ID {
		t.Errorf("gw1-ping's parents %v, want uplink", p)
	}
	text := g.Text(nil)
	if !strings.Contains(text, "uplink (icmp)\n  gw1-ping (icmp)  [host gw1 is in site Fleming]\n    gw1-web (http)  [base check of host gw1]\n") {
		t.Errorf("graph text:\n%s", text)
	}
	_, err = f.reg.UpdateCheck(f.ctx, f.admin, uplink.ID, registry.CheckInput{Parents: &[]string{"gw1-web"}})
	if !errors.Is(err, registry.ErrInvalid) || !strings.Contains(err.Error(), "dependency cycle: uplink → gw1-web → gw1-ping → uplink") {
		t.Errorf("cycle: %v", err)
	}
	_, err = f.reg.UpdateCheck(f.ctx, f.admin, uplink.ID, registry.CheckInput{Parents: &[]string{"uplink"}})
	if !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("self-dependency: %v", err)
	}
	if err := f.reg.DeleteCheck(f.ctx, f.admin, ping.ID); err != nil {
		t.Errorf("delete an implied parent: %v", err)
	}
	if _, err := f.reg.UpdateCheck(f.ctx, f.admin, web.ID, registry.CheckInput{Parents: &[]string{"uplink"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.reg.DeleteCheck(f.ctx, f.admin, uplink.ID); !errors.Is(err, registry.ErrInUse) || !strings.Contains(err.Error(), "gw1-web") {
		t.Errorf("delete an explicit parent: %v", err)
	}
}

// TestEscalationRepeatAck: a critical alert goes to Matrix, escalates to
// SMS after 15 unacknowledged minutes, repeats hourly, and stops once
// acknowledged from the signed link (GET shows a form, POST acks).
func TestEscalationRepeatAck(t *testing.T) {
	f := newFixture(t)
	tcp := newSwitchable(t)
	c := f.check(registry.CheckInput{Name: ptr("core-router"), Kind: ptr(registry.CheckTCP), Address: ptr(tcp.addr), Severity: ptr("critical"),
		Interval: ptr("1m")})
	f.tick(0)
	tcp.stop()
	f.tick(time.Minute)
	got := f.sent.take()
	if len(got) != 1 || got[0].channel != "matrix" {
		t.Fatalf("sent %v, want matrix only", subjects(got))
	}
	link := got[0].msg.URL
	for i := 0; i < 14; i++ {
		f.tick(time.Minute)
	}
	if got := f.sent.take(); len(got) != 0 {
		t.Fatalf("before 15 minutes: %v", subjects(got))
	}
	f.tick(time.Minute) // 15 minutes after it went down, at minute 1
	got = f.sent.take()
	if len(got) != 1 || got[0].channel != "sms" || !strings.Contains(got[0].msg.Subject, "ESCALATED") {
		t.Fatalf("at 15 minutes: %v, want the SMS escalation", subjects(got))
	}
	f.clock.Advance(59 * time.Minute)
	f.mon.Tick(f.ctx)
	if got := f.sent.take(); len(got) != 0 {
		t.Fatalf("repeated before the hour: %v", subjects(got))
	}
	f.clock.Advance(time.Minute)
	f.mon.Tick(f.ctx)
	got = f.sent.take()
	if s := strings.Join(subjects(got), "; "); len(got) != 2 || !strings.Contains(s, "matrix [REPEAT]") || !strings.Contains(s, "sms [REPEAT]") {
		t.Fatalf("after an hour: %s, want a repeat to both levels", s)
	}

	// The link: a prefetch (GET) changes nothing; a forged signature is refused.
	srv := httptest.NewServer(mux(f.mon))
	defer srv.Close()
	u, _ := url.Parse(link)
	local := srv.URL + u.Path
	resp, err := http.Get(local + "?" + u.RawQuery)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `<form method="post">`) {
		t.Fatalf("GET link: %d %s", resp.StatusCode, body)
	}
	if al := f.firing(); len(al) != 1 || al[0].AckedAt != nil {
		t.Fatalf("GET acknowledged: %+v", al)
	}
	sig := u.Query().Get("sig")
	resp, _ = http.PostForm(local, url.Values{"sig": {strings.Repeat("0", len(sig))}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("forged signature: %d", resp.StatusCode)
	}
	resp, _ = http.PostForm(local, url.Values{"sig": {sig}, "by": {"Ada"}})
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Acknowledged by ack link: Ada") {
		t.Fatalf("POST link: %d %s", resp.StatusCode, body)
	}
	got = f.sent.take()
	if len(got) != 2 || !strings.Contains(got[0].msg.Subject, "ACKNOWLEDGED") {
		t.Errorf("acknowledgement told: %v", subjects(got))
	}
	f.clock.Advance(2 * time.Hour)
	f.mon.Tick(f.ctx)
	if got := f.sent.take(); len(got) != 0 {
		t.Fatalf("acknowledged alert repeated: %v", subjects(got))
	}
	audit, _ := f.reg.Audit(f.ctx, registry.AuditFilter{Entity: "alert"})
	if len(audit) != 1 || audit[0].Actor != "ack link: Ada" || audit[0].Action != "acknowledge" {
		t.Errorf("audit %+v", audit)
	}
	tcp.start()
	f.tick(time.Minute)
	if got := f.sent.take(); len(got) != 2 || !strings.Contains(got[0].msg.Subject, "RESOLVED") {
		t.Errorf("resolution: %v", subjects(got))
	}
	_ = c
}

func mux(m *monitor.Monitor) http.Handler {
	mx := http.NewServeMux()
	mx.Handle("/alerts/{id}/ack", m.AckHandler())
	mx.Handle("/push/{token}", m.PushHandler())
	mx.Handle("POST /api/v1/alertmanager", m.AlertmanagerHandler())
	return mx
}

// TestSilenceAndMaintenance: a silence mutes what it matches until it
// ends, then the alert still firing is sent; a maintenance of a switch
// mutes the checks behind it.
func TestSilenceAndMaintenance(t *testing.T) {
	f := newFixture(t)
	tcp := newSwitchable(t)
	other := newSwitchable(t)
	sw, _ := f.reg.CreateHost(f.ctx, f.admin, registry.HostInput{Name: ptr("sw1")})
	swCheck := f.check(registry.CheckInput{Name: ptr("sw1"), Kind: ptr(registry.CheckTCP), Address: ptr(other.addr), HostID: &sw.ID})
	c := f.check(registry.CheckInput{Name: ptr("backup-nas"), Kind: ptr(registry.CheckTCP), Address: ptr(tcp.addr), Tags: &[]string{"backup", "nas"}})
	f.tick(0)
	if _, err := f.reg.CreateSilence(f.ctx, f.admin, registry.SilenceInput{Matchers: []string{"tag=backup"}, Duration: "2h", Comment: "disk swap"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.CreateSilence(f.ctx, f.admin, registry.SilenceInput{Matchers: []string{"nonsense"}, Duration: "2h"}); !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("bad matcher: %v", err)
	}
	tcp.stop()
	f.tick(time.Minute)
	f.wantStates(map[*registry.Check]string{&c: "down"})
	if got := f.sent.take(); len(got) != 0 {
		t.Fatalf("silenced alert sent: %v", subjects(got))
	}
	if al := f.firing(); len(al) != 1 || !strings.HasPrefix(al[0].Muted, "silence 1 (disk swap)") {
		t.Fatalf("firing %+v", al)
	}
	f.tick(2 * time.Hour)
	got := f.sent.take()
	if len(got) != 1 || !strings.Contains(got[0].msg.Subject, "[FIRING] backup-nas") {
		t.Fatalf("after the silence: %v", subjects(got))
	}

	// Maintenance on the switch host: its check is muted.
	f.maint.set(monitor.MutedTarget{Kind: registry.TargetHost, ID: sw.ID})
	other.stop()
	f.tick(time.Minute)
	f.wantStates(map[*registry.Check]string{&swCheck: "down"})
	if got := f.sent.take(); len(got) != 0 {
		t.Fatalf("maintenance did not mute: %v", subjects(got))
	}
	for _, al := range f.firing() {
		if al.Name == "sw1" && al.Muted != "maintenance of host sw1" {
			t.Errorf("muted %q", al.Muted)
		}
	}
	f.maint.set()
	f.tick(time.Minute)
	if got := f.sent.take(); len(got) != 1 || !strings.Contains(got[0].msg.Subject, "sw1") {
		t.Fatalf("after the maintenance: %v", subjects(got))
	}
}

// TestPushHeartbeat: a backup job calls its URL; no call within the
// period plus grace makes it down; status=down reports a failure at once.
func TestPushHeartbeat(t *testing.T) {
	f := newFixture(t)
	c := f.check(registry.CheckInput{Name: ptr("borgmatic"), Kind: ptr(registry.CheckPush), Interval: ptr("1d"), Timeout: ptr("1h")})
	if len(c.PushToken) < 30 {
		t.Fatalf("push token %q", c.PushToken)
	}
	stored, _ := f.reg.FindCheck(f.ctx, "borgmatic")
	if stored.PushToken != "" || stored.PushTokenHash == "" {
		t.Fatal("the token is stored in clear or not at all")
	}
	audit, _ := f.reg.Audit(f.ctx, registry.AuditFilter{Entity: "check"})
	if len(audit) != 1 || strings.Contains(string(audit[0].After), c.PushToken) {
		t.Fatal("the push token is in the audit log")
	}
	never := f.check(registry.CheckInput{Name: ptr("antenna"), Kind: ptr(registry.CheckPush), Interval: ptr("1d"), Timeout: ptr("1h")})
	srv := httptest.NewServer(mux(f.mon))
	defer srv.Close()
	call := func(q string) int {
		resp, err := http.Get(srv.URL + "/push/" + c.PushToken + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	f.tick(0)
	f.wantStates(map[*registry.Check]string{&c: "unknown"}) // not called yet, within its period
	if code := call(""); code != 200 {
		t.Fatalf("push: %d", code)
	}
	f.wantStates(map[*registry.Check]string{&c: "up"})
	f.tick(24 * time.Hour)
	f.wantStates(map[*registry.Check]string{&c: "up"})
	f.tick(time.Hour + time.Second)
	f.wantStates(map[*registry.Check]string{&c: "down", &never: "down"})
	if got := f.sent.take(); len(got) != 2 {
		t.Fatalf("sent %v", subjects(got))
	}
	call("")
	f.wantStates(map[*registry.Check]string{&c: "up"})
	if code := call("?status=down&msg=repository+locked"); code != 200 {
		t.Fatal(code)
	}
	f.wantStates(map[*registry.Check]string{&c: "down"})
	st, _ := f.mon.StateOf(c.ID)
	if st.Message != "reported down: repository locked" {
		t.Errorf("message %q", st.Message)
	}
	resp, _ := http.Get(srv.URL + "/push/not-a-token")
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("unknown token: %d", resp.StatusCode)
	}
	rotated, err := f.reg.UpdateCheck(f.ctx, f.admin, c.ID, registry.CheckInput{RotateToken: ptr(true)})
	if err != nil || rotated.PushToken == "" || rotated.PushToken == c.PushToken {
		t.Fatalf("rotate: %v %q", err, rotated.PushToken)
	}
	f.mon.Load(f.ctx)
	if code := call(""); code != 404 {
		t.Errorf("old token after rotation: %d", code)
	}
}

// TestRestartNeitherRealertsNorForgets: a new monitor on the same
// database knows the check is down and its alert sent.
func TestRestartNeitherRealertsNorForgets(t *testing.T) {
	f := newFixture(t)
	tcp := newSwitchable(t)
	c := f.check(registry.CheckInput{Name: ptr("db"), Kind: ptr(registry.CheckTCP), Address: ptr(tcp.addr)})
	f.tick(0)
	tcp.stop()
	f.tick(time.Minute)
	if got := f.sent.take(); len(got) != 1 {
		t.Fatalf("sent %v", subjects(got))
	}
	f.mon = f.newMonitor()
	f.wantStates(map[*registry.Check]string{&c: "down"})
	f.tick(time.Minute)
	f.tick(time.Minute)
	if got := f.sent.take(); len(got) != 0 {
		t.Fatalf("restart re-alerted: %v", subjects(got))
	}
	tcp.start()
	f.mon = f.newMonitor()
	f.tick(time.Minute)
	if got := f.sent.take(); len(got) != 1 || !strings.Contains(got[0].msg.Subject, "RESOLVED") {
		t.Fatalf("restart forgot the alert: %v", subjects(got))
	}
}

// alerts lists every alert of a check, firing or resolved.
func (f *fixture) alertsOf(c registry.Check) []registry.Alert {
	f.t.Helper()
	var out []registry.Alert
	err := f.reg.Read(f.ctx, func(r registry.Reader) error {
		var err error
		out, err = r.ListAlerts(f.ctx, registry.AlertFilter{CheckID: c.ID})
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// TestPausedOrRemovedCheckResolvesItsAlert: a check paused or removed
// while down would never be probed up again; its alert is resolved with
// the reason, those told it fired are told it is resolved, and the hourly
// repeat of its route stops.
func TestPausedOrRemovedCheckResolvesItsAlert(t *testing.T) {
	f := newFixture(t)
	tcp := newSwitchable(t)
	paused := f.check(registry.CheckInput{Name: ptr("sw1-http"), Kind: ptr(registry.CheckTCP), Address: ptr(tcp.addr), Severity: ptr("critical")})
	removed := f.check(registry.CheckInput{Name: ptr("sw2-http"), Kind: ptr(registry.CheckTCP), Address: ptr(tcp.addr), Severity: ptr("critical")})
	f.tick(0)
	tcp.stop()
	f.tick(time.Minute)
	if got := subjects(f.sent.take()); len(got) != 2 {
		t.Fatalf("sent %v, want two FIRING", got)
	}

	for _, step := range []struct {
		check  registry.Check
		change func() error
		why    string
	}{
		{paused, func() error {
			_, err := f.reg.UpdateCheck(f.ctx, f.admin, paused.ID, registry.CheckInput{Enabled: ptr(false)})
			return err
		}, "check paused"},
		{removed, func() error { return f.reg.DeleteCheck(f.ctx, f.admin, removed.ID) }, "check removed"},
	} {
		if err := step.change(); err != nil {
			t.Fatalf("%s: %v", step.why, err)
		}
		f.tick(time.Minute)
		got := f.sent.take()
		if len(got) != 1 || got[0].msg.Subject != "[RESOLVED] "+step.check.Name+" (critical)" {
			t.Fatalf("%s: sent %v, want one RESOLVED for %s", step.why, subjects(got), step.check.Name)
		}
		als := f.alertsOf(step.check)
		if len(als) != 1 || als[0].State != registry.AlertResolved || als[0].ResolvedAt == nil || !strings.HasSuffix(als[0].Summary, "resolved: "+step.why) {
			t.Fatalf("%s: alerts %+v, want one resolved saying why", step.why, als)
		}
	}
	if n := len(f.firing()); n != 0 {
		t.Errorf("%d alerts still firing", n)
	}
	// Past the route's hourly repeat: nothing more is sent, and a new
	// monitor (a restart) does not resolve them again.
	f.tick(2 * time.Hour)
	f.mon = f.newMonitor()
	f.tick(time.Minute)
	if got := f.sent.take(); len(got) != 0 {
		t.Errorf("sent after resolution: %v", subjects(got))
	}
}

// A probe still running when its check is paused answers after the pause
// resolved the alert: that late answer must not raise it again.
func TestLateProbeOfAPausedCheckRaisesNothing(t *testing.T) {
	f := newFixture(t)
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	var block bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if block {
			arrived <- struct{}{}
			<-release
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	c := f.check(registry.CheckInput{Name: ptr("web"), Kind: ptr(registry.CheckHTTP), URL: ptr(srv.URL), Severity: ptr("critical")})
	f.tick(0)
	if got := subjects(f.sent.take()); len(got) != 1 {
		t.Fatalf("sent %v, want one FIRING", got)
	}
	// The next probe hangs in the server; meanwhile the check is paused.
	block = true
	f.clock.Advance(time.Minute)
	done := make(chan struct{})
	go func() { f.mon.Tick(f.ctx); close(done) }()
	<-arrived
	if _, err := f.reg.UpdateCheck(f.ctx, f.admin, c.ID, registry.CheckInput{Enabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if err := f.mon.Load(f.ctx); err != nil {
		t.Fatal(err)
	}
	close(release)
	<-done
	f.tick(time.Minute)
	got := f.sent.take()
	if len(got) != 1 || !strings.HasPrefix(got[0].msg.Subject, "[RESOLVED] web") {
		t.Fatalf("sent %v, want only the RESOLVED of the pause", subjects(got))
	}
	if n := len(f.firing()); n != 0 {
		t.Fatalf("%d alerts firing after the late answer", n)
	}
}
