package web

import (
	"net/http"
	"reflect"
	"strconv"

	"maillon/internal/registry"
)

func (s *Server) auditRoutes() {
	s.handle("GET /api/v1/audit", "List audit-log entries, newest first", nil, reflect.TypeOf(listResponse[registry.AuditEntry]{}),
		[]string{"entity", "entity_id", "limit"}, func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			id, err := queryID(q, "entity_id")
			if err != nil {
				s.fail(w, r, err)
				return
			}
			limit, _ := strconv.Atoi(q.Get("limit"))
			items, err := s.opt.Registry.Audit(r.Context(), registry.AuditFilter{Entity: q.Get("entity"), EntityID: id, Limit: limit})
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if items == nil {
				items = []registry.AuditEntry{}
			}
			writeJSON(w, http.StatusOK, listResponse[registry.AuditEntry]{Items: items})
		})
}
