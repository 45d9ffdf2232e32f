package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"maillon/internal/registry"
)

// Cookie names. The session cookie holds a random token whose SHA-256 is
// the session's key in the web_sessions table.
const (
	sessionCookie = "maillon_session"
	csrfCookie    = "maillon_csrf" // anonymous forms (login): double-submit token
	langCookie    = "maillon_lang"
	flashCookie   = "maillon_flash"
	csrfField     = "csrf" // the hidden field every POST form carries
)

// uiRegistry is what sessions and logins need from the registry.
type uiRegistry interface {
	StartWebSession(ctx context.Context, a registry.Actor, in registry.SessionStart) (string, registry.WebSession, error)
	WebSession(ctx context.Context, token string) (registry.WebSession, error)
	TouchWebSession(ctx context.Context, id int64, at time.Time) error
	EndWebSession(ctx context.Context, a registry.Actor, ws registry.WebSession, why string) error
	CheckAdminPassword(ctx context.Context, ref, password string) (registry.Admin, error)
	AdminAccount(ctx context.Context, ref string) (string, error)
	FindAdminForSSO(ctx context.Context, who string, isEmail bool) (registry.Admin, error)
	RecordAction(ctx context.Context, a registry.Actor, action, entity string, id int64, details any) error
}

// Session is who is logged in on a browser request; sessionFrom returns
// nil for an anonymous one.
type Session struct {
	Kind registry.SessionKind
	// SubjectID is the admin's id or the member's id.
	SubjectID int64
	// Name is shown in the page header.
	Name string
	// Admin is set for admin sessions (roles); Member for member ones.
	Admin  *registry.Admin
	Member *registry.Member
	// CSRF is the token this session's forms must carry (render puts it
	// in the page as .CSRF).
	CSRF string
	ws   registry.WebSession
}

// IsAdmin reports an admin session.
func (s *Session) IsAdmin() bool {
	return s != nil && s.Kind == registry.SessionAdmin && s.Admin != nil
}

// IsMember reports a member session.
func (s *Session) IsMember() bool {
	return s != nil && s.Kind == registry.SessionMember && s.Member != nil
}

// CanWrite reports an admin whose roles allow changes; read-only admins
// see pages without forms.
func (s *Session) CanWrite() bool { return s.IsAdmin() && s.Admin.CanWrite() }

// FullAdmin reports the admin role (admins, tokens, signing certificates).
// Revoking one is open to every admin who may write: whoever is on call
// when a laptop is stolen must be able to, and it is audited.
func (s *Session) FullAdmin() bool { return s.IsAdmin() && s.Admin.Has(registry.RoleAdmin) }

// Actor is who the registry records for this session's changes.
func (s *Session) Actor() registry.Actor {
	if s.IsAdmin() {
		return registry.Actor{Name: "admin:" + s.Admin.Name}
	}
	if s.IsMember() {
		return registry.Actor{Name: "member:" + s.Member.Email}
	}
	return registry.Actor{Name: "anonymous"}
}

type uiKey int

const sessionKey uiKey = iota

// sessionFrom returns the request's session, nil when anonymous.
func sessionFrom(r *http.Request) *Session {
	s, _ := r.Context().Value(sessionKey).(*Session)
	return s
}

// now is the web layer's clock (Options.Now in tests).
func (s *Server) now() time.Time {
	if s.opt.Now != nil {
		return s.opt.Now().UTC()
	}
	return s.opt.Registry.Now()
}

// loadSession finds the session of the request's cookie, ends it when it
// expired or sat idle too long, and records activity now and then.
func (s *Server) loadSession(w http.ResponseWriter, r *http.Request) *Session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	ctx := r.Context()
	ws, err := s.opt.Registry.WebSession(ctx, c.Value)
	if err != nil {
		if !errors.Is(err, registry.ErrUnauthenticated) {
			s.opt.Logger.Error("web session lookup", "err", err)
		}
		s.clearCookie(w, r, sessionCookie)
		return nil
	}
	now := s.now()
	idle := s.web().IdleTimeout.Duration
	if !now.Before(ws.ExpiresAt) || now.Sub(ws.LastSeenAt) >= idle {
		if err := s.opt.Registry.EndWebSession(ctx, registry.System, ws, "session-expired"); err != nil {
			s.opt.Logger.Error("end expired web session", "err", err)
		}
		s.clearCookie(w, r, sessionCookie)
		return nil
	}
	sess := &Session{Kind: ws.Kind, SubjectID: ws.SubjectID, CSRF: ws.CSRF, ws: ws}
	switch ws.Kind {
	case registry.SessionAdmin:
		var a registry.Admin
		err = s.opt.Registry.Read(ctx, func(rd registry.Reader) error {
			var err error
			a, err = rd.GetAdmin(ctx, ws.SubjectID)
			return err
		})
		sess.Admin, sess.Name = &a, a.Name
	case registry.SessionMember:
		var m registry.Member
		m, err = s.opt.Registry.FindMember(ctx, strconv.FormatInt(ws.SubjectID, 10))
		if err == nil && m.State == registry.MemberArchived {
			// Archiving ends the sessions too; this covers one opened
			// while it happened.
			err = registry.ErrUnauthenticated
		}
		sess.Member, sess.Name = &m, m.Name
	}
	if err != nil {
		// The admin or member was removed (or archived): the session
		// goes with them.
		s.clearCookie(w, r, sessionCookie)
		return nil
	}
	// Writing on every page view would serialise readers on SQLite's
	// one writer; a sixtieth of the idle timeout is precise enough.
	if now.Sub(ws.LastSeenAt) > idle/60 {
		if err := s.opt.Registry.TouchWebSession(ctx, ws.ID, now); err != nil {
			s.opt.Logger.Warn("touch web session", "err", err)
		}
	}
	return sess
}

// startSession logs the request's browser in as kind/subjectID (via says
// how: "password", "oidc", "link"...) and sets the session cookie. Any
// session the browser had is closed first (no session fixation).
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, kind registry.SessionKind, subjectID int64, via string, actor registry.Actor) error {
	if old := sessionFrom(r); old != nil {
		s.opt.Registry.EndWebSession(r.Context(), old.Actor(), old.ws, "logout")
	}
	lifetime := s.web().SessionLifetime.Duration
	token, _, err := s.opt.Registry.StartWebSession(r.Context(), actor, registry.SessionStart{
		Kind: kind, SubjectID: subjectID, Via: via, RemoteAddr: s.clientIP(r).String(), Lifetime: lifetime,
	})
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: s.secure(r),
		SameSite: http.SameSiteLaxMode, MaxAge: int(lifetime / time.Second)})
	return nil
}

// endSession logs the browser out.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	if sess := sessionFrom(r); sess != nil {
		if err := s.opt.Registry.EndWebSession(r.Context(), sess.Actor(), sess.ws, "logout"); err != nil {
			s.opt.Logger.Error("logout", "err", err)
		}
	}
	s.clearCookie(w, r, sessionCookie)
}

func (s *Server) secure(r *http.Request) bool { return r.TLS != nil || s.web().SecureCookies }

func (s *Server) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// csrfToken is the token the request's forms carry: the session's, or for
// an anonymous browser a random one kept in a cookie (double submit).
func (s *Server) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if sess := sessionFrom(r); sess != nil {
		return sess.CSRF
	}
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	if v, ok := r.Context().Value(csrfKey{}).(*string); ok && *v != "" {
		return *v
	}
	b := make([]byte, 32)
	rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	if v, ok := r.Context().Value(csrfKey{}).(*string); ok {
		*v = token
	}
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: token, Path: "/", HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
	return token
}

type csrfKey struct{}

// checkCSRF accepts a state-changing request only if it comes from our
// own pages: the browser's Sec-Fetch-Site/Origin say so (Go's
// CrossOriginProtection) and the form carries the token.
func (s *Server) checkCSRF(r *http.Request) bool {
	if err := s.cop.Check(r); err != nil {
		return false
	}
	got := r.PostFormValue(csrfField)
	if sess := sessionFrom(r); sess != nil {
		return registry.SameSecret(got, sess.CSRF)
	}
	c, err := r.Cookie(csrfCookie)
	return err == nil && len(c.Value) >= 32 && registry.SameSecret(got, c.Value)
}

// safeMethod is a request that changes nothing.
func safeMethod(r *http.Request) bool {
	return r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions
}

// ui wraps every browser route: security headers, the session, and the
// CSRF check of every state-changing request.
func (s *Server) ui(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cache-Control", "no-store")
		var token string
		ctx := context.WithValue(r.Context(), csrfKey{}, &token)
		if sess := s.loadSession(w, r); sess != nil {
			ctx = context.WithValue(ctx, sessionKey, sess)
			logActor(r, sess.Actor().Name)
		}
		r = r.WithContext(ctx)
		if !safeMethod(r) {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			if !s.checkCSRF(r) {
				s.renderError(w, r, http.StatusForbidden, "error.csrf")
				return
			}
		}
		h(w, r)
	}
}

// requireAdmin admits admin sessions (any role) and sends anybody else to
// the login page, coming back here afterwards.
func (s *Server) requireAdmin(h http.HandlerFunc) http.HandlerFunc {
	return s.ui(func(w http.ResponseWriter, r *http.Request) {
		if !sessionFrom(r).IsAdmin() {
			s.toLogin(w, r, adminLoginPath)
			return
		}
		h(w, r)
	})
}

// requireWriter admits admins whose roles allow changes (admin,
// technical-officer); read-only admins get 403.
func (s *Server) requireWriter(h http.HandlerFunc) http.HandlerFunc {
	return s.requireAdmin(func(w http.ResponseWriter, r *http.Request) {
		if !sessionFrom(r).CanWrite() {
			s.renderError(w, r, http.StatusForbidden, "error.readonly")
			return
		}
		h(w, r)
	})
}

// requireMember admits member sessions and sends anybody else to the
// member login page.
func (s *Server) requireMember(h http.HandlerFunc) http.HandlerFunc {
	return s.ui(func(w http.ResponseWriter, r *http.Request) {
		if !sessionFrom(r).IsMember() {
			s.toLogin(w, r, memberLoginPath)
			return
		}
		h(w, r)
	})
}

const (
	adminLoginPath  = "/login"
	memberLoginPath = "/member/login"
)

func (s *Server) toLogin(w http.ResponseWriter, r *http.Request, login string) {
	if !safeMethod(r) {
		s.renderError(w, r, http.StatusUnauthorized, "error.login")
		return
	}
	http.Redirect(w, r, login+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}

// localPath keeps a ?next= target on this site (no open redirect): a path
// from the root, without a host. Browsers drop tabs and newlines from a
// URL and read a backslash as a slash, so "/\t/evil.example" would go to
// another site: any control character or backslash is refused.
func localPath(next, fallback string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') {
		return fallback
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f {
			return fallback
		}
	}
	if u, err := url.Parse(next); err != nil || u.Scheme != "" || u.Host != "" {
		return fallback
	}
	return next
}

// clientIP is the browser's address; behind a trusted proxy, the last
// address of X-Forwarded-For the proxies did not add.
func (s *Server) clientIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, _ := netip.ParseAddr(host)
	addr = addr.Unmap()
	if !s.trusted(addr) {
		return addr
	}
	hops := strings.Split(r.Header.Get("X-Forwarded-For"), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return addr
		}
		addr = a.Unmap()
		if !s.trusted(addr) {
			return addr
		}
	}
	return addr
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// setFlash shows a message on the next page rendered (after a redirect):
// a catalog key and the numbers its message takes, in a cookie as
// "key:1:2" (only numbers, so a forged cookie cannot inject text).
func (s *Server) setFlash(w http.ResponseWriter, r *http.Request, key string, counts ...int) {
	v := key
	for _, n := range counts {
		v += ":" + strconv.Itoa(n)
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: v, Path: "/", HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode, MaxAge: 60})
}

// takeFlash returns the flash message set by the previous response,
// translated, and forgets it.
func (s *Server) takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil || c.Value == "" {
		return ""
	}
	s.clearCookie(w, r, flashCookie)
	parts := strings.Split(c.Value, ":")
	var args []any
	for _, p := range parts[1:] {
		n, err := strconv.Atoi(p)
		if err != nil {
			return ""
		}
		args = append(args, n)
	}
	return translate(s.lang(r), parts[0], args...)
}
