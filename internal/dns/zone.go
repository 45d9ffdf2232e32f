package dns

import (
	"net/netip"
	"slices"
	"strings"

	mdns "github.com/miekg/dns"
)

// Snapshot is an immutable set of zones, built by Build and served by Server.
// Its zones never change after Build returns, so readers need no lock; the
// cache of packed replies that comes with it locks for itself.
type Snapshot struct {
	zones    map[string]*Zone // lowercased origin → zone
	origins  []string         // sorted, for listing
	depths   []int            // the origins' label counts, deepest first
	keys     map[string]TSIGKey
	Problems []string // records and allocations skipped, with the reason
	config   string   // the configuration the zones were built with
	cache    *cache   // what each input gave, for the next Build
	replies  replyCache
}

// Zone is one zone of a Snapshot.
type Zone struct {
	origin  string
	labels  int   // of the origin
	cuts    int32 // delegation points: none spares the walk looking for them
	serial  uint32
	soa     *mdns.SOA
	neg     *mdns.SOA                 // the SOA of negative answers, TTL per RFC 2308
	nodes   shardedMap[string, *node] // lowercased owner → node, for owners with records and the apex
	names   []string                  // the nodes' owners in compareNames order: empty non-terminals (names.go)
	count   shardedMap[recKey, entry] // rrKey → the input record and how many inputs gave it
	journal []Delta                   // oldest first, the last one ends at serial
	notify  []Secondary
	push    []PushTarget
	acl     []ACL
	sec     *signing // NSEC and RRSIG records of a signed zone, else nil
	// The wildcard index (wild.go): parent → its kids, and the parents'
	// label counts, deepest first.
	wild        shardedMap[string, wildInfo]
	wildDepths  []int
	wildByDepth map[int]int
	ownDepths   bool // wildByDepth is this version's own copy
}

// Delta is the difference between two successive versions of a zone, as
// IXFR sends it.
type Delta struct {
	From, To uint32
	Deleted  []mdns.RR
	Added    []mdns.RR
}

// node holds the records of one owner name. Nodes are shared between
// successive versions of a zone, so they are copied, never changed.
type node struct {
	sets []rrset
	// cut marks a delegation point: NS records below the apex. Names at and
	// under a cut are answered with a referral, and their addresses are glue.
	cut bool
}

// rrset holds the records served (rrs) and the input records they come from
// (src). They differ only when the inputs disagree on the TTL: all records
// of an RRset are served with the smallest (RFC 2181 section 5.2).
type rrset struct {
	t   uint16
	rrs []mdns.RR
	src []mdns.RR
}

// get returns the records of one type.
func (n *node) get(t uint16) []mdns.RR {
	for i := range n.sets {
		if n.sets[i].t == t {
			return n.sets[i].rrs
		}
	}
	return nil
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

// findIn returns the deepest zone containing the lowercased name, given its
// label offsets: it only tries the suffixes as deep as some zone's origin.
func (s *Snapshot) findIn(name string, offs []int) *Zone {
	for _, d := range s.depths {
		if d <= len(offs) {
			if z := s.zones[name[offs[len(offs)-d]:]]; z != nil {
				return z
			}
		}
	}
	return nil
}

// maxLabels bounds the labels of a name (255 bytes make at most 127).
const maxLabels = 128

// labelStarts lists the offsets where the labels of a presentation name
// start; none for the root.
func labelStarts(name string, buf *[maxLabels]int) []int {
	offs := buf[:0]
	if name == "." || name == "" {
		return offs
	}
	for off := 0; len(offs) < maxLabels; {
		offs = append(offs, off)
		next, end := mdns.NextLabel(name, off)
		if end {
			break
		}
		off = next
	}
	return offs
}

// Origin returns the zone's name, lowercased and fully qualified.
func (z *Zone) Origin() string { return z.origin }

// Serial returns the zone's SOA serial.
func (z *Zone) Serial() uint32 { return z.serial }

// TTL is the zone's default TTL, which records without one of their own
// are served with (the SOA's).
func (z *Zone) TTL() uint32 { return z.soa.Hdr.Ttl }

// SOA returns a copy of the zone's SOA record.
func (z *Zone) SOA() *mdns.SOA { return mdns.Copy(z.soa).(*mdns.SOA) }

// Records returns the zone's records, SOA first. The records are shared:
// callers must not modify them.
func (z *Zone) Records() []mdns.RR {
	out := make([]mdns.RR, 0, z.count.len()+1)
	out = append(out, z.soa)
	return z.appendRecords(out)
}

// appendRecords appends every record but the SOA, in no particular order.
func (z *Zone) appendRecords(out []mdns.RR) []mdns.RR {
	for _, n := range z.nodes.all() {
		for _, s := range n.sets {
			out = append(out, s.rrs...)
		}
	}
	return z.sec.appendTo(out)
}

// Journal returns the retained differences between versions, oldest first.
func (z *Zone) Journal() []Delta { return slices.Clone(z.journal) }

// Text renders the zone in the standard master file format (RFC 1035),
// suitable for `maillon dns export` and accepted by kzonecheck.
func (z *Zone) Text() string {
	var b strings.Builder
	b.WriteString("$ORIGIN " + z.origin + "\n")
	b.WriteString(z.soa.String() + "\n")
	type keyed struct {
		k  string
		rr mdns.RR
	}
	recs := z.appendRecords(nil)
	sorted := make([]keyed, len(recs))
	for i, rr := range recs {
		sorted[i] = keyed{sortKey(rr), rr}
	}
	slices.SortFunc(sorted, func(a, b keyed) int { return strings.Compare(a.k, b.k) })
	for _, k := range sorted {
		b.WriteString(k.rr.String())
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
