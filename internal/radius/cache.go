package radius

import (
	"math"
	"net/netip"
	"runtime"
	"sync"
	"time"
)

// cacheKey identifies a request the way RFC 5080 §2.2.2 says a server
// detects a retransmission: source address and port, identifier and
// Request Authenticator. It holds no pointer (netip.AddrPort does: its
// zone), and neither does cacheEntry, so the garbage collector never scans
// the cache's maps.
type cacheKey struct {
	addr [16]byte
	port uint16
	id   byte
	auth [16]byte
}

func newCacheKey(src netip.AddrPort, id byte, auth []byte) cacheKey {
	k := cacheKey{addr: src.Addr().As16(), port: src.Port(), id: id}
	copy(k.auth[:], auth)
	return k
}

// cacheEntry locates a reply in its shard's slabs.
type cacheEntry struct {
	expires int64  // nanoseconds since replyCache.start
	slab    uint32 // sequence number of the slab holding the reply
	off     uint32
	n       uint32 // 0 while the request is being evaluated
}

type cacheState int

const (
	cacheMiss     cacheState = iota // caller now owns the evaluation
	cacheHit                        // the earlier answer was copied out
	cacheInFlight                   // another worker is evaluating it
	cacheFull                       // no room: evaluate without caching
)

// cacheShards is large so that sweeping one shard holds its lock briefly:
// the sweep yields between shards, and no request waits behind a sweep of
// the whole cache (with 32 shards a full cache stalled a one-CPU daemon
// for milliseconds every few seconds: the p99 tail).
const cacheShards = 256

// slabSize holds the largest RADIUS packet (4096 bytes) with room to spare.
const slabSize = 8192

// replyCache remembers each reply for the retransmission window, so a NAS
// that did not hear the answer gets the same bytes again instead of a
// second evaluation (which for accounting would count twice).
//
// Replies are copied into slabs, shared by the replies of a few seconds
// and recycled once all of them expired, rather than kept as one
// allocation each: at 45,000 requests a second a cache of a quarter
// million replies made a garbage collection every few seconds, whose
// marking held a one-CPU daemon for milliseconds at a time (the p99).
type replyCache struct {
	ttl      time.Duration
	maxShard int
	// start is the base of expiry times: durations from it follow the
	// monotonic clock, so a wall clock stepped back cannot pin slabs.
	start  time.Time
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu    sync.Mutex
	m     map[cacheKey]cacheEntry
	slabs []slab // oldest first; slabs[i] has sequence number first+i
	first uint32
	// spare holds recycled slabs for reuse. Not a sync.Pool: that one is
	// emptied at each collection, and the slabs allocated anew were most
	// of what made the next collection come.
	spare []*[slabSize]byte
}

type slab struct {
	buf        *[slabSize]byte
	used       int
	maxExpires int64 // of the replies in it
}

func newReplyCache(ttl time.Duration, maxEntries int) *replyCache {
	c := &replyCache{ttl: ttl, maxShard: max(maxEntries/cacheShards, 16), start: time.Now()}
	for i := range c.shards {
		c.shards[i].m = make(map[cacheKey]cacheEntry)
	}
	return c
}

func (c *replyCache) nanos(t time.Time) int64 { return int64(t.Sub(c.start)) }

func (c *replyCache) shard(k *cacheKey) *cacheShard {
	// The authenticator is random (RFC 2865 §3), a good enough spread.
	return &c.shards[int(k.auth[0]^k.auth[7]^k.auth[13]^k.id)%cacheShards]
}

// begin looks a request up: on a hit it appends the earlier reply to dst,
// on a miss it marks the request in flight.
func (c *replyCache) begin(k cacheKey, now time.Time, dst []byte) ([]byte, cacheState) {
	sh := c.shard(&k)
	n := c.nanos(now)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e, ok := sh.m[k]; ok && e.expires > n {
		if e.n == 0 {
			return nil, cacheInFlight
		}
		if b := sh.reply(e); b != nil {
			return append(dst[:0], b...), cacheHit
		}
	}
	if len(sh.m) >= c.maxShard {
		return nil, cacheFull
	}
	sh.m[k] = cacheEntry{expires: n + int64(c.ttl)}
	return nil, cacheMiss
}

// reply returns an entry's bytes, or nil if its slab was recycled (a sweep
// that read the clock after the caller did).
func (sh *cacheShard) reply(e cacheEntry) []byte {
	i := e.slab - sh.first
	if e.slab < sh.first || int(i) >= len(sh.slabs) {
		return nil
	}
	return sh.slabs[i].buf[e.off : e.off+e.n]
}

// complete stores the reply of a request begun with cacheMiss. A request
// that found the cache full was never entered, and is not stored now
// either: the bound holds even when accounting acknowledges faster than
// entries expire.
func (c *replyCache) complete(k cacheKey, reply []byte, now time.Time) {
	if len(reply) == 0 || len(reply) > slabSize {
		c.abort(k)
		return
	}
	sh := c.shard(&k)
	expires := c.nanos(now) + int64(c.ttl)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, begun := sh.m[k]; !begun && len(sh.m) >= c.maxShard {
		return
	}
	if len(sh.slabs) == 0 || sh.slabs[len(sh.slabs)-1].used+len(reply) > slabSize {
		var buf *[slabSize]byte
		if n := len(sh.spare); n > 0 {
			buf, sh.spare = sh.spare[n-1], sh.spare[:n-1]
		} else {
			buf = new([slabSize]byte)
		}
		sh.slabs = append(sh.slabs, slab{buf: buf, maxExpires: math.MinInt64}) // times before start are negative
	}
	last := len(sh.slabs) - 1
	sl := &sh.slabs[last]
	off := sl.used
	sl.used += copy(sl.buf[off:], reply)
	sl.maxExpires = max(sl.maxExpires, expires)
	sh.m[k] = cacheEntry{expires: expires, slab: sh.first + uint32(last), off: uint32(off), n: uint32(len(reply))}
}

// abort forgets a request that got no reply (dropped), so that a valid
// retransmission is evaluated afresh.
func (c *replyCache) abort(k cacheKey) {
	sh := c.shard(&k)
	sh.mu.Lock()
	delete(sh.m, k)
	sh.mu.Unlock()
}

// sweep drops expired entries and recycles the slabs whose replies have
// all expired; called periodically. It yields between shards so that
// request workers sharing the CPU are not held up.
func (c *replyCache) sweep(now time.Time) {
	n := c.nanos(now)
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for k, e := range sh.m {
			if e.expires <= n {
				delete(sh.m, k)
			}
		}
		// The last slab stays: it is being filled.
		done := 0
		for done < len(sh.slabs)-1 && sh.slabs[done].maxExpires <= n {
			// Spares beyond the slabs in use go back to the system: the
			// cache shrinks again after a storm.
			if len(sh.spare) < len(sh.slabs) {
				sh.spare = append(sh.spare, sh.slabs[done].buf)
			}
			done++
		}
		if done > 0 {
			sh.slabs = append(sh.slabs[:0], sh.slabs[done:]...)
			sh.first += uint32(done)
		}
		sh.mu.Unlock()
		runtime.Gosched()
	}
}

func (c *replyCache) len() int {
	n := 0
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}
