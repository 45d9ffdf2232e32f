package dns_test

import (
	"context"
	"fmt"
	"net/netip"

	"maillon/internal/dns"

	mdns "github.com/miekg/dns"
)

func Example() {
	src := dns.Source{
		Zones:   []dns.ZoneConfig{{Origin: "example.org.", NS: []string{"ns1.example.org."}}},
		Reverse: dns.ZoneConfig{NS: []string{"ns1.example.org."}},
		Records: []dns.Record{{Zone: "example.org.", Name: "ns1", Type: "A", Data: "192.0.2.53"}},
		Prefixes: []dns.Prefix{{Prefix: netip.MustParsePrefix("198.51.100.0/24"),
			PTRTemplate: "{login}.dsl.example.org.", Forward: true}},
		Allocations: []dns.Allocation{{Login: "alice", Prefix: netip.MustParsePrefix("198.51.100.6/32")}},
	}
	srv := dns.NewServer(dns.Config{Addr: "127.0.0.1:0"})
	if _, err := srv.Update(src); err != nil {
		panic(err)
	}
	if err := srv.Start(); err != nil {
		panic(err)
	}
	defer srv.Stop(context.Background())

	m := new(mdns.Msg)
	m.SetQuestion("6.100.51.198.in-addr.arpa.", mdns.TypePTR)
	r, err := mdns.Exchange(m, srv.Addr())
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Answer[0].(*mdns.PTR).Ptr)
	fmt.Println(srv.Snapshot().Origins())
	// Output:
	// alice.dsl.example.org.
	// [100.51.198.in-addr.arpa. example.org.]
}
