package status

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"maillon/internal/registry"
)

//go:embed templates
var templateFS embed.FS

var pageTemplate = func() *template.Template {
	css, err := templateFS.ReadFile("templates/style.css")
	if err != nil {
		panic(err)
	}
	return template.Must(template.New("").Funcs(template.FuncMap{
		// The stylesheet is ours, embedded: inline it, one request less.
		"css":  func() template.CSS { return template.CSS(css) },
		"join": func(s []string) string { return strings.Join(s, ", ") },
		"pair": func(l lang, v any) struct {
			L lang
			V any
		} {
			return struct {
				L lang
				V any
			}{l, v}
		},
		"stateOf": func(l lang, s State) struct {
			L     lang
			State State
		} {
			return struct {
				L     lang
				State State
			}{l, s}
		},
	}).ParseFS(templateFS, "templates/page.html"))
}()

type formView struct {
	Heading, Message, Intro string
	Action                  string
	Hidden                  map[string]string
	AskEmail                bool
	Choices                 []choiceView
	Submit                  string
}

type choiceView struct {
	Value, Label string
	Checked      bool
}

// pageCache keeps rendered pages while the daemon runs. A registry change
// or age (cacheFor of the registry's clock: monitoring states and "in
// progress" labels move by themselves) makes an entry stale: it is then
// rendered again in the background while requests keep getting the
// previous body, so no request waits for a rendering except the very
// first of each page.
type pageCache struct {
	mu      sync.Mutex
	on      bool
	entries map[string]*cached
}

type cached struct {
	body       []byte
	at         time.Time
	stale      bool
	refreshing bool
	make       func(context.Context) ([]byte, error)
}

const cacheFor = 10 * time.Second

// get returns the body to serve, and whether the caller must render it
// (nothing cached). refresh is called, outside the lock, when a stale
// entry needs rendering again.
func (c *pageCache) get(key string, now time.Time, refresh func(*cached)) ([]byte, bool) {
	c.mu.Lock()
	e, ok := c.entries[key]
	if !c.on || !ok {
		c.mu.Unlock()
		return nil, false
	}
	body := e.body
	due := e.stale || now.Sub(e.at) >= cacheFor || now.Before(e.at)
	start := due && !e.refreshing
	if start {
		e.refreshing = true
	}
	c.mu.Unlock()
	if start {
		refresh(e)
	}
	return body, true
}

func (c *pageCache) put(key string, now time.Time, body []byte, make func(context.Context) ([]byte, error)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.on {
		return
	}
	if c.entries == nil {
		c.entries = map[string]*cached{}
	}
	c.entries[key] = &cached{body: body, at: now, make: make}
}

// invalidate marks every entry stale and returns them, for the caller to
// render again at once.
func (c *pageCache) invalidate() []*cached {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*cached
	for _, e := range c.entries {
		e.stale = true
		if !e.refreshing {
			e.refreshing = true
			out = append(out, e)
		}
	}
	return out
}

func (c *pageCache) enable(on bool) {
	c.mu.Lock()
	c.on, c.entries = on, nil
	c.mu.Unlock()
}

// refresh renders an entry again in the background.
func (s *Service) refresh(e *cached) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		now := s.reg.Now()
		body, err := e.make(ctx)
		s.cache.mu.Lock()
		defer s.cache.mu.Unlock()
		e.refreshing = false
		if err != nil {
			s.log.Warn("status page: rendering again failed; serving the previous one", "err", err)
			return
		}
		e.body, e.at, e.stale = body, now, false
	}()
}

// rendered serves a body from the cache or makes it.
func (s *Service) rendered(w http.ResponseWriter, r *http.Request, key, contentType string, make func(context.Context) ([]byte, error)) {
	now := s.reg.Now()
	body, ok := s.cache.get(key, now, s.refresh)
	if !ok {
		var err error
		if body, err = make(r.Context()); err != nil {
			s.log.Error("status page", "path", r.URL.Path, "err", err)
			http.Error(w, "the status page is unavailable; try again in a minute", http.StatusServiceUnavailable)
			return
		}
		s.cache.put(key, now, body, make)
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Vary", "Accept-Language")
	h.Set("Cache-Control", "public, max-age=10")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body)
}

func (s *Service) renderView(v *pageView) ([]byte, error) {
	var buf bytes.Buffer
	if err := pageTemplate.ExecuteTemplate(&buf, "page", v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Render returns the status page in a language ("fr" or "en").
func (s *Service) Render(ctx context.Context, language string) ([]byte, error) {
	l, _ := parseLang(language)
	snap, err := s.snapshot(ctx, false)
	if err != nil {
		return nil, err
	}
	return s.renderView(s.view(snap, l))
}

func (s *Service) defaultLang() lang {
	l, _ := parseLang(s.opt.Language)
	return l
}

func (s *Service) servePage(w http.ResponseWriter, r *http.Request) {
	l := requestLang(r, s.defaultLang())
	s.rendered(w, r, "page:"+l.Code(), "text/html; charset=utf-8", func(ctx context.Context) ([]byte, error) {
		return s.Render(ctx, l.Code())
	})
}

func (s *Service) serveIncident(w http.ResponseWriter, r *http.Request) {
	l := requestLang(r, s.defaultLang())
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	var (
		inc   registry.Incident
		names = map[int64]string{}
	)
	err = s.reg.Read(r.Context(), func(rd registry.Reader) error {
		var err error
		if inc, err = rd.GetIncident(r.Context(), id); err != nil {
			return err
		}
		cs, err := rd.ListComponents(r.Context())
		for _, c := range cs {
			names[c.ID] = c.Name
		}
		return err
	})
	if err != nil {
		s.fail(w, r, l, err)
		return
	}
	v := s.baseView(l)
	iv := s.incidentView(inc, l, names)
	v.Detail = &iv
	s.writeView(w, v, http.StatusOK)
}

// baseView is a page without content, for the forms and the incident page.
func (s *Service) baseView(l lang) *pageView {
	return &pageView{L: l, Title: s.opt.Title, Base: "/status", Generated: l.Time(s.reg.Now().In(s.opt.Location)), Zone: s.opt.Location.String()}
}

func (s *Service) writeView(w http.ResponseWriter, v *pageView, code int) {
	body, err := s.renderView(v)
	if err != nil {
		s.log.Error("status page", "err", err)
		http.Error(w, "the status page is unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(body)
}

// fail answers an error as a page: not found, refused input, or ours.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, l lang, err error) {
	code, msg := http.StatusInternalServerError, "internal error"
	switch {
	case isNotFound(err):
		code, msg = http.StatusNotFound, l.T("bad.link")
	case isInvalid(err):
		code, msg = http.StatusBadRequest, err.Error()
	default:
		s.log.Error("status", "path", r.URL.Path, "err", err)
	}
	v := s.baseView(l)
	v.Form = &formView{Heading: l.T("error.title"), Message: msg}
	s.writeView(w, v, code)
}

// componentJSON is a component as machines read it.
type componentJSON struct {
	ID     int64   `json:"id"`
	Name   string  `json:"name"`
	Group  string  `json:"group,omitempty"`
	State  State   `json:"state"`
	Uptime float64 `json:"uptime_90d"`
}

// serveJSON gives the components' states for scripts and bots (a Matrix
// room's topic, say).
func (s *Service) serveJSON(w http.ResponseWriter, r *http.Request) {
	s.rendered(w, r, "json", "application/json", func(ctx context.Context) ([]byte, error) {
		snap, err := s.snapshot(ctx, false)
		if err != nil {
			return nil, err
		}
		out := struct {
			State      State           `json:"state"`
			Components []componentJSON `json:"components"`
		}{State: Operational, Components: []componentJSON{}}
		for _, c := range snap.components {
			cj := componentJSON{ID: c.ID, Name: c.Name, Group: c.Group, State: snap.componentState(c.ID), Uptime: -1}
			var sum, n float64
			for _, f := range snap.history(c, s.opt.Location) {
				if f >= 0 {
					sum, n = sum+f, n+1
				}
			}
			if n > 0 {
				cj.Uptime = sum / n
			}
			out.State = worst(out.State, cj.State)
			out.Components = append(out.Components, cj)
		}
		return json.Marshal(out)
	})
}
