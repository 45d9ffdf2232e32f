// Package statusbench times the public status page on a large history.
package statusbench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"maillon/internal/registry"
	"maillon/internal/secret"
	"maillon/internal/status"
	"maillon/internal/store"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func pct(ds []time.Duration, p float64) time.Duration {
	slices.Sort(ds)
	return ds[int(float64(len(ds)-1)*p)]
}

// BenchmarkStatusPage500 renders the status page with 500 components and
// a year of incidents (one a month per component, 6,000 in all, each with
// three timeline entries), 50 of them open, and maintenance planned on 100
// components. It logs p50 and p99 of a full rendering (registry read,
// 90-day histories, template; what a request costs once the page cache
// expired) and of requests served by the running daemon's cache.
//
//	go test ./bench/status -run '^$' -bench StatusPage500 -benchtime 1x -v
func BenchmarkStatusPage500(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "maillon.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	key, _ := secret.ParseKey(secret.NewKey())
	box, _ := secret.New(key)
	now := time.Now().UTC().Truncate(time.Second)
	c := &clock{now: now.AddDate(-1, 0, -1)}
	reg := registry.New(st, box, registry.Options{Now: c.Now})
	admin := registry.Actor{Name: "bench"}

	const components = 500
	var ids []int64
	for i := range components {
		name, group := fmt.Sprintf("Service %03d", i), fmt.Sprintf("Group %02d", i/20)
		comp, err := reg.CreateComponent(ctx, admin, registry.ComponentInput{Name: &name, Group: &group, Targets: &[]string{"service:all"}})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, comp.ID)
	}
	start := time.Now()
	// One incident a month per component, spread over the year.
	for day := 0; day < 365; day++ {
		for i, id := range ids {
			if (i+day)%30 != 0 {
				continue
			}
			c.set(now.AddDate(0, 0, day-365).Add(time.Duration(i) * time.Minute))
			title := fmt.Sprintf("Outage %d of %d", day, id)
			inc, err := reg.OpenIncident(ctx, admin, registry.IncidentInput{Title: &title, Components: &[]int64{id}, Message: "We are looking into it."})
			if err != nil {
				b.Fatal(err)
			}
			if day > 360 && i%10 == 0 {
				continue // left open
			}
			c.set(c.Now().Add(20 * time.Minute))
			reg.UpdateIncident(ctx, admin, inc.ID, registry.IncidentInput{State: ptr(registry.IncidentIdentified), Message: "Found it: a power supply."})
			c.set(c.Now().Add(time.Hour))
			if _, err := reg.UpdateIncident(ctx, admin, inc.ID, registry.IncidentInput{State: ptr(registry.IncidentResolved), Message: "Replaced."}); err != nil {
				b.Fatal(err)
			}
		}
	}
	c.set(now)
	for i := 0; i < 100; i++ {
		if _, err := reg.PlanMaintenance(ctx, admin, registry.MaintenanceInput{Title: "Firmware", Components: []int64{ids[i*5]},
			StartsAt: now.Add(time.Duration(24+i) * time.Hour), EndsAt: now.Add(time.Duration(26+i) * time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("history written in %s", time.Since(start).Round(time.Second))

	svc, err := status.New(status.Options{Registry: reg, PublicURL: "http://bench/status", LinkKey: []byte("0123456789abcdef0123456789abcdef")})
	if err != nil {
		b.Fatal(err)
	}
	page, err := svc.Render(ctx, "en")
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("page: %d bytes", len(page))

	const runs = 200
	var full []time.Duration
	for range runs {
		t0 := time.Now()
		if _, err := svc.Render(ctx, "fr"); err != nil {
			b.Fatal(err)
		}
		full = append(full, time.Since(t0))
	}
	b.Logf("full rendering:  p50 %s, p99 %s (%d runs)", pct(full, 0.5), pct(full, 0.99), runs)

	// Through HTTP with the daemon's cache (Run keeps it).
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go svc.Run(runCtx)
	mux := http.NewServeMux()
	for p, h := range svc.Mounts() {
		mux.Handle(p, h)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()
	time.Sleep(100 * time.Millisecond) // Run has enabled the cache
	var served []time.Duration
	for range runs * 5 {
		t0 := time.Now()
		resp, err := http.Get(srv.URL + "/status")
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		served = append(served, time.Since(t0))
	}
	b.Logf("served (cached): p50 %s, p99 %s (%d requests)", pct(served, 0.5), pct(served, 0.99), runs*5)
}

func ptr[T any](v T) *T { return &v }
