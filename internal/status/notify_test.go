package status_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"maillon/internal/config"
	"maillon/internal/notify"
	"maillon/internal/registry"
	"maillon/internal/status"
	"maillon/internal/testenv"
)

func TestAffectedMembers(t *testing.T) {
	f := newFixture(t, start)
	n := f.isp()
	emails := func(ds []registry.Delivery) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.Email+"/"+d.Language)
		}
		return out
	}
	cases := []struct {
		name      string
		incidents bool
		targets   []string
		want      []string
	}{
		// Ada (a port of the Fleming switch) and Bob (his line names the
		// site, and he reads English); not Eve (Curie); not Zoé (she lives
		// at Fleming but opted out).
		{"site", true, []string{"site:" + id(n.fleming.ID)}, []string{"ada@example.org/", "bob@example.org/en"}},
		{"switch", true, []string{"host:" + id(n.sw.ID)}, []string{"ada@example.org/"}},
		{"vpn server", true, []string{"nas:" + id(n.vpnNAS.ID)}, []string{"vic@example.org/"}},
		{"vpn service", false, []string{"service:vpn"}, []string{"vic@example.org/"}},
		{"everyone", true, []string{"service:all"}, []string{"ada@example.org/", "bob@example.org/en", "eve@example.org/", "vic@example.org/"}},
		{"mail", true, []string{"service:mail"}, nil},
	}
	for i, c := range cases {
		comp := f.component("case "+id(int64(i)), "", c.targets...)
		var got []registry.Delivery
		err := f.reg.Read(f.ctx, func(r registry.Reader) error {
			var err error
			got, _, err = status.Audience(f.ctx, r, c.incidents, []int64{comp.ID})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(emails(got), c.want) {
			t.Errorf("%s: recipients %v, want %v", c.name, emails(got), c.want)
		}
	}
	// Zoé still gets maintenance if she only turned incidents off; a
	// suspended line tells nobody.
	if _, err := f.reg.SetMemberPrefs(f.ctx, f.admin, registry.MemberPrefs{MemberID: n.zoe.ID, Maintenance: true}); err != nil {
		t.Fatal(err)
	}
	ada := must[registry.Subscription](t)(f.reg.FindSubscription(f.ctx, "room-02:00:00:00:00:01"))
	must[registry.Subscription](t)(f.reg.UpdateSubscription(f.ctx, f.admin, ada.ID, registry.SubscriptionInput{State: ptr(registry.SubSuspended)}))
	for _, c := range []struct {
		incidents bool
		want      []string
	}{{true, []string{"bob@example.org/en"}}, {false, []string{"bob@example.org/en", "zoe@example.org/"}}} {
		var got []registry.Delivery
		f.reg.Read(f.ctx, func(r registry.Reader) error {
			var err error
			got, _, err = status.Audience(f.ctx, r, c.incidents, []int64{n.internet.ID})
			return err
		})
		if !slices.Equal(emails(got), c.want) {
			t.Errorf("incidents=%v: %v, want %v", c.incidents, emails(got), c.want)
		}
	}
}

// TestAudienceListsOptedOut: the members a notice leaves out because they
// opted out are listed, so that an admin knows who was not told; only
// for the kind of news they turned off.
func TestAudienceListsOptedOut(t *testing.T) {
	f := newFixture(t, start)
	n := f.isp()
	comp := f.component("Fleming", "", "site:"+strconv.FormatInt(n.fleming.ID, 10))
	// Zoé turns incidents off but keeps maintenance.
	if _, err := f.reg.SetMemberPrefs(f.ctx, f.admin, registry.MemberPrefs{MemberID: n.zoe.ID, Maintenance: true}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		incidents bool
		want      []string
	}{{true, []string{"zoe@example.org"}}, {false, nil}} {
		var out []registry.OptedOut
		err := f.reg.Read(f.ctx, func(r registry.Reader) error {
			ds, o, err := status.Audience(f.ctx, r, c.incidents, []int64{comp.ID})
			for _, d := range ds {
				if d.Email == "zoe@example.org" && c.incidents {
					t.Errorf("Zoé is told of incidents she turned off")
				}
			}
			out = o
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, o := range out {
			if o.MemberID != n.zoe.ID || o.Name == "" {
				t.Errorf("opted out %+v, want Zoé by id and name", o)
			}
			got = append(got, o.Email)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("incidents=%v: opted out %v, want %v", c.incidents, got, c.want)
		}
	}
}

// smtpSender delivers through internal/notify to a real SMTP server.
func smtpSender(t *testing.T) (*notify.Email, *testenv.SMTP) {
	srv := testenv.StartSMTP(t)
	e, err := notify.NewEmail(config.Email{SMTP: srv.Addr, From: "Aurore <noc@aurore.example>", TLS: "none"})
	if err != nil {
		t.Fatal(err)
	}
	return e, srv
}

func subjects(ms []testenv.Mail) map[string][]string {
	out := map[string][]string{}
	for _, m := range ms {
		for _, to := range m.To {
			out[to] = append(out[to], m.Subject)
		}
	}
	return out
}

// TestEmailsToAffectedMembers runs an incident and a maintenance through
// the notifier against a real SMTP server: the affected members get one
// email per event in their language, the others none, and a restart
// sends nothing twice.
func TestEmailsToAffectedMembers(t *testing.T) {
	f := newFixture(t, start)
	n := f.isp()
	sender, smtp := smtpSender(t)
	f.opt.Sender = sender
	f.restart()

	inc := must[registry.Incident](t)(f.reg.OpenIncident(f.ctx, f.admin, registry.IncidentInput{Title: ptr("Fleming offline"),
		Impact: ptr(registry.ImpactMajor), Components: &[]int64{n.internet.ID}, Message: "The switch does not answer."}))
	if err := f.svc.Tick(f.ctx); err != nil {
		t.Fatal(err)
	}
	ms := smtp.Wait(t, 2)
	got := subjects(ms)
	if len(ms) != 2 || len(got) != 2 ||
		!slices.Equal(got["ada@example.org"], []string{"[Aurore] Incident\u00a0: Fleming offline — Recherche en cours"}) ||
		!slices.Equal(got["bob@example.org"], []string{"[Aurore] Incident: Fleming offline — Investigating"}) {
		t.Fatalf("mails = %v", got)
	}
	bob := smtp.To(t, "bob@example.org")[0]
	contains(t, "Bob's email", bob.Body, "The switch does not answer.", "Affects: Internet — Fleming residence",
		"http://status.test/status/incidents/"+id(inc.ID)+"?lang=en", "Stop these emails: http://status.test/status/unsubscribe?")
	if u := bob.Header.Get("List-Unsubscribe"); !strings.HasPrefix(u, "<http://status.test/status/unsubscribe?") ||
		bob.Header.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Errorf("unsubscribe headers: %v", bob.Header)
	}
	contains(t, "Ada's email", smtp.To(t, "ada@example.org")[0].Body, "Concerne\u00a0: Internet — Fleming residence", "Ne plus recevoir ces emails")

	// Nothing more to send, even after a restart.
	f.svc.Tick(f.ctx)
	f.restart()
	f.svc.Tick(f.ctx)
	f.clock.Advance(20 * time.Minute)
	must[registry.Incident](t)(f.reg.UpdateIncident(f.ctx, f.admin, inc.ID, registry.IncidentInput{State: ptr(registry.IncidentIdentified), Message: "A power supply died."}))
	f.clock.Advance(time.Hour)
	must[registry.Incident](t)(f.reg.UpdateIncident(f.ctx, f.admin, inc.ID, registry.IncidentInput{State: ptr(registry.IncidentResolved), Message: "Replaced."}))
	f.svc.Tick(f.ctx)
	// Tick returns once the relay took every message, and aiosmtpd
	// writes a message before accepting it: the mailbox is complete.
	got = subjects(smtp.Messages(t))
	if len(got["ada@example.org"]) != 3 || len(got["bob@example.org"]) != 3 || len(got) != 2 ||
		got["bob@example.org"][2] != "[Aurore] Resolved: Fleming offline — Resolved" {
		t.Fatalf("after updates: %v", got)
	}

	// Maintenance, on the simulated clock: announced when planned, then
	// at its start and at its end, to the VPN users only.
	mStart := f.clock.Now().Add(48 * time.Hour)
	m := must[registry.Maintenance](t)(f.reg.PlanMaintenance(f.ctx, f.admin, registry.MaintenanceInput{Title: "VPN server upgrade",
		Components: []int64{n.vpn.ID}, StartsAt: mStart, EndsAt: mStart.Add(2 * time.Hour)}))
	f.svc.Tick(f.ctx)
	vic := smtp.Wait(t, 7)
	if s := subjects(vic)["vic@example.org"]; len(s) != 1 || s[0] != "[Aurore] Maintenance prévue\u00a0: VPN server upgrade (23 nov. 2026 à 10:20)" {
		t.Fatalf("announcement: %v", subjects(vic))
	}
	f.clock.Advance(47 * time.Hour)
	f.svc.Tick(f.ctx) // not started yet
	f.clock.Advance(time.Hour + time.Minute)
	f.svc.Tick(f.ctx)
	f.svc.Tick(f.ctx)
	smtp.Wait(t, 8)
	f.clock.Advance(2 * time.Hour)
	f.restart()
	f.svc.Tick(f.ctx)
	s := subjects(smtp.Messages(t))["vic@example.org"]
	if len(s) != 3 || !strings.HasPrefix(s[1], "[Aurore] Maintenance commencée\u00a0: VPN server upgrade") ||
		!strings.HasPrefix(s[2], "[Aurore] Maintenance terminée\u00a0: VPN server upgrade") || len(smtp.Messages(t)) != 9 {
		t.Fatalf("vic got %v", s)
	}
	// Who was told is in the audit log, on the maintenance.
	audit := must[[]registry.AuditEntry](t)(f.reg.Audit(f.ctx, registry.AuditFilter{Entity: "maintenance", EntityID: m.ID}))
	var notified int
	for _, e := range audit {
		if e.Action == "notify" && strings.Contains(string(e.After), "member:"+id(n.vic.ID)) {
			notified++
		}
	}
	if notified != 3 {
		t.Fatalf("audit has %d notify entries naming Vic: %+v", notified, audit)
	}
}

// postForm posts a form without following redirects.
func postForm(t *testing.T, u string, form url.Values) (int, string) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var linkRE = regexp.MustCompile(`http://status\.test(/status/[a-z]+\?\S+)`)

// TestSubscribeDoubleOptIn subscribes by email over HTTP, confirms with
// the mailed link, receives an incident, and unsubscribes from the link in
// that email; an unconfirmed subscription expires.
func TestSubscribeDoubleOptIn(t *testing.T) {
	f := newFixture(t, start)
	n := f.isp()
	sender, smtp := smtpSender(t)
	f.opt.Sender = sender
	f.restart()
	srv := f.server()
	local := func(link string) string {
		m := linkRE.FindStringSubmatch(link)
		if m == nil {
			t.Fatalf("no link in %q", link)
		}
		return srv.URL + m[1]
	}

	code, _, form := get(t, srv.URL+"/status/subscribe?lang=en")
	if code != 200 {
		t.Fatalf("form: %d", code)
	}
	contains(t, "subscribe form", form, `<form method="post" action="/status/subscribe?lang=en">`, `type="email"`,
		`value="`+id(n.vpn.ID)+`"> <label for="c-`+id(n.vpn.ID)+`">VPN</label>`)
	code, page := postForm(t, srv.URL+"/status/subscribe?lang=en", url.Values{"email": {"Reader@Example.net"}, "language": {"en"}, "component": {id(n.vpn.ID)}})
	if code != 200 || !strings.Contains(page, "a confirmation link was just sent") {
		t.Fatalf("subscribe: %d %s", code, page)
	}
	// A second request within minutes sends nothing more.
	postForm(t, srv.URL+"/status/subscribe?lang=en", url.Values{"email": {"reader@example.net"}, "component": {id(n.vpn.ID)}})
	// An unknown component is a bad request, for a new address as for one
	// that just asked.
	for _, email := range []string{"reader@example.net", "other@example.net"} {
		if code, page := postForm(t, srv.URL+"/status/subscribe?lang=en", url.Values{"email": {email}, "component": {"99999"}}); code != http.StatusBadRequest ||
			!strings.Contains(page, "no component has id 99999") {
			t.Fatalf("unknown component for %s: %d %s", email, code, page)
		}
	}
	conf := smtp.Wait(t, 1)
	if len(conf) != 1 || conf[0].Subject != "[Aurore] Confirm your subscription" {
		t.Fatalf("confirmation mails: %v", subjects(conf))
	}
	link := local(conf[0].Body)

	// Nothing is sent to an unconfirmed address.
	must[registry.Maintenance](t)(f.reg.PlanMaintenance(f.ctx, f.admin, registry.MaintenanceInput{Title: "Early", Components: []int64{n.vpn.ID},
		StartsAt: start.Add(24 * time.Hour), EndsAt: start.Add(25 * time.Hour)}))
	f.svc.Tick(f.ctx)
	smtp.Wait(t, 2) // Vic's
	if got := smtp.To(t, "reader@example.net"); len(got) != 1 {
		t.Fatalf("unconfirmed subscriber got %d mails", len(got))
	}

	// GET shows a form and confirms nothing (mail scanners open links).
	code, _, page = get(t, link)
	if code != 200 || !strings.Contains(page, `<form method="post" action="/status/confirm?lang=en">`) {
		t.Fatalf("confirm form: %d %s", code, page)
	}
	u, _ := url.Parse(link)
	code, page = postForm(t, srv.URL+"/status/confirm?lang=en", url.Values{"token": {u.Query().Get("token")}})
	if code != 200 || !strings.Contains(page, "Confirmed: we will send our announcements to reader@example.net") {
		t.Fatalf("confirm: %d %s", code, page)
	}
	if code, _ := postForm(t, srv.URL+"/status/confirm", url.Values{"token": {"forged"}}); code != 404 {
		t.Errorf("forged token: %d", code)
	}

	// Someone else typing the address changes nothing and sends nothing.
	if code, page := postForm(t, srv.URL+"/status/subscribe?lang=en", url.Values{"email": {"reader@example.net"}, "component": {id(n.internet.ID)}}); code != 200 ||
		!strings.Contains(page, "a confirmation link was just sent") {
		t.Fatalf("subscribe again: %d %s", code, page)
	}
	f.reg.Read(f.ctx, func(r registry.Reader) error {
		sub, err := r.GetSubscriberByEmail(f.ctx, "reader@example.net")
		if err != nil || sub.ConfirmedAt == nil || !slices.Equal(sub.Components, []int64{n.vpn.ID}) {
			t.Fatalf("subscription after a stranger's request: %+v, %v", sub, err)
		}
		return nil
	})
	if got := smtp.To(t, "reader@example.net"); len(got) != 1 {
		t.Fatalf("a confirmed address got another confirmation: %v", subjects(got))
	}

	// The subscriber now hears about the VPN, not about Fleming.
	must[registry.Incident](t)(f.reg.OpenIncident(f.ctx, f.admin, registry.IncidentInput{Title: ptr("VPN down"), Components: &[]int64{n.vpn.ID}, Message: "Restarting."}))
	must[registry.Incident](t)(f.reg.OpenIncident(f.ctx, f.admin, registry.IncidentInput{Title: ptr("Fleming down"), Components: &[]int64{n.internet.ID}, Message: "On it."}))
	f.svc.Tick(f.ctx)
	smtp.Wait(t, 6) // Vic, the reader, Ada and Bob
	mine := smtp.To(t, "reader@example.net")
	if len(mine) != 2 || mine[1].Subject != "[Aurore] Incident: VPN down — Investigating" ||
		!strings.Contains(mine[1].Body, "because you subscribed") {
		t.Fatalf("subscriber mails: %v", subjects(mine))
	}

	// The email's link unsubscribes: GET shows a form, POST acts.
	stop := local(mine[1].Body[strings.Index(mine[1].Body, "Stop these emails"):])
	code, _, page = get(t, stop)
	if code != 200 || !strings.Contains(page, "Unsubscribe reader@example.net from our announcements?") {
		t.Fatalf("unsubscribe form: %d %s", code, page)
	}
	su, _ := url.Parse(stop)
	forged := url.Values{"r": {su.Query().Get("r")}, "t": {"AAAAAAAAAAAAAAAAAAAAAAAA"}, "form": {"1"}}
	if code, _ := postForm(t, srv.URL+"/status/unsubscribe", forged); code != 404 {
		t.Errorf("forged unsubscribe: %d", code)
	}
	code, page = postForm(t, srv.URL+"/status/unsubscribe?lang=en", url.Values{"r": {su.Query().Get("r")}, "t": {su.Query().Get("t")}, "form": {"1"}})
	if code != 200 || !strings.Contains(page, "You are unsubscribed") {
		t.Fatalf("unsubscribe: %d %s", code, page)
	}
	f.reg.Read(f.ctx, func(r registry.Reader) error {
		if subs, _ := r.ListSubscribers(f.ctx); len(subs) != 0 {
			t.Errorf("subscribers left: %+v", subs)
		}
		return nil
	})

	// An unconfirmed subscription expires.
	postForm(t, srv.URL+"/status/subscribe", url.Values{"email": {"late@example.net"}})
	late := local(smtp.Wait(t, 7)[6].Body)
	f.clock.Advance(49 * time.Hour)
	lu, _ := url.Parse(late)
	if code, page := postForm(t, srv.URL+"/status/confirm", url.Values{"token": {lu.Query().Get("token")}}); code != 404 || !strings.Contains(page, "Ce lien n&#39;est pas valide") {
		t.Fatalf("expired confirmation: %d %s", code, page)
	}
	f.svc.Tick(f.ctx)
	f.reg.Read(f.ctx, func(r registry.Reader) error {
		if subs, _ := r.ListSubscribers(f.ctx); len(subs) != 0 {
			t.Errorf("expired subscriber kept: %+v", subs)
		}
		return nil
	})
}

// TestMemberOptOutLink: a member's email link opens their choices without
// a login; saving them, or a mail client's one-click POST, is audited and
// stops the emails.
func TestMemberOptOutLink(t *testing.T) {
	f := newFixture(t, start)
	n := f.isp()
	sender, smtp := smtpSender(t)
	f.opt.Sender = sender
	f.restart()
	srv := f.server()
	must[registry.Incident](t)(f.reg.OpenIncident(f.ctx, f.admin, registry.IncidentInput{Title: ptr("Fleming down"), Components: &[]int64{n.internet.ID}, Message: "On it."}))
	f.svc.Tick(f.ctx)
	mails := smtp.Wait(t, 2)
	var adaMail, bobMail testenv.Mail
	for _, m := range mails {
		if m.To[0] == "ada@example.org" {
			adaMail = m
		} else {
			bobMail = m
		}
	}
	header := func(m testenv.Mail) string {
		return strings.Trim(m.Header.Get("List-Unsubscribe"), "<>")
	}
	adaLink := strings.Replace(header(adaMail), "http://status.test", srv.URL, 1)
	code, _, page := get(t, adaLink)
	if code != 200 || !strings.Contains(page, "Choisissez ce que nous vous envoyons à ada@example.org") ||
		!strings.Contains(page, `name="incidents" value="yes" checked`) || !strings.Contains(page, `name="maintenance" value="yes" checked`) {
		t.Fatalf("choices form: %d %s", code, page)
	}
	// Ada keeps maintenance, drops incidents.
	au, _ := url.Parse(adaLink)
	code, page = postForm(t, srv.URL+"/status/unsubscribe", url.Values{"r": {au.Query().Get("r")}, "t": {au.Query().Get("t")}, "form": {"1"}, "maintenance": {"yes"}})
	if code != 200 || !strings.Contains(page, "C&#39;est enregistré.") {
		t.Fatalf("save: %d %s", code, page)
	}
	// Bob's client does a one-click POST to the header's URL (RFC 8058).
	bobLink := strings.Replace(header(bobMail), "http://status.test", srv.URL, 1)
	resp, err := http.Post(bobLink, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("one-click: %v %v", resp, err)
	}
	resp.Body.Close()
	pa := must[registry.MemberPrefs](t)(f.reg.MemberPrefs(f.ctx, n.ada.ID))
	pb := must[registry.MemberPrefs](t)(f.reg.MemberPrefs(f.ctx, n.bob.ID))
	if pa.Incidents || !pa.Maintenance || pb.Incidents || pb.Maintenance {
		t.Fatalf("prefs: ada %+v, bob %+v", pa, pb)
	}
	audit := must[[]registry.AuditEntry](t)(f.reg.Audit(f.ctx, registry.AuditFilter{Entity: "member_prefs", EntityID: n.bob.ID}))
	if len(audit) == 0 || audit[0].Actor != "member:"+id(n.bob.ID)+" (unsubscribe link)" {
		t.Fatalf("audit: %+v", audit)
	}
	// A link signed for Ada does not open Bob's choices.
	forged := strings.Replace(adaLink, url.QueryEscape("member:"+id(n.ada.ID)), url.QueryEscape("member:"+id(n.bob.ID)), 1)
	if code, _, _ := get(t, forged); code != 404 {
		t.Fatalf("forged link: %d", code)
	}
	must[registry.Incident](t)(f.reg.OpenIncident(f.ctx, f.admin, registry.IncidentInput{Title: ptr("Again"), Components: &[]int64{n.internet.ID}, Message: "Again."}))
	f.svc.Tick(f.ctx)
	if got := smtp.Messages(t); len(got) != 2 {
		t.Fatalf("opted-out members were mailed: %v", subjects(got))
	}
}

// TestSubscribeRateLimit: one client cannot make the form mail more than
// a few addresses an hour.
func TestSubscribeRateLimit(t *testing.T) {
	f := newFixture(t, start)
	sender, smtp := smtpSender(t)
	f.opt.Sender = sender
	f.restart()
	srv := f.server()
	for i := range 6 {
		code, page := postForm(t, srv.URL+"/status/subscribe?lang=en", url.Values{"email": {"victim" + id(int64(i)) + "@example.net"}})
		if want := map[bool]int{true: 200, false: 429}[i < 5]; code != want {
			t.Fatalf("request %d: %d, want %d: %s", i+1, code, want, page)
		}
	}
	if n := len(smtp.Messages(t)); n != 5 {
		t.Fatalf("%d confirmation mails, want 5", n)
	}
	f.clock.Advance(time.Hour)
	if code, _ := postForm(t, srv.URL+"/status/subscribe?lang=en", url.Values{"email": {"later@example.net"}}); code != 200 {
		t.Fatalf("an hour later: %d", code)
	}
}

// TestTwoInstancesSendOnce: two daemons sharing the database tick at the
// same time; each affected member still gets one email.
func TestTwoInstancesSendOnce(t *testing.T) {
	f := newFixture(t, start)
	n := f.isp()
	sender, smtp := smtpSender(t)
	f.opt.Sender = sender
	f.restart()
	other, err := status.New(f.opt)
	if err != nil {
		t.Fatal(err)
	}
	must[registry.Incident](t)(f.reg.OpenIncident(f.ctx, f.admin, registry.IncidentInput{Title: ptr("Fleming down"), Components: &[]int64{n.internet.ID}, Message: "On it."}))
	errs := make(chan error, 2)
	for _, svc := range []*status.Service{f.svc, other} {
		go func() { errs <- svc.Tick(f.ctx) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got := subjects(smtp.Messages(t))
	if len(got) != 2 || len(got["ada@example.org"]) != 1 || len(got["bob@example.org"]) != 1 {
		t.Fatalf("mails: %v", got)
	}
}
