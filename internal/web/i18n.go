package web

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// languages the interface speaks; the first is the fallback.
var languages = []string{"en", "fr"}

// catalogs maps language → message key → text (fmt verbs allowed).
var catalogs = map[string]map[string]string{}

// addMessages adds messages to a language's catalog; each page file's
// init calls it for its own keys (see i18n_admin.go). A key defined twice
// is a programming error.
func addMessages(lang string, msgs map[string]string) {
	c := catalogs[lang]
	if c == nil {
		c = map[string]string{}
		catalogs[lang] = c
	}
	for k, v := range msgs {
		if _, dup := c[k]; dup {
			panic("web: message " + lang + ":" + k + " defined twice")
		}
		c[k] = v
	}
}

// translate looks key up in lang, then English; a missing key shows
// itself, which the catalog test catches.
func translate(lang, key string, args ...any) string {
	msg, ok := catalogs[lang][key]
	if !ok {
		if msg, ok = catalogs[languages[0]][key]; !ok {
			msg = key
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(msg, args...)
	}
	return msg
}

// lang picks the language: the switch's cookie, else Accept-Language.
func (s *Server) lang(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil && supported(c.Value) {
		return c.Value
	}
	return negotiate(r.Header.Get("Accept-Language"))
}

func supported(l string) bool {
	for _, x := range languages {
		if x == l {
			return true
		}
	}
	return false
}

// negotiate picks the best supported language of an Accept-Language
// header ("fr-BE,fr;q=0.9,en;q=0.8"), by quality then order.
func negotiate(header string) string {
	type choice struct {
		lang string
		q    float64
		pos  int
	}
	var cs []choice
	for i, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if q > 0 && supported(base) {
			cs = append(cs, choice{base, q, i})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].q > cs[j].q })
	if len(cs) > 0 {
		return cs[0].lang
	}
	return languages[0]
}

// setLang is the language switch: GET /lang/{lang}?next=/path. Choosing
// a language changes nothing but a cookie, so a link (no form) will do.
func (s *Server) setLang(w http.ResponseWriter, r *http.Request) {
	l := r.PathValue("lang")
	if !supported(l) {
		http.NotFound(w, r)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", HttpOnly: true, Secure: s.secure(r),
		SameSite: http.SameSiteLaxMode, MaxAge: 365 * 24 * 3600})
	http.Redirect(w, r, localPath(r.URL.Query().Get("next"), "/"), http.StatusSeeOther)
}
