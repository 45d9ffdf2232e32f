package main

import (
	"flag"
	"fmt"
	"runtime"
	"time"
)

// stalls measures how long the CPU it runs on is taken away: one thread
// reads the clock in a loop, and a gap between two readings is time it
// did not run (the kernel's own threads, interrupts, the hypervisor
// running another guest). run.sh runs one on each CPU at once, both busy
// as during a latency run, so that each p99 comes with the machine's
// noise of that moment: a daemon with one CPU cannot answer during a
// stall, and a 4 ms stall at half the peak makes a few hundred requests
// wait over 2 ms.
func stalls(args []string) error {
	fs := flag.NewFlagSet("stalls", flag.ExitOnError)
	duration := fs.Duration("duration", 10*time.Second, "how long to measure")
	label := fs.String("label", "", "label printed with the result")
	fs.Parse(args)
	runtime.LockOSThread()
	limits := [...]time.Duration{500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond}
	var count [len(limits)]int
	var total, longest time.Duration
	start := time.Now()
	prev := start
	for end := start.Add(*duration); prev.Before(end); {
		now := time.Now()
		gap := now.Sub(prev)
		prev = now
		if gap <= 100*time.Microsecond {
			continue
		}
		total += gap
		longest = max(longest, gap)
		for i, limit := range limits {
			if gap > limit {
				count[i]++
			}
		}
	}
	fmt.Printf("%s stalls over %v: %v lost (%.2f%%), over 0.5 ms: %d, over 1 ms: %d, over 2 ms: %d, longest %v\n",
		*label, duration.Round(time.Second), total.Round(time.Microsecond), 100*total.Seconds()/duration.Seconds(),
		count[0], count[1], count[2], longest.Round(time.Microsecond))
	return nil
}
