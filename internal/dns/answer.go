package dns

import (
	"strings"

	mdns "github.com/miekg/dns"
)

// maxChain bounds CNAME chains inside a zone, which also stops loops.
const maxChain = 8

// answer fills m, already a reply to the question (lowercased qname), from
// the snapshot. It implements the lookup of RFC 1034 section 4.3.2 for an
// authoritative-only server: referrals at delegations, CNAME chains inside the
// zone, wildcards (RFC 4592), NXDOMAIN vs NODATA with the SOA for negative
// caching (RFC 2308). It never recurses: a name outside every zone is REFUSED.
// udp limits ANY (RFC 8482) to keep replies small. It reports whether the
// answer was synthesized from a wildcard, which is not worth caching: every
// name under it gets its own. With do (the query's DO bit) a signed zone
// adds its RRSIGs and NSEC proofs (RFC 4035 section 3.1).
func (s *Snapshot) answer(m *mdns.Msg, qname string, qtype uint16, udp, do bool) (wild bool) {
	var buf [maxLabels]int
	offs := labelStarts(qname, &buf)
	z := s.findIn(qname, offs)
	if z == nil {
		m.Rcode = mdns.RcodeRefused
		return
	}
	m.Authoritative = true
	var sec *signing // non-nil when the answer carries DNSSEC records
	if do {
		sec = z.sec
	}
	target := qname
	var seen [maxChain]string
	for hop := 0; hop < maxChain; hop++ {
		for _, prev := range seen[:hop] {
			if prev == target {
				return // a CNAME loop: the answer so far shows it
			}
		}
		seen[hop] = target
		if hop > 0 {
			offs = labelStarts(target, &buf)
		}
		if name := z.cutName(target, qtype); name != "" {
			cut := z.node(name)
			// A referral is not authoritative, unless a CNAME already is.
			m.Authoritative = len(m.Answer) > 0
			m.Ns = append(m.Ns, cut.get(mdns.TypeNS)...)
			if sec != nil {
				m.Ns = sec.referral(m.Ns, name, cut)
			}
			for _, ns := range cut.get(mdns.TypeNS) {
				m.Extra = z.addresses(m.Extra, ns.(*mdns.NS).Ns)
			}
			return
		}
		n, synth := z.lookup(target), false
		owner := target // of the records, the wildcard's when synthesized
		if n == nil {
			encloser := z.closestEncloser(target, offs)
			owner = "*." + encloser
			n = z.node(owner)
			if n == nil {
				m.Rcode = mdns.RcodeNameError
				m.Ns = append(m.Ns, z.negativeSOA())
				if sec != nil {
					m.Ns = sec.nxdomain(m.Ns, target, encloser)
				}
				return
			}
			synth, wild = true, true
			if sec != nil {
				// No closer match than the wildcard (RFC 4035 section 3.1.3.3).
				m.Ns = appendNew(m.Ns, sec.covering(target))
			}
		}
		if cn := n.get(mdns.TypeCNAME); cn != nil && qtype != mdns.TypeCNAME {
			m.Answer = appendOwned(m.Answer, cn, target, synth)
			if sec != nil {
				m.Answer = appendOwned(m.Answer, sec.sigsOf(owner, mdns.TypeCNAME), target, synth)
			}
			next := strings.ToLower(cn[0].(*mdns.CNAME).Target)
			if !below(next, z.origin) {
				return // the resolver follows it elsewhere
			}
			target = next
			continue
		}
		if qtype == mdns.TypeANY {
			if udp {
				// RFC 8482: a minimal answer defeats ANY amplification.
				m.Answer = append(m.Answer, &mdns.HINFO{Hdr: hdr(target, mdns.TypeHINFO, z.soa.Hdr.Ttl), Cpu: "RFC8482"})
				return
			}
			for _, set := range n.sets {
				m.Answer = appendOwned(m.Answer, set.rrs, target, synth)
				if sec != nil {
					m.Answer = appendOwned(m.Answer, sec.sigsOf(owner, set.t), target, synth)
				}
			}
			if target == z.origin {
				m.Answer = append(m.Answer, z.soa)
				if sec != nil {
					m.Answer = append(m.Answer, sec.soaSig)
				}
			}
			if sec != nil && !synth {
				m.Answer = append(m.Answer, sec.nsecAt(target)...)
			}
			if len(m.Answer) == 0 {
				m.Ns = append(m.Ns, z.negativeSOA())
			}
			return
		}
		var rrs []mdns.RR
		switch {
		case qtype == mdns.TypeSOA && target == z.origin:
			rrs = []mdns.RR{z.soa}
		case isDNSSEC(qtype) && z.sec != nil && !synth:
			rrs = z.sec.ofType(target, qtype)
		default:
			rrs = n.get(qtype)
		}
		if len(rrs) == 0 {
			m.Ns = append(m.Ns, z.negativeSOA())
			if sec != nil {
				m.Ns = sec.nodata(m.Ns, target, owner, n, synth)
			}
			return
		}
		m.Answer = appendOwned(m.Answer, rrs, target, synth)
		if sec != nil && qtype != mdns.TypeRRSIG {
			m.Answer = appendOwned(m.Answer, sec.sigsOf(owner, qtype), target, synth)
		}
		for _, rr := range rrs {
			switch r := rr.(type) {
			case *mdns.MX:
				m.Extra = z.addresses(m.Extra, r.Mx)
			case *mdns.SRV:
				m.Extra = z.addresses(m.Extra, r.Target)
			case *mdns.NS:
				m.Extra = z.addresses(m.Extra, r.Ns)
			}
		}
		return
	}
	return
}

// appendOwned appends records, renamed to the query name when synthesized
// from a wildcard.
func appendOwned(dst, rrs []mdns.RR, owner string, wild bool) []mdns.RR {
	if !wild {
		return append(dst, rrs...)
	}
	for _, rr := range rrs {
		c := mdns.Copy(rr)
		c.Header().Name = owner
		dst = append(dst, c)
	}
	return dst
}

// cut returns the topmost delegation at or above name, below the apex. A DS
// query at the cut itself belongs to the parent side.
func (z *Zone) cut(name string, qtype uint16) *node {
	if z.cuts == 0 {
		return nil
	}
	if c := z.cutName(name, qtype); c != "" {
		return z.node(c)
	}
	return nil
}

// cutName is cut's owner name, or "".
func (z *Zone) cutName(name string, qtype uint16) string {
	if z.cuts == 0 {
		return ""
	}
	found := ""
	for off := 0; ; {
		cand := name[off:]
		if len(cand) <= len(z.origin) {
			return found
		}
		if n := z.node(cand); n != nil && n.cut && !(off == 0 && qtype == mdns.TypeDS) {
			found = cand
		}
		next, end := mdns.NextLabel(name, off)
		if end {
			return found
		}
		off = next
	}
}

// addresses appends the A and AAAA records of a name in the zone (glue
// included) to the additional section.
func (z *Zone) addresses(extra []mdns.RR, name string) []mdns.RR {
	n := z.node(strings.ToLower(name))
	if n == nil {
		return extra
	}
	extra = append(extra, n.get(mdns.TypeA)...)
	return append(extra, n.get(mdns.TypeAAAA)...)
}

// negativeSOA is the SOA of negative answers.
func (z *Zone) negativeSOA() mdns.RR { return z.neg }

// negSOA gives the SOA the TTL RFC 2308 asks of negative answers: the lesser
// of its own TTL and its MINIMUM field.
func negSOA(soa *mdns.SOA) *mdns.SOA {
	if soa.Hdr.Ttl <= soa.Minttl {
		return soa
	}
	s := *soa
	s.Hdr.Ttl = s.Minttl
	return &s
}
