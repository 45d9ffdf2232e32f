package web

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"maillon/internal/registry"
)

func init() { uiRoutes = append(uiRoutes, (*Server).adminRoutes) }

func (s *Server) adminRoutes() {
	s.mux.HandleFunc("GET /admin/{$}", s.requireAdmin(s.adminHome))
	s.mux.HandleFunc("GET /admin/audit", s.requireAdmin(s.adminAudit))
}

type homeData struct {
	Members int64
	Recent  []auditRow
}

// auditRow is an audit entry as pages show it.
type auditRow struct {
	registry.AuditEntry
	Changed string
	Link    string
}

func auditRows(entries []registry.AuditEntry) []auditRow {
	out := make([]auditRow, len(entries))
	for i, e := range entries {
		out[i] = auditRow{AuditEntry: e, Changed: changedKeys(e), Link: entityLink(e.Entity, e.EntityID)}
	}
	return out
}

// entityLink is the admin page of an audited object, when it has one.
func entityLink(entity string, id int64) string {
	path, ok := map[string]string{"member": "members", "subscription": "subscriptions", "prefix": "prefixes", "nas": "nas",
		"site": "sites", "host": "hosts", "port": "ports", "cpe": "cpes", "admin": "admins", "zone": "zones", "record": "records"}[entity]
	if !ok || id == 0 {
		return ""
	}
	return "/admin/" + path + "/" + strconv.FormatInt(id, 10)
}

// changedKeys names the fields an update changed.
func changedKeys(e registry.AuditEntry) string {
	if len(e.Before) == 0 || len(e.After) == 0 {
		return ""
	}
	var before, after map[string]json.RawMessage
	if json.Unmarshal(e.Before, &before) != nil || json.Unmarshal(e.After, &after) != nil {
		return ""
	}
	changed := map[string]bool{}
	for k, v := range after {
		if b, ok := before[k]; !ok || !bytes.Equal(b, v) {
			changed[k] = true
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			changed[k] = true
		}
	}
	delete(changed, "updated_at")
	return strings.Join(slices.Sorted(maps.Keys(changed)), ", ")
}

func (s *Server) adminHome(w http.ResponseWriter, r *http.Request) {
	var d homeData
	ctx := r.Context()
	err := s.opt.Registry.Read(ctx, func(rd registry.Reader) error {
		var err error
		if d.Members, err = rd.CountMembers(ctx); err != nil {
			return err
		}
		entries, err := rd.ListAudit(ctx, registry.AuditFilter{Limit: 15})
		d.Recent = auditRows(entries)
		return err
	})
	if err != nil {
		s.renderFailure(w, r, err)
		return
	}
	s.render(w, r, "admin_home.html", d)
}

func (s *Server) adminAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id, _ := strconv.ParseInt(q.Get("entity_id"), 10, 64)
	entries, err := s.opt.Registry.Audit(r.Context(), registry.AuditFilter{Entity: q.Get("entity"), EntityID: id, Limit: 200})
	if err != nil {
		s.renderFailure(w, r, err)
		return
	}
	s.render(w, r, "admin_audit.html", auditRows(entries))
}
