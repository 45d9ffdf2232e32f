package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"maillon/internal/app"
	"maillon/internal/app/apptest"
	"maillon/internal/registry"
	"maillon/internal/web"
)

// newJournalEnv is newUIEnv with the journal wired, as app does.
func newJournalEnv(t *testing.T) *uiEnv {
	t.Helper()
	dir := t.TempDir()
	cfg := app.LoopbackConfig(dir, filepath.Join(dir, "maillon.db"))
	cfg.DNS.Listen = ""
	a := apptest.Run(t, cfg)
	c := &clock{t: time.Now().UTC()}
	h := web.New(web.Options{Registry: a.Registry(), Journal: a.Registry(), Accounting: a.Store(), Web: &cfg.Web, Now: c.Now,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &uiEnv{t: t, app: a, reg: a.Registry(), clock: c, srv: srv}
}

// TestJournalPages: a technical officer writes an intervention from the
// browser, signed with their name; a bad one is refused next to its field
// and keeps what was typed; a read-only admin reads the journal and a
// change report's files, with no form.
func TestJournalPages(t *testing.T) {
	e := newJournalEnv(t)
	ctx := context.Background()
	gw1, err := e.reg.CreateHost(ctx, registry.System, registry.HostInput{Name: ptr("gw1")})
	if err != nil {
		t.Fatal(err)
	}
	e.addAdmin("Ada", registry.RoleTechnicalOfficer)
	e.addAdmin("Reader", registry.RoleReadOnly)
	tok, _, _ := e.reg.CreateAgentToken(ctx, registry.System, gw1.ID, "")
	agent, _ := e.reg.AuthenticateAgent(ctx, tok)
	rep, _, err := e.reg.RecordChangeReport(ctx, agent, registry.ChangeReport{ID: "gw1-1-x", Host: "gw1",
		Files:    []registry.FileChange{{Path: "/etc/ssh/sshd_config", Change: "modified", Type: "file", Mode: "0600", OldMode: "0644", Owner: "root:root", SHA256: strings.Repeat("e", 64)}},
		Packages: []registry.PackageChange{{Name: "nginx", Arch: "amd64", Change: "upgraded", Version: "2", OldVersion: "1"}}})
	if err != nil {
		t.Fatal(err)
	}

	b := e.browser()
	b.mustLogin("Ada")
	page := b.get("/admin/journal")
	if page.status != 200 || !strings.Contains(page.body, `href="/admin/journal"`) || !strings.Contains(page.body, `action="/admin/journal"`) ||
		!strings.Contains(page.body, "1 file changed (1 modified), 1 package upgraded") {
		t.Fatalf("journal page: %d\n%s", page.status, page.body)
	}
	id := strconv.FormatInt(gw1.ID, 10)
	r := b.post("/admin/journal?host="+id, url.Values{"host_id": {id}, "text": {"  "}, "related_kind": {"incident"}, "related_id": {"3"}})
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, `href="#f-text"`) || !strings.Contains(r.body, `value="3"`) {
		t.Fatalf("empty text: %d\n%s", r.status, r.body)
	}
	r = b.post("/admin/journal?host="+id, url.Values{"host_id": {id}, "text": {"replaced the PSU"}, "related_kind": {"incident"}, "related_id": {"3"}, "at": {"2026-01-02T03:04"}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/admin/journal?host="+id+"#j") {
		t.Fatalf("add: %d %q\n%s", r.status, r.location, r.body)
	}
	es, _ := func() ([]registry.JournalEntry, error) {
		var out []registry.JournalEntry
		err := e.reg.Read(ctx, func(rd registry.Reader) error {
			var err error
			out, err = rd.ListJournal(ctx, registry.JournalFilter{Kind: registry.JournalIntervention})
			return err
		})
		return out, err
	}()
	if len(es) != 1 || es[0].Author != "admin:Ada" || es[0].Text != "replaced the PSU" || *es[0].RelatedID != 3 ||
		!es[0].At.Equal(time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)) {
		t.Fatalf("written: %+v", es)
	}
	if r := b.get(r.location); !strings.Contains(r.body, "replaced the PSU") || !strings.Contains(r.body, "incident 3") {
		t.Errorf("after adding:\n%s", r.body)
	}

	rd := e.browser()
	rd.mustLogin("Reader")
	for _, p := range []string{"/admin/journal", "/admin/journal?host=" + id + "&kind=change-report", "/admin/journal/" + strconv.FormatInt(rep.ID, 10)} {
		r := rd.get(p)
		if r.status != 200 || strings.Count(r.body, `method="post"`) != 1 {
			t.Errorf("read-only %s: %d, %d POST forms", p, r.status, strings.Count(r.body, `method="post"`))
		}
	}
	show := rd.get("/admin/journal/" + strconv.FormatInt(rep.ID, 10)).body
	for _, want := range []string{"/etc/ssh/sshd_config", "0644 → 0600", "nginx:amd64", "1 → 2"} {
		if !strings.Contains(show, want) {
			t.Errorf("report page lacks %q", want)
		}
	}
	if r := rd.post("/admin/journal", url.Values{"host_id": {id}, "text": {"x"}}); r.status != http.StatusForbidden {
		t.Errorf("read-only post: %d", r.status)
	}
	b.get("/lang/fr")
	if r := b.get("/admin/journal"); !strings.Contains(r.body, "Journal des interventions") {
		t.Error("no French page")
	}
}
