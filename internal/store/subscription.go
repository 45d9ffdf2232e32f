package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"maillon/internal/registry"
)

const subscriptionCols = `id, member_id, kind, login, password, state, upstream_ref, cpe_id, site_id, port_id, mac, vlan, notes, created_at, updated_at, reply_attributes`

func scanSubscription(r *sql.Rows) (registry.Subscription, error) {
	var (
		s               registry.Subscription
		cpe, site, port sql.NullInt64
		mac             sql.NullString
		attrs           string
		cat, uat        tsCol
	)
	err := r.Scan(&s.ID, &s.MemberID, &s.Kind, &s.Login, &s.SealedPassword, &s.State, &s.UpstreamRef, &cpe, &site, &port, &mac, &s.VLAN, &s.Notes, &cat, &uat, &attrs)
	s.ReplyAttributes = splitLines(attrs)
	s.CPEID, s.SiteID, s.PortID = intPtr(cpe), intPtr(site), intPtr(port)
	s.MAC, s.CreatedAt, s.UpdatedAt = mac.String, cat.T, uat.T
	s.PasswordSet = len(s.SealedPassword) > 0
	s.Addresses = []registry.Allocation{}
	return s, err
}

// withAddresses fills in the active allocations of subscriptions.
func (t *txn) withAddresses(ctx context.Context, subs []registry.Subscription) ([]registry.Subscription, error) {
	if len(subs) == 0 {
		return subs, nil
	}
	index := make(map[int64]int, len(subs))
	ids := make([]any, len(subs))
	for i, s := range subs {
		index[s.ID] = i
		ids[i] = s.ID
	}
	query := "SELECT " + allocationCols + " FROM allocations WHERE subscription_id IS NOT NULL"
	if len(subs) <= 500 {
		query += " AND subscription_id IN (?" + strings.Repeat(",?", len(subs)-1) + ")"
	} else {
		ids = nil
	}
	rows, err := t.query(ctx, query+" ORDER BY id", ids...)
	allocs, err := all(rows, err, scanAllocation)
	if err != nil {
		return nil, fmt.Errorf("subscription addresses: %w", err)
	}
	for _, a := range allocs {
		if i, ok := index[*a.SubscriptionID]; ok {
			subs[i].Addresses = append(subs[i].Addresses, a)
		}
	}
	return subs, nil
}

func (t *txn) getSubscription(ctx context.Context, where string, arg any) (registry.Subscription, error) {
	rows, err := t.query(ctx, "SELECT "+subscriptionCols+" FROM subscriptions WHERE "+where, arg)
	s, err := one(rows, err, scanSubscription, "subscription", arg)
	if err != nil {
		return s, err
	}
	subs, err := t.withAddresses(ctx, []registry.Subscription{s})
	if err != nil {
		return registry.Subscription{}, err
	}
	return subs[0], nil
}

func (t *txn) GetSubscription(ctx context.Context, id int64) (registry.Subscription, error) {
	return t.getSubscription(ctx, "id = ?", id)
}

func (t *txn) GetSubscriptionByLogin(ctx context.Context, login string) (registry.Subscription, error) {
	return t.getSubscription(ctx, "login = ?", login)
}

func (t *txn) GetSubscriptionByMAC(ctx context.Context, mac string) (registry.Subscription, error) {
	return t.getSubscription(ctx, "mac = ?", mac)
}

func (t *txn) ListSubscriptions(ctx context.Context, f registry.SubscriptionFilter) ([]registry.Subscription, error) {
	query := "SELECT " + subscriptionCols + " FROM subscriptions WHERE 1=1"
	var args []any
	if f.MemberID != 0 {
		query += " AND member_id = ?"
		args = append(args, f.MemberID)
	}
	if f.Kind != "" {
		query += " AND kind = ?"
		args = append(args, f.Kind)
	}
	if f.State != "" {
		query += " AND state = ?"
		args = append(args, f.State)
	}
	if f.Search != "" {
		query += ` AND (lower(login) LIKE ? ESCAPE '\' OR lower(upstream_ref) LIKE ? ESCAPE '\' OR mac LIKE ? ESCAPE '\')`
		l := like(f.Search)
		args = append(args, l, l, l)
	}
	rows, err := t.query(ctx, query+" ORDER BY id"+limitClause(f.ListOptions), args...)
	subs, err := all(rows, err, scanSubscription)
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	return t.withAddresses(ctx, subs)
}

func (t *txn) InsertSubscription(ctx context.Context, s *registry.Subscription) error {
	now := nowUTC()
	id, err := t.insert(ctx, `INSERT INTO subscriptions (member_id, kind, login, password, state, upstream_ref, cpe_id, site_id, port_id, mac, vlan, notes, created_at, updated_at, reply_attributes)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.MemberID, s.Kind, s.Login, s.SealedPassword, s.State, s.UpstreamRef, nullInt(s.CPEID), nullInt(s.SiteID), nullInt(s.PortID), nullString(s.MAC), s.VLAN, s.Notes, now, now, joinLines(s.ReplyAttributes))
	if err != nil {
		return err
	}
	s.ID, s.CreatedAt, s.UpdatedAt = id, now, now
	return nil
}

func (t *txn) UpdateSubscription(ctx context.Context, s *registry.Subscription) error {
	now := nowUTC()
	r, err := t.exec(ctx, `UPDATE subscriptions SET member_id = ?, kind = ?, login = ?, password = ?, state = ?, upstream_ref = ?, cpe_id = ?, site_id = ?, port_id = ?, mac = ?, vlan = ?, notes = ?, updated_at = ?, reply_attributes = ?
		WHERE id = ?`,
		s.MemberID, s.Kind, s.Login, s.SealedPassword, s.State, s.UpstreamRef, nullInt(s.CPEID), nullInt(s.SiteID), nullInt(s.PortID), nullString(s.MAC), s.VLAN, s.Notes, now, joinLines(s.ReplyAttributes), s.ID)
	if err := mustAffect(r, err, "subscription", s.ID); err != nil {
		return err
	}
	s.UpdatedAt = now
	return nil
}

func (t *txn) DeleteSubscription(ctx context.Context, id int64) error {
	// Released blocks keep their quarantine but no longer name the holder.
	if _, err := t.exec(ctx, "UPDATE allocations SET subscription_id = NULL WHERE subscription_id = ?", id); err != nil {
		return err
	}
	r, err := t.exec(ctx, "DELETE FROM subscriptions WHERE id = ?", id)
	return mustAffect(r, err, "subscription", id)
}
