package cli

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"maillon/internal/app"
	"maillon/internal/app/apptest"
	"maillon/internal/config"
	"maillon/internal/testenv"
)

// TestStatusPageEndToEnd runs the daemon with a real SMTP server and a
// simulated clock: components, an incident and maintenance written with
// the CLI show on the public page and its feeds, and the members of the
// site (not the others) receive the maintenance email when it is
// planned, when it starts and when it ends.
func TestStatusPageEndToEnd(t *testing.T) {
	smtp := testenv.StartSMTP(t)
	clock := apptest.NewClock(time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC))
	cfg := app.LoopbackConfig(t.TempDir(), filepath.Join(t.TempDir(), "maillon.db"))
	cfg.Log.Level = "error"
	cfg.Notify.Email = config.Email{SMTP: smtp.Addr, From: "noc@isp.example", TLS: "none"}
	cfg.Status.Title = "Aurore"
	a := apptest.Run(t, cfg, app.WithClock(clock))
	env, httpURL := map[string]string{"MAILLON_SOCKET": a.SocketPath()}, "http://"+a.HTTPAddr()
	cli := func(args ...string) result { return runCLI(runOpt{}, env, args...) }
	must := func(args ...string) string {
		t.Helper()
		r := cli(args...)
		if r.code != 0 {
			t.Fatalf("maillon %s: status %d: %s", strings.Join(args, " "), r.code, r.stderr)
		}
		return r.stdout
	}
	httpGet := func(path string) string {
		t.Helper()
		resp, err := http.Get(httpURL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}

	must("site", "add", "--name", "Fleming", "--kind", "residence")
	must("site", "add", "--name", "Curie", "--kind", "residence")
	for _, m := range [][3]string{{"Ada", "Fleming", "02:00:00:00:00:01"}, {"Bob", "Fleming", "02:00:00:00:00:02"}, {"Eve", "Curie", "02:00:00:00:00:03"}} {
		email := strings.ToLower(m[0]) + "@example.org"
		must("member", "add", "--name", m[0], "--email", email, "--site", m[1], "--period", "2026-01-01:")
		must("subscription", "add", "--member", email, "--kind", "room-port", "--login", "room-"+strings.ToLower(m[0]), "--mac", m[2])
	}
	must("member", "language", "bob@example.org", "en")
	must("component", "add", "--name", "Internet — Fleming", "--group", "Internet", "--target", "site:Fleming")
	must("component", "add", "--name", "Internet — Curie", "--group", "Internet", "--target", "site:curie")
	if r := cli("component", "add", "--name", "Bad", "--target", "site:Nowhere"); r.code != 1 || !strings.Contains(r.stderr, `no site named "Nowhere"`) {
		t.Fatalf("bad target: %d %s", r.code, r.stderr)
	}
	out := must("maintenance", "recipients", "--component", "Internet — Fleming")
	if !strings.Contains(out, "ada@example.org") || !strings.Contains(out, "bob@example.org") || strings.Contains(out, "eve@") {
		t.Fatalf("recipients:\n%s", out)
	}

	must("maintenance", "plan", "--title", "Switch firmware", "--component", "Internet — Fleming",
		"--start", "2026-11-22T21:00:00Z", "--end", "2026-11-22T22:30:00Z", "--description", "Ten minutes without network per floor.")
	// Planned: announced at once (the daemon reacts to the change).
	mails := smtp.Wait(t, 2)
	if len(mails) != 2 || len(smtp.To(t, "eve@example.org")) != 0 {
		t.Fatalf("announcements: %+v", mails)
	}
	if bob := smtp.To(t, "bob@example.org"); len(bob) != 1 || bob[0].Subject != "[Aurore] Planned maintenance: Switch firmware (22 Nov 2026, 22:00)" {
		t.Fatalf("Bob's: %+v", bob)
	}
	out = must("incident", "open", "--title", "Curie slow", "--component", "Internet — Curie", "--impact", "degraded", "--message", "Investigating the uplink.")
	if !strings.Contains(out, "state:      investigating") {
		t.Fatalf("incident open:\n%s", out)
	}
	smtp.Wait(t, 3) // Eve

	page := httpGet("/status?lang=en")
	for _, want := range []string{"Internet — Fleming", "Switch firmware", "From 22 Nov 2026, 22:00 to 22 Nov 2026, 23:30",
		"Curie slow", "Investigating the uplink.", `<span class="badge degraded">Degraded</span>`} {
		if !strings.Contains(page, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	if ics := httpGet("/status/calendar.ics"); !strings.Contains(ics, "DTSTART:20261122T210000Z") || !strings.Contains(ics, "BEGIN:VEVENT") {
		t.Errorf("calendar:\n%s", ics)
	}
	if atom := httpGet("/status/feed.atom"); !strings.Contains(atom, "Curie slow") {
		t.Errorf("feed:\n%s", atom)
	}

	// The clock reaches the start, then the end: one email each.
	clock.Set(time.Date(2026, 11, 22, 21, 1, 0, 0, time.UTC))
	smtp.Wait(t, 5)
	clock.Set(time.Date(2026, 11, 22, 22, 31, 0, 0, time.UTC))
	smtp.Wait(t, 7)
	ada := smtp.To(t, "ada@example.org")
	if len(ada) != 3 || !strings.HasPrefix(ada[1].Subject, "[Aurore] Maintenance commencée") || !strings.HasPrefix(ada[2].Subject, "[Aurore] Maintenance terminée") {
		var subjects []string
		for _, m := range ada {
			subjects = append(subjects, m.Subject)
		}
		t.Fatalf("Ada's: %q", subjects)
	}
	out = must("incident", "resolve", "1", "--message", "Fixed.")
	if !strings.Contains(out, "state:      resolved") {
		t.Fatalf("resolve:\n%s", out)
	}
	if out := must("incident", "list", "--state", "open"); strings.Contains(out, "Curie slow") {
		t.Errorf("resolved incident listed as open:\n%s", out)
	}
	if out := must("audit", "--entity", "maintenance"); !strings.Contains(out, "plan") || !strings.Contains(out, "notify") {
		t.Errorf("maintenance audit:\n%s", out)
	}
}
