package web

import (
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"maillon/internal/config"
	"maillon/internal/registry"
)

type tokenRequest struct {
	Name string `json:"name"`
	// TTL is a duration like "720h" or "90d"; empty means no expiry.
	TTL string `json:"ttl,omitempty"`
}

type tokenResponse struct {
	Token string         `json:"token"`
	Info  registry.Token `json:"info"`
}

func (s *Server) tokenRoutes() {
	s.handle("POST /api/v1/admins/{ref}/tokens", "Issue an API token for an admin; the token is shown only in this response",
		reflect.TypeOf(tokenRequest{}), reflect.TypeOf(tokenResponse{}), nil, func(w http.ResponseWriter, r *http.Request) {
			c := callerOf(r)
			admin, err := s.findAdmin(r.Context(), r.PathValue("ref"))
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if !c.mayActFor(admin.ID) {
				s.fail(w, r, fmt.Errorf("only admins may issue tokens for others: %w", errForbidden))
				return
			}
			var req tokenRequest
			if err := decode(r, &req); err != nil {
				s.fail(w, r, err)
				return
			}
			var ttl time.Duration
			if req.TTL != "" {
				if ttl, err = config.ParseDuration(req.TTL); err != nil || ttl <= 0 {
					s.fail(w, r, &registry.ValidationError{Field: "ttl", Message: fmt.Sprintf("%q is not a positive duration", req.TTL)})
					return
				}
			}
			token, info, err := s.opt.Registry.CreateToken(r.Context(), c.actor, admin.ID, req.Name, ttl)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusCreated, tokenResponse{Token: token, Info: info})
		})
	s.handle("DELETE /api/v1/tokens/{id}", "Revoke an API token", nil, nil, nil, func(w http.ResponseWriter, r *http.Request) {
		if !callerOf(r).isAdmin() {
			s.fail(w, r, fmt.Errorf("only admins may revoke tokens: %w", errForbidden))
			return
		}
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			s.fail(w, r, fmt.Errorf("token id %q: %w", r.PathValue("id"), errBadRequest))
			return
		}
		if err := s.opt.Registry.RevokeToken(r.Context(), callerOf(r).actor, id); err != nil {
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
