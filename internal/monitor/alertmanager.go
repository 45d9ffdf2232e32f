package monitor

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"maillon/internal/registry"
)

// AMPayload is the body of Alertmanager's webhook (version 4).
type AMPayload struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []AMAlert         `json:"alerts"`
}

// AMAlert is one alert of the payload.
type AMAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// maxAMBody bounds what the intake reads: Alertmanager batches alerts,
// but a megabyte is thousands of them.
const maxAMBody = 1 << 20

// ParseAMPayload reads and checks a webhook body.
func ParseAMPayload(b []byte) (*AMPayload, error) {
	if len(b) > maxAMBody {
		return nil, fmt.Errorf("payload of %d bytes is over %d", len(b), maxAMBody)
	}
	var p AMPayload
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("not an Alertmanager webhook payload: %w", err)
	}
	if p.Version != "4" {
		return nil, fmt.Errorf("payload version %q: only version 4 is understood", p.Version)
	}
	for i := range p.Alerts {
		a := &p.Alerts[i]
		switch a.Status {
		case "firing", "resolved":
		default:
			return nil, fmt.Errorf("alert %d: status %q is not firing or resolved", i, a.Status)
		}
		if strings.TrimSpace(a.Labels["alertname"]) == "" {
			return nil, fmt.Errorf("alert %d: no alertname label", i)
		}
		if a.Fingerprint == "" {
			a.Fingerprint = labelsFingerprint(a.Labels)
		}
	}
	return &p, nil
}

// labelsFingerprint identifies an alert by its labels when Alertmanager
// did not say.
func labelsFingerprint(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s\x00%s\x00", k, labels[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// amSeverity maps the usual severity labels to maillon's three.
func amSeverity(s string) string {
	switch strings.ToLower(s) {
	case "critical", "page", "error", "high", "disaster":
		return registry.SeverityCritical
	case "info", "none", "low", "informational":
		return registry.SeverityInfo
	}
	return registry.SeverityWarning
}

// Intake turns a payload into alerts: firing ones raised (routed, muted,
// suppressed behind a failing check like the monitor's own), resolved
// ones resolved.
func (m *Monitor) Intake(ctx context.Context, p *AMPayload) (raised, resolved int) {
	for _, a := range p.Alerts {
		fp := "am:" + a.Fingerprint
		if a.Status == "resolved" {
			m.alerts.resolve(ctx, fp, "Alertmanager says resolved")
			resolved++
			continue
		}
		summary := a.Annotations["summary"]
		if d := a.Annotations["description"]; d != "" {
			summary = strings.TrimSpace(summary + "\n" + d)
		}
		if a.GeneratorURL != "" {
			summary = strings.TrimSpace(summary + "\n" + a.GeneratorURL)
		}
		labels := map[string]string{}
		for k, v := range a.Labels {
			labels[k] = v
		}
		start := a.StartsAt.UTC().Truncate(time.Microsecond)
		if start.IsZero() || start.After(m.now()) {
			start = m.now()
		}
		m.alerts.raise(ctx, registry.Alert{
			Fingerprint: fp, Source: registry.SourceAlertmanager, Name: a.Labels["alertname"],
			Severity: amSeverity(a.Labels["severity"]), Labels: labels, Summary: summary, StartedAt: start,
		})
		raised++
	}
	return raised, resolved
}

// AlertmanagerHandler serves Alertmanager's webhook. It answers 401
// without the configured token (bearer, or basic auth password), 400 on
// a body it cannot read, and 200 once the alerts are recorded.
func (m *Monitor) AlertmanagerHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := m.opt.Config.Alertmanager.Token
		if token == "" {
			http.Error(w, "the Alertmanager intake is not configured (monitor.alertmanager.token)", http.StatusNotFound)
			return
		}
		if !amAuthorized(r, token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="maillon", Basic realm="maillon"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, maxAMBody+1))
		if err != nil {
			http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
			return
		}
		p, err := ParseAMPayload(b)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		raised, resolved := m.Intake(r.Context(), p)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]int{"firing": raised, "resolved": resolved})
	})
}

func amAuthorized(r *http.Request, token string) bool {
	got := ""
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		got = strings.TrimSpace(t)
	} else if _, pw, ok := r.BasicAuth(); ok {
		got = pw
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

var errBadSignature = errors.New("this acknowledgement link is not valid")
