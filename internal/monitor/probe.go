package monitor

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"layeh.com/radius"

	"maillon/internal/registry"
)

// result is one probe's outcome.
type result struct {
	ok      bool
	msg     string
	latency time.Duration
	// certExpiry is the server certificate's end of an https check.
	certExpiry time.Time
	// none says there is nothing to judge yet (a push check not called
	// since it was made or since the daemon started, within its period).
	none bool
}

func fail(format string, args ...any) result { return result{msg: fmt.Sprintf(format, args...)} }

// prober runs the probes; its fields let tests trust their own CA.
type prober struct {
	http *http.Client
	now  func() time.Time
	// secret opens a radius check's shared secret.
	secret func(registry.Check) (string, error)
	seq    atomic.Uint32
}

func newProber(tlsConfig *tls.Config, now func() time.Time, secret func(registry.Check) (string, error)) *prober {
	tr := &http.Transport{
		Proxy: nil,
		// A fresh connection per probe: the latency measured is what a
		// new visitor sees, and a dead server is not hidden by an idle
		// connection.
		DisableKeepAlives: true,
		TLSClientConfig:   tlsConfig,
		DialContext:       (&net.Dialer{}).DialContext,
	}
	return &prober{
		http: &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("more than 5 redirects")
			}
			return nil
		}},
		now: now, secret: secret,
	}
}

// probe runs one check once, within its timeout.
func (p *prober) probe(ctx context.Context, c registry.Check) result {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout())
	defer cancel()
	start := time.Now()
	var r result
	switch c.Kind {
	case registry.CheckHTTP:
		r = p.probeHTTP(ctx, c)
	case registry.CheckTCP:
		r = probeTCP(ctx, c)
	case registry.CheckICMP:
		r = probeICMP(ctx, c, uint16(p.seq.Add(1)))
	case registry.CheckDNS:
		r = probeDNS(ctx, c)
	case registry.CheckRADIUS:
		r = p.probeRADIUS(ctx, c)
	default:
		return fail("kind %q cannot be probed", c.Kind)
	}
	r.latency = time.Since(start)
	if !r.ok && ctx.Err() != nil && !strings.Contains(r.msg, "timeout") {
		r.msg += fmt.Sprintf(" (timeout %s)", c.Timeout())
	}
	return r
}

func (p *prober) probeHTTP(ctx context.Context, c registry.Check) result {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		return fail("%v", err)
	}
	req.Header.Set("User-Agent", "maillon-monitor")
	resp, err := p.http.Do(req)
	if err != nil {
		return fail("%v", err)
	}
	defer resp.Body.Close()
	var r result
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		r.certExpiry = resp.TLS.PeerCertificates[0].NotAfter
	}
	switch {
	case c.ExpectStatus != 0 && resp.StatusCode != c.ExpectStatus:
		r.msg = fmt.Sprintf("status %d, want %d", resp.StatusCode, c.ExpectStatus)
		return r
	case c.ExpectStatus == 0 && resp.StatusCode >= 400:
		r.msg = fmt.Sprintf("status %d", resp.StatusCode)
		return r
	}
	if c.BodyMatch != "" {
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			r.msg = fmt.Sprintf("read body: %v", err)
			return r
		}
		if !bytes.Contains(body, []byte(c.BodyMatch)) {
			r.msg = fmt.Sprintf("body does not contain %q", c.BodyMatch)
			return r
		}
	}
	if c.CertDays > 0 && !r.certExpiry.IsZero() {
		left := r.certExpiry.Sub(p.now())
		if left < time.Duration(c.CertDays)*24*time.Hour {
			r.msg = fmt.Sprintf("certificate expires in %d days (%s), under %d", int(left.Hours()/24), r.certExpiry.UTC().Format("2006-01-02"), c.CertDays)
			return r
		}
	}
	r.ok, r.msg = true, fmt.Sprintf("status %d", resp.StatusCode)
	return r
}

func probeTCP(ctx context.Context, c registry.Check) result {
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", c.Address)
	if err != nil {
		return fail("%v", err)
	}
	conn.Close()
	return result{ok: true, msg: "connected"}
}

// ICMPHelp says how to let maillon ping without privileges.
const ICMPHelp = "ICMP checks need unprivileged ICMP sockets (sysctl net.ipv4.ping_group_range must include maillon's group, e.g. sysctl -w net.ipv4.ping_group_range='0 2147483647') or CAP_NET_RAW"

// probeICMP sends one echo request, through an unprivileged datagram ICMP
// socket where net.ipv4.ping_group_range allows it, else a raw socket
// (CAP_NET_RAW).
func probeICMP(ctx context.Context, c registry.Check, seq uint16) result {
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", c.Address)
	if err != nil || len(addrs) == 0 {
		return fail("resolve %s: %v", c.Address, err)
	}
	ip := addrs[0].Unmap()
	v6 := ip.Is6()
	var (
		conn  *icmp.PacketConn
		dgram = true
	)
	network, rawNet, listen := "udp4", "ip4:icmp", "0.0.0.0"
	if v6 {
		network, rawNet, listen = "udp6", "ip6:ipv6-icmp", "::"
	}
	conn, err = icmp.ListenPacket(network, listen)
	if err != nil {
		dgram = false
		var raw error
		if conn, raw = icmp.ListenPacket(rawNet, listen); raw != nil {
			if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) || errors.Is(raw, os.ErrPermission) {
				return fail("%s", ICMPHelp)
			}
			return fail("icmp socket: %v", err)
		}
	}
	defer conn.Close()
	var typ icmp.Type = ipv4.ICMPTypeEcho
	var reply icmp.Type = ipv4.ICMPTypeEchoReply
	proto := 1
	if v6 {
		typ, reply, proto = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply, 58
	}
	id := os.Getpid() & 0xffff
	payload := []byte("maillon-monitor")
	msg := icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: int(seq), Data: payload}}
	b, err := msg.Marshal(nil)
	if err != nil {
		return fail("icmp: %v", err)
	}
	var dst net.Addr = &net.IPAddr{IP: ip.AsSlice()}
	if dgram {
		dst = &net.UDPAddr{IP: ip.AsSlice()}
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if _, err := conn.WriteTo(b, dst); err != nil {
		return fail("send echo to %s: %v", ip, err)
	}
	buf := make([]byte, 1500)
	for {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return fail("no echo reply from %s (timeout)", ip)
			}
			return fail("read echo reply: %v", err)
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || m.Type != reply {
			continue
		}
		echo, ok := m.Body.(*icmp.Echo)
		// A datagram socket rewrites the id; a raw one sees every reply.
		if !ok || echo.Seq != int(seq) || !bytes.Equal(echo.Data, payload) || (!dgram && echo.ID != id) {
			continue
		}
		return result{ok: true, msg: "echo reply from " + ip.String()}
	}
}

func probeDNS(ctx context.Context, c registry.Check) result {
	qtype, ok := dns.StringToType[c.QueryType]
	if !ok {
		return fail("unknown query type %s", c.QueryType)
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(c.QueryName), qtype)
	m.RecursionDesired = true
	cl := &dns.Client{Net: "udp"}
	in, _, err := cl.ExchangeContext(ctx, m, c.Address)
	if err == nil && in.Truncated {
		cl.Net = "tcp"
		in, _, err = cl.ExchangeContext(ctx, m, c.Address)
	}
	if err != nil {
		return fail("%v", err)
	}
	if in.Rcode != dns.RcodeSuccess {
		return fail("%s %s: %s", c.QueryName, c.QueryType, dns.RcodeToString[in.Rcode])
	}
	var answers []string
	for _, rr := range in.Answer {
		if rr.Header().Rrtype != qtype {
			continue
		}
		hdr := rr.Header().String()
		answers = append(answers, strings.TrimSpace(strings.TrimPrefix(rr.String(), hdr)))
	}
	if len(answers) == 0 {
		return fail("%s %s: no answer", c.QueryName, c.QueryType)
	}
	if c.BodyMatch != "" {
		for _, a := range answers {
			if a == c.BodyMatch || strings.Contains(a, c.BodyMatch) {
				return result{ok: true, msg: a}
			}
		}
		return fail("%s %s answered %s, want %q", c.QueryName, c.QueryType, strings.Join(answers, ", "), c.BodyMatch)
	}
	return result{ok: true, msg: strings.Join(answers, ", ")}
}

// probeRADIUS sends a Status-Server (RFC 5997) with the
// Message-Authenticator it requires, and accepts an authentic
// Access-Accept or Accounting-Response.
func (p *prober) probeRADIUS(ctx context.Context, c registry.Check) result {
	secret, err := p.secret(c)
	if err != nil {
		return fail("%v", err)
	}
	pkt := radius.New(radius.CodeStatusServer, []byte(secret))
	pkt.Add(80, make([]byte, 16)) // Message-Authenticator, signed below
	raw, err := pkt.Encode()
	if err != nil {
		return fail("encode Status-Server: %v", err)
	}
	mac := hmac.New(md5.New, []byte(secret))
	mac.Write(raw)
	sum := mac.Sum(nil)
	// The attribute is the only one: it starts right after the header.
	copy(raw[20+2:20+2+16], sum)
	conn, err := (&net.Dialer{}).DialContext(ctx, "udp", c.Address)
	if err != nil {
		return fail("%v", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	// Retransmit once a second within the timeout, as a NAS would.
	buf := make([]byte, 4096)
	for {
		if ctx.Err() != nil {
			return fail("no answer to Status-Server from %s within %s", c.Address, c.Timeout())
		}
		if _, err := conn.Write(raw); err != nil {
			return fail("send Status-Server: %v", err)
		}
		conn.SetReadDeadline(minTime(time.Now().Add(time.Second), deadline(ctx)))
		n, err := conn.Read(buf)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return fail("no answer to Status-Server from %s (%v)", c.Address, err)
		}
		if !radius.IsAuthenticResponse(buf[:n], raw, []byte(secret)) {
			return fail("answer to Status-Server is not authentic (wrong secret?)")
		}
		switch radius.Code(buf[0]) {
		case radius.CodeAccessAccept, radius.CodeAccountingResponse:
			return result{ok: true, msg: radius.Code(buf[0]).String()}
		default:
			return fail("Status-Server answered %s", radius.Code(buf[0]))
		}
	}
}

func deadline(ctx context.Context) time.Time {
	if dl, ok := ctx.Deadline(); ok {
		return dl
	}
	return time.Now().Add(time.Minute)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
