package dns

import (
	"net/netip"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// FuzzRespond feeds arbitrary packets to the query path: whatever parses as
// a DNS message must get a reply that packs, or none, and never a panic.
// `go test` runs the seeds; `go test -fuzz FuzzRespond ./internal/dns` explores.
func FuzzRespond(f *testing.F) {
	seed := func(name string, qtype uint16, edns bool, mutate func(*mdns.Msg)) {
		m := new(mdns.Msg)
		m.SetQuestion(name, qtype)
		if edns {
			m.SetEdns0(4096, true)
		}
		if mutate != nil {
			mutate(m)
		}
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	seed("www.example.org.", mdns.TypeA, false, nil)
	seed("x.users.example.org.", mdns.TypeTXT, true, nil)
	seed("deeper.sub.example.org.", mdns.TypeDS, true, nil)
	seed("6.100.51.198.in-addr.arpa.", mdns.TypePTR, true, nil)
	seed("example.org.", mdns.TypeANY, false, nil)
	seed("example.org.", mdns.TypeIXFR, false, func(m *mdns.Msg) {
		m.Ns = []mdns.RR{&mdns.SOA{Hdr: hdr("example.org.", mdns.TypeSOA, 0), Ns: ".", Mbox: ".", Serial: 1}}
	})
	seed("loop1.example.org.", mdns.TypeA, true, func(m *mdns.Msg) { m.Opcode = mdns.OpcodeNotify })
	seed("example.org.", mdns.TypeSOA, true, func(m *mdns.Msg) { m.IsEdns0().SetVersion(3) })
	seed("big.example.org.", mdns.TypeTXT, false, func(m *mdns.Msg) { m.Question[0].Qclass = mdns.ClassCHAOS })
	f.Add([]byte{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1}, false) // compression loop
	f.Add([]byte{}, false)

	snap, err := Build(testSource(), nil, time.Now())
	if err != nil {
		f.Fatal(err)
	}
	s := NewServer(Config{})
	src := netip.MustParseAddr("192.0.2.1")
	f.Fuzz(func(t *testing.T, pkt []byte, tcp bool) {
		// The UDP fast path reads raw bytes first.
		if out, _ := s.fast(snap, pkt, nil, nil, src); out != nil {
			var r mdns.Msg
			if err := r.Unpack(out); err != nil {
				t.Fatalf("fast reply does not unpack: %v", err)
			}
		}
		req := new(mdns.Msg)
		if err := req.Unpack(pkt); err != nil {
			return // the listener answers unparsable packets itself, or not at all
		}
		key := ""
		if req.IsTsig() != nil {
			key = testKeyName // as if verified: the signing path must hold too
		}
		if len(req.Question) == 1 && req.Question[0].Qtype == mdns.TypeIXFR {
			if z := snap.Zone(req.Question[0].Name); z != nil {
				z.ixfr(req) // the TCP transfer path reads the client's SOA
			}
		}
		m := s.respond(snap, req, src, key, tcp)
		if m == nil {
			return
		}
		if key != "" {
			m.Extra = m.Extra[:len(m.Extra)-1] // the writer signs; here just pack
		}
		b, err := m.Pack()
		if err != nil {
			t.Fatalf("reply does not pack: %v\n%v", err, m)
		}
		if !tcp && len(b) > 65535 {
			t.Fatalf("UDP reply of %d bytes", len(b))
		}
	})
}
