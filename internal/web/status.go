package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"maillon/internal/registry"
)

// StatusAdmin is what the web layer asks of the status page's records:
// components, incidents and maintenance that admins write (the public page
// itself is mounted by app from internal/status).
type StatusAdmin interface {
	CreateComponent(context.Context, registry.Actor, registry.ComponentInput) (registry.Component, error)
	UpdateComponent(context.Context, registry.Actor, int64, registry.ComponentInput) (registry.Component, error)
	DeleteComponent(context.Context, registry.Actor, int64) error
	OpenIncident(context.Context, registry.Actor, registry.IncidentInput) (registry.Incident, error)
	UpdateIncident(context.Context, registry.Actor, int64, registry.IncidentInput) (registry.Incident, error)
	PlanMaintenance(context.Context, registry.Actor, registry.MaintenanceInput) (registry.Maintenance, error)
	CancelMaintenance(context.Context, registry.Actor, int64) (registry.Maintenance, error)
	SetMemberLanguage(ctx context.Context, a registry.Actor, memberID int64, language string) error
	// Recipients lists who an incident (or maintenance) on these
	// components would email, and the affected members who opted out.
	Recipients(ctx context.Context, incidents bool, components []int64) ([]registry.Delivery, []registry.OptedOut, error)
}

// recipientsResponse is who a notice would email (items), and the
// affected members it leaves out because they opted out.
type recipientsResponse struct {
	Items    []registry.Delivery `json:"items"`
	OptedOut []registry.OptedOut `json:"opted_out"`
}

type languageRequest struct {
	// Language is fr, en, or empty for the default.
	Language string `json:"language"`
}

func (s *Server) statusRoutes() {
	st := s.opt.Status
	if st == nil {
		return
	}
	register(s, resource[registry.Component, registry.ComponentInput]{
		path: "components", name: "status page component", refHelp: "id or name",
		list: func(ctx context.Context, r registry.Reader, _ url.Values, opt registry.ListOptions) ([]registry.Component, error) {
			cs, err := r.ListComponents(ctx)
			return filter(cs, opt, func(c *registry.Component) string { return c.Name + " " + c.Group }), err
		},
		find: findIn(s, "component", registry.Reader.GetComponent, registry.Reader.ListComponents, func(c *registry.Component, ref string) bool {
			return sameName(c.Name, ref)
		}),
		id: func(c *registry.Component) int64 { return c.ID }, create: st.CreateComponent, update: st.UpdateComponent, delete: st.DeleteComponent,
	})

	incidentType := reflect.TypeOf(registry.Incident{})
	s.handle("GET /api/v1/incidents", "List incidents, newest first: open ones and those started in the last days (default 90)",
		nil, reflect.TypeOf(listResponse[registry.Incident]{}), []string{"days", "state"}, func(w http.ResponseWriter, r *http.Request) {
			days := 90
			if v := r.URL.Query().Get("days"); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n < 0 {
					s.fail(w, r, fmt.Errorf("days=%q is not a number of days: %w", v, errBadRequest))
					return
				}
				days = n
			}
			state := r.URL.Query().Get("state")
			var items []registry.Incident
			err := s.opt.Registry.Read(r.Context(), func(rd registry.Reader) error {
				all, err := rd.ListIncidents(r.Context(), s.opt.Registry.Now().AddDate(0, 0, -days))
				for _, i := range all {
					open := i.ResolvedAt == nil
					if state == "" || (state == "open" && open) || (state == "resolved" && !open) || state == string(i.State) {
						items = append(items, i)
					}
				}
				return err
			})
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, listResponse[registry.Incident]{Items: nonNil(items)})
		})
	s.handle("GET /api/v1/incidents/{id}", "Show an incident and its timeline", nil, incidentType, nil, func(w http.ResponseWriter, r *http.Request) {
		id, err := statusID(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		var inc registry.Incident
		err = s.opt.Registry.Read(r.Context(), func(rd registry.Reader) error {
			inc, err = rd.GetIncident(r.Context(), id)
			return err
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, inc)
	})
	s.handle("POST /api/v1/incidents", "Open an incident on some components; the affected members are emailed",
		reflect.TypeOf(registry.IncidentInput{}), incidentType, nil,
		createFrom(s, st.OpenIncident, func(inc *registry.Incident) string { return "/api/v1/incidents/" + strconv.FormatInt(inc.ID, 10) }))
	s.handle("POST /api/v1/incidents/{id}/updates", "Add to an incident's timeline (state resolved closes it); the affected members are emailed",
		reflect.TypeOf(registry.IncidentInput{}), incidentType, nil, func(w http.ResponseWriter, r *http.Request) {
			id, err := statusID(r)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			var in registry.IncidentInput
			if err := decode(r, &in); err != nil {
				s.fail(w, r, err)
				return
			}
			inc, err := st.UpdateIncident(r.Context(), callerOf(r).actor, id, in)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, inc)
		})

	maintType := reflect.TypeOf(registry.Maintenance{})
	s.handle("GET /api/v1/maintenance", "List maintenance not over (all=1: also past and cancelled), by start",
		nil, reflect.TypeOf(listResponse[registry.Maintenance]{}), []string{"all"}, func(w http.ResponseWriter, r *http.Request) {
			all := r.URL.Query().Get("all") != ""
			since := s.opt.Registry.Now()
			if all {
				since = time.Time{}
			}
			var items []registry.Maintenance
			err := s.opt.Registry.Read(r.Context(), func(rd registry.Reader) error {
				ms, err := rd.ListMaintenance(r.Context(), since)
				for _, m := range ms {
					if all || m.CancelledAt == nil {
						items = append(items, m)
					}
				}
				return err
			})
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, listResponse[registry.Maintenance]{Items: nonNil(items)})
		})
	s.handle("POST /api/v1/maintenance", "Plan maintenance on some components; the affected members are emailed",
		reflect.TypeOf(registry.MaintenanceInput{}), maintType, nil, createFrom(s, st.PlanMaintenance, nil))
	s.handle("POST /api/v1/maintenance/{id}/cancel", "Cancel maintenance not over yet; the members told are told it is cancelled",
		nil, maintType, nil, func(w http.ResponseWriter, r *http.Request) {
			id, err := statusID(r)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			m, err := st.CancelMaintenance(r.Context(), callerOf(r).actor, id)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, m)
		})
	s.handle("GET /api/v1/status/recipients", "Who an incident (kind=incident) or maintenance (kind=maintenance) on these components would email, and the affected members who opted out",
		nil, reflect.TypeOf(recipientsResponse{}), []string{"component", "kind"}, func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			var ids []int64
			for _, v := range q["component"] {
				for _, part := range strings.Split(v, ",") {
					id, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64)
					if err != nil {
						s.fail(w, r, fmt.Errorf("component=%q is not an id: %w", part, errBadRequest))
						return
					}
					ids = append(ids, id)
				}
			}
			kind := q.Get("kind")
			if kind != "" && kind != "incident" && kind != "maintenance" {
				s.fail(w, r, fmt.Errorf("kind=%q is not incident or maintenance: %w", kind, errBadRequest))
				return
			}
			ds, out, err := st.Recipients(r.Context(), kind != "maintenance", ids)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, recipientsResponse{Items: nonNil(ds), OptedOut: nonNil(out)})
		})
	s.handle("PUT /api/v1/members/{ref}/language", "Set the language of a member's emails (fr, en, or empty)",
		reflect.TypeOf(languageRequest{}), nil, nil, func(w http.ResponseWriter, r *http.Request) {
			m, err := s.opt.Registry.FindMember(r.Context(), r.PathValue("ref"))
			if err != nil {
				s.fail(w, r, err)
				return
			}
			var in languageRequest
			if err := decode(r, &in); err != nil {
				s.fail(w, r, err)
				return
			}
			if err := st.SetMemberLanguage(r.Context(), callerOf(r).actor, m.ID, in.Language); err != nil {
				s.fail(w, r, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
}

func statusID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%q is not an id: %w", r.PathValue("id"), errBadRequest)
	}
	return id, nil
}

func nonNil[T any](items []T) []T {
	if items == nil {
		return []T{}
	}
	return items
}
