package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
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
	"maillon/internal/status"
	"maillon/internal/testenv"
	"maillon/internal/web"
)

// clock is a simulated clock the web layer reads.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// uiEnv is a daemon on a temporary database and its web interface served
// by httptest with a simulated clock.
type uiEnv struct {
	t     *testing.T
	app   *app.App
	reg   *registry.Service
	clock *clock
	srv   *httptest.Server
	logs  *testenv.Buffer // what the interface logged, from Debug up
}

const adminPassword = "correct horse battery"

func newUIEnv(t *testing.T) *uiEnv { return newUIEnvWith(t, nil) }

// newUIEnvWith lets a test change the web configuration, knowing the
// address the interface will be served at.
func newUIEnvWith(t *testing.T, configure func(base string, w *config.Web)) *uiEnv {
	t.Helper()
	return newUIEnvOptions(t, configure, nil)
}

// newUIEnvOptions also lets a test complete the server's options.
func newUIEnvOptions(t *testing.T, configure func(base string, w *config.Web), options func(*web.Options)) *uiEnv {
	t.Helper()
	dir := t.TempDir()
	cfg := app.LoopbackConfig(dir, filepath.Join(dir, "maillon.db"))
	cfg.DNS.Listen = ""
	a := apptest.Run(t, cfg)
	c := &clock{t: time.Now().UTC()}
	srv := httptest.NewUnstartedServer(nil)
	if configure != nil {
		configure("http://"+srv.Listener.Addr().String(), &cfg.Web)
	}
	logs := &testenv.Buffer{}
	opt := web.Options{Registry: a.Registry(), Accounting: a.Store(), Web: &cfg.Web, Now: c.Now,
		Status: statusAdmin{a.Registry()}, Journal: a.Registry(),
		Logger: slog.New(slog.NewTextHandler(io.MultiWriter(testWriter{t}, logs), &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if options != nil {
		options(&opt)
	}
	srv.Config.Handler = web.New(opt)
	srv.Start()
	t.Cleanup(srv.Close)
	return &uiEnv{t: t, app: a, reg: a.Registry(), clock: c, srv: srv, logs: logs}
}

// addAdmin creates an admin with roles and the test password.
func (e *uiEnv) addAdmin(name string, roles ...registry.Role) registry.Admin {
	e.t.Helper()
	ctx := context.Background()
	email := strings.ToLower(name) + "@example.org"
	ad, err := e.reg.CreateAdmin(ctx, registry.Actor{Name: "test"}, registry.AdminInput{Name: &name, Email: &email, Roles: &roles})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.reg.SetAdminPassword(ctx, registry.Actor{Name: "test"}, ad.ID, adminPassword); err != nil {
		e.t.Fatal(err)
	}
	return ad
}

// browser is a cookie-keeping client that does not follow redirects, so
// tests see them.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string // the token of the last page seen
}

func (e *uiEnv) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, base: e.srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

type response struct {
	status   int
	body     string
	location string
	header   http.Header
}

func (b *browser) do(req *http.Request) response {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindSubmatch(body); m != nil {
		b.csrf = string(m[1])
	}
	return response{status: resp.StatusCode, body: string(body), location: resp.Header.Get("Location"), header: resp.Header}
}

func (b *browser) get(path string) response {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	req.Header.Set("Accept-Language", "en")
	return b.do(req)
}

// post submits a form with the CSRF token of the last page seen.
func (b *browser) post(path string, form url.Values) response {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("csrf") {
		form.Set("csrf", b.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", "en")
	return b.do(req)
}

func (b *browser) login(name, password string) response {
	b.t.Helper()
	b.get("/login")
	return b.post("/login", url.Values{"login": {name}, "password": {password}})
}

func (b *browser) mustLogin(name string) {
	b.t.Helper()
	if r := b.login(name, adminPassword); r.status != http.StatusSeeOther || r.location != "/admin/" {
		b.t.Fatalf("login as %s: %d %q\n%s", name, r.status, r.location, r.body)
	}
}

func TestLoginAndLogout(t *testing.T) {
	e := newUIEnv(t)
	e.addAdmin("Ada", registry.RoleAdmin)
	b := e.browser()

	r := b.get("/admin/")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login?next=") {
		t.Fatalf("anonymous /admin/: %d %q, want a redirect to the login", r.status, r.location)
	}
	r = b.get("/login")
	if r.status != 200 || !strings.Contains(r.body, `autocomplete="current-password"`) {
		t.Fatalf("login page: %d\n%s", r.status, r.body)
	}
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options"} {
		if r.header.Get(h) == "" {
			t.Errorf("login page without %s", h)
		}
	}
	r = b.post("/login", url.Values{"login": {"ada@example.org"}, "password": {adminPassword}, "next": {"/admin/audit"}})
	if r.status != http.StatusSeeOther || r.location != "/admin/audit" {
		t.Fatalf("login: %d %q\n%s", r.status, r.location, r.body)
	}
	var cookie *http.Cookie
	u, _ := url.Parse(e.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "maillon_session" {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("no session cookie after login")
	}
	r = b.get("/admin/")
	if r.status != 200 || !strings.Contains(r.body, "Ada") {
		t.Fatalf("home after login: %d\n%s", r.status, r.body)
	}
	// The login is in the audit log, without the token.
	entries, _ := e.reg.Audit(context.Background(), registry.AuditFilter{Entity: "admin"})
	if len(entries) == 0 || entries[0].Action != "login" || strings.Contains(string(entries[0].After), cookie.Value) {
		t.Fatalf("audit after login: %+v", entries)
	}
	r = b.post("/logout", nil)
	if r.status != http.StatusSeeOther || r.location != "/login" {
		t.Fatalf("logout: %d %q", r.status, r.location)
	}
	// The old cookie no longer opens anything, even replayed.
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/admin/", nil)
	req.AddCookie(&http.Cookie{Name: "maillon_session", Value: cookie.Value})
	if r := e.browser().do(req); r.status != http.StatusSeeOther {
		t.Fatalf("replayed cookie after logout: %d", r.status)
	}
}

func TestLoginSetCookieAttributes(t *testing.T) {
	e := newUIEnv(t)
	e.addAdmin("Ada", registry.RoleAdmin)
	b := e.browser()
	b.get("/login")
	form := url.Values{"login": {"Ada"}, "password": {adminPassword}, "csrf": {b.csrf}}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var set string
	for _, v := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(v, "maillon_session=") {
			set = v
		}
	}
	for _, want := range []string{"HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(set, want) {
			t.Errorf("session cookie %q lacks %s", set, want)
		}
	}
	if strings.Contains(set, "Secure") {
		t.Errorf("session cookie %q is Secure on plain HTTP without web.secure_cookies", set)
	}
}

func TestWrongPassword(t *testing.T) {
	e := newUIEnv(t)
	e.addAdmin("Ada", registry.RoleAdmin)
	b := e.browser()
	wrong := b.login("Ada", "not the password")
	unknown := b.login("Nobody", "not the password")
	for _, r := range []response{wrong, unknown} {
		if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Wrong name or password.") {
			t.Fatalf("wrong login: %d\n%s", r.status, r.body)
		}
	}
	if r := b.get("/admin/"); r.status != http.StatusSeeOther {
		t.Fatalf("/admin/ after a failed login: %d", r.status)
	}
}

func TestLoginRateLimit(t *testing.T) {
	e := newUIEnv(t)
	e.addAdmin("Ada", registry.RoleAdmin)
	b := e.browser()
	for i := range 5 {
		if r := b.login("ada", "guess"); r.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, r.status)
		}
	}
	// Locked now: even the right password waits, and an unknown account
	// gets the same answer after as many failures (not enumerable).
	r := b.login("ada", adminPassword)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "Too many failed attempts") {
		t.Fatalf("locked login: %d %q\n%s", r.status, r.header.Get("Retry-After"), r.body)
	}
	// However the account is written: the password check takes the name
	// or the email in any case, and so does the lockout.
	for _, login := range []string{"ADA", "ada@example.org", "Ada@Example.ORG"} {
		if r := b.login(login, adminPassword); r.status != http.StatusTooManyRequests {
			t.Fatalf("locked account as %q: %d, want 429", login, r.status)
		}
	}
	for range 5 {
		b.login("ghost", "guess")
	}
	if r := b.login("ghost", "guess"); r.status != http.StatusTooManyRequests {
		t.Fatalf("unknown account after 5 failures: %d, want the same 429", r.status)
	}
	// The lockout ends with time (simulated).
	e.clock.Advance(2 * time.Minute)
	b.mustLogin("ada")

	// Unicode case folding matches "ſ" (long s) to "s": a name spelt with
	// it is the same account, not a fresh counter.
	e.addAdmin("Sacha", registry.RoleAdmin)
	s := e.browser()
	for range 5 {
		s.login("sacha", "guess")
	}
	if r := s.login("ſacha", adminPassword); r.status != http.StatusTooManyRequests {
		t.Fatalf("locked account spelt with a long s: %d, want 429", r.status)
	}
}

// A failed login is logged with the account it tried, but what was typed
// in the login field stays out of the log when it names no account: it is
// often the password, typed in the wrong field.
func TestFailedLoginLog(t *testing.T) {
	e := newUIEnv(t)
	e.addAdmin("Ada", registry.RoleAdmin)
	b := e.browser()
	b.login("ada", "wrong-guess-1")
	b.login(adminPassword, "")
	logs := e.logs.String()
	if !strings.Contains(logs, "web login failed") || !strings.Contains(logs, "login=ada") {
		t.Fatalf("the failure on a known account is not logged with it:\n%s", logs)
	}
	if strings.Contains(logs, adminPassword) || strings.Contains(logs, "wrong-guess-1") {
		t.Fatalf("the log holds what was typed as a password:\n%s", logs)
	}
	if !strings.Contains(logs, `login=(unknown)`) {
		t.Fatalf("the failure on an unknown login is not logged:\n%s", logs)
	}
}

// The request log names who made each request, by session or by token.
func TestRequestLogNamesTheCaller(t *testing.T) {
	e := newUIEnv(t)
	ada := e.addAdmin("Ada", registry.RoleAdmin)
	b := e.browser()
	b.mustLogin("Ada")
	b.get("/admin/members")
	token, _, err := e.reg.CreateToken(context.Background(), registry.System, ada.ID, "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/members", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if r := b.do(req); r.status != 200 {
		t.Fatalf("API with a token: %d", r.status)
	}
	logs := e.logs.String()
	for _, path := range []string{"/admin/members", "/api/v1/members"} {
		if !regexp.MustCompile(`msg=http method=GET path=` + path + ` status=200 duration=\S+ actor=admin:Ada`).MatchString(logs) {
			t.Errorf("the request log does not name the caller of %s:\n%s", path, logs)
		}
	}
}

func TestCSRFRefused(t *testing.T) {
	e := newUIEnv(t)
	e.addAdmin("Ada", registry.RoleAdmin)
	b := e.browser()
	// A login form posted without the token is refused.
	r := b.post("/login", url.Values{"login": {"Ada"}, "password": {adminPassword}, "csrf": {""}})
	if r.status != http.StatusForbidden {
		t.Fatalf("login without token: %d", r.status)
	}
	b.mustLogin("Ada")
	// Logged in: a wrong token, or a cross-site request, is refused.
	if r := b.post("/logout", url.Values{"csrf": {"forged"}}); r.status != http.StatusForbidden {
		t.Fatalf("logout with a forged token: %d", r.status)
	}
	form := url.Values{"csrf": {b.csrf}}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/logout", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if r := b.do(req); r.status != http.StatusForbidden {
		t.Fatalf("cross-site logout: %d", r.status)
	}
	if r := b.get("/admin/"); r.status != 200 {
		t.Fatalf("session lost after refused requests: %d", r.status)
	}
}

func TestSessionExpiry(t *testing.T) {
	e := newUIEnv(t)
	e.addAdmin("Ada", registry.RoleAdmin)
	b := e.browser()
	b.mustLogin("Ada")
	// Active every 50 minutes: the idle timeout (1h) never strikes, the
	// lifetime (12h) does, at the 15th view (12h30).
	for i := 1; i <= 15; i++ {
		e.clock.Advance(50 * time.Minute)
		r := b.get("/admin/")
		if i < 15 && r.status != 200 {
			t.Fatalf("session ended after %v of activity", time.Duration(i)*50*time.Minute)
		}
		if i == 15 && r.status != http.StatusSeeOther {
			t.Fatalf("session alive 12h30 after login: %d", r.status)
		}
	}
	// Idle for an hour: gone.
	b.mustLogin("Ada")
	e.clock.Advance(61 * time.Minute)
	if r := b.get("/admin/"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login") {
		t.Fatalf("idle session: %d %q", r.status, r.location)
	}
}

func TestLanguage(t *testing.T) {
	e := newUIEnv(t)
	b := e.browser()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/login", nil)
	req.Header.Set("Accept-Language", "fr-BE,fr;q=0.9,en;q=0.5")
	if r := b.do(req); !strings.Contains(r.body, "Connexion à maillon") || !strings.Contains(r.body, `<html lang="fr">`) {
		t.Fatalf("French not negotiated:\n%s", r.body)
	}
	r := b.get("/lang/fr?next=/login")
	if r.status != http.StatusSeeOther || r.location != "/login" {
		t.Fatalf("language switch: %d %q", r.status, r.location)
	}
	// The switch wins over Accept-Language: en.
	if r := b.get("/login"); !strings.Contains(r.body, "Connexion à maillon") {
		t.Fatal("the language switch did not stick")
	}
	if r := b.get("/lang/fr?next=//evil.example/"); r.location != "/" {
		t.Fatalf("open redirect through the language switch: %q", r.location)
	}
}

// statusAdmin is app's adapter of the status records for the web layer.
type statusAdmin struct{ *registry.Service }

func (s statusAdmin) Recipients(ctx context.Context, incidents bool, components []int64) ([]registry.Delivery, []registry.OptedOut, error) {
	var (
		out      []registry.Delivery
		optedOut []registry.OptedOut
	)
	err := s.Read(ctx, func(r registry.Reader) error {
		var err error
		out, optedOut, err = status.Audience(ctx, r, incidents, components)
		return err
	})
	return out, optedOut, err
}

// testWriter sends the daemon's warnings to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// Behind a proxy that terminates TLS, web.secure_cookies marks every
// cookie Secure.
func TestSecureCookiesConfigured(t *testing.T) {
	e := newUIEnvWith(t, func(_ string, w *config.Web) { w.SecureCookies = true })
	e.addAdmin("Ada", registry.RoleAdmin)
	resp, err := http.Get(e.srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, v := range resp.Header.Values("Set-Cookie") {
		if !strings.Contains(v, "; Secure") || !strings.Contains(v, "HttpOnly") {
			t.Errorf("cookie %q is not Secure and HttpOnly", v)
		}
	}
	if len(resp.Header.Values("Set-Cookie")) == 0 {
		t.Fatal("the login page set no cookie (its form token)")
	}
}

// /metrics maps the inside of the network (checks, targets, NAS names):
// this machine reads it, others need a token, and a request forwarded by
// a proxy maillon does not trust is not taken for a local one.
func TestMetricsNeedLocalOrToken(t *testing.T) {
	get := func(e *uiEnv, token string, header ...string) int {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/metrics", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	local := newUIEnv(t)
	if code := get(local, ""); code != 200 {
		t.Fatalf("/metrics from this machine: %d", code)
	}
	if code := get(local, "", "X-Forwarded-For", "203.0.113.9"); code != http.StatusUnauthorized {
		t.Fatalf("/metrics through an untrusted proxy: %d, want 401", code)
	}

	// Behind a trusted proxy on this machine, the client is who counts,
	// and a request naming no client is nobody's.
	proxied := newUIEnvWith(t, func(_ string, w *config.Web) {
		w.TrustedProxies = []string{"127.0.0.1"}
		w.MetricsFrom = []string{"192.0.2.0/24"}
	})
	for _, h := range [][]string{
		{"X-Real-Ip", "203.0.113.9"}, {"Forwarded", "for=203.0.113.9"}, {"X-Forwarded-For", "unknown"},
		{"X-Forwarded-For", "203.0.113.9"}, {"X-Forwarded-For", "127.0.0.1"},
	} {
		if code := get(proxied, "", h...); code != http.StatusUnauthorized {
			t.Errorf("/metrics through the proxy with %s: %s: %d, want 401", h[0], h[1], code)
		}
	}
	if code := get(proxied, "", "X-Forwarded-For", "192.0.2.7"); code != 200 {
		t.Errorf("/metrics for a client in web.metrics_from through the proxy: %d", code)
	}

	// web.metrics_from adds networks to this machine.
	remote := newUIEnvWith(t, func(_ string, w *config.Web) { w.MetricsFrom = []string{"192.0.2.0/24"} })
	if code := get(remote, ""); code != 200 {
		t.Fatalf("/metrics from this machine with web.metrics_from set: %d", code)
	}
	if code := get(remote, "", "X-Forwarded-For", "203.0.113.9"); code != http.StatusUnauthorized {
		t.Fatalf("/metrics forwarded by an untrusted proxy: %d, want 401", code)
	}
	ro := remote.addAdmin("Reader", registry.RoleReadOnly)
	token, _, err := remote.reg.CreateToken(context.Background(), registry.System, ro.ID, "prometheus", 0)
	if err != nil {
		t.Fatal(err)
	}
	// From elsewhere (as an untrusted proxy's client is), a token opens it.
	if code := get(remote, token, "X-Forwarded-For", "203.0.113.9"); code != 200 {
		t.Fatalf("/metrics with a read-only admin's token: %d", code)
	}
	if code := get(remote, "not-a-token", "X-Forwarded-For", "203.0.113.9"); code != http.StatusUnauthorized {
		t.Fatalf("/metrics with a wrong token: %d", code)
	}
}
