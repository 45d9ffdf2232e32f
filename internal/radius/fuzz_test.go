package radius

import (
	"io"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/vendors/microsoft"
)

// fuzzWorker is a worker of a server that is not listening: process is
// called directly with the fuzzer's bytes.
func fuzzWorker(t testing.TB) *worker {
	s, err := New(Config{
		Accounting: newMemStore(), // no committer runs: records queue, then shed
		SpoolDir:   t.TempDir(),
		Registerer: prometheus.NewRegistry(),
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:        func() time.Time { return traceTime },
		EAP:        newTestPKI(t).eapConfig(),
	})
	if err != nil {
		t.Fatal(err)
	}
	in := testInput(MAAuto)
	in.Clients = append(in.Clients, Client{
		Name: "switch", Prefix: netip.MustParsePrefix("127.0.0.2/32"), Secret: testSecret,
		Kind: ClientSwitch, MessageAuthenticator: MANever,
	})
	in.MACs = []MACEntry{{MAC: "aa:bb:cc:dd:ee:ff", Access: Access{VLAN: "10", Status: AccessOK}}}
	in.Ports = []PortEntry{{Switch: "switch", Port: "1", Mode: PortByRoom, Access: Access{VLAN: "11", Status: AccessNonMember}}}
	snap, err := NewSnapshot(in)
	if err != nil {
		t.Fatal(err)
	}
	s.SetSnapshot(snap)
	return s.newWorker(1)
}

// discardConn is a PacketConn that swallows what the server writes.
type discardConn struct{ net.PacketConn }

func (discardConn) WriteTo(b []byte, _ net.Addr) (int, error) { return len(b), nil }

func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	add := func(p *radius.Packet, withMA bool) { seeds = append(seeds, encodeRequest(t, p, withMA)) }
	add(papRequest(t, "demo1@DEMO", "demo1-password"), true)
	add(papRequest(t, "nobody", "x"), false)
	p, _, _, _ := mschapv2Request(t, "demo1@DEMO", "demo1-password")
	add(p, true)
	p = radius.New(radius.CodeAccessRequest, []byte(testSecret))
	rfc2865.UserName_SetString(p, "p1f9bd1@NEUTRINET")
	microsoft.MSCHAPChallenge_Set(p, []byte("12345678"))
	microsoft.MSCHAPResponse_Set(p, make([]byte, 50))
	rfc2865.ProxyState_Set(p, []byte("33"))
	add(p, true)
	p = radius.New(radius.CodeAccessRequest, []byte(testSecret))
	rfc2865.UserName_SetString(p, "demo1@DEMO")
	rfc2865.CHAPPassword_Set(p, make([]byte, 17))
	add(p, false)
	add(radius.New(radius.CodeStatusServer, []byte(testSecret)), true)
	valid := seeds[0]
	// Malformed attribute lengths: zero, one, running past the packet,
	// and a vendor attribute whose inner length lies.
	for _, bad := range [][]byte{
		{attrUserName, 0},
		{attrUserName, 1},
		{attrUserName, 40, 'a'},
		{attrVendorSpecific, 9, 0, 0, 1, 55, 11, 200, 1},
		{attrVendorSpecific, 3, 0},
		{attrMessageAuthenticator, 4, 0, 0},
	} {
		b := append(append([]byte(nil), valid...), bad...)
		b[2], b[3] = byte(len(b)>>8), byte(len(b))
		seeds = append(seeds, b)
	}
	short := append([]byte(nil), valid[:19]...)
	lying := append([]byte(nil), valid...)
	lying[2], lying[3] = 0x0f, 0xff // length past the datagram
	tiny := append([]byte(nil), valid...)
	tiny[2], tiny[3] = 0, 10 // length under the header
	acct := append([]byte(nil), valid...)
	acct[0] = byte(CodeAccountingRequest)
	seeds = append(seeds, short, lying, tiny, acct, []byte{}, encodeAcct(t, interim(t, 3)))
	on := radius.New(radius.CodeAccountingRequest, []byte(testSecret))
	on.Add(attrAcctStatusType, []byte{0, 0, 0, 7})
	seeds = append(seeds, encodeAcct(t, on))
	return append(seeds, eapSeeds(t)...)
}

// FuzzHandlePacket feeds arbitrary datagrams from a known NAS (and from a
// switch) through the whole request path: it must never panic, and any
// reply must be a well-formed, correctly signed Access-Accept, -Reject or
// -Challenge.
// `go test` runs the seeds; `go test -fuzz FuzzHandlePacket` explores.
func FuzzHandlePacket(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s, false, false)
		f.Add(s, true, false)
		f.Add(s, false, true)
	}
	w := fuzzWorker(f)
	nas := netip.MustParseAddrPort("127.0.0.1:40000")
	sw := netip.MustParseAddrPort("127.0.0.2:40000")
	authL := &listener{pc: discardConn{}}
	acctL := &listener{pc: discardConn{}, acct: true}
	f.Fuzz(func(t *testing.T, raw []byte, fromSwitch, acctPort bool) {
		src := nas
		if fromSwitch {
			src = sw
		}
		l := authL
		if acctPort {
			l = acctL
		}
		if len(raw) > maxPacket {
			raw = raw[:maxPacket]
		}
		req := append([]byte(nil), raw...)
		reply := w.process(req, src, l, time.Now())
		if reply == nil {
			return
		}
		if len(reply) > maxPacket || len(reply) < headerLen {
			t.Fatalf("reply of %d octets", len(reply))
		}
		var p packet
		if err := p.parse(reply); err != nil {
			t.Fatalf("server sent a malformed reply: %v", err)
		}
		if p.code != CodeAccessAccept && p.code != CodeAccessReject && p.code != CodeAccountingResponse && p.code != CodeAccessChallenge {
			t.Fatalf("reply code %v", p.code)
		}
		if !radius.IsAuthenticResponse(reply, raw, []byte(testSecret)) {
			t.Fatal("reply has a bad Response Authenticator")
		}
		if _, ok := p.get(attrMessageAuthenticator); !ok {
			t.Fatal("reply without Message-Authenticator")
		}
	})
}

func TestParseRejectsMalformed(t *testing.T) {
	seeds := fuzzSeeds(t)
	var p packet
	if err := p.parse(seeds[0]); err != nil {
		t.Fatalf("valid packet: %v", err)
	}
	for i, b := range seeds[6:] {
		if err := p.parse(b); err == nil && i < 3 {
			t.Errorf("malformed seed %d parsed", i)
		}
	}
}
