package radius

import (
	"net/netip"
	"runtime"
	"sync"
	"time"
)

// cacheKey identifies a request the way RFC 5080 §2.2.2 says a server
// detects a retransmission: source address and port, identifier and
// Request Authenticator.
type cacheKey struct {
	src  netip.AddrPort
	id   byte
	auth [16]byte
}

type cacheEntry struct {
	reply   []byte // nil while the request is being evaluated
	expires int64  // unix nanoseconds
}

type cacheState int

const (
	cacheMiss     cacheState = iota // caller now owns the evaluation
	cacheHit                        // reply holds the earlier answer
	cacheInFlight                   // another worker is evaluating it
	cacheFull                       // no room: evaluate without caching
)

// cacheShards is large so that sweeping one shard holds its lock briefly:
// the sweep yields between shards, and no request waits behind a sweep of
// the whole cache (with 32 shards a full cache stalled a one-CPU daemon
// for milliseconds every few seconds: the p99 tail).
const cacheShards = 256

// replyCache remembers each reply for the retransmission window, so a NAS
// that did not hear the answer gets the same bytes again instead of a
// second evaluation (which for accounting would count twice).
type replyCache struct {
	ttl      time.Duration
	maxShard int
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.Mutex
	m  map[cacheKey]cacheEntry
}

func newReplyCache(ttl time.Duration, maxEntries int) *replyCache {
	c := &replyCache{ttl: ttl, maxShard: max(maxEntries/cacheShards, 16)}
	for i := range c.shards {
		c.shards[i].m = make(map[cacheKey]cacheEntry)
	}
	return c
}

func (c *replyCache) shard(k *cacheKey) *cacheShard {
	// The authenticator is random (RFC 2865 §3), a good enough spread.
	return &c.shards[int(k.auth[0]^k.auth[7]^k.auth[13]^k.id)%cacheShards]
}

// begin looks a request up and, on a miss, marks it in flight.
func (c *replyCache) begin(k cacheKey, now time.Time) ([]byte, cacheState) {
	sh := c.shard(&k)
	n := now.UnixNano()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e, ok := sh.m[k]; ok && e.expires > n {
		if e.reply == nil {
			return nil, cacheInFlight
		}
		return e.reply, cacheHit
	}
	if len(sh.m) >= c.maxShard {
		return nil, cacheFull
	}
	sh.m[k] = cacheEntry{expires: n + int64(c.ttl)}
	return nil, cacheMiss
}

// complete stores the reply of a request begun with cacheMiss. A request
// that found the cache full was never entered, and is not stored now
// either: the bound holds even when accounting acknowledges faster than
// entries expire.
func (c *replyCache) complete(k cacheKey, reply []byte, now time.Time) {
	sh := c.shard(&k)
	sh.mu.Lock()
	if _, begun := sh.m[k]; begun || len(sh.m) < c.maxShard {
		sh.m[k] = cacheEntry{reply: reply, expires: now.UnixNano() + int64(c.ttl)}
	}
	sh.mu.Unlock()
}

// abort forgets a request that got no reply (dropped), so that a valid
// retransmission is evaluated afresh.
func (c *replyCache) abort(k cacheKey) {
	sh := c.shard(&k)
	sh.mu.Lock()
	delete(sh.m, k)
	sh.mu.Unlock()
}

// sweep drops expired entries; called periodically. It yields between
// shards so that request workers sharing the CPU are not held up.
func (c *replyCache) sweep(now time.Time) {
	n := now.UnixNano()
	for i := range c.shards {
		sh := &c.shards[i]
		sh.mu.Lock()
		for k, e := range sh.m {
			if e.expires <= n {
				delete(sh.m, k)
			}
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
