package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"maillon/internal/registry"
)

// Member login: with the login and password of one of their lines (what
// their router sends to RADIUS), or with a single-use link mailed to their
// contact email. The link's GET only shows a button and its POST logs in,
// because mail clients and link scanners fetch links on their own and must
// not spend the token.

// memberRegistry is what the member pages need of the registry beyond the
// admin interface's.
type memberRegistry interface {
	MemberLogin(ctx context.Context, login, password string) (registry.Member, error)
	IssueLoginLink(ctx context.Context, email string) (string, registry.Member, error)
	RedeemLoginLink(ctx context.Context, token string) (registry.Member, error)
	MemberPrefs(ctx context.Context, memberID int64) (registry.MemberPrefs, error)
	SetMemberPrefs(ctx context.Context, a registry.Actor, p registry.MemberPrefs) (registry.MemberPrefs, error)
	SetMemberLanguage(ctx context.Context, a registry.Actor, memberID int64, language string) error
}

// Mailer sends one plain-text email; app adapts notify's email sender. A
// nil Mailer, or no web.public_url to build links with, turns the emailed
// login off.
type Mailer interface {
	Mail(ctx context.Context, to, subject, text string) error
}

const memberLinkPath = "/member/login/link"

type memberLoginData struct {
	Login string
	Email string
	Next  string
	Error string // message key
	Wait  int    // minutes, with member.login.locked
	// LinkSent says a link request was taken (whether or not the address
	// is known: the page must not tell).
	LinkSent bool
	// LinkOn shows the emailed-link form.
	LinkOn bool
}

func init() { uiRoutes = append(uiRoutes, (*Server).memberLoginRoutes) }

func (s *Server) memberLoginRoutes() {
	s.mux.HandleFunc("GET "+memberLoginPath, s.ui(s.memberLoginForm))
	s.mux.HandleFunc("POST "+memberLoginPath, s.ui(s.memberLogin))
	s.mux.HandleFunc("POST "+memberLinkPath, s.ui(s.memberLinkRequest))
	s.mux.HandleFunc("GET "+memberLinkPath, s.ui(s.memberLinkConfirm))
	s.mux.HandleFunc("POST "+memberLinkPath+"/confirm", s.ui(s.memberLinkRedeem))
}

// memberLinkOn reports whether login links can be mailed.
func (s *Server) memberLinkOn() bool { return s.opt.Mailer != nil && s.web().PublicURL != "" }

func (s *Server) memberLoginPage(r *http.Request, d memberLoginData) memberLoginData {
	d.Next = localPath(r.FormValue("next"), "")
	d.LinkOn = s.memberLinkOn()
	return d
}

func (s *Server) memberLoginForm(w http.ResponseWriter, r *http.Request) {
	if sessionFrom(r).IsMember() {
		http.Redirect(w, r, localPath(r.URL.Query().Get("next"), "/member/"), http.StatusSeeOther)
		return
	}
	s.render(w, r, "member_login.html", s.memberLoginPage(r, memberLoginData{}))
}

func (s *Server) memberLogin(w http.ResponseWriter, r *http.Request) {
	login, password := strings.TrimSpace(r.PostFormValue("login")), r.PostFormValue("password")
	ip := s.clientIP(r)
	account := "member:" + login
	if wait := s.loginLimiter.allow(ip, account); wait > 0 {
		s.renderStatus(w, r, http.StatusTooManyRequests, "member_login.html",
			s.memberLoginPage(r, memberLoginData{Login: login, Error: "member.login.locked", Wait: lockedOut(w, wait)}))
		return
	}
	m, err := s.opt.Registry.MemberLogin(r.Context(), login, password)
	if s.passwordRefused(w, r, err, ip, account, "member login failed", login, func() {
		s.renderStatus(w, r, http.StatusUnauthorized, "member_login.html",
			s.memberLoginPage(r, memberLoginData{Login: login, Error: "member.login.wrong"}))
	}) {
		return
	}
	s.loginLimiter.succeed(account)
	s.memberStart(w, r, m, "password")
}

func (s *Server) memberStart(w http.ResponseWriter, r *http.Request, m registry.Member, via string) {
	if err := s.startSession(w, r, registry.SessionMember, m.ID, via, registry.MemberActor(m)); err != nil {
		s.renderFailure(w, r, err)
		return
	}
	http.Redirect(w, r, localPath(r.PostFormValue("next"), "/member/"), http.StatusSeeOther)
}

// memberLinkRequest mails a login link. The answer is the same whether the
// address is a member's or not; requests count against the login limiter
// (per address and per email), so nobody floods a mailbox through us.
func (s *Server) memberLinkRequest(w http.ResponseWriter, r *http.Request) {
	if !s.memberLinkOn() {
		s.renderError(w, r, http.StatusNotFound, "error.notfound")
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	ip := s.clientIP(r)
	account := "member-link:" + email
	if wait := s.loginLimiter.allow(ip, account); wait > 0 {
		s.renderStatus(w, r, http.StatusTooManyRequests, "member_login.html",
			s.memberLoginPage(r, memberLoginData{Email: email, Error: "member.login.locked", Wait: lockedOut(w, wait)}))
		return
	}
	s.loginLimiter.fail(ip, account)
	token, m, err := s.opt.Registry.IssueLoginLink(r.Context(), email)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		s.opt.Logger.Info("member login link for an unknown email", "remote", ip)
	case err != nil:
		s.renderFailure(w, r, err)
		return
	default:
		lang := s.lang(r)
		link := strings.TrimSuffix(s.web().PublicURL, "/") + memberLinkPath + "?token=" + url.QueryEscape(token)
		text := translate(lang, "member.link.mail", m.Name, link, int(registry.LoginLinkTTL.Minutes()))
		if err := s.opt.Mailer.Mail(r.Context(), m.Email, translate(lang, "member.link.subject"), text); err != nil {
			s.opt.Logger.Error("mail a member login link", "member", m.ID, "err", err)
			s.renderError(w, r, http.StatusServiceUnavailable, "member.link.mailfailed")
			return
		}
	}
	s.render(w, r, "member_login.html", s.memberLoginPage(r, memberLoginData{LinkSent: true}))
}

// memberLinkConfirm is where the mailed link lands: a button, so that only
// a person's click spends the token.
func (s *Server) memberLinkConfirm(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if token == "" {
		http.Redirect(w, r, memberLoginPath, http.StatusSeeOther)
		return
	}
	s.render(w, r, "member_link.html", struct{ Token string }{token})
}

func (s *Server) memberLinkRedeem(w http.ResponseWriter, r *http.Request) {
	ip := s.clientIP(r)
	// Only the address counts here: tokens are not guessable, but a
	// stream of wrong ones from one place is somebody trying.
	if wait := s.loginLimiter.address.wait(addressKey(ip)); wait > 0 {
		s.renderStatus(w, r, http.StatusTooManyRequests, "member_login.html",
			s.memberLoginPage(r, memberLoginData{Error: "member.login.locked", Wait: lockedOut(w, wait)}))
		return
	}
	m, err := s.opt.Registry.RedeemLoginLink(r.Context(), r.PostFormValue("token"))
	if err != nil {
		if !errors.Is(err, registry.ErrUnauthenticated) {
			s.renderFailure(w, r, err)
			return
		}
		s.loginLimiter.address.fail(addressKey(ip))
		s.renderStatus(w, r, http.StatusUnauthorized, "member_login.html",
			s.memberLoginPage(r, memberLoginData{Error: "member.link.invalid"}))
		return
	}
	s.memberStart(w, r, m, "link")
}

// memberOwns is the one check between a member and another member's data:
// what is not theirs is "not found", like what does not exist, so that
// ids tell nothing.
func memberOwns(sess *Session, memberID int64, entity string, ref any) error {
	if sess == nil || !sess.IsMember() || sess.SubjectID != memberID {
		return registry.NotFound(entity, ref)
	}
	return nil
}
