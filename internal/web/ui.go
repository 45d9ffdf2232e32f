package web

// The browser interface: server-rendered pages (html/template, embedded
// templates and CSS) that work without JavaScript, in English and French.
//
// How to add pages (admin pages in admin*.go, member self-service in
// member*.go; templates in templates/, one file per page):
//
//   - Register routes from an init function, so each page file stays
//     on its own:
//
//     func init() { uiRoutes = append(uiRoutes, (*Server).memberRoutes) }
//
//     func (s *Server) memberRoutes() {
//     	s.mux.HandleFunc("GET /member/{$}", s.requireMember(s.memberHome))
//     	s.mux.HandleFunc("POST /member/password", s.requireMember(s.memberPassword))
//     }
//
//   - Guards: s.requireAdmin(h) (any admin role), s.requireWriter(h)
//     (admin or technical-officer: read-only admins get 403),
//     s.requireMember(h) (a member session; others are sent to
//     /member/login?next=...), s.ui(h) (public pages such as a login
//     form). Every guard sets the security headers, loads the session
//     and refuses a POST/PUT/DELETE whose form lacks the CSRF token, so
//     a handler never checks CSRF itself. Every POST form must carry
//     <input type="hidden" name="csrf" value="{{.CSRF}}">.
//
//   - sessionFrom(r) returns the *Session (nil when anonymous): Kind
//     (registry.SessionAdmin or registry.SessionMember), SubjectID (admin
//     or member id), Name, Admin or Member, IsAdmin(), IsMember(),
//     CanWrite(), Actor() (for registry changes).
//
//   - s.startSession(w, r, registry.SessionMember, memberID, "password",
//     actor) logs a browser in (cookie HttpOnly, SameSite=Lax, Secure on
//     TLS or web.secure_cookies); s.endSession(w, r) logs it out.
//     s.loginLimiter.allow/fail/succeed rate-limit a login form per
//     client address and per account (see login.go).
//
//   - s.render(w, r, "member_home.html", data) executes the page
//     template inside the layout (templates/layout.html: skip link,
//     navigation, language switch, logout). A page file defines
//     {{define "title"}} and {{define "content"}}; in them .Data is the
//     data passed, .T "key" args... translates (use $.T inside range),
//     .Session, .CSRF and .Lang are there too. s.renderStatus sets
//     another status; s.renderError(w, r, status, "error.key") answers
//     an error page. Templates named _*.html are partials shared by all
//     pages ({{template "errors" .}}, {{template "field" ...}}).
//
//   - Messages: addMessages("en", map[string]string{...}) and
//     addMessages("fr", ...) from an init; keys are prefixed by the page
//     family ("member.", "admin.", "nav."); both languages must define
//     the same keys (TestCatalogsComplete). Keys starting with "member."
//     belong to the member pages; the admin pages use "admin.", "nav.",
//     "login.", "form.", "field.", "col.", "search." and the like.
//
//   - s.setFlash(w, r, "key") shows a translated message on the next
//     page (post/redirect/get).
//
//   - Static files: everything under static/ is served at /static/
//     (CSS, the chart bundle); pages link them with
//     {{static "file.js"}}, which adds a content hash for caching.
//
//   - memberNav lists the member pages' navigation entries (append in
//     init); admins' navigation is adminNav.

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"maillon/internal/config"
)

//go:embed all:templates static
var uiFS embed.FS

// uiRoutes are the page families' route registrations (see above).
var uiRoutes []func(*Server)

// navItem is a navigation entry; Key is a message key.
type navItem struct {
	Key, Path string
	// Writer shows the entry only to admins who may change things.
	Writer bool
}

// navInsert puts a feature's entries into the admin menu (from its init)
// next to the entry whose key is key: before it, or after it; at the end
// when there is no such entry.
func navInsert(key string, after bool, items ...navItem) {
	i := slices.IndexFunc(adminNav, func(n navItem) bool { return n.Key == key })
	switch {
	case i < 0:
		i = len(adminNav)
	case after:
		i++
	}
	adminNav = slices.Insert(adminNav, i, items...)
}

// memberNav is the member pages' navigation (member*.go appends).
var memberNav []navItem

// page is what every template executes with.
type page struct {
	Lang    string
	Session *Session
	CSRF    string
	// Path is the request's path and query (the language switch comes
	// back to it).
	Path  string
	Flash string
	// Query is the admin search box's current text.
	Query string
	Nav   []navItem
	Data  any
	// Now is the server clock, for "x ago" and dates.
	Now time.Time
}

// T translates a message key in the page's language.
func (p *page) T(key string, args ...any) string { return translate(p.Lang, key, args...) }

// Languages is the switch's choices.
func (p *page) Languages() []string { return languages }

type templates struct {
	pages  map[string]*template.Template
	static map[string]string // file → content hash
}

func parseTemplates() (*templates, error) {
	t := &templates{pages: map[string]*template.Template{}, static: map[string]string{}}
	err := fs.WalkDir(uiFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := uiFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		t.static[strings.TrimPrefix(p, "static/")] = hex.EncodeToString(sum[:6])
		return nil
	})
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{
		"static": func(name string) (string, error) {
			h, ok := t.static[name]
			if !ok {
				return "", fmt.Errorf("no static file %q", name)
			}
			return "/static/" + name + "?v=" + h, nil
		},
		"fmtTime":  fmtTimeUI,
		"fmtBytes": fmtBytes,
		"join":     strings.Join,
		"deref":    func(p *int64) int64 { return derefID(p) },
		"dict":     dict,
	}
	base := template.New("layout.html").Funcs(funcs)
	partials, err := fs.Glob(uiFS, "templates/_*.html")
	if err != nil {
		return nil, err
	}
	if base, err = base.ParseFS(uiFS, append([]string{"templates/layout.html"}, partials...)...); err != nil {
		return nil, err
	}
	files, err := fs.Glob(uiFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		name := path.Base(f)
		if name == "layout.html" || strings.HasPrefix(name, "_") {
			continue
		}
		pt, err := template.Must(base.Clone()).ParseFS(uiFS, f)
		if err != nil {
			return nil, err
		}
		t.pages[name] = pt
	}
	return t, nil
}

func derefID(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// dict builds a map in a template: {{template "field" dict "F" $f "P" $}}.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

func fmtTimeUI(v any) string {
	switch t := v.(type) {
	case time.Time:
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	case *time.Time:
		if t == nil || t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	}
	return fmt.Sprint(v)
}

func fmtBytes(v any) string {
	var n float64
	switch x := v.(type) {
	case uint64:
		n = float64(x)
	case int64:
		n = float64(x)
	case int:
		n = float64(x)
	default:
		return fmt.Sprint(v)
	}
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	i := 0
	for n >= 1000 && i < len(units)-1 {
		n /= 1000
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f %s", n, units[i])
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}

// render answers 200 with a page; see the package comment above.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, data any) {
	s.renderStatus(w, r, http.StatusOK, name, data)
}

// renderStatus answers a page with status.
func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	t, ok := s.tmpl.pages[name]
	if !ok {
		s.opt.Logger.Error("no such page template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	sess := sessionFrom(r)
	p := &page{Lang: s.lang(r), Session: sess, CSRF: s.csrfToken(w, r), Path: r.URL.RequestURI(),
		Flash: s.takeFlash(w, r), Data: data, Now: s.now()}
	switch {
	case sess.IsAdmin():
		p.Query = r.URL.Query().Get("q")
		for _, n := range adminNav {
			if !n.Writer || sess.CanWrite() {
				p.Nav = append(p.Nav, n)
			}
		}
	case sess.IsMember():
		p.Nav = memberNav
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		s.opt.Logger.Error("render page", "name", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type errorPage struct {
	Status  int
	Message string // message key
	Detail  string
}

// renderError answers an error page whose message is a catalog key.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, key string) {
	s.renderStatus(w, r, status, "error.html", errorPage{Status: status, Message: key})
}

// renderFailure answers a page for a registry error: not found, conflict,
// or an internal error logged without detail for the browser.
func (s *Server) renderFailure(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case isNotFound(err):
		s.renderStatus(w, r, http.StatusNotFound, "error.html", errorPage{Status: 404, Message: "error.notfound", Detail: err.Error()})
	case isConflict(err):
		s.renderStatus(w, r, http.StatusConflict, "error.html", errorPage{Status: 409, Message: "error.conflict", Detail: plain(err)})
	default:
		s.opt.Logger.Error("page failed", "method", r.Method, "path", r.URL.Path, "err", err)
		s.renderError(w, r, http.StatusInternalServerError, "error.internal")
	}
}

func (s *Server) web() config.Web {
	if s.opt.Web == nil {
		return config.Web{SessionLifetime: config.Duration{Duration: 12 * time.Hour}, IdleTimeout: config.Duration{Duration: time.Hour}}
	}
	return *s.opt.Web
}

// uiSetup parses the templates and registers the browser routes.
func (s *Server) uiSetup() {
	t, err := parseTemplates()
	if err != nil {
		// The templates are embedded: a parse error is a build defect,
		// which every test run catches.
		panic(fmt.Sprintf("web: templates: %v", err))
	}
	s.tmpl = t
	s.cop = http.NewCrossOriginProtection()
	s.proxies = parseNets(s.web().TrustedProxies)
	s.loginLimiter = newLimiter(s.now)
	static, _ := fs.Sub(uiFS, "static")
	files := http.FileServerFS(static)
	s.mux.HandleFunc("GET /static/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		}
		http.StripPrefix("/static/", files).ServeHTTP(w, r)
	})
	s.mux.HandleFunc("GET /lang/{lang}", s.setLang)
	s.mux.HandleFunc("GET /{$}", s.ui(s.home))
	for _, add := range uiRoutes {
		add(s)
	}
}

// home sends a browser where it belongs.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	switch sess := sessionFrom(r); {
	case sess.IsAdmin():
		http.Redirect(w, r, "/admin/", http.StatusSeeOther)
	case sess.IsMember():
		http.Redirect(w, r, "/member/", http.StatusSeeOther)
	default:
		http.Redirect(w, r, adminLoginPath, http.StatusSeeOther)
	}
}

// The guards the member pages (member*.go) use; named here so that they
// count as used before those pages land.
var _ = []any{(*Server).requireMember, (*Server).requireWriter}
