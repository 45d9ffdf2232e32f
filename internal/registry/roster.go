package registry

import (
	"context"
	"time"
)

// RosterCampaign is one renewal of the roster: every admin holding one of
// Roles when it started is asked whether they keep their title; those who
// do not answer by their deadline lose it (seeds/003: "no answer within
// two weeks and the title goes").
type RosterCampaign struct {
	ID        int64     `json:"id"`
	State     string    `json:"state"` // open or closed
	Roles     []Role    `json:"roles"`
	StartedAt time.Time `json:"started_at"`
	StartedBy string    `json:"started_by"`
	// Deadline is when the answers are due; an admin whose mail went out
	// late gets a whole window from their mail (their ExpiresAt).
	Deadline time.Time       `json:"deadline"`
	ClosedAt *time.Time      `json:"closed_at,omitempty"`
	Requests []RosterRequest `json:"requests,omitempty"`
}

// The states of a campaign and of a request.
const (
	CampaignOpen   = "open"
	CampaignClosed = "closed"

	RosterPending     = "pending"
	RosterKept        = "kept"
	RosterSteppedDown = "stepped-down"
	RosterRemoved     = "removed"
)

// RosterRequest is one admin's part of a campaign: the mail asking them,
// their answer, and what was done.
type RosterRequest struct {
	ID         int64  `json:"id"`
	CampaignID int64  `json:"campaign_id"`
	AdminID    int64  `json:"admin_id"`
	AdminName  string `json:"admin"`
	Email      string `json:"email"`
	// Roles are the titles the admin held when asked.
	Roles []Role `json:"roles"`
	State string `json:"state"`
	// ExpiresAt is their deadline, set when their mail is sent.
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	MailSentAt *time.Time `json:"mail_sent_at,omitempty"`
	// MailError is why the last attempt to mail them failed.
	MailError  string     `json:"mail_error,omitempty"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	AnsweredBy string     `json:"answered_by,omitempty"`
	// Revoked lists the certificates revoked when the title went.
	Revoked      []int64    `json:"revoked_certificates,omitempty"`
	NoticeSentAt *time.Time `json:"notice_sent_at,omitempty"`

	TokenHash       string     `json:"-"`
	MailClaimedAt   *time.Time `json:"-"`
	NoticeClaimedAt *time.Time `json:"-"`
}

// Open reports whether the request still waits for an answer at now: the
// mail went out and its deadline has not passed.
func (r *RosterRequest) Open(now time.Time) bool {
	return r.State == RosterPending && r.ExpiresAt != nil && now.Before(*r.ExpiresAt)
}

// CertReminder records the expiry reminder of one certificate.
type CertReminder struct {
	Serial    int64      `json:"serial"`
	ClaimedAt time.Time  `json:"claimed_at"`
	SentAt    *time.Time `json:"sent_at,omitempty"`
	SentTo    string     `json:"sent_to,omitempty"`
}

// RosterReader reads campaigns and reminders (part of Reader).
type RosterReader interface {
	GetRosterCampaign(ctx context.Context, id int64) (RosterCampaign, error)
	// LatestRosterCampaign is the campaign started last, or ErrNotFound.
	LatestRosterCampaign(ctx context.Context) (RosterCampaign, error)
	// OpenRosterCampaign is the open campaign, or ErrNotFound.
	OpenRosterCampaign(ctx context.Context) (RosterCampaign, error)
	GetRosterRequest(ctx context.Context, id int64) (RosterRequest, error)
	GetRosterRequestByToken(ctx context.Context, hash string) (RosterRequest, error)
	// ListRosterRequests lists a campaign's requests by admin name.
	ListRosterRequests(ctx context.Context, campaignID int64) ([]RosterRequest, error)
	GetCertReminder(ctx context.Context, serial int64) (CertReminder, error)
}

// RosterWriter writes them (part of Tx).
type RosterWriter interface {
	// LockRoster serialises roster and reminder changes between
	// instances: whoever holds it may read, decide and write.
	LockRoster(ctx context.Context) error
	// InsertRosterCampaign fails with ErrConflict while one is open.
	InsertRosterCampaign(ctx context.Context, c *RosterCampaign) error
	UpdateRosterCampaign(ctx context.Context, c *RosterCampaign) error
	InsertRosterRequest(ctx context.Context, r *RosterRequest) error
	UpdateRosterRequest(ctx context.Context, r *RosterRequest) error
	// PutCertReminder inserts or replaces a reminder.
	PutCertReminder(ctx context.Context, r *CertReminder) error
}
