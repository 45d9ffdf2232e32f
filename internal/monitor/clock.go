package monitor

import "time"

// Clock is the monitor's time: the real one, or a simulated one in tests
// (escalation after 15 minutes, a silence ending tomorrow; testenv.Clock)
// so that no test waits for real time to pass.
type Clock interface {
	Now() time.Time
	// After fires once d has passed.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
