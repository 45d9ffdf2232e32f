// Package monitor_test measures the monitor's cost: 2,000 checks at a 60 s
// interval (half TCP, half HTTP against local targets), run by the real
// scheduler on the wall clock for one whole interval.
//
//	go test ./bench/monitor -run '^$' -bench Checks2000 -benchtime 1x -v
package monitor_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"maillon/internal/config"
	"maillon/internal/monitor"
	"maillon/internal/registry"
	"maillon/internal/secret"
	"maillon/internal/store"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkChecks2000(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "maillon.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	key, _ := secret.ParseKey(secret.NewKey())
	box, _ := secret.New(key)
	reg := registry.New(st, box, registry.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") }))
	defer web.Close()
	admin := registry.Actor{Name: "bench"}
	for i := range 2000 {
		in := registry.CheckInput{Name: ptr(fmt.Sprintf("c%04d", i)), Interval: ptr("60s"), Timeout: ptr("5s")}
		if i%2 == 0 {
			in.Kind, in.Address = ptr(registry.CheckTCP), ptr(ln.Addr().String())
		} else {
			in.Kind, in.URL, in.BodyMatch = ptr(registry.CheckHTTP), ptr(web.URL), ptr("ok")
		}
		if _, err := reg.CreateCheck(ctx, admin, in); err != nil {
			b.Fatal(err)
		}
	}
	mon := monitor.New(monitor.Options{Registry: reg, Config: config.Monitor{}, Spread: true})
	b.ResetTimer()
	for range b.N {
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- mon.Run(runCtx, nil) }()
		time.Sleep(5 * time.Second) // load and settle
		cpu0, t0 := cpuTime(), time.Now()
		time.Sleep(60 * time.Second)
		cpu, wall := cpuTime()-cpu0, time.Since(t0)
		cancel()
		<-done
		up := 0
		for _, s := range mon.Statuses() {
			if s.State.State == registry.StateUp {
				up++
			}
		}
		b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "%cpu")
		b.ReportMetric(float64(up), "checks_up")
		b.Logf("2,000 checks for %s: %s CPU (%.1f%% of one core, targets included), %d up", wall.Round(time.Second), cpu.Round(time.Millisecond), 100*cpu.Seconds()/wall.Seconds(), up)
	}
}

func ptr[T any](v T) *T { return &v }
