// Package web serves maillon over HTTP: the JSON API under /api/v1/, its
// OpenAPI description, /healthz, /metrics and the browser interface (see
// ui.go). One handler per file; the registry is reached through the
// narrow Registry interface below.
package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"maillon/internal/config"
	"maillon/internal/registry"
)

// Registry is what the web layer needs from the registry service.
type Registry interface {
	Read(ctx context.Context, fn func(registry.Reader) error) error
	FindMember(ctx context.Context, ref string) (registry.Member, error)
	FindSubscription(ctx context.Context, ref string) (registry.Subscription, error)
	Authenticate(ctx context.Context, token string) (registry.Admin, error)
	Audit(ctx context.Context, f registry.AuditFilter) ([]registry.AuditEntry, error)
	Now() time.Time

	CreateMember(context.Context, registry.Actor, registry.MemberInput) (registry.Member, error)
	UpdateMember(context.Context, registry.Actor, int64, registry.MemberInput) (registry.Member, error)
	DeleteMember(context.Context, registry.Actor, int64) error
	CreateSubscription(context.Context, registry.Actor, registry.SubscriptionInput) (registry.Subscription, error)
	UpdateSubscription(context.Context, registry.Actor, int64, registry.SubscriptionInput) (registry.Subscription, error)
	ChangeSubscription(context.Context, registry.Actor, int64, registry.SubscriptionInput) (before, after registry.Subscription, err error)
	DeleteSubscription(context.Context, registry.Actor, int64) error
	CreatePrefix(context.Context, registry.Actor, registry.PrefixInput) (registry.Prefix, error)
	UpdatePrefix(context.Context, registry.Actor, int64, registry.PrefixInput) (registry.Prefix, error)
	DeletePrefix(context.Context, registry.Actor, int64) error
	CreateNAS(context.Context, registry.Actor, registry.NASInput) (registry.NAS, error)
	UpdateNAS(context.Context, registry.Actor, int64, registry.NASInput) (registry.NAS, error)
	DeleteNAS(context.Context, registry.Actor, int64) error
	CreateSite(context.Context, registry.Actor, registry.SiteInput) (registry.Site, error)
	UpdateSite(context.Context, registry.Actor, int64, registry.SiteInput) (registry.Site, error)
	DeleteSite(context.Context, registry.Actor, int64) error
	CreateHost(context.Context, registry.Actor, registry.HostInput) (registry.Host, error)
	UpdateHost(context.Context, registry.Actor, int64, registry.HostInput) (registry.Host, error)
	DeleteHost(context.Context, registry.Actor, int64) error
	CreatePort(context.Context, registry.Actor, registry.PortInput) (registry.Port, error)
	UpdatePort(context.Context, registry.Actor, int64, registry.PortInput) (registry.Port, error)
	DeletePort(context.Context, registry.Actor, int64) error
	CreateCPE(context.Context, registry.Actor, registry.CPEInput) (registry.CPE, error)
	UpdateCPE(context.Context, registry.Actor, int64, registry.CPEInput) (registry.CPE, error)
	DeleteCPE(context.Context, registry.Actor, int64) error
	CreateAdmin(context.Context, registry.Actor, registry.AdminInput) (registry.Admin, error)
	UpdateAdmin(context.Context, registry.Actor, int64, registry.AdminInput) (registry.Admin, error)
	DeleteAdmin(context.Context, registry.Actor, int64) error
	CreateZone(context.Context, registry.Actor, registry.ZoneInput) (registry.Zone, error)
	UpdateZone(context.Context, registry.Actor, int64, registry.ZoneInput) (registry.Zone, error)
	DeleteZone(context.Context, registry.Actor, int64) error
	CreateRecord(context.Context, registry.Actor, registry.RecordInput) (registry.Record, error)
	UpdateRecord(context.Context, registry.Actor, int64, registry.RecordInput) (registry.Record, error)
	DeleteRecord(context.Context, registry.Actor, int64) error
	SetReverseName(ctx context.Context, a registry.Actor, addr netip.Addr, name string) (registry.Allocation, error)
	CreateToken(ctx context.Context, a registry.Actor, adminID int64, name string, ttl time.Duration) (string, registry.Token, error)
	RevokeToken(ctx context.Context, a registry.Actor, id int64) error

	uiRegistry
	passwordRegistry
	memberRegistry
}

// Importer loads a CSV file of the given kind ("members",
// "subscriptions") all or nothing, reporting progress.
type Importer func(ctx context.Context, kind string, actor registry.Actor, r io.Reader, progress func(done, total int)) (int, error)

// Options wires a Server.
type Options struct {
	Registry Registry
	Importer Importer
	// Accounting serves sessions and usage; nil leaves those routes out.
	Accounting Accounting
	// DNS serves zone exports and push diffs; nil leaves them out.
	DNS DNS
	// CA serves the SSH certificate authority; nil leaves it out.
	CA CA
	// Status serves the status page's components, incidents and
	// maintenance; nil leaves them out.
	Status StatusAdmin
	// Journal serves the interventions journal and the agents' reports;
	// nil leaves them out.
	Journal Journal
	// Roster serves the roster renewal and its link page; nil leaves it out.
	Roster Roster
	// Monitor serves checks, alerts and silences; nil leaves them out.
	Monitor Monitoring
	// Mount attaches handlers of other subsystems (status page, monitoring
	// intake, ...) by ServeMux pattern; web never imports those packages,
	// app composes them here. Each handler does its own authentication.
	Mount map[string]http.Handler
	// Mailer sends members their login links; nil turns that login off.
	Mailer Mailer
	// MemberNotices lists the maintenance and incidents that affect a
	// member, for their page; nil leaves that section out.
	MemberNotices MemberNotices
	// Disconnect sends a RADIUS Disconnect-Request for each open session
	// of a line an edit took out of service, and returns the NASes'
	// answers; nil sends nothing.
	Disconnect func(ctx context.Context, sub registry.Subscription) ([]registry.Disconnect, error)
	// Health reports whether the daemon can serve (database reachable).
	Health  func(ctx context.Context) error
	Metrics *prometheus.Registry
	Logger  *slog.Logger
	Version string
	// Web configures the browser interface (sessions, single sign-on);
	// nil takes the defaults.
	Web *config.Web
	// Now is the clock of sessions and pages; nil is the registry's.
	Now func() time.Time
}

// Server is the HTTP front of the daemon.
type Server struct {
	opt     Options
	mux     *http.ServeMux
	api     *apiDoc
	reqs    *prometheus.CounterVec
	latency *prometheus.HistogramVec

	// The browser interface (ui.go).
	tmpl         *templates
	cop          *http.CrossOriginProtection
	proxies      []netip.Prefix
	loginLimiter *loginLimiter
	hashSlots    chan struct{}
	oidc         *oidcLogin
	entities     map[string]*uiEntity
}

// New builds the handler tree.
func New(opt Options) *Server {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Metrics == nil {
		opt.Metrics = prometheus.NewRegistry()
	}
	s := &Server{opt: opt, mux: http.NewServeMux(), api: newAPIDoc(opt.Version)}
	s.reqs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "maillon_http_requests_total", Help: "HTTP requests by route, method and status code.",
	}, []string{"route", "method", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "maillon_http_request_duration_seconds", Help: "HTTP request latency by route.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5},
	}, []string{"route"})
	opt.Metrics.MustRegister(s.reqs, s.latency)

	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.Handle("GET /metrics", s.metricsGate(promhttp.HandlerFor(opt.Metrics, promhttp.HandlerOpts{})))
	s.mux.HandleFunc("GET /api/v1/openapi.json", s.openAPI)
	s.routes()
	s.statusRoutes()
	s.hashSlots = make(chan struct{}, 2)
	s.uiSetup()
	s.rosterRoutes()
	for pattern, h := range opt.Mount {
		s.mux.Handle(pattern, h)
	}
	return s
}

// ServeHTTP logs, measures and dispatches a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	r, line := withLogLine(r)
	s.mux.ServeHTTP(rec, r)
	route := r.Pattern
	if route == "" {
		route = "unmatched"
	}
	s.reqs.WithLabelValues(route, r.Method, http.StatusText(rec.status)).Inc()
	s.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
	path := r.URL.Path
	if strings.Contains(route, "{token}") {
		path = route // a mailed link's token stays out of the log
	}
	s.opt.Logger.Debug("http", "method", r.Method, "path", path, "status", rec.status,
		"duration", time.Since(start), "actor", line.actor)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Flush lets the import stream its progress through the recorder.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if s.opt.Health != nil {
		if err := s.opt.Health(r.Context()); err != nil {
			s.opt.Logger.Warn("health check failed", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": "database unreachable"})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
