package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"maillon/internal/registry"
)

const webSessionCols = `id, kind, subject_id, token_hash, csrf, via, remote_addr, created_at, last_seen_at, expires_at`

func scanWebSession(r *sql.Rows) (registry.WebSession, error) {
	var (
		s                registry.WebSession
		cat, seen, until tsCol
	)
	err := r.Scan(&s.ID, &s.Kind, &s.SubjectID, &s.TokenHash, &s.CSRF, &s.Via, &s.RemoteAddr, &cat, &seen, &until)
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = cat.T, seen.T, until.T
	return s, err
}

func (t *txn) GetWebSession(ctx context.Context, tokenHash string) (registry.WebSession, error) {
	rows, err := t.query(ctx, "SELECT "+webSessionCols+" FROM web_sessions WHERE token_hash = ?", tokenHash)
	return one(rows, err, scanWebSession, "web session", "(token)")
}

func (t *txn) InsertWebSession(ctx context.Context, s *registry.WebSession) error {
	id, err := t.insert(ctx, `INSERT INTO web_sessions (kind, subject_id, token_hash, csrf, via, remote_addr, created_at, last_seen_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.Kind, s.SubjectID, s.TokenHash, s.CSRF, s.Via, s.RemoteAddr, s.CreatedAt, s.LastSeenAt, s.ExpiresAt)
	s.ID = id
	return err
}

func (t *txn) TouchWebSession(ctx context.Context, id int64, at time.Time) error {
	_, err := t.exec(ctx, "UPDATE web_sessions SET last_seen_at = ? WHERE id = ?", at, id)
	return err
}

func (t *txn) DeleteWebSession(ctx context.Context, id int64) error {
	r, err := t.exec(ctx, "DELETE FROM web_sessions WHERE id = ?", id)
	return mustAffect(r, err, "web session", id)
}

func (t *txn) DeleteWebSessionsOf(ctx context.Context, kind registry.SessionKind, subjectID int64) error {
	_, err := t.exec(ctx, "DELETE FROM web_sessions WHERE kind = ? AND subject_id = ?", kind, subjectID)
	return err
}

func (t *txn) DeleteExpiredWebSessions(ctx context.Context, now time.Time) error {
	_, err := t.exec(ctx, "DELETE FROM web_sessions WHERE expires_at <= ?", now)
	return err
}

func (t *txn) GetAdminPassword(ctx context.Context, adminID int64) (string, error) {
	var hash string
	err := t.row(ctx, "SELECT hash FROM admin_passwords WHERE admin_id = ?", adminID).Scan(&hash)
	if err == sql.ErrNoRows || (err == nil && hash == "") {
		return "", registry.NotFound("password of admin", adminID)
	}
	return hash, t.d.mapErr(err)
}

func (t *txn) SetAdminPassword(ctx context.Context, adminID int64, hash string, at time.Time) error {
	if hash == "" {
		_, err := t.exec(ctx, "DELETE FROM admin_passwords WHERE admin_id = ?", adminID)
		return err
	}
	_, err := t.exec(ctx, `INSERT INTO admin_passwords (admin_id, hash, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (admin_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at`, adminID, hash, at)
	return err
}

func (t *txn) ListMemberCPEs(ctx context.Context, memberID int64) ([]registry.CPE, error) {
	rows, err := t.query(ctx, "SELECT "+cpeCols+" FROM cpes WHERE member_id = ? ORDER BY id", memberID)
	return all(rows, err, scanCPE)
}

func (t *txn) ListPools(ctx context.Context) ([]registry.Prefix, error) {
	rows, err := t.query(ctx, "SELECT "+strings.Replace(prefixCols, usedCount, "0", 1)+" FROM prefixes p ORDER BY p.id")
	return all(rows, err, scanPrefix)
}
