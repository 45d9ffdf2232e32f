// Package accounting keeps what the network reports about sessions: the
// open and closed sessions of each line, and the traffic of each household
// per UTC day. The RADIUS server feeds it in batches; the store makes each
// batch durable before the NAS is acknowledged.
package accounting

import (
	"context"
	"net/netip"
	"time"
)

// Status is the kind of accounting event.
type Status string

const (
	Start   Status = "start"
	Interim Status = "interim"
	Stop    Status = "stop"
	// On and Off: the NAS (re)started or stops; its open sessions are over.
	On  Status = "on"
	Off Status = "off"
)

// Record is one accounting event as the NAS reported it. Counters are the
// session's totals so far, so applying a record twice, or an older record
// after a newer one, changes nothing: that is what makes a batch safe to
// replay and a retransmission harmless.
type Record struct {
	NAS            string
	Status         Status
	SessionID      string
	Login          string
	SubscriptionID int64 // 0 when the login is unknown to the registry
	MemberID       int64
	IPv4           netip.Addr
	IPv6Prefix     netip.Prefix
	Delegated      netip.Prefix
	CallingStation string // the CPE's MAC on PPPoE
	NASPortID      string
	Circuit        string
	SessionTime    uint32
	InputOctets    uint64
	OutputOctets   uint64
	TerminateCause uint32
	Interim        uint32 // the Acct-Interim-Interval handed out
	EventTime      time.Time
}

// Session is a line's session as last reported.
type Session struct {
	ID             int64        `json:"id"`
	NAS            string       `json:"nas"`
	SessionID      string       `json:"session_id"`
	Login          string       `json:"login"`
	SubscriptionID int64        `json:"subscription_id,omitempty"`
	MemberID       int64        `json:"member_id,omitempty"`
	IPv4           netip.Addr   `json:"ipv4,omitzero"`
	IPv6Prefix     netip.Prefix `json:"ipv6_prefix,omitzero"`
	Delegated      netip.Prefix `json:"delegated_prefix,omitzero"`
	CallingStation string       `json:"calling_station,omitempty"`
	NASPortID      string       `json:"nas_port_id,omitempty"`
	Circuit        string       `json:"circuit,omitempty"`
	StartedAt      time.Time    `json:"started_at"`
	UpdatedAt      time.Time    `json:"updated_at"`
	StoppedAt      *time.Time   `json:"stopped_at,omitempty"`
	SessionTime    uint32       `json:"session_time"`
	InputOctets    uint64       `json:"input_octets"`
	OutputOctets   uint64       `json:"output_octets"`
	StopReason     string       `json:"stop_reason,omitempty"`
	Interim        uint32       `json:"interim_interval"`
}

// Open reports whether the session is still running.
func (s *Session) Open() bool { return s.StoppedAt == nil }

// Day is the traffic of one subscription on one UTC day. Input is what the
// NAS received from the subscriber (upload), Output what it sent (download).
type Day struct {
	Day            string `json:"day"` // YYYY-MM-DD
	SubscriptionID int64  `json:"subscription_id"`
	MemberID       int64  `json:"member_id"`
	InputOctets    uint64 `json:"input_octets"`
	OutputOctets   uint64 `json:"output_octets"`
}

// SessionFilter narrows a session listing.
type SessionFilter struct {
	SubscriptionID int64
	MemberID       int64
	NAS            string
	OpenOnly       bool
	Limit          int
}

// UsageFilter narrows a usage listing; From and To are inclusive days.
type UsageFilter struct {
	SubscriptionID int64
	MemberID       int64
	From, To       string
}

// Store keeps sessions and daily usage.
type Store interface {
	// WriteAccounting applies records in one transaction, durable when it
	// returns nil.
	WriteAccounting(ctx context.Context, records []Record) error
	// CloseStaleSessions closes open sessions not updated for three of
	// their interim intervals (at least grace) before now.
	CloseStaleSessions(ctx context.Context, now time.Time, grace time.Duration) (int, error)
	ListSessions(ctx context.Context, f SessionFilter) ([]Session, error)
	Usage(ctx context.Context, f UsageFilter) ([]Day, error)
}

// Terminate-Cause names (RFC 2866 §5.10) for the sessions table.
var terminateCauses = map[uint32]string{
	1: "user-request", 2: "lost-carrier", 3: "lost-service", 4: "idle-timeout",
	5: "session-timeout", 6: "admin-reset", 7: "admin-reboot", 8: "port-error",
	9: "nas-error", 10: "nas-request", 11: "nas-reboot", 12: "port-unneeded",
	13: "port-preempted", 14: "port-suspended", 15: "service-unavailable",
	16: "callback", 17: "user-error", 18: "host-request",
}

// StopReason names why a session ended.
func StopReason(r Record) string {
	switch r.Status {
	case On:
		return "nas-restarted"
	case Off:
		return "nas-stopped"
	}
	if n, ok := terminateCauses[r.TerminateCause]; ok {
		return n
	}
	if r.TerminateCause == 0 {
		return "stop"
	}
	return "cause-" + itoa(r.TerminateCause)
}

func itoa(n uint32) string {
	var b [10]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// DayOf is the UTC day an event counts for.
func DayOf(t time.Time) string { return t.UTC().Format("2006-01-02") }
