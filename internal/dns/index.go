package dns

import (
	"slices"
	"time"

	mdns "github.com/miekg/dns"
)

// entry counts the inputs that gave one record: two allocations may give the
// same PTR, and it stays until both are gone.
type entry struct {
	n  int32
	rr mdns.RR // the first input's record, as found in rrset.src
}

// skeleton returns an empty zone with the configuration's SOA, its maps
// sized for about n records.
func (zb *zoneBuild) skeleton(n int) *Zone {
	nodes := newShardedMap[string, *node](n)
	nodes.set(hashOwner(zb.origin), zb.origin, &node{})
	return &Zone{
		origin: zb.origin,
		labels: mdns.CountLabel(zb.origin),
		soa:    zb.soa,
		nodes:  nodes,
		names:  []string{zb.origin},
		count:  newShardedMap[recKey, entry](n),
		notify: zb.cfg.Notify,
		push:   zb.cfg.Push,
		acl:    zb.cfg.Transfer,
	}
}

// clone returns a copy of z whose indexes can be patched without touching z,
// which readers may still be using (apply replaces names rather than change
// it).
func (z *Zone) clone() *Zone {
	c := *z
	c.nodes = z.nodes.fork()
	c.count = z.count.fork()
	c.wild = z.wild.fork()
	c.ownDepths = false
	return &c
}

type setID struct {
	name string
	t    uint16
}

// apply removes dels and adds adds, and returns the served records that
// left and entered the zone: a record moved from one input to another is
// neither, a changed RRset TTL is both.
func (z *Zone) apply(adds, dels []placed) (added, deleted []mdns.RR) {
	before := map[setID][]mdns.RR{}
	existed := map[string]bool{} // owners touched → whether they had a node
	touch := func(rr mdns.RR) {
		id := setID{rr.Header().Name, rr.Header().Rrtype}
		if _, ok := existed[id.name]; !ok {
			existed[id.name] = z.node(id.name) != nil
		}
		if _, ok := before[id]; !ok {
			var old []mdns.RR
			if n := z.node(id.name); n != nil {
				old = n.get(id.t)
			}
			before[id] = old
		}
	}
	for _, d := range dels {
		e, ok := z.countOf(d.key)
		if !ok {
			continue
		}
		if e.n > 1 {
			e.n--
			z.setCount(d.key, e)
			continue
		}
		touch(e.rr)
		z.delCount(d.key)
		z.remove(e.rr)
	}
	for _, a := range adds {
		if e, ok := z.countOf(a.key); ok {
			e.n++
			z.setCount(a.key, e)
			continue
		}
		touch(a.rr)
		z.setCount(a.key, entry{1, a.rr})
		z.insert(a.rr)
	}
	var born []string
	gone := map[string]bool{}
	for name, had := range existed {
		switch has := z.node(name) != nil; {
		case has && !had:
			born = append(born, name)
		case had && !has:
			gone[name] = true
		}
	}
	z.names = mergeNames(z.names, born, gone)
	changed := born
	for n := range gone {
		changed = append(changed, n)
	}
	z.indexWildcards(changed, len(changed) > 1000)
	for id, old := range before {
		var now []mdns.RR
		if n := z.node(id.name); n != nil {
			now = n.get(id.t)
		}
		a, d := diffSets(now, old)
		added, deleted = append(added, a...), append(deleted, d...)
	}
	return added, deleted
}

// diffSets compares two lists of records by their text.
func diffSets(now, old []mdns.RR) (added, deleted []mdns.RR) {
	if len(old) == 0 {
		return now, nil
	}
	if len(now) == 0 {
		return nil, old
	}
	seen := make(map[string]bool, len(old))
	for _, rr := range old {
		seen[rr.String()] = true
	}
	for _, rr := range now {
		s := rr.String()
		if seen[s] {
			delete(seen, s)
		} else {
			added = append(added, rr)
		}
	}
	for _, rr := range old {
		if seen[rr.String()] {
			deleted = append(deleted, rr)
		}
	}
	return added, deleted
}

// compare lists what differs from the previous version of the zone, after a
// build from scratch.
func (z *Zone) compare(prev *Zone) (added, deleted []mdns.RR) {
	if prev == nil {
		return z.appendRecords(nil), nil
	}
	return diffSets(z.appendRecords(nil), prev.appendRecords(nil))
}

// version gives the zone its serial and journal: prev's when nothing
// changed, else the next serial and one more delta.
func (z *Zone) version(prev *Zone, added, deleted []mdns.RR, minSerial uint32, now time.Time) {
	if prev != nil && len(added) == 0 && len(deleted) == 0 && soaKey(prev.soa) == soaKey(z.soa) && minSerial <= prev.serial {
		z.serial, z.journal, z.soa, z.neg = prev.serial, prev.journal, prev.soa, prev.neg
		return
	}
	serial := uint32(now.Unix())
	if prev != nil && prev.serial+1 > serial {
		serial = prev.serial + 1
	}
	serial = max(serial, minSerial)
	soa := *z.soa
	soa.Serial = serial
	z.serial, z.soa = serial, &soa
	z.neg = negSOA(z.soa)
	z.journal = nil
	if prev != nil {
		d := Delta{From: prev.serial, To: serial, Deleted: deleted, Added: added}
		z.journal = trimJournal(append(slices.Clip(prev.journal), d), z.count.len())
	}
}

// served computes the records served from an RRset's inputs: the inputs
// themselves unless their TTLs differ, then copies at the smallest TTL
// without duplicates.
func served(src []mdns.RR) []mdns.RR {
	ttl := src[0].Header().Ttl
	same := true
	for _, rr := range src[1:] {
		if t := rr.Header().Ttl; t != ttl {
			same = false
			ttl = min(ttl, t)
		}
	}
	if same {
		return src
	}
	out := make([]mdns.RR, 0, len(src))
	seen := map[string]bool{}
	for _, rr := range src {
		k := dataKey(rr)
		if seen[k] {
			continue
		}
		seen[k] = true
		if rr.Header().Ttl != ttl {
			rr = mdns.Copy(rr)
			rr.Header().Ttl = ttl
		}
		out = append(out, rr)
	}
	return out
}

// update replaces the node of name by a copy with the RRset of type t
// changed by f; a node left without records goes, but for the apex's.
func (z *Zone) update(name string, t uint16, f func(src []mdns.RR) []mdns.RR) {
	var c node
	if n := z.node(name); n != nil {
		c = *n
	}
	wasCut := c.cut
	c.sets = slices.Clone(c.sets)
	i := slices.IndexFunc(c.sets, func(s rrset) bool { return s.t == t })
	var src []mdns.RR
	if i >= 0 {
		src = f(slices.Clip(c.sets[i].src))
	} else {
		src = f(nil)
	}
	switch {
	case len(src) == 0 && i >= 0:
		c.sets = slices.Delete(c.sets, i, i+1)
	case len(src) == 0:
	case i >= 0:
		c.sets[i] = rrset{t: t, src: src, rrs: served(src)}
	default:
		c.sets = append(c.sets, rrset{t: t, src: src, rrs: served(src)})
	}
	c.cut = name != z.origin && c.get(mdns.TypeNS) != nil
	switch {
	case c.cut && !wasCut:
		z.cuts++
	case !c.cut && wasCut:
		z.cuts--
	}
	if len(c.sets) == 0 && name != z.origin {
		z.delNode(name)
		return
	}
	z.setNode(name, &c)
}

func (z *Zone) insert(rr mdns.RR) {
	z.update(rr.Header().Name, rr.Header().Rrtype, func(src []mdns.RR) []mdns.RR { return append(src, rr) })
}

func (z *Zone) remove(rr mdns.RR) {
	name := rr.Header().Name
	if z.node(name) == nil {
		return
	}
	z.update(name, rr.Header().Rrtype, func(src []mdns.RR) []mdns.RR {
		return slices.DeleteFunc(slices.Clone(src), func(x mdns.RR) bool { return x == rr })
	})
}
