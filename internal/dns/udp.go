package dns

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unsafe"

	mdns "github.com/miekg/dns"
)

// The UDP path is maillon's own rather than miekg/dns's server, which starts
// a goroutine and unpacks a message per packet: here a few goroutines read
// the socket, and a plain query whose answer was computed before is served
// from a per-snapshot cache of packed replies, patched with the query's ID,
// RD bit and name case. Anything unusual (TSIG, NOTIFY, odd sections) takes
// the full path through ServeDNS.

// maxCached bounds the reply cache of a snapshot, so that random names
// cannot grow it without end; past it, replies are computed every time.
const maxCached = 200000

type replyCache struct {
	mu sync.RWMutex
	m  map[string][]byte
}

func (c *replyCache) get(k []byte) []byte {
	c.mu.RLock()
	b := c.m[string(k)]
	c.mu.RUnlock()
	return b
}

// put caches a reply. Negative replies only fill the first half, so that a
// flood of random names cannot crowd out the names that exist.
func (c *replyCache) put(k []byte, b []byte, negative bool) {
	limit := maxCached
	if negative {
		limit /= 2
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string][]byte{}
	}
	if len(c.m) < limit {
		c.m[string(k)] = b
	}
	c.mu.Unlock()
}

// plainQuery is what the fast path reads of a packet.
type plainQuery struct {
	id     uint16
	rd     bool
	qname  []byte // wire format, as sent
	qtype  uint16
	qclass uint16
	edns   bool
	size   int
	do     bool
}

var errSlow = errors.New("needs the full path")

// parseQuery reads a plain query: one question, no answer or authority,
// at most an OPT record; anything else is left to the full path.
func parseQuery(p []byte) (plainQuery, error) {
	var q plainQuery
	if len(p) < 12 {
		return q, errSlow
	}
	flags := binary.BigEndian.Uint16(p[2:])
	// QR=0, opcode QUERY, no TC.
	if flags&0xfa00 != 0 {
		return q, errSlow
	}
	if binary.BigEndian.Uint16(p[4:]) != 1 || binary.BigEndian.Uint16(p[6:]) != 0 || binary.BigEndian.Uint16(p[8:]) != 0 {
		return q, errSlow
	}
	ar := binary.BigEndian.Uint16(p[10:])
	if ar > 1 {
		return q, errSlow
	}
	q.id = binary.BigEndian.Uint16(p)
	q.rd = flags&0x0100 != 0
	off := 12
	for {
		if off >= len(p) {
			return q, errSlow
		}
		l := int(p[off])
		if l == 0 {
			off++
			break
		}
		if l > 63 || off+1+l > len(p) || off+1+l-12 > 254 {
			return q, errSlow // compression pointers and long names too
		}
		off += 1 + l
	}
	q.qname = p[12:off]
	if off+4 > len(p) {
		return q, errSlow
	}
	q.qtype = binary.BigEndian.Uint16(p[off:])
	q.qclass = binary.BigEndian.Uint16(p[off+2:])
	off += 4
	q.size = 512
	if ar == 1 {
		// OPT: root name, type 41, class = UDP size, TTL = rcode, version,
		// flags; its options are ignored, as on the full path.
		if off+11 > len(p) || p[off] != 0 || binary.BigEndian.Uint16(p[off+1:]) != mdns.TypeOPT {
			return q, errSlow
		}
		q.edns = true
		q.size = int(binary.BigEndian.Uint16(p[off+3:]))
		if p[off+5] != 0 || p[off+6] != 0 { // extended rcode, version
			return q, errSlow
		}
		q.do = p[off+7]&0x80 != 0
		rdlen := int(binary.BigEndian.Uint16(p[off+9:]))
		off += 11 + rdlen
	}
	if off != len(p) {
		return q, errSlow
	}
	switch q.qtype {
	case mdns.TypeAXFR, mdns.TypeIXFR, mdns.TypeANY, mdns.TypeOPT, mdns.TypeTSIG:
		return q, errSlow
	}
	return q, nil
}

// msg builds the request a plain query is, without the cost of Unpack; it
// returns nil for names with characters that need escaping.
func (q *plainQuery) msg() *mdns.Msg {
	var b strings.Builder
	b.Grow(len(q.qname))
	for off := 0; q.qname[off] != 0; {
		l := int(q.qname[off])
		for _, c := range q.qname[off+1 : off+1+l] {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '*') {
				return nil
			}
			b.WriteByte(c)
		}
		b.WriteByte('.')
		off += 1 + l
	}
	name := b.String()
	if name == "" {
		name = "."
	}
	m := &mdns.Msg{Question: []mdns.Question{{Name: name, Qtype: q.qtype, Qclass: q.qclass}}}
	m.Id = q.id
	m.RecursionDesired = q.rd
	if q.edns {
		m.SetEdns0(uint16(q.size), q.do)
	}
	return m
}

// cacheKey is the lowercased name, type, class and what shapes the reply.
func (q *plainQuery) cacheKey(buf []byte, maxUDP int) []byte {
	buf = buf[:0]
	for _, c := range q.qname {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	size := 0
	if q.edns {
		size = min(max(q.size, 512), maxUDP)
	}
	var do byte
	if q.do {
		do = 1
	}
	return append(buf, byte(q.qtype>>8), byte(q.qtype), byte(q.qclass>>8), byte(q.qclass), byte(size>>8), byte(size), do)
}

// fast answers a plain query from the snapshot's reply cache, filling it on
// a miss. It returns nil when the full path must answer.
func (s *Server) fast(snap *Snapshot, p []byte, out, keyBuf []byte, src netip.Addr) ([]byte, []byte) {
	q, err := parseQuery(p)
	if err != nil {
		return nil, keyBuf
	}
	keyBuf = q.cacheKey(keyBuf, s.cfg.MaxUDPSize)
	b := snap.replies.get(keyBuf)
	if b == nil {
		// A wildcard template cannot carry the NSEC proving that the
		// query name does not exist, which differs from name to name; nor
		// is an RRSIG or NSEC ever synthesized from a wildcard.
		// The wildcard path works in buffers on the stack, so that each
		// name under a wildcard costs no allocation.
		var nameBuf [256]byte
		if n := q.lowerName(&nameBuf); n > 0 && !q.do && !isDNSSEC(q.qtype) {
			var wBuf [257]byte
			if w := snap.wildcardOf(unsafe.String(&nameBuf[0], n), q.qtype, &wBuf); w != nil {
				if out = s.fromWildcard(snap, &q, w, out, src); out != nil {
					return out, keyBuf
				}
				return nil, keyBuf
			}
		}
		req := q.msg()
		if req == nil {
			req = new(mdns.Msg)
			if err := req.Unpack(p); err != nil {
				return nil, keyBuf
			}
		}
		m, cacheable := s.respondCacheable(snap, req, src, "", false)
		if m == nil {
			return nil, keyBuf
		}
		m.Id = 0
		m.RecursionDesired = false
		if b, err = m.Pack(); err != nil {
			return nil, keyBuf
		}
		if cacheable {
			snap.replies.put(keyBuf, b, m.Rcode == mdns.RcodeNameError)
		}
	}
	out = append(out[:0], b...)
	binary.BigEndian.PutUint16(out, q.id)
	if q.rd {
		out[2] |= 0x01
	}
	copy(out[12:], q.qname) // the client's case (RFC 4343, and 0x20 resolvers)
	return out, keyBuf
}

// lowerName writes the query name in lowercase presentation format to buf
// and returns its length, or 0 when it has characters that need escaping.
// A wire name of at most 255 bytes fits.
func (q *plainQuery) lowerName(buf *[256]byte) int {
	n := 0
	for off := 0; q.qname[off] != 0; {
		l := int(q.qname[off])
		for _, c := range q.qname[off+1 : off+1+l] {
			switch {
			case c >= 'A' && c <= 'Z':
				c += 'a' - 'A'
			case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '*':
			default:
				return 0
			}
			buf[n] = c
			n++
		}
		buf[n] = '.'
		n++
		off += 1 + l
	}
	if n == 0 {
		buf[0] = '.'
		n = 1
	}
	return n
}

// wildcardOf writes to buf the wildcard owner that answers the lowercased
// name directly (no delegation above it, no CNAME at it), and returns it, or
// nil. The name may live in a scratch buffer: nothing keeps it.
func (s *Snapshot) wildcardOf(name string, qtype uint16, buf *[257]byte) []byte {
	var lbuf [maxLabels]int
	offs := labelStarts(name, &lbuf)
	z := s.findIn(name, offs)
	if z == nil || qtype == mdns.TypeANY || z.cut(name, qtype) != nil {
		return nil
	}
	var w []byte
	if p, ok := z.indexedWildcard(name, offs); ok {
		w = append(append(buf[:0], "*."...), p...)
	} else {
		if z.node(name) != nil {
			return nil
		}
		i := z.search(name)
		if z.hasBelowAt(i, name) {
			return nil // an empty non-terminal: NODATA
		}
		w = append(append(buf[:0], "*."...), z.encloserAt(i, name, offs)...)
	}
	n := z.node(unsafe.String(&w[0], len(w)))
	if n == nil || (n.get(mdns.TypeCNAME) != nil && qtype != mdns.TypeCNAME) {
		return nil
	}
	return w
}

// fromWildcard answers a name synthesized from the wildcard w: it packs,
// once, the answer to w itself without compression, then replaces w by the
// query name in the question and the answer owners. Every name under a
// wildcard (an IPv6 /56's addresses) thus costs a copy, not a lookup.
func (s *Server) fromWildcard(snap *Snapshot, q *plainQuery, w []byte, out []byte, src netip.Addr) []byte {
	var keyBuf [280]byte
	key := append(keyBuf[:0], 0) // never a wire name: no clash with plain keys
	key = append(key, w...)
	size := 512
	if q.edns {
		size = min(max(q.size, 512), s.cfg.MaxUDPSize)
	}
	key = append(key, byte(q.qtype>>8), byte(q.qtype), byte(q.qclass>>8), byte(q.qclass), byte(size>>8), byte(size))
	if q.do {
		key = append(key, 1)
	}
	tpl := snap.replies.get(key)
	if tpl == nil {
		req := &mdns.Msg{Question: []mdns.Question{{Name: string(w), Qtype: q.qtype, Qclass: q.qclass}}}
		if q.edns {
			req.SetEdns0(uint16(q.size), q.do)
		}
		m, _ := s.respondCacheable(snap, req, src, "", false)
		if m == nil || m.Truncated {
			return nil
		}
		m.Compress = false
		var err error
		if tpl, err = m.Pack(); err != nil {
			return nil
		}
		snap.replies.put(key, tpl, false)
	}
	// The template's question is w, uncompressed.
	qend := skipName(tpl, 12)
	if qend < 0 || qend+4 > len(tpl) {
		return nil
	}
	wire := tpl[12:qend]
	out = append(out[:0], tpl[:12]...)
	binary.BigEndian.PutUint16(out, q.id)
	if q.rd {
		out[2] |= 0x01
	}
	out = append(out, q.qname...)
	off := 12 + len(wire)
	out = append(out, tpl[off:off+4]...)
	off += 4
	for range binary.BigEndian.Uint16(tpl[6:]) {
		end := skipName(tpl, off)
		if end < 0 || end+10 > len(tpl) {
			return nil
		}
		if string(tpl[off:end]) == string(wire) {
			out = append(out, q.qname...)
		} else {
			out = append(out, tpl[off:end]...)
		}
		rdlen := int(binary.BigEndian.Uint16(tpl[end+8:]))
		if end+10+rdlen > len(tpl) {
			return nil
		}
		out = append(out, tpl[end:end+10+rdlen]...)
		off = end + 10 + rdlen
	}
	out = append(out, tpl[off:]...)
	if len(out) > size {
		return nil // the longer name no longer fits: the full path truncates
	}
	return out
}

// skipName returns the offset after an uncompressed name, or -1.
func skipName(b []byte, off int) int {
	for off < len(b) {
		l := int(b[off])
		if l == 0 {
			return off + 1
		}
		if l > 63 {
			return -1
		}
		off += 1 + l
	}
	return -1
}

// batchSize is how many packets one recvmmsg/sendmmsg moves: system calls
// are most of the cost of a small UDP answer.
const batchSize = 32

// serveUDP reads and answers packets until the socket is closed.
func (s *Server) serveUDP(conn *net.UDPConn) {
	b, err := newUDPBatch(conn, batchSize)
	if err != nil {
		s.log.Error("dns udp worker stopped", "err", err)
		return
	}
	key := make([]byte, 0, 300)
	for {
		n, err := b.read()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		snap := s.snap.Load()
		now := time.Time{}
		if s.rrl != nil {
			now = time.Now()
		}
		k, fastN, dropped, slipped := 0, 0, 0, 0
		for i := range n {
			p, src, ok := b.packet(i)
			if !ok || len(p) < 12 {
				continue // no header, or larger than any query: no reply
			}
			if s.rrl != nil {
				switch s.rrl.check(src, now) {
				case rrlDrop:
					dropped++
					continue
				case rrlSlip:
					slipped++
					s.slip(conn, p, b.addrPort(i))
					continue
				}
			}
			var resp []byte
			resp, key = s.fast(snap, p, b.replyBuf(k), key, src)
			if resp == nil {
				s.slowUDP(conn, p, b.addrPort(i))
				continue
			}
			b.reply(k, i, resp)
			k++
			fastN++
		}
		// Counted once a batch, to keep the workers off a shared cache line.
		s.stats.udp.Add(uint64(n))
		s.stats.fast.Add(uint64(fastN))
		if dropped+slipped > 0 {
			s.stats.rateLimited.Add(uint64(dropped + slipped))
			s.stats.slipped.Add(uint64(slipped))
		}
		if err := b.write(); errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// slip answers a rate-limited query with an empty truncated reply, which
// makes a real client retry over TCP, and which a spoofed victim never does.
func (s *Server) slip(conn *net.UDPConn, p []byte, from netip.AddrPort) {
	req := new(mdns.Msg)
	if req.Unpack(p) != nil || req.Response {
		return
	}
	m := new(mdns.Msg)
	m.SetReply(req)
	m.Truncated = true
	if b, err := m.Pack(); err == nil {
		conn.WriteToUDPAddrPort(b, from)
	}
}

// slowUDP answers one packet through ServeDNS, as miekg/dns's server would:
// unpack (FORMERR when only the header parses), verify TSIG, sign replies.
func (s *Server) slowUDP(conn *net.UDPConn, p []byte, from netip.AddrPort) {
	w := &udpWriter{conn: conn, to: from, keys: keyring{s}}
	req := new(mdns.Msg)
	if err := req.Unpack(p); err != nil {
		// Answer FORMERR when the header is readable and the packet a
		// plainQuery, as miekg/dns does; stay silent on garbage and responses.
		var h mdns.Msg
		if len(p) < 12 || p[2]&0x80 != 0 {
			return
		}
		h.Id = binary.BigEndian.Uint16(p)
		h.Response = true
		h.Opcode = int(p[2]>>3) & 0xf
		h.Rcode = mdns.RcodeFormatError
		w.WriteMsg(&h)
		return
	}
	if req.Response {
		return
	}
	if t := req.IsTsig(); t != nil {
		w.tsigStatus = mdns.TsigVerifyWithProvider(p, w.keys, "", false)
		w.requestMAC = t.MAC
	}
	s.ServeDNS(w, req)
}

// udpWriter is the mdns.ResponseWriter of the UDP full path.
type udpWriter struct {
	conn       *net.UDPConn
	to         netip.AddrPort
	keys       mdns.TsigProvider
	tsigStatus error
	requestMAC string
}

func (w *udpWriter) LocalAddr() net.Addr { return w.conn.LocalAddr() }
func (w *udpWriter) RemoteAddr() net.Addr {
	return net.UDPAddrFromAddrPort(w.to)
}
func (w *udpWriter) WriteMsg(m *mdns.Msg) error {
	var b []byte
	var err error
	if m.IsTsig() != nil {
		b, _, err = mdns.TsigGenerateWithProvider(m, w.keys, w.requestMAC, false)
	} else {
		b, err = m.Pack()
	}
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
func (w *udpWriter) Write(b []byte) (int, error) { return w.conn.WriteToUDPAddrPort(b, w.to) }
func (w *udpWriter) Close() error                { return nil }
func (w *udpWriter) TsigStatus() error           { return w.tsigStatus }
func (w *udpWriter) TsigTimersOnly(bool)         {}
func (w *udpWriter) Hijack()                     {}
