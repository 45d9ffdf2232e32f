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

	// gw1's ping is down: Alertmanager's NodeDown about gw1 is a consequence.
	tcp := newSwitchable(t)
	gw1, _ := f.reg.CreateHost(f.ctx, f.admin, registry.HostInput{Name: ptr("gw1")})
	f.check(registry.CheckInput{Name: ptr("gw1-ping"), Kind: ptr(registry.CheckTCP), Address: ptr(tcp.addr), HostID: &gw1.ID})
	f.tick(0)
	tcp.stop()
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
