package store

import (
	"context"
	"database/sql"

	"maillon/internal/registry"
)

const cpeCols = `id, model, serial, mac, state, member_id, notes, created_at, updated_at`

func scanCPE(r *sql.Rows) (registry.CPE, error) {
	var (
		c        registry.CPE
		mac      sql.NullString
		member   sql.NullInt64
		cat, uat tsCol
	)
	err := r.Scan(&c.ID, &c.Model, &c.Serial, &mac, &c.State, &member, &c.Notes, &cat, &uat)
	c.MAC, c.MemberID, c.CreatedAt, c.UpdatedAt = mac.String, intPtr(member), cat.T, uat.T
	return c, err
}

func (t *txn) GetCPE(ctx context.Context, id int64) (registry.CPE, error) {
	rows, err := t.query(ctx, "SELECT "+cpeCols+" FROM cpes WHERE id = ?", id)
	return one(rows, err, scanCPE, "cpe", id)
}

func (t *txn) ListCPEs(ctx context.Context, opt registry.ListOptions) ([]registry.CPE, error) {
	query := "SELECT " + cpeCols + " FROM cpes WHERE 1=1"
	var args []any
	if opt.State != "" {
		query += " AND state = ?"
		args = append(args, opt.State)
	}
	if opt.Search != "" {
		query += ` AND (lower(model) LIKE ? ESCAPE '\' OR lower(serial) LIKE ? ESCAPE '\' OR mac LIKE ? ESCAPE '\')`
		l := like(opt.Search)
		args = append(args, l, l, l)
	}
	rows, err := t.query(ctx, query+" ORDER BY id"+limitClause(opt), args...)
	return all(rows, err, scanCPE)
}

func (t *txn) InsertCPE(ctx context.Context, c *registry.CPE) error {
	now := nowUTC()
	id, err := t.insert(ctx, "INSERT INTO cpes (model, serial, mac, state, member_id, notes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		c.Model, c.Serial, nullString(c.MAC), c.State, nullInt(c.MemberID), c.Notes, now, now)
	c.ID, c.CreatedAt, c.UpdatedAt = id, now, now
	return err
}

func (t *txn) UpdateCPE(ctx context.Context, c *registry.CPE) error {
	now := nowUTC()
	r, err := t.exec(ctx, "UPDATE cpes SET model = ?, serial = ?, mac = ?, state = ?, member_id = ?, notes = ?, updated_at = ? WHERE id = ?",
		c.Model, c.Serial, nullString(c.MAC), c.State, nullInt(c.MemberID), c.Notes, now, c.ID)
	c.UpdatedAt = now
	return mustAffect(r, err, "cpe", c.ID)
}

func (t *txn) DeleteCPE(ctx context.Context, id int64) error {
	r, err := t.exec(ctx, "DELETE FROM cpes WHERE id = ?", id)
	return mustAffect(r, err, "cpe", id)
}
