package monitor

import (
	"github.com/prometheus/client_golang/prometheus"

	"maillon/internal/registry"
)

var (
	descUp = prometheus.NewDesc("maillon_check_up", "1 if the check's last probe succeeded, 0 if not (absent before its first probe).",
		[]string{"check", "kind", "target"}, nil)
	descState = prometheus.NewDesc("maillon_check_state", "1 for the check's current state (up, pending, down, unreachable, unknown, paused).",
		[]string{"check", "state"}, nil)
	descLatency = prometheus.NewDesc("maillon_check_latency_seconds", "Duration of the check's last probe.",
		[]string{"check"}, nil)
	descLastRun = prometheus.NewDesc("maillon_check_last_run_timestamp_seconds", "When the check was last probed.",
		[]string{"check"}, nil)
	descCert = prometheus.NewDesc("maillon_check_cert_expiry_timestamp_seconds", "When the certificate an https check saw expires.",
		[]string{"check"}, nil)
	descFiring = prometheus.NewDesc("maillon_alerts_firing", "Firing alerts by severity and whether they are acknowledged or muted.",
		[]string{"severity", "status"}, nil)
	descSent = prometheus.NewDesc("maillon_alert_notifications_total", "Alert notifications by channel and outcome.",
		[]string{"channel", "outcome"}, nil)
)

var states = []string{registry.StateUp, registry.StatePending, registry.StateDown, registry.StateUnreachable, registry.StateUnknown, registry.StatePaused}

// Describe implements prometheus.Collector.
func (m *Monitor) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUp, descState, descLatency, descLastRun, descCert, descFiring, descSent} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *Monitor) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	for _, r := range m.runs {
		name := r.check.Name
		for _, s := range states {
			v := 0.0
			if r.st.State == s {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(descState, prometheus.GaugeValue, v, name, s)
		}
		if r.lastRun.IsZero() {
			continue
		}
		up := 0.0
		if r.lastOK {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, up, name, string(r.check.Kind), m.objects.name(r.check))
		ch <- prometheus.MustNewConstMetric(descLatency, prometheus.GaugeValue, r.latency.Seconds(), name)
		ch <- prometheus.MustNewConstMetric(descLastRun, prometheus.GaugeValue, float64(r.lastRun.UnixMilli())/1000, name)
		if !r.certExpiry.IsZero() {
			ch <- prometheus.MustNewConstMetric(descCert, prometheus.GaugeValue, float64(r.certExpiry.Unix()), name)
		}
	}
	m.mu.Unlock()
	a := m.alerts
	a.mu.Lock()
	defer a.mu.Unlock()
	firing := map[[2]string]float64{}
	for _, sev := range []string{registry.SeverityInfo, registry.SeverityWarning, registry.SeverityCritical} {
		for _, st := range []string{"open", "acknowledged", "muted"} {
			firing[[2]string{sev, st}] = 0
		}
	}
	for _, al := range a.open {
		st := "open"
		switch {
		case al.AckedAt != nil:
			st = "acknowledged"
		case al.Muted != "":
			st = "muted"
		}
		firing[[2]string{al.Severity, st}]++
	}
	for k, v := range firing {
		ch <- prometheus.MustNewConstMetric(descFiring, prometheus.GaugeValue, v, k[0], k[1])
	}
	for k, v := range a.sent {
		ch <- prometheus.MustNewConstMetric(descSent, prometheus.CounterValue, v, k[0], k[1])
	}
}
