package radius

import (
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Drop reasons (label values of maillon_radius_drops_total).
const (
	dropUnknownClient  = "unknown_client"
	dropMalformed      = "malformed"
	dropBadCode        = "bad_code"
	dropBadMA          = "bad_message_authenticator"
	dropMissingMA      = "missing_message_authenticator"
	dropBadAuth        = "bad_request_authenticator"
	dropOverload       = "overload"
	dropInFlight       = "in_flight"
	dropNoSnapshot     = "no_snapshot"
	dropNoAccounting   = "no_accounting_store"
	dropEncode         = "reply_too_large"
	dropWrite          = "write_error"
	dropAcctNotDurable = "accounting_not_durable"
)

var dropReasons = []string{
	dropUnknownClient, dropMalformed, dropBadCode, dropBadMA, dropMissingMA,
	dropBadAuth, dropOverload, dropInFlight, dropNoSnapshot, dropNoAccounting,
	dropEncode, dropWrite, dropAcctNotDurable,
}

type statKey struct {
	code  Code
	label string
}

type metrics struct {
	requests *prometheus.CounterVec
	drops    map[string]prometheus.Counter
	latency  map[Code]prometheus.Observer
	batch    prometheus.Observer
	spooled  prometheus.Gauge
	commits  *prometheus.CounterVec
	change   *prometheus.CounterVec

	mu  sync.RWMutex
	nas map[string]map[statKey]prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, queueLen func() float64, cacheLen func() float64) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "maillon", Subsystem: "radius", Name: "requests_total",
			Help: "RADIUS requests answered, by request code, NAS and result.",
		}, []string{"code", "nas", "result"}),
		drops:   map[string]prometheus.Counter{},
		latency: map[Code]prometheus.Observer{},
		nas:     map[string]map[statKey]prometheus.Counter{},
	}
	drops := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "maillon", Subsystem: "radius", Name: "drops_total",
		Help: "RADIUS packets dropped without an answer, by reason.",
	}, []string{"reason"})
	for _, r := range dropReasons {
		m.drops[r] = drops.WithLabelValues(r)
	}
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "maillon", Subsystem: "radius", Name: "request_duration_seconds",
		Help:    "Time from receiving a RADIUS request to sending its answer.",
		Buckets: []float64{.0001, .00025, .0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1},
	}, []string{"code"})
	for _, c := range []Code{CodeAccessRequest, CodeStatusServer, CodeAccountingRequest} {
		m.latency[c] = latency.WithLabelValues(c.String())
	}
	batch := prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "maillon", Subsystem: "radius", Name: "accounting_batch_size",
		Help:    "Accounting records per group commit.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 12),
	})
	m.batch = batch
	m.commits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "maillon", Subsystem: "radius", Name: "accounting_commits_total",
		Help: "Accounting group commits, by destination (store, spool) and result.",
	}, []string{"dest", "result"})
	m.change = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "maillon", Subsystem: "radius", Name: "change_requests_total",
		Help: "Disconnect and CoA requests sent, by NAS, kind and result (ack, nak, timeout, error).",
	}, []string{"nas", "kind", "result"})
	m.spooled = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "maillon", Subsystem: "radius", Name: "accounting_spooled_records",
		Help: "Accounting records in the local spool, waiting for the store.",
	})
	queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "maillon", Subsystem: "radius", Name: "queue_length",
		Help: "Requests waiting for a worker.",
	}, queueLen)
	cache := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "maillon", Subsystem: "radius", Name: "reply_cache_entries",
		Help: "Replies kept for retransmissions.",
	}, cacheLen)
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, drops, latency, batch, m.commits, m.change, m.spooled, queue, cache} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("radius: registering metrics: %w", err)
			}
		}
	}
	return m, nil
}

func (m *metrics) drop(reason string) { m.drops[reason].Inc() }

// request counts an answered request. Counters are cached per NAS so the
// hot path does no label hashing or allocation after the first request.
func (m *metrics) request(code Code, nas, label string) {
	k := statKey{code, label}
	m.mu.RLock()
	c, ok := m.nas[nas][k]
	m.mu.RUnlock()
	if !ok {
		c = m.requests.WithLabelValues(code.String(), nas, label)
		m.mu.Lock()
		if m.nas[nas] == nil {
			m.nas[nas] = map[statKey]prometheus.Counter{}
		}
		m.nas[nas][k] = c
		m.mu.Unlock()
	}
	c.Inc()
}
