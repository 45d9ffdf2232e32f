package registry

import (
	"sync"
	"time"
)

// Event tells subscribers that an object changed; they read the new state
// from the registry themselves, so an event carries no data that could go
// stale.
type Event struct {
	// Seq is the audit-log entry of the change, which lets a broker fed by
	// both its own writes and other instances' (PostgreSQL NOTIFY) drop the
	// second copy.
	Seq    int64     `json:"seq,omitempty"`
	Entity string    `json:"entity"`
	ID     int64     `json:"id"`
	Action string    `json:"action"`
	At     time.Time `json:"at"`
}

// EntityAll in an event means "anything may have changed": a subscriber that
// fell behind receives it instead of the events it missed, and rebuilds.
const EntityAll = "*"

// Broker fans change events out to subscribers without ever blocking the
// writer.
type Broker struct {
	mu   sync.Mutex
	subs map[chan Event]struct{}
	// seen remembers recent sequence numbers, in a ring, to drop repeats.
	seen map[int64]struct{}
	ring [4096]int64
	next int
}

// NewBroker returns an empty broker.
func NewBroker() *Broker {
	return &Broker{subs: map[chan Event]struct{}{}, seen: map[int64]struct{}{}}
}

// fresh reports whether an event with this sequence number was not
// published yet, and remembers it.
func (b *Broker) fresh(seq int64) bool {
	if seq == 0 {
		return true
	}
	if _, dup := b.seen[seq]; dup {
		return false
	}
	if old := b.ring[b.next]; old != 0 {
		delete(b.seen, old)
	}
	b.ring[b.next] = seq
	b.next = (b.next + 1) % len(b.ring)
	b.seen[seq] = struct{}{}
	return true
}

// Subscribe returns a channel of events and a function that ends the
// subscription.
func (b *Broker) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 256)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		if _, ok := b.subs[ch]; ok {
			delete(b.subs, ch)
			close(ch)
		}
		b.mu.Unlock()
	}
}

// Publish delivers events to every subscriber; a full subscriber gets one
// EntityAll event once it has room again, rather than slowing the writer.
func (b *Broker) Publish(events ...Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fresh := events[:0:0]
	for _, e := range events {
		if b.fresh(e.Seq) {
			fresh = append(fresh, e)
		}
	}
	for ch := range b.subs {
		for _, e := range fresh {
			select {
			case ch <- e:
				continue
			default:
			}
			// Drain one slot and say everything changed.
			select {
			case <-ch:
			default:
			}
			select {
			case ch <- Event{Entity: EntityAll, At: e.At}:
			default:
			}
			break
		}
	}
}
