package dns

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"time"
)

// daemonShape is the registry of `maillon serve` in bench/registry: n
// subscribers with an IPv4 /32 and an IPv6 /64, each given a PTR from a
// template (the /64's on prefix::1, plus its wildcard), no forward records.
func daemonShape(n int) Source {
	src := testSource()
	src.Records = nil
	src.Prefixes = []Prefix{
		{Prefix: netip.MustParsePrefix("100.64.0.0/16"), PTRTemplate: "{login}.dsl.bench.example."},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), PTRTemplate: "{login}.dsl.bench.example."},
	}
	src.Allocations = nil
	v4 := netip.MustParseAddr("100.64.0.1")
	v6 := netip.MustParsePrefix("2001:db8:100::/64")
	for i := range n {
		login := fmt.Sprintf("sub%05d", i)
		src.Allocations = append(src.Allocations,
			Allocation{Login: login, Prefix: netip.PrefixFrom(v4, 32)},
			Allocation{Login: login, Prefix: v6})
		v4 = v4.Next()
		v6 = netip.PrefixFrom(nextPrefixAddr(v6), 64)
	}
	return src
}

var keepSnap *Snapshot

// BenchmarkLiveHeap reports the heap a built snapshot keeps alive: the
// daemon's shape (PTRs for 20,000 /32s and /64s) and the dnsperf registry's
// (forward and reverse records, /56 wildcards).
func BenchmarkLiveHeap(b *testing.B) {
	for _, c := range []struct {
		name string
		src  Source
	}{{"daemon20k", daemonShape(20000)}, {"isp20k", isp(20000)}} {
		b.Run(c.name, func(b *testing.B) {
			var live float64
			for range b.N {
				keepSnap = nil
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				snap, err := Build(c.src, nil, time.Now())
				if err != nil || len(snap.Problems) > 0 {
					b.Fatal(err, snap.Problems)
				}
				keepSnap = snap
				runtime.GC()
				runtime.ReadMemStats(&after)
				live = float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
			}
			b.ReportMetric(live, "live-MiB")
		})
	}
}
