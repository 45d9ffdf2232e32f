package app_test

import (
	"context"
	"testing"
	"time"

	"maillon/internal/registry"
	"maillon/internal/testenv"
)

// Two instances on one PostgreSQL database: a change made through one is
// announced to the other (LISTEN/NOTIFY), and once only to the writer.
func TestChangeFeedBetweenInstances(t *testing.T) {
	db := testenv.FreshPostgresDB(t)
	a := start(t, db)
	b := start(t, db)
	evB, stopB := b.app.Registry().Events().Subscribe()
	defer stopB()
	evA, stopA := a.app.Registry().Events().Subscribe()
	defer stopA()
	// The listener connects in the background; give it a moment to LISTEN
	// by writing until the first event crosses over.
	deadline := time.After(20 * time.Second)
	var got registry.Event
	for i := 0; got.Entity != "site"; i++ {
		site, err := a.app.Registry().CreateSite(context.Background(), registry.Actor{Name: "test"}, registry.SiteInput{Name: ptr("site-" + time.Now().Format("150405.000000"))})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case got = <-evB:
			if got.Entity == "site" && got.ID != site.ID && got.ID == 0 {
				t.Fatalf("event for another object: %+v", got)
			}
		case <-time.After(500 * time.Millisecond):
		case <-deadline:
			t.Fatal("instance B never heard of A's change")
		}
	}
	// A published its own change in process; the copy arriving by NOTIFY
	// must be dropped: A sees each site exactly once.
	seen := map[int64]int{}
	timeout := time.After(2 * time.Second)
drain:
	for {
		select {
		case e := <-evA:
			if e.Entity == "site" {
				seen[e.ID]++
			}
		case <-timeout:
			break drain
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("writer saw site %d %d times", id, n)
		}
	}
	if len(seen) == 0 {
		t.Fatal("writer saw none of its own changes")
	}
}
