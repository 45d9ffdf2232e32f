package radius

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"layeh.com/radius"
	"layeh.com/radius/rfc2759"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"
	"layeh.com/radius/rfc3079"
	"layeh.com/radius/vendors/microsoft"

	"maillon/internal/testenv"
)

const testSecret = "testing123"

// traceTime is when the reference trace's Access-Request was sent: its
// Session-Timeout (49708 s) runs to the next midnight UTC.
var traceTime = time.Date(2025, 4, 8, 10, 11, 32, 0, time.UTC)

func testSubscribers() []Subscriber {
	return []Subscriber{
		{
			Login: "p1f9bd1@NEUTRINET", Password: "trace-password", Member: "m-1", Subscription: "s-1",
			Kind: KindPPP, State: StateActive, MembershipCurrent: true,
			IPv4:          netip.MustParseAddr("80.67.191.6"),
			IPv6:          netip.MustParsePrefix("2001:913:1d00:600::/64"),
			DelegatedIPv6: netip.MustParsePrefix("2001:913:1d00:600::/60"),
			Circuit:       "F02MAR00006 eth 1/1/13/16/54/1/1:10",
		},
		{
			Login: "demo1@DEMO", Password: "demo1-password", Member: "m-demo1", Subscription: "s-demo1",
			Kind: KindPPP, State: StateActive, MembershipCurrent: true,
			IPv4: netip.MustParseAddr("192.0.2.10"),
			IPv6: netip.MustParsePrefix("2001:db8:10::/64"),
		},
		{
			Login: "suspended1@DEMO", Password: "pw-suspended", Kind: KindPPP,
			State: StateSuspended, MembershipCurrent: true,
		},
		{
			Login: "expired1@DEMO", Password: "pw-expired", Kind: KindPPP, State: StateActive,
			MembershipCurrent: false, MembershipReason: "last period ended 2025-01-31",
		},
		{
			Login: "closed1@DEMO", Password: "pw-closed", Kind: KindPPP, State: StateClosed, MembershipCurrent: true,
		},
		{
			Login: "vpn1", Password: "vpn-password", Kind: KindVPN, State: StateActive, MembershipCurrent: true,
			IPv4:  netip.MustParseAddr("192.0.2.20"),
			Reply: []Attr{Uint32Attr(attrFramedMTU, 1400), VendorAttr(14988, 8, []byte("10M/10M"))},
		},
	}
}

func testInput(policy MAPolicy) SnapshotInput {
	return SnapshotInput{
		Subscribers: testSubscribers(),
		Clients: []Client{{
			Name: "local", Prefix: netip.MustParsePrefix("127.0.0.1/32"), Secret: testSecret,
			Kind: ClientOther, MessageAuthenticator: policy,
		}},
		Admins: []Admin{{Login: "alice", Password: "alice-pw"}},
	}
}

type testServer struct {
	s    *Server
	reg  *prometheus.Registry
	auth netip.AddrPort
	acct netip.AddrPort
	logs *testenv.Buffer
	stop func()
}

// startServer runs a server on 127.0.0.1:0 with in as its snapshot.
func startServer(t testing.TB, cfg Config, in SnapshotInput) *testServer {
	t.Helper()
	ts := &testServer{reg: prometheus.NewRegistry(), logs: &testenv.Buffer{}}
	cfg.Registerer = ts.reg
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return traceTime }
	}
	cfg.Logger = slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := NewSnapshot(in)
	if err != nil {
		t.Fatal(err)
	}
	s.SetSnapshot(snap)
	ts.s = s
	authConn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	acctConn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.auth = authConn.LocalAddr().(*net.UDPAddr).AddrPort()
	ts.acct = acctConn.LocalAddr().(*net.UDPAddr).AddrPort()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, authConn, acctConn) }()
	var once sync.Once
	ts.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
			authConn.Close()
			acctConn.Close()
		})
	}
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) drops(reason string) float64 {
	return counterValue(ts.reg, "maillon_radius_drops_total", map[string]string{"reason": reason})
}

func (ts *testServer) requests(result string) float64 {
	return counterValue(ts.reg, "maillon_radius_requests_total", map[string]string{"result": result})
}

// counterValue sums the counters of a family whose labels include want.
func counterValue(reg *prometheus.Registry, name string, want map[string]string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for k, v := range want {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == k && lp.GetValue() == v {
						found = true
					}
				}
				if !found {
					continue metrics
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// signMA fills a Message-Authenticator in an encoded Access-Request,
// computed here independently of the server's code (RFC 3579 §3.2).
func signMA(t testing.TB, b []byte, secret string) {
	t.Helper()
	for off := 20; off+2 <= len(b); off += int(b[off+1]) {
		if b[off] == attrMessageAuthenticator && b[off+1] == 18 {
			clear(b[off+2 : off+18])
			h := hmac.New(md5.New, []byte(secret))
			h.Write(b)
			copy(b[off+2:off+18], h.Sum(nil))
			return
		}
	}
	t.Fatal("no Message-Authenticator to sign")
}

// request encodes p (adding a Message-Authenticator when withMA).
func encodeRequest(t testing.TB, p *radius.Packet, withMA bool) []byte {
	t.Helper()
	if withMA {
		p.Add(rfc2869.MessageAuthenticator_Type, make([]byte, 16))
	}
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if withMA {
		signMA(t, b, string(p.Secret))
	}
	return b
}

// exchange sends raw to addr and waits for one reply; nil on timeout.
func exchange(t testing.TB, addr netip.AddrPort, raw []byte, wait time.Duration) []byte {
	t.Helper()
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return exchangeOn(t, conn, raw, wait)
}

func exchangeOn(t testing.TB, conn *net.UDPConn, raw []byte, wait time.Duration) []byte {
	t.Helper()
	if _, err := conn.Write(raw); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		t.Fatal(err)
	}
	return buf[:n]
}

// parseReply checks the response authenticator and Message-Authenticator
// of a reply, independently of the server's code, and decodes it.
func parseReply(t testing.TB, reply, request []byte, secret string) *radius.Packet {
	t.Helper()
	if reply == nil {
		t.Fatal("no reply")
	}
	if !radius.IsAuthenticResponse(reply, request, []byte(secret)) {
		t.Fatal("reply has a bad Response Authenticator")
	}
	p, err := radius.Parse(reply, []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	ma := rfc2869.MessageAuthenticator_Get(p)
	if len(ma) != 16 {
		t.Fatal("reply has no Message-Authenticator")
	}
	if p.Attributes[0].Type != rfc2869.MessageAuthenticator_Type {
		t.Errorf("Message-Authenticator is not the first attribute")
	}
	// Recompute over the reply with the request authenticator in place and
	// the Message-Authenticator zeroed.
	c := append([]byte(nil), reply...)
	copy(c[4:20], request[4:20])
	for off := 20; off+2 <= len(c); off += int(c[off+1]) {
		if c[off] == attrMessageAuthenticator {
			clear(c[off+2 : off+18])
		}
	}
	h := hmac.New(md5.New, []byte(secret))
	h.Write(c)
	if !hmac.Equal(h.Sum(nil), ma) {
		t.Fatal("reply has a bad Message-Authenticator")
	}
	return p
}

func papRequest(t testing.TB, user, password string) *radius.Packet {
	p := radius.New(radius.CodeAccessRequest, []byte(testSecret))
	rfc2865.UserName_SetString(p, user)
	if err := rfc2865.UserPassword_SetString(p, password); err != nil {
		t.Fatal(err)
	}
	rfc2865.NASIdentifier_SetString(p, "test-nas")
	return p
}

func TestPAPAcceptCarriesRegistryAttributes(t *testing.T) {
	ts := startServer(t, Config{}, testInput(MARequire))
	req := papRequest(t, "p1f9bd1@NEUTRINET", "trace-password")
	req.Add(rfc2865.ProxyState_Type, []byte("33"))
	req.Add(rfc2865.ProxyState_Type, []byte("second"))
	raw := encodeRequest(t, req, true)
	rep := parseReply(t, exchange(t, ts.auth, raw, 2*time.Second), raw, testSecret)
	if rep.Code != radius.CodeAccessAccept {
		t.Fatalf("code %v, reply message %q", rep.Code, rfc2865.ReplyMessage_GetString(rep))
	}
	check := func(name string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("Framed-IP-Address", rfc2865.FramedIPAddress_Get(rep).String(), "80.67.191.6")
	check("Framed-IP-Netmask", rfc2865.FramedIPNetmask_Get(rep).String(), "255.255.255.255")
	check("Service-Type", rfc2865.ServiceType_Get(rep), rfc2865.ServiceType_Value_FramedUser)
	check("Framed-Protocol", rfc2865.FramedProtocol_Get(rep), rfc2865.FramedProtocol_Value_PPP)
	check("Framed-MTU", rfc2865.FramedMTU_Get(rep), rfc2865.FramedMTU(1500))
	check("Port-Limit", rfc2865.PortLimit_Get(rep), rfc2865.PortLimit(1))
	check("Acct-Interim-Interval", rfc2869.AcctInterimInterval_Get(rep), rfc2869.AcctInterimInterval(60))
	check("Session-Timeout", rfc2865.SessionTimeout_Get(rep), rfc2865.SessionTimeout(49708))
	check("Framed-IPv6-Prefix", ipv6PrefixString(t, rep.Get(97)), "2001:913:1d00:600::/64")
	check("Delegated-IPv6-Prefix", ipv6PrefixString(t, rep.Get(123)), "2001:913:1d00:600::/60")
	ps := rep.Attributes
	var states []string
	for _, a := range ps {
		if a.Type == rfc2865.ProxyState_Type {
			states = append(states, string(a.Attribute))
		}
	}
	if strings.Join(states, ",") != "33,second" {
		t.Errorf("Proxy-State echoed as %q, want 33,second in order", states)
	}
	if ts.requests("accept") != 1 {
		t.Errorf("accept counter = %v", ts.requests("accept"))
	}
	if strings.Contains(ts.logs.String(), "trace-password") || strings.Contains(ts.logs.String(), testSecret) {
		t.Errorf("log holds a secret: %s", ts.logs.String())
	}
}

func ipv6PrefixString(t testing.TB, a radius.Attribute) string {
	t.Helper()
	if len(a) < 2 {
		return "<none>"
	}
	var b [16]byte
	copy(b[:], a[2:])
	return netip.PrefixFrom(netip.AddrFrom16(b), int(a[1])).String()
}

func TestRejectsSayWhy(t *testing.T) {
	ts := startServer(t, Config{}, testInput(MANever))
	cases := []struct{ user, password, msg, label string }{
		{"demo1@DEMO", "Wr0ng-pa55", "wrong password", "wrong_password"},
		{"nobody@DEMO", "nobody-pa55", "unknown user", "unknown_user"},
		{"suspended1@DEMO", "pw-suspended", "line suspended", "suspended"},
		{"expired1@DEMO", "pw-expired", "no current membership", "expired"},
		{"closed1@DEMO", "pw-closed", "subscription closed", "closed"},
		// The state of a line is not told to someone without its password.
		{"suspended1@DEMO", "gu3ss-pa55", "wrong password", "wrong_password"},
	}
	for _, c := range cases {
		raw := encodeRequest(t, papRequest(t, c.user, c.password), false)
		rep := parseReply(t, exchange(t, ts.auth, raw, 2*time.Second), raw, testSecret)
		if rep.Code != radius.CodeAccessReject {
			t.Errorf("%s: code %v, want reject", c.user, rep.Code)
		}
		if got := rfc2865.ReplyMessage_GetString(rep); got != c.msg {
			t.Errorf("%s: Reply-Message %q, want %q", c.user, got, c.msg)
		}
		if rfc2865.FramedIPAddress_Get(rep) != nil {
			t.Errorf("%s: reject carries Framed-IP-Address", c.user)
		}
	}
	logs := ts.logs.String()
	for _, c := range cases {
		if !strings.Contains(logs, "result="+c.label) {
			t.Errorf("no log line for %s", c.label)
		}
		if strings.Contains(logs, c.password) {
			t.Errorf("log holds password %q", c.password)
		}
	}
	if !strings.Contains(logs, `membership="last period ended 2025-01-31"`) {
		t.Errorf("expired membership's reason not logged:\n%s", logs)
	}
	if ts.requests("wrong_password") != 2 || ts.requests("suspended") != 1 {
		t.Errorf("counters: wrong_password=%v suspended=%v", ts.requests("wrong_password"), ts.requests("suspended"))
	}
}

func TestCHAP(t *testing.T) {
	ts := startServer(t, Config{}, testInput(MANever))
	for _, c := range []struct {
		password      string
		withChallenge bool
		want          radius.Code
	}{
		{"demo1-password", false, radius.CodeAccessAccept},
		{"demo1-password", true, radius.CodeAccessAccept},
		{"nope", true, radius.CodeAccessReject},
	} {
		p := radius.New(radius.CodeAccessRequest, []byte(testSecret))
		rfc2865.UserName_SetString(p, "demo1@DEMO")
		challenge := p.Authenticator[:]
		if c.withChallenge {
			challenge = []byte("0123456789abcdef0123")
			rfc2865.CHAPChallenge_Set(p, challenge)
		}
		sum := md5.Sum(append(append([]byte{42}, c.password...), challenge...))
		rfc2865.CHAPPassword_Set(p, append([]byte{42}, sum[:]...))
		raw := encodeRequest(t, p, false)
		rep := parseReply(t, exchange(t, ts.auth, raw, 2*time.Second), raw, testSecret)
		if rep.Code != c.want {
			t.Errorf("CHAP %q challenge=%v: %v, want %v", c.password, c.withChallenge, rep.Code, c.want)
		}
	}
}

// mschapv2Request is a Go MS-CHAPv2 client (layeh's RFC 2759 code, checked
// against the RFC's vectors in TestClientLibraryAgainstRFC2759Vectors).
func mschapv2Request(t testing.TB, user, password string) (p *radius.Packet, authCh, peerCh, nt []byte) {
	p = radius.New(radius.CodeAccessRequest, []byte(testSecret))
	rfc2865.UserName_SetString(p, user)
	authCh = []byte("authenticatorch!")
	peerCh = []byte("peer-challenge-!")
	nt, err := rfc2759.GenerateNTResponse(authCh, peerCh, []byte(user), []byte(password))
	if err != nil {
		t.Fatal(err)
	}
	resp := make([]byte, 50)
	resp[0] = 7 // ident
	copy(resp[2:18], peerCh)
	copy(resp[26:], nt)
	microsoft.MSCHAPChallenge_Set(p, authCh)
	microsoft.MSCHAP2Response_Set(p, resp)
	return p, authCh, peerCh, nt
}

func TestMSCHAPv2(t *testing.T) {
	ts := startServer(t, Config{}, testInput(MARequire))
	user, password := "demo1@DEMO", "demo1-password"
	p, authCh, peerCh, nt := mschapv2Request(t, user, password)
	raw := encodeRequest(t, p, true)
	rep := parseReply(t, exchange(t, ts.auth, raw, 2*time.Second), raw, testSecret)
	if rep.Code != radius.CodeAccessAccept {
		t.Fatalf("code %v: %q", rep.Code, rfc2865.ReplyMessage_GetString(rep))
	}
	succ := microsoft.MSCHAP2Success_Get(rep)
	want, _ := rfc2759.GenerateAuthenticatorResponse(authCh, peerCh, nt, []byte(user), []byte(password))
	if len(succ) != 43 || succ[0] != 7 || string(succ[1:]) != want {
		t.Errorf("MS-CHAP2-Success = %q, want ident 7 + %s", succ, want)
	}
	wantSend, _ := rfc3079.MakeKey(nt, []byte(password), true)
	wantRecv, _ := rfc3079.MakeKey(nt, []byte(password), false)
	send := decryptSalted(t, vsa(t, rep, 311, 16), []byte(testSecret), raw[4:20])
	recv := decryptSalted(t, vsa(t, rep, 311, 17), []byte(testSecret), raw[4:20])
	if !bytes.Equal(send, wantSend) || !bytes.Equal(recv, wantRecv) {
		t.Errorf("MPPE keys send=%X recv=%X, want %X %X", send, recv, wantSend, wantRecv)
	}
	if got := microsoft.MSMPPEEncryptionPolicy_Get(rep); got != microsoft.MSMPPEEncryptionPolicy_Value_EncryptionAllowed {
		t.Errorf("MS-MPPE-Encryption-Policy = %v", got)
	}
	if got := microsoft.MSMPPEEncryptionTypes_Get(rep); got != 6 {
		t.Errorf("MS-MPPE-Encryption-Types = %v", got)
	}

	// Wrong password: reject with MS-CHAP-Error 691.
	p, _, _, _ = mschapv2Request(t, user, "wrong")
	raw = encodeRequest(t, p, true)
	rep = parseReply(t, exchange(t, ts.auth, raw, 2*time.Second), raw, testSecret)
	if rep.Code != radius.CodeAccessReject || !strings.HasPrefix(string(vsa(t, rep, 311, 2)[1:]), "E=691 R=0 C=") {
		t.Errorf("wrong MS-CHAPv2 password: %v, MS-CHAP-Error %q", rep.Code, vsa(t, rep, 311, 2))
	}
}

// vsa returns a vendor sub-attribute of a reply, or fails.
func vsa(t testing.TB, p *radius.Packet, vendor uint32, typ byte) []byte {
	t.Helper()
	for _, a := range p.Attributes {
		if a.Type != rfc2865.VendorSpecific_Type || len(a.Attribute) < 6 {
			continue
		}
		if binary.BigEndian.Uint32(a.Attribute) == vendor && a.Attribute[4] == typ {
			return a.Attribute[6 : a.Attribute[5]+4]
		}
	}
	t.Fatalf("no vendor %d attribute %d in reply", vendor, typ)
	return nil
}

func TestMessageAuthenticatorPolicies(t *testing.T) {
	send := func(ts *testServer, withMA bool, secret string) radius.Code {
		p := papRequest(t, "demo1@DEMO", "demo1-password")
		p.Secret = []byte(secret)
		// Re-encrypt the password with the secret in use.
		rfc2865.UserPassword_SetString(p, "demo1-password")
		raw := encodeRequest(t, p, withMA)
		b := exchange(t, ts.auth, raw, 300*time.Millisecond)
		if b == nil {
			return 0
		}
		return parseReply(t, b, raw, testSecret).Code
	}
	t.Run("yes", func(t *testing.T) {
		ts := startServer(t, Config{}, testInput(MARequire))
		if c := send(ts, false, testSecret); c != 0 {
			t.Errorf("without Message-Authenticator: answered %v", c)
		}
		if ts.drops(dropMissingMA) != 1 {
			t.Errorf("missing MA drops = %v", ts.drops(dropMissingMA))
		}
		if c := send(ts, true, testSecret); c != radius.CodeAccessAccept {
			t.Errorf("with Message-Authenticator: %v", c)
		}
		// A wrong secret shows in the Message-Authenticator: dropped.
		if c := send(ts, true, "not-the-secret"); c != 0 {
			t.Errorf("wrong secret: answered %v", c)
		}
		if ts.drops(dropBadMA) != 1 {
			t.Errorf("bad MA drops = %v", ts.drops(dropBadMA))
		}
		// Whoever sets the NAS up learns why from the log, at Warn.
		logs := ts.logs.String()
		if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "wrong shared secret?") || !strings.Contains(logs, "nas=") {
			t.Errorf("the wrong secret is not in the log:\n%s", logs)
		}
		if strings.Contains(logs, "not-the-secret") || strings.Contains(logs, testSecret) {
			t.Errorf("the log holds a secret:\n%s", logs)
		}
	})
	t.Run("no", func(t *testing.T) {
		ts := startServer(t, Config{}, testInput(MANever))
		if c := send(ts, false, testSecret); c != radius.CodeAccessAccept {
			t.Errorf("without Message-Authenticator: %v", c)
		}
		// Present means verified, whatever the policy.
		if c := send(ts, true, "not-the-secret"); c != 0 {
			t.Errorf("bad Message-Authenticator accepted under policy no: %v", c)
		}
	})
	t.Run("auto", func(t *testing.T) {
		ts := startServer(t, Config{}, testInput(MAAuto))
		if c := send(ts, false, testSecret); c != radius.CodeAccessAccept {
			t.Errorf("first packet without Message-Authenticator: %v", c)
		}
		if c := send(ts, true, testSecret); c != radius.CodeAccessAccept {
			t.Errorf("with Message-Authenticator: %v", c)
		}
		if c := send(ts, false, testSecret); c != 0 {
			t.Errorf("after the NAS sent one, a packet without it was answered: %v", c)
		}
		if !strings.Contains(ts.logs.String(), "now required") {
			t.Errorf("switch to required not logged")
		}
	})
}

func TestRetransmissionGetsCachedReply(t *testing.T) {
	ts := startServer(t, Config{}, testInput(MARequire))
	raw := encodeRequest(t, papRequest(t, "demo1@DEMO", "demo1-password"), true)
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(ts.auth))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	first := exchangeOn(t, conn, raw, 2*time.Second)
	parseReply(t, first, raw, testSecret)
	// Suspending the line now must not change the answer to the same
	// request: a retransmission is never evaluated again.
	in := testInput(MARequire)
	in.Subscribers[1].State = StateSuspended
	snap, _ := NewSnapshot(in)
	ts.s.SetSnapshot(snap)
	second := exchangeOn(t, conn, raw, 2*time.Second)
	if !bytes.Equal(first, second) {
		t.Fatalf("retransmission got a different reply")
	}
	if ts.requests("retransmit") != 1 || ts.requests("accept") != 1 {
		t.Errorf("retransmit=%v accept=%v", ts.requests("retransmit"), ts.requests("accept"))
	}
	// A new request (new authenticator) is evaluated: now suspended.
	raw2 := encodeRequest(t, papRequest(t, "demo1@DEMO", "demo1-password"), true)
	rep := parseReply(t, exchangeOn(t, conn, raw2, 2*time.Second), raw2, testSecret)
	if rep.Code != radius.CodeAccessReject {
		t.Errorf("new request after suspension: %v", rep.Code)
	}
}

func TestUnknownSourceDropped(t *testing.T) {
	in := testInput(MANever)
	in.Clients[0].Prefix = netip.MustParsePrefix("127.0.0.2/32")
	ts := startServer(t, Config{}, in)
	raw := encodeRequest(t, papRequest(t, "demo1@DEMO", "demo1-password"), true)
	if b := exchange(t, ts.auth, raw, 300*time.Millisecond); b != nil {
		t.Fatal("answered a packet from an unknown source")
	}
	waitFor(t, func() bool { return ts.drops(dropUnknownClient) == 1 })
	// Logged once, then counted: a sprayer does not flood the log.
	for range 3 {
		exchange(t, ts.auth, raw, 50*time.Millisecond)
	}
	waitFor(t, func() bool { return ts.drops(dropUnknownClient) == 4 })
	if n := strings.Count(ts.logs.String(), "the source is no NAS of the registry"); n != 1 {
		t.Errorf("unknown source logged %d times, want once:\n%s", n, ts.logs.String())
	}
}

// The drop log says each kind of drop once per period, then how many more
// came meanwhile.
func TestDropLogIsRateLimited(t *testing.T) {
	logs := &testenv.Buffer{}
	now := time.Unix(0, 0)
	d := newDropLog(slog.New(slog.NewTextHandler(logs, nil)), func() time.Time { return now })
	src := netip.MustParseAddrPort("192.0.2.9:1645")
	for range 5 {
		d.note(dropBadAuth, src, "bras1")
	}
	d.note(dropInFlight, src, "bras1") // counted only
	now = now.Add(dropLogEvery)
	d.note(dropBadAuth, src, "bras1")
	out := logs.String()
	if n := strings.Count(out, "wrong shared secret?"); n != 2 || !strings.Contains(out, "more_since_last=4") || strings.Contains(out, dropInFlight) {
		t.Fatalf("drop log:\n%s", out)
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestVPNAndExtraAttributes(t *testing.T) {
	in := testInput(MANever)
	in.Clients[0].Kind = ClientOpenVPN
	in.Clients[0].Reply = []Attr{VendorAttr(14988, 8, []byte("1M/1M")), StringAttr(11, "nas-filter")}
	ts := startServer(t, Config{}, in)
	raw := encodeRequest(t, papRequest(t, "vpn1", "vpn-password"), false)
	rep := parseReply(t, exchange(t, ts.auth, raw, 2*time.Second), raw, testSecret)
	if rep.Code != radius.CodeAccessAccept {
		t.Fatalf("vpn1: %v %q", rep.Code, rfc2865.ReplyMessage_GetString(rep))
	}
	if got := rfc2865.FramedMTU_Get(rep); got != 1400 {
		t.Errorf("offer's Framed-MTU not applied: %v", got)
	}
	if n := len(rep.Attributes); n == 0 || rfc2865.FramedProtocol_Get(rep) != 0 {
		t.Errorf("VPN accept carries Framed-Protocol PPP")
	}
	if got := string(vsa(t, rep, 14988, 8)); got != "10M/10M" {
		t.Errorf("Mikrotik-Rate-Limit = %q: the subscription's must win over the NAS's", got)
	}
	if got := rfc2865.FilterID_GetString(rep); got != "nas-filter" {
		t.Errorf("NAS extra Filter-Id = %q", got)
	}
	// A PPP line on the OpenVPN server is refused.
	raw = encodeRequest(t, papRequest(t, "demo1@DEMO", "demo1-password"), false)
	rep = parseReply(t, exchange(t, ts.auth, raw, 2*time.Second), raw, testSecret)
	if rep.Code != radius.CodeAccessReject {
		t.Errorf("PPP login on an OpenVPN NAS: %v", rep.Code)
	}
}

func TestRealmStrip(t *testing.T) {
	in := testInput(MANever)
	in.Clients[0].Realm = RealmStrip
	ts := startServer(t, Config{}, in)
	for _, user := range []string{"vpn1@anything.example", "vpn1", "p1f9bd1@OTHER", "p1f9bd1"} {
		pw := "vpn-password"
		if strings.HasPrefix(user, "p1f9") {
			pw = "trace-password"
		}
		raw := encodeRequest(t, papRequest(t, user, pw), false)
		rep := parseReply(t, exchange(t, ts.auth, raw, 2*time.Second), raw, testSecret)
		if rep.Code != radius.CodeAccessAccept {
			t.Errorf("%s with realm stripped: %v %q", user, rep.Code, rfc2865.ReplyMessage_GetString(rep))
		}
	}
}

func TestStatusServer(t *testing.T) {
	ts := startServer(t, Config{}, testInput(MANever))
	p := radius.New(radius.CodeStatusServer, []byte(testSecret))
	raw := encodeRequest(t, p, true)
	rep := parseReply(t, exchange(t, ts.auth, raw, 2*time.Second), raw, testSecret)
	if rep.Code != radius.CodeAccessAccept {
		t.Errorf("Status-Server: %v", rep.Code)
	}
	// RFC 5997: without Message-Authenticator it is dropped.
	p = radius.New(radius.CodeStatusServer, []byte(testSecret))
	if b := exchange(t, ts.auth, encodeRequest(t, p, false), 300*time.Millisecond); b != nil {
		t.Error("Status-Server without Message-Authenticator answered")
	}
}

func TestAdministrativeUser(t *testing.T) {
	in := testInput(MANever)
	ts := startServer(t, Config{}, in)
	admin := func(user, pw string) *radius.Packet {
		p := papRequest(t, user, pw)
		rfc2865.ServiceType_Set(p, rfc2865.ServiceType_Value_AdministrativeUser)
		return p
	}
	raw := encodeRequest(t, admin("alice", "alice-pw"), false)
	rep := parseReply(t, exchange(t, ts.auth, raw, 2*time.Second), raw, testSecret)
	if rep.Code != radius.CodeAccessAccept || rfc2865.ServiceType_Get(rep) != rfc2865.ServiceType_Value_AdministrativeUser {
		t.Errorf("admin login: %v service %v", rep.Code, rfc2865.ServiceType_Get(rep))
	}
	if rfc2865.FramedIPAddress_Get(rep) != nil {
		t.Error("admin accept carries subscriber attributes")
	}
	// A subscriber is no administrator.
	raw = encodeRequest(t, admin("demo1@DEMO", "demo1-password"), false)
	rep = parseReply(t, exchange(t, ts.auth, raw, 2*time.Second), raw, testSecret)
	if rep.Code != radius.CodeAccessReject {
		t.Errorf("subscriber as admin: %v", rep.Code)
	}
}

func TestSwitchMACAuthentication(t *testing.T) {
	in := testInput(MANever)
	in.Clients[0].Kind = ClientSwitch
	in.Clients[0].Name = "sw-a"
	in.MACs = []MACEntry{
		{MAC: "aa:bb:cc:00:00:01", Access: Access{Member: "m-1", VLAN: "101", Status: AccessOK}},
		{MAC: "AABB.CC00.0002", Access: Access{Member: "m-2", VLAN: "102", Status: AccessNonMember}},
		{MAC: "aa-bb-cc-00-00-03", Access: Access{Member: "m-3", VLAN: "103", Status: AccessSuspended}},
	}
	in.Ports = []PortEntry{
		{Switch: "sw-a", Port: "1", Mode: PortByMAC},
		{Switch: "sw-a", Port: "2", Mode: PortByRoom, Access: Access{Member: "m-4", VLAN: "204", Status: AccessOK}},
		{Switch: "sw-a", Port: "3", Mode: PortClosed},
	}
	in.Switch = SwitchPolicy{
		UnknownMAC:  Decision{VLAN: "999"},
		UnknownPort: Decision{Reject: true},
		NonMember:   Decision{VLAN: "998"},
		Suspended:   Decision{Reject: true},
	}
	ts := startServer(t, Config{}, in)
	cases := []struct {
		mac      string
		port     uint32
		wantCode radius.Code
		wantVLAN string
	}{
		{"AA-BB-CC-00-00-01", 1, radius.CodeAccessAccept, "101"},
		{"aabbcc000002", 1, radius.CodeAccessAccept, "998"},
		{"aa:bb:cc:00:00:03", 1, radius.CodeAccessReject, ""},
		{"aa:bb:cc:00:00:09", 1, radius.CodeAccessAccept, "999"},
		{"aa:bb:cc:00:00:09", 2, radius.CodeAccessAccept, "204"},
		{"aa:bb:cc:00:00:01", 3, radius.CodeAccessReject, ""},
		{"aa:bb:cc:00:00:01", 7, radius.CodeAccessReject, ""},
	}
	for _, c := range cases {
		p := radius.New(radius.CodeAccessRequest, []byte(testSecret))
		rfc2865.UserName_SetString(p, strings.ToLower(strings.NewReplacer(":", "", "-", "").Replace(c.mac)))
		rfc2865.UserPassword_SetString(p, "x")
		rfc2865.CallingStationID_SetString(p, c.mac)
		rfc2865.NASPort_Set(p, rfc2865.NASPort(c.port))
		rfc2865.ServiceType_Set(p, rfc2865.ServiceType_Value_CallCheck)
		raw := encodeRequest(t, p, false)
		rep := parseReply(t, exchange(t, ts.auth, raw, 2*time.Second), raw, testSecret)
		if rep.Code != c.wantCode {
			t.Errorf("%s port %d: %v, want %v (%q)", c.mac, c.port, rep.Code, c.wantCode, rfc2865.ReplyMessage_GetString(rep))
			continue
		}
		if c.wantVLAN == "" {
			continue
		}
		if tt := rep.Get(attrTunnelType); !bytes.Equal(tt, []byte{0, 0, 0, 13}) {
			t.Errorf("%s: Tunnel-Type %X", c.mac, tt)
		}
		if tm := rep.Get(attrTunnelMediumType); !bytes.Equal(tm, []byte{0, 0, 0, 6}) {
			t.Errorf("%s: Tunnel-Medium-Type %X", c.mac, tm)
		}
		if g := string(rep.Get(attrTunnelPrivateGroupID)); g != c.wantVLAN {
			t.Errorf("%s port %d: VLAN %q, want %q", c.mac, c.port, g, c.wantVLAN)
		}
	}
}

func TestShedsOverload(t *testing.T) {
	s, err := New(Config{QueueSize: 1, Registerer: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	// No workers run: the second packet finds the queue full.
	if !s.enqueue(s.authQ, job{buf: new([maxPacket]byte)}) {
		t.Fatal("first packet not queued")
	}
	if s.enqueue(s.authQ, job{buf: new([maxPacket]byte)}) {
		t.Fatal("second packet queued past the bound")
	}
	var m dto.Metric
	if err := s.metrics.drops[dropOverload].Write(&m); err != nil {
		t.Fatal(err)
	}
	if got := m.GetCounter().GetValue(); got != 1 {
		t.Errorf("overload drops = %v", got)
	}
}

func TestLoginFromAnotherLineIsLogged(t *testing.T) {
	ts := startServer(t, Config{}, testInput(MANever))
	for _, circuit := range []string{"F02MAR00006 eth 1/1/13/16/54/1/1:10", "ELSEWHERE 1/1/1"} {
		p := papRequest(t, "p1f9bd1@NEUTRINET", "trace-password")
		sub := append([]byte{adslCircuitID, byte(2 + len(circuit))}, circuit...)
		p.Add(rfc2865.VendorSpecific_Type, append(binary.BigEndian.AppendUint32(nil, vendorADSLForum), sub...))
		raw := encodeRequest(t, p, false)
		if rep := parseReply(t, exchange(t, ts.auth, raw, 2*time.Second), raw, testSecret); rep.Code != radius.CodeAccessAccept {
			t.Fatalf("circuit %q: %v", circuit, rep.Code)
		}
	}
	logs := ts.logs.String()
	if strings.Count(logs, "another line") != 1 || !strings.Contains(logs, `circuit="ELSEWHERE 1/1/1"`) {
		t.Errorf("want one warning for the other line:\n%s", logs)
	}
}
