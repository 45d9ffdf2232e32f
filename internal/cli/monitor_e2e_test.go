package cli

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"maillon/internal/app"
	"maillon/internal/app/apptest"
	"maillon/internal/config"
	"maillon/internal/registry"
	"maillon/internal/testenv"
)

// target is a TCP service a test can stop and start on the same port.
type target struct {
	t    *testing.T
	addr string
	mu   sync.Mutex
	ln   net.Listener
}

func newTarget(t *testing.T) *target {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	x := &target{t: t, addr: ln.Addr().String()}
	x.serve(ln)
	t.Cleanup(x.stop)
	return x
}

func (x *target) serve(ln net.Listener) {
	x.mu.Lock()
	x.ln = ln
	x.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

func (x *target) stop() {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.ln != nil {
		x.ln.Close()
		x.ln = nil
	}
}

func (x *target) start() {
	ln, err := net.Listen("tcp", x.addr)
	if err != nil {
		x.t.Fatal(err)
	}
	x.serve(ln)
}

// TestMonitoringEndToEnd drives monitoring through the CLI against the
// real daemon: checks on a switch and the access points behind it, a
// RADIUS check against the daemon's own RADIUS server, a push URL. The
// switch dies with its access points: it is down, they are unreachable,
// and one alert reaches a real SMTP server and a webhook; it is
// acknowledged from the CLI, which tells them too.
func TestMonitoringEndToEnd(t *testing.T) {
	smtp := testenv.StartSMTP(t)
	var hookMu sync.Mutex
	var hooks []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		json.NewDecoder(r.Body).Decode(&v)
		hookMu.Lock()
		hooks = append(hooks, v)
		hookMu.Unlock()
	}))
	defer hook.Close()

	cfg := app.LoopbackConfig(t.TempDir(), filepath.Join(t.TempDir(), "maillon.db"))
	cfg.Log.Level = "error"
	cfg.Notify.Email = config.Email{SMTP: smtp.Addr, From: "maillon <noc@example.org>", TLS: "none"}
	cfg.Notify.Channels = []config.Channel{
		{Name: "noc", Type: "email", To: []string{"noc@example.org"}},
		{Name: "hook", Type: "webhook", URL: hook.URL},
	}
	cfg.Monitor.PublicURL = "https://maillon.example.org"
	cfg.Monitor.Alertmanager.Token = "am-token"
	cfg.Monitor.Routes = []config.AlertRoute{{Name: "all", Levels: []config.AlertLevel{{Channels: []string{"noc", "hook"}}}}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := apptest.Run(t, cfg)
	env := map[string]string{"MAILLON_SOCKET": a.SocketPath()}
	httpURL := "http://" + a.HTTPAddr()
	cli := func(args ...string) result { return runCLI(runOpt{}, env, args...) }
	must := func(args ...string) string {
		t.Helper()
		r := cli(args...)
		if r.code != 0 {
			t.Fatalf("maillon %s: status %d: %s", strings.Join(args, " "), r.code, r.stderr)
		}
		return r.stdout
	}
	sw, ap1, ap2 := newTarget(t), newTarget(t), newTarget(t)
	must("site", "add", "--name", "Fleming", "--kind", "residence")
	must("host", "add", "--name", "sw-fleming", "--role", "switch", "--site", "Fleming")
	must("host", "add", "--name", "ap1", "--site", "Fleming")
	must("component", "add", "--name", "Internet — Fleming", "--target", "site:Fleming")
	must("check", "add", "--name", "sw-fleming", "--kind", "tcp", "--address", sw.addr, "--host", "sw-fleming", "--interval", "1s", "--timeout", "1s", "--severity", "critical")
	must("check", "add", "--name", "ap1", "--kind", "tcp", "--address", ap1.addr, "--host", "ap1", "--interval", "1s", "--timeout", "1s", "--parent", "sw-fleming")
	must("check", "add", "--name", "ap2", "--kind", "tcp", "--address", ap2.addr, "--interval", "1s", "--timeout", "1s", "--parent", "sw-fleming", "--tag", "wifi")
	must("nas", "add", "--name", "self", "--address", "127.0.0.1", "--secret", "radius-secret")
	must("check", "add", "--name", "radius", "--kind", "radius", "--address", a.RADIUSAuthAddr(), "--secret", "radius-secret", "--interval", "1s", "--timeout", "1s", "--service", "aaa",
		"--retries", "3") // the RADIUS server learns of the new NAS a moment later
	out := must("check", "add", "--name", "borgmatic", "--kind", "push", "--interval", "1h", "--timeout", "10m")
	m := regexp.MustCompile(`push URL: +https://maillon\.example\.org(/push/\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("check add --kind push does not print the URL:\n%s", out)
	}
	if out := must("check", "show", "borgmatic"); strings.Contains(out, m[1]) {
		t.Errorf("the push URL is shown again:\n%s", out)
	}
	resp, err := http.Get(httpURL + m[1])
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("push: %v %v", err, resp)
	}
	resp.Body.Close()

	// Bad input: one line, nothing written.
	cli("check", "add", "--name", "bad", "--kind", "http", "--url", "ftp://example.org").failsWith(t, 1, `url: "ftp://example.org" is not an http:// or https:// URL`)
	r := cli("check", "update", "sw-fleming", "--parent", "ap1")
	if r.code != 1 || !strings.Contains(r.stderr, "dependency cycle: sw-fleming → ap1 → sw-fleming") {
		t.Errorf("cycle: %d %s", r.code, r.stderr)
	}

	states := func() map[string]string {
		var list struct{ Items []registry.Check }
		json.Unmarshal([]byte(must("--json", "check", "list")), &list)
		out := map[string]string{}
		for _, c := range list.Items {
			if c.State != nil {
				out[c.Name] = c.State.State
			}
		}
		return out
	}
	waitFor := func(what string, want map[string]string) {
		t.Helper()
		var got map[string]string
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			got = states()
			ok := true
			for k, v := range want {
				if got[k] != v {
					ok = false
				}
			}
			if ok {
				return
			}
		}
		t.Fatalf("%s: states %v, want %v", what, got, want)
	}
	waitFor("start", map[string]string{"sw-fleming": "up", "ap1": "up", "ap2": "up", "radius": "up", "borgmatic": "up"})
	graph := must("check", "graph")
	if !strings.Contains(graph, "sw-fleming (tcp, up)\n  ap1 (tcp, up)  [explicit]\n  ap2 (tcp, up)  [explicit]\n") {
		t.Errorf("check graph:\n%s", graph)
	}

	// The residence loses power.
	sw.stop()
	ap1.stop()
	ap2.stop()
	waitFor("power cut", map[string]string{"sw-fleming": "down", "ap1": "unreachable", "ap2": "unreachable"})
	mails := smtp.Wait(t, 1)
	if len(mails) != 1 || !strings.Contains(mails[0].Subject, "[FIRING] sw-fleming (critical)") || !strings.Contains(mails[0].Body, "https://maillon.example.org/alerts/") {
		t.Fatalf("mails: %+v", mails)
	}
	// The status page sees it: the switch and ap1 fail, of the two checks
	// watching the site.
	resp, err = http.Get(httpURL + "/status/components.json")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), `"major_outage"`) {
		t.Errorf("status page during the outage:\n%s", page)
	}
	list := must("check", "list")
	if !regexp.MustCompile(`(?m)^\d+ +ap1 +tcp +\S+ +unreachable +.*behind sw-fleming$`).MatchString(list) {
		t.Errorf("check list:\n%s", list)
	}
	alerts := must("alert", "list")
	id := regexp.MustCompile(`(?m)^(\d+) +sw-fleming +critical +firing`).FindStringSubmatch(alerts)
	if id == nil || strings.Contains(alerts, "ap1") {
		t.Fatalf("alert list:\n%s", alerts)
	}
	if out := must("alert", "ack", id[1]); !strings.Contains(out, "acknowledged: ") || !strings.Contains(out, " by local:") {
		t.Errorf("alert ack:\n%s", out)
	}
	if r := cli("alert", "ack", id[1]); r.code != 1 || !strings.Contains(r.stderr, "was already acknowledged by local:") {
		t.Errorf("second ack: %d %s", r.code, r.stderr)
	}
	mails = smtp.Wait(t, 2)
	if !strings.Contains(mails[1].Subject, "[ACKNOWLEDGED] sw-fleming") {
		t.Errorf("second mail: %s", mails[1].Subject)
	}
	hookMu.Lock()
	nhooks := len(hooks)
	hookMu.Unlock()
	if nhooks != 2 {
		t.Errorf("%d webhook calls, want 2 (firing, acknowledged)", nhooks)
	}

	// Metrics.
	resp, err = http.Get(httpURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`maillon_check_state{check="sw-fleming",state="down"} 1`, `maillon_check_state{check="ap1",state="unreachable"} 1`,
		`maillon_check_up{check="radius",kind="radius",target="service aaa"} 1`, `maillon_check_latency_seconds{check="radius"}`,
		`maillon_alerts_firing{severity="critical",status="acknowledged"} 1`, `maillon_alert_notifications_total{channel="noc",outcome="sent"} 2`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// A silence, then the switch back: resolved, told to both.
	out = must("silence", "add", "tag=wifi", "--for", "2h", "--comment", "new access points")
	if !regexp.MustCompile(`(?m)^1 +tag=wifi +\S+ +.* new access points$`).MatchString(out) {
		t.Errorf("silence add:\n%s", out)
	}
	must("silence", "expire", "1")
	sw.start()
	ap1.start()
	ap2.start()
	waitFor("power back", map[string]string{"sw-fleming": "up", "ap1": "up", "ap2": "up"})
	mails = smtp.Wait(t, 3)
	if !strings.Contains(mails[2].Subject, "[RESOLVED] sw-fleming") {
		t.Errorf("third mail: %s", mails[2].Subject)
	}

	// Alertmanager's webhook, with its token only.
	payload := `{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"Watchdog","severity":"info"},"fingerprint":"w1"}]}`
	req, _ := http.NewRequest("POST", httpURL+"/api/v1/alertmanager", strings.NewReader(payload))
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("Alertmanager webhook without token: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest("POST", httpURL+"/api/v1/alertmanager", strings.NewReader(payload))
	req.Header.Set("Authorization", "Bearer am-token")
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(must("alert", "list"), "Watchdog") {
		t.Errorf("Alertmanager webhook: %d", resp.StatusCode)
	}
	// Over HTTP the API wants a token like any other.
	resp, _ = http.Get(httpURL + "/api/v1/checks")
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("checks without a token: %d", resp.StatusCode)
	}
}
