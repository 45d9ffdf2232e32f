package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"

	"maillon/internal/registry"
)

const nasCols = `id, name, address, secret, kind, message_auth, strip_realm, site_id, coa_port, description, created_at, updated_at, reply_attributes`

func scanNAS(r *sql.Rows) (registry.NAS, error) {
	var (
		n        registry.NAS
		addr     string
		attrs    string
		site     sql.NullInt64
		cat, uat tsCol
	)
	if err := r.Scan(&n.ID, &n.Name, &addr, &n.SealedSecret, &n.Kind, &n.MessageAuth, &n.StripRealm, &site, &n.CoAPort, &n.Description, &cat, &uat, &attrs); err != nil {
		return n, err
	}
	var err error
	if n.Address, err = netip.ParsePrefix(addr); err != nil {
		return n, fmt.Errorf("nas %d: %w", n.ID, err)
	}
	n.SiteID, n.CreatedAt, n.UpdatedAt, n.SecretSet = intPtr(site), cat.T, uat.T, len(n.SealedSecret) > 0
	n.ReplyAttributes = splitLines(attrs)
	return n, nil
}

func (t *txn) GetNAS(ctx context.Context, id int64) (registry.NAS, error) {
	rows, err := t.query(ctx, "SELECT "+nasCols+" FROM nas WHERE id = ?", id)
	return one(rows, err, scanNAS, "nas", id)
}

func (t *txn) ListNAS(ctx context.Context) ([]registry.NAS, error) {
	rows, err := t.query(ctx, "SELECT "+nasCols+" FROM nas ORDER BY id")
	return all(rows, err, scanNAS)
}

func (t *txn) InsertNAS(ctx context.Context, n *registry.NAS) error {
	now := nowUTC()
	id, err := t.insert(ctx, `INSERT INTO nas (name, address, secret, kind, message_auth, strip_realm, site_id, coa_port, description, created_at, updated_at, reply_attributes)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		n.Name, n.Address.String(), n.SealedSecret, n.Kind, n.MessageAuth, n.StripRealm, nullInt(n.SiteID), n.CoAPort, n.Description, now, now, joinLines(n.ReplyAttributes))
	if err != nil {
		return err
	}
	n.ID, n.CreatedAt, n.UpdatedAt = id, now, now
	return nil
}

func (t *txn) UpdateNAS(ctx context.Context, n *registry.NAS) error {
	now := nowUTC()
	r, err := t.exec(ctx, `UPDATE nas SET name = ?, address = ?, secret = ?, kind = ?, message_auth = ?, strip_realm = ?, site_id = ?, coa_port = ?, description = ?, updated_at = ?, reply_attributes = ?
		WHERE id = ?`, n.Name, n.Address.String(), n.SealedSecret, n.Kind, n.MessageAuth, n.StripRealm, nullInt(n.SiteID), n.CoAPort, n.Description, now, joinLines(n.ReplyAttributes), n.ID)
	if err := mustAffect(r, err, "nas", n.ID); err != nil {
		return err
	}
	n.UpdatedAt = now
	return nil
}

func (t *txn) DeleteNAS(ctx context.Context, id int64) error {
	r, err := t.exec(ctx, "DELETE FROM nas WHERE id = ?", id)
	return mustAffect(r, err, "nas", id)
}
