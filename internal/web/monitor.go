package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"maillon/internal/registry"
)

// Monitoring is what the web layer asks of checks and alerting: the
// registry's check, alert and silence methods, and the running monitor's
// states and acknowledgement (which tells those who were alerted).
type Monitoring interface {
	CreateCheck(context.Context, registry.Actor, registry.CheckInput) (registry.Check, error)
	UpdateCheck(context.Context, registry.Actor, int64, registry.CheckInput) (registry.Check, error)
	DeleteCheck(context.Context, registry.Actor, int64) error
	FindCheck(ctx context.Context, ref string) (registry.Check, error)
	CheckGraph(ctx context.Context) (*registry.CheckGraph, error)
	CreateSilence(context.Context, registry.Actor, registry.SilenceInput) (registry.Silence, error)
	ExpireSilence(context.Context, registry.Actor, int64) (registry.Silence, error)
	// StateOf is a check's state as the monitor sees it now.
	StateOf(id int64) (registry.CheckState, bool)
	Ack(ctx context.Context, a registry.Actor, id int64) (registry.Alert, error)
	// PushURL is the URL a push check's token makes.
	PushURL(token string) string
}

// CheckGraphView is the dependency graph, drawn and as data.
type CheckGraphView struct {
	Text    string                         `json:"text"`
	Parents map[int64][]registry.CheckEdge `json:"parents"`
	Names   map[int64]string               `json:"names"`
}

func init() { apiRoutes = append(apiRoutes, (*Server).monitorRoutes) }

func (s *Server) monitorRoutes() {
	mon := s.opt.Monitor
	if mon == nil {
		return
	}
	present := func(c *registry.Check) {
		if st, ok := mon.StateOf(c.ID); ok {
			c.State = &st
		}
		if c.PushToken != "" {
			c.PushURL = mon.PushURL(c.PushToken)
		}
	}
	register(s, resource[registry.Check, registry.CheckInput]{
		path: "checks", name: "check", refHelp: "id or name",
		list: func(ctx context.Context, r registry.Reader, _ url.Values, opt registry.ListOptions) ([]registry.Check, error) {
			cs, err := r.ListChecks(ctx)
			return filter(cs, opt, func(c *registry.Check) string {
				return c.Name + " " + string(c.Kind) + " " + c.Address + " " + c.URL + " " + c.Service + " " + strings.Join(c.Tags, " ")
			}), err
		},
		find: mon.FindCheck, id: func(c *registry.Check) int64 { return c.ID }, present: present,
		create: mon.CreateCheck, update: mon.UpdateCheck, delete: mon.DeleteCheck,
	})
	s.handle("GET /api/v1/checks/graph", "The dependency graph of checks: explicit parents and those the registry implies",
		nil, reflect.TypeOf(CheckGraphView{}), nil, func(w http.ResponseWriter, r *http.Request) {
			g, err := mon.CheckGraph(r.Context())
			if err != nil {
				s.fail(w, r, err)
				return
			}
			v := CheckGraphView{Parents: g.Parents, Names: map[int64]string{}}
			for id, c := range g.Checks {
				v.Names[id] = c.Name
			}
			v.Text = g.Text(func(id int64) string {
				if st, ok := mon.StateOf(id); ok {
					return st.State
				}
				return registry.StateUnknown
			})
			writeJSON(w, http.StatusOK, v)
		})

	alertType := reflect.TypeOf(registry.Alert{})
	idOf := func(r *http.Request) (int64, error) {
		n, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q is not an id: %w", r.PathValue("id"), errBadRequest)
		}
		return n, nil
	}
	s.handle("GET /api/v1/alerts", "List alerts, newest first (state: firing or resolved)", nil, reflect.TypeOf(listResponse[registry.Alert]{}),
		[]string{"state", "check_id", "limit"}, func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			f := registry.AlertFilter{State: q.Get("state"), Limit: 100}
			switch f.State {
			case "", registry.AlertFiring, registry.AlertResolved:
			default:
				s.fail(w, r, fmt.Errorf("state=%q is not firing or resolved: %w", f.State, errBadRequest))
				return
			}
			var err error
			if f.CheckID, err = queryID(q, "check_id"); err != nil {
				s.fail(w, r, err)
				return
			}
			limit, err := nonNegative(q, "limit", int64(f.Limit))
			if err != nil {
				s.fail(w, r, err)
				return
			}
			f.Limit = int(limit)
			items := []registry.Alert{}
			err = s.opt.Registry.Read(r.Context(), func(rd registry.Reader) error {
				as, err := rd.ListAlerts(r.Context(), f)
				items = append(items, as...)
				return err
			})
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, listResponse[registry.Alert]{Items: items})
		})
	s.handle("GET /api/v1/alerts/{id}", "Show an alert", nil, alertType, nil, func(w http.ResponseWriter, r *http.Request) {
		id, err := idOf(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		var al registry.Alert
		err = s.opt.Registry.Read(r.Context(), func(rd registry.Reader) error {
			al, err = rd.GetAlert(r.Context(), id)
			return err
		})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, al)
	})
	s.handle("POST /api/v1/alerts/{id}/ack", "Acknowledge a firing alert: no more repeats nor escalation", nil, alertType, nil,
		func(w http.ResponseWriter, r *http.Request) {
			id, err := idOf(r)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			al, err := mon.Ack(r.Context(), callerOf(r).actor, id)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, al)
		})

	silenceType := reflect.TypeOf(registry.Silence{})
	s.handle("GET /api/v1/silences", "List silences", nil, reflect.TypeOf(listResponse[registry.Silence]{}), nil,
		func(w http.ResponseWriter, r *http.Request) {
			items := []registry.Silence{}
			err := s.opt.Registry.Read(r.Context(), func(rd registry.Reader) error {
				ss, err := rd.ListSilences(r.Context())
				items = append(items, ss...)
				return err
			})
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, listResponse[registry.Silence]{Items: items})
		})
	s.handle("POST /api/v1/silences", "Silence the alerts matching all the matchers (name=value) until it ends",
		reflect.TypeOf(registry.SilenceInput{}), silenceType, nil,
		createFrom(s, mon.CreateSilence, func(sl *registry.Silence) string { return "/api/v1/silences/" + strconv.FormatInt(sl.ID, 10) }))
	s.handle("DELETE /api/v1/silences/{id}", "End a silence now", nil, silenceType, nil, func(w http.ResponseWriter, r *http.Request) {
		id, err := idOf(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		sl, err := mon.ExpireSilence(r.Context(), callerOf(r).actor, id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, sl)
	})
}
