package main

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"time"
)

// paced is the open-loop load for latency: one thread, spinning on its own
// CPU, sends each request at its time and, between sends, takes in the
// replies that arrived, without waiting for them. It never sleeps: on this
// virtual machine a CPU that halts is woken through the hypervisor, late
// enough to send the next requests in bunches. The reply's time is its
// arrival: the kernel stamps each reply as it reaches the
// socket (SO_TIMESTAMPNS), and the latency is measured to that stamp, so
// when the generator reads it does not matter. Earlier designs (a goroutine
// per request in flight, then a reader goroutine per socket) spent the
// generator's one CPU on wake-ups and sent a third of the requests over
// 0.5 ms late, in bursts the server then had to queue: the tail measured
// was the generator's. Requests are not retransmitted; one without a reply
// within the timeout is counted as such.
func paced(ctx context.Context, dst netip.AddrPort, secret []byte, users, rate, sockets int, timeout time.Duration, res *result) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	socks := make([]*pacedSock, sockets)
	for i := range socks {
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetReadBuffer(4 << 20)
		if err := enableRxStamps(c); err != nil {
			return fmt.Errorf("kernel receive timestamps: %w", err)
		}
		s := &pacedSock{conn: c, lat: make([]time.Duration, 0, 1<<20)}
		// The descriptor, taken once: RawConn.Control with a closure per
		// call allocated, and the collections it brought stalled the sender.
		rc, err := c.SyscallConn()
		if err != nil {
			return err
		}
		rc.Control(func(fd uintptr) { s.fd = int(fd) })
		socks[i] = s
	}
	rng := newRand(1)
	pkts := make([]*template, 256)
	for i := range pkts {
		pkts[i] = newTemplate(rng.IntN(users), secret)
	}
	mac := hmac.New(md5.New, secret)
	rd := &replyReader{buf: make([]byte, 4096), oob: make([]byte, oobSize), h: md5.New(), secret: secret}
	start := time.Now()
	interval := time.Second / time.Duration(rate)
	end := start.Add(time.Until(deadlineOf(ctx)))
	i := 0
	for now := time.Now(); now.Before(end); now = time.Now() {
		// Send what is due.
		for ; ; i++ {
			due := start.Add(time.Duration(i) * interval)
			if due.After(now) {
				break
			}
			s := socks[i%len(socks)]
			id := byte(i / len(socks))
			raw := pkts[rng.IntN(len(pkts))].next(id, rng, mac)
			sl := &s.slots[id]
			if sl.active { // still unanswered after 256 more sends on its socket
				res.timeouts.Add(1)
			}
			sl.active = true
			copy(sl.auth[:], raw[4:20])
			sent := time.Now()
			sl.sent = sent
			if _, err := s.conn.Write(raw); err != nil {
				return err
			}
			res.sent.Add(1)
			if sent.Sub(due) > 500*time.Microsecond {
				res.late.Add(1)
			}
		}
		// A few replies per socket, then back to the sends: after the
		// server was stalled its replies come in hundreds, and reading
		// them all at once made the next requests late, in a burst that
		// the server then had to queue. Replies left in the socket keep
		// their kernel stamps.
		for _, s := range socks {
			rd.drain(s, res, 4)
		}
	}
	for last := time.Now().Add(timeout); time.Now().Before(last); time.Sleep(time.Millisecond) {
		for _, s := range socks {
			rd.drain(s, res, -1)
		}
	}
	for _, s := range socks {
		for i := range s.slots {
			if s.slots[i].active {
				res.timeouts.Add(1)
			}
		}
		res.lat = append(res.lat, s.lat...)
	}
	return nil
}

func deadlineOf(ctx context.Context) time.Time {
	d, ok := ctx.Deadline()
	if !ok {
		return time.Now().Add(10 * time.Second)
	}
	return d
}

type pacedSock struct {
	conn  *net.UDPConn
	fd    int // conn's, valid while conn is open
	slots [256]struct {
		active bool
		auth   [16]byte
		sent   time.Time
	}
	lat []time.Duration
}

// replyReader takes in replies without blocking.
type replyReader struct {
	buf, oob []byte
	h        interface {
		Write([]byte) (int, error)
		Reset()
		Sum([]byte) []byte
	}
	secret []byte
	sum    [16]byte
}

// drain takes in at most limit replies from s (all of them when limit < 0).
func (r *replyReader) drain(s *pacedSock, res *result, limit int) {
	for ; limit != 0; limit-- {
		n, oobn, ok := recvNow(s.fd, r.buf, r.oob)
		if !ok {
			return
		}
		if n < 20 {
			continue
		}
		sl := &s.slots[r.buf[1]]
		if !sl.active {
			continue
		}
		// A late reply to an earlier use of the identifier fails the
		// Response Authenticator check against the current request.
		r.h.Reset()
		r.h.Write(r.buf[:4])
		r.h.Write(sl.auth[:])
		r.h.Write(r.buf[20:n])
		r.h.Write(r.secret)
		if string(r.h.Sum(r.sum[:0])) != string(r.buf[4:20]) {
			continue
		}
		sl.active = false
		arrived, ok := rxStamp(r.oob[:oobn])
		if !ok {
			arrived = time.Now()
		}
		s.lat = append(s.lat, arrived.Sub(sl.sent))
		if r.buf[0] == 2 {
			res.ok.Add(1)
		} else {
			res.rejected.Add(1)
		}
	}
}
