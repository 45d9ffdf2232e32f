package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"maillon/internal/accounting"
	"maillon/internal/registry"
	"maillon/internal/web"
)

func ptr[T any](v T) *T { return &v }

// isp fills the registry with pools, a member and a line with its
// addresses and a MAC.
func (e *uiEnv) isp() (registry.Member, registry.Subscription) {
	e.t.Helper()
	ctx, a := context.Background(), registry.Actor{Name: "test"}
	for cidr, purpose := range map[string]registry.Purpose{
		"198.51.100.0/24": registry.PurposeAggregate, "198.51.100.0/25": registry.PurposeSubscriber,
		"2001:db8::/32": registry.PurposeAggregate, "2001:db8:100::/40": registry.PurposeSubscriber, "2001:db8:1000::/36": registry.PurposeDelegated,
	} {
		if _, err := e.reg.CreatePrefix(ctx, a, registry.PrefixInput{CIDR: ptr(cidr), Purpose: ptr(purpose)}); err != nil {
			e.t.Fatal(err)
		}
	}
	start, _ := registry.ParseDate("2026-01-01")
	m, err := e.reg.CreateMember(ctx, a, registry.MemberInput{Name: ptr("Grace Hopper"), Email: ptr("grace@example.org"),
		Periods: &[]registry.Period{{Start: start}}})
	if err != nil {
		e.t.Fatal(err)
	}
	sub, err := e.reg.CreateSubscription(ctx, a, registry.SubscriptionInput{MemberID: &m.ID, Kind: ptr(registry.KindPPP),
		Login: ptr("grace@ISP"), Password: ptr("grace-password"), MAC: ptr("00:11:22:aa:bb:cc")})
	if err != nil {
		e.t.Fatal(err)
	}
	return m, sub
}

func TestReadOnlySeesNoForms(t *testing.T) {
	e := newUIEnv(t)
	m, sub := e.isp()
	e.addAdmin("Reader", registry.RoleReadOnly)
	e.addAdmin("Writer", registry.RoleTechnicalOfficer)
	member := "/admin/members/" + strconv.FormatInt(m.ID, 10)
	line := "/admin/subscriptions/" + strconv.FormatInt(sub.ID, 10)

	w := e.browser()
	w.mustLogin("Writer")
	if r := w.get(member); r.status != 200 || !strings.Contains(r.body, `action="`+line+`/suspend"`) || !strings.Contains(r.body, "/edit") {
		t.Fatalf("technical officer's member page has no forms: %d\n%s", r.status, r.body)
	}

	rd := e.browser()
	rd.mustLogin("Reader")
	for _, path := range []string{member, line, "/admin/members", "/admin/prefixes", "/admin/certificates"} {
		r := rd.get(path)
		if r.status != 200 {
			t.Fatalf("read-only %s: %d", path, r.status)
		}
		// The only form a read-only admin sees is the logout (and search,
		// which is a GET).
		if n := strings.Count(r.body, `method="post"`); n != 1 {
			t.Errorf("read-only %s: %d POST forms, want only the logout", path, n)
		}
		if strings.Contains(r.body, "/edit\"") || strings.Contains(r.body, "/new\"") {
			t.Errorf("read-only %s links to a form", path)
		}
	}
	if r := rd.get("/admin/members/new"); r.status != http.StatusForbidden {
		t.Errorf("read-only new-member form: %d", r.status)
	}
	// Posting anyway is refused, and changes nothing.
	if r := rd.post(line+"/suspend", nil); r.status != http.StatusForbidden {
		t.Fatalf("read-only suspend: %d", r.status)
	}
	got, _ := e.reg.FindSubscription(context.Background(), "grace@ISP")
	if got.State != registry.SubActive {
		t.Fatalf("a read-only admin suspended the line: %s", got.State)
	}
	// A technical officer may not touch admins (admin role only).
	if r := w.get("/admin/admins/new"); r.status != http.StatusForbidden {
		t.Errorf("technical officer's new-admin form: %d", r.status)
	}
}

func TestSearch(t *testing.T) {
	e := newUIEnv(t)
	m, sub := e.isp()
	e.addAdmin("Ada", registry.RoleReadOnly)
	b := e.browser()
	b.mustLogin("Ada")
	line := "/admin/subscriptions/" + strconv.FormatInt(sub.ID, 10)
	var delegated, v6 string
	for _, a := range sub.Addresses {
		switch a.Role {
		case registry.RoleDelegated:
			// An address deep inside the delegated prefix, not its first.
			last := a.Block.Addr().As16()
			last[15], last[14] = 0x42, 0x17
			delegated = netip.AddrFrom16(last).String()
		case registry.RoleIPv6:
			v6 = a.Block.Addr().Next().String()
		}
	}
	for _, q := range []string{
		"0011.22AA.BBCC",    // Cisco notation of 00:11:22:aa:bb:cc
		"00-11-22-AA-BB-CC", // Windows
		"001122aabbcc",
		delegated,
		v6,
		sub.Addresses[0].Block.Addr().String(),
		"grace@ISP",
	} {
		r := b.get("/admin/search?q=" + url.QueryEscape(q))
		if r.status != http.StatusSeeOther || r.location != line {
			t.Errorf("search %q: %d %q, want a redirect to %s\n%s", q, r.status, r.location, line, r.body)
		}
	}
	c, err := e.reg.CreateCPE(context.Background(), registry.Actor{Name: "test"}, registry.CPEInput{Model: ptr("FritzBox"), Serial: ptr("SN-TEST-1"),
		MAC: ptr("02:00:00:00:00:01"), State: ptr(registry.CPELent), MemberID: &m.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"sn-test-1", "0200.0000.0001"} {
		if r := b.get("/admin/search?q=" + q); r.location != "/admin/cpes/"+strconv.FormatInt(c.ID, 10) {
			t.Errorf("search for CPE %q: %d %q", q, r.status, r.location)
		}
	}
	if r := b.get("/admin/search?q=Hopper"); r.location != "/admin/members/"+strconv.FormatInt(m.ID, 10) {
		t.Errorf("search by name: %d %q", r.status, r.location)
	}
	r := b.get("/admin/search?q=2001:db8:ffff::1")
	if r.status != 200 || !strings.Contains(r.body, "Nothing matches") {
		t.Errorf("search for an address nobody holds: %d\n%s", r.status, r.body)
	}
	// Two hits: a list, not a redirect.
	ctx := context.Background()
	e.reg.CreateMember(ctx, registry.Actor{Name: "test"}, registry.MemberInput{Name: ptr("Grace Brewster"), Email: ptr("brewster@example.org")})
	if r := b.get("/admin/search?q=grace"); r.status != 200 || !strings.Contains(r.body, "Grace Brewster") || !strings.Contains(r.body, "Grace Hopper") {
		t.Errorf("search with several hits: %d\n%s", r.status, r.body)
	}
}

func TestFormValidation(t *testing.T) {
	e := newUIEnv(t)
	e.addAdmin("Ada", registry.RoleAdmin)
	b := e.browser()
	b.mustLogin("Ada")
	if r := b.get("/admin/members/new"); r.status != 200 || !strings.Contains(r.body, `name="email"`) {
		t.Fatalf("new member form: %d\n%s", r.status, r.body)
	}
	r := b.post("/admin/members", url.Values{"name": {"Ada Lovelace"}, "email": {"not-an-email"}, "periods": {"2026-01-01:"}})
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid email: %d\n%s", r.status, r.body)
	}
	// The registry's message, next to the email field, with what was typed kept.
	fieldErr := regexp.MustCompile(`(?s)id="f-email"[^>]*aria-invalid="true".*?<p class="field-error" id="e-email"><strong>Error:</strong> &#34;not-an-email&#34; is not an email address</p>`)
	if !fieldErr.MatchString(r.body) || !strings.Contains(r.body, `value="Ada Lovelace"`) || !strings.Contains(r.body, `href="#f-email"`) {
		t.Fatalf("validation error not shown next to the field:\n%s", r.body)
	}
	if n, _ := countMembers(e); n != 0 {
		t.Fatalf("%d members after a refused form", n)
	}
	// A value that does not parse is reported by the form itself.
	r = b.post("/admin/members", url.Values{"name": {"Ada"}, "email": {"ada@example.org"}, "periods": {"2026-01-01"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="e-periods"`) {
		t.Fatalf("bad period: %d\n%s", r.status, r.body)
	}
	// Corrected, it is created and the browser lands on its page.
	r = b.post("/admin/members", url.Values{"name": {"Ada Lovelace"}, "email": {"ada@example.org"}, "periods": {"2026-01-01:"}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/admin/members/") {
		t.Fatalf("valid member: %d %q\n%s", r.status, r.location, r.body)
	}
	if r := b.get(r.location); r.status != 200 || !strings.Contains(r.body, "Ada Lovelace") || !strings.Contains(r.body, "Created.") {
		t.Fatalf("new member's page: %d\n%s", r.status, r.body)
	}
}

// A value already taken is a conflict on a field: the API names the field
// and the value, the form shows it next to the field.
func TestConflictNamesTheField(t *testing.T) {
	e := newUIEnv(t)
	ada := e.addAdmin("Ada", registry.RoleAdmin)
	e.isp()
	token, _, err := e.reg.CreateToken(context.Background(), registry.Actor{Name: "test"}, ada.ID, "test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/members", strings.NewReader(`{"name": "Grace", "email": "grace@example.org"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Error, Field string }
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || body.Field != "email" || !strings.Contains(body.Error, `email "grace@example.org" is already taken`) {
		t.Fatalf("duplicate email through the API: %d %+v", resp.StatusCode, body)
	}
	b := e.browser()
	b.mustLogin("Ada")
	b.get("/admin/members/new")
	r := b.post("/admin/members", url.Values{"name": {"Grace"}, "email": {"grace@example.org"}, "periods": {"2026-01-01:"}})
	fieldErr := regexp.MustCompile(`(?s)id="f-email"[^>]*aria-invalid="true".*?<p class="field-error" id="e-email"><strong>Error:</strong> &#34;grace@example.org&#34; is already taken.</p>`)
	if r.status != http.StatusConflict || !fieldErr.MatchString(r.body) {
		t.Fatalf("duplicate email in the form: %d\n%s", r.status, r.body)
	}
}

// An API call without a token is told a token is required, not that the
// token it never sent is invalid.
func TestAPIWithoutTokenSaysOneIsRequired(t *testing.T) {
	e := newUIEnv(t)
	for _, auth := range []string{"", "Basic Zm9vOmJhcg=="} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/members", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body.Error, "an API token is required") {
			t.Errorf("Authorization %q: %d %q", auth, resp.StatusCode, body.Error)
		}
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/members", nil)
	req.Header.Set("Authorization", "Bearer mln_wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", resp.StatusCode)
	}
}

func countMembers(e *uiEnv) (int64, error) {
	var n int64
	err := e.reg.Read(context.Background(), func(r registry.Reader) error {
		var err error
		n, err = r.CountMembers(context.Background())
		return err
	})
	return n, err
}

// TestEveryAdminPage renders every admin page, in both languages, for an
// admin who may change everything: a template error fails here.
func TestEveryAdminPage(t *testing.T) {
	e := newUIEnv(t)
	m, sub := e.isp()
	e.addAdmin("Ada", registry.RoleAdmin)
	b := e.browser()
	b.mustLogin("Ada")
	pages := []string{"/admin/", "/admin/audit", "/admin/incidents", "/admin/maintenance", "/admin/journal", "/admin/search", "/admin/search?q=grace", "/admin/certificates",
		"/admin/certificates?show=valid", "/admin/members/" + strconv.FormatInt(m.ID, 10), "/admin/subscriptions/" + strconv.FormatInt(sub.ID, 10)}
	for _, c := range []string{"members", "subscriptions", "prefixes", "nas", "sites", "hosts", "ports", "cpes", "admins", "zones", "records", "components"} {
		pages = append(pages, "/admin/"+c, "/admin/"+c+"/new", "/admin/"+c+"?search=x")
	}
	pages = append(pages, "/admin/prefixes/1", "/admin/prefixes/1/edit", "/admin/admins/1", "/admin/admins/1/edit",
		"/admin/members/"+strconv.FormatInt(m.ID, 10)+"/edit", "/admin/subscriptions/"+strconv.FormatInt(sub.ID, 10)+"/edit")
	for _, lang := range []string{"en", "fr"} {
		b.get("/lang/" + lang)
		for _, p := range pages {
			r := b.get(p)
			if r.status != 200 {
				t.Errorf("%s %s: %d\n%s", lang, p, r.status, r.body)
				continue
			}
			if !strings.Contains(r.body, `<html lang="`+lang+`">`) || !strings.Contains(r.body, `href="#main"`) {
				t.Errorf("%s %s: not a full page in %s", lang, p, lang)
			}
		}
	}
	if r := b.get("/admin/members/999999"); r.status != http.StatusNotFound {
		t.Errorf("missing member: %d", r.status)
	}
}

func TestSuspendAndResume(t *testing.T) {
	e := newUIEnv(t)
	_, sub := e.isp()
	e.addAdmin("Ada", registry.RoleTechnicalOfficer)
	b := e.browser()
	b.mustLogin("Ada")
	line := "/admin/subscriptions/" + strconv.FormatInt(sub.ID, 10)
	b.get(line)
	if r := b.post(line+"/suspend", nil); r.status != http.StatusSeeOther || r.location != line {
		t.Fatalf("suspend: %d %q", r.status, r.location)
	}
	got, _ := e.reg.FindSubscription(context.Background(), "grace@ISP")
	if got.State != registry.SubSuspended {
		t.Fatalf("after suspend: %s", got.State)
	}
	r := b.get(line)
	if !strings.Contains(r.body, "The line is suspended") || !strings.Contains(r.body, `action="`+line+`/resume"`) {
		t.Fatalf("line page after suspend:\n%s", r.body)
	}
	b.post(line+"/resume", nil)
	if got, _ := e.reg.FindSubscription(context.Background(), "grace@ISP"); got.State != registry.SubActive {
		t.Fatalf("after resume: %s", got.State)
	}
	entries, _ := e.reg.Audit(context.Background(), registry.AuditFilter{Entity: "subscription", EntityID: sub.ID})
	if len(entries) < 2 || entries[0].Actor != "admin:Ada" {
		t.Fatalf("suspend and resume not audited as the admin: %+v", entries)
	}
}

// A line's "Live sessions" are its open ones, as on the member page, with
// download and upload in the subscriber's terms, like the CLI's DOWN/UP.
func TestLinePageShowsOpenSessionsOnly(t *testing.T) {
	e := newUIEnv(t)
	m, sub := e.isp()
	e.addAdmin("Ada", registry.RoleTechnicalOfficer)
	at := e.clock.Now().Add(-time.Hour)
	rec := func(nas, session string, status accounting.Status, at time.Time, in, out uint64) accounting.Record {
		return accounting.Record{NAS: nas, Status: status, SessionID: session, Login: sub.Login, SubscriptionID: sub.ID, MemberID: m.ID,
			InputOctets: in, OutputOctets: out, Interim: 60, EventTime: at}
	}
	if err := e.app.Store().WriteAccounting(context.Background(), []accounting.Record{
		rec("bras-ended", "s1", accounting.Start, at, 0, 0),
		rec("bras-ended", "s1", accounting.Stop, at.Add(time.Minute), 1000, 2000),
		rec("bras-open", "s2", accounting.Start, at.Add(2*time.Minute), 0, 0),
		rec("bras-open", "s2", accounting.Interim, at.Add(3*time.Minute), 3000, 4_000_000),
	}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.mustLogin("Ada")
	r := b.get("/admin/subscriptions/" + strconv.FormatInt(sub.ID, 10))
	if !strings.Contains(r.body, "bras-open") || strings.Contains(r.body, "bras-ended") {
		t.Fatalf("live sessions are not the open ones:\n%s", r.body)
	}
	// Download (what the NAS sent) comes first, then upload.
	row := regexp.MustCompile(`<td>bras-open</td>.*<td class="num">([^<]*)</td><td class="num">([^<]*)</td></tr>`).FindStringSubmatch(r.body)
	if !strings.Contains(r.body, ">Download</th>") || !strings.Contains(r.body, ">Upload</th>") || row == nil || row[1] != "4.0 MB" || row[2] != "3.0 kB" {
		t.Fatalf("session columns: %q\n%s", row, r.body)
	}
}

// Suspending a line, by its button, its edit form or the API, reports
// what each open session's NAS answered to the Disconnect-Request: a
// suspension whose sessions stay open must not look like a success.
func TestSuspendReportsTheDisconnects(t *testing.T) {
	var asked []string
	e := newUIEnvOptions(t, nil, func(o *web.Options) {
		o.Disconnect = func(_ context.Context, sub registry.Subscription) ([]registry.Disconnect, error) {
			asked = append(asked, sub.Login+" "+string(sub.State))
			return []registry.Disconnect{
				{NAS: "bras1", SessionID: "s1", Login: sub.Login, Result: "ack"},
				{NAS: "bras2", SessionID: "s2", Login: sub.Login, Result: "timeout"},
				{NAS: "bras2", SessionID: "s3", Login: sub.Login, Result: "nak (Error-Cause 503)"},
			}, nil
		}
	})
	m, sub := e.isp()
	e.addAdmin("Ada", registry.RoleTechnicalOfficer)
	b := e.browser()
	b.mustLogin("Ada")
	line := "/admin/subscriptions/" + strconv.FormatInt(sub.ID, 10)
	b.get(line)
	if r := b.post(line+"/suspend", nil); r.status != http.StatusSeeOther {
		t.Fatalf("suspend: %d", r.status)
	}
	want := "RADIUS Disconnect of its 3 open sessions: 1 ACK (ended), 1 NAK (refused by the NAS), 1 timeout (no answer), 0 not sent."
	if r := b.get(line); !strings.Contains(r.body, want) {
		t.Fatalf("line page after suspend lacks %q:\n%s", want, r.body)
	}
	// The flash is shown once.
	if r := b.get(line); strings.Contains(r.body, want) {
		t.Fatal("the flash stays after it was shown")
	}
	// Resuming disconnects nothing.
	b.post(line+"/resume", nil)
	if len(asked) != 1 || asked[0] != "grace@ISP suspended" {
		t.Fatalf("disconnects asked: %q", asked)
	}
	// The edit form closing the line reports them too.
	b.get(line + "/edit")
	form := url.Values{"member_id": {strconv.FormatInt(m.ID, 10)}, "kind": {"ppp"}, "login": {"grace@ISP"}, "state": {"closed"}}
	if r := b.post(line, form); r.status != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}
	if r := b.get(line); !strings.Contains(r.body, want) {
		t.Fatalf("line page after closing it lacks %q:\n%s", want, r.body)
	}
	if len(asked) != 2 || asked[1] != "grace@ISP closed" {
		t.Fatalf("disconnects asked: %q", asked)
	}
}

// Incidents and maintenance from the admin pages: a component through the
// generic forms, an incident opened, updated and resolved, maintenance
// planned (a bad date shown next to its field) and cancelled.
func TestIncidentAndMaintenancePages(t *testing.T) {
	e := newUIEnv(t)
	e.isp()
	e.addAdmin("Ada", registry.RoleAdmin)
	b := e.browser()
	b.mustLogin("Ada")
	b.get("/admin/components/new")
	r := b.post("/admin/components", url.Values{"name": {"Internet"}, "group": {"Access"}, "targets": {"service:vpn"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("new component: %d\n%s", r.status, r.body)
	}
	comp := strings.TrimPrefix(r.location, "/admin/components/")
	if r := b.get(r.location + "/edit"); !strings.Contains(r.body, "service:vpn") {
		t.Fatalf("component edit form lost its target:\n%s", r.body)
	}

	r = b.get("/admin/incidents")
	if r.status != 200 || !strings.Contains(r.body, `value="`+comp+`"`) {
		t.Fatalf("incidents page: %d\n%s", r.status, r.body)
	}
	r = b.post("/admin/incidents", url.Values{"title": {""}, "impact": {"major"}, "components": {comp}, "message": {"down"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="e-title"`) {
		t.Fatalf("incident without a title: %d\n%s", r.status, r.body)
	}
	r = b.post("/admin/incidents", url.Values{"title": {"Fibre cut"}, "impact": {"major"}, "components": {comp}, "message": {"We are on it."}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("open incident: %d\n%s", r.status, r.body)
	}
	inc := r.location
	r = b.post(inc+"/updates", url.Values{"state": {"resolved"}, "message": {"Repaired."}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("resolve: %d\n%s", r.status, r.body)
	}
	if r := b.get(inc); !strings.Contains(r.body, "Repaired.") || strings.Contains(r.body, inc+"/updates") {
		t.Fatalf("resolved incident page:\n%s", r.body)
	}

	b.get("/admin/maintenance")
	r = b.post("/admin/maintenance", url.Values{"title": {"Router upgrade"}, "components": {comp}, "starts_at": {"tomorrow"}, "ends_at": {"2030-01-01T02:00"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="e-starts_at"`) || !strings.Contains(r.body, `value="Router upgrade"`) {
		t.Fatalf("maintenance with a bad date: %d\n%s", r.status, r.body)
	}
	r = b.post("/admin/maintenance", url.Values{"title": {"Router upgrade"}, "components": {comp}, "starts_at": {"2030-01-01T01:00"}, "ends_at": {"2030-01-01T02:00"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("plan maintenance: %d\n%s", r.status, r.body)
	}
	r = b.get("/admin/maintenance")
	m := regexp.MustCompile(`action="(/admin/maintenance/\d+/cancel)"`).FindStringSubmatch(r.body)
	if m == nil || !strings.Contains(r.body, "2030-01-01 01:00 UTC") {
		t.Fatalf("planned maintenance not listed with a cancel button:\n%s", r.body)
	}
	if r := b.post(m[1], nil); r.status != http.StatusSeeOther {
		t.Fatalf("cancel: %d", r.status)
	}
	if r := b.get("/admin/maintenance"); !strings.Contains(r.body, "cancelled") {
		t.Fatalf("cancelled maintenance:\n%s", r.body)
	}
}

// An admin sees what a member chose to be emailed about, on the member's
// page and through the API: why someone was not told of a maintenance.
func TestAdminSeesAMembersEmailChoices(t *testing.T) {
	e := newUIEnv(t)
	m, _ := e.isp()
	ada := e.addAdmin("Ada", registry.RoleReadOnly)
	if _, err := e.reg.SetMemberPrefs(context.Background(), registry.Actor{Name: "member:test"},
		registry.MemberPrefs{MemberID: m.ID, Maintenance: false, Incidents: true}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.mustLogin("Ada")
	r := b.get("/admin/members/" + strconv.FormatInt(m.ID, 10))
	if r.status != 200 || !strings.Contains(r.body, "Emails to the member") || !strings.Contains(r.body, "maintenance: no (opted out); incidents: yes") {
		t.Fatalf("member page: %d\n%s", r.status, r.body)
	}
	token, _, err := e.reg.CreateToken(context.Background(), registry.System, ada.ID, "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/members/"+strconv.FormatInt(m.ID, 10)+"/notifications", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	var prefs registry.MemberPrefs
	if r := b.do(req); r.status != 200 || json.Unmarshal([]byte(r.body), &prefs) != nil || prefs.Maintenance || !prefs.Incidents {
		t.Fatalf("API: %d %s", r.status, r.body)
	}
}
