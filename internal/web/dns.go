package web

import (
	"context"
	"net/http"
	"reflect"
)

// ServedZone is a zone the DNS server answers for.
type ServedZone struct {
	Origin string `json:"origin"`
	Serial uint32 `json:"serial"`
	// TTL is what records without a TTL of their own are served with.
	TTL uint32 `json:"ttl"`
}

// PushDiff is what would change on one external primary for one zone.
type PushDiff struct {
	Target  string   `json:"target"`
	Zone    string   `json:"zone"`
	Changes []string `json:"changes"`
	Error   string   `json:"error,omitempty"`
}

// DNS is what the web layer asks of the DNS server.
type DNS interface {
	Zones() []ServedZone
	Export(origin string) (string, error)
	Diff(ctx context.Context, origin string) ([]PushDiff, error)
}

func (s *Server) dnsRoutes() {
	if s.opt.DNS == nil {
		return
	}
	s.handle("GET /api/v1/dns/zones", "List the zones served, with their SOA serials", nil, reflect.TypeOf(listResponse[ServedZone]{}), nil,
		func(w http.ResponseWriter, r *http.Request) {
			items := s.opt.DNS.Zones()
			if items == nil {
				items = []ServedZone{}
			}
			writeJSON(w, http.StatusOK, listResponse[ServedZone]{Items: items})
		})
	s.handle("GET /api/v1/dns/zones/{origin}/export", "A served zone as a standard zone file (text/plain)", nil, reflect.TypeOf(""), nil,
		func(w http.ResponseWriter, r *http.Request) {
			text, err := s.opt.DNS.Export(r.PathValue("origin"))
			if err != nil {
				s.fail(w, r, err)
				return
			}
			w.Header().Set("Content-Type", "text/dns; charset=utf-8")
			w.Write([]byte(text))
		})
	s.handle("GET /api/v1/dns/diff", "What RFC 2136 updates would change on each external primary (dns.push), without sending them",
		nil, reflect.TypeOf(listResponse[PushDiff]{}), []string{"zone"}, func(w http.ResponseWriter, r *http.Request) {
			items, err := s.opt.DNS.Diff(r.Context(), r.URL.Query().Get("zone"))
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, listResponse[PushDiff]{Items: items})
		})
	s.dnssecRoutes()
}
