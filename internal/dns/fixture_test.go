package dns

import (
	"context"
	"net/netip"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

const (
	testKeyName   = "transfer.example.org."
	testKeySecret = "c2VjcmV0LWtleS1mb3ItbWFpbGxvbi10ZXN0cy0wMQ=="
)

var testKey = TSIGKey{Name: testKeyName, Algorithm: "hmac-sha256", Secret: testKeySecret}

// testSource is a small registry: a forward zone with every kind of record,
// a /24 and a classless /26 of IPv4, an IPv6 /32, and three subscribers.
func testSource() Source {
	zone := func(origin string) ZoneConfig {
		return ZoneConfig{
			Origin:     origin,
			NS:         []string{"ns1.example.org.", "ns2.example.net."},
			Hostmaster: "hostmaster@example.org",
			TTL:        3600,
			Transfer:   []ACL{{Key: testKeyName}},
		}
	}
	return Source{
		Zones:   []ZoneConfig{zone("example.org")},
		Reverse: zone(""),
		Keys:    []TSIGKey{testKey},
		Records: []Record{
			{Zone: "example.org", Name: "ns1", Type: "A", Data: "192.0.2.53"},
			{Zone: "example.org", Name: "@", Type: "MX", Data: "10 mail"},
			{Zone: "example.org", Name: "mail", Type: "A", Data: "192.0.2.25"},
			{Zone: "example.org", Name: "mail", Type: "AAAA", Data: "2001:db8::25"},
			{Zone: "example.org", Name: "www", Type: "CNAME", Data: "web"},
			{Zone: "example.org", Name: "web", Type: "CNAME", Data: "front.example.org."},
			{Zone: "example.org", Name: "front", Type: "A", Data: "192.0.2.80"},
			{Zone: "example.org", Name: "out", Type: "CNAME", Data: "www.example.com."},
			{Zone: "example.org", Name: "loop1", Type: "CNAME", Data: "loop2"},
			{Zone: "example.org", Name: "loop2", Type: "CNAME", Data: "loop1"},
			{Zone: "example.org", Name: "*.users", Type: "A", Data: "192.0.2.99"},
			{Zone: "example.org", Name: "*.users", Type: "TXT", Data: `"wildcard"`},
			{Zone: "example.org", Name: "a.b.deep", Type: "TXT", Data: `"deep"`},
			{Zone: "example.org", Name: "_sip._udp", Type: "SRV", Data: "10 5 5060 mail"},
			{Zone: "example.org", Name: "@", Type: "CAA", Data: `0 issue "letsencrypt.org"`},
			{Zone: "example.org", Name: "@", Type: "TXT", Data: `"v=spf1 mx -all"`},
			{Zone: "example.org", Name: "host", Type: "SSHFP", Data: "4 2 123456789abcdef67890123456789abcdef67890123456789abcdef123456789"},
			{Zone: "example.org", Name: "_25._tcp.mail", Type: "TLSA", Data: "3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6"},
			{Zone: "example.org", Name: "sub", Type: "NS", Data: "ns.sub"},
			{Zone: "example.org", Name: "ns.sub", Type: "A", Data: "192.0.2.54"},
			{Name: "big.example.org.", Type: "TXT", Data: bigTXT()},
		},
		Prefixes: []Prefix{
			{Prefix: netip.MustParsePrefix("198.51.100.0/24"), PTRTemplate: "{login}.dsl.example.org.", Forward: true},
			{Prefix: netip.MustParsePrefix("203.0.113.64/26"), PTRTemplate: "ip-{ip}.example.org."},
			{Prefix: netip.MustParsePrefix("2001:db8::/32"), PTRTemplate: "{login}.v6.example.org.", Forward: true},
		},
		Allocations: []Allocation{
			{Login: "alice", Prefix: netip.MustParsePrefix("198.51.100.6/32")},
			{Login: "alice", Prefix: netip.MustParsePrefix("2001:db8:1:100::/56")},
			{Login: "Bob_42", Prefix: netip.MustParsePrefix("198.51.100.7/32")},
			{Login: "carol", Prefix: netip.MustParsePrefix("203.0.113.70/32")},
			{Login: "dave", Prefix: netip.MustParsePrefix("198.51.100.8/32"), ReverseName: "mx.dave-family.net"},
		},
	}
}

// bigTXT is a record too large for a 512-byte reply.
func bigTXT() string {
	s := ""
	for i := 0; i < 8; i++ {
		s += `"` + string(make([]byte, 0)) + "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789" + `" `
	}
	return s
}

func startServer(t *testing.T, src Source, cfg Config) *Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	s := NewServer(cfg)
	snap, err := s.Update(src)
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if len(snap.Problems) > 0 {
		t.Fatalf("problems: %v", snap.Problems)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return s
}

func query(t *testing.T, addr, name string, qtype uint16, netw string, edns int) *mdns.Msg {
	t.Helper()
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(name), qtype)
	m.RecursionDesired = false
	if edns > 0 {
		m.SetEdns0(uint16(edns), false)
	}
	c := &mdns.Client{Net: netw, Timeout: 5 * time.Second, UDPSize: uint16(edns)}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("query %s %s over %s: %v", name, mdns.TypeToString[qtype], netw, err)
	}
	return r
}
