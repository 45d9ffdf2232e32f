package monitor

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"maillon/internal/config"
	"maillon/internal/registry"
)

// alerter keeps the firing alerts and tells people about them. The
// database is the truth: evaluate rereads the firing alerts, so that an
// acknowledgement made elsewhere, or a restart, is seen.
type alerter struct {
	m  *Monitor
	mu sync.Mutex
	// open are the firing alerts by fingerprint.
	open map[string]*registry.Alert
	// sent counts notifications by channel and outcome, for /metrics.
	sent map[[2]string]float64
}

func newAlerter(m *Monitor) *alerter {
	return &alerter{m: m, open: map[string]*registry.Alert{}, sent: map[[2]string]float64{}}
}

func (a *alerter) load(firing []registry.Alert) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.open = map[string]*registry.Alert{}
	for i := range firing {
		a.open[firing[i].Fingerprint] = &firing[i]
	}
}

func checkFingerprint(id int64) string { return "check:" + strconv.FormatInt(id, 10) }

// transition turns a check's change of state into alerts: down raises
// one, up resolves it. Unreachable raises none: its parent's alert says
// it all.
func (a *alerter) transition(ctx context.Context, tr transition) {
	c := tr.check
	switch tr.to {
	case registry.StateDown:
		labels := map[string]string{"check": c.Name, "kind": string(c.Kind), "severity": c.Severity}
		if len(c.Tags) > 0 {
			labels["tags"] = strings.Join(c.Tags, ",")
		}
		if target := a.m.targetName(c); target != "" {
			labels["target"] = target
		}
		id := c.ID
		a.raise(ctx, registry.Alert{
			Fingerprint: checkFingerprint(c.ID), Source: registry.SourceCheck, CheckID: &id,
			Name: c.Name, Severity: c.Severity, Labels: labels, Summary: describe(c) + ": " + tr.st.Message,
			StartedAt: tr.st.Since,
		})
	case registry.StateUp:
		a.resolve(ctx, checkFingerprint(c.ID), tr.st.Message)
	}
}

// describe says what a check probes.
func describe(c registry.Check) string {
	switch c.Kind {
	case registry.CheckHTTP:
		return "HTTP " + c.URL
	case registry.CheckDNS:
		return fmt.Sprintf("DNS %s %s at %s", c.QueryName, c.QueryType, c.Address)
	case registry.CheckPush:
		return "push heartbeat"
	}
	return strings.ToUpper(string(c.Kind)) + " " + c.Address
}

// raise opens an alert unless one with its fingerprint is firing, and
// tells the first level unless it is muted.
func (a *alerter) raise(ctx context.Context, al registry.Alert) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if old, ok := a.open[al.Fingerprint]; ok {
		if old.Summary != al.Summary && al.Summary != "" {
			old.Summary = al.Summary
			a.save(ctx, old)
		}
		return
	}
	now := a.m.now()
	if al.StartedAt.IsZero() {
		al.StartedAt = now
	}
	al.Muted = a.mutedReason(&al, a.silences(ctx), a.maintenance(now), now)
	if err := a.m.opt.Registry.RaiseAlert(ctx, &al); err != nil {
		if errors.Is(err, registry.ErrConflict) {
			// Another instance raised it first.
			return
		}
		a.m.log.Error("monitor: raise alert", "alert", al.Name, "err", err)
		return
	}
	a.open[al.Fingerprint] = &al
	a.m.log.Warn("monitor: alert", "id", al.ID, "name", al.Name, "severity", al.Severity, "muted", al.Muted)
	if al.Muted == "" {
		a.notify(ctx, &al, 0, 0, "FIRING")
		a.save(ctx, &al)
	}
}

// resolve closes a firing alert, telling those who were told it fired.
func (a *alerter) resolve(ctx context.Context, fingerprint, why string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	al, ok := a.open[fingerprint]
	if !ok {
		return
	}
	now := a.m.now()
	al.State, al.ResolvedAt = registry.AlertResolved, &now
	if why != "" {
		al.Summary = strings.TrimSpace(al.Summary + " — resolved: " + why)
	}
	if al.Notifications > 0 {
		a.notify(ctx, al, 0, al.Level, "RESOLVED")
	}
	a.save(ctx, al)
	delete(a.open, fingerprint)
}

func (a *alerter) save(ctx context.Context, al *registry.Alert) {
	if err := a.m.opt.Registry.SaveAlert(ctx, al); err != nil {
		a.m.log.Error("monitor: save alert", "id", al.ID, "err", err)
	}
}

func (a *alerter) silences(ctx context.Context) []registry.Silence {
	var out []registry.Silence
	err := a.m.opt.Registry.Read(ctx, func(r registry.Reader) error {
		var err error
		out, err = r.ListSilences(ctx)
		return err
	})
	if err != nil {
		a.m.log.Warn("monitor: read silences", "err", err)
	}
	return out
}

// evaluate rereads the firing alerts and sends what is due: the first
// notification of an alert no longer muted, escalation, repeats.
func (a *alerter) evaluate(ctx context.Context) {
	var firing []registry.Alert
	err := a.m.opt.Registry.Read(ctx, func(r registry.Reader) error {
		var err error
		firing, err = r.ListAlerts(ctx, registry.AlertFilter{State: registry.AlertFiring})
		return err
	})
	if err != nil {
		a.m.log.Warn("monitor: read alerts", "err", err)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.open = map[string]*registry.Alert{}
	for i := range firing {
		a.open[firing[i].Fingerprint] = &firing[i]
	}
	now := a.m.now()
	if len(firing) == 0 {
		return
	}
	silences, maint := a.silences(ctx), a.maintenance(now)
	for _, al := range firing {
		al := a.open[al.Fingerprint]
		changed := false
		if muted := a.mutedReason(al, silences, maint, now); muted != al.Muted {
			al.Muted, changed = muted, true
		}
		if al.Muted == "" && al.AckedAt == nil {
			route := a.route(al)
			level := reached(route, now.Sub(al.StartedAt))
			switch {
			case al.Notifications == 0:
				a.notify(ctx, al, 0, level, "FIRING")
				al.Level, changed = level, true
			case level > al.Level:
				a.notify(ctx, al, al.Level+1, level, "ESCALATED")
				al.Level, changed = level, true
			case route != nil && route.Repeat.Duration > 0 && al.NotifiedAt != nil && !now.Before(al.NotifiedAt.Add(route.Repeat.Duration)):
				a.notify(ctx, al, 0, al.Level, "REPEAT")
				changed = true
			}
		}
		if changed {
			a.save(ctx, al)
		}
	}
}

// reached is the escalation level an alert reaches after firing for d.
func reached(route *config.AlertRoute, d time.Duration) int {
	if route == nil {
		return 0
	}
	level := 0
	for i, l := range route.Levels {
		if d >= l.After.Duration {
			level = i
		}
	}
	return level
}

// route is the first configured route matching the alert, or nil.
func (a *alerter) route(al *registry.Alert) *config.AlertRoute {
	tags := strings.Split(al.Labels["tags"], ",")
	for i := range a.m.opt.Config.Routes {
		r := &a.m.opt.Config.Routes[i]
		if len(r.Severities) > 0 && !slices.Contains(r.Severities, al.Severity) {
			continue
		}
		if len(r.Tags) > 0 && !slices.ContainsFunc(r.Tags, func(t string) bool { return slices.Contains(tags, t) }) {
			continue
		}
		ok := true
		for k, v := range r.Labels {
			if al.Labels[k] != v {
				ok = false
			}
		}
		if ok {
			return r
		}
	}
	return nil
}

// notify sends the alert to the channels of levels from..to of its
// route, each channel once.
func (a *alerter) notify(ctx context.Context, al *registry.Alert, from, to int, what string) {
	now := a.m.now()
	route := a.route(al)
	var channels []string
	if route != nil {
		for i := from; i <= to && i < len(route.Levels); i++ {
			for _, ch := range route.Levels[i].Channels {
				if !slices.Contains(channels, ch) {
					channels = append(channels, ch)
				}
			}
		}
	}
	al.NotifiedAt = &now
	al.Notifications++
	if len(channels) == 0 {
		a.m.log.Warn("monitor: no route for alert: nobody told", "alert", al.Name, "severity", al.Severity, "what", what)
		return
	}
	msg := a.message(al, what)
	for _, ch := range channels {
		err := errors.New("no notifier configured")
		if a.m.opt.Notifier != nil {
			err = a.m.opt.Notifier.Notify(ctx, ch, msg)
		}
		outcome := "sent"
		if err != nil {
			outcome = "failed"
			a.m.log.Error("monitor: notify", "channel", ch, "alert", al.Name, "err", err)
		}
		a.sent[[2]string{ch, outcome}]++
	}
}

func (a *alerter) message(al *registry.Alert, what string) Message {
	var b strings.Builder
	state := "is failing"
	switch what {
	case "RESOLVED":
		state = "is resolved"
	case "ACKNOWLEDGED":
		state = "was acknowledged by " + al.AckedBy
	}
	fmt.Fprintf(&b, "%s %s (%s, since %s).\n", al.Name, state, al.Severity, al.StartedAt.UTC().Format("2006-01-02 15:04 MST"))
	if al.Summary != "" {
		fmt.Fprintf(&b, "\n%s\n", al.Summary)
	}
	if t := al.Labels["target"]; t != "" {
		fmt.Fprintf(&b, "On: %s\n", t)
	}
	if what == "ESCALATED" {
		fmt.Fprintf(&b, "\nNobody acknowledged it: escalated to level %d.\n", al.Level+1)
	}
	link := ""
	if what == "FIRING" || what == "ESCALATED" || what == "REPEAT" {
		link = a.m.AckLink(al.ID)
	}
	if link != "" {
		fmt.Fprintf(&b, "\nAcknowledge: %s\n", link)
	}
	fmt.Fprintf(&b, "\nAlert %d; maillon alert ack %d\n", al.ID, al.ID)
	return Message{
		Subject:  fmt.Sprintf("[%s] %s (%s)", what, al.Name, al.Severity),
		Text:     b.String(),
		Severity: al.Severity,
		URL:      link,
		Headers:  map[string]string{"X-Maillon-Alert": strconv.FormatInt(al.ID, 10)},
	}
}

// mutedReason says why an alert is not to be notified: a silence, a
// maintenance window, or (for Alertmanager alerts) a check it depends on
// that is down. "" means notify.
func (a *alerter) maintenance(now time.Time) []MutedTarget {
	if a.m.opt.Maintenance == nil {
		return nil
	}
	return a.m.opt.Maintenance.ActiveAt(now)
}

func (a *alerter) mutedReason(al *registry.Alert, silences []registry.Silence, maint []MutedTarget, now time.Time) string {
	for _, s := range silences {
		if s.ActiveAt(now) && silenceMatches(&s, al) {
			why := fmt.Sprintf("silence %d", s.ID)
			if s.Comment != "" {
				why += " (" + s.Comment + ")"
			}
			return why
		}
	}
	if why := a.m.inMaintenance(al, maint); why != "" {
		return why
	}
	if al.Source == registry.SourceAlertmanager {
		if why := a.m.amDependency(al.Labels); why != "" {
			return why
		}
	}
	return ""
}

// silenceMatches says whether every matcher of a silence matches; values
// may be shell patterns (web*).
func silenceMatches(s *registry.Silence, al *registry.Alert) bool {
	for _, m := range s.Matchers {
		k, v, _ := strings.Cut(m, "=")
		var got []string
		switch k {
		case "tag":
			got = strings.Split(al.Labels["tags"], ",")
		case "alertname", "name":
			got = []string{al.Name, al.Labels["alertname"]}
		case "severity":
			got = []string{al.Severity}
		case "check":
			got = []string{al.Labels["check"]}
		default:
			got = []string{al.Labels[k]}
		}
		if !slices.ContainsFunc(got, func(g string) bool {
			ok, _ := path.Match(v, g)
			return g != "" && (ok || g == v)
		}) {
			return false
		}
	}
	return len(s.Matchers) > 0
}

// AckLink is the signed link that acknowledges an alert, or "" without
// monitor.public_url.
func (m *Monitor) AckLink(id int64) string {
	if m.opt.Config.PublicURL == "" || len(m.opt.LinkKey) == 0 {
		return ""
	}
	return fmt.Sprintf("%s/alerts/%d/ack?sig=%s", m.opt.Config.PublicURL, id, m.ackSignature(id))
}

func (m *Monitor) ackSignature(id int64) string {
	mac := hmac.New(sha256.New, m.opt.LinkKey)
	fmt.Fprintf(mac, "maillon alert ack %d", id)
	return hex.EncodeToString(mac.Sum(nil))
}

// Ack acknowledges an alert: no more repeats nor escalation, and those
// told are told who took it.
func (m *Monitor) Ack(ctx context.Context, actor registry.Actor, id int64) (registry.Alert, error) {
	a := m.alerts
	a.mu.Lock()
	defer a.mu.Unlock()
	al, err := m.opt.Registry.AckAlert(ctx, actor, id)
	if err != nil {
		return al, err
	}
	if open, ok := a.open[al.Fingerprint]; ok && open.ID == al.ID {
		*open = al
	}
	if al.Notifications > 0 {
		a.notify(ctx, &al, 0, al.Level, "ACKNOWLEDGED")
		a.save(ctx, &al)
	}
	return al, nil
}

// Firing lists the firing alerts (for the status page and the API).
func (m *Monitor) Firing() []registry.Alert {
	a := m.alerts
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]registry.Alert, 0, len(a.open))
	for _, al := range a.open {
		out = append(out, *al)
	}
	slices.SortFunc(out, func(x, y registry.Alert) int { return int(x.ID - y.ID) })
	return out
}
