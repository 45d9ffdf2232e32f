package dns

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

func axfrIn(t *testing.T, addr, zone string, key *TSIGKey) ([]mdns.RR, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return FetchZone(ctx, Remote{Addr: addr, Key: key, Timeout: 5 * time.Second}, zone)
}

func TestAXFRNeedsKey(t *testing.T) {
	s := startServer(t, testSource(), Config{})
	rrs, err := axfrIn(t, s.Addr(), "example.org", &testKey)
	if err != nil {
		t.Fatalf("AXFR with key: %v", err)
	}
	z := s.Snapshot().Zone("example.org")
	if len(rrs) != len(z.Records()) {
		t.Fatalf("AXFR gave %d records, zone has %d", len(rrs), len(z.Records()))
	}
	if len(Diff(z.Records(), rrs)) != 0 {
		t.Fatalf("AXFR differs: %v", Diff(z.Records(), rrs))
	}
	if _, err := axfrIn(t, s.Addr(), "example.org", nil); err == nil {
		t.Fatal("AXFR without key succeeded")
	}
	wrong := testKey
	wrong.Secret = "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZw=="
	if _, err := axfrIn(t, s.Addr(), "example.org", &wrong); err == nil {
		t.Fatal("AXFR with a wrong secret succeeded")
	}
	if _, err := axfrIn(t, s.Addr(), "example.com", &testKey); err == nil {
		t.Fatal("AXFR of a foreign zone succeeded")
	}
	// The wrong secret fails TSIG before the ACL: NOTAUTH, not counted.
	if st := s.Stats(); st.Transfers != 1 || st.Refused != 2 || st.TCPQueries != 4 {
		t.Fatalf("stats %+v", st)
	}
}

func TestTransferACLByAddress(t *testing.T) {
	src := testSource()
	src.Zones[0].Transfer = []ACL{{Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}}
	s := startServer(t, src, Config{})
	if _, err := axfrIn(t, s.Addr(), "example.org", nil); err != nil {
		t.Fatalf("AXFR from an allowed network: %v", err)
	}
	src.Zones[0].Transfer = []ACL{{Networks: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}}
	if _, err := s.Update(src); err != nil {
		t.Fatal(err)
	}
	if _, err := axfrIn(t, s.Addr(), "example.org", nil); err == nil {
		t.Fatal("AXFR from another network succeeded")
	}
	// Key and network together.
	z := s.Snapshot().Zone("example.org")
	z.acl = []ACL{{Key: testKeyName, Networks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}
	if z.allowTransfer(netip.MustParseAddr("10.1.1.1"), "") || !z.allowTransfer(netip.MustParseAddr("10.1.1.1"), testKeyName) ||
		z.allowTransfer(netip.MustParseAddr("192.0.2.1"), testKeyName) {
		t.Fatal("key+network ACL wrong")
	}
}

func ixfrIn(t *testing.T, addr, zone string, serial uint32) []mdns.RR {
	t.Helper()
	m := new(mdns.Msg)
	m.SetIxfr(zone, serial, "ns1.example.org.", "hostmaster.example.org.")
	m.SetTsig(testKeyName, mdns.HmacSHA256, 300, time.Now().Unix())
	tr := &mdns.Transfer{TsigProvider: keyProvider(TSIGKey{Name: testKeyName, Algorithm: mdns.HmacSHA256, Secret: testKeySecret})}
	env, err := tr.In(m, addr)
	if err != nil {
		t.Fatalf("IXFR: %v", err)
	}
	var out []mdns.RR
	for e := range env {
		if e.Error != nil {
			t.Fatalf("IXFR: %v", e.Error)
		}
		out = append(out, e.RR...)
	}
	return out
}

func TestIXFR(t *testing.T) {
	src := testSource()
	s := startServer(t, src, Config{})
	s0 := s.Snapshot().Zone("example.org").Serial()
	src.Records = append(src.Records, Record{Zone: "example.org", Name: "ix", Type: "A", Data: "192.0.2.1"})
	s.Update(src)
	src.Records[len(src.Records)-1].Data = "192.0.2.2"
	s.Update(src)
	s2 := s.Snapshot().Zone("example.org").Serial()

	got := rrStrings(ixfrIn(t, s.Addr(), "example.org.", s0))
	soa := func(serial uint32) string {
		return "example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. " + itoa(serial)
	}
	want := []string{
		soa(s2),
		soa(s0), soa(s0 + 1), "ix.example.org. 3600 IN A 192.0.2.1",
		soa(s0 + 1), "ix.example.org. 3600 IN A 192.0.2.1", soa(s2), "ix.example.org. 3600 IN A 192.0.2.2",
		soa(s2),
	}
	if len(got) != len(want) {
		t.Fatalf("IXFR:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("IXFR[%d] = %q, want %q", i, got[i], want[i])
		}
	}
	// Up to date: one SOA.
	if got := ixfrIn(t, s.Addr(), "example.org.", s2); len(got) != 1 {
		t.Fatalf("up-to-date IXFR gave %d records", len(got))
	}
	// Unknown serial: the whole zone, AXFR-style.
	if got := ixfrIn(t, s.Addr(), "example.org.", s0-10); len(got) != len(s.Snapshot().Zone("example.org").Records())+1 {
		t.Fatalf("fallback IXFR gave %d records", len(got))
	}
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

func netListenUDP() (net.PacketConn, error) { return net.ListenPacket("udp", "127.0.0.1:0") }

func TestNotifySent(t *testing.T) {
	// A fake secondary records the NOTIFYs it gets and acknowledges them.
	got := make(chan *mdns.Msg, 10)
	pc, err := netListenUDP()
	if err != nil {
		t.Fatal(err)
	}
	sec := &mdns.Server{PacketConn: pc, TsigSecret: map[string]string{testKeyName: testKeySecret},
		MsgAcceptFunc: func(mdns.Header) mdns.MsgAcceptAction { return mdns.MsgAccept },
		Handler: mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
			if w.TsigStatus() != nil {
				return
			}
			got <- r
			m := new(mdns.Msg)
			m.SetReply(r)
			m.SetTsig(testKeyName, mdns.HmacSHA256, 300, time.Now().Unix())
			w.WriteMsg(m)
		})}
	go sec.ActivateAndServe()
	t.Cleanup(func() { sec.Shutdown() })

	src := testSource()
	src.Zones[0].Notify = []Secondary{{Addr: pc.LocalAddr().String(), Key: testKeyName}}
	s := startServer(t, src, Config{})
	waitNotify := func() *mdns.Msg {
		select {
		case m := <-got:
			return m
		case <-time.After(5 * time.Second):
			t.Fatal("no NOTIFY")
			return nil
		}
	}
	m := waitNotify()
	if m.Opcode != mdns.OpcodeNotify || m.Question[0].Name != "example.org." || m.IsTsig() == nil {
		t.Fatalf("bad NOTIFY %v", m)
	}
	src.Records = append(src.Records, Record{Zone: "example.org", Name: "n", Type: "A", Data: "192.0.2.1"})
	s.Update(src)
	m = waitNotify()
	if serial := m.Answer[0].(*mdns.SOA).Serial; serial != s.Snapshot().Zone("example.org").Serial() {
		t.Fatalf("NOTIFY serial %d", serial)
	}
	// An update that changes nothing notifies nobody.
	s.Update(src)
	select {
	case m := <-got:
		t.Fatalf("NOTIFY without change: %v", m)
	case <-time.After(300 * time.Millisecond):
	}
}

func TestDiff(t *testing.T) {
	parse := func(lines ...string) []mdns.RR {
		var out []mdns.RR
		for _, l := range lines {
			rr, err := mdns.NewRR(l)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, rr)
		}
		return out
	}
	want := parse(
		"example.org. 3600 IN SOA ns1.example.org. h.example.org. 5 1 1 1 1",
		"example.org. 3600 IN NS ns1.example.org.",
		"www.example.org. 300 IN A 192.0.2.1",
		"mail.example.org. 300 IN A 192.0.2.2",
	)
	have := parse(
		"EXAMPLE.org. 3600 IN SOA other.example.org. h.example.org. 99 1 1 1 1",
		"example.org. 3600 IN NS ns1.example.org.",
		"WWW.example.org. 600 IN A 192.0.2.1",
		"old.example.org. 300 IN TXT \"bye\"",
		"example.org. 300 IN RRSIG SOA 13 2 300 20300101000000 20200101000000 1 example.org. AAAA",
	)
	var got []string
	for _, c := range Diff(want, have) {
		got = append(got, c.String())
	}
	exp := []string{
		`- old.example.org. 300 IN TXT "bye"`,
		"- WWW.example.org. 600 IN A 192.0.2.1",
		"+ mail.example.org. 300 IN A 192.0.2.2",
		"+ www.example.org. 300 IN A 192.0.2.1",
	}
	if strings.Join(got, "\n") != strings.Join(exp, "\n") {
		t.Fatalf("diff:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(exp, "\n"))
	}
}
