package radius

import (
	"net/netip"
	"testing"
	"time"
)

// A full cache stays full, not larger: completing a request that found no
// room does not add it.
func TestReplyCacheStaysBounded(t *testing.T) {
	c := newReplyCache(time.Minute, 32*cacheShards)
	now := time.Now()
	var k cacheKey
	for i := range 100_000 {
		k.id = byte(i)
		k.auth[0], k.auth[1], k.auth[2] = byte(i>>8), byte(i>>16), byte(i)
		_, st := c.begin(k, now, nil)
		c.complete(k, []byte{1}, now)
		_ = st
	}
	if n := c.len(); n > 32*cacheShards {
		t.Fatalf("cache holds %d entries, bound %d", n, 32*cacheShards)
	}
}

// Replies come back byte for byte, whatever their size, while slabs fill
// and are recycled around them.
func TestReplyCacheKeepsRepliesAcrossSlabs(t *testing.T) {
	const ttl = time.Minute
	c := newReplyCache(ttl, 1<<20)
	t0 := time.Unix(1_700_000_000, 0)
	key := func(gen, i int) cacheKey {
		k := newCacheKey(netip.MustParseAddrPort("192.0.2.1:1812"), byte(i), nil)
		k.auth[0], k.auth[1], k.auth[2], k.auth[3] = byte(i>>8), byte(i>>16), byte(gen), 1
		return k
	}
	reply := func(gen, i int) []byte {
		b := make([]byte, 20+(i*37)%4077)
		for j := range b {
			b[j] = byte(i + j + gen)
		}
		return b
	}
	fill := func(gen int, at time.Time) {
		for i := range 5000 {
			if _, st := c.begin(key(gen, i), at, nil); st != cacheMiss {
				t.Fatalf("gen %d request %d: state %d on first sight", gen, i, st)
			}
			c.complete(key(gen, i), reply(gen, i), at)
		}
	}
	check := func(gen int, at time.Time, want bool) {
		buf := make([]byte, 0, maxPacket)
		for i := range 5000 {
			got, st := c.begin(key(gen, i), at, buf)
			switch {
			case want && (st != cacheHit || string(got) != string(reply(gen, i))):
				t.Fatalf("gen %d request %d: state %d, %d bytes, want the %d bytes stored", gen, i, st, len(got), len(reply(gen, i)))
			case !want && st != cacheMiss:
				t.Fatalf("gen %d request %d: state %d after expiry, want a miss", gen, i, st)
			}
		}
	}
	fill(0, t0)
	fill(1, t0.Add(ttl/2))
	check(0, t0.Add(ttl/2), true)
	check(1, t0.Add(ttl/2), true)
	// Generation 0 expires: its slabs go back to the pool and generation 2
	// is written into them, without touching generation 1.
	c.sweep(t0.Add(ttl + time.Second))
	fill(2, t0.Add(ttl+time.Second))
	check(1, t0.Add(ttl+time.Second), true)
	check(2, t0.Add(ttl+time.Second), true)
	check(0, t0.Add(ttl+time.Second), false)
	slabs := 0
	for i := range c.shards {
		slabs += len(c.shards[i].slabs)
	}
	// Two generations of 5,000 replies averaging 2 KiB: about 2,500 slabs
	// of 8 KiB, a few hundred more for the shards' partly filled ones.
	if slabs > 3500 {
		t.Fatalf("%d slabs kept for two generations: expired ones not recycled", slabs)
	}
}
