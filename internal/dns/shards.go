package dns

import (
	"hash/maphash"
	"iter"
	"maps"
)

// mapShards is how many pieces a zone's indexes are split into.
const mapShards = 64

// shardedMap is a map split into shards, so that the next version of a zone
// copies only the shards a change writes to: cloning a 40,000-owner zone's
// maps whole cost several megabytes and tens of milliseconds per change,
// where a change of one subscriber touches a handful of owners. A version
// shares the shards it has not written with the versions before it, which
// readers may still be using; writes go to copies.
type shardedMap[K comparable, V any] struct {
	shards [mapShards]map[K]V
	owned  uint64 // bit i: shard i is this version's own copy
	n      int
}

// The callers hash the keys (hashOwner, hashRecKey): a hash function kept
// in the map would be an indirect call, through which every key escapes to
// the heap, and the UDP path looks names up from buffers on its stack.

func newShardedMap[K comparable, V any](size int) shardedMap[K, V] {
	m := shardedMap[K, V]{owned: ^uint64(0)}
	for i := range m.shards {
		m.shards[i] = make(map[K]V, size/mapShards)
	}
	return m
}

// fork returns a version that shares every shard with m until written.
func (m *shardedMap[K, V]) fork() shardedMap[K, V] {
	c := *m
	c.owned = 0
	return c
}

func (m *shardedMap[K, V]) get(h uint64, k K) (V, bool) {
	v, ok := m.shards[h%mapShards][k]
	return v, ok
}

// writable returns shard i, copied first if an earlier version shares it.
func (m *shardedMap[K, V]) writable(i uint64) map[K]V {
	if m.owned&(1<<i) == 0 {
		m.shards[i] = maps.Clone(m.shards[i])
		if m.shards[i] == nil {
			m.shards[i] = map[K]V{}
		}
		m.owned |= 1 << i
	}
	return m.shards[i]
}

func (m *shardedMap[K, V]) set(h uint64, k K, v V) {
	s := m.writable(h % mapShards)
	if _, ok := s[k]; !ok {
		m.n++
	}
	s[k] = v
}

func (m *shardedMap[K, V]) del(h uint64, k K) {
	i := h % mapShards
	if _, ok := m.shards[i][k]; !ok {
		return
	}
	delete(m.writable(i), k)
	m.n--
}

func (m *shardedMap[K, V]) len() int { return m.n }

// all yields every entry, in no particular order.
func (m *shardedMap[K, V]) all() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		for _, s := range m.shards {
			for k, v := range s {
				if !yield(k, v) {
					return
				}
			}
		}
	}
}

var ownerSeed = maphash.MakeSeed()

func hashOwner(name string) uint64 { return maphash.String(ownerSeed, name) }

// node returns the node of a lowercased owner, or nil.
func (z *Zone) node(name string) *node {
	n, _ := z.nodes.get(hashOwner(name), name)
	return n
}

func (z *Zone) setNode(name string, n *node) { z.nodes.set(hashOwner(name), name, n) }
func (z *Zone) delNode(name string)          { z.nodes.del(hashOwner(name), name) }

func (z *Zone) countOf(k recKey) (entry, bool) { return z.count.get(k[0], k) }
func (z *Zone) setCount(k recKey, e entry)     { z.count.set(k[0], k, e) }
func (z *Zone) delCount(k recKey)              { z.count.del(k[0], k) }
