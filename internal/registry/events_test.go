package registry

import "testing"

func TestBrokerDropsRepeatsAndSignalsOverflow(t *testing.T) {
	b := NewBroker()
	ch, stop := b.Subscribe()
	defer stop()
	b.Publish(Event{Seq: 1, Entity: "member", ID: 7})
	b.Publish(Event{Seq: 1, Entity: "member", ID: 7}) // the same change, from NOTIFY
	b.Publish(Event{Entity: EntityAll})               // no sequence: never a repeat
	if e := <-ch; e.Seq != 1 {
		t.Fatalf("first event = %+v", e)
	}
	if e := <-ch; e.Entity != EntityAll {
		t.Fatalf("second event = %+v, the repeat was not dropped", e)
	}
	for i := range 300 {
		b.Publish(Event{Seq: int64(100 + i), Entity: "member"})
	}
	var last Event
	n := 0
	for len(ch) > 0 {
		last = <-ch
		n++
	}
	if n > 256 || last.Entity != EntityAll {
		t.Fatalf("after overflow got %d events ending with %+v, want at most 256 ending with %q", n, last, EntityAll)
	}
}
