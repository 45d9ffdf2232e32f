package dns

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
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

	// Signed, so that DO queries go through the DNSSEC answers too.
	snap, err := Build(signedSource(f), nil, time.Now())
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
		// The whole handler too, transfers included, as over TCP.
		s.snap.Store(snap)
		s.ServeDNS(&fakeWriter{}, req.Copy())
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

// TestFastPathMatchesFullPath checks the UDP fast path (reply cache and
// wildcard templates) against the full path, twice so that the second
// answer comes from the cache.
func TestFastPathMatchesFullPath(t *testing.T) {
	snap, err := Build(testSource(), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(Config{})
	src := netip.MustParseAddr("192.0.2.1")
	long := strings.Repeat("abcdefghij.", 20)
	names := []string{
		"front.example.org.", "WWW.Example.org.", "nope.example.org.", "b.deep.example.org.",
		"anyone.USERS.example.org.", "x.y.users.example.org.", long + "users.example.org.",
		"sub.example.org.", "deeper.sub.example.org.", "big.example.org.", "example.org.",
		reverse("2001:db8:1:1ff::abcd"), reverse("2001:DB8:1:100::1"), "6.100.51.198.in-addr.arpa.",
		"out.example.org.", "example.com.",
	}
	for _, name := range names {
		for _, qt := range []uint16{mdns.TypeA, mdns.TypeTXT, mdns.TypePTR, mdns.TypeMX, mdns.TypeNS} {
			for _, edns := range []int{0, 1232, 4096} {
				req := new(mdns.Msg)
				req.SetQuestion(name, qt)
				req.Id = 4242
				if edns > 0 {
					req.SetEdns0(uint16(edns), false)
				}
				pkt, err := req.Pack()
				if err != nil {
					t.Fatal(err)
				}
				full := s.respond(snap, req, src, "", false)
				fullPkt, _ := full.Pack()
				var want mdns.Msg
				want.Unpack(fullPkt)
				for try := 0; try < 2; try++ {
					out, _ := s.fast(snap, pkt, nil, nil, src)
					if out == nil {
						continue // the full path answers it
					}
					var got mdns.Msg
					if err := got.Unpack(out); err != nil {
						t.Fatalf("%s %s edns %d: %v", name, mdns.TypeToString[qt], edns, err)
					}
					if got.Id != 4242 || got.Question[0].Name != name {
						t.Fatalf("%s: id %d question %s", name, got.Id, got.Question[0].Name)
					}
					g := strings.ToLower(fmt.Sprint(got.MsgHdr, rrStrings(got.Answer), rrStrings(got.Ns), rrStrings(got.Extra), got.IsEdns0() != nil))
					w := strings.ToLower(fmt.Sprint(want.MsgHdr, rrStrings(want.Answer), rrStrings(want.Ns), rrStrings(want.Extra), want.IsEdns0() != nil))
					if g != w {
						t.Fatalf("%s %s edns %d try %d:\nfast %s\nfull %s", name, mdns.TypeToString[qt], edns, try, g, w)
					}
				}
			}
		}
	}
}

// fakeWriter is a TCP client that takes whatever the handler writes.
type fakeWriter struct{ n int }

func (w *fakeWriter) LocalAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53} }
func (w *fakeWriter) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5353}
}
func (w *fakeWriter) WriteMsg(m *mdns.Msg) error {
	_, err := m.Pack()
	w.n++
	return err
}
func (w *fakeWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *fakeWriter) Close() error                { return nil }
func (w *fakeWriter) TsigStatus() error           { return nil }
func (w *fakeWriter) TsigTimersOnly(bool)         {}
func (w *fakeWriter) Hijack()                     {}
