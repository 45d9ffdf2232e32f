package dns

import (
	"net/netip"
	"slices"
	"strings"

	mdns "github.com/miekg/dns"
)

// Snapshot is an immutable set of zones, built by Build and served by Server.
// Nothing in it changes after Build returns, so readers need no lock.
type Snapshot struct {
	zones    map[string]*Zone // lowercased origin → zone
	origins  []string         // sorted, for listing
	keys     map[string]TSIGKey
	Problems []string // records and allocations skipped, with the reason
}

// Zone is one zone of a Snapshot.
type Zone struct {
	origin  string
	serial  uint32
	soa     *mdns.SOA
	neg     *mdns.SOA        // the SOA of negative answers, TTL per RFC 2308
	nodes   map[string]*node // lowercased owner → node; includes empty non-terminals
	records []mdns.RR        // every record but the SOA, in canonical order
	set     map[string]struct{}
	journal []Delta // oldest first, the last one ends at serial
	notify  []Secondary
	acl     []ACL
}

// Delta is the difference between two successive versions of a zone, as
// IXFR sends it.
type Delta struct {
	From, To uint32
	Deleted  []mdns.RR
	Added    []mdns.RR
}

type node struct {
	sets map[uint16][]mdns.RR
	// cut marks a delegation point: NS records below the apex. Names at and
	// under a cut are answered with a referral, and their addresses are glue.
	cut bool
}

// Zone returns the zone with the given origin, or nil.
func (s *Snapshot) Zone(origin string) *Zone {
	if s == nil {
		return nil
	}
	return s.zones[canonical(origin)]
}

// Origins lists the zones' origins in sorted order.
func (s *Snapshot) Origins() []string {
	if s == nil {
		return nil
	}
	return slices.Clone(s.origins)
}

// find returns the deepest zone containing the lowercased name.
func (s *Snapshot) find(name string) *Zone {
	for off := 0; ; {
		if z := s.zones[name[off:]]; z != nil {
			return z
		}
		next, end := mdns.NextLabel(name, off)
		if end {
			return nil
		}
		off = next
	}
}

// Origin returns the zone's name, lowercased and fully qualified.
func (z *Zone) Origin() string { return z.origin }

// Serial returns the zone's SOA serial.
func (z *Zone) Serial() uint32 { return z.serial }

// SOA returns a copy of the zone's SOA record.
func (z *Zone) SOA() *mdns.SOA { return mdns.Copy(z.soa).(*mdns.SOA) }

// Records returns the zone's records, SOA first, in canonical order. The
// records are shared: callers must not modify them.
func (z *Zone) Records() []mdns.RR {
	out := make([]mdns.RR, 0, len(z.records)+1)
	out = append(out, z.soa)
	return append(out, z.records...)
}

// Journal returns the retained differences between versions, oldest first.
func (z *Zone) Journal() []Delta { return slices.Clone(z.journal) }

// Text renders the zone in the standard master file format (RFC 1035),
// suitable for `maillon dns export` and accepted by kzonecheck.
func (z *Zone) Text() string {
	var b strings.Builder
	b.WriteString("$ORIGIN " + z.origin + "\n")
	b.WriteString(z.soa.String() + "\n")
	for _, rr := range z.records {
		b.WriteString(rr.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// below reports whether the lowercased name is at or under the origin.
func below(name, origin string) bool {
	if origin == "." {
		return true
	}
	if !strings.HasSuffix(name, origin) {
		return false
	}
	return len(name) == len(origin) || name[len(name)-len(origin)-1] == '.'
}

// canonical lowercases and fully qualifies a name.
func canonical(name string) string {
	return strings.ToLower(mdns.Fqdn(strings.TrimSpace(name)))
}

// allowTransfer reports whether a client may transfer the zone. keyName is
// the TSIG key that verified the request, or "" for an unsigned one.
func (z *Zone) allowTransfer(addr netip.Addr, keyName string) bool {
	addr = addr.Unmap()
	for _, a := range z.acl {
		if a.Key != "" && canonical(a.Key) != keyName {
			continue
		}
		if len(a.Networks) == 0 {
			return true
		}
		for _, p := range a.Networks {
			if p.Contains(addr) {
				return true
			}
		}
	}
	return false
}
