package web_test

import (
	"context"
	"net"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"maillon/internal/app"
	"maillon/internal/app/apptest"
	"maillon/internal/config"
	"maillon/internal/registry"
	"maillon/internal/testenv"
)

// TestAcknowledgeFromTheWebUI: a switch stops answering, its check goes
// down and one alert reaches a real mailbox; a technical officer opens the
// alerts page, where the switch comes first, and acknowledges it; those
// alerted are told, the alert says who. A read-only admin sees the alert
// but no button, and cannot post one either.
func TestAcknowledgeFromTheWebUI(t *testing.T) {
	smtp := testenv.StartSMTP(t)
	dir := t.TempDir()
	cfg := app.LoopbackConfig(dir, filepath.Join(dir, "maillon.db"))
	cfg.DNS.Listen = ""
	cfg.Log.Level = "error"
	cfg.Notify.Email = config.Email{SMTP: smtp.Addr, From: "maillon <noc@example.org>", TLS: "none"}
	cfg.Notify.Channels = []config.Channel{{Name: "noc", Type: "email", To: []string{"noc@example.org"}}}
	cfg.Monitor.Routes = []config.AlertRoute{{Name: "all", Levels: []config.AlertLevel{{Channels: []string{"noc"}}}}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a := apptest.Run(t, cfg)
	e := &uiEnv{t: t, app: a, reg: a.Registry()}
	e.addAdmin("Ada", registry.RoleTechnicalOfficer)
	e.addAdmin("Reader", registry.RoleReadOnly)
	ctx := context.Background()

	sw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := sw.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	for _, in := range []registry.CheckInput{
		{Name: ptr("sw-fleming"), Kind: ptr(registry.CheckKind("tcp")), Address: ptr(sw.Addr().String()), Severity: ptr("critical")},
		{Name: ptr("always-up"), Kind: ptr(registry.CheckKind("tcp")), Address: ptr(a.HTTPAddr())},
	} {
		in.Interval = ptr("1s")
		in.Timeout = ptr("1s")
		if _, err := a.Registry().CreateCheck(ctx, registry.System, in); err != nil {
			t.Fatal(err)
		}
	}
	sw.Close()

	mails := smtp.Wait(t, 1)
	if !strings.Contains(mails[0].Subject, "sw-fleming") || mails[0].To[0] != "noc@example.org" {
		t.Fatalf("alert mail: %q to %v", mails[0].Subject, mails[0].To)
	}
	var alert registry.Alert
	a.Registry().Read(ctx, func(r registry.Reader) error {
		as, err := r.ListAlerts(ctx, registry.AlertFilter{State: registry.AlertFiring})
		if len(as) == 1 {
			alert = as[0]
		}
		return err
	})
	if alert.ID == 0 {
		t.Fatal("no firing alert after its mail")
	}
	ackPath := "/admin/alerts/" + strconv.FormatInt(alert.ID, 10) + "/ack"

	newBrowser := func() *browser {
		jar, _ := cookiejar.New(nil)
		return &browser{t: t, base: "http://" + a.HTTPAddr(), c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}}
	}
	reader := newBrowser()
	reader.mustLogin("Reader")
	page := reader.get("/admin/alerts")
	if page.status != http.StatusOK || !strings.Contains(page.body, "sw-fleming") || strings.Contains(page.body, ackPath) {
		t.Fatalf("read-only alerts page: %d\n%s", page.status, page.body)
	}
	if r := reader.post(ackPath, nil); r.status != http.StatusForbidden {
		t.Fatalf("read-only ack: %d", r.status)
	}

	ada := newBrowser()
	ada.mustLogin("Ada")
	page = ada.get("/admin/alerts")
	if !strings.Contains(page.body, `action="`+ackPath+`"`) {
		t.Fatalf("no acknowledge button:\n%s", page.body)
	}
	// The down switch is listed before the check that is up.
	if d, u := strings.Index(page.body, ">sw-fleming<"), strings.LastIndex(page.body, ">always-up<"); d < 0 || u < 0 || d > u {
		t.Errorf("sw-fleming (down) at %d, always-up at %d", d, u)
	}
	r := ada.post(ackPath, nil)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/admin/alerts") {
		t.Fatalf("ack: %d %q\n%s", r.status, r.location, r.body)
	}
	page = ada.get("/admin/alerts")
	if !strings.Contains(page.body, "acknowledged by admin:Ada") || strings.Contains(page.body, `action="`+ackPath+`"`) {
		t.Fatalf("after the ack:\n%s", page.body)
	}
	// Those alerted hear of it.
	mails = smtp.Wait(t, 2)
	if !strings.Contains(strings.ToLower(mails[1].Subject+mails[1].Body), "acknowledged") {
		t.Errorf("second mail: %q\n%s", mails[1].Subject, mails[1].Body)
	}
	if out, err := a.Registry().Audit(ctx, registry.AuditFilter{Entity: "alert"}); err != nil || len(out) == 0 || out[0].Actor != "admin:Ada" {
		t.Errorf("audit of the ack: %v %+v", err, out)
	}
}
