package dns

import (
	"math/rand/v2"
	"net/netip"
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
