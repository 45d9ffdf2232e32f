package monitor

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"maillon/internal/registry"
)

// pushResult is a push check's state: up if called within its period
// plus grace, and the last call did not report a failure.
func (m *Monitor) pushResult(r *run) result {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if end := r.lastPush.Add(r.check.Interval() + r.check.Timeout()); now.After(end) {
		return fail("no call since %s (period %s)", r.lastPush.Format("2006-01-02 15:04:05Z"), r.check.Interval())
	}
	if r.pushFailure != "" {
		return fail("%s", r.pushFailure)
	}
	if !r.called {
		return result{none: true}
	}
	return result{ok: true, msg: "called at " + r.lastPush.Format("2006-01-02 15:04:05Z")}
}

// Push records a call of a push check's URL; ok false (status=down)
// reports a failure. It returns the check's name.
func (m *Monitor) Push(ctx context.Context, token string, ok bool, msg string) (string, error) {
	hash := registry.HashPushToken(token)
	m.mu.Lock()
	r := m.pushRun(hash)
	if r == nil {
		m.mu.Unlock()
		// The check may be newer than the monitor's last load: the URL
		// works as soon as `check add` prints it. Only a token the
		// registry knows costs a reload, so random tokens cannot force one.
		if !m.knowsPushToken(ctx, hash) {
			return "", registry.NotFound("push check", "with this token")
		}
		if err := m.Load(ctx); err != nil {
			return "", err
		}
		m.mu.Lock()
		if r = m.pushRun(hash); r == nil {
			m.mu.Unlock()
			return "", registry.NotFound("push check", "with this token")
		}
	}
	now := m.now()
	r.lastPush, r.pushFailure, r.called = now, "", true
	if !ok {
		r.pushFailure = "reported down"
		if msg != "" {
			r.pushFailure += ": " + msg
		}
	}
	r.next = now.Add(r.check.Interval() + r.check.Timeout())
	name := r.check.Name
	m.mu.Unlock()
	m.probeAndApply(ctx, r, nil, -1)
	return name, nil
}

// pushRun is the enabled push check with this token hash, or nil; m.mu is
// held.
func (m *Monitor) pushRun(hash string) *run {
	id, found := m.byToken[hash]
	if r := m.runs[id]; found && r != nil && r.check.Enabled {
		return r
	}
	return nil
}

// knowsPushToken reports whether the registry has a check with this token.
func (m *Monitor) knowsPushToken(ctx context.Context, hash string) bool {
	return m.opt.Registry.Read(ctx, func(r registry.Reader) error {
		_, err := r.GetCheckByPushToken(ctx, hash)
		return err
	}) == nil
}

// PushHandler serves /push/{token}: GET or POST, with ?status=down (or
// fail, error) and &msg= to report a failure. The token is the only
// credential, as with Uptime Kuma or healthchecks.io, so that a cron line
// or a device can call it with curl or wget.
func (m *Monitor) PushHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost && r.Method != http.MethodHead {
			http.Error(w, "GET or POST", http.StatusMethodNotAllowed)
			return
		}
		q := r.URL.Query()
		ok := true
		switch strings.ToLower(q.Get("status")) {
		case "", "up", "ok", "0":
		case "down", "fail", "failure", "error":
			ok = false
		default:
			http.Error(w, fmt.Sprintf("status=%q is not up or down", q.Get("status")), http.StatusBadRequest)
			return
		}
		msg := q.Get("msg")
		if len(msg) > 500 {
			msg = msg[:500]
		}
		if _, err := m.Push(r.Context(), r.PathValue("token"), ok, msg); err != nil {
			http.Error(w, "unknown push token", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
}
