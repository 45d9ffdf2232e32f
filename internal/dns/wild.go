package dns

import (
	"slices"
	"strings"
)

// The wildcard index answers, without the binary search of Zone.names, the
// question the UDP path asks for every name under an IPv6 allocation: is
// this missing name answered by a wildcard? A name Q below P, where *.P
// exists, is synthesized from *.P when nothing exists between P and Q, that
// is when the label of Q right below P is not the label below P of any
// existing name (the "kids" of P, "*" included). The index keeps, for each
// wildcard's parent P, its kids; a lookup is one map access per depth at
// which wildcards sit. The binary search touched a dozen cache lines of a
// 60,000-name list per query, a tenth of the server's CPU under dnsperf.

// maxKids bounds what is kept per parent: a parent with more is left to
// the full lookup, so that a wildcard at the apex of a large zone costs no
// scan of the zone on each change.
const maxKids = 64

// wildInfo is what the index knows of one wildcard parent.
type wildInfo struct {
	kids []string // sorted; nil with whole=false: not indexed
	// whole: kids lists every label below the parent. False when there
	// were too many, or a name with escapes made labels ambiguous.
	whole bool
}

// indexWildcards brings the index up to date after the owners in changed
// appeared or went; all rebuilds it.
func (z *Zone) indexWildcards(changed []string, all bool) {
	if all {
		z.wild = newShardedMap[string, wildInfo](0)
		z.wildDepths, z.wildByDepth, z.ownDepths = nil, nil, false
		for _, n := range z.names {
			if strings.HasPrefix(n, "*.") {
				z.reindexWildcard(n[2:])
			}
		}
		return
	}
	seen := map[string]bool{}
	for _, n := range changed {
		if strings.HasPrefix(n, "*.") && !seen[n[2:]] {
			seen[n[2:]] = true
			z.reindexWildcard(n[2:])
		}
		// Its ancestors that are wildcard parents may have a kid more or
		// less.
		for off := 0; ; {
			next, end := nextLabel(n, off)
			if end || len(n)-next < len(z.origin) {
				break
			}
			a := n[next:]
			if _, ok := z.wild.get(hashOwner(a), a); ok && !seen[a] {
				seen[a] = true
				z.reindexWildcard(a)
			}
			off = next
		}
	}
}

// nextLabel is mdns.NextLabel, which the index needs without importing its
// escape handling: names with escapes are never indexed.
func nextLabel(s string, off int) (int, bool) {
	i := strings.IndexByte(s[off:], '.')
	if i < 0 || off+i+1 >= len(s) {
		return len(s), true
	}
	return off + i + 1, false
}

// reindexWildcard recomputes the entry of parent p.
func (z *Zone) reindexWildcard(p string) {
	h := hashOwner(p)
	_, had := z.wild.get(h, p)
	if z.node("*."+p) == nil {
		if had {
			z.wild.del(h, p)
			z.wildDepth(p, -1)
		}
		return
	}
	info := wildInfo{whole: true}
	i := z.search(p)
	if i < len(z.names) && z.names[i] == p {
		i++
	}
	for i < len(z.names) {
		n := z.names[i]
		if len(n) <= len(p) || !strings.HasSuffix(n, p) || n[len(n)-len(p)-1] != '.' {
			break
		}
		if strings.IndexByte(n, '\\') >= 0 || len(info.kids) >= maxKids {
			info = wildInfo{}
			break
		}
		above := n[:len(n)-len(p)-1]
		kid := above[strings.LastIndexByte(above, '.')+1:]
		info.kids = append(info.kids, kid)
		// Past the kid's subtree: the names below kid.p follow it, and
		// "\x00kid.p" sorts after them all (a '.' ranks first) and
		// before any sibling. A parent with a big subtree under one
		// label costs a search, not a scan of the subtree.
		i = max(i+1, z.search("\x00"+n[len(n)-len(p)-len(kid)-1:]))
	}
	slices.Sort(info.kids)
	info.kids = slices.Compact(info.kids)
	z.wild.set(h, p, info)
	if !had {
		z.wildDepth(p, 1)
	}
}

// wildDepth counts wildcard parents by label count, and keeps the counts
// that have some, deepest first.
func (z *Zone) wildDepth(p string, delta int) {
	d := strings.Count(p, ".")
	if z.wildByDepth == nil || !z.ownDepths {
		m := make(map[int]int, len(z.wildByDepth)+1)
		for k, v := range z.wildByDepth {
			m[k] = v
		}
		z.wildByDepth, z.ownDepths = m, true
	}
	z.wildByDepth[d] += delta
	if z.wildByDepth[d] <= 0 {
		delete(z.wildByDepth, d)
	}
	z.wildDepths = z.wildDepths[:0:0]
	for k := range z.wildByDepth {
		z.wildDepths = append(z.wildDepths, k)
	}
	slices.SortFunc(z.wildDepths, func(a, b int) int { return b - a })
}

// indexedWildcard returns the parent of the wildcard that synthesizes the
// lowercased missing-or-not name, given its label offsets: found=true and
// the parent when the index knows, found=false when it cannot tell (the
// caller then searches as before).
func (z *Zone) indexedWildcard(name string, offs []int) (parent string, found bool) {
	for _, d := range z.wildDepths {
		// name[offs[k]:] has len(offs)-k labels.
		k := len(offs) - d
		if k < 1 {
			continue
		}
		p := name[offs[k]:]
		info, ok := z.wild.get(hashOwner(p), p)
		if !ok {
			continue
		}
		if !info.whole {
			return "", false
		}
		kid := name[offs[k-1] : offs[k]-1]
		if _, in := slices.BinarySearch(info.kids, kid); in {
			return "", false // something exists between p and name
		}
		return p, true
	}
	return "", false
}
