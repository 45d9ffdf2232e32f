package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"maillon/internal/registry"
)

const memberCols = `id, name, email, phone, address, site_id, room, state, notes, created_at, updated_at`

func scanMember(r *sql.Rows) (registry.Member, error) {
	var (
		m        registry.Member
		site     sql.NullInt64
		cat, uat tsCol
	)
	err := r.Scan(&m.ID, &m.Name, &m.Email, &m.Phone, &m.Address, &site, &m.Room, &m.State, &m.Notes, &cat, &uat)
	m.SiteID, m.CreatedAt, m.UpdatedAt = intPtr(site), cat.T, uat.T
	m.Periods = []registry.Period{}
	return m, err
}

// withPeriods fills in the membership periods of members in one query.
func (t *txn) withPeriods(ctx context.Context, ms []registry.Member) ([]registry.Member, error) {
	if len(ms) == 0 {
		return ms, nil
	}
	index := make(map[int64]int, len(ms))
	ids := make([]any, len(ms))
	for i, m := range ms {
		index[m.ID] = i
		ids[i] = m.ID
	}
	query := "SELECT member_id, start_date, end_date FROM membership_periods"
	// A full scan beats a thousand-term IN list once we want most members.
	if len(ms) <= 500 {
		query += " WHERE member_id IN (?" + strings.Repeat(",?", len(ms)-1) + ")"
	} else {
		ids = nil
	}
	rows, err := t.query(ctx, query+" ORDER BY member_id, start_date", ids...)
	if err != nil {
		return nil, fmt.Errorf("membership periods: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id    int64
			start string
			end   sql.NullString
		)
		if err := rows.Scan(&id, &start, &end); err != nil {
			return nil, err
		}
		i, ok := index[id]
		if !ok {
			continue
		}
		p := registry.Period{}
		if p.Start, err = registry.ParseDate(start); err != nil {
			return nil, fmt.Errorf("member %d: %w", id, err)
		}
		if end.Valid {
			e, err := registry.ParseDate(end.String)
			if err != nil {
				return nil, fmt.Errorf("member %d: %w", id, err)
			}
			p.End = &e
		}
		ms[i].Periods = append(ms[i].Periods, p)
	}
	return ms, rows.Err()
}

func (t *txn) getMember(ctx context.Context, where string, arg any) (registry.Member, error) {
	rows, err := t.query(ctx, "SELECT "+memberCols+" FROM members WHERE "+where, arg)
	m, err := one(rows, err, scanMember, "member", arg)
	if err != nil {
		return m, err
	}
	ms, err := t.withPeriods(ctx, []registry.Member{m})
	if err != nil {
		return registry.Member{}, err
	}
	return ms[0], nil
}

func (t *txn) GetMember(ctx context.Context, id int64) (registry.Member, error) {
	return t.getMember(ctx, "id = ?", id)
}

func (t *txn) GetMemberByEmail(ctx context.Context, email string) (registry.Member, error) {
	return t.getMember(ctx, "lower(email) = lower(?)", email)
}

func (t *txn) ListMembers(ctx context.Context, opt registry.ListOptions) ([]registry.Member, error) {
	query := "SELECT " + memberCols + " FROM members WHERE 1=1"
	var args []any
	if opt.State != "" {
		query += " AND state = ?"
		args = append(args, opt.State)
	}
	if opt.Search != "" {
		query += ` AND (lower(name) LIKE ? ESCAPE '\' OR lower(email) LIKE ? ESCAPE '\' OR lower(room) LIKE ? ESCAPE '\' OR lower(phone) LIKE ? ESCAPE '\')`
		l := like(opt.Search)
		args = append(args, l, l, l, l)
	}
	rows, err := t.query(ctx, query+" ORDER BY id"+limitClause(opt), args...)
	ms, err := all(rows, err, scanMember)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	return t.withPeriods(ctx, ms)
}

func (t *txn) CountMembers(ctx context.Context) (int64, error) {
	var n int64
	err := t.row(ctx, "SELECT COUNT(*) FROM members").Scan(&n)
	return n, err
}

func (t *txn) InsertMember(ctx context.Context, m *registry.Member) error {
	now := nowUTC()
	id, err := t.insert(ctx, `INSERT INTO members (name, email, phone, address, site_id, room, state, notes, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.Name, m.Email, m.Phone, m.Address, nullInt(m.SiteID), m.Room, m.State, m.Notes, now, now)
	if err != nil {
		return err
	}
	m.ID, m.CreatedAt, m.UpdatedAt = id, now, now
	return t.writePeriods(ctx, m)
}

func (t *txn) UpdateMember(ctx context.Context, m *registry.Member) error {
	now := nowUTC()
	r, err := t.exec(ctx, `UPDATE members SET name = ?, email = ?, phone = ?, address = ?, site_id = ?, room = ?, state = ?, notes = ?, updated_at = ?
		WHERE id = ?`, m.Name, m.Email, m.Phone, m.Address, nullInt(m.SiteID), m.Room, m.State, m.Notes, now, m.ID)
	if err := mustAffect(r, err, "member", m.ID); err != nil {
		return err
	}
	m.UpdatedAt = now
	if _, err := t.exec(ctx, "DELETE FROM membership_periods WHERE member_id = ?", m.ID); err != nil {
		return err
	}
	return t.writePeriods(ctx, m)
}

func (t *txn) writePeriods(ctx context.Context, m *registry.Member) error {
	for _, p := range m.Periods {
		var end any
		if p.End != nil {
			end = p.End.String()
		}
		if _, err := t.exec(ctx, "INSERT INTO membership_periods (member_id, start_date, end_date) VALUES (?, ?, ?)", m.ID, p.Start.String(), end); err != nil {
			return fmt.Errorf("membership period: %w", err)
		}
	}
	return nil
}

func (t *txn) DeleteMember(ctx context.Context, id int64) error {
	r, err := t.exec(ctx, "DELETE FROM members WHERE id = ?", id)
	return mustAffect(r, err, "member", id)
}
