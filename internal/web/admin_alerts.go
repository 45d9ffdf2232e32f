package web

import (
	"net/http"
	"slices"
	"strconv"

	"maillon/internal/registry"
)

func init() {
	uiRoutes = append(uiRoutes, (*Server).alertsUIRoutes)
	// First after home: what is broken now is what an admin opens first.
	navInsert("nav.home", true, navItem{Key: "nav.alerts", Path: "/admin/alerts"})
}

func (s *Server) alertsUIRoutes() {
	if s.opt.Monitor == nil {
		return
	}
	s.mux.HandleFunc("GET /admin/alerts", s.requireAdmin(s.adminAlerts))
	s.mux.HandleFunc("POST /admin/alerts/{id}/ack", s.requireWriter(s.adminAlertAck))
}

// checkRow is a check with the monitor's view of it.
type checkRow struct {
	registry.Check
	Now registry.CheckState
}

type alertsData struct {
	Firing   []registry.Alert
	Resolved []registry.Alert
	Checks   []checkRow
	CanAck   bool
}

// resolvedShown is how many resolved alerts the page recalls.
const resolvedShown = 20

// adminAlerts shows firing alerts first (with the acknowledge button),
// then every check's state, then the last resolved alerts.
func (s *Server) adminAlerts(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d := alertsData{CanAck: sessionFrom(r).CanWrite()}
	err := s.opt.Registry.Read(ctx, func(rd registry.Reader) error {
		var err error
		if d.Firing, err = rd.ListAlerts(ctx, registry.AlertFilter{State: registry.AlertFiring}); err != nil {
			return err
		}
		if d.Resolved, err = rd.ListAlerts(ctx, registry.AlertFilter{State: registry.AlertResolved, Limit: resolvedShown}); err != nil {
			return err
		}
		checks, err := rd.ListChecks(ctx)
		for _, c := range checks {
			row := checkRow{Check: c}
			if st, ok := s.opt.Monitor.StateOf(c.ID); ok {
				row.Now = st
			}
			d.Checks = append(d.Checks, row)
		}
		return err
	})
	if err != nil {
		s.renderFailure(w, r, err)
		return
	}
	// Problems first, so that a long list does not hide them.
	slices.SortStableFunc(d.Checks, func(a, b checkRow) int { return stateRank(a.Now.State) - stateRank(b.Now.State) })
	s.render(w, r, "admin_alerts.html", d)
}

func stateRank(state string) int {
	switch state {
	case "down":
		return 0
	case "unreachable":
		return 1
	case "unknown", "":
		return 2
	}
	return 3
}

// adminAlertAck acknowledges an alert as the logged-in admin; the monitor
// tells those who were alerted and stops escalating.
func (s *Server) adminAlertAck(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if _, err := s.opt.Monitor.Ack(r.Context(), sessionFrom(r).Actor(), id); err != nil {
		s.renderFailure(w, r, err)
		return
	}
	s.setFlash(w, r, "alerts.acked")
	http.Redirect(w, r, "/admin/alerts#a"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}
