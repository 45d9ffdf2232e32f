package dns

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"maillon/internal/testenv"
)

func rrStrings(rrs []mdns.RR) []string {
	var out []string
	for _, rr := range rrs {
		if rr.Header().Rrtype == mdns.TypeOPT {
			continue
		}
		out = append(out, strings.Join(strings.Fields(rr.String()), " "))
	}
	return out
}

func TestQueries(t *testing.T) {
	s := startServer(t, testSource(), Config{})
	addr := s.Addr()
	type want struct {
		rcode  int
		aa     bool
		answer []string // substrings each answer record must contain, in order
		ns     string   // substring of the first authority record
		extra  string   // substring of some additional record
	}
	cases := []struct {
		name  string
		qtype uint16
		want  want
	}{
		{"front.example.org", mdns.TypeA, want{aa: true, answer: []string{"front.example.org. 3600 IN A 192.0.2.80"}}},
		{"FRONT.Example.ORG", mdns.TypeA, want{aa: true, answer: []string{"IN A 192.0.2.80"}}},
		{"example.org", mdns.TypeSOA, want{aa: true, answer: []string{"example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org."}}},
		{"example.org", mdns.TypeNS, want{aa: true, answer: []string{"NS ns1.example.org.", "NS ns2.example.net."}, extra: "ns1.example.org. 3600 IN A 192.0.2.53"}},
		{"example.org", mdns.TypeMX, want{aa: true, answer: []string{"MX 10 mail.example.org."}, extra: "mail.example.org. 3600 IN AAAA 2001:db8::25"}},
		{"example.org", mdns.TypeCAA, want{aa: true, answer: []string{`CAA 0 issue "letsencrypt.org"`}}},
		{"host.example.org", mdns.TypeSSHFP, want{aa: true, answer: []string{"SSHFP 4 2"}}},
		{"_25._tcp.mail.example.org", mdns.TypeTLSA, want{aa: true, answer: []string{"TLSA 3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6"}}},
		{"_sip._udp.example.org", mdns.TypeSRV, want{aa: true, answer: []string{"SRV 10 5 5060 mail.example.org."}, extra: "mail.example.org."}},
		// NXDOMAIN and NODATA both carry the SOA, with the negative TTL.
		{"nope.example.org", mdns.TypeA, want{rcode: mdns.RcodeNameError, aa: true, ns: "example.org. 300 IN SOA"}},
		{"front.example.org", mdns.TypeAAAA, want{aa: true, ns: "example.org. 300 IN SOA"}},
		// An empty non-terminal exists: NODATA, not NXDOMAIN.
		{"b.deep.example.org", mdns.TypeA, want{aa: true, ns: "IN SOA"}},
		{"deep.example.org", mdns.TypeTXT, want{aa: true, ns: "IN SOA"}},
		// Wildcards synthesize under their owner's name, and not for the
		// empty non-terminal "users" itself.
		{"anyone.users.example.org", mdns.TypeA, want{aa: true, answer: []string{"anyone.users.example.org. 3600 IN A 192.0.2.99"}}},
		{"x.y.users.example.org", mdns.TypeTXT, want{aa: true, answer: []string{`x.y.users.example.org. 3600 IN TXT "wildcard"`}}},
		{"anyone.users.example.org", mdns.TypeMX, want{aa: true, ns: "IN SOA"}},
		{"users.example.org", mdns.TypeA, want{aa: true, ns: "IN SOA"}},
		// CNAME chains inside the zone are followed; out of it, not.
		{"www.example.org", mdns.TypeA, want{aa: true, answer: []string{"www.example.org. 3600 IN CNAME web.example.org.", "web.example.org. 3600 IN CNAME front.example.org.", "front.example.org. 3600 IN A 192.0.2.80"}}},
		{"www.example.org", mdns.TypeCNAME, want{aa: true, answer: []string{"www.example.org. 3600 IN CNAME web.example.org."}}},
		{"out.example.org", mdns.TypeA, want{aa: true, answer: []string{"CNAME www.example.com."}}},
		{"loop1.example.org", mdns.TypeA, want{aa: true, answer: []string{"CNAME loop2", "CNAME loop1"}}},
		// Delegations answer with a referral and glue, not authoritatively.
		{"sub.example.org", mdns.TypeA, want{ns: "sub.example.org. 3600 IN NS ns.sub.example.org.", extra: "ns.sub.example.org. 3600 IN A 192.0.2.54"}},
		{"deeper.sub.example.org", mdns.TypeMX, want{ns: "sub.example.org. 3600 IN NS ns.sub.example.org.", extra: "192.0.2.54"}},
		{"ns.sub.example.org", mdns.TypeA, want{ns: "sub.example.org. 3600 IN NS"}},
		// No recursion.
		{"example.com", mdns.TypeA, want{rcode: mdns.RcodeRefused}},
		{"org", mdns.TypeNS, want{rcode: mdns.RcodeRefused}},
		// Reverse: template PTRs, classless delegation, IPv6 wildcard and
		// exact PTRs, the member's own name, and the forward records.
		{"6.100.51.198.in-addr.arpa", mdns.TypePTR, want{aa: true, answer: []string{"PTR alice.dsl.example.org."}}},
		{"7.100.51.198.in-addr.arpa", mdns.TypePTR, want{aa: true, answer: []string{"PTR bob-42.dsl.example.org."}}},
		{"8.100.51.198.in-addr.arpa", mdns.TypePTR, want{aa: true, answer: []string{"PTR mx.dave-family.net."}}},
		{"9.100.51.198.in-addr.arpa", mdns.TypePTR, want{rcode: mdns.RcodeNameError, aa: true, ns: "100.51.198.in-addr.arpa. 300 IN SOA"}},
		{"70.64/26.113.0.203.in-addr.arpa", mdns.TypePTR, want{aa: true, answer: []string{"PTR ip-203-0-113-70.example.org."}}},
		{reverse("2001:db8:1:100::1"), mdns.TypePTR, want{aa: true, answer: []string{"PTR alice.v6.example.org."}}},
		{reverse("2001:db8:1:1ff::abcd"), mdns.TypePTR, want{aa: true, answer: []string{"PTR alice.v6.example.org."}}},
		{reverse("2001:db8:1:200::1"), mdns.TypePTR, want{rcode: mdns.RcodeNameError, aa: true, ns: "8.b.d.0.1.0.0.2.ip6.arpa. 300 IN SOA"}},
		{"alice.dsl.example.org", mdns.TypeA, want{aa: true, answer: []string{"A 198.51.100.6"}}},
		{"alice.v6.example.org", mdns.TypeAAAA, want{aa: true, answer: []string{"AAAA 2001:db8:1:100::1"}}},
		{"mx.dave-family.net", mdns.TypeA, want{rcode: mdns.RcodeRefused}},
	}
	for _, c := range cases {
		t.Run(c.name+"/"+mdns.TypeToString[c.qtype], func(t *testing.T) {
			r := query(t, addr, c.name, c.qtype, "udp", 1232)
			if r.Rcode != c.want.rcode {
				t.Fatalf("rcode %s, want %s\n%v", mdns.RcodeToString[r.Rcode], mdns.RcodeToString[c.want.rcode], r)
			}
			if r.Authoritative != c.want.aa {
				t.Errorf("AA %v, want %v", r.Authoritative, c.want.aa)
			}
			if r.RecursionAvailable {
				t.Errorf("RA set")
			}
			got := rrStrings(r.Answer)
			if len(got) != len(c.want.answer) {
				t.Fatalf("answer %q, want %q", got, c.want.answer)
			}
			for i, w := range c.want.answer {
				if !strings.Contains(got[i], w) {
					t.Errorf("answer[%d] = %q, want it to contain %q", i, got[i], w)
				}
			}
			ns := rrStrings(r.Ns)
			if c.want.ns == "" && len(ns) > 0 && c.want.rcode != mdns.RcodeRefused {
				t.Errorf("unexpected authority %q", ns)
			}
			if c.want.ns != "" && (len(ns) == 0 || !strings.Contains(ns[0], c.want.ns)) {
				t.Errorf("authority %q, want %q", ns, c.want.ns)
			}
			if c.want.extra != "" && !strings.Contains(strings.Join(rrStrings(r.Extra), "\n"), c.want.extra) {
				t.Errorf("additional %q, want %q", rrStrings(r.Extra), c.want.extra)
			}
			if r.IsEdns0() == nil {
				t.Errorf("no OPT in the reply to an EDNS query")
			}
		})
	}
}

func reverse(ip string) string {
	r, err := mdns.ReverseAddr(ip)
	if err != nil {
		panic(err)
	}
	return r
}

func TestTruncationAndTCPFallback(t *testing.T) {
	s := startServer(t, testSource(), Config{})
	// Without EDNS the limit is 512 bytes: the 800-byte TXT does not fit.
	r := query(t, s.Addr(), "big.example.org", mdns.TypeTXT, "udp", 0)
	if !r.Truncated || len(r.Answer) != 0 {
		t.Fatalf("no EDNS: TC=%v answers=%d, want TC and no answer", r.Truncated, len(r.Answer))
	}
	// With EDNS 1232 it fits.
	r = query(t, s.Addr(), "big.example.org", mdns.TypeTXT, "udp", 1232)
	if r.Truncated || len(r.Answer) != 1 {
		t.Fatalf("EDNS 1232: TC=%v answers=%d", r.Truncated, len(r.Answer))
	}
	// A client's larger buffer is capped at MaxUDPSize.
	if r.IsEdns0() == nil || r.IsEdns0().UDPSize() != 1232 {
		t.Fatalf("OPT %v, want UDP size 1232", r.IsEdns0())
	}
	// The same over TCP needs no EDNS.
	r = query(t, s.Addr(), "big.example.org", mdns.TypeTXT, "tcp", 0)
	if r.Truncated || len(r.Answer) != 1 {
		t.Fatalf("TCP: TC=%v answers=%d", r.Truncated, len(r.Answer))
	}
}

func TestMalformedAndOddRequests(t *testing.T) {
	s := startServer(t, testSource(), Config{})
	c := &mdns.Client{Net: "udp", Timeout: 2 * time.Second}
	ex := func(m *mdns.Msg) *mdns.Msg {
		t.Helper()
		r, _, err := c.Exchange(m, s.Addr())
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		return r
	}
	m := new(mdns.Msg)
	m.SetQuestion("example.org.", mdns.TypeA)
	m.Question = append(m.Question, m.Question[0])
	if r := ex(m); r.Rcode != mdns.RcodeFormatError {
		t.Errorf("two questions: %s", mdns.RcodeToString[r.Rcode])
	}
	m = new(mdns.Msg)
	m.SetQuestion("example.org.", mdns.TypeA)
	m.SetEdns0(1232, false)
	m.IsEdns0().SetVersion(1)
	if r := ex(m); r.Rcode != mdns.RcodeBadVers {
		t.Errorf("EDNS version 1: %s", mdns.RcodeToString[r.Rcode])
	}
	m = new(mdns.Msg)
	m.SetQuestion("version.bind.", mdns.TypeTXT)
	m.Question[0].Qclass = mdns.ClassCHAOS
	if r := ex(m); r.Rcode != mdns.RcodeRefused {
		t.Errorf("CHAOS: %s", mdns.RcodeToString[r.Rcode])
	}
	m = new(mdns.Msg)
	m.SetUpdate("example.org.")
	if r := ex(m); r.Rcode != mdns.RcodeRefused {
		t.Errorf("UPDATE: %s", mdns.RcodeToString[r.Rcode])
	}
	m = new(mdns.Msg)
	m.SetQuestion("example.org.", mdns.TypeANY)
	if r := ex(m); len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != mdns.TypeHINFO {
		t.Errorf("ANY over UDP: %v, want one HINFO (RFC 8482)", r.Answer)
	}
	m = new(mdns.Msg)
	m.SetAxfr("example.org.")
	if r := ex(m); r.Rcode != mdns.RcodeFormatError {
		t.Errorf("AXFR over UDP: %s", mdns.RcodeToString[r.Rcode])
	}
	// Garbage gets no reply and does not stop the server.
	conn, err := c.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	for _, junk := range [][]byte{{0}, []byte("hello, world!"), make([]byte, 600)} {
		conn.Write(junk)
	}
	conn.Close()
	if r := query(t, s.Addr(), "front.example.org", mdns.TypeA, "udp", 0); len(r.Answer) != 1 {
		t.Fatalf("server broken after junk: %v", r)
	}
}

func TestChangeServedAtOnce(t *testing.T) {
	src := testSource()
	s := startServer(t, src, Config{})
	before := s.Snapshot().Zone("example.org").Serial()
	src.Records = append(src.Records, Record{Zone: "example.org", Name: "new", Type: "A", Data: "192.0.2.200"})
	if _, err := s.Update(src); err != nil {
		t.Fatal(err)
	}
	// Update swaps the snapshot before returning: the next query sees it.
	r := query(t, s.Addr(), "new.example.org", mdns.TypeA, "udp", 0)
	if len(r.Answer) != 1 {
		t.Fatalf("new record not served: %v", r)
	}
	r = query(t, s.Addr(), "example.org", mdns.TypeSOA, "udp", 0)
	if got := r.Answer[0].(*mdns.SOA).Serial; !serialAfter(got, before) {
		t.Fatalf("serial %d not after %d", got, before)
	}
}

func TestRateLimit(t *testing.T) {
	l := newLimiter(RateLimit{ResponsesPerSecond: 5, Exempt: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	now := time.Unix(1000, 0)
	a := netip.MustParseAddr("198.51.100.1")
	same := netip.MustParseAddr("198.51.100.200") // same /24
	other := netip.MustParseAddr("203.0.113.1")
	var allowed, slipped, dropped int
	for i := 0; i < 20; i++ {
		ip := a
		if i%2 == 1 {
			ip = same
		}
		switch l.check(ip, now) {
		case rrlAllow:
			allowed++
		case rrlSlip:
			slipped++
		case rrlDrop:
			dropped++
		}
	}
	if allowed != 5 || slipped != 7 || dropped != 8 {
		t.Fatalf("allowed %d slipped %d dropped %d, want 5 7 8", allowed, slipped, dropped)
	}
	if l.check(other, now) != rrlAllow {
		t.Fatal("another network is limited")
	}
	if l.check(netip.MustParseAddr("192.0.2.1"), now) != rrlAllow {
		t.Fatal("exempt network limited")
	}
	// Tokens come back with time.
	if l.check(a, now.Add(time.Second)) != rrlAllow {
		t.Fatal("not refilled after a second")
	}
}

func TestRateLimitedServerSlips(t *testing.T) {
	s := startServer(t, testSource(), Config{RateLimit: RateLimit{ResponsesPerSecond: 1, Slip: 1}})
	var truncated int
	for i := 0; i < 5; i++ {
		if r := query(t, s.Addr(), "front.example.org", mdns.TypeA, "udp", 0); r.Truncated {
			truncated++
		}
	}
	if truncated == 0 {
		t.Fatal("no truncated reply over the limit")
	}
	// The worker counts after answering: wait for the count to land.
	st := s.Stats()
	for deadline := time.Now().Add(5 * time.Second); st.UDPQueries < 5 && time.Now().Before(deadline); st = s.Stats() {
		time.Sleep(10 * time.Millisecond)
	}
	if st.UDPQueries != 5 || st.RateLimited == 0 || st.Slipped != st.RateLimited || st.FastAnswers+st.RateLimited != 5 {
		t.Fatalf("stats %+v", st)
	}
	// TCP is never limited: the slip's purpose.
	if r := query(t, s.Addr(), "front.example.org", mdns.TypeA, "tcp", 0); r.Truncated || len(r.Answer) != 1 {
		t.Fatalf("TCP limited: %v", r)
	}
}

func ExampleChange_String() {
	rr, _ := mdns.NewRR("www.example.org. 300 IN A 192.0.2.1")
	fmt.Println(Change{RR: rr})
	fmt.Println(Change{Delete: true, RR: rr})
	// Output:
	// + www.example.org. 300 IN A 192.0.2.1
	// - www.example.org. 300 IN A 192.0.2.1
}

func TestReplyCacheKeepsQueryIdentity(t *testing.T) {
	s := startServer(t, testSource(), Config{})
	c := &mdns.Client{Net: "udp", Timeout: 2 * time.Second}
	for i, name := range []string{"alice.dsl.example.org.", "ALICE.dsl.Example.org.", "aLiCe.DSL.example.ORG."} {
		m := new(mdns.Msg)
		m.SetQuestion(name, mdns.TypeA)
		m.Id = uint16(1000 + i)
		m.RecursionDesired = i%2 == 0
		r, _, err := c.Exchange(m, s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if r.Id != m.Id || r.Question[0].Name != name || r.RecursionDesired != m.RecursionDesired || !r.Authoritative {
			t.Fatalf("reply %d: id %d name %s rd %v aa %v", i, r.Id, r.Question[0].Name, r.RecursionDesired, r.Authoritative)
		}
		if len(r.Answer) != 1 || r.Answer[0].(*mdns.A).A.String() != "198.51.100.6" {
			t.Fatalf("reply %d: %v", i, r.Answer)
		}
	}
	// A change is served at once: the cache belongs to the snapshot.
	src := testSource()
	src.Allocations[0].Prefix = netip.MustParsePrefix("198.51.100.66/32")
	if _, err := s.Update(src); err != nil {
		t.Fatal(err)
	}
	r := query(t, s.Addr(), "alice.dsl.example.org", mdns.TypeA, "udp", 0)
	if len(r.Answer) != 1 || r.Answer[0].(*mdns.A).A.String() != "198.51.100.66" {
		t.Fatalf("after the change: %v", r.Answer)
	}
}

func TestDualStack(t *testing.T) {
	if pc, err := net.ListenPacket("udp", "[::1]:0"); err != nil {
		// A machine without ::1 cannot show dual stack: under CI that is a
		// failure like any missing peer, elsewhere a skip.
		testenv.Unavailable(t, "no IPv6 loopback: %v", err)
	} else {
		pc.Close()
	}
	s := startServer(t, testSource(), Config{Addr: "[::]:0"})
	_, port, _ := net.SplitHostPort(s.Addr())
	for _, host := range []string{"127.0.0.1", "::1"} {
		for _, netw := range []string{"udp", "tcp"} {
			r := query(t, net.JoinHostPort(host, port), "front.example.org", mdns.TypeA, netw, 1232)
			if len(r.Answer) != 1 {
				t.Errorf("%s over %s: %v", host, netw, r)
			}
		}
	}
}
