package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"reflect"
	"time"

	"maillon/internal/registry"
)

// Roster is what the web layer asks of the roster renewal.
type Roster interface {
	// Status is the latest campaign with its requests.
	Status(ctx context.Context) (registry.RosterCampaign, error)
	Start(ctx context.Context, a registry.Actor) (registry.RosterCampaign, error)
	Answer(ctx context.Context, a registry.Actor, adminID int64, keep bool) (registry.RosterRequest, error)
	// Lookup reads what a link's token answers, without answering.
	Lookup(ctx context.Context, token string) (registry.RosterRequest, error)
	AnswerToken(ctx context.Context, token string, keep bool) (registry.RosterRequest, error)
}

type rosterAnswer struct {
	// Admin is an id, name or email; empty means the caller.
	Admin string `json:"admin,omitempty"`
	// Answer is "keep" or "step-down".
	Answer string `json:"answer"`
}

func parseAnswer(s string) (keep bool, err error) {
	switch s {
	case "keep":
		return true, nil
	case "step-down":
		return false, nil
	}
	return false, &registry.ValidationError{Field: "answer", Message: fmt.Sprintf("%q is neither keep nor step-down", s)}
}

func (s *Server) rosterRoutes() {
	ro := s.opt.Roster
	if ro == nil {
		return
	}
	findAdmin := findIn(s, "admin", registry.Reader.GetAdmin, registry.Reader.ListAdmins, func(a *registry.Admin, ref string) bool {
		return sameName(a.Name, ref) || sameName(a.Email, ref)
	})
	campaignType := reflect.TypeOf(registry.RosterCampaign{})
	s.handle("GET /api/v1/roster", "The latest roster renewal campaign: who was asked, who answered, deadlines",
		nil, campaignType, nil, func(w http.ResponseWriter, r *http.Request) {
			c, err := ro.Status(r.Context())
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, c)
		})
	s.handle("POST /api/v1/roster/campaigns", "Start a roster renewal campaign now (the mails go out within a minute)",
		nil, campaignType, nil, func(w http.ResponseWriter, r *http.Request) {
			if !callerOf(r).isAdmin() {
				s.fail(w, r, fmt.Errorf("only admins may start a roster campaign: %w", errForbidden))
				return
			}
			c, err := ro.Start(r.Context(), callerOf(r).actor)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusCreated, c)
		})
	s.handle("POST /api/v1/roster/answer", "Keep your title or step down in the open campaign (an admin may answer for another)",
		reflect.TypeOf(rosterAnswer{}), reflect.TypeOf(registry.RosterRequest{}), nil, func(w http.ResponseWriter, r *http.Request) {
			var req rosterAnswer
			if err := decode(r, &req); err != nil {
				s.fail(w, r, err)
				return
			}
			keep, err := parseAnswer(req.Answer)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			c := callerOf(r)
			var admin registry.Admin
			switch {
			case req.Admin != "":
				if admin, err = findAdmin(r.Context(), req.Admin); err != nil {
					s.fail(w, r, &registry.ValidationError{Field: "admin", Message: err.Error()})
					return
				}
				if (c.admin == nil || c.admin.ID != admin.ID) && !c.isAdmin() {
					s.fail(w, r, fmt.Errorf("only admins may answer for someone else: %w", errForbidden))
					return
				}
			case c.admin != nil:
				admin = *c.admin
			default:
				s.fail(w, r, &registry.ValidationError{Field: "admin", Message: "say whose answer this is (--admin): the admin socket has no admin of its own"})
				return
			}
			out, err := ro.Answer(r.Context(), c.actor, admin.ID, keep)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, out)
		})

	// The page behind the mailed link: no login, the token is the proof.
	// GET only shows the question (mail clients and scanners fetch links
	// on their own); the answer is a POST.
	s.mux.HandleFunc("GET /roster/confirm/{token}", func(w http.ResponseWriter, r *http.Request) {
		req, err := ro.Lookup(r.Context(), r.PathValue("token"))
		s.rosterPage(w, r, req, "", err)
	})
	s.mux.HandleFunc("POST /roster/confirm/{token}", func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		keep, err := parseAnswer(r.PostFormValue("answer"))
		if err != nil {
			s.rosterPage(w, r, registry.RosterRequest{}, "", err)
			return
		}
		req, err := ro.AnswerToken(r.Context(), r.PathValue("token"), keep)
		s.rosterPage(w, r, req, req.State, err)
	})
}

var rosterTmpl = template.Must(template.New("roster").Funcs(template.FuncMap{
	"day": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>maillon: roster renewal</title>
<style>body{font-family:system-ui,sans-serif;max-width:36em;margin:3em auto;padding:0 1em;line-height:1.5}
button{font-size:1em;padding:.5em 1em;margin-right:1em}.err{color:#a00}</style></head><body>
<h1>Roster renewal</h1>
{{if .Error}}<p class="err">{{.Error}}</p>
{{else if eq .Done "kept"}}<p>Thank you, {{.Req.AdminName}}: you keep your title ({{.Roles}}).</p>
{{else if eq .Done "stepped-down"}}<p>{{.Req.AdminName}}, you stepped down: the title {{.Roles}} was removed{{if .Req.Revoked}} and your SSH certificates were revoked{{end}}. The other admins will be told. Thank you for your work.</p>
{{else}}<p>{{.Req.AdminName}}, do you keep your title ({{.Roles}})?</p>
<p>Answer by {{day .Req.ExpiresAt}}. Without an answer, the title is removed and your SSH certificates are revoked.</p>
<form method="post"><button name="answer" value="keep">I keep my title</button>
<button name="answer" value="step-down">I step down</button></form>
{{end}}</body></html>
`))

// rosterPage answers the link's page; done is the state just set by a POST.
func (s *Server) rosterPage(w http.ResponseWriter, r *http.Request, req registry.RosterRequest, done string, err error) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The token is in the URL: no caching, no referrer, no framing.
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	data := struct {
		Req   registry.RosterRequest
		Roles string
		Done  string
		Error string
	}{Req: req, Done: done}
	for i, role := range req.Roles {
		if i > 0 {
			data.Roles += ", "
		}
		data.Roles += string(role)
	}
	code := http.StatusOK
	var ve *registry.ValidationError
	switch {
	case err == nil:
	case errors.As(err, &ve):
		code, data.Error = http.StatusBadRequest, ve.Error()
	case errors.Is(err, registry.ErrRosterLink), errors.Is(err, registry.ErrNotFound):
		code, data.Error = http.StatusNotFound, "This link is unknown, was already used, or its deadline has passed."
	case errors.Is(err, registry.ErrConflict):
		code, data.Error = http.StatusConflict, plain(err)
	default:
		s.opt.Logger.Error("roster page failed", "method", r.Method, "err", err)
		code, data.Error = http.StatusInternalServerError, "Something went wrong on our side; try again later."
	}
	w.WriteHeader(code)
	if err := rosterTmpl.Execute(w, data); err != nil {
		s.opt.Logger.Warn("roster page", "err", err)
	}
}
