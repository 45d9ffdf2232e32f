// Package monitor runs maillon's checks, works out from the dependency
// graph which failing checks are down and which only unreachable, and
// raises, routes, repeats, escalates and resolves the alerts people are
// told about, including those Prometheus' Alertmanager forwards.
package monitor

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"maillon/internal/config"
	"maillon/internal/registry"
)

// Registry is what the monitor needs of the registry.
type Registry interface {
	Read(ctx context.Context, fn func(registry.Reader) error) error
	CheckSecret(registry.Check) (string, error)
	SaveCheckState(ctx context.Context, st registry.CheckState) error
	RaiseAlert(ctx context.Context, a *registry.Alert) error
	SaveAlert(ctx context.Context, a *registry.Alert) error
	AckAlert(ctx context.Context, a registry.Actor, id int64) (registry.Alert, error)
}

// Message is a notification, shaped like notify.Message.
type Message struct {
	Subject  string
	Text     string
	Severity string
	URL      string
	Headers  map[string]string
}

// Notifier delivers a message through a named channel of the notify:
// configuration (an email list, a Matrix room, an SMS gateway, a webhook).
type Notifier interface {
	Notify(ctx context.Context, channel string, m Message) error
}

// MutedTarget is what a maintenance window covers: a site, host or NAS by
// id, or a service by name ("all": everything).
type MutedTarget = registry.Target

// Maintenance tells which targets are under planned maintenance at a time
// (the status page owns maintenance windows).
type Maintenance interface {
	ActiveAt(t time.Time) []MutedTarget
}

// Options wires a Monitor.
type Options struct {
	Registry    Registry
	Notifier    Notifier
	Maintenance Maintenance
	Clock       Clock
	Config      config.Monitor
	// LinkKey signs acknowledgement links.
	LinkKey []byte
	// TLS is the probes' TLS configuration (tests trust their own CA).
	TLS *tls.Config
	// Spread staggers the first probes of the checks loaded at start over
	// their interval, so that 2,000 checks do not all fire in the same
	// second, every minute; checks added later are probed at once.
	Spread bool
	Logger *slog.Logger
}

// run is a check being run.
type run struct {
	check registry.Check
	st    registry.CheckState
	next  time.Time

	// probing is held while the check is probed and its result applied:
	// one probe of a check at a time, and a child that needs its parent
	// probed waits for a probe already under way rather than starting a
	// second one.
	probing sync.Mutex
	// done counts the probes applied, to tell whether a probe finished
	// while one waited for the lock.
	done int

	inflight   bool
	lastRun    time.Time
	lastOK     bool
	latency    time.Duration
	certExpiry time.Time
	// lastPush is the last call of a push check (or when it was loaded).
	lastPush    time.Time
	pushFailure string
	called      bool
}

// Monitor runs checks and alerts.
type Monitor struct {
	loadMu sync.Mutex
	opt    Options
	clock  Clock
	log    *slog.Logger
	prober *prober
	alerts *alerter

	mu      sync.Mutex
	runs    map[int64]*run
	graph   *registry.CheckGraph
	objects objects
	byToken map[string]int64
	wg      sync.WaitGroup
	sem     chan struct{}
	wake    chan struct{}
	dirty   bool
	loaded  bool
	uptime  uptimeCache
}

// New makes a monitor; Load reads the checks.
func New(opt Options) *Monitor {
	if opt.Clock == nil {
		opt.Clock = realClock{}
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	n := opt.Config.Concurrency
	if n <= 0 {
		n = 64
	}
	m := &Monitor{opt: opt, clock: opt.Clock, log: opt.Logger, runs: map[int64]*run{}, byToken: map[string]int64{},
		graph: registry.BuildCheckGraph(nil, nil, nil, nil), sem: make(chan struct{}, n), wake: make(chan struct{}, 1)}
	m.prober = newProber(opt.TLS, m.now, opt.Registry.CheckSecret)
	m.alerts = newAlerter(m)
	return m
}

func (m *Monitor) now() time.Time { return m.clock.Now().UTC() }

// Load (re)reads the checks, their states and the registry relations, and
// the firing alerts. Checks kept keep their run-time figures.
func (m *Monitor) Load(ctx context.Context) error {
	// The run loop and a push of a brand-new check may both load: one at a
	// time, so an older read never replaces a newer one.
	m.loadMu.Lock()
	defer m.loadMu.Unlock()
	// Cleared before reading: a change announced meanwhile is read next time.
	m.mu.Lock()
	m.dirty = false
	m.mu.Unlock()
	var (
		checks []registry.Check
		states []registry.CheckState
		hosts  []registry.Host
		nas    []registry.NAS
		sites  []registry.Site
		firing []registry.Alert
	)
	err := m.opt.Registry.Read(ctx, func(r registry.Reader) error {
		var err error
		if checks, err = r.ListChecks(ctx); err != nil {
			return err
		}
		if states, err = r.ListCheckStates(ctx); err != nil {
			return err
		}
		if hosts, err = r.ListHosts(ctx, registry.ListOptions{}); err != nil {
			return err
		}
		if nas, err = r.ListNAS(ctx); err != nil {
			return err
		}
		if sites, err = r.ListSites(ctx); err != nil {
			return err
		}
		firing, err = r.ListAlerts(ctx, registry.AlertFilter{State: registry.AlertFiring})
		return err
	})
	if err != nil {
		m.mu.Lock()
		m.dirty = true // try again on the run loop's next turn
		m.mu.Unlock()
		return fmt.Errorf("load checks: %w", err)
	}
	g := registry.BuildCheckGraph(checks, hosts, nas, sites)
	// The registry refuses cycles, but a host moved to another site may
	// close one; cut it rather than let children wait on each other.
	for cycle := g.Cycle(); cycle != nil; cycle = g.Cycle() {
		last, first := cycle[len(cycle)-1], cycle[0]
		m.log.Error("monitor: dependency cycle, ignoring one edge", "from", g.Name(last), "to", g.Name(first))
		g.Parents[last] = slices.DeleteFunc(g.Parents[last], func(e registry.CheckEdge) bool { return e.Parent == first })
	}
	byState := map[int64]registry.CheckState{}
	for _, s := range states {
		byState[s.CheckID] = s
	}
	now := m.now()
	m.mu.Lock()
	old := m.runs
	m.runs = map[int64]*run{}
	m.byToken = map[string]int64{}
	first := !m.loaded
	m.loaded = true
	for _, c := range checks {
		r, ok := old[c.ID]
		if !ok {
			r = &run{next: now, lastPush: now}
			if first && m.opt.Spread && c.IntervalSeconds > 1 {
				r.next = now.Add(time.Duration(uint64(c.ID)*2654435761%uint64(c.IntervalSeconds*1000)) * time.Millisecond)
			}
			if s, ok := byState[c.ID]; ok {
				r.st = s
			} else {
				r.st = registry.CheckState{CheckID: c.ID, State: registry.StateUnknown, Since: now}
			}
		} else if r.check.IntervalSeconds != c.IntervalSeconds || r.check.Kind != c.Kind {
			r.next = now
		}
		r.check = c
		if !c.Enabled {
			r.st.State = registry.StatePaused
		} else if r.st.State == registry.StatePaused {
			r.st.State, r.st.Since, r.next = registry.StateUnknown, now, now
		}
		if c.PushTokenHash != "" {
			m.byToken[c.PushTokenHash] = c.ID
		}
		m.runs[c.ID] = r
	}
	m.graph = g
	m.objects = newObjects(hosts, nas, sites)
	m.mu.Unlock()
	m.alerts.load(firing)
	m.closeOrphans(ctx, g.Checks, firing)
	m.poke()
	return nil
}

// closeOrphans resolves the alerts of checks removed or paused: nothing
// would ever probe them up again, so they would fire (and repeat) forever.
// Those told it fired are told it is resolved, as for a recovery.
func (m *Monitor) closeOrphans(ctx context.Context, byID map[int64]*registry.Check, firing []registry.Alert) {
	for _, al := range firing {
		if al.Source != registry.SourceCheck || al.CheckID == nil {
			continue
		}
		why := ""
		if c, ok := byID[*al.CheckID]; !ok {
			why = "check removed"
		} else if !c.Enabled {
			why = "check paused"
		}
		if why != "" {
			m.log.Info("monitor: alert resolved", "id", al.ID, "alert", al.Name, "why", why)
			m.alerts.resolve(ctx, al.Fingerprint, why)
		}
	}
}

func (m *Monitor) poke() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Changed tells the monitor that checks or the objects they sit on
// changed; Run reloads them.
func (m *Monitor) Changed() {
	m.mu.Lock()
	m.dirty = true
	m.mu.Unlock()
	m.poke()
}

// Run probes the checks as they fall due and evaluates the alerts (repeat,
// escalation, silences ending) until ctx ends. events, if not nil, says
// when the registry changed.
func (m *Monitor) Run(ctx context.Context, events <-chan registry.Event) error {
	if err := m.Load(ctx); err != nil {
		// The database may come back: keep trying rather than stop the daemon.
		m.log.Error("monitor: load checks", "err", err)
	}
	for {
		m.mu.Lock()
		dirty := m.dirty
		m.mu.Unlock()
		if dirty {
			if err := m.Load(ctx); err != nil {
				m.log.Warn("monitor: reload", "err", err)
			}
		}
		m.launchDue(ctx)
		m.alerts.evaluate(ctx)
		select {
		case <-ctx.Done():
			m.wg.Wait()
			return nil
		case e := <-events:
			switch e.Entity {
			case "check", "host", "nas", "site", registry.EntityAll:
				m.Changed()
			}
		case <-m.wake:
		case <-m.clock.After(time.Second):
		}
	}
}

// SetClock replaces the clock; call it before Run (tests simulate time).
func (m *Monitor) SetClock(c Clock) { m.clock = c }

// Tick probes every check due now and applies all the results, then
// evaluates the alerts; tests drive a simulated clock with it.
func (m *Monitor) Tick(ctx context.Context) {
	m.launchDue(ctx)
	m.wg.Wait()
	m.alerts.evaluate(ctx)
}

// launchDue starts the probes of the checks due now.
func (m *Monitor) launchDue(ctx context.Context) {
	now := m.now()
	m.mu.Lock()
	var due []*run
	for _, id := range m.graph.Order() {
		r := m.runs[id]
		if r == nil || !r.check.Enabled || r.inflight || now.Before(r.next) {
			continue
		}
		r.inflight = true
		r.next = now.Add(r.check.Interval())
		if r.check.Kind == registry.CheckPush {
			// Looked at when its period (and grace) would end.
			if at := r.lastPush.Add(r.check.Interval() + r.check.Timeout()); at.After(now) {
				r.next = at
			}
		}
		due = append(due, r)
	}
	m.mu.Unlock()
	for _, r := range due {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.sem <- struct{}{}
			defer func() { <-m.sem }()
			m.probeAndApply(ctx, r, nil, -1)
			m.mu.Lock()
			r.inflight = false
			m.mu.Unlock()
		}()
	}
}

// probeAndApply probes a check and applies the result. seen guards the
// parents verified along a chain; doneBefore, if not -1, skips the probe
// when one finished since the caller looked.
func (m *Monitor) probeAndApply(ctx context.Context, r *run, seen map[int64]bool, doneBefore int) {
	r.probing.Lock()
	defer r.probing.Unlock()
	m.mu.Lock()
	c := r.check
	fresh := doneBefore >= 0 && r.done != doneBefore
	m.mu.Unlock()
	if fresh || ctx.Err() != nil {
		return
	}
	var res result
	if c.Kind == registry.CheckPush {
		res = m.pushResult(r)
	} else {
		res = m.prober.probe(ctx, c)
	}
	if res.none {
		return
	}
	m.apply(ctx, r, res, seen)
}

type transition struct {
	check    registry.Check
	from, to string
	st       registry.CheckState
}

// apply records a probe result and moves the check's state; a check whose
// retries ran out is down only once its parents were seen up, else
// unreachable. It runs with r.probing held.
func (m *Monitor) apply(ctx context.Context, r *run, res result, seen map[int64]bool) {
	now := m.now()
	m.mu.Lock()
	if m.runs[r.check.ID] != r || !r.check.Enabled {
		// Paused or removed while the probe ran: its alert was resolved
		// then, and a late answer must not raise it again.
		m.mu.Unlock()
		return
	}
	r.done++
	r.lastRun, r.lastOK, r.latency = now, res.ok, res.latency
	if !res.certExpiry.IsZero() {
		r.certExpiry = res.certExpiry
	}
	id := r.check.ID
	var verify []*run
	var next string
	if res.ok {
		r.st.Failures = 0
		next = registry.StateUp
	} else {
		r.st.Failures++
		switch {
		case r.st.Failures <= r.check.Retries && r.st.State != registry.StateDown && r.st.State != registry.StateUnreachable:
			next = registry.StatePending
		default:
			next, verify = m.decide(r, seen)
		}
	}
	m.mu.Unlock()
	if verify != nil {
		// Probe the parents that looked up, then decide again: a switch
		// found dead now makes its hosts unreachable, not down.
		chain := maps.Clone(seen)
		if chain == nil {
			chain = map[int64]bool{}
		}
		chain[id] = true
		var wg sync.WaitGroup
		for _, p := range verify {
			m.mu.Lock()
			d := p.done
			m.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				m.probeAndApply(ctx, p, maps.Clone(chain), d)
			}()
		}
		wg.Wait()
		m.mu.Lock()
		next, _ = m.decide(r, nil)
		m.mu.Unlock()
	}
	m.mu.Lock()
	r.st.Message = res.msg
	cause := ""
	if next == registry.StateUnreachable {
		cause = m.failingParent(id)
	}
	var tr *transition
	if next != r.st.State || cause != r.st.Cause {
		tr = &transition{check: r.check, from: r.st.State, to: next}
		if next != r.st.State {
			r.st.Since = now
		}
		r.st.State, r.st.Cause = next, cause
		tr.st = r.st
	}
	var wake []*run
	if res.ok && tr != nil {
		// Children held unreachable by this one are probed again now.
		for _, child := range m.graph.Children(id) {
			if cr := m.runs[child]; cr != nil && cr.st.State == registry.StateUnreachable {
				cr.next = now
				wake = append(wake, cr)
			}
		}
	}
	m.mu.Unlock()
	if tr == nil {
		return
	}
	if err := m.opt.Registry.SaveCheckState(ctx, tr.st); err != nil {
		m.log.Warn("monitor: save check state", "check", tr.check.Name, "err", err)
	}
	m.log.Info("monitor: check state", "check", tr.check.Name, "from", tr.from, "to", tr.to, "message", res.msg, "cause", cause)
	m.alerts.transition(ctx, *tr)
	if wake != nil {
		m.poke()
	}
}

// decide says whether a failing check is down or unreachable, or which
// parents to probe first. It runs with m.mu held.
func (m *Monitor) decide(r *run, seen map[int64]bool) (string, []*run) {
	if m.failingParent(r.check.ID) != "" {
		return registry.StateUnreachable, nil
	}
	// Already down: no need to ask the parents again.
	if r.st.State == registry.StateDown {
		return registry.StateDown, nil
	}
	var verify []*run
	for _, e := range m.graph.Parents[r.check.ID] {
		p := m.runs[e.Parent]
		if p == nil || !p.check.Enabled || seen[e.Parent] {
			continue
		}
		verify = append(verify, p)
	}
	return registry.StateDown, verify
}

// failingParent names a parent whose last result failed, or "". It runs
// with m.mu held.
func (m *Monitor) failingParent(id int64) string {
	for _, e := range m.graph.Parents[id] {
		p := m.runs[e.Parent]
		if p == nil || !p.check.Enabled {
			continue
		}
		switch {
		case p.st.State == registry.StateDown, p.st.State == registry.StateUnreachable,
			!p.lastRun.IsZero() && !p.lastOK:
			return p.check.Name
		}
	}
	return ""
}

// Status is a check and where it stands, for the API, the status page and
// /metrics.
type Status struct {
	Check registry.Check
	State registry.CheckState
}

// Statuses lists every check with its state and run-time figures.
func (m *Monitor) Statuses() []Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Status, 0, len(m.runs))
	for _, r := range m.runs {
		out = append(out, Status{Check: r.check, State: m.stateOf(r)})
	}
	slices.SortFunc(out, func(a, b Status) int { return int(a.Check.ID - b.Check.ID) })
	return out
}

// StateOf is one check's state, or false if the monitor does not run it.
func (m *Monitor) StateOf(id int64) (registry.CheckState, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.runs[id]
	if !ok {
		return registry.CheckState{}, false
	}
	return m.stateOf(r), true
}

func (m *Monitor) stateOf(r *run) registry.CheckState {
	st := r.st
	if !r.lastRun.IsZero() {
		t := r.lastRun
		st.LastRun = &t
		st.LatencyMS = float64(r.latency.Microseconds()) / 1000
	}
	if !r.certExpiry.IsZero() {
		t := r.certExpiry
		st.CertExpiry = &t
	}
	return st
}

// Graph is the dependency graph the monitor runs on.
func (m *Monitor) Graph() *registry.CheckGraph {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.graph
}
