package store

import (
	"context"
	"database/sql"
	"fmt"

	"maillon/internal/registry"
)

const certCols = `serial, kind, admin_id, host_id, subject, key_id, public_key, fingerprint, principals, valid_after, valid_before,
	signer_key, signer_fingerprint, certificate, issued_at, issued_by, revoked_at, revoked_by, revocation_reason`

func scanCert(r *sql.Rows) (registry.Certificate, error) {
	var (
		c                     registry.Certificate
		admin, host           sql.NullInt64
		principals            string
		after, before, issued tsCol
		revoked               tsCol
	)
	err := r.Scan(&c.Serial, &c.Kind, &admin, &host, &c.Subject, &c.KeyID, &c.PublicKey, &c.Fingerprint, &principals,
		&after, &before, &c.SignerKey, &c.SignerFingerprint, &c.Certificate, &issued, &c.IssuedBy, &revoked, &c.RevokedBy, &c.RevocationReason)
	c.AdminID, c.HostID = intPtr(admin), intPtr(host)
	c.Principals = splitLines(principals)
	c.ValidAfter, c.ValidBefore, c.IssuedAt, c.RevokedAt = after.T, before.T, issued.T, revoked.ptr()
	return c, err
}

func (t *txn) GetCertificate(ctx context.Context, serial int64) (registry.Certificate, error) {
	rows, err := t.query(ctx, "SELECT "+certCols+" FROM ssh_certificates WHERE serial = ?", serial)
	return one(rows, err, scanCert, "certificate", serial)
}

func (t *txn) ListCertificates(ctx context.Context, f registry.CertificateFilter) ([]registry.Certificate, error) {
	query := "SELECT " + certCols + " FROM ssh_certificates WHERE 1=1"
	var args []any
	if f.Kind != "" {
		query += " AND kind = ?"
		args = append(args, f.Kind)
	}
	if f.AdminID != 0 {
		query += " AND admin_id = ?"
		args = append(args, f.AdminID)
	}
	if f.HostID != 0 {
		query += " AND host_id = ?"
		args = append(args, f.HostID)
	}
	if f.Fingerprint != "" {
		query += " AND fingerprint = ?"
		args = append(args, f.Fingerprint)
	}
	if f.Revoked != nil {
		if *f.Revoked {
			query += " AND revoked_at IS NOT NULL"
		} else {
			query += " AND revoked_at IS NULL"
		}
	}
	if !f.ActiveAt.IsZero() {
		query += " AND revoked_at IS NULL AND valid_after <= ? AND valid_before > ?"
		args = append(args, f.ActiveAt, f.ActiveAt)
	}
	query += " ORDER BY serial DESC"
	if f.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := t.query(ctx, query, args...)
	return all(rows, err, scanCert)
}

func (t *txn) NextCertificateSerial(ctx context.Context) (int64, error) {
	var n int64
	err := t.row(ctx, "UPDATE ssh_serials SET last = last + 1 WHERE id = 1 RETURNING last").Scan(&n)
	return n, t.d.mapErr(err)
}

func (t *txn) InsertCertificate(ctx context.Context, c *registry.Certificate) error {
	_, err := t.exec(ctx, `INSERT INTO ssh_certificates (`+certCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Serial, c.Kind, nullInt(c.AdminID), nullInt(c.HostID), c.Subject, c.KeyID, c.PublicKey, c.Fingerprint, joinLines(c.Principals),
		c.ValidAfter, c.ValidBefore, c.SignerKey, c.SignerFingerprint, c.Certificate, c.IssuedAt, c.IssuedBy, c.RevokedAt, c.RevokedBy, c.RevocationReason)
	return err
}

func (t *txn) SetCertificateRevoked(ctx context.Context, c *registry.Certificate) error {
	r, err := t.exec(ctx, "UPDATE ssh_certificates SET revoked_at = ?, revoked_by = ?, revocation_reason = ? WHERE serial = ?",
		c.RevokedAt, c.RevokedBy, c.RevocationReason, c.Serial)
	return mustAffect(r, err, "certificate", c.Serial)
}

const revokedKeyCols = `id, fingerprint, public_key, reason, revoked_at, revoked_by`

func scanRevokedKey(r *sql.Rows) (registry.RevokedKey, error) {
	var (
		k  registry.RevokedKey
		at tsCol
	)
	err := r.Scan(&k.ID, &k.Fingerprint, &k.PublicKey, &k.Reason, &at, &k.RevokedBy)
	k.RevokedAt = at.T
	return k, err
}

func (t *txn) GetRevokedKey(ctx context.Context, fingerprint string) (registry.RevokedKey, error) {
	rows, err := t.query(ctx, "SELECT "+revokedKeyCols+" FROM ssh_revoked_keys WHERE fingerprint = ?", fingerprint)
	return one(rows, err, scanRevokedKey, "revoked key", fingerprint)
}

func (t *txn) ListRevokedKeys(ctx context.Context) ([]registry.RevokedKey, error) {
	rows, err := t.query(ctx, "SELECT "+revokedKeyCols+" FROM ssh_revoked_keys ORDER BY id")
	return all(rows, err, scanRevokedKey)
}

func (t *txn) InsertRevokedKey(ctx context.Context, k *registry.RevokedKey) error {
	id, err := t.insert(ctx, "INSERT INTO ssh_revoked_keys (fingerprint, public_key, reason, revoked_at, revoked_by) VALUES (?, ?, ?, ?, ?)",
		k.Fingerprint, k.PublicKey, k.Reason, k.RevokedAt, k.RevokedBy)
	k.ID = id
	return err
}
