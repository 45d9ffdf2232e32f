package dns

import (
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"maillon/internal/testenv"
)

// TestUDPServesWithoutAllocating sends queries over a real loopback socket
// and checks that, once their answers are cached, serving them allocates
// nothing: no address per packet read, no sockaddr per reply, nothing for
// names under a wildcard. The whole process is counted, client included.
func TestUDPServesWithoutAllocating(t *testing.T) {
	queries := []struct {
		name  string
		qtype uint16
	}{
		{"front.example.org.", mdns.TypeA},
		{"FRONT.example.org.", mdns.TypeA},
		{"6.100.51.198.in-addr.arpa.", mdns.TypePTR},
		{"nope.example.org.", mdns.TypeA},                 // NXDOMAIN
		{"anyone.users.example.org.", mdns.TypeA},         // wildcard
		{reverse("2001:db8:1:1ab::77"), mdns.TypePTR},     // the /56's wildcard PTR
		{reverse("2001:db8:1:1ff:1:2:3:4"), mdns.TypePTR}, // another name under it
	}
	var pkts [][]byte
	for i, q := range queries {
		m := new(mdns.Msg)
		m.SetQuestion(q.name, q.qtype)
		m.Id = uint16(100 + i)
		if i%2 == 0 {
			m.SetEdns0(1232, false)
		}
		p, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, p)
	}
	for _, tc := range []struct{ listen, dial string }{
		{"127.0.0.1:0", "127.0.0.1"},
		{"[::1]:0", "::1"},
		{"[::]:0", "127.0.0.1"}, // IPv4-mapped on a dual-stack socket
	} {
		t.Run(tc.listen+"-"+tc.dial, func(t *testing.T) {
			if tc.dial == "::1" {
				if pc, err := net.ListenPacket("udp", "[::1]:0"); err != nil {
					testenv.Unavailable(t, "no IPv6 loopback: %v", err)
				} else {
					pc.Close()
				}
			}
			s := startServer(t, testSource(), Config{Addr: tc.listen, UDPWorkers: 1})
			_, port, _ := net.SplitHostPort(s.Addr())
			c, err := net.Dial("udp", net.JoinHostPort(tc.dial, port))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			buf := make([]byte, 4096)
			exchange := func() {
				for _, p := range pkts {
					if _, err := c.Write(p); err != nil {
						t.Fatal(err)
					}
				}
				for range pkts {
					c.SetReadDeadline(time.Now().Add(5 * time.Second))
					n, err := c.Read(buf)
					if err != nil {
						t.Fatal(err)
					}
					if n < 12 || buf[2]&0x80 == 0 || buf[2]&0x04 == 0 {
						t.Fatalf("not an authoritative reply: % x", buf[:n])
					}
				}
			}
			// The first round fills the cache; the second checks answers.
			exchange()
			for i, p := range pkts {
				if _, err := c.Write(p); err != nil {
					t.Fatal(err)
				}
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				n, err := c.Read(buf)
				if err != nil {
					t.Fatal(err)
				}
				var r mdns.Msg
				if err := r.Unpack(buf[:n]); err != nil {
					t.Fatal(err)
				}
				q := queries[i]
				if r.Id != binary.BigEndian.Uint16(p) || r.Question[0].Name != q.name || (r.Rcode == mdns.RcodeSuccess) != (q.name != "nope.example.org.") {
					t.Fatalf("query %s: %v", q.name, &r)
				}
				if r.Rcode == mdns.RcodeSuccess && (len(r.Answer) != 1 || !strings.EqualFold(r.Answer[0].Header().Name, q.name)) {
					t.Fatalf("query %s: %v", q.name, &r)
				}
			}
			before := s.Stats().FastAnswers
			allocs := testing.AllocsPerRun(200, exchange)
			if allocs != 0 {
				t.Errorf("%.1f allocations per round of %d queries, want 0", allocs, len(pkts))
			}
			if got := s.Stats().FastAnswers - before; got < uint64(200*len(pkts)) {
				t.Errorf("%d queries on the fast path, want %d", got, 200*len(pkts))
			}
		})
	}
}
