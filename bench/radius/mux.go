package main

import (
	"crypto/md5"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"
)

// mux sends requests to one server over a few UDP sockets, with up to 256
// requests in flight on each (one per RADIUS identifier), the way a NAS
// does; a reader per socket hands each reply to its waiting request after
// checking its Response Authenticator, so a late reply to an earlier use
// of an identifier is never taken for the current one.
type mux struct {
	secret []byte
	socks  []*muxSock
}

type muxSock struct {
	conn  *net.UDPConn
	ids   chan byte // free identifiers
	mu    sync.Mutex
	slots [256]muxSlot
}

type muxSlot struct {
	active bool
	auth   [16]byte  // Request Authenticator of the request in flight
	reply  chan byte // its reply's code
}

// errTimeout: no reply within the timeout, retransmissions included.
var errTimeout = errors.New("timeout")

func newMux(dst netip.AddrPort, secret []byte, sockets int) (*mux, error) {
	m := &mux{secret: secret}
	for range max(sockets, 1) {
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
		if err != nil {
			m.close()
			return nil, err
		}
		c.SetReadBuffer(4 << 20)
		c.SetWriteBuffer(4 << 20)
		s := &muxSock{conn: c, ids: make(chan byte, 256)}
		for i := range 256 {
			s.ids <- byte(i)
			s.slots[i].reply = make(chan byte, 1)
		}
		m.socks = append(m.socks, s)
		go s.read(secret)
	}
	return m, nil
}

func (m *mux) close() {
	for _, s := range m.socks {
		s.conn.Close()
	}
}

func (s *muxSock) read(secret []byte) {
	buf := make([]byte, 4096)
	h := md5.New()
	var sum [16]byte
	for {
		n, err := s.conn.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ICMP port unreachable and the like
		}
		if n < 20 || int(buf[2])<<8|int(buf[3]) > n {
			continue
		}
		b := buf[:int(buf[2])<<8|int(buf[3])]
		id := b[1]
		s.mu.Lock()
		sl := &s.slots[id]
		if !sl.active {
			s.mu.Unlock()
			continue
		}
		// Response Authenticator = MD5(Code+ID+Length+RequestAuth+Attributes+Secret)
		h.Reset()
		h.Write(b[:4])
		h.Write(sl.auth[:])
		h.Write(b[20:])
		h.Write(secret)
		if string(h.Sum(sum[:0])) != string(b[4:20]) {
			s.mu.Unlock()
			continue // a late reply to an earlier request with this id
		}
		sl.active = false
		s.mu.Unlock()
		sl.reply <- b[0]
	}
}

// exchange sends the packet build makes for a free identifier and waits
// for its reply, retransmitting the same bytes after each timeout, as a
// NAS does. It returns the reply's code, the time from the first send to
// the reply, and the number of sends.
func (m *mux) exchange(sock int, build func(id byte) []byte, timeout time.Duration, retries int) (code byte, lat time.Duration, sends int, err error) {
	s := m.socks[sock%len(m.socks)]
	id := <-s.ids
	defer func() { s.ids <- id }()
	raw := build(id)
	sl := &s.slots[id]
	s.mu.Lock()
	copy(sl.auth[:], raw[4:20])
	sl.active = true
	s.mu.Unlock()
	start := time.Now()
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		sends++
		if _, err := s.conn.Write(raw); err != nil {
			s.mu.Lock()
			sl.active = false
			s.mu.Unlock()
			select { // delivered meanwhile
			case <-sl.reply:
			default:
			}
			return 0, 0, sends, err
		}
		select {
		case code := <-sl.reply:
			return code, time.Since(start), sends, nil
		case <-t.C:
		}
		if sends > retries {
			s.mu.Lock()
			delivered := !sl.active
			sl.active = false
			s.mu.Unlock()
			if delivered { // the reader handed it over just now
				return <-sl.reply, time.Since(start), sends, nil
			}
			return 0, time.Since(start), sends, errTimeout
		}
		t.Reset(timeout)
	}
}

// latencies collects latencies from many goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d []time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d...)
	l.mu.Unlock()
}
