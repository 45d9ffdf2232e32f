package web_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"maillon/internal/app"
	"maillon/internal/app/apptest"
	"maillon/internal/config"
	"maillon/internal/registry"
	"maillon/internal/testenv"
)

// TestAdminRosterPage drives the roster page of the admin interface
// against a daemon and a real SMTP server: an admin starts a campaign
// (the mails go out at once), a technical officer answers their own
// question there, and may not start one.
func TestAdminRosterPage(t *testing.T) {
	smtp := testenv.StartSMTP(t)
	dir := t.TempDir()
	cfg := app.LoopbackConfig(dir, filepath.Join(dir, "maillon.db"))
	cfg.DNS.Listen = ""
	cfg.Notify.Email = config.Email{SMTP: smtp.Addr, From: "noc@example.org", TLS: "none"}
	a := apptest.Run(t, cfg)
	e := &uiEnv{t: t, app: a, reg: a.Registry()}
	e.addAdmin("Root", registry.RoleAdmin)
	e.addAdmin("Ada", registry.RoleTechnicalOfficer)
	e.addAdmin("Bob", registry.RoleTechnicalOfficer)
	newBrowser := func() *browser {
		jar, _ := cookiejar.New(nil)
		return &browser{t: t, base: "http://" + a.HTTPAddr(), c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}}
	}

	root := newBrowser()
	root.mustLogin("Root")
	if r := root.get("/admin/roster"); r.status != 200 || !strings.Contains(r.body, "No campaign yet.") || !strings.Contains(r.body, "Start a campaign now") ||
		!strings.Contains(r.body, `href="/admin/roster"`) {
		t.Fatalf("roster page before any campaign: %d\n%s", r.status, r.body)
	}
	if r := root.post("/admin/roster/start", nil); r.status != http.StatusSeeOther {
		t.Fatalf("start: %d\n%s", r.status, r.body)
	}
	smtp.Wait(t, 2)
	if r := root.get("/admin/roster"); !strings.Contains(r.body, "Campaign started") || strings.Contains(r.body, "Start a campaign now") ||
		strings.Count(r.body, ">pending<") != 2 {
		t.Fatalf("roster page after the start:\n%s", r.body)
	}

	ada := newBrowser()
	ada.mustLogin("Ada")
	r := ada.get("/admin/roster")
	if !strings.Contains(r.body, "Ada, do you keep your title (technical-officer)?") || strings.Contains(r.body, "Start a campaign now") {
		t.Fatalf("Ada's roster page:\n%s", r.body)
	}
	if r := ada.post("/admin/roster/start", nil); r.status != http.StatusForbidden {
		t.Fatalf("a technical officer starts a campaign: %d", r.status)
	}
	if r := ada.post("/admin/roster/answer", url.Values{"answer": {"keep"}}); r.status != http.StatusSeeOther {
		t.Fatalf("answer: %d\n%s", r.status, r.body)
	}
	r = ada.get("/admin/roster")
	if !strings.Contains(r.body, "You keep your title.") || strings.Contains(r.body, "do you keep your title") || strings.Count(r.body, ">kept<") != 1 {
		t.Fatalf("after the answer:\n%s", r.body)
	}
}
