package web

import (
	"net"
	"net/http"
	"net/netip"
)

// loopback is who reads /metrics without a token unless web.metrics_from
// says otherwise: a Prometheus on the same machine.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// parseNets reads a configuration's list of addresses and prefixes (which
// config.Web.validate checked).
func parseNets(list []string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range list {
		if pfx, err := parsePrefixOrAddr(p); err == nil {
			out = append(out, pfx)
		}
	}
	return out
}

// metricsGate serves /metrics to the networks of web.metrics_from, and to
// anybody else with an admin's API token (or on the local socket): check
// names, targets and NAS names map the inside of the network.
func (s *Server) metricsGate(h http.Handler) http.Handler {
	// Other networks are added to this machine, not put in its place: a
	// local Prometheus keeps working when a remote one is added.
	from := append(append([]netip.Prefix{}, loopback...), parseNets(s.web().MetricsFrom)...)
	withToken := s.authenticate(h.ServeHTTP)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a, ok := s.directClient(r); ok {
			for _, p := range from {
				if p.Contains(a) {
					h.ServeHTTP(w, r)
					return
				}
			}
		}
		withToken(w, r)
	})
}

// directClient is the address a request came from, when it can be told.
// Behind a reverse proxy every visitor looks like the proxy (often
// 127.0.0.1): a request from a trusted proxy counts by the client its
// X-Forwarded-For names, and one that names none, or that was forwarded
// by a proxy not in web.trusted_proxies, has no address to trust.
func (s *Server) directClient(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	peer = peer.Unmap()
	forwarded := r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" || r.Header.Get("X-Real-Ip") != ""
	if !s.trusted(peer) {
		return peer, !forwarded
	}
	client := s.clientIP(r)
	if s.trusted(client) {
		return netip.Addr{}, false // no hop beyond the proxies: who is it?
	}
	return client, true
}
