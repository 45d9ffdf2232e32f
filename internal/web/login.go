package web

import (
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"maillon/internal/registry"
)

// Login throttling: after a few failures an account, or a client
// address, waits before its next try, the wait doubling with each further
// failure. The account key is what was typed, existing or not, so the
// answers tell nobody which accounts exist. Counters live in memory, per
// instance: several instances behind a load balancer each count apart.
const (
	accountFailures = 5  // failures of one account before it waits
	addressFailures = 20 // failures from one address (a shared NAT) before it waits
	failureWindow   = 15 * time.Minute
	firstLockout    = time.Minute
	longestLockout  = time.Hour
	limiterEntries  = 100_000 // memory bound; the oldest entries go first
)

type strike struct {
	fails int
	first time.Time
	until time.Time
}

type limiter struct {
	mu        sync.Mutex
	now       func() time.Time
	threshold int
	entries   map[string]*strike
}

func (l *limiter) wait(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.entries[key]; ok {
		if d := e.until.Sub(l.now()); d > 0 {
			return d
		}
	}
	return 0
}

func (l *limiter) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	e, ok := l.entries[key]
	if !ok || now.Sub(e.first) > failureWindow && now.After(e.until) {
		if len(l.entries) >= limiterEntries {
			l.prune(now)
		}
		e = &strike{first: now}
		l.entries[key] = e
	}
	e.fails++
	if e.fails >= l.threshold {
		lock := firstLockout << min(e.fails-l.threshold, 10)
		e.until = now.Add(min(lock, longestLockout))
	}
}

// prune drops entries that no longer count, or the oldest half when all do.
func (l *limiter) prune(now time.Time) {
	for k, e := range l.entries {
		if now.Sub(e.first) > failureWindow && now.After(e.until) {
			delete(l.entries, k)
		}
	}
	if len(l.entries) < limiterEntries {
		return
	}
	n := 0
	for k := range l.entries {
		if n%2 == 0 {
			delete(l.entries, k)
		}
		n++
	}
}

func (l *limiter) clear(key string) {
	l.mu.Lock()
	delete(l.entries, key)
	l.mu.Unlock()
}

// loginLimiter throttles a login form per client address and per
// account. account is namespaced by the caller ("admin:ada",
// "member:ada@ISP").
type loginLimiter struct {
	address, account *limiter
}

func newLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{
		address: &limiter{now: now, threshold: addressFailures, entries: map[string]*strike{}},
		account: &limiter{now: now, threshold: accountFailures, entries: map[string]*strike{}},
	}
}

// addressKey groups IPv6 clients by /64, what one household holds.
func addressKey(ip netip.Addr) string {
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

func accountKey(account string) string { return strings.ToLower(strings.TrimSpace(account)) }

// allow returns how long this client must wait before trying account
// again; 0 lets it try.
func (l *loginLimiter) allow(ip netip.Addr, account string) time.Duration {
	return max(l.address.wait(addressKey(ip)), l.account.wait(accountKey(account)))
}

// fail counts a failed attempt.
func (l *loginLimiter) fail(ip netip.Addr, account string) {
	l.address.fail(addressKey(ip))
	l.account.fail(accountKey(account))
}

// succeed forgets the account's failures (the address's stay: one good
// password does not excuse guessing others).
func (l *loginLimiter) succeed(account string) { l.account.clear(accountKey(account)) }

// lockedOut tells a client the limiter refused, on every login form alike:
// Retry-After in seconds, and the whole minutes to wait that the page shows.
func lockedOut(w http.ResponseWriter, wait time.Duration) (minutes int) {
	w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
	return int(wait.Minutes()) + 1
}

// passwordRefused answers a failed password check on every login form
// alike: a registry failure as such; a wrong password counted against ip
// and account, logged (the login if it names an account, never the
// password) and answered 401 by render. It reports false when err is nil.
func (s *Server) passwordRefused(w http.ResponseWriter, r *http.Request, err error, ip netip.Addr, account, logMsg, login string, render func()) bool {
	if err == nil {
		return false
	}
	if !errors.Is(err, registry.ErrUnauthenticated) {
		s.renderFailure(w, r, err)
		return true
	}
	s.loginLimiter.fail(ip, account)
	if errors.Is(err, registry.ErrUnknownLogin) {
		login = "(unknown)" // perhaps a password typed in the wrong field
	}
	s.opt.Logger.Info(logMsg, "login", login, "remote", ip)
	render()
	return true
}

type loginData struct {
	Login string
	Next  string
	Error string // message key
	Wait  int    // minutes to wait, with login.locked
	Who   string // what single sign-on said, with login.sso_*
	OIDC  string // the single sign-on button's label; empty when off
}

func init() { uiRoutes = append(uiRoutes, (*Server).loginRoutes) }

func (s *Server) loginRoutes() {
	s.mux.HandleFunc("GET "+adminLoginPath, s.ui(s.loginForm))
	s.mux.HandleFunc("POST "+adminLoginPath, s.ui(s.login))
	s.mux.HandleFunc("POST /logout", s.ui(s.logout))
}

func (s *Server) loginPage(r *http.Request, d loginData) loginData {
	d.Next = localPath(r.FormValue("next"), "")
	if s.oidc != nil {
		d.OIDC = s.oidc.label
	}
	return d
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	if sessionFrom(r).IsAdmin() {
		http.Redirect(w, r, localPath(r.URL.Query().Get("next"), "/admin/"), http.StatusSeeOther)
		return
	}
	s.render(w, r, "login.html", s.loginPage(r, loginData{}))
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	name, password := strings.TrimSpace(r.PostFormValue("login")), r.PostFormValue("password")
	ip := s.clientIP(r)
	account, err := s.opt.Registry.AdminAccount(r.Context(), name)
	if err != nil {
		s.renderFailure(w, r, err)
		return
	}
	if wait := s.loginLimiter.allow(ip, account); wait > 0 {
		s.renderStatus(w, r, http.StatusTooManyRequests, "login.html",
			s.loginPage(r, loginData{Login: name, Error: "login.locked", Wait: lockedOut(w, wait)}))
		return
	}
	// argon2id takes 64 MiB a try: a few at a time keep a burst of
	// attempts from exhausting memory.
	s.hashSlots <- struct{}{}
	admin, err := s.opt.Registry.CheckAdminPassword(r.Context(), name, password)
	<-s.hashSlots
	if s.passwordRefused(w, r, err, ip, account, "web login failed", name, func() {
		s.renderStatus(w, r, http.StatusUnauthorized, "login.html", s.loginPage(r, loginData{Login: name, Error: "login.wrong"}))
	}) {
		return
	}
	s.loginLimiter.succeed(account)
	if err := s.startSession(w, r, registry.SessionAdmin, admin.ID, "password", registry.Actor{Name: "admin:" + admin.Name}); err != nil {
		s.renderFailure(w, r, err)
		return
	}
	http.Redirect(w, r, localPath(r.PostFormValue("next"), "/admin/"), http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	back := adminLoginPath
	if sessionFrom(r).IsMember() {
		back = memberLoginPath
	}
	s.endSession(w, r)
	s.setFlash(w, r, "login.loggedout")
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func parsePrefixOrAddr(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

func isNotFound(err error) bool { return errors.Is(err, registry.ErrNotFound) }
func isConflict(err error) bool {
	return errors.Is(err, registry.ErrConflict) || errors.Is(err, registry.ErrInUse) || errors.Is(err, registry.ErrExhausted)
}
