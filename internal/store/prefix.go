package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"maillon/internal/registry"
)

const usedCount = `(SELECT COUNT(*) FROM allocations a WHERE a.prefix_id = p.id AND a.subscription_id IS NOT NULL)`

const prefixCols = `p.id, p.cidr, p.purpose, p.block_bits, p.kind, p.site_id, p.description, p.next_index, p.created_at, p.updated_at, p.ptr_template, p.dns_forward,
	` + usedCount

func scanPrefix(r *sql.Rows) (registry.Prefix, error) {
	var (
		p        registry.Prefix
		cidr     string
		site     sql.NullInt64
		cat, uat tsCol
	)
	if err := r.Scan(&p.ID, &cidr, &p.Purpose, &p.BlockBits, &p.Kind, &site, &p.Description, &p.NextIndex, &cat, &uat, &p.PTRTemplate, &p.DNSForward, &p.Used); err != nil {
		return p, err
	}
	var err error
	if p.CIDR, err = netip.ParsePrefix(cidr); err != nil {
		return p, fmt.Errorf("prefix %d: %w", p.ID, err)
	}
	p.SiteID, p.CreatedAt, p.UpdatedAt = intPtr(site), cat.T, uat.T
	return p, p.Recount()
}

func (t *txn) GetPrefix(ctx context.Context, id int64) (registry.Prefix, error) {
	rows, err := t.query(ctx, "SELECT "+prefixCols+" FROM prefixes p WHERE p.id = ?", id)
	return one(rows, err, scanPrefix, "prefix", id)
}

func (t *txn) ListPrefixes(ctx context.Context) ([]registry.Prefix, error) {
	rows, err := t.query(ctx, "SELECT "+prefixCols+" FROM prefixes p ORDER BY p.id")
	return all(rows, err, scanPrefix)
}

func (t *txn) LockPrefixes(ctx context.Context) error {
	if stmt := t.d.lockTable("prefixes"); stmt != "" {
		_, err := t.exec(ctx, stmt)
		return err
	}
	return nil
}

func (t *txn) LockPrefix(ctx context.Context, id int64) (registry.Prefix, error) {
	// Allocation needs the pool and its cursor, not its usage count, which
	// would cost a scan of the pool's allocations on every new line.
	query := "SELECT " + strings.Replace(prefixCols, usedCount, "0", 1) + " FROM prefixes p WHERE p.id = ?" + t.d.forUpdate
	rows, err := t.query(ctx, query, id)
	return one(rows, err, scanPrefix, "prefix", id)
}

func (t *txn) InsertPrefix(ctx context.Context, p *registry.Prefix) error {
	now := nowUTC()
	id, err := t.insert(ctx, `INSERT INTO prefixes (cidr, purpose, block_bits, kind, site_id, description, next_index, created_at, updated_at, ptr_template, dns_forward)
		VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)`, p.CIDR.String(), p.Purpose, p.BlockBits, p.Kind, nullInt(p.SiteID), p.Description, now, now, p.PTRTemplate, p.DNSForward)
	if err != nil {
		return err
	}
	p.ID, p.CreatedAt, p.UpdatedAt = id, now, now
	return nil
}

func (t *txn) UpdatePrefix(ctx context.Context, p *registry.Prefix) error {
	now := nowUTC()
	r, err := t.exec(ctx, `UPDATE prefixes SET cidr = ?, purpose = ?, block_bits = ?, kind = ?, site_id = ?, description = ?, updated_at = ?, ptr_template = ?, dns_forward = ? WHERE id = ?`,
		p.CIDR.String(), p.Purpose, p.BlockBits, p.Kind, nullInt(p.SiteID), p.Description, now, p.PTRTemplate, p.DNSForward, p.ID)
	return mustAffect(r, err, "prefix", p.ID)
}

func (t *txn) DeletePrefix(ctx context.Context, id int64) error {
	// Blocks still in quarantine go with their pool.
	if _, err := t.exec(ctx, "DELETE FROM allocations WHERE prefix_id = ? AND subscription_id IS NULL", id); err != nil {
		return err
	}
	r, err := t.exec(ctx, "DELETE FROM prefixes WHERE id = ?", id)
	return mustAffect(r, err, "prefix", id)
}

func (t *txn) SetPrefixCursor(ctx context.Context, id, next int64) error {
	_, err := t.exec(ctx, "UPDATE prefixes SET next_index = ? WHERE id = ?", next, id)
	return err
}

const allocationCols = `id, prefix_id, block_index, block, role, subscription_id, reverse_name, allocated_at, released_at, reusable_at`

func scanAllocation(r *sql.Rows) (registry.Allocation, error) {
	var (
		a             registry.Allocation
		block         string
		sub           sql.NullInt64
		at, rel, reus tsCol
	)
	if err := r.Scan(&a.ID, &a.PrefixID, &a.Index, &block, &a.Role, &sub, &a.ReverseName, &at, &rel, &reus); err != nil {
		return a, err
	}
	var err error
	if a.Block, err = netip.ParsePrefix(block); err != nil {
		return a, fmt.Errorf("allocation %d: %w", a.ID, err)
	}
	a.SubscriptionID, a.AllocatedAt, a.ReleasedAt, a.ReusableAt = intPtr(sub), at.T, rel.ptr(), reus.ptr()
	return a, nil
}

func (t *txn) ListAllocations(ctx context.Context, f registry.AllocationFilter) ([]registry.Allocation, error) {
	query := "SELECT " + allocationCols + " FROM allocations WHERE 1=1"
	var args []any
	if f.PrefixID != 0 {
		query += " AND prefix_id = ?"
		args = append(args, f.PrefixID)
	}
	if f.SubscriptionID != 0 {
		query += " AND subscription_id = ?"
		args = append(args, f.SubscriptionID)
	}
	if f.ActiveOnly {
		query += " AND subscription_id IS NOT NULL"
	}
	rows, err := t.query(ctx, query+" ORDER BY prefix_id, block_index", args...)
	return all(rows, err, scanAllocation)
}

func (t *txn) GetAllocationAt(ctx context.Context, prefixID, index int64) (registry.Allocation, error) {
	rows, err := t.query(ctx, "SELECT "+allocationCols+" FROM allocations WHERE prefix_id = ? AND block_index = ?", prefixID, index)
	return one(rows, err, scanAllocation, "allocation", fmt.Sprintf("%d/%d", prefixID, index))
}

func (t *txn) InsertAllocation(ctx context.Context, a *registry.Allocation) error {
	// ON CONFLICT DO NOTHING: a taken block is an expected answer, and on
	// PostgreSQL a failed INSERT would abort the whole transaction.
	var id int64
	err := t.row(ctx, `INSERT INTO allocations (prefix_id, block_index, block, role, subscription_id, reverse_name, allocated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (prefix_id, block_index) DO NOTHING RETURNING id`,
		a.PrefixID, a.Index, a.Block.String(), a.Role, nullInt(a.SubscriptionID), a.ReverseName, a.AllocatedAt).Scan(&id)
	if err == sql.ErrNoRows {
		return fmt.Errorf("block %s: %w", a.Block, registry.ErrConflict)
	}
	if err != nil {
		return t.d.mapErr(err)
	}
	a.ID = id
	return nil
}

func (t *txn) ReuseAllocation(ctx context.Context, prefixID int64, now time.Time, a *registry.Allocation) error {
	var (
		block string
	)
	err := t.row(ctx, `UPDATE allocations SET subscription_id = ?, role = ?, reverse_name = '', allocated_at = ?, released_at = NULL, reusable_at = NULL
		WHERE id = (SELECT id FROM allocations WHERE prefix_id = ? AND subscription_id IS NULL AND reusable_at <= ? ORDER BY block_index LIMIT 1)
		RETURNING id, block_index, block`,
		nullInt(a.SubscriptionID), a.Role, a.AllocatedAt, prefixID, now).Scan(&a.ID, &a.Index, &block)
	if err == sql.ErrNoRows {
		return registry.NotFound("reusable block in prefix", prefixID)
	}
	if err != nil {
		return t.d.mapErr(err)
	}
	a.PrefixID = prefixID
	a.Block, err = netip.ParsePrefix(block)
	return err
}

func (t *txn) UpdateAllocation(ctx context.Context, a *registry.Allocation) error {
	r, err := t.exec(ctx, "UPDATE allocations SET reverse_name = ? WHERE id = ?", a.ReverseName, a.ID)
	return mustAffect(r, err, "allocation", a.ID)
}

func (t *txn) ReleaseAllocations(ctx context.Context, subscriptionID int64, at, reusableAt time.Time) error {
	_, err := t.exec(ctx, "UPDATE allocations SET subscription_id = NULL, released_at = ?, reusable_at = ? WHERE subscription_id = ?", at, reusableAt, subscriptionID)
	return err
}
