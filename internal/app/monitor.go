package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"maillon/internal/monitor"
	"maillon/internal/notify"
	"maillon/internal/registry"
	"maillon/internal/status"
)

// monitorService joins the registry's check, alert and silence records
// with the running monitor, for the web layer.
type monitorService struct {
	*registry.Service
	mon       *monitor.Monitor
	publicURL string
}

func (m monitorService) StateOf(id int64) (registry.CheckState, bool) { return m.mon.StateOf(id) }

func (m monitorService) Ack(ctx context.Context, a registry.Actor, id int64) (registry.Alert, error) {
	return m.mon.Ack(ctx, a, id)
}

// PushURL is where a push check is called; a relative path when
// monitor.public_url is not set.
func (m monitorService) PushURL(token string) string { return m.publicURL + "/push/" + token }

// notifier sends monitor messages through notify's named channels.
type notifier struct{ n *notify.Notifier }

func (n notifier) Notify(ctx context.Context, channel string, m monitor.Message) error {
	ch, ok := n.n.Channel(channel)
	if !ok {
		return fmt.Errorf("no notify channel %q", channel)
	}
	return ch.Send(ctx, notify.Message{Subject: m.Subject, Text: m.Text, Severity: m.Severity, URL: m.URL, Headers: m.Headers})
}

// maintenanceOf gives the monitor the status page's maintenance windows.
type maintenanceOf struct{ a *App }

func (m maintenanceOf) ActiveAt(t time.Time) []monitor.MutedTarget { return m.a.MaintenanceAt(t) }

// monitorClock runs the monitor on the daemon's clock (simulated in tests).
type monitorClock struct{ c Clock }

func (m monitorClock) Now() time.Time                         { return m.c.Now() }
func (m monitorClock) After(d time.Duration) <-chan time.Time { return m.c.Until(m.c.Now().Add(d)) }

// newMonitor builds the monitor; every channel an alert route names must
// exist in notify.channels.
func (a *App) newMonitor(key []byte) (*monitor.Monitor, error) {
	have := a.notify.Channels()
	for _, r := range a.cfg.Monitor.Routes {
		for _, l := range r.Levels {
			for _, ch := range l.Channels {
				if !slices.Contains(have, ch) {
					return nil, fmt.Errorf("monitor.routes: channel %q is not in notify.channels (%s)", ch, strings.Join(have, ", "))
				}
			}
		}
	}
	if len(a.cfg.Monitor.Routes) == 0 {
		a.log.Warn("monitor: no alert routes (monitor.routes): alerts are recorded and logged, nobody is told")
	}
	// Acknowledgement links are signed with a key derived from the secret
	// key, so that they survive restarts and work on every instance.
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("maillon monitor acknowledgement links"))
	mon := monitor.New(monitor.Options{
		Registry: a.reg, Notifier: notifier{a.notify}, Maintenance: maintenanceOf{a}, Config: a.cfg.Monitor,
		LinkKey: mac.Sum(nil), Logger: a.log, Clock: monitorClock{a.clock}, Spread: true,
	})
	a.metrics.MustRegister(mon)
	if a.status != nil {
		a.status.SetStates(componentStates{mon})
	}
	return mon, nil
}

// monitorMounts are the monitor's public endpoints, each authenticated on
// its own: push URLs by their token, ack links by their signature, the
// Alertmanager webhook by monitor.alertmanager.token.
func monitorMounts(mon *monitor.Monitor) map[string]http.Handler {
	return map[string]http.Handler{
		"/push/{token}":             mon.PushHandler(),
		"/alerts/{id}/ack":          mon.AckHandler(),
		"POST /api/v1/alertmanager": mon.AlertmanagerHandler(),
	}
}

// runMonitor runs the checks until ctx ends, reloading them when the
// registry changes.
func (a *App) runMonitor(ctx context.Context) error {
	events, cancel := a.reg.Events().Subscribe()
	defer cancel()
	return a.mon.Run(ctx, events)
}

// Monitor is the running monitor (tests drive it).
func (a *App) Monitor() *monitor.Monitor { return a.mon }

// componentStates gives the status page what the checks watching each
// component's targets measure.
type componentStates struct{ mon *monitor.Monitor }

func (c componentStates) ComponentState(_ context.Context, comp registry.Component) (status.State, bool, error) {
	h := c.mon.HealthOf(comp.Targets)
	switch {
	case h.Checks == 0:
		return "", false, nil
	case h.Failing == h.Checks:
		return status.Major, true, nil
	case h.Failing > 0:
		return status.Partial, true, nil
	case h.Pending > 0:
		return status.Degraded, true, nil
	}
	return status.Operational, true, nil
}

func (c componentStates) DailyUptime(ctx context.Context, comp registry.Component, days int) ([]float64, error) {
	return c.mon.DailyUptime(ctx, comp.Targets, days)
}
