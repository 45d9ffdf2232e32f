package web

import (
	"net/http"
	"reflect"
)

// ZoneDS is what the parent of a signed zone publishes to chain it in.
type ZoneDS struct {
	Zone      string   `json:"zone"`
	KeyTag    uint16   `json:"key_tag"`
	Algorithm uint8    `json:"algorithm"`
	DS        []string `json:"ds"`     // DS records, zone file syntax
	DNSKEY    string   `json:"dnskey"` // for parents that take the key itself
}

// DNSKeys is the DNS server's DNSSEC side, when it has one.
type DNSKeys interface {
	DS(origin string) (ZoneDS, error)
}

func (s *Server) dnssecRoutes() {
	keys, ok := s.opt.DNS.(DNSKeys)
	if !ok {
		return
	}
	s.handle("GET /api/v1/dns/zones/{origin}/ds", "The DS record the parent of a signed zone must publish, and the DNSKEY",
		nil, reflect.TypeOf(ZoneDS{}), nil, func(w http.ResponseWriter, r *http.Request) {
			d, err := keys.DS(r.PathValue("origin"))
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, d)
		})
}
