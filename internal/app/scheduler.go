package app

import (
	"context"
	"log/slog"
	"time"
)

// Clock is the daemon's time: the registry's Now and the scheduler's
// waits. Tests pass a simulated one (apptest.Clock) to run a year of
// roster in a second.
type Clock interface {
	Now() time.Time
	// Until returns a channel that receives once the clock reaches t
	// (at once if it already has).
	Until(t time.Time) <-chan time.Time
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) Until(t time.Time) <-chan time.Time {
	return time.After(time.Until(t))
}

// Option adjusts a daemon made by New.
type Option func(*options)

type options struct {
	clock Clock
}

// WithClock runs the daemon on clock rather than the wall clock.
func WithClock(c Clock) Option { return func(o *options) { o.clock = c } }

// job is periodic work: it gets the time of the tick it runs for.
type job struct {
	name string
	run  func(ctx context.Context, now time.Time) error
}

// scheduler runs jobs every interval of its clock, and at once when
// kicked (a campaign started from the CLI mails without waiting). Jobs
// keep their state in the database, so a tick missed while the daemon
// was down is made up at the next one.
type scheduler struct {
	clock    Clock
	interval time.Duration
	jobs     []job
	kick     chan struct{}
	log      *slog.Logger
}

func newScheduler(clock Clock, interval time.Duration, log *slog.Logger) *scheduler {
	return &scheduler{clock: clock, interval: interval, kick: make(chan struct{}, 1), log: log}
}

func (s *scheduler) add(name string, run func(ctx context.Context, now time.Time) error) {
	s.jobs = append(s.jobs, job{name, run})
}

// Kick runs the jobs now rather than at the next tick.
func (s *scheduler) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *scheduler) run(ctx context.Context) error {
	if len(s.jobs) == 0 {
		return nil
	}
	for {
		// The next wake-up is counted from the time the jobs ran for,
		// not from when they finished: a simulated clock moved while
		// they ran wakes the loop at once.
		now := s.clock.Now()
		for _, j := range s.jobs {
			if err := j.run(ctx, now); err != nil && ctx.Err() == nil {
				s.log.Error("scheduled job failed; retried at the next tick", "job", j.name, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.kick:
		case <-s.clock.Until(now.Add(s.interval)):
		}
	}
}
