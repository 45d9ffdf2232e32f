package app_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"maillon/internal/app"
	"maillon/internal/app/apptest"
	"maillon/internal/config"
	"maillon/internal/registry"
	"maillon/internal/testenv"
)

// runOn starts a daemon on cfg and clock and returns it with a function
// that stops it (a restart in the middle of a campaign).
func runOn(t *testing.T, cfg *config.Config, clock *apptest.Clock) (*daemon, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, nil, app.WithClock(clock))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon stopped with %v", err)
		}
		a.Close()
	}
	t.Cleanup(stop)
	d := &daemon{t: t, app: a, base: "http://" + a.HTTPAddr(), http: &http.Client{Timeout: 10 * time.Second}}
	d.socket = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", cfg.Listen.Socket)
		},
	}}
	return d, stop
}

// browser is a client with cookies, as the answer page's CSRF check needs.
type browser struct {
	t    *testing.T
	c    *http.Client
	csrf string
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// page fetches the answer page (GET, or POST with a form and the CSRF
// token of the last page) and returns its status and body.
func (b *browser) page(method, link string, form url.Values) (int, string) {
	b.t.Helper()
	var body io.Reader
	if method == "POST" {
		form.Set("csrf", b.csrf)
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, link, body)
	if method == "POST" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept-Language", "en")
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, link, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	if m := csrfRE.FindSubmatch(out); m != nil {
		b.csrf = string(m[1])
	}
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		b.t.Errorf("%s %s: headers %v", method, link, resp.Header)
	}
	return resp.StatusCode, string(out)
}

func metricsText(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

var linkRE = regexp.MustCompile(`http://\S+/roster/confirm/mlr_[A-Za-z0-9_-]+`)

// TestRosterRenewal runs a year of roster on a simulated clock against a
// real SMTP server: on the renewal date the three technical officers are
// mailed; Ada keeps her title through the link, Cy steps down through the
// API, Bob does not answer; the daemon restarts mid-campaign without
// mailing anyone twice; at the deadline Bob loses his title and his
// certificate, which the KRL file lists (ssh-keygen -Q), and the others
// are told. A campaign started by hand mails at once, and Ada is reminded
// before her certificate expires.
func TestRosterRenewal(t *testing.T) {
	for name, db := range engines {
		t.Run(name, func(t *testing.T) {
			smtp := testenv.StartSMTP(t)
			dir := t.TempDir()
			cfg := app.LoopbackConfig(dir, db(t))
			userCA(t, dir)(cfg)
			cfg.Notify.Email = config.Email{SMTP: smtp.Addr, From: "maillon <noc@example.org>", TLS: "none"}
			cfg.Roster.Renewal = "01-05"
			clock := apptest.NewClock(time.Date(2026, 12, 20, 10, 0, 0, 0, time.UTC))
			d, stop := runOn(t, cfg, clock)
			ctx := context.Background()
			reg := d.app.Registry()

			root, err := reg.CreateAdmin(ctx, registry.System, registry.AdminInput{Name: ptr("root"), Email: ptr("root@example.org"), Roles: &[]registry.Role{registry.RoleAdmin}})
			if err != nil {
				t.Fatal(err)
			}
			d.token, _, _ = reg.CreateToken(ctx, registry.System, root.ID, "test", 0)
			tokens := map[string]string{}
			certs := map[string]string{}
			for _, n := range []string{"ada", "bob", "cy"} {
				a, err := reg.CreateAdmin(ctx, registry.System, registry.AdminInput{Name: ptr(n), Email: ptr(n + "@example.org"), Roles: &[]registry.Role{registry.RoleTechnicalOfficer}})
				if err != nil {
					t.Fatal(err)
				}
				tokens[n], _, _ = reg.CreateToken(ctx, registry.System, a.ID, "test", 0)
				if n == "cy" {
					continue
				}
				sshKeygen(t, "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, n))
				var cert registry.Certificate
				if code := d.do("POST", "/api/v1/ca/user-certificates", d.token, map[string]any{"admin": n, "public_key": readFile(t, filepath.Join(dir, n+".pub"))}, &cert); code != 201 {
					t.Fatalf("sign %s = %d", n, code)
				}
				certs[n] = filepath.Join(dir, n+"-cert.pub")
				os.WriteFile(certs[n], []byte(cert.Certificate+"\n"), 0o644)
			}
			var e struct{ Error string }
			if code := d.do("GET", "/api/v1/roster", d.token, nil, &e); code != 404 {
				t.Fatalf("status before any campaign = %d %v", code, e)
			}

			// The renewal date: each technical officer gets a link.
			clock.Set(time.Date(2027, 1, 5, 0, 0, 30, 0, time.UTC))
			mails := smtp.Wait(t, 3)
			links := map[string]string{}
			for _, m := range mails {
				if len(m.To) != 1 || !strings.HasPrefix(m.Subject, "Roster renewal") || !strings.Contains(m.Body, "2027-01-19 00:00 UTC") {
					t.Fatalf("renewal mail = %+v", m)
				}
				links[strings.TrimSuffix(m.To[0], "@example.org")] = linkRE.FindString(m.Body)
			}
			if len(links) != 3 || links["ada"] == "" || links["bob"] == "" || links["cy"] == "" {
				t.Fatalf("links = %v", links)
			}

			if m := metricsText(t, d.base); !strings.Contains(m, `maillon_roster_requests{state="pending"} 3`) ||
				!strings.Contains(m, `maillon_roster_deadline_timestamp_seconds{admin="bob"} 1.80031683e+09`) {
				t.Fatalf("roster metrics:\n%s", m)
			}

			// Ada's link: looking (twice, as a mail client prefetching
			// would) answers nothing; the form keeps her title; the link
			// then works no more.
			br := newBrowser(t)
			for range 2 {
				if code, body := br.page("GET", links["ada"], nil); code != 200 || !strings.Contains(body, "ada, do you keep your title (technical-officer)?") {
					t.Fatalf("GET link = %d %s", code, body)
				}
			}
			// In French for a French browser; a POST without the page's
			// CSRF token is refused.
			req, _ := http.NewRequest("GET", links["ada"], nil)
			req.Header.Set("Accept-Language", "fr-FR,fr;q=0.9")
			if resp, err := http.DefaultClient.Do(req); err != nil {
				t.Fatal(err)
			} else {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if !strings.Contains(string(b), "ada, souhaitez-vous conserver votre titre (technical-officer) ?") {
					t.Fatalf("French page: %s", b)
				}
			}
			resp, err := http.PostForm(links["ada"], url.Values{"answer": {"step-down"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 403 {
				t.Fatalf("POST without CSRF token = %d", resp.StatusCode)
			}
			if code, _ := br.page("POST", links["ada"], url.Values{"answer": {"maybe"}}); code != 400 {
				t.Fatalf("POST a wrong answer = %d", code)
			}
			if code, body := br.page("POST", links["ada"], url.Values{"answer": {"keep"}}); code != 200 || !strings.Contains(body, "Thank you, ada: you keep your title (technical-officer).") {
				t.Fatalf("POST keep = %d %s", code, body)
			}
			if code, _ := br.page("GET", links["ada"], nil); code != 404 {
				t.Fatalf("GET a used link = %d", code)
			}
			// Cy steps down through the API with her own token; she may
			// not answer for Bob.
			var answered registry.RosterRequest
			if code := d.do("POST", "/api/v1/roster/answer", tokens["cy"], map[string]any{"admin": "bob", "answer": "keep"}, &e); code != 403 {
				t.Fatalf("cy answering for bob = %d", code)
			}
			if code := d.do("POST", "/api/v1/roster/answer", tokens["cy"], map[string]any{"answer": "step-down"}, &answered); code != 200 || answered.State != registry.RosterSteppedDown {
				t.Fatalf("cy steps down = %d %+v", code, answered)
			}
			if code := d.do("POST", "/api/v1/roster/campaigns", d.token, nil, &e); code != 409 {
				t.Fatalf("second campaign while one is open = %d", code)
			}

			// The others hear of Cy's departure at once.
			smtp.Wait(t, 4)

			// A restart in the middle: nobody is mailed twice, and Bob's
			// deadline is still there.
			stop()
			d2, _ := runOn(t, cfg, clock)
			d2.token = d.token
			clock.Set(time.Date(2027, 1, 19, 0, 1, 0, 0, time.UTC))
			mails = smtp.Wait(t, 5)
			var subjects []string
			for _, m := range mails {
				subjects = append(subjects, m.Subject)
			}
			sort.Strings(subjects)
			want := []string{
				"Roster renewal: do you keep your title (technical-officer)? Answer by 2027-01-19 00:00 UTC",
				"Roster renewal: do you keep your title (technical-officer)? Answer by 2027-01-19 00:00 UTC",
				"Roster renewal: do you keep your title (technical-officer)? Answer by 2027-01-19 00:00 UTC",
				"Roster: bob is no longer technical-officer (no answer)",
				"Roster: cy stepped down (technical-officer)",
			}
			if !slices.Equal(subjects, want) {
				t.Fatalf("subjects = %q", subjects)
			}
			for _, m := range mails {
				if strings.HasPrefix(m.Subject, "Roster: bob") {
					to := slices.Sorted(slices.Values(m.To))
					if !slices.Equal(to, []string{"ada@example.org", "root@example.org"}) || !strings.Contains(m.Body, "revoked (serials 2)") {
						t.Fatalf("notice = %v %s", to, m.Body)
					}
				}
			}

			// Bob: title gone, certificate revoked and in the KRL; Ada's
			// is not.
			var bob registry.Admin
			d2.do("GET", "/api/v1/admins/bob", d.token, nil, &bob)
			if len(bob.Roles) != 0 {
				t.Fatalf("bob's roles = %v", bob.Roles)
			}
			krl := cfg.CA.KRLPath
			out, err := exec.Command(testenv.LookPath(t, "ssh-keygen"), "-Q", "-f", krl, certs["bob"]).CombinedOutput()
			if err == nil || !strings.Contains(string(out), "REVOKED") {
				t.Fatalf("ssh-keygen -Q bob: %v %s", err, out)
			}
			if out, err := exec.Command(testenv.LookPath(t, "ssh-keygen"), "-Q", "-f", krl, certs["ada"]).CombinedOutput(); err != nil {
				t.Fatalf("ssh-keygen -Q ada: %v %s", err, out)
			}

			var camp registry.RosterCampaign
			if code := d2.do("GET", "/api/v1/roster", tokens["ada"], nil, &camp); code != 200 || camp.State != registry.CampaignClosed || len(camp.Requests) != 3 {
				t.Fatalf("status = %d %+v", code, camp)
			}
			states := map[string]string{}
			for _, r := range camp.Requests {
				states[r.AdminName] = r.State
			}
			if states["ada"] != "kept" || states["bob"] != "removed" || states["cy"] != "stepped-down" {
				t.Fatalf("states = %v", states)
			}
			// A mail is recorded just after its delivery: the last
			// notice's record may still be on its way.
			var actions map[string]int
			for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				var audit struct{ Items []registry.AuditEntry }
				d2.do("GET", "/api/v1/audit?entity=roster_request", d.token, nil, &audit)
				actions = map[string]int{}
				for _, a := range audit.Items {
					actions[a.Action]++
				}
				if actions["notice"] == 2 || time.Now().After(deadline) {
					break
				}
			}
			if actions["mail"] != 3 || actions["keep"] != 1 || actions["step-down"] != 1 || actions["remove"] != 1 || actions["notice"] != 2 {
				t.Fatalf("audit actions = %v", actions)
			}

			// A campaign started by hand mails at once (no clock move);
			// the admin socket answers for Ada.
			if code := d2.do("POST", "/api/v1/roster/campaigns", d.token, nil, &camp); code != 201 || len(camp.Requests) != 1 {
				t.Fatalf("start = %d %+v", code, camp)
			}
			smtp.Wait(t, 6)
			if code := d2.do("POST", "/api/v1/roster/answer", "socket", map[string]any{"answer": "keep"}, &e); code != 400 {
				t.Fatalf("socket answer without an admin = %d", code)
			}
			if code := d2.do("POST", "/api/v1/roster/answer", "socket", map[string]any{"admin": "ada@example.org", "answer": "keep"}, &answered); code != 200 || answered.State != "kept" {
				t.Fatalf("socket answer = %d %+v", code, answered)
			}

			// Two weeks before Ada's certificate expires (2028-01-17),
			// she is reminded.
			clock.Set(time.Date(2028, 1, 4, 10, 0, 30, 0, time.UTC))
			smtp.Wait(t, 7)
			reminders := smtp.To(t, "ada@example.org")
			last := reminders[len(reminders)-1]
			if !strings.HasPrefix(last.Subject, "Your SSH certificate 1 expires on 2028-01-17") || !strings.Contains(last.Body, "maillon ca sign-user ada@example.org") {
				t.Fatalf("reminder = %s\n%s", last.Subject, last.Body)
			}
			if !strings.Contains(metricsText(t, d2.base), `maillon_ssh_certificate_expiry_timestamp_seconds{kind="user",serial="1",subject="ada"}`) {
				t.Fatal("no expiry metric for ada's certificate")
			}
		})
	}
}

// TestRosterTwoInstances runs two daemons on one PostgreSQL database and
// one clock: each mail of the campaign goes out once between them, and so
// does the notice of Bob's removal.
func TestRosterTwoInstances(t *testing.T) {
	smtp := testenv.StartSMTP(t)
	db := testenv.FreshPostgresDB(t)
	clock := apptest.NewClock(time.Date(2027, 1, 4, 12, 0, 0, 0, time.UTC))
	var daemons []*daemon
	for range 2 {
		cfg := app.LoopbackConfig(t.TempDir(), db)
		cfg.Notify.Email = config.Email{SMTP: smtp.Addr, From: "noc@example.org", TLS: "none"}
		cfg.Roster.Renewal = "01-05"
		d, _ := runOn(t, cfg, clock)
		daemons = append(daemons, d)
	}
	ctx := context.Background()
	reg := daemons[0].app.Registry()
	ids := map[string]int64{}
	for _, n := range []string{"root", "ada", "bob"} {
		role := registry.RoleTechnicalOfficer
		if n == "root" {
			role = registry.RoleAdmin
		}
		a, err := reg.CreateAdmin(ctx, registry.System, registry.AdminInput{Name: ptr(n), Email: ptr(n + "@example.org"), Roles: &[]registry.Role{role}})
		if err != nil {
			t.Fatal(err)
		}
		ids[n] = a.ID
	}
	clock.Set(time.Date(2027, 1, 5, 0, 0, 1, 0, time.UTC))
	smtp.Wait(t, 2)
	if _, err := daemons[1].app.Registry().AnswerRoster(ctx, registry.Actor{Name: "test"}, ids["ada"], true); err != nil {
		t.Fatal(err)
	}
	clock.Set(time.Date(2027, 1, 19, 0, 1, 0, 0, time.UTC))
	mails := smtp.Wait(t, 3)
	var subjects []string
	for _, m := range mails {
		subjects = append(subjects, m.Subject)
	}
	sort.Strings(subjects)
	if len(subjects) != 3 || !strings.HasPrefix(subjects[0], "Roster renewal") || !strings.HasPrefix(subjects[1], "Roster renewal") ||
		subjects[2] != "Roster: bob is no longer technical-officer (no answer)" {
		t.Fatalf("subjects = %q", subjects)
	}
	audit, err := reg.Audit(ctx, registry.AuditFilter{Entity: "roster_campaign"})
	if err != nil || len(audit) != 2 { // start and close, once
		t.Fatalf("campaign audit = %+v, %v", audit, err)
	}
}
