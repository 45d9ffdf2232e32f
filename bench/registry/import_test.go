// Package registrybench benchmarks bulk work on the registry: importing a members
// file of 20,000 rows, each with a ppp line (so three address allocations
// per row), into a fresh SQLite database, as `maillon import` does.
//
//	go test ./bench/registry -run '^$' -bench Import20k -benchtime 1x -v
//
// See README.md for the figures and how to profile.
package registrybench

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"maillon/internal/csvimport"
	"maillon/internal/registry"
	"maillon/internal/secret"
	"maillon/internal/store"
)

// rowsEnv overrides the row count (default 20,000).
const rowsEnv = "MAILLON_BENCH_ROWS"

// membersCSV writes a deterministic members file of n rows, each with a
// ppp line, in the semicolon-separated form French spreadsheets export.
func membersCSV(n int) []byte {
	rng := rand.New(rand.NewPCG(20, 26))
	first := []string{"Camille", "Lou", "Sacha", "Noé", "Inès", "Yanis", "Maëlle", "Hugo", "Léa", "Nour", "Jules", "Zoé"}
	last := []string{"Martin", "Dubois", "Lefèvre", "Peeters", "Janssens", "Nguyen", "Moreau", "Claes", "Girard", "Bernard"}
	var b bytes.Buffer
	b.WriteString("\ufeffname;email;phone;address;state;membership_start;membership_end;login;password;upstream_ref\r\n")
	for i := range n {
		f, l := first[rng.IntN(len(first))], last[rng.IntN(len(last))]
		phone := ""
		if i%3 != 0 {
			phone = fmt.Sprintf("+32 4%02d %02d %02d %02d", rng.IntN(100), rng.IntN(100), rng.IntN(100), rng.IntN(100))
		}
		end := ""
		if i%10 == 0 {
			end = "2025-12-31"
		}
		fmt.Fprintf(&b, "%s %s;%s.%s.%d@example.org;%s;%d rue de la Colline, 1000 Bruxelles;active;2024-%02d-01;%s;p%06x@BENCH;pw-%016x;VDSL-%08d\r\n",
			f, l, strings.ToLower(f), strings.ToLower(l), i, phone, 1+rng.IntN(300), 1+i%12, end, i, rng.Uint64(), 81000000+i)
	}
	return b.Bytes()
}

// freshRegistry opens a new SQLite registry with pools large enough for
// any benchmark size.
func freshRegistry(tb testing.TB, dir string) (*registry.Service, *store.Store) {
	return freshRegistryWithKey(tb, dir, secret.NewKey())
}

// freshRegistryWithKey is freshRegistry sealing secrets with key, so that a
// daemon started on the database later can read them.
func freshRegistryWithKey(tb testing.TB, dir, sealKey string) (*registry.Service, *store.Store) {
	tb.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "maillon.db"))
	if err != nil {
		tb.Fatal(err)
	}
	key, _ := secret.ParseKey(sealKey)
	box, err := secret.New(key)
	if err != nil {
		tb.Fatal(err)
	}
	reg := registry.New(st, box, registry.Options{})
	err = reg.Batch(ctx, registry.System, func(b *registry.Batch) error {
		for _, p := range []struct {
			cidr    string
			purpose registry.Purpose
			bits    int
		}{
			{"100.64.0.0/10", registry.PurposeSubscriber, 32},
			{"2001:db8::/32", registry.PurposeAggregate, 0},
			{"2001:db8:1000::/36", registry.PurposeSubscriber, 64},
			{"3fff::/20", registry.PurposeAggregate, 0},
			{"3fff:800::/32", registry.PurposeDelegated, 56},
		} {
			in := registry.PrefixInput{CIDR: &p.cidr, Purpose: &p.purpose}
			if p.bits != 0 {
				in.BlockBits = &p.bits
			}
			if _, err := b.CreatePrefix(in); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return reg, st
}

func benchRows() int {
	if v, err := strconv.Atoi(os.Getenv(rowsEnv)); err == nil && v > 0 {
		return v
	}
	return 20000
}

// peakRSS is the process's resident-set high-water mark (VmHWM), in MiB.
func peakRSS() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// cpuTime is the user and system CPU time the process has used: on a
// shared machine it tells the import's own cost apart from waiting.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkImport20k imports the members file into a fresh database per
// iteration; only the import (parse, validation, allocations, commit) is
// timed.
func BenchmarkImport20k(b *testing.B) {
	n := benchRows()
	data := membersCSV(n)
	ctx := context.Background()
	var total, totalCPU time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		reg, st := freshRegistry(b, b.TempDir())
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime()
		created, err := csvimport.Members(ctx, reg, registry.System, bytes.NewReader(data), nil)
		elapsed, cpu := time.Since(start), cpuTime()-cpu0
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if created != n {
			b.Fatalf("created %d members, want %d", created, n)
		}
		total += elapsed
		totalCPU += cpu
		b.Logf("%d members with a line each: %.2f s wall (%.0f rows/s), %.2f s CPU, peak RSS %.0f MiB",
			n, elapsed.Seconds(), float64(n)/elapsed.Seconds(), cpu.Seconds(), peakRSS())
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/import")
	b.ReportMetric(totalCPU.Seconds()/float64(b.N), "cpu-s/import")
	b.ReportMetric(peakRSS(), "peakRSS-MiB")
}

// TestImportSmall runs the benchmark's path on a few hundred rows under a
// plain go test, so the harness keeps working, and checks what it builds.
func TestImportSmall(t *testing.T) {
	const n = 300
	reg, st := freshRegistry(t, t.TempDir())
	defer st.Close()
	ctx := context.Background()
	created, err := csvimport.Members(ctx, reg, registry.System, bytes.NewReader(membersCSV(n)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if created != n {
		t.Fatalf("created %d, want %d", created, n)
	}
	err = reg.Read(ctx, func(r registry.Reader) error {
		subs, err := r.ListSubscriptions(ctx, registry.SubscriptionFilter{})
		if err != nil {
			return err
		}
		if len(subs) != n {
			return fmt.Errorf("%d subscriptions, want %d", len(subs), n)
		}
		seen := map[string]string{}
		for _, s := range subs {
			if len(s.Addresses) != 3 {
				return fmt.Errorf("%s has %d addresses, want 3", s.Login, len(s.Addresses))
			}
			for _, a := range s.Addresses {
				if other, dup := seen[a.Block.String()]; dup {
					return fmt.Errorf("%s given to %s and %s", a.Block, other, s.Login)
				}
				seen[a.Block.String()] = s.Login
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
