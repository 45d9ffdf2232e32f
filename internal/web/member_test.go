package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"maillon/internal/app"
	"maillon/internal/app/apptest"
	"maillon/internal/config"
	"maillon/internal/registry"
	"maillon/internal/testenv"
)

// browserClient is a cookie-keeping HTTP client that does not follow
// redirects, so tests see where each answer sends the browser.
type browserClient struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

func newBrowser(t *testing.T, base string) *browserClient {
	jar, _ := cookiejar.New(nil)
	return &browserClient{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

var memberCSRFRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browserClient) do(method, path string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		if form.Get("csrf") == "" && b.csrf != "" {
			form.Set("csrf", b.csrf)
		}
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if m := memberCSRFRE.FindSubmatch(raw); m != nil {
		b.csrf = string(m[1])
	}
	return resp.StatusCode, string(raw), resp.Header
}

func (b *browserClient) get(path string) (int, string) {
	b.t.Helper()
	code, body, _ := b.do("GET", path, nil)
	return code, body
}

func (b *browserClient) post(path string, form url.Values) (int, string, string) {
	b.t.Helper()
	code, body, h := b.do("POST", path, form)
	return code, body, h.Get("Location")
}

type memberFixture struct {
	app        *app.App
	reg        *registry.Service
	base       string
	smtp       *testenv.SMTP
	ada, bob   registry.Member
	adaL, bobL registry.Subscription
}

func newMemberFixture(t *testing.T) *memberFixture {
	t.Helper()
	dir := t.TempDir()
	f := &memberFixture{smtp: testenv.StartSMTP(t)}
	cfg := app.LoopbackConfig(dir, filepath.Join(dir, "maillon.db"))
	cfg.RADIUS.Auth, cfg.RADIUS.Acct, cfg.DNS.Listen = "", "", ""
	cfg.Notify.Email = config.Email{SMTP: f.smtp.Addr, From: "maillon <noc@example.org>", TLS: "none"}
	// The links mailed carry the public URL, known before the start.
	cfg.Listen.HTTP = "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	cfg.Web.PublicURL = "http://" + cfg.Listen.HTTP
	f.app = apptest.Run(t, cfg)
	f.base = "http://" + f.app.HTTPAddr()
	f.reg = f.app.Registry()
	ctx := context.Background()
	admin := registry.Actor{Name: "test"}
	for _, p := range []struct {
		cidr    string
		purpose registry.Purpose
	}{{"198.51.100.0/24", registry.PurposeSubscriber}, {"2001:db8:100::/40", registry.PurposeSubscriber}, {"2001:db8:1000::/36", registry.PurposeDelegated}} {
		if _, err := f.reg.CreatePrefix(ctx, admin, registry.PrefixInput{CIDR: &p.cidr, Purpose: &p.purpose}); err != nil {
			t.Fatal(err)
		}
	}
	mk := func(name, email, login string) (registry.Member, registry.Subscription) {
		start, _ := registry.ParseDate("2026-01-01")
		m, err := f.reg.CreateMember(ctx, admin, registry.MemberInput{Name: &name, Email: &email, Periods: &[]registry.Period{{Start: start}}})
		if err != nil {
			t.Fatal(err)
		}
		kind, password := registry.KindPPP, login+"-password"
		s, err := f.reg.CreateSubscription(ctx, admin, registry.SubscriptionInput{MemberID: &m.ID, Kind: &kind, Login: &login, Password: &password})
		if err != nil {
			t.Fatal(err)
		}
		return m, s
	}
	f.ada, f.adaL = mk("Ada Lovelace", "ada@example.org", "ada@ISP")
	f.bob, f.bobL = mk("Bob Bobson", "bob@example.org", "bob@ISP")
	return f
}

func (f *memberFixture) login(t *testing.T, login, password string) *browserClient {
	t.Helper()
	b := newBrowser(t, f.base)
	if code, _ := b.get("/member/login"); code != 200 {
		t.Fatalf("GET /member/login: %d", code)
	}
	code, body, loc := b.post("/member/login", url.Values{"login": {login}, "password": {password}})
	if code != http.StatusSeeOther || loc != "/member/" {
		t.Fatalf("login %s: %d to %q\n%s", login, code, loc, body)
	}
	if code, _ := b.get("/member/"); code != 200 {
		t.Fatalf("GET /member/ after login: %d", code)
	}
	return b
}

func TestMemberSeesOnlyTheirOwnData(t *testing.T) {
	f := newMemberFixture(t)
	anon := newBrowser(t, f.base)
	if code, _, loc := anon.post("/member/login", url.Values{"login": {"ada@ISP"}, "password": {"ada@ISP-password"}}); code != http.StatusForbidden {
		t.Fatalf("login without the form's CSRF token: %d to %q, want 403", code, loc)
	}
	if code, _ := anon.get("/member/"); code != http.StatusSeeOther {
		t.Fatalf("anonymous GET /member/: %d, want a redirect to the login", code)
	}

	ada := f.login(t, "ada@ISP", "ada@ISP-password")
	code, home := ada.get("/member/")
	if code != 200 || !strings.Contains(home, "Ada Lovelace") || !strings.Contains(home, "ada@ISP") {
		t.Fatalf("home: %d\n%s", code, home)
	}
	for _, a := range f.adaL.Addresses {
		if !strings.Contains(home, a.Block.String()) {
			t.Errorf("home does not show the address %s", a.Block)
		}
	}
	if strings.Contains(home, "bob@ISP") || strings.Contains(home, "Bob Bobson") {
		t.Fatal("Ada's home shows Bob's data")
	}
	own := "/member/lines/" + strconv.FormatInt(f.adaL.ID, 10)
	if code, body := ada.get(own); code != 200 || !strings.Contains(body, f.adaL.Addresses[0].Block.String()) {
		t.Fatalf("own line: %d", code)
	}

	// Another member's line answers exactly like a line that does not
	// exist: 404, the same page.
	other := "/member/lines/" + strconv.FormatInt(f.bobL.ID, 10)
	codeOther, bodyOther := ada.get(other)
	codeNone, bodyNone := ada.get("/member/lines/" + strconv.FormatInt(f.bobL.ID+1000, 10))
	if codeOther != http.StatusNotFound || codeNone != http.StatusNotFound {
		t.Fatalf("another member's line: %d, a missing line: %d; want 404 both", codeOther, codeNone)
	}
	norm := func(s string) string {
		return strings.NewReplacer(strconv.FormatInt(f.bobL.ID, 10), "ID", strconv.FormatInt(f.bobL.ID+1000, 10), "ID").Replace(memberCSRFRE.ReplaceAllString(s, ""))
	}
	if norm(bodyOther) != norm(bodyNone) {
		t.Errorf("the 404 of another member's line differs from a missing line's:\n%s\n---\n%s", bodyOther, bodyNone)
	}
	if strings.Contains(bodyOther, "bob") || strings.Contains(bodyOther, "Bob") {
		t.Errorf("the 404 names Bob:\n%s", bodyOther)
	}
	if code, _ := ada.get("/member/lines/not-a-number"); code != http.StatusNotFound {
		t.Errorf("/member/lines/not-a-number: %d", code)
	}
	// Forms on Bob's line change nothing.
	if code, _, _ := ada.post(other+"/password", url.Values{"password": {"hijacked-pw"}, "confirm": {"hijacked-pw"}}); code != http.StatusNotFound {
		t.Errorf("password change on Bob's line: %d, want 404", code)
	}
	block := ""
	for _, a := range f.bobL.Addresses {
		if a.Role == registry.RoleIPv4 {
			block = a.Block.String()
		}
	}
	if code, _, _ := ada.post(other+"/reverse", url.Values{"block": {block}, "name": {"evil.example.org"}}); code != http.StatusNotFound {
		t.Errorf("reverse name on Bob's line: %d, want 404", code)
	}
	// Nor can Ada's own line name Bob's address.
	if code, _, _ := ada.post(own+"/reverse", url.Values{"block": {block}, "name": {"evil.example.org"}}); code != http.StatusNotFound {
		t.Errorf("reverse name of Bob's address through Ada's line: %d, want 404", code)
	}
	ctx := context.Background()
	if _, err := f.reg.MemberLogin(ctx, "bob@ISP", "bob@ISP-password"); err != nil {
		t.Fatalf("Bob's password changed: %v", err)
	}
	bobLine, _ := f.reg.FindSubscription(ctx, "bob@ISP")
	for _, a := range bobLine.Addresses {
		if a.ReverseName != "" {
			t.Fatalf("Bob's %s got the reverse name %q", a.Block, a.ReverseName)
		}
	}
	// The admin API does not take a member's session.
	if code, _ := ada.get("/api/v1/members/" + strconv.FormatInt(f.bob.ID, 10)); code != http.StatusUnauthorized {
		t.Errorf("admin API with a member session: %d, want 401", code)
	}
	if code, _ := ada.get("/admin/"); code == 200 {
		t.Errorf("admin pages with a member session: 200")
	}
}

func TestMemberChangesTheirSettings(t *testing.T) {
	f := newMemberFixture(t)
	ctx := context.Background()
	ada := f.login(t, "ada@ISP", "ada@ISP-password")
	// Somebody else who knew the old password, logged in elsewhere.
	thief := f.login(t, "ada@ISP", "ada@ISP-password")
	line := "/member/lines/" + strconv.FormatInt(f.adaL.ID, 10)
	ada.get(line)

	// The line's password: confirmation, validation, then the change,
	// audited without the password.
	if code, body, _ := ada.post(line+"/password", url.Values{"password": {"new-password-1"}, "confirm": {"new-password-2"}}); code != http.StatusUnprocessableEntity || !strings.Contains(body, "differ") {
		t.Fatalf("mismatched passwords: %d", code)
	}
	if code, body, _ := ada.post(line+"/password", url.Values{"password": {"short"}, "confirm": {"short"}}); code != http.StatusUnprocessableEntity || !strings.Contains(body, "at least 8") {
		t.Fatalf("short password: %d\n%s", code, body)
	}
	if code, _, loc := ada.post(line+"/password", url.Values{"password": {"new-password-1"}, "confirm": {"new-password-1"}}); code != http.StatusSeeOther || loc != line {
		t.Fatalf("password change: %d to %q", code, loc)
	}
	if _, err := f.reg.MemberLogin(ctx, "ada@ISP", "new-password-1"); err != nil {
		t.Fatalf("the new password does not log in: %v", err)
	}
	// The change logs the other browser out and keeps this one in.
	if code, _ := thief.get("/member/"); code != http.StatusSeeOther {
		t.Errorf("the other session survived the password change: %d", code)
	}
	if code, _ := ada.get(line); code != 200 {
		t.Fatalf("the member who changed the password was logged out: %d", code)
	}
	if _, err := f.reg.MemberLogin(ctx, "ada@ISP", "ada@ISP-password"); !errors.Is(err, registry.ErrUnauthenticated) {
		t.Fatalf("the old password still logs in: %v", err)
	}
	audit, err := f.reg.Audit(ctx, registry.AuditFilter{Entity: "subscription", EntityID: f.adaL.ID})
	if err != nil || len(audit) == 0 {
		t.Fatalf("audit: %v, %d entries", err, len(audit))
	}
	if audit[0].Actor != "member:ada@example.org" {
		t.Errorf("the change is recorded as %q", audit[0].Actor)
	}
	for _, e := range audit {
		if strings.Contains(string(e.Before)+string(e.After), "new-password-1") {
			t.Fatalf("the audit log holds the password: %s", e.After)
		}
	}

	// The reverse name of their IPv4 address: refused when invalid, kept
	// when valid.
	var v4 string
	for _, a := range f.adaL.Addresses {
		if a.Role == registry.RoleIPv4 {
			v4 = a.Block.String()
		}
	}
	if code, body, _ := ada.post(line+"/reverse", url.Values{"block": {v4}, "name": {"not a name"}}); code != http.StatusUnprocessableEntity || !strings.Contains(body, "not a name") {
		t.Fatalf("invalid reverse name: %d\n%s", code, body)
	}
	if code, _, _ := ada.post(line+"/reverse", url.Values{"block": {v4}, "name": {"mail.ada.example.org"}}); code != http.StatusSeeOther {
		t.Fatalf("reverse name: %d", code)
	}
	sub, _ := f.reg.FindSubscription(ctx, "ada@ISP")
	for _, a := range sub.Addresses {
		if a.Role == registry.RoleIPv4 && a.ReverseName != "mail.ada.example.org." {
			t.Fatalf("reverse name of %s = %q", a.Block, a.ReverseName)
		}
	}

	// Contact email and notification choices.
	ada.get("/member/")
	if code, body, _ := ada.post("/member/contact", url.Values{"email": {"not-an-email"}}); code != http.StatusUnprocessableEntity || !strings.Contains(body, "not-an-email") {
		t.Fatalf("invalid email: %d", code)
	}
	// Another member's address is refused without saying it is theirs.
	if code, body, _ := ada.post("/member/contact", url.Values{"email": {"bob@example.org"}}); code != http.StatusUnprocessableEntity ||
		!strings.Contains(body, "cannot be used here") || strings.Contains(body, "taken") {
		t.Fatalf("another member's email: %d\n%s", code, body)
	}
	if code, _, _ := ada.post("/member/contact", url.Values{"email": {"ada@lovelace.example"}}); code != http.StatusSeeOther {
		t.Fatalf("email change: %d", code)
	}
	if m, _ := f.reg.FindMember(ctx, strconv.FormatInt(f.ada.ID, 10)); m.Email != "ada@lovelace.example" {
		t.Fatalf("email = %q", m.Email)
	}
	ada.get("/member/")
	if code, _, _ := ada.post("/member/notifications", url.Values{"incidents": {"true"}, "language": {"fr"}}); code != http.StatusSeeOther {
		t.Fatalf("notifications: %d", code)
	}
	if p, _ := f.reg.MemberPrefs(ctx, f.ada.ID); p.Maintenance || !p.Incidents {
		t.Fatalf("prefs = %+v, want incidents only", p)
	}
	f.reg.Read(ctx, func(r registry.Reader) error {
		if langs, _ := r.MemberLanguages(ctx); langs[f.ada.ID] != "fr" {
			t.Errorf("language of Ada's emails = %q, want fr", langs[f.ada.ID])
		}
		return nil
	})
	if _, body := ada.get("/member/"); !strings.Contains(body, `value="fr" lang="fr" selected`) {
		t.Error("the page does not show the language chosen")
	}
}

// An admin who resets a line's password or archives a member shuts out a
// browser that is logged in: a stolen session does not outlive the
// admin's answer to it.
func TestAdminShutsAMemberOut(t *testing.T) {
	f := newMemberFixture(t)
	ctx := context.Background()
	admin := registry.Actor{Name: "admin:test"}
	thief := f.login(t, "ada@ISP", "ada@ISP-password")
	bob := f.login(t, "bob@ISP", "bob@ISP-password")

	password := "reset-by-admin-1"
	if _, err := f.reg.UpdateSubscription(ctx, admin, f.adaL.ID, registry.SubscriptionInput{Password: &password}); err != nil {
		t.Fatal(err)
	}
	if code, _ := thief.get("/member/"); code != http.StatusSeeOther {
		t.Fatalf("a session survived the admin's password reset: %d", code)
	}
	if code, _ := bob.get("/member/"); code != 200 {
		t.Fatalf("another member's session ended with Ada's password: %d", code)
	}
	audit, err := f.reg.Audit(ctx, registry.AuditFilter{Entity: string(registry.SessionMember), EntityID: f.ada.ID})
	if err != nil || len(audit) == 0 || audit[0].Action != "logout-all" || audit[0].Actor != admin.Name {
		t.Fatalf("the logout is not in the audit log: %v %+v", err, audit)
	}

	// Archiving: the session ends and no new one opens.
	ada := f.login(t, "ada@ISP", password)
	archived := registry.MemberArchived
	if _, err := f.reg.UpdateMember(ctx, admin, f.ada.ID, registry.MemberInput{State: &archived}); err != nil {
		t.Fatal(err)
	}
	if code, _ := ada.get("/member/"); code != http.StatusSeeOther {
		t.Fatalf("a session survived archiving: %d", code)
	}
	ada.get("/member/login")
	if code, _, _ := ada.post("/member/login", url.Values{"login": {"ada@ISP"}, "password": {password}}); code != http.StatusUnauthorized {
		t.Fatalf("an archived member logged in: %d", code)
	}
	// A session opened as the archiving happened is refused when used.
	token, _, err := f.reg.StartWebSession(ctx, registry.System, registry.SessionStart{Kind: registry.SessionMember, SubjectID: f.ada.ID, Via: "password", Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(f.base)
	cookies := bob.c.Jar.Cookies(u)
	if len(cookies) == 0 {
		t.Fatal("no session cookie in Bob's browser")
	}
	late := newBrowser(t, f.base)
	late.c.Jar.SetCookies(u, []*http.Cookie{{Name: cookies[0].Name, Value: token, Path: "/"}})
	if code, _ := late.get("/member/"); code != http.StatusSeeOther {
		t.Fatalf("an archived member's session was accepted: %d", code)
	}
}

func TestMemberLoginIsRateLimited(t *testing.T) {
	f := newMemberFixture(t)
	b := newBrowser(t, f.base)
	b.get("/member/login")
	for i := range 5 {
		if code, _, _ := b.post("/member/login", url.Values{"login": {"ada@ISP"}, "password": {"guess-" + strconv.Itoa(i)}}); code != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d, want 401", i, code)
		}
	}
	// Locked now, even with the right password.
	code, body, _ := b.post("/member/login", url.Values{"login": {"ada@ISP"}, "password": {"ada@ISP-password"}})
	if code != http.StatusTooManyRequests {
		t.Fatalf("after 5 failures: %d, want 429\n%s", code, body)
	}
	// Bob's account is not locked by Ada's.
	f.login(t, "bob@ISP", "bob@ISP-password")
}

var linkRE = regexp.MustCompile(`http://\S+/member/login/link\?token=\S+`)

func TestMemberLoginLink(t *testing.T) {
	f := newMemberFixture(t)
	b := newBrowser(t, f.base)
	_, page := b.get("/member/login")
	if !strings.Contains(page, `action="/member/login/link"`) {
		t.Fatal("the login page offers no emailed link although email is on")
	}
	// An unknown address gets the same answer, and no mail.
	code, unknown, _ := b.post("/member/login/link", url.Values{"email": {"nobody@example.org"}})
	if code != 200 {
		t.Fatalf("link for an unknown email: %d", code)
	}
	code, known, _ := b.post("/member/login/link", url.Values{"email": {"ADA@example.org"}})
	if code != 200 {
		t.Fatalf("link request: %d", code)
	}
	if memberCSRFRE.ReplaceAllString(unknown, "") != memberCSRFRE.ReplaceAllString(known, "") {
		t.Error("the answer tells a member's email from an unknown one")
	}
	mails := f.smtp.Wait(t, 1)
	if len(mails) != 1 || mails[0].To[0] != "ada@example.org" {
		t.Fatalf("mails: %+v", mails)
	}
	if got := mails[0].Header.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted: %q", got)
	}
	link := linkRE.FindString(mails[0].Body)
	if link == "" {
		t.Fatalf("no link in the mail:\n%s", mails[0].Body)
	}
	u, _ := url.Parse(link)
	token := u.Query().Get("token")

	// A mail client's prefetch (GET, twice) spends nothing.
	c := newBrowser(t, f.base)
	for range 2 {
		if code, body := c.get(u.RequestURI()); code != 200 || !strings.Contains(body, `action="/member/login/link/confirm"`) {
			t.Fatalf("GET link: %d\n%s", code, body)
		}
	}
	if code, _ := c.get("/member/"); code != http.StatusSeeOther {
		t.Fatalf("the GET logged in: %d", code)
	}
	code, body, loc := c.post("/member/login/link/confirm", url.Values{"token": {token}})
	if code != http.StatusSeeOther || loc != "/member/" {
		t.Fatalf("confirm: %d to %q\n%s", code, loc, body)
	}
	if code, body := c.get("/member/"); code != 200 || !strings.Contains(body, "Ada Lovelace") {
		t.Fatalf("after the link: %d", code)
	}
	// Once only.
	d := newBrowser(t, f.base)
	d.get(u.RequestURI())
	if code, _, _ := d.post("/member/login/link/confirm", url.Values{"token": {token}}); code != http.StatusUnauthorized {
		t.Fatalf("second use: %d, want 401", code)
	}
	// The token is in no audit entry.
	audit, _ := f.reg.Audit(context.Background(), registry.AuditFilter{})
	raw, _ := json.Marshal(audit)
	if strings.Contains(string(raw), token) || strings.Contains(string(raw), registry.HashToken(token)) {
		t.Fatal("the audit log holds the link's token or its hash")
	}
}

func TestMemberSeesTheMaintenanceThatAffectsThem(t *testing.T) {
	f := newMemberFixture(t)
	ctx := context.Background()
	admin := registry.Actor{Name: "test"}
	plan := func(title, target string) {
		name := "component " + target
		c, err := f.reg.CreateComponent(ctx, admin, registry.ComponentInput{Name: &name, Targets: &[]string{target}})
		if err != nil {
			t.Fatal(err)
		}
		now := f.reg.Now()
		if _, err := f.reg.PlanMaintenance(ctx, admin, registry.MaintenanceInput{Title: title, Components: []int64{c.ID},
			StartsAt: now.Add(24 * time.Hour), EndsAt: now.Add(26 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	plan("Fibre splicing on the PPP aggregation", "service:ppp")
	plan("VPN concentrator upgrade", "service:vpn")
	ada := f.login(t, "ada@ISP", "ada@ISP-password")
	_, home := ada.get("/member/")
	if !strings.Contains(home, "Fibre splicing on the PPP aggregation") {
		t.Error("the maintenance of Ada's line is not on her page")
	}
	if strings.Contains(home, "VPN concentrator upgrade") {
		t.Error("a maintenance of VPN accesses is on the page of a member without one")
	}
}
