package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"maps"
	"net/http"
	"time"

	"maillon/internal/registry"
	"maillon/internal/status"
)

// newStatus builds the public status page and its emails on the registry
// and the mailer. Monitoring, when it runs, gives component states through
// SetStates.
func (a *App) newStatus() (*status.Service, error) {
	cfg := a.cfg.Status
	loc, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("status.time_zone: %w", err)
	}
	// The unsubscribe links are signed with a key derived from the
	// secret key, so they survive restarts and differ per installation.
	mac := hmac.New(sha256.New, []byte(a.cfg.SecretKey))
	mac.Write([]byte("maillon status page links"))
	opt := status.Options{
		Registry: a.reg, Title: cfg.Title, PublicURL: cfg.PublicURL, Language: cfg.Language,
		Location: loc, ConfirmWithin: cfg.ConfirmWithin.Duration, LinkKey: mac.Sum(nil),
		LinkBase: func() string { return "http://" + a.HTTPAddr() },
		Logger:   a.log.With("subsystem", "status"),
	}
	if a.notify.EmailEnabled() {
		opt.Sender = a.notify.Email()
	} else {
		a.log.Info("status page emails wait for email (notify.email.smtp): members are not told of incidents and maintenance")
	}
	if cfg.PublicURL == "" {
		a.log.Warn("status page links use the listen address: set status.public_url to where members reach it", "listen", a.cfg.Listen.HTTP)
	}
	return status.New(opt)
}

// statusAdmin is the status page's records as the web layer writes them.
type statusAdmin struct {
	*registry.Service
}

func (s statusAdmin) Recipients(ctx context.Context, incidents bool, components []int64) ([]registry.Delivery, []registry.OptedOut, error) {
	var (
		out      []registry.Delivery
		optedOut []registry.OptedOut
	)
	err := s.Read(ctx, func(r registry.Reader) error {
		var err error
		out, optedOut, err = status.Audience(ctx, r, incidents, components)
		return err
	})
	return out, optedOut, err
}

// mount adds handlers to web.Options.Mount.
func mount(dst, src map[string]http.Handler) map[string]http.Handler {
	if dst == nil {
		dst = map[string]http.Handler{}
	}
	maps.Copy(dst, src)
	return dst
}

// MaintenanceAt lists the registry objects under planned maintenance at t,
// for monitoring to mute their alerts; a read error mutes nothing (and is
// logged), since alerts must not vanish because the database hiccuped.
func (a *App) MaintenanceAt(t time.Time) []registry.Target {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ts, err := a.status.ActiveMaintenance(ctx, t)
	if err != nil {
		a.log.Error("maintenance windows", "err", err)
	}
	return ts
}

// StatusPage is the status page service (tests drive its notifier).
func (a *App) StatusPage() *status.Service { return a.status }
