package dns

import (
	"net/netip"
	"sync"
	"time"
)

// RateLimit configures response rate limiting (RRL) on UDP: a spoofed
// source cannot turn the server into an amplifier, while a real client over
// the limit is told to retry over TCP now and then (slip).
type RateLimit struct {
	// ResponsesPerSecond allowed per client network, with a burst of as
	// many; zero disables rate limiting. Knot and BIND suggest 5 to 20.
	ResponsesPerSecond int
	// Slip sends every Slip-th limited response as an empty truncated reply
	// (2 by default); 1 truncates all of them, -1 drops all.
	Slip int
	// IPv4Bits and IPv6Bits group clients into networks (24 and 56 by default).
	IPv4Bits, IPv6Bits int
	// Exempt networks are never limited (monitoring, the secondaries).
	Exempt []netip.Prefix
}

type rrlVerdict int

const (
	rrlAllow rrlVerdict = iota
	rrlDrop
	rrlSlip
)

const rrlShards = 64

type bucket struct {
	tokens  float64
	last    time.Time
	limited int
}

type limiter struct {
	cfg    RateLimit
	shards [rrlShards]struct {
		sync.Mutex
		m     map[netip.Prefix]*bucket
		sweep time.Time
	}
}

func newLimiter(cfg RateLimit) *limiter {
	if cfg.Slip == 0 {
		cfg.Slip = 2
	}
	if cfg.IPv4Bits <= 0 || cfg.IPv4Bits > 32 {
		cfg.IPv4Bits = 24
	}
	if cfg.IPv6Bits <= 0 || cfg.IPv6Bits > 128 {
		cfg.IPv6Bits = 56
	}
	l := &limiter{cfg: cfg}
	for i := range l.shards {
		l.shards[i].m = map[netip.Prefix]*bucket{}
	}
	return l
}

func (l *limiter) check(addr netip.Addr, now time.Time) rrlVerdict {
	for _, p := range l.cfg.Exempt {
		if p.Contains(addr) {
			return rrlAllow
		}
	}
	bits := l.cfg.IPv6Bits
	if addr.Is4() {
		bits = l.cfg.IPv4Bits
	}
	netw, err := addr.Prefix(bits)
	if err != nil {
		return rrlAllow
	}
	b16 := netw.Addr().As16()
	h := uint32(2166136261)
	for _, c := range b16 {
		h = (h ^ uint32(c)) * 16777619
	}
	sh := &l.shards[h%rrlShards]
	rate := float64(l.cfg.ResponsesPerSecond)
	sh.Lock()
	defer sh.Unlock()
	if now.Sub(sh.sweep) > 10*time.Second {
		// Forget networks that have been quiet long enough to be full again.
		for k, b := range sh.m {
			if now.Sub(b.last) > 5*time.Second {
				delete(sh.m, k)
			}
		}
		sh.sweep = now
	}
	b := sh.m[netw]
	if b == nil {
		b = &bucket{tokens: rate, last: now}
		sh.m[netw] = b
	}
	b.tokens = min(rate, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return rrlAllow
	}
	b.limited++
	if l.cfg.Slip > 0 && b.limited%l.cfg.Slip == 0 {
		return rrlSlip
	}
	return rrlDrop
}
