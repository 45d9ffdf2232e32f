package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"maillon/internal/config"
	"maillon/internal/registry"
	"maillon/internal/roster"
)

// schedulerInterval is how often the roster and the reminders look for
// due work: their dates are days apart, and a tick costs a few queries.
const schedulerInterval = time.Minute

// newRoster wires the roster renewal and the certificate reminders to the
// registry, the mailer and the CA's KRL.
func (a *App) newRoster() *roster.Service {
	cfg := a.cfg.Roster
	opt := roster.Options{
		Window:   cfg.Window.Duration,
		Reminder: a.cfg.CA.User.Reminder.Duration,
		Mail:     a.notify.Email(),
		MailOff:  !a.notify.EmailEnabled(),
		Revoked:  a.ca.writeKRL,
		Log:      a.log.With("subsystem", "roster"),
		LinkBase: a.rosterLinkBase,
	}
	if cfg.Renewal != "" {
		opt.Month, opt.Day, _ = config.ParseMonthDay(cfg.Renewal) // Validate checked it
	}
	for _, r := range cfg.Roles {
		opt.Roles = append(opt.Roles, registry.Role(r))
	}
	if opt.MailOff && (cfg.Renewal != "" || opt.Reminder > 0) {
		a.log.Info("roster renewal and certificate reminders wait for email (notify.email.smtp)")
	}
	if cfg.Renewal != "" && cfg.PublicURL == "" && a.cfg.Web.PublicURL == "" && a.cfg.CA.PublicURL == "" {
		a.log.Warn("roster links use the listen address: set web.public_url to where admins reach maillon", "listen", a.cfg.Listen.HTTP)
	}
	ro := roster.New(a.reg, opt)
	a.metrics.MustRegister(rosterMetrics{ro, a.log})
	return ro
}

// Roster metrics: who is still to answer and by when, so an alert can
// say "two technical officers lose their title tomorrow".
var (
	rosterRequestsDesc = prometheus.NewDesc("maillon_roster_requests",
		"Admins asked in the open roster campaign, by state (pending, kept, stepped-down, removed).", []string{"state"}, nil)
	rosterDeadlineDesc = prometheus.NewDesc("maillon_roster_deadline_timestamp_seconds",
		"When a pending admin of the open roster campaign loses their title (Unix time).", []string{"admin"}, nil)
)

type rosterMetrics struct {
	ro  *roster.Service
	log *slog.Logger
}

func (m rosterMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- rosterRequestsDesc
	ch <- rosterDeadlineDesc
}

func (m rosterMetrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	camp, err := m.ro.Status(ctx)
	if errors.Is(err, registry.ErrNotFound) {
		return
	}
	if err != nil {
		m.log.Warn("roster metrics unavailable", "err", err)
		ch <- prometheus.NewInvalidMetric(rosterRequestsDesc, err)
		return
	}
	if camp.State != registry.CampaignOpen {
		return
	}
	count := map[string]int{registry.RosterPending: 0, registry.RosterKept: 0, registry.RosterSteppedDown: 0, registry.RosterRemoved: 0}
	for _, r := range camp.Requests {
		count[r.State]++
		if r.State == registry.RosterPending && r.ExpiresAt != nil {
			ch <- prometheus.MustNewConstMetric(rosterDeadlineDesc, prometheus.GaugeValue, float64(r.ExpiresAt.Unix()), r.AdminName)
		}
	}
	for state, n := range count {
		ch <- prometheus.MustNewConstMetric(rosterRequestsDesc, prometheus.GaugeValue, float64(n), state)
	}
}

// rosterLinkBase is where the links of the mails point.
func (a *App) rosterLinkBase() string {
	switch {
	case a.cfg.Roster.PublicURL != "":
		return a.cfg.Roster.PublicURL
	case a.cfg.Web.PublicURL != "":
		return a.cfg.Web.PublicURL
	case a.cfg.CA.PublicURL != "":
		return a.cfg.CA.PublicURL
	}
	return "http://" + a.HTTPAddr()
}

// rosterWeb is the roster as the web layer sees it: a campaign started
// from the CLI has its mails sent at once, and the other admins hear of
// someone stepping down at once, rather than at the next tick.
type rosterWeb struct {
	*roster.Service
	kick func()
}

func (r rosterWeb) Start(ctx context.Context, a registry.Actor) (registry.RosterCampaign, error) {
	c, err := r.Service.Start(ctx, a)
	if err == nil {
		r.kick()
	}
	return c, err
}

func (r rosterWeb) Answer(ctx context.Context, a registry.Actor, adminID int64, keep bool) (registry.RosterRequest, error) {
	req, err := r.Service.Answer(ctx, a, adminID, keep)
	if err == nil && !keep {
		r.kick()
	}
	return req, err
}

func (r rosterWeb) AnswerToken(ctx context.Context, token string, keep bool) (registry.RosterRequest, error) {
	req, err := r.Service.AnswerToken(ctx, token, keep)
	if err == nil && !keep {
		r.kick()
	}
	return req, err
}
