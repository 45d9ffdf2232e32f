package web

import (
	"errors"
	"net/http"

	"maillon/internal/registry"
)

func init() {
	uiRoutes = append(uiRoutes, (*Server).rosterUIRoutes)
	// After the certificates, which a roster removal revokes.
	navInsert("nav.certificates", true, navItem{Key: "nav.roster", Path: "/admin/roster"})
}

func (s *Server) rosterUIRoutes() {
	s.mux.HandleFunc("GET /admin/roster", s.requireAdmin(s.adminRoster))
	s.mux.HandleFunc("POST /admin/roster/answer", s.requireWriter(s.adminRosterAnswer))
	s.mux.HandleFunc("POST /admin/roster/start", s.requireWriter(s.adminRosterStart))
}

type rosterData struct {
	Campaign *registry.RosterCampaign
	// Mine is the viewer's own pending request, which they may answer.
	Mine      *registry.RosterRequest
	MineRoles string
	CanStart  bool
	Off       bool
}

// adminRoster shows the latest campaign: who was asked, who answered,
// deadlines; the viewer answers their own question here too.
func (s *Server) adminRoster(w http.ResponseWriter, r *http.Request) {
	sess := sessionFrom(r)
	d := rosterData{Off: s.opt.Roster == nil}
	if s.opt.Roster != nil {
		camp, err := s.opt.Roster.Status(r.Context())
		switch {
		case errors.Is(err, registry.ErrNotFound):
		case err != nil:
			s.renderFailure(w, r, err)
			return
		default:
			d.Campaign = &camp
			for i, req := range camp.Requests {
				if req.AdminID == sess.SubjectID && req.State == registry.RosterPending && camp.State == registry.CampaignOpen {
					d.Mine = &camp.Requests[i]
					for j, role := range req.Roles {
						if j > 0 {
							d.MineRoles += ", "
						}
						d.MineRoles += string(role)
					}
				}
			}
		}
		d.CanStart = sess.FullAdmin() && (d.Campaign == nil || d.Campaign.State != registry.CampaignOpen)
	}
	s.render(w, r, "admin_roster.html", d)
}

func (s *Server) adminRosterAnswer(w http.ResponseWriter, r *http.Request) {
	if s.opt.Roster == nil {
		s.renderError(w, r, http.StatusNotFound, "roster.off")
		return
	}
	keep, err := parseAnswer(r.PostFormValue("answer"))
	if err != nil {
		s.renderError(w, r, http.StatusBadRequest, "roster.badanswer")
		return
	}
	sess := sessionFrom(r)
	if _, err := s.opt.Roster.Answer(r.Context(), sess.Actor(), sess.SubjectID, keep); err != nil {
		s.renderFailure(w, r, err)
		return
	}
	if keep {
		s.setFlash(w, r, "roster.flash_kept")
	} else {
		s.setFlash(w, r, "roster.flash_steppeddown")
	}
	http.Redirect(w, r, "/admin/roster", http.StatusSeeOther)
}

func (s *Server) adminRosterStart(w http.ResponseWriter, r *http.Request) {
	if s.opt.Roster == nil {
		s.renderError(w, r, http.StatusNotFound, "roster.off")
		return
	}
	sess := sessionFrom(r)
	if !sess.FullAdmin() {
		s.renderError(w, r, http.StatusForbidden, "roster.admins_only")
		return
	}
	if _, err := s.opt.Roster.Start(r.Context(), sess.Actor()); err != nil {
		if errors.Is(err, registry.ErrInvalid) {
			s.renderStatus(w, r, http.StatusBadRequest, "error.html", errorPage{Status: 400, Message: "roster.cannot_start", Detail: err.Error()})
			return
		}
		s.renderFailure(w, r, err)
		return
	}
	s.setFlash(w, r, "roster.flash_started")
	http.Redirect(w, r, "/admin/roster", http.StatusSeeOther)
}
