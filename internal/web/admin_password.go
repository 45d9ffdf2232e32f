package web

import (
	"context"
	"fmt"
	"net/http"
	"reflect"

	"maillon/internal/registry"
)

// passwordRegistry sets admins' local web passwords.
type passwordRegistry interface {
	SetAdminPassword(ctx context.Context, a registry.Actor, adminID int64, password string) error
	AdminHasPassword(ctx context.Context, adminID int64) (bool, error)
}

type passwordRequest struct {
	// Password is the new web password; "" removes it (single sign-on only).
	Password string `json:"password"`
}

func init() { apiRoutes = append(apiRoutes, (*Server).passwordRoutes) }

// apiRoutes are API registrations kept in their own files.
var apiRoutes []func(*Server)

func (s *Server) passwordRoutes() {
	s.handle("POST /api/v1/admins/{ref}/password", "Set an admin's web password (argon2id); \"\" removes it. Ends their web sessions",
		reflect.TypeOf(passwordRequest{}), nil, nil, func(w http.ResponseWriter, r *http.Request) {
			c := callerOf(r)
			admin, err := s.findAdmin(r.Context(), r.PathValue("ref"))
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if !c.mayActFor(admin.ID) {
				s.fail(w, r, fmt.Errorf("only admins may set others' passwords: %w", errForbidden))
				return
			}
			var req passwordRequest
			if err := decode(r, &req); err != nil {
				s.fail(w, r, err)
				return
			}
			if err := s.opt.Registry.SetAdminPassword(r.Context(), c.actor, admin.ID, req.Password); err != nil {
				s.fail(w, r, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
}
