package registry

import (
	"context"
	"strings"
	"time"
)

// JournalKind says who wrote a journal entry.
type JournalKind string

const (
	// JournalIntervention is written by an admin: what they did on a host.
	JournalIntervention JournalKind = "intervention"
	// JournalChangeReport is written by the host's agent: which files and
	// packages changed once the host had been quiet for a while.
	JournalChangeReport JournalKind = "change-report"
)

// The kinds of object an entry may refer to. The status page owns
// incidents and maintenance: the journal keeps their id without a foreign
// key, so neither side's tables depend on the other's.
const (
	RelatedIncident    = "incident"
	RelatedMaintenance = "maintenance"
)

// JournalEntry is one line of a host's interventions journal. Entries are
// never edited nor deleted: the journal is a history.
type JournalEntry struct {
	ID int64 `json:"id"`
	// HostID is nil once the host is deleted; Host keeps its name as it
	// was when the entry was written.
	HostID *int64      `json:"host_id,omitempty"`
	Host   string      `json:"host"`
	Kind   JournalKind `json:"kind"`
	// At is when it happened (an admin may write an intervention down
	// afterwards); CreatedAt when it was recorded.
	At time.Time `json:"at"`
	// Author is the actor who wrote it: "admin:Ada", "local:root", or
	// "agent:gw1" for a change report.
	Author string `json:"author"`
	// Text is what was done; for a change report, its summary.
	Text string `json:"text"`
	// RelatedKind ("incident" or "maintenance") and RelatedID name the
	// status-page object the intervention belongs to, if any.
	RelatedKind string `json:"related_kind,omitempty"`
	RelatedID   *int64 `json:"related_id,omitempty"`
	// Report is the agent's report, for a change report.
	Report    *ChangeReport `json:"report,omitempty"`
	CreatedAt time.Time     `json:"created_at"`
}

// JournalInput writes an intervention.
type JournalInput struct {
	HostID int64  `json:"host_id"`
	Text   string `json:"text"`
	// At defaults to now; it may not be in the future.
	At          *time.Time `json:"at,omitempty"`
	RelatedKind string     `json:"related_kind,omitempty"`
	RelatedID   *int64     `json:"related_id,omitempty"`
}

// JournalFilter narrows a journal listing; zero fields match all.
type JournalFilter struct {
	HostID int64
	Kind   JournalKind
	// Before keeps entries with an id below it, to page back in time.
	Before int64
	Limit  int
}

// AgentToken lets the agent of one host post change reports, and nothing
// else. Like API tokens, only the hash is stored.
type AgentToken struct {
	ID         int64      `json:"id"`
	HostID     int64      `json:"host_id"`
	Host       string     `json:"host,omitempty"` // filled when listed
	Name       string     `json:"name"`
	Hash       string     `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	CreatedBy  string     `json:"created_by"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// agentTokenPrefix tells agent tokens from admin ones (mln_) at a glance.
const agentTokenPrefix = "mla_"

// JournalReader reads the journal and agent tokens (part of Reader).
type JournalReader interface {
	GetJournalEntry(ctx context.Context, id int64) (JournalEntry, error)
	// GetJournalEntryByReport finds the entry of a change report by the
	// report's id.
	GetJournalEntryByReport(ctx context.Context, reportID string) (JournalEntry, error)
	// ListJournal lists newest first (by At, then id).
	ListJournal(ctx context.Context, f JournalFilter) ([]JournalEntry, error)
	GetAgentTokenByHash(ctx context.Context, hash string) (AgentToken, error)
	// ListAgentTokens lists one host's tokens, or every host's for 0.
	ListAgentTokens(ctx context.Context, hostID int64) ([]AgentToken, error)
}

// JournalWriter writes them (part of Tx).
type JournalWriter interface {
	// InsertJournalEntry fails with ErrConflict when the report id is
	// already recorded.
	InsertJournalEntry(ctx context.Context, e *JournalEntry) error
	InsertAgentToken(ctx context.Context, t *AgentToken) error
	DeleteAgentToken(ctx context.Context, id int64) error
	TouchAgentToken(ctx context.Context, id int64, at time.Time) error
}

// maxJournalText bounds what an admin writes in one entry.
const maxJournalText = 8000

func (in *JournalInput) validate(now time.Time) (time.Time, error) {
	in.Text = strings.TrimSpace(in.Text)
	if in.Text == "" {
		return time.Time{}, invalid("text", "is required: what was done")
	}
	if len(in.Text) > maxJournalText {
		return time.Time{}, invalid("text", "is %d bytes long, more than %d", len(in.Text), maxJournalText)
	}
	if strings.ContainsRune(in.Text, 0) {
		return time.Time{}, invalid("text", "contains a NUL byte")
	}
	if in.HostID <= 0 {
		return time.Time{}, invalid("host_id", "is required")
	}
	if err := validateRelated(in.RelatedKind, in.RelatedID); err != nil {
		return time.Time{}, err
	}
	at := now
	if in.At != nil {
		at = in.At.UTC().Truncate(time.Microsecond)
		// A few minutes of slack for clocks that disagree.
		if at.After(now.Add(5 * time.Minute)) {
			return time.Time{}, invalid("at", "%s is in the future", at.Format(time.RFC3339))
		}
	}
	return at, nil
}

func validateRelated(kind string, id *int64) error {
	switch kind {
	case "":
		if id != nil {
			return invalid("related_kind", "is required with related_id (incident or maintenance)")
		}
		return nil
	case RelatedIncident, RelatedMaintenance:
		if id == nil || *id <= 0 {
			return invalid("related_id", "is required with related_kind %s (a positive id)", kind)
		}
		return nil
	}
	return invalid("related_kind", "%q is not incident or maintenance", kind)
}
