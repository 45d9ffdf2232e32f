package dns

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// isp is a registry of n subscribers, each with an IPv4 /32 (A + PTR) and an
// IPv6 /56 (AAAA + PTR + wildcard PTR): for 20,000 subscribers a forward zone
// of 40,000 records.
func isp(n int) Source {
	src := testSource()
	src.Prefixes = []Prefix{
		{Prefix: netip.MustParsePrefix("100.64.0.0/16"), PTRTemplate: "{login}.dsl.example.org.", Forward: true},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), PTRTemplate: "{login}.v6.example.org.", Forward: true},
	}
	src.Allocations = nil
	v4 := netip.MustParseAddr("100.64.0.1")
	v6 := netip.MustParsePrefix("2001:db8:100::/56")
	for i := range n {
		login := fmt.Sprintf("sub%05d", i)
		src.Allocations = append(src.Allocations,
			Allocation{Login: login, Prefix: netip.PrefixFrom(v4, 32)},
			Allocation{Login: login, Prefix: v6})
		v4 = v4.Next()
		v6 = netip.PrefixFrom(nextPrefixAddr(v6), 56)
	}
	return src
}

func TestISPSize(t *testing.T) {
	snap, err := Build(isp(1000), nil, time.Now())
	if err != nil || len(snap.Problems) > 0 {
		t.Fatal(err, snap.Problems)
	}
	fwd := 0
	for _, rr := range snap.Zone("example.org").Records() {
		if t := rr.Header().Rrtype; t == mdns.TypeA || t == mdns.TypeAAAA {
			fwd++
		}
	}
	// 2000 subscriber addresses + the hand-made records' 6.
	if fwd != 2006 {
		t.Fatalf("%d forward addresses", fwd)
	}
}

// BenchmarkRebuild measures a registry change on a 20,000-subscriber ISP:
// the rebuild against the previous snapshot that Server.Update does, which
// bounds how soon a change is served.
func BenchmarkRebuild(b *testing.B) {
	src := isp(20000)
	prev, err := Build(src, nil, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		src.Allocations[0].ReverseName = fmt.Sprintf("host%d.example.net", i)
		next, err := Build(src, prev, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		prev = next
	}
}

func BenchmarkAnswer(b *testing.B) {
	snap, err := Build(isp(20000), nil, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	s := NewServer(Config{})
	req := new(mdns.Msg)
	req.SetQuestion("sub01234.dsl.example.org.", mdns.TypeA)
	req.SetEdns0(1232, false)
	src := netip.MustParseAddr("192.0.2.1")
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		m := s.respond(snap, req, src, "", false)
		if _, err := m.Pack(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFullBuild is the start-up build, and any change of a zone's
// shape (SOA, NS, prefixes), on a 20,000-subscriber registry.
func BenchmarkFullBuild(b *testing.B) {
	src := isp(20000)
	b.ResetTimer()
	for range b.N {
		if _, err := Build(src, nil, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFastHit is the UDP path of a cached answer, without the system
// calls: parse, cache lookup, copy and patch.
func BenchmarkFastHit(b *testing.B) {
	snap, err := Build(isp(20000), nil, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	s := NewServer(Config{})
	req := new(mdns.Msg)
	req.SetQuestion("sub01234.dsl.example.org.", mdns.TypeA)
	pkt, _ := req.Pack()
	src := netip.MustParseAddr("192.0.2.1")
	if out, _ := s.fast(snap, pkt, nil, nil, src); out == nil {
		b.Fatal("no fast answer")
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		out, key := make([]byte, 0, 4096), make([]byte, 0, 300)
		for pb.Next() {
			out, key = s.fast(snap, pkt, out, key, src)
		}
	})
}

// BenchmarkFastWildcard is an address inside a subscriber's /56: the
// wildcard template with the name spliced in.
func BenchmarkFastWildcard(b *testing.B) {
	snap, err := Build(isp(20000), nil, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	s := NewServer(Config{})
	req := new(mdns.Msg)
	req.SetQuestion(reverse("2001:db8:100:1234::77"), mdns.TypePTR)
	pkt, _ := req.Pack()
	src := netip.MustParseAddr("192.0.2.1")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		out, key := make([]byte, 0, 4096), make([]byte, 0, 300)
		for pb.Next() {
			out, key = s.fast(snap, pkt, out, key, src)
		}
	})
}
