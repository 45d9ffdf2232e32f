package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"

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
				if admin, err = s.findAdmin(r.Context(), req.Admin); err != nil {
					s.fail(w, r, &registry.ValidationError{Field: "admin", Message: err.Error()})
					return
				}
				if !c.mayActFor(admin.ID) {
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
	// on their own); the answer is a POST (with the page's CSRF token).
	s.mux.HandleFunc("GET /roster/confirm/{token}", s.ui(func(w http.ResponseWriter, r *http.Request) {
		req, err := ro.Lookup(r.Context(), r.PathValue("token"))
		s.rosterPage(w, r, req, "", err)
	}))
	s.mux.HandleFunc("POST /roster/confirm/{token}", s.ui(func(w http.ResponseWriter, r *http.Request) {
		keep, err := parseAnswer(r.PostFormValue("answer"))
		if err != nil {
			s.rosterPage(w, r, registry.RosterRequest{}, "", err)
			return
		}
		req, err := ro.AnswerToken(r.Context(), r.PathValue("token"), keep)
		s.rosterPage(w, r, req, req.State, err)
	}))
}

// rosterPage answers the link's page; done is the state a POST just set.
func (s *Server) rosterPage(w http.ResponseWriter, r *http.Request, req registry.RosterRequest, done string, err error) {
	// The token is in the URL: it goes to nobody, not even this site.
	w.Header().Set("Referrer-Policy", "no-referrer")
	data := struct {
		Req             registry.RosterRequest
		Roles, Deadline string
		Done, Error     string
	}{Req: req, Done: done}
	for i, role := range req.Roles {
		if i > 0 {
			data.Roles += ", "
		}
		data.Roles += string(role)
	}
	if req.ExpiresAt != nil {
		data.Deadline = req.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")
	}
	code := http.StatusOK
	switch {
	case err == nil:
	case errors.Is(err, registry.ErrInvalid):
		code, data.Error = http.StatusBadRequest, "roster.badanswer"
	case errors.Is(err, registry.ErrNotFound), errors.Is(err, registry.ErrConflict):
		code, data.Error = http.StatusNotFound, "roster.badlink"
	default:
		s.opt.Logger.Error("roster page failed", "method", r.Method, "err", err)
		code, data.Error = http.StatusInternalServerError, "error.internal"
	}
	s.renderStatus(w, r, code, "roster_confirm.html", data)
}
