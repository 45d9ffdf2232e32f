package registry

import (
	"context"
	"time"
)

// CheckKind is what a monitoring check probes.
type CheckKind string

const (
	CheckHTTP   CheckKind = "http"   // HTTP(S): status, body, certificate expiry
	CheckTCP    CheckKind = "tcp"    // a TCP connection
	CheckICMP   CheckKind = "icmp"   // an ICMP echo
	CheckDNS    CheckKind = "dns"    // a DNS query and the answer expected
	CheckRADIUS CheckKind = "radius" // a RADIUS Status-Server (RFC 5997)
	CheckPush   CheckKind = "push"   // a heartbeat the watched thing sends
)

// What a check is attached to: TargetSite, TargetHost, TargetNAS,
// TargetService (status.go), shared with status components.

// Severities of a check's alerts, from least to most urgent.
const (
	SeverityInfo     = "info"
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// CheckProbe is what a check's kind needs to probe. Its fields appear
// inline in a check's JSON; the store keeps them as one JSON column, so
// that a new kind needs no migration.
type CheckProbe struct {
	// URL is what an http check fetches.
	URL string `json:"url,omitempty"`
	// ExpectStatus is the status code wanted (0: any 2xx or 3xx).
	ExpectStatus int `json:"expect_status,omitempty"`
	// BodyMatch must appear in the body (http) or the answer (dns).
	BodyMatch string `json:"body_match,omitempty"`
	// CertDays turns an https check down when the server's certificate
	// expires within that many days.
	CertDays int `json:"cert_days,omitempty"`
	// Address is host:port (tcp, radius, dns server) or a host (icmp).
	Address string `json:"address,omitempty"`
	// QueryName and QueryType are a dns check's question.
	QueryName string `json:"query_name,omitempty"`
	QueryType string `json:"query_type,omitempty"`
}

// Check is a monitoring check attached to a registry object. Checks and
// the objects they watch form the dependency graph (CheckGraph).
type Check struct {
	ID   int64     `json:"id"`
	Name string    `json:"name"`
	Kind CheckKind `json:"kind"`
	// TargetType is site, host, nas, service or empty; TargetID the
	// object's id (site, host, nas), Service the service's name.
	TargetType string `json:"target_type,omitempty"`
	TargetID   *int64 `json:"target_id,omitempty"`
	Service    string `json:"service,omitempty"`

	CheckProbe

	// Interval between probes, and for a push check the period within
	// which a call must come; Timeout bounds a probe (for push: the grace
	// after the period). Retries is how many failures in a row are
	// tolerated before the check is down.
	IntervalSeconds int `json:"interval_seconds"`
	TimeoutSeconds  int `json:"timeout_seconds"`
	Retries         int `json:"retries"`

	Severity string   `json:"severity"`
	Tags     []string `json:"tags,omitempty"`
	// Parents are checks this one depends on, beyond those the registry
	// implies (see CheckGraph).
	Parents []int64 `json:"parents,omitempty"`
	Enabled bool    `json:"enabled"`

	SecretSet bool `json:"secret_set,omitempty"`
	// PushToken is shown once, when the check is created or its token
	// rotated; only its hash is kept.
	PushToken string `json:"push_token,omitempty"`
	// PushURL is the URL to call, shown with PushToken.
	PushURL   string    `json:"push_url,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	// State is filled in when shown, from the monitor.
	State *CheckState `json:"state,omitempty"`

	SealedSecret  []byte `json:"-"`
	PushTokenHash string `json:"-"`
}

// Interval and Timeout as durations.
func (c *Check) Interval() time.Duration { return time.Duration(c.IntervalSeconds) * time.Second }
func (c *Check) Timeout() time.Duration  { return time.Duration(c.TimeoutSeconds) * time.Second }

// CheckInput creates or edits a check. Set at most one of HostID, SiteID,
// NASID and Service (0 or "" detaches it).
type CheckInput struct {
	Name         *string    `json:"name,omitempty"`
	Kind         *CheckKind `json:"kind,omitempty"`
	HostID       *int64     `json:"host_id,omitempty"`
	SiteID       *int64     `json:"site_id,omitempty"`
	NASID        *int64     `json:"nas_id,omitempty"`
	Service      *string    `json:"service,omitempty"`
	URL          *string    `json:"url,omitempty"`
	ExpectStatus *int       `json:"expect_status,omitempty"`
	BodyMatch    *string    `json:"body_match,omitempty"`
	CertDays     *int       `json:"cert_days,omitempty"`
	Address      *string    `json:"address,omitempty"`
	QueryName    *string    `json:"query_name,omitempty"`
	QueryType    *string    `json:"query_type,omitempty"`
	// Interval and Timeout are durations: "60s", "5m", "1d".
	Interval *string   `json:"interval,omitempty"`
	Timeout  *string   `json:"timeout,omitempty"`
	Retries  *int      `json:"retries,omitempty"`
	Severity *string   `json:"severity,omitempty"`
	Tags     *[]string `json:"tags,omitempty"`
	// Parents are checks by id or name; they replace the previous ones.
	Parents *[]string `json:"parents,omitempty"`
	Enabled *bool     `json:"enabled,omitempty"`
	// Secret is a radius check's shared secret; never shown again.
	Secret *string `json:"secret,omitempty"`
	// RotateToken gives a push check a new URL (the old one stops working).
	RotateToken *bool `json:"rotate_token,omitempty"`
}

// The states of a check.
const (
	StateUnknown     = "unknown"     // not probed yet
	StateUp          = "up"          // last probe succeeded
	StatePending     = "pending"     // failing, retries left
	StateDown        = "down"        // failing, retries exhausted
	StateUnreachable = "unreachable" // failing while a check it depends on fails
	StatePaused      = "paused"      // disabled
)

// CheckState is where a check stands; written when it changes, so that a
// restart neither forgets a down check nor alerts about it again.
type CheckState struct {
	CheckID  int64     `json:"check_id"`
	State    string    `json:"state"`
	Since    time.Time `json:"since"`
	Failures int       `json:"failures"`
	Message  string    `json:"message,omitempty"`
	// Cause names the parent that made this check unreachable.
	Cause string `json:"cause,omitempty"`
	// Run-time figures, filled by the monitor, not stored.
	LastRun    *time.Time `json:"last_run,omitempty"`
	LatencyMS  float64    `json:"latency_ms,omitempty"`
	CertExpiry *time.Time `json:"cert_expiry,omitempty"`
}

// CheckTransition is a check entering a state.
type CheckTransition struct {
	State string    `json:"state"`
	At    time.Time `json:"at"`
}

// Alert states.
const (
	AlertFiring   = "firing"
	AlertResolved = "resolved"
)

// Alert sources.
const (
	SourceCheck        = "check"
	SourceAlertmanager = "alertmanager"
)

// Alert is a problem that people are told about: a check that went down,
// or an alert Prometheus' Alertmanager forwarded. Rows stay after they
// resolve, as history.
type Alert struct {
	ID int64 `json:"id"`
	// Fingerprint identifies the problem: "check:12", or Alertmanager's
	// fingerprint. One firing alert per fingerprint at a time.
	Fingerprint string            `json:"fingerprint"`
	Source      string            `json:"source"`
	CheckID     *int64            `json:"check_id,omitempty"`
	Name        string            `json:"name"`
	Severity    string            `json:"severity"`
	Labels      map[string]string `json:"labels,omitempty"`
	Summary     string            `json:"summary,omitempty"`
	State       string            `json:"state"`
	StartedAt   time.Time         `json:"started_at"`
	ResolvedAt  *time.Time        `json:"resolved_at,omitempty"`
	AckedAt     *time.Time        `json:"acked_at,omitempty"`
	AckedBy     string            `json:"acked_by,omitempty"`
	// Level is the escalation level reached (0: the first).
	Level int `json:"level"`
	// NotifiedAt is the last notification, Notifications how many were
	// sent (0 while muted: nobody was told, so no resolve message either).
	NotifiedAt    *time.Time `json:"notified_at,omitempty"`
	Notifications int        `json:"notifications"`
	// Muted says why it is not notified: a silence, a maintenance, or a
	// parent that is down.
	Muted     string    `json:"muted,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// AlertFilter narrows an alert listing.
type AlertFilter struct {
	// State is firing, resolved or empty for both.
	State   string
	CheckID int64
	Limit   int
}

// Silence mutes the alerts its matchers all match, between two times.
type Silence struct {
	ID int64 `json:"id"`
	// Matchers are "name=value": check, severity, tag, alertname or any
	// Alertmanager label.
	Matchers  []string  `json:"matchers"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	Comment   string    `json:"comment,omitempty"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// ActiveAt says whether the silence mutes at t.
func (s *Silence) ActiveAt(t time.Time) bool { return !t.Before(s.StartsAt) && t.Before(s.EndsAt) }

// SilenceInput creates a silence.
type SilenceInput struct {
	Matchers []string `json:"matchers"`
	// StartsAt defaults to now; EndsAt or Duration ("2h") says when it ends.
	StartsAt *time.Time `json:"starts_at,omitempty"`
	EndsAt   *time.Time `json:"ends_at,omitempty"`
	Duration string     `json:"duration,omitempty"`
	Comment  string     `json:"comment,omitempty"`
}

// MonitorReader reads checks, their states, alerts and silences (part of
// Reader).
type MonitorReader interface {
	GetCheck(ctx context.Context, id int64) (Check, error)
	ListChecks(ctx context.Context) ([]Check, error)
	GetCheckByPushToken(ctx context.Context, hash string) (Check, error)
	ListCheckStates(ctx context.Context) ([]CheckState, error)
	// ListCheckTransitions lists a check's changes of state since a
	// time, preceded by the last one before it (the state it was in).
	ListCheckTransitions(ctx context.Context, checkID int64, since time.Time) ([]CheckTransition, error)
	GetAlert(ctx context.Context, id int64) (Alert, error)
	// ListAlerts lists newest first.
	ListAlerts(ctx context.Context, f AlertFilter) ([]Alert, error)
	GetSilence(ctx context.Context, id int64) (Silence, error)
	ListSilences(ctx context.Context) ([]Silence, error)
}

// MonitorWriter writes them (part of Tx).
type MonitorWriter interface {
	InsertCheck(ctx context.Context, c *Check) error
	UpdateCheck(ctx context.Context, c *Check) error
	DeleteCheck(ctx context.Context, id int64) error
	// PutCheckState inserts or replaces a check's state, and records the
	// transition.
	PutCheckState(ctx context.Context, s *CheckState) error
	// InsertAlert fails with ErrConflict when an alert with the same
	// fingerprint is firing.
	InsertAlert(ctx context.Context, a *Alert) error
	UpdateAlert(ctx context.Context, a *Alert) error
	InsertSilence(ctx context.Context, s *Silence) error
	UpdateSilence(ctx context.Context, s *Silence) error
}
