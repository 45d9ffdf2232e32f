package status

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"maillon/internal/notify"
	"maillon/internal/registry"
)

// How the notifier paces itself.
const (
	// maxAttempts bounds the tries of one email; a relay that refuses it
	// that many times (one tick apart) will not take it later either.
	maxAttempts = 5
	// staleNotice: news older than this when email comes back on is not
	// sent any more (a maintenance announced a week ago is over).
	staleNotice = 24 * time.Hour
	// maintenanceGrace: a start or end passed longer ago than this (the
	// daemon was down) is not announced late.
	maintenanceGrace = 6 * time.Hour
	sendBatch        = 200
)

// Run keeps the page cache fresh and, with a sender, tells members at
// once of an incident or maintenance written; Tick, which the daemon's
// scheduler calls every minute, does the rest (maintenance starting and
// ending, retries). A restart resumes where it stopped: what was sent is
// recorded and not sent again.
func (s *Service) Run(ctx context.Context) error {
	events, stop := s.reg.Events().Subscribe()
	defer stop()
	s.cache.enable(true)
	defer s.cache.enable(false)
	s.pass(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-events:
			if !ok {
				return nil
			}
			// Only what the page shows makes it stale: an import of
			// thousands of members re-renders nothing.
			switch e.Entity {
			case "component", "incident", "maintenance", registry.EntityAll:
				for _, c := range s.cache.invalidate() {
					s.refresh(c)
				}
			}
			switch e.Entity {
			case "incident", "maintenance", registry.EntityAll:
				s.pass(ctx)
			}
		}
	}
}

func (s *Service) pass(ctx context.Context) {
	if s.opt.Sender == nil {
		return
	}
	if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("status emails", "err", err)
	}
}

// Tick runs one pass of the notifier at the registry's clock: it queues
// the start and end of maintenance the clock reached, works out who each
// new notice goes to, sends what is pending (with a sender) and forgets
// unconfirmed subscriptions.
func (s *Service) Tick(ctx context.Context) error {
	s.mailMu.Lock()
	defer s.mailMu.Unlock()
	var errs []error
	if err := s.noticeMaintenance(ctx); err != nil {
		errs = append(errs, err)
	}
	// Without email, notices wait; those still fresh when it comes on
	// are sent then.
	if s.opt.Sender != nil {
		if err := s.planNotices(ctx); err != nil {
			errs = append(errs, err)
		}
		if err := s.sendPending(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := s.reg.ExpireSubscriptions(ctx, s.opt.ConfirmWithin); err != nil {
		errs = append(errs, fmt.Errorf("expire subscriptions: %w", err))
	}
	return errors.Join(errs...)
}

// noticeMaintenance queues the start and end of maintenance the clock
// reached.
func (s *Service) noticeMaintenance(ctx context.Context) error {
	now := s.reg.Now()
	var ms []registry.Maintenance
	err := s.reg.Read(ctx, func(r registry.Reader) error {
		var err error
		ms, err = r.ListMaintenance(ctx, now.Add(-maintenanceGrace))
		return err
	})
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.CancelledAt != nil {
			continue
		}
		// Maintenance planned after it began was announced as under way.
		if !now.Before(m.StartsAt) && now.Sub(m.StartsAt) < maintenanceGrace && m.CreatedAt.Before(m.StartsAt) {
			if err := s.reg.NoticeMaintenance(ctx, m.ID, "start"); err != nil {
				return err
			}
		}
		if !now.Before(m.EndsAt) {
			if err := s.reg.NoticeMaintenance(ctx, m.ID, "end"); err != nil {
				return err
			}
		}
	}
	return nil
}

// event is what a notice is about.
type event struct {
	key        string
	entity     string
	id         int64
	incidents  bool // members' "incidents" choice applies, else "maintenance"
	components []int64
	inc        *registry.Incident
	update     *registry.IncidentUpdate
	maint      *registry.Maintenance
	phase      string // maintenance: planned, start, end, cancelled
}

func loadEvent(ctx context.Context, r registry.Reader, key string) (*event, error) {
	ev := &event{key: key}
	switch {
	case strings.HasPrefix(key, "incident-update:"):
		id, err := strconv.ParseInt(strings.TrimPrefix(key, "incident-update:"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("notice %q: %w", key, err)
		}
		u, err := r.GetIncidentUpdate(ctx, id)
		if err != nil {
			return nil, err
		}
		inc, err := r.GetIncident(ctx, u.IncidentID)
		if err != nil {
			return nil, err
		}
		ev.entity, ev.id, ev.incidents, ev.components, ev.inc, ev.update = "incident", inc.ID, true, inc.Components, &inc, &u
	case strings.HasPrefix(key, "maintenance:"):
		parts := strings.Split(key, ":")
		if len(parts) != 3 {
			return nil, fmt.Errorf("notice %q is not maintenance:id:event", key)
		}
		id, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("notice %q: %w", key, err)
		}
		m, err := r.GetMaintenance(ctx, id)
		if err != nil {
			return nil, err
		}
		ev.entity, ev.id, ev.components, ev.maint, ev.phase = "maintenance", m.ID, m.Components, &m, parts[2]
	default:
		return nil, fmt.Errorf("notice %q: unknown kind", key)
	}
	return ev, nil
}

// Audience is who a notice goes to (affected members who did not opt out,
// and confirmed subscribers of its components, one email per address),
// and the affected members left out because they opted out of that kind
// of news (unless an address of theirs is told anyway, as a subscriber).
func Audience(ctx context.Context, r registry.Reader, incidents bool, components []int64) ([]registry.Delivery, []registry.OptedOut, error) {
	members, err := AffectedMembers(ctx, r, components)
	if err != nil {
		return nil, nil, err
	}
	langs, err := r.MemberLanguages(ctx)
	if err != nil {
		return nil, nil, err
	}
	var out []registry.Delivery
	var optedOut []registry.OptedOut
	emails := map[string]bool{}
	for _, m := range members {
		p, err := r.GetMemberPrefs(ctx, m.ID)
		if errors.Is(err, registry.ErrNotFound) {
			p, err = registry.DefaultMemberPrefs(m.ID), nil
		}
		if err != nil {
			return nil, nil, err
		}
		if (incidents && !p.Incidents) || (!incidents && !p.Maintenance) {
			optedOut = append(optedOut, registry.OptedOut{MemberID: m.ID, Name: m.Name, Email: m.Email})
			continue
		}
		key := strings.ToLower(m.Email)
		if m.Email == "" || emails[key] {
			continue
		}
		emails[key] = true
		out = append(out, registry.Delivery{Recipient: "member:" + strconv.FormatInt(m.ID, 10), Email: m.Email, Language: langs[m.ID]})
	}
	subs, err := r.ListSubscribers(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, sub := range subs {
		if sub.ConfirmedAt == nil || !sub.Covers(components) || emails[sub.Email] {
			continue
		}
		emails[sub.Email] = true
		out = append(out, registry.Delivery{Recipient: "subscriber:" + strconv.FormatInt(sub.ID, 10), Email: sub.Email, Language: sub.Language})
	}
	optedOut = slices.DeleteFunc(optedOut, func(o registry.OptedOut) bool { return emails[strings.ToLower(o.Email)] })
	return out, optedOut, nil
}

// planNotices works out the recipients of each new notice, once.
func (s *Service) planNotices(ctx context.Context) error {
	var notices []registry.Notice
	if err := s.reg.Read(ctx, func(r registry.Reader) error {
		var err error
		notices, err = r.ListPendingNotices(ctx)
		return err
	}); err != nil {
		return err
	}
	now := s.reg.Now()
	for _, n := range notices {
		var (
			ev *event
			ds []registry.Delivery
		)
		err := s.reg.Read(ctx, func(r registry.Reader) error {
			var err error
			if ev, err = loadEvent(ctx, r, n.Key); err != nil {
				return err
			}
			if now.Sub(n.CreatedAt) > staleNotice {
				s.log.Warn("status: notice too old to send", "notice", n.Key, "created", n.CreatedAt)
				return nil
			}
			ds, _, err = Audience(ctx, r, ev.incidents, ev.components)
			return err
		})
		if err != nil {
			return fmt.Errorf("notice %s: %w", n.Key, err)
		}
		added, err := s.reg.PlanDeliveries(ctx, n.Key, ev.entity, ev.id, ds)
		if err != nil {
			return err
		}
		s.log.Info("status: "+ev.happened()+": notice queued", "notice", n.Key, "recipients", added)
	}
	return nil
}

// sendPending sends the deliveries not sent yet, recording each attempt.
func (s *Service) sendPending(ctx context.Context) error {
	var pending []registry.Delivery
	if err := s.reg.Read(ctx, func(r registry.Reader) error {
		var err error
		pending, err = r.ListPendingDeliveries(ctx, maxAttempts, sendBatch)
		return err
	}); err != nil {
		return err
	}
	events := map[string]*event{}
	var names map[int64]string
	for _, d := range pending {
		ev, ok := events[d.Notice]
		if !ok {
			err := s.reg.Read(ctx, func(r registry.Reader) error {
				var err error
				if ev, err = loadEvent(ctx, r, d.Notice); err != nil {
					return err
				}
				if names == nil {
					comps, err := componentIndex(ctx, r)
					names = map[int64]string{}
					for id, c := range comps {
						names[id] = c.Name
					}
					return err
				}
				return nil
			})
			if err != nil {
				return err
			}
			events[d.Notice] = ev
		}
		l, ok := parseLang(d.Language)
		if !ok {
			l = s.defaultLang()
		}
		msg := s.message(ev, d, l, names)
		// Claimed before sending: another instance sharing the
		// database skips what this one sends.
		if ok, err := s.reg.ClaimDelivery(ctx, &d); err != nil || !ok {
			if err != nil {
				return fmt.Errorf("claim delivery %d: %w", d.ID, err)
			}
			continue
		}
		sendErr := s.opt.Sender.Send(ctx, msg)
		if sendErr != nil {
			s.log.Warn("status email not sent", "notice", d.Notice, "recipient", d.Recipient, "attempt", d.Attempts, "err", sendErr)
		}
		if err := s.reg.RecordDelivery(ctx, d, sendErr); err != nil {
			return fmt.Errorf("record delivery %d: %w", d.ID, err)
		}
	}
	return nil
}

// sign makes the token of a recipient's unsubscribe link.
func (s *Service) sign(recipient string) string {
	mac := hmac.New(sha256.New, s.opt.LinkKey)
	mac.Write([]byte("status-unsubscribe\x00" + recipient))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:18])
}

func (s *Service) verify(recipient, token string) bool {
	return hmac.Equal([]byte(s.sign(recipient)), []byte(token))
}

// UnsubscribeURL is the link that lets a recipient stop the emails,
// without logging in.
func (s *Service) UnsubscribeURL(recipient string, l lang) string {
	q := url.Values{"r": {recipient}, "t": {s.sign(recipient)}, "lang": {l.Code()}}
	return s.base() + "/unsubscribe?" + q.Encode()
}

// message writes a notice's email for one recipient.
func (s *Service) message(ev *event, d registry.Delivery, l lang, names map[int64]string) notify.Message {
	loc := s.opt.Location
	var comps []string
	for _, id := range ev.components {
		comps = append(comps, names[id])
	}
	var subject, body, link, severity string
	switch {
	case ev.inc != nil:
		head := l.T("mail.incident")
		if ev.update.State == registry.IncidentResolved {
			head, severity = l.T("mail.resolved"), "info"
		} else if ev.inc.Impact == registry.ImpactMajor {
			severity = "critical"
		} else {
			severity = "warning"
		}
		subject = fmt.Sprintf("%s %s — %s", l.LabelOf(head), ev.inc.Title, l.T("incident."+string(ev.update.State)))
		body = fmt.Sprintf("%s\n%s %s — %s\n\n%s", ev.inc.Title, l.Label("mail.state"), l.T("incident."+string(ev.update.State)),
			l.Time(ev.update.At.In(loc)), ev.update.Message)
		link = fmt.Sprintf("%s/incidents/%d?lang=%s", s.base(), ev.inc.ID, l.Code())
	default:
		m := ev.maint
		from, to := l.Time(m.StartsAt.In(loc)), l.Time(m.EndsAt.In(loc))
		severity = "info"
		var head, what string
		switch ev.phase {
		case "start":
			head, what = l.T("mail.maint.start"), l.T("mail.maint.start.body", to)
		case "end":
			head, what = l.T("mail.maint.end"), l.T("mail.maint.end.body")
		case "cancelled":
			head, what = l.T("mail.maint.cancelled"), l.T("mail.maint.cancel.body", from, to)
		default:
			head, what = l.T("mail.maint.planned"), l.T("mail.maint.planned.body", from, to)
		}
		subject = fmt.Sprintf("%s %s (%s)", l.LabelOf(head), m.Title, from)
		body = m.Title + "\n\n" + what
		if m.Description != "" && ev.phase != "end" {
			body += "\n\n" + m.Description
		}
		link = fmt.Sprintf("%s?lang=%s#m-%d", s.base(), l.Code(), m.ID)
	}
	why := l.T("mail.why.member")
	if strings.HasPrefix(d.Recipient, "subscriber:") {
		why = l.T("mail.why.subscriber")
	}
	stop := s.UnsubscribeURL(d.Recipient, l)
	text := fmt.Sprintf("%s\n\n%s %s\n%s %s\n\n-- \n%s\n%s %s\n", body, l.Label("affects"), strings.Join(comps, ", "),
		l.Label("mail.more"), link, why, l.Label("mail.stop"), stop)
	return notify.Message{
		To: []string{d.Email}, Subject: "[" + s.opt.Title + "] " + subject, Text: text, Severity: severity, URL: link,
		Headers: map[string]string{
			// RFC 8058: mail clients offer a one-click unsubscribe that
			// POSTs to the link.
			"List-Unsubscribe":      "<" + stop + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
			"Content-Language":      l.Code(),
		},
	}
}
