package monitor

import (
	"context"
	"sync"
	"time"

	"maillon/internal/registry"
)

// Health is what the checks watching some registry objects say, for the
// status page: how many there are, how many fail (down or unreachable),
// how many are retrying.
type Health struct {
	Checks, Failing, Pending int
}

// watching lists the enabled checks that watch one of the targets: a
// check on the target itself, or on a host or NAS in a site that is one.
// It runs with m.mu held.
func (m *Monitor) watching(targets []registry.Target) []*run {
	var out []*run
	for _, r := range m.runs {
		if !r.check.Enabled {
			continue
		}
	match:
		for _, c := range m.objects.covers(r.check) {
			for _, t := range targets {
				if sameTarget(t, c) {
					out = append(out, r)
					break match
				}
			}
		}
	}
	return out
}

// HealthOf is the current health of what watches the targets.
func (m *Monitor) HealthOf(targets []registry.Target) Health {
	m.mu.Lock()
	defer m.mu.Unlock()
	var h Health
	for _, r := range m.watching(targets) {
		h.Checks++
		switch r.st.State {
		case registry.StateDown, registry.StateUnreachable:
			h.Failing++
		case registry.StatePending:
			h.Pending++
		}
	}
	return h
}

// uptimeCache keeps the uptime of days that are over, which cannot change.
type uptimeCache struct {
	mu   sync.Mutex
	days map[uptimeKey]float64
}

type uptimeKey struct {
	check int64
	day   time.Time
}

// DailyUptime is the fraction of each of the last days (UTC, oldest
// first, today last) the checks watching the targets were up, averaged
// over the checks; -1 for a day nothing was measured, nil when no check
// watches them.
func (m *Monitor) DailyUptime(ctx context.Context, targets []registry.Target, days int) ([]float64, error) {
	m.mu.Lock()
	var ids []int64
	for _, r := range m.watching(targets) {
		ids = append(ids, r.check.ID)
	}
	m.mu.Unlock()
	if len(ids) == 0 || days <= 0 {
		return nil, nil
	}
	now := m.now()
	today := now.Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -(days - 1))
	sum := make([]float64, days)
	n := make([]int, days)
	for _, id := range ids {
		per, err := m.checkUptime(ctx, id, first, days, now)
		if err != nil {
			return nil, err
		}
		for i, v := range per {
			if v >= 0 {
				sum[i] += v
				n[i]++
			}
		}
	}
	out := make([]float64, days)
	for i := range out {
		out[i] = -1
		if n[i] > 0 {
			out[i] = sum[i] / float64(n[i])
		}
	}
	return out, nil
}

// checkUptime is one check's uptime for each day from first.
func (m *Monitor) checkUptime(ctx context.Context, id int64, first time.Time, days int, now time.Time) ([]float64, error) {
	out := make([]float64, days)
	today := now.Truncate(24 * time.Hour)
	c := &m.uptime
	c.mu.Lock()
	if c.days == nil {
		c.days = map[uptimeKey]float64{}
	}
	missing := false
	for i := range out {
		day := first.AddDate(0, 0, i)
		v, ok := c.days[uptimeKey{id, day}]
		if !ok || !day.Before(today) {
			missing = true
			break
		}
		out[i] = v
	}
	c.mu.Unlock()
	if !missing {
		return out, nil
	}
	var trs []registry.CheckTransition
	err := m.opt.Registry.Read(ctx, func(r registry.Reader) error {
		var err error
		trs, err = r.ListCheckTransitions(ctx, id, first)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range out {
		start := first.AddDate(0, 0, i)
		end := start.Add(24 * time.Hour)
		if end.After(now) {
			end = now
		}
		out[i] = uptimeBetween(trs, start, end)
		if start.Before(today) {
			c.days[uptimeKey{id, start}] = out[i]
		}
	}
	return out, nil
}

// uptimeBetween is the fraction of [start, end) spent up, among the time
// a state was known; -1 if none was.
func uptimeBetween(trs []registry.CheckTransition, start, end time.Time) float64 {
	var up, known time.Duration
	for i, tr := range trs {
		from, to := tr.At, end
		if i+1 < len(trs) {
			to = trs[i+1].At
		}
		if from.Before(start) {
			from = start
		}
		if to.After(end) {
			to = end
		}
		if !to.After(from) {
			continue
		}
		switch tr.State {
		case registry.StateUp, registry.StatePending:
			up += to.Sub(from)
			known += to.Sub(from)
		case registry.StateDown, registry.StateUnreachable:
			known += to.Sub(from)
		}
	}
	if known == 0 {
		return -1
	}
	return float64(up) / float64(known)
}
