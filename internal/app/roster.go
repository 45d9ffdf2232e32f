package app

import (
	"context"
	"time"

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
	if cfg.Renewal != "" && cfg.PublicURL == "" && a.cfg.CA.PublicURL == "" {
		a.log.Warn("roster links use the listen address: set roster.public_url to where admins reach maillon", "listen", a.cfg.Listen.HTTP)
	}
	return roster.New(a.reg, opt)
}

// rosterLinkBase is where the links of the mails point.
func (a *App) rosterLinkBase() string {
	switch {
	case a.cfg.Roster.PublicURL != "":
		return a.cfg.Roster.PublicURL
	case a.cfg.CA.PublicURL != "":
		return a.cfg.CA.PublicURL
	}
	return "http://" + a.HTTPAddr()
}

// rosterWeb is the roster as the web layer sees it: a campaign started
// from the CLI has its mails sent at once rather than at the next tick.
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
