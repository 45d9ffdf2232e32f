// Package status serves the public status page (components, incidents,
// planned maintenance, 90-day history) with its Atom and iCalendar feeds,
// works out which members an incident or maintenance affects from the
// registry, and emails them, once each, at start, on updates and at the
// end. It reads and writes through the registry; monitoring states come in
// through the narrow States interface, which app wires when monitoring
// runs.
package status

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // the page's time zone must load on a machine without zoneinfo

	"maillon/internal/notify"
	"maillon/internal/registry"
)

// Registry is what the status page needs from the registry service.
type Registry interface {
	Read(ctx context.Context, fn func(registry.Reader) error) error
	Now() time.Time
	Events() *registry.Broker

	MemberPrefs(ctx context.Context, memberID int64) (registry.MemberPrefs, error)
	SetMemberPrefs(ctx context.Context, a registry.Actor, p registry.MemberPrefs) (registry.MemberPrefs, error)
	Subscribe(ctx context.Context, a registry.Actor, email, language string, components []int64) (registry.Subscriber, string, error)
	ConfirmSubscription(ctx context.Context, token string, ttl time.Duration) (registry.Subscriber, error)
	Unsubscribe(ctx context.Context, a registry.Actor, id int64) error
	ExpireSubscriptions(ctx context.Context, ttl time.Duration) (int64, error)
	NoticeMaintenance(ctx context.Context, id int64, event string) error
	PlanDeliveries(ctx context.Context, key, entity string, entityID int64, ds []registry.Delivery) (int, error)
	ClaimDelivery(ctx context.Context, d *registry.Delivery) (bool, error)
	RecordDelivery(ctx context.Context, d registry.Delivery, sendErr error) error
}

// State is a component's state as the page shows it.
type State string

// The states, from best to worst.
const (
	Operational State = "operational"
	Maintenance State = "maintenance"
	Degraded    State = "degraded"
	Partial     State = "partial_outage"
	Major       State = "major_outage"
)

func (s State) rank() int {
	switch s {
	case Maintenance:
		return 1
	case Degraded:
		return 2
	case Partial:
		return 3
	case Major:
		return 4
	}
	return 0
}

func worst(a, b State) State {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// States is what monitoring knows of components. Without it, components
// get their state from open incidents and maintenance, and their history
// from past incidents.
type States interface {
	// ComponentState is the state the checks of a component measure; ok
	// is false when no check watches it. The page passes the component it
	// has read, so that the answer needs no registry read of its own.
	ComponentState(ctx context.Context, c registry.Component) (state State, ok bool, err error)
	// DailyUptime is the fraction (0..1) of each of the last days the
	// component was up, oldest first and today last; a negative value
	// means not measured that day, nil nothing measured at all.
	DailyUptime(ctx context.Context, c registry.Component, days int) ([]float64, error)
}

// Sender sends email: internal/notify's email sender, whose Message
// carries the recipient.
type Sender interface {
	Send(ctx context.Context, m notify.Message) error
}

// Options wires a Service.
type Options struct {
	Registry Registry
	// States is monitoring; nil until it runs.
	States States
	// Sender mails; nil leaves members untold (notices wait, the page
	// still works) and subscriptions refused.
	Sender Sender
	// Title heads the page.
	Title string
	// PublicURL is the page's absolute URL, without a trailing slash
	// (".../status"): links in emails and feeds. When empty, LinkBase
	// (the daemon's own address, known once it listens) + "/status".
	PublicURL string
	LinkBase  func() string
	// Language is the default language, fr or en.
	Language string
	// Location is the time zone times are shown in.
	Location *time.Location
	// ConfirmWithin is how long a subscription waits for confirmation.
	ConfirmWithin time.Duration
	// LinkKey signs the unsubscribe links of members' emails.
	LinkKey []byte
	Logger  *slog.Logger
}

// Service is the status page, its feeds and its emails.
type Service struct {
	opt   Options
	reg   Registry
	log   *slog.Logger
	cache pageCache
	// limits bounds the confirmation emails the public form sends.
	limits limiter
	// mailMu serialises the notifier's passes (Run and tests' Tick).
	mailMu sync.Mutex
}

// New returns the status service.
func New(opt Options) (*Service, error) {
	if opt.Registry == nil {
		return nil, errors.New("status: no registry")
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Location == nil {
		opt.Location = time.UTC
	}
	if opt.Language != "en" {
		opt.Language = "fr"
	}
	if opt.Title == "" {
		opt.Title = "maillon"
	}
	if opt.ConfirmWithin == 0 {
		opt.ConfirmWithin = 48 * time.Hour
	}
	opt.PublicURL = strings.TrimSuffix(opt.PublicURL, "/")
	if opt.PublicURL == "" && opt.LinkBase == nil {
		return nil, errors.New("status: no public URL (status.public_url)")
	}
	if len(opt.LinkKey) < 16 {
		return nil, fmt.Errorf("status: link key of %d bytes, want 16 or more", len(opt.LinkKey))
	}
	return &Service{opt: opt, reg: opt.Registry, log: opt.Logger}, nil
}

// SetStates gives the page monitoring's component states; call it before
// Run.
func (s *Service) SetStates(st States) { s.opt.States = st }

// base is the page's absolute URL.
func (s *Service) base() string {
	if s.opt.PublicURL != "" {
		return s.opt.PublicURL
	}
	return strings.TrimSuffix(s.opt.LinkBase(), "/") + "/status"
}

// Mounts are the public routes, for web.Options.Mount. None needs a login:
// the page and feeds are public, and the forms act on signed links or
// mailed tokens.
func (s *Service) Mounts() map[string]http.Handler {
	return map[string]http.Handler{
		"GET /status":                  http.HandlerFunc(s.servePage),
		"GET /status/{$}":              http.HandlerFunc(s.servePage),
		"GET /status/incidents/{id}":   http.HandlerFunc(s.serveIncident),
		"GET /status/feed.atom":        http.HandlerFunc(s.serveAtom),
		"GET /status/calendar.ics":     http.HandlerFunc(s.serveICS),
		"GET /status/subscribe":        http.HandlerFunc(s.serveSubscribeForm),
		"POST /status/subscribe":       http.HandlerFunc(s.serveSubscribe),
		"GET /status/confirm":          http.HandlerFunc(s.serveConfirmForm),
		"POST /status/confirm":         http.HandlerFunc(s.serveConfirm),
		"GET /status/unsubscribe":      http.HandlerFunc(s.serveUnsubscribeForm),
		"POST /status/unsubscribe":     http.HandlerFunc(s.serveUnsubscribe),
		"GET /status/components.json":  http.HandlerFunc(s.serveJSON),
		"HEAD /status/feed.atom":       http.HandlerFunc(s.serveAtom),
		"HEAD /status/calendar.ics":    http.HandlerFunc(s.serveICS),
		"HEAD /status/components.json": http.HandlerFunc(s.serveJSON),
	}
}

// ActiveMaintenance lists the registry objects under maintenance at t, for
// monitoring to mute their alerts.
func (s *Service) ActiveMaintenance(ctx context.Context, t time.Time) ([]registry.Target, error) {
	var out []registry.Target
	err := s.reg.Read(ctx, func(r registry.Reader) error {
		ms, err := r.ListMaintenance(ctx, t)
		if err != nil {
			return err
		}
		comps, err := componentIndex(ctx, r)
		if err != nil {
			return err
		}
		seen := map[registry.Target]bool{}
		for _, m := range ms {
			if m.Phase(t) != "in_progress" {
				continue
			}
			for _, id := range m.Components {
				for _, tg := range comps[id].Targets {
					if !seen[tg] {
						seen[tg] = true
						out = append(out, tg)
					}
				}
			}
		}
		return nil
	})
	return out, err
}

func componentIndex(ctx context.Context, r registry.Reader) (map[int64]registry.Component, error) {
	cs, err := r.ListComponents(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]registry.Component, len(cs))
	for _, c := range cs {
		out[c.ID] = c
	}
	return out, nil
}
