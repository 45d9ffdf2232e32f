package radius

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"io"
	"iter"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
)

// eapNAS plays the switch: it wraps EAP packets in Access-Requests, hands
// them to a worker of a server that is not listening, and keeps the State.
type eapNAS struct {
	t     testing.TB
	s     *Server
	w     *worker
	pki   *testPKI
	reg   *prometheus.Registry
	src   netip.AddrPort
	port  string
	state []byte
	raw   []byte // the last request sent
}

func newEAPNAS(t testing.TB, mod func(*EAPConfig)) *eapNAS {
	t.Helper()
	pki := newTestPKI(t)
	cfg := pki.eapConfig()
	if mod != nil {
		mod(cfg)
	}
	reg := prometheus.NewRegistry()
	s, err := New(Config{
		AcctAddr: "-", EAP: cfg, Registerer: reg,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := NewSnapshot(eapolInput())
	if err != nil {
		t.Fatal(err)
	}
	s.SetSnapshot(snap)
	t.Cleanup(s.eap.sessions.closeAll)
	return &eapNAS{t: t, s: s, w: s.newWorker(1), pki: pki, reg: reg,
		src: netip.MustParseAddrPort("127.0.0.1:40000"), port: eapolSwitchPortRoom}
}

// eapRequestPacket is the Access-Request a switch sends for msg.
func eapRequestPacket(t testing.TB, msg, state []byte, port string) []byte {
	p := radius.New(radius.CodeAccessRequest, []byte(testSecret))
	rfc2865.UserName_SetString(p, "anonymous")
	rfc2865.CallingStationID_SetString(p, "02-00-00-00-00-01")
	p.Add(attrNASPortID, []byte(port))
	for len(msg) > 0 {
		n := min(len(msg), 253)
		p.Add(attrEAPMessage, msg[:n])
		msg = msg[n:]
	}
	if state != nil {
		p.Add(attrState, state)
	}
	return encodeRequest(t, p, true)
}

func (n *eapNAS) send(msg []byte) *radius.Packet {
	n.t.Helper()
	raw := eapRequestPacket(n.t, msg, n.state, n.port)
	n.raw = raw
	reply := n.w.process(append([]byte(nil), raw...), n.src, &listener{pc: discardConn{}}, time.Now())
	rep := parseReply(n.t, reply, raw, testSecret)
	if st := rep.Get(attrState); st != nil {
		n.state = st
	}
	return rep
}

// eapOf is the EAP packet in a reply, checked for a consistent length.
func eapOf(t testing.TB, rep *radius.Packet) []byte {
	t.Helper()
	var b []byte
	for _, a := range rep.Attributes {
		if a.Type == attrEAPMessage {
			b = append(b, a.Attribute...)
		}
	}
	if len(b) < 4 || int(binary.BigEndian.Uint16(b[2:])) != len(b) {
		t.Fatalf("reply %v carries no well-formed EAP packet: %x", rep.Code, b)
	}
	return b
}

func eapResp(id, typ byte, data ...byte) []byte {
	b := []byte{eapResponse, id, 0, 0, typ}
	b = append(b, data...)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// wantEnd checks a reply ends the conversation with code and the EAP code
// that goes with it.
func wantEnd(t testing.TB, rep *radius.Packet, code radius.Code, why string) {
	t.Helper()
	if rep.Code != code {
		t.Fatalf("reply %v (%q), want %v", rep.Code, rfc2865.ReplyMessage_GetString(rep), code)
	}
	eapCode := byte(eapFailure)
	if code == radius.CodeAccessAccept {
		eapCode = eapSuccess
	}
	if m := eapOf(t, rep); m[0] != eapCode || len(m) != 4 {
		t.Errorf("EAP packet %x, want code %d", m, eapCode)
	}
	if why != "" && rfc2865.ReplyMessage_GetString(rep) != why {
		t.Errorf("Reply-Message %q, want %q", rfc2865.ReplyMessage_GetString(rep), why)
	}
}

func TestEAPIdentityStartsDefaultMethodAndNakSwitches(t *testing.T) {
	n := newEAPNAS(t, nil)
	rep := n.send(eapResp(7, eapTypeIdentity, []byte("anonymous")...))
	if rep.Code != radius.CodeAccessChallenge || len(n.state) != 16 {
		t.Fatalf("reply %v with State %x, want a Challenge with a 16-octet State", rep.Code, n.state)
	}
	if m := eapOf(t, rep); !bytes.Equal(m, []byte{eapRequest, 8, 0, 6, eapTypePEAP, tlsFlagStart}) {
		t.Fatalf("EAP %x, want a PEAP Start with Identifier 8", m)
	}
	rep = n.send(eapResp(8, eapTypeNak, eapTypeTLS))
	if m := eapOf(t, rep); !bytes.Equal(m, []byte{eapRequest, 9, 0, 6, eapTypeTLS, tlsFlagStart}) {
		t.Fatalf("after a Nak for EAP-TLS: EAP %x, want its Start", m)
	}
	// A second Nak (for MD5 here) ends it.
	wantEnd(t, n.send(eapResp(9, eapTypeNak, 4)), radius.CodeAccessReject, outEAPMethod.msg)
}

func TestEAPRejectsBadConversations(t *testing.T) {
	identity := eapResp(1, eapTypeIdentity, []byte("x")...)
	for _, tc := range []struct {
		name  string
		setup func(n *eapNAS) []byte // returns the message to send
		why   string
	}{
		{"length field lies", func(n *eapNAS) []byte { return []byte{eapResponse, 1, 0, 40, eapTypeIdentity, 'x'} }, outEAPMalformed.msg},
		{"too short", func(n *eapNAS) []byte { return []byte{eapResponse, 1, 0, 4} }, outEAPMalformed.msg},
		{"a request from the NAS", func(n *eapNAS) []byte { return []byte{eapRequest, 1, 0, 5, eapTypeIdentity} }, outEAPMalformed.msg},
		{"no State", func(n *eapNAS) []byte { return eapResp(2, eapTypePEAP, 0) }, outEAPNoSession.msg},
		{"unknown State", func(n *eapNAS) []byte {
			n.state = bytes.Repeat([]byte{1}, 16)
			return eapResp(2, eapTypePEAP, 0)
		}, outEAPNoSession.msg},
		{"wrong Identifier", func(n *eapNAS) []byte {
			n.send(identity)
			return eapResp(5, eapTypePEAP, 0)
		}, outEAPProtocol.msg},
		{"other type than started", func(n *eapNAS) []byte {
			n.send(identity)
			return eapResp(2, eapTypeMSCHAPv2, 0)
		}, outEAPProtocol.msg},
		{"PEAP version 1", func(n *eapNAS) []byte {
			n.send(identity)
			return eapResp(2, eapTypePEAP, 1, 0x16, 3, 1)
		}, outEAPMethod.msg},
		{"empty response to the Start", func(n *eapNAS) []byte {
			n.send(identity)
			return eapResp(2, eapTypePEAP, 0)
		}, outEAPProtocol.msg},
		{"announced length too large", func(n *eapNAS) []byte {
			n.send(identity)
			return eapResp(2, eapTypePEAP, tlsFlagLength|tlsFlagMore, 0, 0x10, 0, 0, 0x16)
		}, outEAPMalformed.msg},
		{"fragments shorter than announced", func(n *eapNAS) []byte {
			n.send(identity)
			n.send(eapResp(2, eapTypePEAP, append([]byte{tlsFlagLength | tlsFlagMore, 0, 0, 0, 200}, make([]byte, 50)...)...))
			return eapResp(3, eapTypePEAP, append([]byte{0}, make([]byte, 10)...)...)
		}, outEAPMalformed.msg},
		{"not TLS", func(n *eapNAS) []byte {
			n.send(identity)
			return eapResp(2, eapTypePEAP, 0, 'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P')
		}, outEAPTLS.msg},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newEAPNAS(t, nil)
			wantEnd(t, n.send(tc.setup(n)), radius.CodeAccessReject, tc.why)
			if got := n.s.eap.sessions.len(); got != 0 {
				t.Errorf("%d conversations left after a reject", got)
			}
		})
	}
}

func TestEAPWithoutConfigIsRejected(t *testing.T) {
	s, err := New(Config{AcctAddr: "-", Registerer: prometheus.NewRegistry(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	snap, _ := NewSnapshot(eapolInput())
	s.SetSnapshot(snap)
	raw := eapRequestPacket(t, eapResp(1, eapTypeIdentity, []byte("x")...), nil, eapolSwitchPortRoom)
	rep := parseReply(t, s.newWorker(1).process(append([]byte(nil), raw...), netip.MustParseAddrPort("127.0.0.1:1"), &listener{pc: discardConn{}}, time.Now()), raw, testSecret)
	if rep.Code != radius.CodeAccessReject || rfc2865.ReplyMessage_GetString(rep) != outEAP.msg {
		t.Fatalf("reply %v %q, want a reject saying EAP is not supported", rep.Code, rfc2865.ReplyMessage_GetString(rep))
	}
}

func TestEAPConfigErrors(t *testing.T) {
	pki := newTestPKI(t)
	for name, cfg := range map[string]EAPConfig{
		"no key":           {CertFile: pki.path("server.pem")},
		"missing file":     {CertFile: pki.path("nope.pem"), KeyFile: pki.path("server.key")},
		"key of other":     {CertFile: pki.path("ca.pem"), KeyFile: pki.path("server.key")},
		"CA not PEM":       {CertFile: pki.path("server.pem"), KeyFile: pki.path("server.key"), ClientCAFile: pki.path("server.key")},
		"tls without CA":   {CertFile: pki.path("server.pem"), KeyFile: pki.path("server.key"), DefaultMethod: "tls"},
		"unknown method":   {CertFile: pki.path("server.pem"), KeyFile: pki.path("server.key"), DefaultMethod: "md5"},
		"fragment too big": {CertFile: pki.path("server.pem"), KeyFile: pki.path("server.key"), FragmentSize: 4000},
	} {
		if _, err := New(Config{AcctAddr: "-", EAP: &cfg}); err == nil {
			t.Errorf("%s: New accepted the configuration", name)
		} else if !strings.Contains(err.Error(), "EAP") {
			t.Errorf("%s: error %q does not say it is about EAP", name, err)
		}
	}
}

// clientHello is a real TLS 1.2 ClientHello, captured from crypto/tls.
func clientHello(t testing.TB) []byte {
	t.Helper()
	tun := &eapTunnel{}
	c := tls.Client(tun, &tls.Config{ServerName: "radius.test", MaxVersion: tls.VersionTLS12})
	tun.yield = func(struct{}) bool { return false } // the first read fails
	c.Handshake()
	if len(tun.out) == 0 {
		t.Fatal("no ClientHello")
	}
	return tun.out
}

func TestEAPConversationsAreBoundedAndExpire(t *testing.T) {
	n := newEAPNAS(t, func(c *EAPConfig) { c.MaxSessions = 2; c.SessionTimeout = 200 * time.Millisecond })
	hello := clientHello(t)
	before := runtime.NumGoroutine()
	var states [][]byte
	for i := range 2 {
		n.state = nil
		n.send(eapResp(byte(i), eapTypeIdentity, []byte("x")...))
		states = append(states, n.state)
		// The ClientHello starts the handshake; it then waits for the peer.
		if rep := n.send(eapResp(byte(i)+1, eapTypePEAP, append([]byte{0}, hello...)...)); rep.Code != radius.CodeAccessChallenge {
			t.Fatalf("ClientHello answered with %v %q", rep.Code, rfc2865.ReplyMessage_GetString(rep))
		}
	}
	n.state = nil
	wantEnd(t, n.send(eapResp(9, eapTypeIdentity, []byte("x")...)), radius.CodeAccessReject, outEAPBusy.msg)
	if got := gaugeValue(t, n.reg, "maillon_radius_eap_conversations"); got != 2 {
		t.Errorf("eap_conversations = %v, want 2", got)
	}

	time.Sleep(250 * time.Millisecond)
	n.state = states[0]
	wantEnd(t, n.send(eapResp(3, eapTypePEAP, 0)), radius.CodeAccessReject, outEAPNoSession.msg)
	// A new conversation sweeps the expired ones out of a full table, and
	// their handshakes end.
	n.state = nil
	if rep := n.send(eapResp(1, eapTypeIdentity, []byte("x")...)); rep.Code != radius.CodeAccessChallenge {
		t.Fatalf("after expiry a new conversation got %v %q", rep.Code, rfc2865.ReplyMessage_GetString(rep))
	}
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before })
	if got := n.s.eap.sessions.len(); got != 1 {
		t.Errorf("%d conversations, want the new one only", got)
	}
}

func gaugeValue(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}

// goPeer is an EAP-TLS supplicant on crypto/tls, driven round by round
// like the server's own methods, with its own fragment size: a second,
// independent check of the framing and the keys beside eapol_test.
type goPeer struct {
	n    *eapNAS
	frag int
	id   byte // Identifier of the last EAP-Request
	tun  *eapTunnel
	conn *tls.Conn
	next func() (struct{}, bool)
	stop func()
	done bool
}

func newGoPeer(n *eapNAS, cfg *tls.Config, frag int) *goPeer {
	p := &goPeer{n: n, frag: frag, tun: &eapTunnel{}}
	p.conn = tls.Client(p.tun, cfg)
	p.next, p.stop = iter.Pull(func(yield func(struct{}) bool) {
		p.tun.yield = yield
		p.conn.Handshake()
	})
	n.t.Cleanup(p.stop)
	return p
}

// sendTLS sends data in fragments (or an empty acknowledgement) and
// returns the reply to the last one; the server must acknowledge each
// fragment but the last with an empty request.
func (p *goPeer) sendTLS(data []byte) *radius.Packet {
	t := p.n.t
	t.Helper()
	first := true
	for {
		n := min(len(data), p.frag)
		var flags byte
		var hdr []byte
		if first && n < len(data) {
			flags |= tlsFlagLength
			hdr = binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		}
		if n < len(data) {
			flags |= tlsFlagMore
		}
		body := append(append([]byte{flags}, hdr...), data[:n]...)
		rep := p.n.send(eapResp(p.id, eapTypeTLS, body...))
		data, first = data[n:], false
		if len(data) == 0 || rep.Code != radius.CodeAccessChallenge {
			return rep
		}
		m := eapOf(t, rep)
		if len(m) != 6 || m[4] != eapTypeTLS || m[5] != 0 {
			t.Fatalf("fragment not acknowledged: %x", m)
		}
		p.id = m[1]
	}
}

// recvTLS gathers the server's TLS message from rep and the fragments
// that follow it.
func (p *goPeer) recvTLS(rep *radius.Packet) []byte {
	t := p.n.t
	t.Helper()
	var data []byte
	for {
		m := eapOf(t, rep)
		if rep.Code != radius.CodeAccessChallenge || m[0] != eapRequest || m[4] != eapTypeTLS || len(m) < 6 {
			t.Fatalf("reply %v with EAP %x, want an EAP-TLS request", rep.Code, m)
		}
		p.id = m[1]
		flags, body := m[5], m[6:]
		if flags&tlsFlagLength != 0 {
			total := binary.BigEndian.Uint32(body)
			body = body[4:]
			if data != nil || total > maxTLSMessage {
				t.Fatalf("length %d announced mid-message", total)
			}
		}
		if len(body) > p.n.s.eap.cfg.FragmentSize {
			t.Fatalf("fragment of %d octets, over the configured %d", len(body), p.n.s.eap.cfg.FragmentSize)
		}
		data = append(data, body...)
		if flags&tlsFlagMore == 0 {
			return data
		}
		rep = p.n.send(eapResp(p.id, eapTypeTLS, 0))
	}
}

// run goes through a whole EAP-TLS conversation and returns its end.
func (p *goPeer) run() *radius.Packet {
	t := p.n.t
	t.Helper()
	rep := p.n.send(eapResp(1, eapTypeIdentity, []byte("device")...))
	m := eapOf(t, rep)
	p.id = m[1]
	if m[4] != eapTypeTLS {
		rep = p.n.send(eapResp(p.id, eapTypeNak, eapTypeTLS))
		p.id = eapOf(t, rep)[1]
	}
	var input []byte
	for range 40 {
		var out []byte
		if !p.done {
			p.tun.in = input
			if _, running := p.next(); !running {
				p.done = true
			}
			out, p.tun.out = p.tun.out, nil
		}
		rep = p.sendTLS(out)
		if rep.Code != radius.CodeAccessChallenge {
			return rep
		}
		input = p.recvTLS(rep)
	}
	t.Fatal("conversation does not end")
	return nil
}

func TestEAPTLSGoPeerSmallFragments(t *testing.T) {
	n := newEAPNAS(t, func(c *EAPConfig) { c.FragmentSize = 100 })
	n.port = eapolSwitchPortMAC
	n.pki.client(t, "printer", "printer-3", false, "aa:bb:cc:00:00:01")
	p := newGoPeer(n, n.pki.clientTLS(t, "printer", "radius.test"), 90)
	rep := p.run()
	wantEnd(t, rep, radius.CodeAccessAccept, "")
	if got := rfc2865.UserName_GetString(rep); got != "aa:bb:cc:00:00:01" {
		t.Errorf("User-Name %q, want the certificate's MAC name", got)
	}
	if got := string(rep.Get(attrTunnelPrivateGroupID)); got != "44" {
		t.Errorf("Tunnel-Private-Group-Id %q, want 44", got)
	}
	st := p.conn.ConnectionState()
	km, err := st.ExportKeyingMaterial("client EAP encryption", nil, 64)
	if err != nil {
		t.Fatal(err)
	}
	recv := decryptSalted(t, vsa(t, rep, vendorMicrosoft, msMPPERecvKey), []byte(testSecret), n.raw[4:20])
	send := decryptSalted(t, vsa(t, rep, vendorMicrosoft, msMPPESendKey), []byte(testSecret), n.raw[4:20])
	if !bytes.Equal(recv, km[:32]) || !bytes.Equal(send, km[32:]) {
		t.Errorf("MS-MPPE-Recv-Key %x Send-Key %x, want the MSK %x", recv, send, km)
	}
}

// eapSeeds are EAP requests for FuzzHandlePacket: the start of each
// method, a Nak, a ClientHello (whole and in a first fragment) under a
// State the fuzzer cannot know, and broken EAP framing.
func eapSeeds(t testing.TB) [][]byte {
	state := bytes.Repeat([]byte{7}, 16)
	hello := clientHello(t)
	first := append([]byte{tlsFlagLength | tlsFlagMore, 0, 0, byte(len(hello) >> 8), byte(len(hello))}, hello[:100]...)
	var seeds [][]byte
	for _, s := range []struct {
		msg   []byte
		state []byte
	}{
		{eapResp(1, eapTypeIdentity, []byte("anonymous@DEMO")...), nil},
		{eapResp(2, eapTypeNak, eapTypeTLS), state},
		{eapResp(2, eapTypePEAP, append([]byte{0}, hello...)...), state},
		{eapResp(2, eapTypeTLS, first...), state},
		{eapResp(2, eapTypeTLS, tlsFlagLength, 0xff, 0xff, 0xff, 0xff), state},
		{eapResp(3, eapTypePEAP, 0), state},
		{[]byte{eapResponse, 1, 0, 40, eapTypeIdentity}, nil},
		{[]byte{eapResponse, 1, 0, 2}, nil},
		{[]byte{eapSuccess, 1, 0, 4}, state},
	} {
		seeds = append(seeds, eapRequestPacket(t, s.msg, s.state, "1"))
	}
	return seeds
}

func TestReloadEAPCertificates(t *testing.T) {
	n := newEAPNAS(t, nil)
	n.pki.client(t, "demo1", "demo1@DEMO", false)
	serverCN := func(name string) string {
		t.Helper()
		n.state = nil
		p := newGoPeer(n, n.pki.clientTLS(t, "demo1", name), 1000)
		wantEnd(t, p.run(), radius.CodeAccessAccept, "")
		return p.conn.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if got := serverCN("radius.test"); got != "radius.test" {
		t.Fatalf("server certificate %q", got)
	}
	n.pki.issue(t, "server", n.pki.ca, n.pki.caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "radius2.test"},
		DNSNames:    []string{"radius2.test"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err := n.s.ReloadEAP(); err != nil {
		t.Fatal(err)
	}
	if got := serverCN("radius2.test"); got != "radius2.test" {
		t.Fatalf("after ReloadEAP the server still shows %q", got)
	}
	// A broken file is refused and the running certificates stay.
	if err := os.WriteFile(n.pki.path("server.key"), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := n.s.ReloadEAP(); err == nil || !strings.Contains(err.Error(), "server.pem") {
		t.Fatalf("ReloadEAP with a broken key: %v, want an error naming the file", err)
	}
	if got := serverCN("radius2.test"); got != "radius2.test" {
		t.Fatalf("after a failed reload the server shows %q", got)
	}
}
