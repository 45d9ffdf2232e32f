package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"maillon/internal/registry"
)

const campaignCols = `id, state, roles, started_at, started_by, deadline, closed_at`

func scanCampaign(r *sql.Rows) (registry.RosterCampaign, error) {
	var (
		c                 registry.RosterCampaign
		roles             string
		started, deadline tsCol
		closed            tsCol
	)
	err := r.Scan(&c.ID, &c.State, &roles, &started, &c.StartedBy, &deadline, &closed)
	c.Roles = splitRoles(roles)
	c.StartedAt, c.Deadline, c.ClosedAt = started.T, deadline.T, closed.ptr()
	return c, err
}

func splitRoles(s string) []registry.Role {
	out := []registry.Role{}
	for _, r := range strings.Split(s, ",") {
		if r != "" {
			out = append(out, registry.Role(r))
		}
	}
	return out
}

func (t *txn) GetRosterCampaign(ctx context.Context, id int64) (registry.RosterCampaign, error) {
	rows, err := t.query(ctx, "SELECT "+campaignCols+" FROM roster_campaigns WHERE id = ?", id)
	return one(rows, err, scanCampaign, "roster campaign", id)
}

func (t *txn) LatestRosterCampaign(ctx context.Context) (registry.RosterCampaign, error) {
	rows, err := t.query(ctx, "SELECT "+campaignCols+" FROM roster_campaigns ORDER BY id DESC LIMIT 1")
	return one(rows, err, scanCampaign, "roster campaign", "latest")
}

func (t *txn) OpenRosterCampaign(ctx context.Context) (registry.RosterCampaign, error) {
	rows, err := t.query(ctx, "SELECT "+campaignCols+" FROM roster_campaigns WHERE state = 'open'")
	return one(rows, err, scanCampaign, "roster campaign", "open")
}

func (t *txn) LockRoster(ctx context.Context) error {
	if stmt := t.d.lockTable("roster_campaigns"); stmt != "" {
		_, err := t.exec(ctx, stmt)
		return err
	}
	return nil
}

func (t *txn) InsertRosterCampaign(ctx context.Context, c *registry.RosterCampaign) error {
	id, err := t.insert(ctx, "INSERT INTO roster_campaigns (state, roles, started_at, started_by, deadline, closed_at) VALUES (?, ?, ?, ?, ?, ?)",
		c.State, joinRoles(c.Roles), c.StartedAt, c.StartedBy, c.Deadline, c.ClosedAt)
	c.ID = id
	return err
}

func (t *txn) UpdateRosterCampaign(ctx context.Context, c *registry.RosterCampaign) error {
	r, err := t.exec(ctx, "UPDATE roster_campaigns SET state = ?, deadline = ?, closed_at = ? WHERE id = ?", c.State, c.Deadline, c.ClosedAt, c.ID)
	return mustAffect(r, err, "roster campaign", c.ID)
}

const requestCols = `id, campaign_id, admin_id, admin_name, email, roles, state, token_hash, expires_at, mail_claimed_at, mail_sent_at,
	mail_error, answered_at, answered_by, revoked, notice_claimed_at, notice_sent_at`

func scanRequest(rows *sql.Rows) (registry.RosterRequest, error) {
	var (
		r                                registry.RosterRequest
		roles, revoked                   string
		hash                             sql.NullString
		expires, claimed, sent, answered tsCol
		noticeClaimed, noticeSent        tsCol
	)
	err := rows.Scan(&r.ID, &r.CampaignID, &r.AdminID, &r.AdminName, &r.Email, &roles, &r.State, &hash, &expires, &claimed, &sent,
		&r.MailError, &answered, &r.AnsweredBy, &revoked, &noticeClaimed, &noticeSent)
	r.Roles, r.TokenHash = splitRoles(roles), hash.String
	for _, s := range splitLines(revoked) {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			r.Revoked = append(r.Revoked, n)
		}
	}
	r.ExpiresAt, r.MailClaimedAt, r.MailSentAt, r.AnsweredAt = expires.ptr(), claimed.ptr(), sent.ptr(), answered.ptr()
	r.NoticeClaimedAt, r.NoticeSentAt = noticeClaimed.ptr(), noticeSent.ptr()
	return r, err
}

func joinSerials(ns []int64) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.FormatInt(n, 10)
	}
	return joinLines(s)
}

func (t *txn) GetRosterRequest(ctx context.Context, id int64) (registry.RosterRequest, error) {
	rows, err := t.query(ctx, "SELECT "+requestCols+" FROM roster_requests WHERE id = ?", id)
	return one(rows, err, scanRequest, "roster request", id)
}

func (t *txn) GetRosterRequestByToken(ctx context.Context, hash string) (registry.RosterRequest, error) {
	rows, err := t.query(ctx, "SELECT "+requestCols+" FROM roster_requests WHERE token_hash = ?", hash)
	return one(rows, err, scanRequest, "roster request", "by token")
}

func (t *txn) ListRosterRequests(ctx context.Context, campaignID int64) ([]registry.RosterRequest, error) {
	rows, err := t.query(ctx, "SELECT "+requestCols+" FROM roster_requests WHERE campaign_id = ? ORDER BY admin_name, id", campaignID)
	return all(rows, err, scanRequest)
}

func (t *txn) InsertRosterRequest(ctx context.Context, r *registry.RosterRequest) error {
	id, err := t.insert(ctx, `INSERT INTO roster_requests (campaign_id, admin_id, admin_name, email, roles, state, token_hash, expires_at,
		mail_claimed_at, mail_sent_at, mail_error, answered_at, answered_by, revoked, notice_claimed_at, notice_sent_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.CampaignID, r.AdminID, r.AdminName, r.Email, joinRoles(r.Roles), r.State, nullString(r.TokenHash), r.ExpiresAt,
		r.MailClaimedAt, r.MailSentAt, r.MailError, r.AnsweredAt, r.AnsweredBy, joinSerials(r.Revoked), r.NoticeClaimedAt, r.NoticeSentAt)
	r.ID = id
	return err
}

func (t *txn) UpdateRosterRequest(ctx context.Context, r *registry.RosterRequest) error {
	res, err := t.exec(ctx, `UPDATE roster_requests SET state = ?, token_hash = ?, expires_at = ?, mail_claimed_at = ?, mail_sent_at = ?,
		mail_error = ?, answered_at = ?, answered_by = ?, revoked = ?, notice_claimed_at = ?, notice_sent_at = ? WHERE id = ?`,
		r.State, nullString(r.TokenHash), r.ExpiresAt, r.MailClaimedAt, r.MailSentAt, r.MailError, r.AnsweredAt, r.AnsweredBy,
		joinSerials(r.Revoked), r.NoticeClaimedAt, r.NoticeSentAt, r.ID)
	return mustAffect(res, err, "roster request", r.ID)
}

func scanReminder(rows *sql.Rows) (registry.CertReminder, error) {
	var (
		r             registry.CertReminder
		claimed, sent tsCol
	)
	err := rows.Scan(&r.Serial, &claimed, &sent, &r.SentTo)
	r.ClaimedAt, r.SentAt = claimed.T, sent.ptr()
	return r, err
}

func (t *txn) GetCertReminder(ctx context.Context, serial int64) (registry.CertReminder, error) {
	rows, err := t.query(ctx, "SELECT serial, claimed_at, sent_at, sent_to FROM ssh_certificate_reminders WHERE serial = ?", serial)
	return one(rows, err, scanReminder, "certificate reminder", serial)
}

func (t *txn) PutCertReminder(ctx context.Context, r *registry.CertReminder) error {
	_, err := t.exec(ctx, `INSERT INTO ssh_certificate_reminders (serial, claimed_at, sent_at, sent_to) VALUES (?, ?, ?, ?)
		ON CONFLICT (serial) DO UPDATE SET claimed_at = excluded.claimed_at, sent_at = excluded.sent_at, sent_to = excluded.sent_to`,
		r.Serial, r.ClaimedAt, r.SentAt, r.SentTo)
	return err
}
