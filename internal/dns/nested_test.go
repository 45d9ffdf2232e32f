package dns

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

// A pool nested in an aggregate gets no zone of its own: its PTRs go to the
// aggregate's zones under their ordinary names, not RFC 2317 ones.
func TestNestedPoolsUseTheAggregatesZones(t *testing.T) {
	src := Source{
		Reverse: ZoneConfig{NS: []string{"ns1.example.org."}, Hostmaster: "hostmaster@example.org"},
		Prefixes: []Prefix{
			{Prefix: netip.MustParsePrefix("198.51.100.0/24")},
			{Prefix: netip.MustParsePrefix("198.51.100.0/25"), PTRTemplate: "{login}.dsl.example.org."},
			{Prefix: netip.MustParsePrefix("2001:db8::/32")},
			{Prefix: netip.MustParsePrefix("2001:db8:100::/40"), PTRTemplate: "ip-{ip}.example.org."},
		},
		Allocations: []Allocation{
			{Login: "demo1@DEMO", Prefix: netip.MustParsePrefix("198.51.100.1/32")},
			{Login: "demo1@DEMO", Prefix: netip.MustParsePrefix("2001:db8:100::/64")},
		},
	}
	snap, err := Build(src, nil, time.Unix(1_700_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	origins := strings.Join(snap.Origins(), " ")
	if origins != "100.51.198.in-addr.arpa. 8.b.d.0.1.0.0.2.ip6.arpa." {
		t.Fatalf("zones = %s", origins)
	}
	v4 := snap.Zone("100.51.198.in-addr.arpa.").Text()
	if !strings.Contains(v4, "1.100.51.198.in-addr.arpa.") || !strings.Contains(v4, "demo1-demo.dsl.example.org.") {
		t.Fatalf("IPv4 reverse zone:\n%s", v4)
	}
	v6 := snap.Zone("8.b.d.0.1.0.0.2.ip6.arpa.").Text()
	if !strings.Contains(v6, "ip-2001-db8-100--1.example.org.") {
		t.Fatalf("IPv6 reverse zone:\n%s", v6)
	}
}
