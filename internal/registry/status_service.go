package registry

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"
)

var components = entity[Component, ComponentInput]{
	name:   "component",
	id:     func(c *Component) int64 { return c.ID },
	get:    Tx.GetComponent,
	insert: Tx.InsertComponent,
	update: Tx.UpdateComponent,
	delete: Tx.DeleteComponent,
	prepare: func(c *change, _ *Component, obj *Component, in ComponentInput) error {
		set(&obj.Name, in.Name)
		set(&obj.Group, in.Group)
		set(&obj.Description, in.Description)
		set(&obj.Position, in.Position)
		obj.Name, obj.Group = strings.TrimSpace(obj.Name), strings.TrimSpace(obj.Group)
		if obj.Name == "" {
			return invalid("name", "is required (e.g. \"Internet — Fleming residence\")")
		}
		if in.Targets != nil {
			obj.Targets = nil
			for _, s := range *in.Targets {
				t, err := c.resolveTarget(s)
				if err != nil {
					return err
				}
				if !slices.Contains(obj.Targets, t) {
					obj.Targets = append(obj.Targets, t)
				}
			}
		}
		for _, t := range obj.Targets {
			var err error
			switch t.Kind {
			case TargetSite:
				_, err = c.tx.GetSite(c.ctx, t.ID)
			case TargetHost:
				_, err = c.tx.GetHost(c.ctx, t.ID)
			case TargetNAS:
				_, err = c.tx.GetNAS(c.ctx, t.ID)
			case TargetService:
				if t.Service == "" {
					err = errors.New("a service needs a name")
				}
			}
			if err != nil {
				return invalid("targets", "%s: %v", t, err)
			}
		}
		obj.CreatedAt, obj.UpdatedAt = orNow(obj.CreatedAt, c.now), c.now
		return nil
	},
	// An incident or maintenance naming the component keeps its history.
	deleting: func(c *change, obj *Component) error {
		incidents, err := c.tx.ListIncidents(c.ctx, time.Time{})
		if err != nil {
			return err
		}
		for _, i := range incidents {
			if slices.Contains(i.Components, obj.ID) {
				return fmt.Errorf("component %q is named by incident %d: %w", obj.Name, i.ID, ErrInUse)
			}
		}
		ms, err := c.tx.ListMaintenance(c.ctx, time.Time{})
		if err != nil {
			return err
		}
		for _, m := range ms {
			if slices.Contains(m.Components, obj.ID) {
				return fmt.Errorf("component %q is named by maintenance %d: %w", obj.Name, m.ID, ErrInUse)
			}
		}
		return nil
	},
}

// resolveTarget reads a target, the object named by id or by name
// ("site:Fleming", "host:sw-fleming-1", "nas:vpn1").
func (c *change) resolveTarget(s string) (Target, error) {
	kind, ref, _ := strings.Cut(strings.TrimSpace(s), ":")
	ref = strings.TrimSpace(ref)
	if _, err := strconv.ParseInt(ref, 10, 64); err == nil || ref == "" {
		return ParseTarget(s)
	}
	type named struct {
		id   int64
		name string
	}
	var names []named
	switch strings.ToLower(kind) {
	case TargetSite:
		all, err := c.tx.ListSites(c.ctx)
		if err != nil {
			return Target{}, err
		}
		for _, x := range all {
			names = append(names, named{x.ID, x.Name})
		}
	case TargetHost:
		all, err := c.tx.ListHosts(c.ctx, ListOptions{})
		if err != nil {
			return Target{}, err
		}
		for _, x := range all {
			names = append(names, named{x.ID, x.Name})
		}
	case TargetNAS:
		all, err := c.tx.ListNAS(c.ctx)
		if err != nil {
			return Target{}, err
		}
		for _, x := range all {
			names = append(names, named{x.ID, x.Name})
		}
	default:
		return ParseTarget(s)
	}
	for _, n := range names {
		if strings.EqualFold(n.name, ref) {
			return Target{Kind: strings.ToLower(kind), ID: n.id}, nil
		}
	}
	return Target{}, invalid("targets", "%q: no %s named %q", s, strings.ToLower(kind), ref)
}

func orNow(t, now time.Time) time.Time {
	if t.IsZero() {
		return now
	}
	return t
}

// CreateComponent adds a status page component.
func (s *Service) CreateComponent(ctx context.Context, a Actor, in ComponentInput) (Component, error) {
	return create(s, ctx, a, components, in)
}

// UpdateComponent edits a component.
func (s *Service) UpdateComponent(ctx context.Context, a Actor, id int64, in ComponentInput) (Component, error) {
	return update(s, ctx, a, components, id, in)
}

// DeleteComponent removes a component no incident or maintenance names.
func (s *Service) DeleteComponent(ctx context.Context, a Actor, id int64) error {
	return remove(s, ctx, a, components, id)
}

func (c *change) checkComponents(ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return nil, invalid("components", "name at least one component")
	}
	var out []int64
	for _, id := range ids {
		if _, err := c.tx.GetComponent(c.ctx, id); err != nil {
			return nil, exists("components", err)
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

func validImpact(i Impact) error {
	switch i {
	case ImpactDegraded, ImpactPartial, ImpactMajor:
		return nil
	}
	return invalid("impact", "%q is not one of degraded, partial, major", i)
}

func validIncidentState(st IncidentState) error {
	switch st {
	case IncidentInvestigating, IncidentIdentified, IncidentMonitoring, IncidentResolved:
		return nil
	}
	return invalid("state", "%q is not one of investigating, identified, monitoring, resolved", st)
}

// OpenIncident opens an incident with its first timeline entry and queues
// the email to the affected members.
func (s *Service) OpenIncident(ctx context.Context, a Actor, in IncidentInput) (Incident, error) {
	inc := Incident{Impact: ImpactMajor, State: IncidentInvestigating}
	if in.Title != nil {
		inc.Title = strings.TrimSpace(*in.Title)
	}
	if inc.Title == "" {
		return inc, invalid("title", "is required")
	}
	set(&inc.Impact, in.Impact)
	set(&inc.State, in.State)
	if err := validImpact(inc.Impact); err != nil {
		return inc, err
	}
	if err := validIncidentState(inc.State); err != nil {
		return inc, err
	}
	msg := strings.TrimSpace(in.Message)
	if msg == "" {
		return inc, invalid("message", "is required: what members see first")
	}
	err := s.write(ctx, a, func(c *change) error {
		var err error
		if in.Components == nil {
			return invalid("components", "name at least one component")
		}
		if inc.Components, err = c.checkComponents(*in.Components); err != nil {
			return err
		}
		inc.StartedAt, inc.CreatedBy = c.now, a.Name
		if inc.State == IncidentResolved {
			return invalid("state", "an incident opens unresolved")
		}
		if err := c.tx.InsertIncident(ctx, &inc); err != nil {
			return fmt.Errorf("open incident: %w", err)
		}
		u := IncidentUpdate{IncidentID: inc.ID, State: inc.State, Message: msg, At: c.now, Author: a.Name}
		if err := c.addIncidentUpdate(&u); err != nil {
			return err
		}
		inc.Updates = []IncidentUpdate{u}
		return c.record("open", "incident", inc.ID, nil, inc)
	})
	return inc, err
}

func (c *change) addIncidentUpdate(u *IncidentUpdate) error {
	if err := c.tx.InsertIncidentUpdate(c.ctx, u); err != nil {
		return fmt.Errorf("incident %d update: %w", u.IncidentID, err)
	}
	_, err := c.tx.InsertNotice(c.ctx, &Notice{Key: IncidentUpdateNotice(u.ID), CreatedAt: c.now})
	return err
}

// UpdateIncident adds an entry to an incident's timeline (state and
// message) and may edit its title, impact and components. A "resolved"
// entry closes it; a closed incident takes no more entries.
func (s *Service) UpdateIncident(ctx context.Context, a Actor, id int64, in IncidentInput) (Incident, error) {
	var out Incident
	msg := strings.TrimSpace(in.Message)
	if msg == "" {
		return out, invalid("message", "is required")
	}
	err := s.write(ctx, a, func(c *change) error {
		inc, err := c.tx.GetIncident(ctx, id)
		if err != nil {
			return err
		}
		if inc.State == IncidentResolved {
			return fmt.Errorf("incident %d was resolved on %s: %w", id, inc.ResolvedAt.Format(time.RFC3339), ErrConflict)
		}
		before := inc
		if in.Title != nil {
			if inc.Title = strings.TrimSpace(*in.Title); inc.Title == "" {
				return invalid("title", "cannot be empty")
			}
		}
		set(&inc.Impact, in.Impact)
		set(&inc.State, in.State)
		if err := validImpact(inc.Impact); err != nil {
			return err
		}
		if err := validIncidentState(inc.State); err != nil {
			return err
		}
		if in.Components != nil {
			if inc.Components, err = c.checkComponents(*in.Components); err != nil {
				return err
			}
		}
		if inc.State == IncidentResolved {
			at := c.now
			inc.ResolvedAt = &at
		}
		if err := c.tx.UpdateIncident(ctx, &inc); err != nil {
			return fmt.Errorf("update incident %d: %w", id, err)
		}
		u := IncidentUpdate{IncidentID: id, State: inc.State, Message: msg, At: c.now, Author: a.Name}
		if err := c.addIncidentUpdate(&u); err != nil {
			return err
		}
		inc.Updates = append(inc.Updates, u)
		out = inc
		action := "update"
		if inc.State == IncidentResolved {
			action = "resolve"
		}
		before.Updates = nil
		after := inc
		after.Updates = []IncidentUpdate{u}
		return c.record(action, "incident", id, before, after)
	})
	return out, err
}

// maxMaintenance bounds a maintenance window: longer work is an incident.
const maxMaintenance = 31 * 24 * time.Hour

// PlanMaintenance plans maintenance and queues its announcement.
func (s *Service) PlanMaintenance(ctx context.Context, a Actor, in MaintenanceInput) (Maintenance, error) {
	m := Maintenance{Title: strings.TrimSpace(in.Title), Description: strings.TrimSpace(in.Description),
		StartsAt: in.StartsAt.UTC().Truncate(time.Second), EndsAt: in.EndsAt.UTC().Truncate(time.Second)}
	if m.Title == "" {
		return m, invalid("title", "is required")
	}
	if m.StartsAt.IsZero() || m.EndsAt.IsZero() {
		return m, invalid("starts_at", "start and end are required")
	}
	if !m.EndsAt.After(m.StartsAt) {
		return m, invalid("ends_at", "%s is not after the start %s", m.EndsAt.Format(time.RFC3339), m.StartsAt.Format(time.RFC3339))
	}
	if m.EndsAt.Sub(m.StartsAt) > maxMaintenance {
		return m, invalid("ends_at", "maintenance longer than 31 days is an incident")
	}
	err := s.write(ctx, a, func(c *change) error {
		if !m.EndsAt.After(c.now) {
			return invalid("ends_at", "%s is already past", m.EndsAt.Format(time.RFC3339))
		}
		var err error
		if m.Components, err = c.checkComponents(in.Components); err != nil {
			return err
		}
		m.CreatedAt, m.CreatedBy = c.now, a.Name
		if err := c.tx.InsertMaintenance(ctx, &m); err != nil {
			return fmt.Errorf("plan maintenance: %w", err)
		}
		if _, err := c.tx.InsertNotice(ctx, &Notice{Key: MaintenanceNotice(m.ID, "planned"), CreatedAt: c.now}); err != nil {
			return err
		}
		return c.record("plan", "maintenance", m.ID, nil, m)
	})
	return m, err
}

// CancelMaintenance cancels maintenance not over yet; members who were
// told it was planned are told it is cancelled.
func (s *Service) CancelMaintenance(ctx context.Context, a Actor, id int64) (Maintenance, error) {
	var out Maintenance
	err := s.write(ctx, a, func(c *change) error {
		m, err := c.tx.GetMaintenance(ctx, id)
		if err != nil {
			return err
		}
		switch m.Phase(c.now) {
		case "cancelled":
			return fmt.Errorf("maintenance %d is already cancelled: %w", id, ErrConflict)
		case "completed":
			return fmt.Errorf("maintenance %d is over: %w", id, ErrConflict)
		}
		before := m
		at := c.now
		m.CancelledAt = &at
		if err := c.tx.UpdateMaintenance(ctx, &m); err != nil {
			return fmt.Errorf("cancel maintenance %d: %w", id, err)
		}
		if _, err := c.tx.InsertNotice(ctx, &Notice{Key: MaintenanceNotice(m.ID, "cancelled"), CreatedAt: c.now}); err != nil {
			return err
		}
		out = m
		return c.record("cancel", "maintenance", id, before, m)
	})
	return out, err
}

// NoticeMaintenance queues a maintenance event ("start" or "end") that a
// clock, not an admin, brings about. It writes only the first time.
func (s *Service) NoticeMaintenance(ctx context.Context, id int64, event string) error {
	key := MaintenanceNotice(id, event)
	var known bool
	err := s.store.Read(ctx, func(r Reader) error {
		_, err := r.GetNotice(ctx, key)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		known = err == nil
		return err
	})
	if err != nil || known {
		return err
	}
	return s.write(ctx, System, func(c *change) error {
		_, err := c.tx.InsertNotice(ctx, &Notice{Key: key, CreatedAt: c.now})
		return err
	})
}

// Languages members may read maillon's emails in.
var Languages = []string{"fr", "en"}

func validLanguage(field, l string) (string, error) {
	l = strings.ToLower(strings.TrimSpace(l))
	if l == "" || slices.Contains(Languages, l) {
		return l, nil
	}
	return "", invalid(field, "%q is not one of %s", l, strings.Join(Languages, ", "))
}

// SetMemberLanguage sets the language of a member's emails ("" for the
// default). Whether they get status emails at all is in MemberPrefs.
func (s *Service) SetMemberLanguage(ctx context.Context, a Actor, memberID int64, language string) error {
	lang, err := validLanguage("language", language)
	if err != nil {
		return err
	}
	return s.write(ctx, a, func(c *change) error {
		if _, err := c.tx.GetMember(ctx, memberID); err != nil {
			return err
		}
		langs, err := c.tx.MemberLanguages(ctx)
		if err != nil {
			return err
		}
		if err := c.tx.SetMemberLanguage(ctx, memberID, lang, c.now); err != nil {
			return fmt.Errorf("language of member %d: %w", memberID, err)
		}
		return c.record("update", "member_prefs", memberID, map[string]string{"language": langs[memberID]}, map[string]string{"language": lang})
	})
}

// SubscriberToken hashes a confirmation token as stored.
func SubscriberToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Subscribe records a request for status emails about some components
// (none: all) and returns the subscriber and the confirmation token to
// mail; nothing is sent to it before it is confirmed. Asking again
// before confirming replaces the components and the token; asking for an
// address already confirmed changes nothing and returns no token.
func (s *Service) Subscribe(ctx context.Context, a Actor, email, language string, componentIDs []int64) (Subscriber, string, error) {
	addr, err := mail.ParseAddress(strings.TrimSpace(email))
	if err != nil || addr.Name != "" {
		return Subscriber{}, "", invalid("email", "%q is not an email address", email)
	}
	lang, err := validLanguage("language", language)
	if err != nil {
		return Subscriber{}, "", err
	}
	token := rand.Text()
	var out Subscriber
	err = s.write(ctx, a, func(c *change) error {
		var ids []int64
		for _, id := range componentIDs {
			if _, err := c.tx.GetComponent(ctx, id); err != nil {
				return exists("components", err)
			}
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		sub, err := c.tx.GetSubscriberByEmail(ctx, strings.ToLower(addr.Address))
		if errors.Is(err, ErrNotFound) {
			sub = Subscriber{Email: strings.ToLower(addr.Address), Language: lang, Components: ids, CreatedAt: c.now, TokenHash: SubscriberToken(token)}
			if err := c.tx.InsertSubscriber(ctx, &sub); err != nil {
				return fmt.Errorf("subscribe: %w", err)
			}
			out = sub
			return c.record("subscribe", "subscriber", sub.ID, nil, sub)
		}
		if err != nil {
			return err
		}
		if sub.ConfirmedAt != nil {
			// Anyone may type an address: a request must not undo the
			// owner's confirmed subscription. Changing it is unsubscribing
			// (the link in every email) and subscribing again.
			out, token = sub, ""
			return nil
		}
		before := sub
		// A new request needs a new confirmation, and restarts the expiry.
		sub.Language, sub.Components, sub.TokenHash, sub.CreatedAt, sub.ConfirmedAt = lang, ids, SubscriberToken(token), c.now, nil
		if err := c.tx.UpdateSubscriber(ctx, &sub); err != nil {
			return fmt.Errorf("subscribe: %w", err)
		}
		out = sub
		return c.record("subscribe", "subscriber", sub.ID, before, sub)
	})
	return out, token, err
}

// ConfirmSubscription confirms the subscription a mailed token names,
// unless it is older than ttl.
func (s *Service) ConfirmSubscription(ctx context.Context, token string, ttl time.Duration) (Subscriber, error) {
	var out Subscriber
	err := s.write(ctx, Actor{Name: "subscriber (confirmation link)"}, func(c *change) error {
		sub, err := c.tx.GetSubscriberByToken(ctx, SubscriberToken(strings.TrimSpace(token)))
		if errors.Is(err, ErrNotFound) {
			return invalid("token", "unknown or expired confirmation link")
		}
		if err != nil {
			return err
		}
		if sub.ConfirmedAt != nil {
			out = sub
			return nil
		}
		if c.now.Sub(sub.CreatedAt) > ttl {
			return invalid("token", "unknown or expired confirmation link")
		}
		before := sub
		at := c.now
		sub.ConfirmedAt = &at
		if err := c.tx.UpdateSubscriber(ctx, &sub); err != nil {
			return err
		}
		out = sub
		return c.record("confirm", "subscriber", sub.ID, before, sub)
	})
	return out, err
}

// Unsubscribe removes a subscriber.
func (s *Service) Unsubscribe(ctx context.Context, a Actor, id int64) error {
	return s.write(ctx, a, func(c *change) error {
		sub, err := c.tx.GetSubscriber(ctx, id)
		if err != nil {
			return err
		}
		if err := c.tx.DeleteSubscriber(ctx, id); err != nil {
			return err
		}
		return c.record("unsubscribe", "subscriber", id, sub, nil)
	})
}

// ExpireSubscriptions removes subscriptions left unconfirmed longer than
// ttl.
func (s *Service) ExpireSubscriptions(ctx context.Context, ttl time.Duration) (int64, error) {
	// Called every minute: an idle daemon must not take the write lock.
	due := false
	err := s.store.Read(ctx, func(r Reader) error {
		subs, err := r.ListSubscribers(ctx)
		for _, sub := range subs {
			due = due || (sub.ConfirmedAt == nil && s.Now().Sub(sub.CreatedAt) > ttl)
		}
		return err
	})
	if err != nil || !due {
		return 0, err
	}
	var n int64
	err = s.write(ctx, System, func(c *change) error {
		var err error
		if n, err = c.tx.DeleteUnconfirmedSubscribers(ctx, c.now.Add(-ttl)); err != nil || n == 0 {
			return err
		}
		return c.record("expire", "subscriber", 0, nil, map[string]int64{"unconfirmed_removed": n})
	})
	return n, err
}

// PlanDeliveries records who gets a notice, once: recipients who already
// have it are left alone, and the notice is marked planned. The audit
// entry goes to the incident or maintenance the notice is about.
func (s *Service) PlanDeliveries(ctx context.Context, key string, entity string, entityID int64, ds []Delivery) (int, error) {
	added := 0
	err := s.write(ctx, System, func(c *change) error {
		n, err := c.tx.GetNotice(ctx, key)
		if err != nil {
			return err
		}
		if n.PlannedAt != nil {
			return nil
		}
		var emails []string
		for i := range ds {
			d := ds[i]
			d.Notice, d.CreatedAt = key, c.now
			ok, err := c.tx.InsertDelivery(ctx, &d)
			if err != nil {
				return fmt.Errorf("notice %s to %s: %w", key, d.Recipient, err)
			}
			if ok {
				added++
				emails = append(emails, d.Recipient)
			}
		}
		if err := c.tx.SetNoticePlanned(ctx, key, c.now); err != nil {
			return err
		}
		return c.record("notify", entity, entityID, nil, map[string]any{"notice": key, "recipients": emails})
	})
	return added, err
}

// DeliveryLease is how long a claimed delivery waits for its sender to
// record the outcome before another may try it.
const DeliveryLease = 10 * time.Minute

// ClaimDelivery takes a delivery for sending, counting the attempt: false
// when another instance (or an earlier pass) took it first. A claim whose
// sender dies before recording leaves the delivery to be tried again at
// the next pass, up to the attempts allowed.
func (s *Service) ClaimDelivery(ctx context.Context, d *Delivery) (bool, error) {
	var ok bool
	err := s.write(ctx, System, func(c *change) error {
		var err error
		ok, err = c.tx.ClaimDelivery(ctx, d, c.now, c.now.Add(-DeliveryLease))
		if ok {
			d.Attempts++
		}
		return err
	})
	return ok, err
}

// RecordDelivery records how a claimed delivery went. It is not audited:
// PlanDeliveries recorded who is told, this only says when.
func (s *Service) RecordDelivery(ctx context.Context, d Delivery, sendErr error) error {
	return s.write(ctx, System, func(c *change) error {
		if sendErr == nil {
			at := c.now
			d.SentAt, d.LastError = &at, ""
		} else {
			d.LastError = sendErr.Error()
		}
		return c.tx.SetDeliveryResult(ctx, &d)
	})
}

// refuseTargeted refuses to delete a site, host or NAS that a status
// component or a monitoring check still names: they hold its id without a
// foreign key, and would be left pointing at nothing (a check then fails to
// load, a component loses the members it affects).
func (c *change) refuseTargeted(kind string, id int64, name string) error {
	comps, err := c.tx.ListComponents(c.ctx)
	if err != nil {
		return fmt.Errorf("components naming %s %s: %w", kind, name, err)
	}
	for _, comp := range comps {
		if slices.Contains(comp.Targets, Target{Kind: kind, ID: id}) {
			return fmt.Errorf("%s %s is a target of status component %q: remove it from the component first: %w", kind, name, comp.Name, ErrInUse)
		}
	}
	checks, err := c.tx.ListChecks(c.ctx)
	if err != nil {
		return fmt.Errorf("checks naming %s %s: %w", kind, name, err)
	}
	for _, ch := range checks {
		if ch.TargetType == kind && ch.TargetID != nil && *ch.TargetID == id {
			return fmt.Errorf("%s %s is watched by check %q: delete the check or attach it elsewhere first: %w", kind, name, ch.Name, ErrInUse)
		}
	}
	return nil
}
