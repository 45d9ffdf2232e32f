package web

import (
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

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
			// An entity nothing is recorded under is a typo, not "no change".
			if e := q.Get("entity"); e != "" && !slices.Contains(registry.AuditEntities(), e) {
				s.fail(w, r, fmt.Errorf("entity=%q is not one of %s: %w", e, strings.Join(registry.AuditEntities(), ", "), errBadRequest))
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
