package registry

import (
	"sync"
	"time"
)

// Event tells subscribers that an object changed; they read the new state
// from the registry themselves, so an event carries no data that could go
// stale.
type Event struct {
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
}

// NewBroker returns an empty broker.
func NewBroker() *Broker { return &Broker{subs: map[chan Event]struct{}{}} }

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
	for ch := range b.subs {
		for _, e := range events {
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
