package store

import (
	"context"
	"database/sql"
	"time"

	"maillon/internal/registry"
)

func scanMemberPrefs(r *sql.Rows) (registry.MemberPrefs, error) {
	var (
		p   registry.MemberPrefs
		uat tsCol
	)
	err := r.Scan(&p.MemberID, &p.Maintenance, &p.Incidents, &uat)
	p.UpdatedAt = uat.T
	return p, err
}

func (t *txn) GetMemberPrefs(ctx context.Context, memberID int64) (registry.MemberPrefs, error) {
	rows, err := t.query(ctx, "SELECT member_id, maintenance, incidents, updated_at FROM member_prefs WHERE member_id = ?", memberID)
	return one(rows, err, scanMemberPrefs, "notification choices of member", memberID)
}

func (t *txn) PutMemberPrefs(ctx context.Context, p *registry.MemberPrefs) error {
	_, err := t.exec(ctx, `INSERT INTO member_prefs (member_id, maintenance, incidents, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (member_id) DO UPDATE SET maintenance = excluded.maintenance, incidents = excluded.incidents, updated_at = excluded.updated_at`,
		p.MemberID, p.Maintenance, p.Incidents, p.UpdatedAt)
	return err
}

const loginLinkCols = `id, member_id, hash, created_at, expires_at, used_at`

func scanLoginLink(r *sql.Rows) (registry.LoginLink, error) {
	var (
		l              registry.LoginLink
		cat, exp, used tsCol
	)
	err := r.Scan(&l.ID, &l.MemberID, &l.Hash, &cat, &exp, &used)
	l.CreatedAt, l.ExpiresAt, l.UsedAt = cat.T, exp.T, used.ptr()
	return l, err
}

func (t *txn) GetLoginLinkByHash(ctx context.Context, hash string) (registry.LoginLink, error) {
	rows, err := t.query(ctx, "SELECT "+loginLinkCols+" FROM member_login_links WHERE hash = ?", hash)
	return one(rows, err, scanLoginLink, "login link", "(hash)")
}

func (t *txn) InsertLoginLink(ctx context.Context, l *registry.LoginLink) error {
	id, err := t.insert(ctx, "INSERT INTO member_login_links (member_id, hash, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?)",
		l.MemberID, l.Hash, l.CreatedAt, l.ExpiresAt, l.UsedAt)
	l.ID = id
	return err
}

func (t *txn) UseLoginLink(ctx context.Context, id int64, at time.Time) error {
	r, err := t.exec(ctx, "UPDATE member_login_links SET used_at = ? WHERE id = ? AND used_at IS NULL", at, id)
	return mustAffect(r, err, "unused login link", id)
}

func (t *txn) DeleteLoginLinks(ctx context.Context, expiredBefore time.Time) error {
	_, err := t.exec(ctx, "DELETE FROM member_login_links WHERE expires_at < ?", expiredBefore)
	return err
}
