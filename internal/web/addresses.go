package web

import (
	"fmt"
	"net/http"
	"net/netip"
	"reflect"

	"maillon/internal/registry"
)

type reverseNameRequest struct {
	// ReverseName is a host name; empty goes back to the prefix's template.
	ReverseName string `json:"reverse_name"`
}

func (s *Server) addressRoutes() {
	s.handle("PATCH /api/v1/addresses/{ip}", "Set the reverse DNS name of the allocation holding an address",
		reflect.TypeOf(reverseNameRequest{}), reflect.TypeOf(registry.Allocation{}), nil, func(w http.ResponseWriter, r *http.Request) {
			addr, err := netip.ParseAddr(r.PathValue("ip"))
			if err != nil {
				s.fail(w, r, fmt.Errorf("%q is not an IP address: %w", r.PathValue("ip"), errBadRequest))
				return
			}
			var req reverseNameRequest
			if err := decode(r, &req); err != nil {
				s.fail(w, r, err)
				return
			}
			a, err := s.opt.Registry.SetReverseName(r.Context(), callerOf(r).actor, addr, req.ReverseName)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, a)
		})
}
