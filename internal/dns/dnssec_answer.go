package dns

import (
	"slices"

	mdns "github.com/miekg/dns"
)

// The DNSSEC side of answers to queries with the DO bit (RFC 4035 section
// 3.1): the signatures of the RRsets answered, and the NSEC records that
// prove a name or type absent. Without DO answers do not change.

// referral adds, after the NS of a delegation, its signed DS or the NSEC
// proving it has none (RFC 4035 section 3.1.4).
func (sg *signing) referral(ns []mdns.RR, name string, cut *node) []mdns.RR {
	if ds := cut.get(mdns.TypeDS); ds != nil {
		ns = append(ns, ds...)
		return append(ns, sg.sigsOf(name, mdns.TypeDS)...)
	}
	return append(ns, sg.nsecAt(name)...)
}

// nxdomain adds the SOA's signature and the proofs that the name does not
// exist and that no wildcard at its closest encloser could answer it.
func (sg *signing) nxdomain(ns []mdns.RR, name, encloser string) []mdns.RR {
	ns = append(ns, sg.negSig)
	ns = appendNew(ns, sg.covering(name))
	return appendNew(ns, sg.covering("*."+encloser))
}

// nodata adds the SOA's signature and the proof that the name has no
// record of the type: its NSEC, the NSEC covering an empty non-terminal,
// or for a wildcard the wildcard's NSEC (the proof that the name does not
// exist is already there).
func (sg *signing) nodata(ns []mdns.RR, name, owner string, n *node, synth bool) []mdns.RR {
	ns = append(ns, sg.negSig)
	switch {
	case synth:
		return appendNew(ns, sg.nsecAt(owner))
	case len(n.sets) == 0:
		return appendNew(ns, sg.covering(name))
	}
	return appendNew(ns, sg.nsecAt(name))
}

// ofType answers the NSEC and RRSIG types, which live apart from the data.
func (sg *signing) ofType(name string, t uint16) []mdns.RR {
	s := sg.owner(name)
	if s == nil {
		return nil
	}
	if t == mdns.TypeNSEC {
		return []mdns.RR{s.nsec}
	}
	return s.sigs
}

// appendNew appends the records not in dst yet: one NSEC may prove both
// that a name does not exist and that no wildcard does.
func appendNew(dst, rrs []mdns.RR) []mdns.RR {
	for _, rr := range rrs {
		if !slices.Contains(dst, rr) {
			dst = append(dst, rr)
		}
	}
	return dst
}
