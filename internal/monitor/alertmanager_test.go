package monitor_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"maillon/internal/config"
	"maillon/internal/monitor"
	"maillon/internal/registry"
	"maillon/internal/testenv"
)

const amPayload = `{
  "version": "4", "groupKey": "{}:{alertname=\"NodeDown\"}", "truncatedAlerts": 0, "status": "firing",
  "receiver": "maillon", "groupLabels": {"alertname": "NodeDown"}, "commonLabels": {"alertname": "NodeDown"},
  "commonAnnotations": {}, "externalURL": "http://am:9093",
  "alerts": [{"status": "firing", "labels": {"alertname": "NodeDown", "instance": "gw1:9100", "severity": "critical"},
    "annotations": {"summary": "gw1 node exporter down"}, "startsAt": "2026-03-14T09:58:00Z", "endsAt": "0001-01-01T00:00:00Z",
    "generatorURL": "http://prom:9090/graph", "fingerprint": "c0ffee"}]
}`

func FuzzParseAMPayload(f *testing.F) {
	f.Add([]byte(amPayload))
	f.Add([]byte(`{"version":"4","alerts":[{"status":"resolved","labels":{"alertname":"x"}}]}`))
	f.Add([]byte(`{"version":"3"}`))
	f.Add([]byte(`{"version":"4","alerts":[{"status":"firing","labels":{}}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := monitor.ParseAMPayload(b)
		if err != nil {
			if p != nil {
				t.Fatal("payload with an error")
			}
			return
		}
		if p.Version != "4" {
			t.Fatalf("version %q accepted", p.Version)
		}
		for _, a := range p.Alerts {
			if a.Fingerprint == "" || strings.TrimSpace(a.Labels["alertname"]) == "" || a.Status != "firing" && a.Status != "resolved" {
				t.Fatalf("accepted %+v", a)
			}
		}
	})
}

// TestAlertmanagerIntake: the webhook wants the token; an alert about a
// host whose ping is down is recorded but muted as unreachable; a
// resolved one resolves.
func TestAlertmanagerIntake(t *testing.T) {
	f := newFixture(t)
	f.cfg.Alertmanager.Token = "am-secret"
	f.mon = f.newMonitor()
	srv := httptest.NewServer(mux(f.mon))
	defer srv.Close()
	post := func(body, auth string) int {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/alertmanager", strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(amPayload, ""); code != 401 {
		t.Errorf("no token: %d", code)
	}
	if code := post(amPayload, "Bearer wrong"); code != 401 {
		t.Errorf("wrong token: %d", code)
	}
	if code := post(`{"version":"3"}`, "Bearer am-secret"); code != 400 {
		t.Errorf("version 3: %d", code)
	}
	if code := post(amPayload, "Bearer am-secret"); code != 200 {
		t.Fatalf("bearer: %d", code)
	}
	got := f.sent.take()
	if len(got) != 1 || got[0].channel != "matrix" || !strings.Contains(got[0].msg.Subject, "[FIRING] NodeDown (critical)") {
		t.Fatalf("sent %v", subjects(got))
	}
	// The same alert again (Alertmanager repeats): nothing new.
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/alertmanager", strings.NewReader(amPayload))
	req.SetBasicAuth("alertmanager", "am-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("basic auth: %v %v", err, resp.StatusCode)
	}
	resp.Body.Close()
	if got := f.sent.take(); len(got) != 0 || len(f.firing()) != 1 {
		t.Fatalf("repeat raised again: %v", subjects(got))
	}
	if code := post(strings.ReplaceAll(amPayload, `"status": "firing", "labels"`, `"status": "resolved", "labels"`), "Bearer am-secret"); code != 200 {
		t.Fatal(code)
	}
	if got := f.sent.take(); len(got) != 1 || !strings.Contains(got[0].msg.Subject, "RESOLVED") {
		t.Fatalf("resolved: %v", subjects(got))
	}

	// gw1's ping is down (TEST-NET-3 answers nobody): Alertmanager's
	// NodeDown about gw1 is a consequence.
	gw1, _ := f.reg.CreateHost(f.ctx, f.admin, registry.HostInput{Name: ptr("gw1")})
	f.check(registry.CheckInput{Name: ptr("gw1-ping"), Kind: ptr(registry.CheckICMP), Address: ptr("203.0.113.77"), HostID: &gw1.ID, Timeout: ptr("1s")})
	f.tick(time.Minute)
	if got := f.sent.take(); len(got) != 1 {
		t.Fatalf("gw1-ping down: %v", subjects(got))
	}
	if code := post(strings.ReplaceAll(amPayload, "c0ffee", "decaf"), "Bearer am-secret"); code != 200 {
		t.Fatal(code)
	}
	if got := f.sent.take(); len(got) != 0 {
		t.Fatalf("alert behind a down check sent: %v", subjects(got))
	}
	var am registry.Alert
	for _, a := range f.firing() {
		if a.Source == registry.SourceAlertmanager {
			am = a
		}
	}
	if am.Muted != "unreachable: check gw1-ping of host gw1 is down" {
		t.Errorf("muted %q", am.Muted)
	}
}

// TestRealAlertmanager: Prometheus Alertmanager, configured with maillon
// as its webhook receiver (bearer token in http_config), is fed an alert
// through its API, and the alert lands in maillon.
func TestRealAlertmanager(t *testing.T) {
	bin := testenv.LookPath(t, "prometheus-alertmanager")
	f := newFixture(t)
	f.cfg.Alertmanager.Token = "am-secret"
	f.cfg.Routes = []config.AlertRoute{{Levels: []config.AlertLevel{{Channels: []string{"email"}}}}}
	f.mon = f.newMonitor()
	srv := httptest.NewServer(mux(f.mon))
	defer srv.Close()

	dir := t.TempDir()
	port := testenv.FreePort(t)
	cfg := fmt.Sprintf(`route:
  receiver: maillon
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: maillon
    webhook_configs:
      - url: %s/api/v1/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: am-secret
`, srv.URL)
	if err := os.WriteFile(filepath.Join(dir, "am.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "am.yml"), "--storage.path="+dir,
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--cluster.listen-address=") // no cluster: no gossip to settle
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("alertmanager:\n%s", log.String())
		}
	})
	api := fmt.Sprintf("http://127.0.0.1:%d/api/v2/alerts", port)
	alerts, _ := json.Marshal([]map[string]any{{
		"labels":      map[string]string{"alertname": "DiskFull", "instance": "nas1:9100", "severity": "warning"},
		"annotations": map[string]string{"summary": "/srv is 97% full"},
	}})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Post(api, "application/json", bytes.NewReader(alerts))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("alertmanager API not ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var got []registry.Alert
	for time.Now().Before(deadline) {
		if got = f.firing(); len(got) > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(got) != 1 || got[0].Name != "DiskFull" || got[0].Source != registry.SourceAlertmanager || got[0].Labels["instance"] != "nas1:9100" ||
		!strings.Contains(got[0].Summary, "97% full") {
		t.Fatalf("firing in maillon: %+v", got)
	}
	if sent := f.sent.take(); len(sent) != 1 || sent[0].channel != "email" {
		t.Fatalf("sent %v", subjects(sent))
	}
}

// TestAlertmanagerMutedOnlyWhenUnreachable: an Alertmanager alert about a
// host is muted only when the host cannot be reached (its ping down, or
// its base checks unreachable behind their site), never because one of
// its applications (a backup heartbeat, a web server, a port) fails.
func TestAlertmanagerMutedOnlyWhenUnreachable(t *testing.T) {
	f := newFixture(t)
	site, _ := f.reg.CreateSite(f.ctx, f.admin, registry.SiteInput{Name: ptr("Fleming")})
	sw1, _ := f.reg.CreateHost(f.ctx, f.admin, registry.HostInput{Name: ptr("sw1")})
	nas1, _ := f.reg.CreateHost(f.ctx, f.admin, registry.HostInput{Name: ptr("nas1")})
	ap1, _ := f.reg.CreateHost(f.ctx, f.admin, registry.HostInput{Name: ptr("ap1"), SiteID: &site.ID})
	uplink, web, ssh := newSwitchable(t), newSwitchable(t), newSwitchable(t)
	f.check(registry.CheckInput{Name: ptr("sw1-ping"), Kind: ptr(registry.CheckICMP), Address: ptr("127.0.0.1"), HostID: &sw1.ID, Timeout: ptr("1s")})
	borg := f.check(registry.CheckInput{Name: ptr("borg"), Kind: ptr(registry.CheckPush), Interval: ptr("1d"), Timeout: ptr("1h"), HostID: &sw1.ID})
	sw1Web := f.check(registry.CheckInput{Name: ptr("sw1-http"), Kind: ptr(registry.CheckTCP), Address: ptr(web.addr), HostID: &sw1.ID})
	// nas1 has no ping: its checks are its base, but one failing is still
	// the application's failure.
	nas1SSH := f.check(registry.CheckInput{Name: ptr("nas1-ssh"), Kind: ptr(registry.CheckTCP), Address: ptr(ssh.addr), HostID: &nas1.ID})
	up := f.check(registry.CheckInput{Name: ptr("uplink"), Kind: ptr(registry.CheckTCP), Address: ptr(uplink.addr), SiteID: &site.ID})
	ap1SSH := f.check(registry.CheckInput{Name: ptr("ap1-ssh"), Kind: ptr(registry.CheckTCP), Address: ptr(web.addr), HostID: &ap1.ID})
	f.tick(0)
	if _, err := f.mon.Push(f.ctx, borg.PushToken, false, "repository locked"); err != nil {
		t.Fatal(err)
	}
	web.stop()
	ssh.stop()
	uplink.stop()
	f.tick(time.Minute)
	st, _ := f.mon.StateOf(sw1Web.ID)
	if st.State != registry.StateDown {
		t.Fatalf("sw1-http is %s (%s), want down", st.State, st.Message)
	}
	f.wantStates(map[*registry.Check]string{&borg: "down", &nas1SSH: "down", &up: "down", &ap1SSH: "unreachable"})
	f.sent.take()

	intake := func(fp, host string) registry.Alert {
		t.Helper()
		f.mon.Intake(f.ctx, &monitor.AMPayload{Version: "4", Alerts: []monitor.AMAlert{{
			Status: "firing", Fingerprint: fp, StartsAt: start,
			Labels: map[string]string{"alertname": "DiskFull", "maillon_host": host, "severity": "warning"},
		}}})
		for _, a := range f.firing() {
			if a.Fingerprint == "am:"+fp {
				return a
			}
		}
		t.Fatalf("alert %s not recorded", fp)
		return registry.Alert{}
	}
	for _, host := range []string{"sw1", "nas1"} {
		if a := intake("disk-"+host, host); a.Muted != "" || a.Notifications != 1 {
			t.Errorf("DiskFull on %s: muted %q, %d notifications; want sent", host, a.Muted, a.Notifications)
		}
	}
	if a := intake("disk-ap1", "ap1"); a.Muted != "unreachable: check ap1-ssh of host ap1 is unreachable" || a.Notifications != 0 {
		t.Errorf("DiskFull on ap1 behind a dead uplink: muted %q, %d notifications", a.Muted, a.Notifications)
	}
	if got := subjects(f.sent.take()); len(got) != 2 {
		t.Errorf("sent %v, want DiskFull of sw1 and nas1", got)
	}
}

// TestPushCheckIsNeverABase: a heartbeat says a job ran, not that its
// host answers: on a host without a ping it depends on the host's other
// checks rather than being their base, and on a site it hides nothing.
func TestPushCheckIsNeverABase(t *testing.T) {
	f := newFixture(t)
	site, _ := f.reg.CreateSite(f.ctx, f.admin, registry.SiteInput{Name: ptr("Fleming")})
	h, _ := f.reg.CreateHost(f.ctx, f.admin, registry.HostInput{Name: ptr("backup1"), SiteID: &site.ID})
	antenna := f.check(registry.CheckInput{Name: ptr("antenna"), Kind: ptr(registry.CheckPush), Interval: ptr("1h"), SiteID: &site.ID})
	ssh := f.check(registry.CheckInput{Name: ptr("backup1-ssh"), Kind: ptr(registry.CheckTCP), Address: ptr("192.0.2.3:22"), HostID: &h.ID})
	borg := f.check(registry.CheckInput{Name: ptr("borg"), Kind: ptr(registry.CheckPush), Interval: ptr("1d"), HostID: &h.ID})
	g, err := f.reg.CheckGraph(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p := g.Parents[ssh.ID]; len(p) != 0 {
		t.Errorf("backup1-ssh depends on %v, want nothing (the site has only a heartbeat)", p)
	}
	if p := g.Parents[borg.ID]; len(p) != 1 || p[0].Parent != ssh.ID {
		t.Errorf("borg depends on %v, want backup1-ssh", p)
	}
	if b := g.Base(registry.TargetSite, site.ID); len(b) != 0 {
		t.Errorf("site base %v, want none (not %d)", b, antenna.ID)
	}
}
