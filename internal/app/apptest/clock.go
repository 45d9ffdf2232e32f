package apptest

import (
	"time"

	"maillon/internal/app"
	"maillon/internal/testenv"
)

// Clock is the simulated clock for app.WithClock (see testenv.Clock, which
// the monitor's tests use too).
type Clock = testenv.Clock

// NewClock returns a clock showing start.
func NewClock(start time.Time) *Clock { return testenv.NewClock(start) }

var _ app.Clock = (*Clock)(nil)
