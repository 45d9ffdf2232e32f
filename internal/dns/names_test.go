package dns

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// refExists is what the zone's nodes meant when they included the empty
// non-terminals: an owner, or an ancestor of one.
func refExists(owners []string, name string) bool {
	for _, o := range owners {
		if o == name || strings.HasSuffix(o, "."+name) && mdns.IsSubDomain(name, o) {
			return true
		}
	}
	return false
}

// TestNameIndexMatchesMaterialisedNodes checks existence and closest
// enclosers derived from the sorted owners against the brute-force
// definition, on random names around random owners, escaped dots included.
func TestNameIndexMatchesMaterialisedNodes(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	labels := []string{"a", "b", "ab", "-a", "a-", "0", "1", "*", "a\\.b", "b\\.", "\\\\", "zz", "a0", "_x"}
	randName := func(origin string) string {
		n := origin
		for range rng.IntN(5) {
			n = labels[rng.IntN(len(labels))] + "." + n
		}
		return n
	}
	for round := range 300 {
		origin := []string{"example.org.", "8.b.d.0.1.0.0.2.ip6.arpa.", "org."}[round%3]
		z := &Zone{origin: origin, labels: mdns.CountLabel(origin), nodes: map[string]*node{origin: {}}, names: []string{origin}}
		owners := []string{origin}
		var born []string
		for range 1 + rng.IntN(30) {
			n := randName(origin)
			if !slices.Contains(owners, n) {
				owners = append(owners, n)
				born = append(born, n)
				z.nodes[n] = &node{sets: []rrset{{t: mdns.TypeA}}}
			}
		}
		z.names = mergeNames(z.names, born, nil)
		for i := 1; i < len(z.names); i++ {
			if compareNames(z.names[i-1], z.names[i]) >= 0 {
				t.Fatalf("names out of order: %q", z.names)
			}
		}
		for range 100 {
			q := randName(origin)
			if rng.IntN(3) == 0 {
				q = randName(owners[rng.IntN(len(owners))])
			}
			got, want := z.lookup(q) != nil, refExists(owners, q)
			if got != want {
				t.Fatalf("%q among %q: exists %v, want %v", q, owners, got, want)
			}
			if want {
				continue
			}
			var buf [maxLabels]int
			offs := labelStarts(q, &buf)
			wantEnc := origin
			for i := len(offs) - z.labels - 1; i >= 1; i-- {
				if !refExists(owners, q[offs[i]:]) {
					break
				}
				wantEnc = q[offs[i]:]
			}
			if enc := z.closestEncloser(q, offs); enc != wantEnc {
				t.Fatalf("%q among %q: closest encloser %q, want %q", q, owners, enc, wantEnc)
			}
		}
		// Removing owners keeps the order and drops exactly them.
		gone := map[string]bool{}
		for _, o := range owners[1:] {
			if rng.IntN(2) == 0 {
				gone[o] = true
			}
		}
		kept := mergeNames(z.names, nil, gone)
		if len(kept) != len(z.names)-len(gone) {
			t.Fatalf("removing %v from %q gave %q", gone, z.names, kept)
		}
		for _, n := range kept {
			if gone[n] {
				t.Fatalf("removing %v from %q gave %q", gone, z.names, kept)
			}
		}
	}
}

func TestCompareNames(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"example.org.", "example.org.", 0},
		{"example.org.", "a.example.org.", -1},
		{"a.example.org.", "-example.org.", -1}, // descendants right after their ancestor
		{"b.a.example.org.", "-a.example.org.", -1},
		{"0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.1.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.1.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", -1},
		{"x.1.0.0.1.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", "1.0.0.1.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.", 1},
	} {
		if got := compareNames(c.a, c.b); got != c.want {
			t.Errorf("compareNames(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := compareNames(c.b, c.a); got != -c.want {
			t.Errorf("compareNames(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}

// TestEmptyNonTerminalsAreNotNodes checks what the index is for: an IPv6
// PTR brings one node, not one per nibble, and the names between still
// answer NODATA.
func TestEmptyNonTerminalsAreNotNodes(t *testing.T) {
	snap, err := Build(daemonShape(10), nil, time.Now())
	if err != nil || len(snap.Problems) > 0 {
		t.Fatal(err, snap.Problems)
	}
	z := snap.Zone("8.b.d.0.1.0.0.2.ip6.arpa.")
	// The apex, and per /64 the PTR on ::1 and the wildcard.
	if len(z.nodes) != 1+2*10 || len(z.names) != len(z.nodes) {
		t.Fatalf("%d nodes, %d names", len(z.nodes), len(z.names))
	}
	ptr := reverse("2001:db8:100::1")
	for off, end := mdns.NextLabel(ptr, 0); !end && ptr[off:] != z.origin; off, end = mdns.NextLabel(ptr, off) {
		if z.lookup(ptr[off:]) != emptyNonTerminal {
			t.Fatalf("%s: not an empty non-terminal", ptr[off:])
		}
	}
	if z.lookup(reverse("2001:db8:100::2")) != nil {
		t.Fatal("a name beside the PTR exists")
	}
}
