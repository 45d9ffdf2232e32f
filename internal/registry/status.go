package registry

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The status page's records: components as members see them, incidents
// with their timeline, planned maintenance, the language of members' emails,
// public email subscriptions and the ledger of status emails sent.

// The kinds of registry object a status component (or a check) stands
// for.
const (
	TargetSite = "site" // every line at a site
	TargetHost = "host" // a switch: the rooms on its ports
	TargetNAS  = "nas"  // the lines a NAS carries
	// TargetService is a named service: a subscription kind (ppp, vpn,
	// room-port, vm) affects its holders, "all" every member; any other
	// name (mail, web) affects nobody by itself and is there for checks.
	TargetService = "service"
)

// Target is one registry object a component depends on, written
// "site:3", "host:12", "nas:1" or "service:vpn".
type Target struct {
	Kind    string `json:"kind"`
	ID      int64  `json:"id,omitempty"`
	Service string `json:"service,omitempty"`
}

func (t Target) String() string {
	if t.Kind == TargetService {
		return "service:" + t.Service
	}
	return t.Kind + ":" + strconv.FormatInt(t.ID, 10)
}

// ParseTarget reads "site:3", "host:12", "nas:1" or "service:vpn".
func ParseTarget(s string) (Target, error) {
	kind, ref, ok := strings.Cut(strings.TrimSpace(s), ":")
	ref = strings.TrimSpace(ref)
	if !ok || ref == "" {
		return Target{}, invalid("targets", "%q is not kind:ref (site:3, host:12, nas:1, service:vpn)", s)
	}
	t := Target{Kind: strings.ToLower(kind)}
	switch t.Kind {
	case TargetSite, TargetHost, TargetNAS:
		id, err := strconv.ParseInt(ref, 10, 64)
		if err != nil || id <= 0 {
			return Target{}, invalid("targets", "%q: %q is not an id", s, ref)
		}
		t.ID = id
	case TargetService:
		t.Service = strings.ToLower(ref)
	default:
		return Target{}, invalid("targets", "%q: kind %q is not one of site, host, nas, service", s, kind)
	}
	return t, nil
}

// Component is one line of the status page, e.g. "Internet — Fleming
// residence" in the group "Internet".
type Component struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Group       string    `json:"group,omitempty"`
	Description string    `json:"description,omitempty"`
	Position    int       `json:"position"`
	Targets     []Target  `json:"targets"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// ComponentInput creates or edits a component; Targets replaces them all.
type ComponentInput struct {
	Name        *string   `json:"name,omitempty"`
	Group       *string   `json:"group,omitempty"`
	Description *string   `json:"description,omitempty"`
	Position    *int      `json:"position,omitempty"`
	Targets     *[]string `json:"targets,omitempty"`
}

// IncidentState is where an incident stands.
type IncidentState string

const (
	IncidentInvestigating IncidentState = "investigating"
	IncidentIdentified    IncidentState = "identified"
	IncidentMonitoring    IncidentState = "monitoring"
	IncidentResolved      IncidentState = "resolved"
)

// Impact is how badly an incident hurts the components it names.
type Impact string

const (
	ImpactDegraded Impact = "degraded"
	ImpactPartial  Impact = "partial"
	ImpactMajor    Impact = "major"
)

// Incident is an outage or degradation, told as a timeline of updates.
type Incident struct {
	ID         int64            `json:"id"`
	Title      string           `json:"title"`
	Impact     Impact           `json:"impact"`
	State      IncidentState    `json:"state"`
	Components []int64          `json:"components"`
	StartedAt  time.Time        `json:"started_at"`
	ResolvedAt *time.Time       `json:"resolved_at,omitempty"`
	CreatedBy  string           `json:"created_by"`
	Updates    []IncidentUpdate `json:"updates"`
}

// IncidentUpdate is one entry of an incident's timeline.
type IncidentUpdate struct {
	ID         int64         `json:"id"`
	IncidentID int64         `json:"incident_id"`
	State      IncidentState `json:"state"`
	Message    string        `json:"message"`
	At         time.Time     `json:"at"`
	Author     string        `json:"author"`
}

// IncidentInput opens an incident, or (on update) adds to its timeline:
// State and Message make the new entry, the others edit the incident.
type IncidentInput struct {
	Title      *string        `json:"title,omitempty"`
	Impact     *Impact        `json:"impact,omitempty"`
	Components *[]int64       `json:"components,omitempty"`
	State      *IncidentState `json:"state,omitempty"`
	Message    string         `json:"message"`
}

// Maintenance is planned work on some components between two times.
type Maintenance struct {
	ID          int64      `json:"id"`
	Title       string     `json:"title"`
	Description string     `json:"description,omitempty"`
	Components  []int64    `json:"components"`
	StartsAt    time.Time  `json:"starts_at"`
	EndsAt      time.Time  `json:"ends_at"`
	CancelledAt *time.Time `json:"cancelled_at,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	CreatedBy   string     `json:"created_by"`
}

// Phase says whether maintenance is ahead, under way, over or cancelled
// at a time.
func (m *Maintenance) Phase(now time.Time) string {
	switch {
	case m.CancelledAt != nil:
		return "cancelled"
	case now.Before(m.StartsAt):
		return "planned"
	case now.Before(m.EndsAt):
		return "in_progress"
	}
	return "completed"
}

// MaintenanceInput plans maintenance.
type MaintenanceInput struct {
	Title       string    `json:"title"`
	Description string    `json:"description,omitempty"`
	Components  []int64   `json:"components"`
	StartsAt    time.Time `json:"starts_at"`
	EndsAt      time.Time `json:"ends_at"`
}

// Subscriber is someone (member or not) who asked for status emails about
// some components (none: all of them). Unconfirmed ones expire.
type Subscriber struct {
	ID          int64      `json:"id"`
	Email       string     `json:"email"`
	Language    string     `json:"language,omitempty"`
	Components  []int64    `json:"components"`
	CreatedAt   time.Time  `json:"created_at"`
	ConfirmedAt *time.Time `json:"confirmed_at,omitempty"`
	// TokenHash is the SHA-256 of the confirmation token mailed.
	TokenHash string `json:"-"`
}

// Covers reports whether the subscriber wants news of an event touching
// these components.
func (s *Subscriber) Covers(components []int64) bool {
	if len(s.Components) == 0 {
		return true
	}
	for _, c := range components {
		if slices.Contains(s.Components, c) {
			return true
		}
	}
	return false
}

// Notice is one event members are told about (an incident update, a
// maintenance announced, started, ended or cancelled), keyed so that it is
// handled once: "incident-update:12", "maintenance:3:start".
type Notice struct {
	Key       string     `json:"key"`
	CreatedAt time.Time  `json:"created_at"`
	PlannedAt *time.Time `json:"planned_at,omitempty"` // recipients computed
}

// Delivery is one email of a notice to one recipient ("member:4",
// "subscriber:9"), unique per notice and recipient so nobody gets the same
// news twice, even across restarts.
type Delivery struct {
	ID        int64      `json:"id"`
	Notice    string     `json:"notice"`
	Recipient string     `json:"recipient"`
	Email     string     `json:"email"`
	Language  string     `json:"language,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	SentAt    *time.Time `json:"sent_at,omitempty"`
	Attempts  int        `json:"attempts"`
	LastError string     `json:"last_error,omitempty"`
}

// OptedOut is an affected member a notice leaves out because they turned
// that kind of news off: admins see who was not told.
type OptedOut struct {
	MemberID int64  `json:"member_id"`
	Name     string `json:"name"`
	Email    string `json:"email"`
}

// StatusReader reads the status page's records (part of Reader).
type StatusReader interface {
	GetComponent(ctx context.Context, id int64) (Component, error)
	ListComponents(ctx context.Context) ([]Component, error)
	GetIncident(ctx context.Context, id int64) (Incident, error)
	// ListIncidents lists incidents started since a time (zero: all),
	// newest first, with their updates.
	ListIncidents(ctx context.Context, since time.Time) ([]Incident, error)
	// ListIncidentHeads is ListIncidents without the timelines (Updates
	// empty): what a 90-day history needs.
	ListIncidentHeads(ctx context.Context, since time.Time) ([]Incident, error)
	GetIncidentUpdate(ctx context.Context, id int64) (IncidentUpdate, error)
	GetMaintenance(ctx context.Context, id int64) (Maintenance, error)
	// ListMaintenance lists maintenance ending after a time (zero: all),
	// by start.
	ListMaintenance(ctx context.Context, endsAfter time.Time) ([]Maintenance, error)
	// MemberLanguages maps the members who chose a language to it.
	MemberLanguages(ctx context.Context) (map[int64]string, error)
	GetSubscriber(ctx context.Context, id int64) (Subscriber, error)
	GetSubscriberByToken(ctx context.Context, tokenHash string) (Subscriber, error)
	GetSubscriberByEmail(ctx context.Context, email string) (Subscriber, error)
	ListSubscribers(ctx context.Context) ([]Subscriber, error)
	GetNotice(ctx context.Context, key string) (Notice, error)
	// ListPendingNotices lists notices whose recipients are not computed.
	ListPendingNotices(ctx context.Context) ([]Notice, error)
	// ListPendingDeliveries lists unsent deliveries tried fewer than
	// maxAttempts times, oldest first.
	ListPendingDeliveries(ctx context.Context, maxAttempts, limit int) ([]Delivery, error)
	ListDeliveries(ctx context.Context, notice string) ([]Delivery, error)
}

// StatusWriter writes them (part of Tx).
type StatusWriter interface {
	InsertComponent(ctx context.Context, c *Component) error
	UpdateComponent(ctx context.Context, c *Component) error
	DeleteComponent(ctx context.Context, id int64) error
	InsertIncident(ctx context.Context, i *Incident) error
	// UpdateIncident writes title, impact, state, components and
	// resolved_at (not the updates).
	UpdateIncident(ctx context.Context, i *Incident) error
	InsertIncidentUpdate(ctx context.Context, u *IncidentUpdate) error
	InsertMaintenance(ctx context.Context, m *Maintenance) error
	UpdateMaintenance(ctx context.Context, m *Maintenance) error
	// SetMemberLanguage records the language of a member's emails,
	// keeping their other choices (DefaultMemberPrefs if none).
	SetMemberLanguage(ctx context.Context, memberID int64, language string, at time.Time) error
	InsertSubscriber(ctx context.Context, s *Subscriber) error
	UpdateSubscriber(ctx context.Context, s *Subscriber) error
	DeleteSubscriber(ctx context.Context, id int64) error
	// DeleteUnconfirmedSubscribers removes the unconfirmed ones created
	// before a time and says how many.
	DeleteUnconfirmedSubscribers(ctx context.Context, before time.Time) (int64, error)
	// InsertNotice returns false when the key already exists.
	InsertNotice(ctx context.Context, n *Notice) (bool, error)
	SetNoticePlanned(ctx context.Context, key string, at time.Time) error
	// InsertDelivery returns false (and writes nothing) when the
	// recipient already has this notice.
	InsertDelivery(ctx context.Context, d *Delivery) (bool, error)
	// ClaimDelivery counts an attempt on an unsent delivery nobody
	// claimed since leaseStart, stamping it claimed at now, and reports
	// whether it did: of several instances, only the one that claims it
	// sends it.
	ClaimDelivery(ctx context.Context, d *Delivery, now, leaseStart time.Time) (bool, error)
	// SetDeliveryResult records how an attempt went: SentAt set when it
	// went out, LastError otherwise (and the claim released).
	SetDeliveryResult(ctx context.Context, d *Delivery) error
}

// Notice keys.
func IncidentUpdateNotice(updateID int64) string {
	return fmt.Sprintf("incident-update:%d", updateID)
}

// MaintenanceNotice is the key of a maintenance event: "planned",
// "start", "end" or "cancelled".
func MaintenanceNotice(id int64, event string) string {
	return fmt.Sprintf("maintenance:%d:%s", id, event)
}
