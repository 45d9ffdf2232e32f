package radius

import (
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
		_, st := c.begin(k, now)
		c.complete(k, []byte{1}, now)
		_ = st
	}
	if n := c.len(); n > 32*cacheShards {
		t.Fatalf("cache holds %d entries, bound %d", n, 32*cacheShards)
	}
}
