package dns

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The wildcard index and the binary search over the zone's names agree on
// every name the index claims to answer, and the index answers most names
// under IPv6 allocations (else it would be a no-op that always falls back).
func TestWildcardIndexAgreesWithSearch(t *testing.T) {
	src := isp(100)
	for _, name := range []string{"*.w", "a.w", "b.c.w", "*.c.w", "*.deep.x", "y.deep.x", "*.z.y.deep.x"} {
		src.Records = append(src.Records, Record{Zone: "example.org", Name: name, Type: "A", TTL: 60, Data: "192.0.2.1"})
	}
	snap, err := Build(src, nil, time.Unix(1_700_000_000, 0))
	if err != nil || len(snap.Problems) > 0 {
		t.Fatal(err, snap.Problems)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	labels := []string{"a", "b", "c", "w", "x", "y", "z", "deep", "0", "1", "*"}
	var names []string
	for range 20000 {
		var b strings.Builder
		for range 1 + rng.IntN(4) {
			b.WriteString(labels[rng.IntN(len(labels))] + ".")
		}
		names = append(names, b.String()+"example.org.")
	}
	// Addresses in and around the first subscribers' /56s.
	for range 20000 {
		a := netip.MustParseAddr("2001:db8:100::").As16()
		a[5], a[6] = byte(rng.IntN(8)/7), byte(rng.IntN(110)) // 100 /56s from 2001:db8:100::
		for i := 7; i < 16; i++ {
			a[i] = byte(rng.IntN(256))
		}
		if rng.IntN(4) == 0 {
			a[7], a[8] = 0, 0 // the subscriber's own /64
		}
		names = append(names, reverse(netip.AddrFrom16(a).String()))
	}
	indexed := 0
	for _, name := range names {
		var lbuf [maxLabels]int
		offs := labelStarts(name, &lbuf)
		z := snap.findIn(name, offs)
		if z == nil {
			continue
		}
		p, ok := z.indexedWildcard(name, offs)
		if !ok {
			continue
		}
		indexed++
		// What the search says: the name does not exist, and the wildcard
		// of its closest encloser is *.p.
		if z.lookup(name) != nil {
			t.Fatalf("%s exists, yet the index synthesizes it from *.%s", name, p)
		}
		if enc := z.closestEncloser(name, offs); enc != p || z.node("*."+enc) == nil {
			t.Fatalf("%s: index says *.%s, the search finds closest encloser %s", name, p, enc)
		}
	}
	if indexed < 10000 {
		t.Fatalf("the index answered %d of %d names: it is not used", indexed, len(names))
	}
}

// A build that changes over a thousand owners reindexes every wildcard
// from scratch; the counts of wildcard depths must restart too, or a
// depth whose last wildcard goes later stays searched for ever.
func TestWildcardDepthsAfterABigChange(t *testing.T) {
	src := isp(10)
	src.Records = append(src.Records, Record{Zone: "example.org", Name: "*.a.b.w", Type: "A", TTL: 60, Data: "192.0.2.1"})
	now := time.Unix(1_700_000_000, 0)
	prev, err := Build(src, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1100 {
		src.Records = append(src.Records, Record{Zone: "example.org", Name: "h" + strconv.Itoa(i), Type: "A", TTL: 60, Data: "192.0.2.2"})
	}
	if prev, err = Build(src, prev, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	src.Records = slices.DeleteFunc(src.Records, func(r Record) bool { return r.Name == "*.a.b.w" })
	inc, err := Build(src, prev, now.Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	full, err := Build(src, nil, now.Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	zi, zf := inc.Zone("example.org"), full.Zone("example.org")
	if !slices.Equal(zi.wildDepths, zf.wildDepths) {
		t.Fatalf("wildcard depths searched %v (counts %v), a full build has %v", zi.wildDepths, zi.wildByDepth, zf.wildDepths)
	}
}

// Wildcards, names under them, escaped names and empty non-terminals come
// and go build after build; after each, every name the index answers
// agrees with the search over the zone's names.
func TestWildcardIndexFollowsIncrementalBuilds(t *testing.T) {
	base := isp(5)
	rng := rand.New(rand.NewPCG(9, 9))
	pool := []string{"*.w", "a.w", "b.c.w", "*.c.w", "*.deep.x", "y.deep.x", "*.z.y.deep.x", `a\.w`, `q\.c.w`, "*", "w", "m.n.w", "*.n.w", "*.*.w", "k.*.w"}
	on := map[string]bool{}
	now := time.Unix(1_700_000_000, 0)
	prev, err := Build(base, nil, now)
	if err != nil {
		t.Fatal(err)
	}
	labels := []string{"a", "b", "c", "w", "x", "y", "z", "deep", "n", "m", "q", "k", "*"}
	indexed := 0
	for step := range 300 {
		for range 1 + rng.IntN(3) {
			n := pool[rng.IntN(len(pool))]
			on[n] = !on[n]
		}
		src := base
		src.Records = slices.Clone(base.Records)
		for _, n := range pool { // in pool order: the same source for the same set
			if on[n] {
				src.Records = append(src.Records, Record{Zone: "example.org", Name: n, Type: "A", TTL: 60, Data: "192.0.2.1"})
			}
		}
		snap, err := Build(src, prev, now.Add(time.Duration(step+1)*time.Second))
		if err != nil || len(snap.Problems) > 0 {
			t.Fatal(err, snap.Problems)
		}
		prev = snap
		z := snap.Zone("example.org")
		for range 2000 {
			var b strings.Builder
			for range 1 + rng.IntN(4) {
				b.WriteString(labels[rng.IntN(len(labels))] + ".")
			}
			name := b.String() + "example.org."
			var lbuf [maxLabels]int
			offs := labelStarts(name, &lbuf)
			p, ok := z.indexedWildcard(name, offs)
			if !ok {
				continue
			}
			indexed++
			if z.lookup(name) != nil {
				t.Fatalf("step %d: %s exists, yet the index synthesizes it from *.%s", step, name, p)
			}
			if enc := z.closestEncloser(name, offs); enc != p || z.node("*."+enc) == nil {
				t.Fatalf("step %d: %s: index says *.%s, the search finds closest encloser %s", step, name, p, enc)
			}
		}
	}
	if indexed == 0 {
		t.Fatal("the index never answered")
	}
}
