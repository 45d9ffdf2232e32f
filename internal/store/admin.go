package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"maillon/internal/registry"
)

const adminCols = `id, name, email, roles, created_at, updated_at, device_password`

func scanAdmin(r *sql.Rows) (registry.Admin, error) {
	var (
		a        registry.Admin
		roles    string
		cat, uat tsCol
	)
	err := r.Scan(&a.ID, &a.Name, &a.Email, &roles, &cat, &uat, &a.SealedDevicePassword)
	a.DevicePasswordSet = len(a.SealedDevicePassword) > 0
	a.Roles = []registry.Role{}
	for _, s := range strings.Split(roles, ",") {
		if s != "" {
			a.Roles = append(a.Roles, registry.Role(s))
		}
	}
	a.CreatedAt, a.UpdatedAt = cat.T, uat.T
	return a, err
}

func joinRoles(rs []registry.Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

func (t *txn) GetAdmin(ctx context.Context, id int64) (registry.Admin, error) {
	rows, err := t.query(ctx, "SELECT "+adminCols+" FROM admins WHERE id = ?", id)
	return one(rows, err, scanAdmin, "admin", id)
}

func (t *txn) ListAdmins(ctx context.Context) ([]registry.Admin, error) {
	rows, err := t.query(ctx, "SELECT "+adminCols+" FROM admins ORDER BY id")
	return all(rows, err, scanAdmin)
}

func (t *txn) InsertAdmin(ctx context.Context, a *registry.Admin) error {
	now := nowUTC()
	id, err := t.insert(ctx, "INSERT INTO admins (name, email, roles, created_at, updated_at, device_password) VALUES (?, ?, ?, ?, ?, ?)",
		a.Name, a.Email, joinRoles(a.Roles), now, now, a.SealedDevicePassword)
	a.ID, a.CreatedAt, a.UpdatedAt = id, now, now
	return err
}

func (t *txn) UpdateAdmin(ctx context.Context, a *registry.Admin) error {
	now := nowUTC()
	r, err := t.exec(ctx, "UPDATE admins SET name = ?, email = ?, roles = ?, updated_at = ?, device_password = ? WHERE id = ?",
		a.Name, a.Email, joinRoles(a.Roles), now, a.SealedDevicePassword, a.ID)
	a.UpdatedAt = now
	return mustAffect(r, err, "admin", a.ID)
}

func (t *txn) DeleteAdmin(ctx context.Context, id int64) error {
	r, err := t.exec(ctx, "DELETE FROM admins WHERE id = ?", id)
	return mustAffect(r, err, "admin", id)
}

const tokenCols = `id, admin_id, name, hash, created_at, expires_at, last_used_at`

func scanToken(r *sql.Rows) (registry.Token, error) {
	var (
		tk            registry.Token
		cat, exp, lus tsCol
	)
	err := r.Scan(&tk.ID, &tk.AdminID, &tk.Name, &tk.Hash, &cat, &exp, &lus)
	tk.CreatedAt, tk.ExpiresAt, tk.LastUsedAt = cat.T, exp.ptr(), lus.ptr()
	return tk, err
}

func (t *txn) GetTokenByHash(ctx context.Context, hash string) (registry.Token, error) {
	rows, err := t.query(ctx, "SELECT "+tokenCols+" FROM api_tokens WHERE hash = ?", hash)
	return one(rows, err, scanToken, "token", "(hash)")
}

func (t *txn) ListTokens(ctx context.Context, adminID int64) ([]registry.Token, error) {
	rows, err := t.query(ctx, "SELECT "+tokenCols+" FROM api_tokens WHERE admin_id = ? ORDER BY id", adminID)
	return all(rows, err, scanToken)
}

func (t *txn) InsertToken(ctx context.Context, tk *registry.Token) error {
	id, err := t.insert(ctx, "INSERT INTO api_tokens (admin_id, name, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
		tk.AdminID, tk.Name, tk.Hash, tk.CreatedAt, tk.ExpiresAt)
	tk.ID = id
	return err
}

func (t *txn) DeleteToken(ctx context.Context, id int64) error {
	r, err := t.exec(ctx, "DELETE FROM api_tokens WHERE id = ?", id)
	return mustAffect(r, err, "token", id)
}

func (t *txn) TouchToken(ctx context.Context, id int64, at time.Time) error {
	_, err := t.exec(ctx, "UPDATE api_tokens SET last_used_at = ? WHERE id = ?", at, id)
	return err
}
