package dns

import (
	"math/rand/v2"
	"net/netip"
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
		z := &Zone{origin: origin, labels: mdns.CountLabel(origin), nodes: newShardedMap[string, *node](0), names: []string{origin}}
		z.setNode(origin, &node{})
		owners := []string{origin}
		var born []string
		for range 1 + rng.IntN(30) {
			n := randName(origin)
			if !slices.Contains(owners, n) {
				owners = append(owners, n)
				born = append(born, n)
				z.setNode(n, &node{sets: []rrset{{t: mdns.TypeA}}})
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
// allocation's wildcard PTR brings one node, not one per nibble, and the
// names between still answer NODATA.
func TestEmptyNonTerminalsAreNotNodes(t *testing.T) {
	snap, err := Build(daemonShape(10), nil, time.Now())
	if err != nil || len(snap.Problems) > 0 {
		t.Fatal(err, snap.Problems)
	}
	z := snap.Zone("8.b.d.0.1.0.0.2.ip6.arpa.")
	// The apex, and per /64 its wildcard.
	if z.nodes.len() != 1+10 || len(z.names) != z.nodes.len() {
		t.Fatalf("%d nodes, %d names", z.nodes.len(), len(z.names))
	}
	wild := "*." + prefixName(netip.MustParsePrefix("2001:db8:100::/64"))
	if z.lookup(wild) == nil || z.lookup(wild) == emptyNonTerminal {
		t.Fatalf("%s: no wildcard node", wild)
	}
	for off, end := mdns.NextLabel(wild, 2); !end && wild[off:] != z.origin; off, end = mdns.NextLabel(wild, off) {
		if z.lookup(wild[off:]) != emptyNonTerminal {
			t.Fatalf("%s: not an empty non-terminal", wild[off:])
		}
	}
	if z.lookup(reverse("2001:db8:100::2")) != nil {
		t.Fatal("a name under the wildcard exists")
	}
}

// TestWholeDelegatedPrefixAnswers: every address of a delegated /56 gets
// its PTR, in the first /64 (the CPE's LAN, beside prefix::1) as in the
// others. An exact PTR on prefix::1 used to hide the wildcard from its
// neighbours.
func TestWholeDelegatedPrefixAnswers(t *testing.T) {
	src := daemonShape(0)
	src.Allocations = []Allocation{{Login: "ada", Prefix: netip.MustParsePrefix("2001:db8:1:100::/56")}}
	snap, err := Build(src, nil, time.Now())
	if err != nil || len(snap.Problems) > 0 {
		t.Fatal(err, snap.Problems)
	}
	for _, addr := range []string{"2001:db8:1:100::1", "2001:db8:1:100::2", "2001:db8:1:100::42", "2001:db8:1:10f::1", "2001:db8:1:1ff:ffff:ffff:ffff:ffff"} {
		m := new(mdns.Msg)
		m.SetQuestion(reverse(addr), mdns.TypePTR)
		snap.answer(m, reverse(addr), mdns.TypePTR, true, false)
		if m.Rcode != mdns.RcodeSuccess || len(m.Answer) != 1 || m.Answer[0].(*mdns.PTR).Ptr != "ada.dsl.bench.example." {
			t.Errorf("%s: rcode %d, answer %v", addr, m.Rcode, m.Answer)
		}
	}
	m := new(mdns.Msg)
	outside := reverse("2001:db8:1:200::1")
	snap.answer(m, outside, mdns.TypePTR, true, false)
	if m.Rcode != mdns.RcodeNameError {
		t.Errorf("outside the /56: rcode %d, answer %v", m.Rcode, m.Answer)
	}
}
