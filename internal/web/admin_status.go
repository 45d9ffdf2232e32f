package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"maillon/internal/registry"
)

// Admin pages of the status page's incidents and planned maintenance,
// over Options.Status (the same calls as the API's /api/v1/incidents and
// /api/v1/maintenance): opening, updating and resolving an incident, and
// planning or cancelling maintenance, email the affected members.
func init() {
	uiRoutes = append(uiRoutes, (*Server).statusUIRoutes)
	navInsert("nav.certificates", false, navItem{Key: "nav.incidents", Path: "/admin/incidents"}, navItem{Key: "nav.maintenance", Path: "/admin/maintenance"})
}

func (s *Server) statusUIRoutes() {
	if s.opt.Status == nil {
		return
	}
	s.mux.HandleFunc("GET /admin/incidents", s.requireAdmin(s.adminIncidents))
	s.mux.HandleFunc("POST /admin/incidents", s.requireWriter(s.adminOpenIncident))
	s.mux.HandleFunc("GET /admin/incidents/{id}", s.requireAdmin(s.adminIncident))
	s.mux.HandleFunc("POST /admin/incidents/{id}/updates", s.requireWriter(s.adminUpdateIncident))
	s.mux.HandleFunc("GET /admin/maintenance", s.requireAdmin(s.adminMaintenance))
	s.mux.HandleFunc("POST /admin/maintenance", s.requireWriter(s.adminPlanMaintenance))
	s.mux.HandleFunc("POST /admin/maintenance/{id}/cancel", s.requireWriter(s.adminCancelMaintenance))
}

var (
	impacts        = []string{string(registry.ImpactDegraded), string(registry.ImpactPartial), string(registry.ImpactMajor)}
	incidentStates = []string{string(registry.IncidentInvestigating), string(registry.IncidentIdentified), string(registry.IncidentMonitoring), string(registry.IncidentResolved)}
)

type componentChoice struct {
	ID      int64
	Name    string
	Checked bool
}

type incidentsData struct {
	Incidents  []registry.Incident
	Names      map[int64]string
	Components []componentChoice
	Impacts    []string
	CanWrite   bool
	Errors     []fieldError
	Form       map[string]string
}

type incidentData struct {
	Incident registry.Incident
	Names    map[int64]string
	States   []string
	CanWrite bool
	Errors   []fieldError
	Message  string
}

type maintenanceData struct {
	Items      []maintenanceRow
	Names      map[int64]string
	Components []componentChoice
	CanWrite   bool
	Errors     []fieldError
	Form       map[string]string
}

type maintenanceRow struct {
	registry.Maintenance
	Phase string
}

// components lists the status page's components, ticked as in checked.
func (s *Server) components(r *http.Request, checked []string) ([]componentChoice, map[int64]string, error) {
	var cs []registry.Component
	err := s.opt.Registry.Read(r.Context(), func(rd registry.Reader) error {
		var err error
		cs, err = rd.ListComponents(r.Context())
		return err
	})
	names := map[int64]string{}
	out := make([]componentChoice, 0, len(cs))
	for _, c := range cs {
		names[c.ID] = c.Name
		out = append(out, componentChoice{ID: c.ID, Name: c.Name, Checked: slices.Contains(checked, strconv.FormatInt(c.ID, 10))})
	}
	return out, names, err
}

func formIDs(values []string) []int64 {
	var ids []int64
	for _, v := range values {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	return ids
}

func (s *Server) adminIncidents(w http.ResponseWriter, r *http.Request) {
	s.incidentsPage(w, r, http.StatusOK, nil)
}

func (s *Server) incidentsPage(w http.ResponseWriter, r *http.Request, status int, errs []fieldError) {
	d := incidentsData{Impacts: impacts, CanWrite: sessionFrom(r).CanWrite(), Errors: errs, Form: map[string]string{}}
	var err error
	if d.Components, d.Names, err = s.components(r, r.PostForm["components"]); err != nil {
		s.renderFailure(w, r, err)
		return
	}
	for _, k := range []string{"title", "impact", "message"} {
		d.Form[k] = r.PostFormValue(k)
	}
	err = s.opt.Registry.Read(r.Context(), func(rd registry.Reader) error {
		d.Incidents, err = rd.ListIncidents(r.Context(), s.now().AddDate(0, 0, -90))
		return err
	})
	if err != nil {
		s.renderFailure(w, r, err)
		return
	}
	s.renderStatus(w, r, status, "admin_incidents.html", d)
}

// statusErrors places a registry error for the status forms.
func statusErrors(lang string, err error) []fieldError {
	var ve *registry.ValidationError
	if errors.As(err, &ve) {
		return []fieldError{{Field: ve.Field, Label: label(lang, ve.Field), Message: ve.Message}}
	}
	return []fieldError{{Message: plain(err)}}
}

func (s *Server) adminOpenIncident(w http.ResponseWriter, r *http.Request) {
	title, impact := strings.TrimSpace(r.PostFormValue("title")), registry.Impact(r.PostFormValue("impact"))
	ids := formIDs(r.PostForm["components"])
	in := registry.IncidentInput{Title: &title, Impact: &impact, Components: &ids, Message: strings.TrimSpace(r.PostFormValue("message"))}
	inc, err := s.opt.Status.OpenIncident(r.Context(), sessionFrom(r).Actor(), in)
	if err != nil {
		if !errors.Is(err, registry.ErrInvalid) && !isConflict(err) {
			s.renderFailure(w, r, err)
			return
		}
		s.incidentsPage(w, r, http.StatusUnprocessableEntity, statusErrors(s.lang(r), err))
		return
	}
	s.setFlash(w, r, "form.created")
	http.Redirect(w, r, "/admin/incidents/"+strconv.FormatInt(inc.ID, 10), http.StatusSeeOther)
}

func (s *Server) adminIncident(w http.ResponseWriter, r *http.Request) {
	s.incidentPage(w, r, http.StatusOK, nil)
}

func (s *Server) incidentPage(w http.ResponseWriter, r *http.Request, status int, errs []fieldError) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	d := incidentData{States: incidentStates, CanWrite: sessionFrom(r).CanWrite(), Errors: errs, Message: r.PostFormValue("message")}
	var err error
	if _, d.Names, err = s.components(r, nil); err != nil {
		s.renderFailure(w, r, err)
		return
	}
	err = s.opt.Registry.Read(r.Context(), func(rd registry.Reader) error {
		d.Incident, err = rd.GetIncident(r.Context(), id)
		return err
	})
	if err != nil {
		s.renderFailure(w, r, err)
		return
	}
	s.renderStatus(w, r, status, "admin_incident.html", d)
}

func (s *Server) adminUpdateIncident(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	in := registry.IncidentInput{Message: strings.TrimSpace(r.PostFormValue("message"))}
	if st := registry.IncidentState(r.PostFormValue("state")); st != "" {
		in.State = &st
	}
	if _, err := s.opt.Status.UpdateIncident(r.Context(), sessionFrom(r).Actor(), id, in); err != nil {
		if !errors.Is(err, registry.ErrInvalid) && !isConflict(err) {
			s.renderFailure(w, r, err)
			return
		}
		s.incidentPage(w, r, http.StatusUnprocessableEntity, statusErrors(s.lang(r), err))
		return
	}
	s.setFlash(w, r, "form.saved")
	http.Redirect(w, r, "/admin/incidents/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

func (s *Server) adminMaintenance(w http.ResponseWriter, r *http.Request) {
	s.maintenancePage(w, r, http.StatusOK, nil)
}

func (s *Server) maintenancePage(w http.ResponseWriter, r *http.Request, status int, errs []fieldError) {
	d := maintenanceData{CanWrite: sessionFrom(r).CanWrite(), Errors: errs, Form: map[string]string{}}
	var err error
	if d.Components, d.Names, err = s.components(r, r.PostForm["components"]); err != nil {
		s.renderFailure(w, r, err)
		return
	}
	for _, k := range []string{"title", "description", "starts_at", "ends_at"} {
		d.Form[k] = r.PostFormValue(k)
	}
	now := s.now()
	var items []registry.Maintenance
	err = s.opt.Registry.Read(r.Context(), func(rd registry.Reader) error {
		items, err = rd.ListMaintenance(r.Context(), now.AddDate(0, 0, -30))
		return err
	})
	if err != nil {
		s.renderFailure(w, r, err)
		return
	}
	for _, m := range items {
		d.Items = append(d.Items, maintenanceRow{Maintenance: m, Phase: m.Phase(now)})
	}
	s.renderStatus(w, r, status, "admin_maintenance.html", d)
}

// dateTimeLayout is what <input type="datetime-local"> sends; the times
// are UTC, as the page says.
const dateTimeLayout = "2006-01-02T15:04"

func (s *Server) adminPlanMaintenance(w http.ResponseWriter, r *http.Request) {
	lang := s.lang(r)
	var errs []fieldError
	at := func(key string) time.Time {
		v := strings.TrimSpace(r.PostFormValue(key))
		t, err := time.Parse(dateTimeLayout, v)
		if err != nil {
			if t, err = time.Parse(time.RFC3339, v); err != nil {
				errs = append(errs, fieldError{Field: key, Label: label(lang, key), Message: "“" + v + "” is not a date and time (YYYY-MM-DDTHH:MM, UTC)"})
			}
		}
		return t.UTC()
	}
	in := registry.MaintenanceInput{Title: strings.TrimSpace(r.PostFormValue("title")), Description: strings.TrimSpace(r.PostFormValue("description")),
		Components: formIDs(r.PostForm["components"]), StartsAt: at("starts_at"), EndsAt: at("ends_at")}
	if len(errs) == 0 {
		m, err := s.opt.Status.PlanMaintenance(r.Context(), sessionFrom(r).Actor(), in)
		if err == nil {
			s.setFlash(w, r, "form.created")
			http.Redirect(w, r, "/admin/maintenance#m"+strconv.FormatInt(m.ID, 10), http.StatusSeeOther)
			return
		}
		if !errors.Is(err, registry.ErrInvalid) && !isConflict(err) {
			s.renderFailure(w, r, err)
			return
		}
		errs = statusErrors(lang, err)
	}
	s.maintenancePage(w, r, http.StatusUnprocessableEntity, errs)
}

func (s *Server) adminCancelMaintenance(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if _, err := s.opt.Status.CancelMaintenance(r.Context(), sessionFrom(r).Actor(), id); err != nil {
		s.renderFailure(w, r, err)
		return
	}
	s.setFlash(w, r, "form.saved")
	http.Redirect(w, r, "/admin/maintenance", http.StatusSeeOther)
}
