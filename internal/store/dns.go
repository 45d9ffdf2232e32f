package store

import (
	"context"
	"database/sql"

	"maillon/internal/registry"
)

const zoneCols = `id, origin, ttl, description, created_at, updated_at`

func scanZone(r *sql.Rows) (registry.Zone, error) {
	var (
		z        registry.Zone
		cat, uat tsCol
	)
	err := r.Scan(&z.ID, &z.Origin, &z.TTL, &z.Description, &cat, &uat)
	z.CreatedAt, z.UpdatedAt = cat.T, uat.T
	return z, err
}

func (t *txn) GetZone(ctx context.Context, id int64) (registry.Zone, error) {
	rows, err := t.query(ctx, "SELECT "+zoneCols+" FROM zones WHERE id = ?", id)
	return one(rows, err, scanZone, "zone", id)
}

func (t *txn) LockZone(ctx context.Context, id int64) (registry.Zone, error) {
	rows, err := t.query(ctx, "SELECT "+zoneCols+" FROM zones WHERE id = ?"+t.d.forUpdate, id)
	return one(rows, err, scanZone, "zone", id)
}

func (t *txn) ListZones(ctx context.Context) ([]registry.Zone, error) {
	rows, err := t.query(ctx, "SELECT "+zoneCols+" FROM zones ORDER BY origin")
	return all(rows, err, scanZone)
}

func (t *txn) InsertZone(ctx context.Context, z *registry.Zone) error {
	now := nowUTC()
	id, err := t.insert(ctx, "INSERT INTO zones (origin, ttl, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
		z.Origin, z.TTL, z.Description, now, now)
	z.ID, z.CreatedAt, z.UpdatedAt = id, now, now
	return err
}

func (t *txn) UpdateZone(ctx context.Context, z *registry.Zone) error {
	now := nowUTC()
	r, err := t.exec(ctx, "UPDATE zones SET origin = ?, ttl = ?, description = ?, updated_at = ? WHERE id = ?", z.Origin, z.TTL, z.Description, now, z.ID)
	z.UpdatedAt = now
	return mustAffect(r, err, "zone", z.ID)
}

func (t *txn) DeleteZone(ctx context.Context, id int64) error {
	r, err := t.exec(ctx, "DELETE FROM zones WHERE id = ?", id)
	return mustAffect(r, err, "zone", id)
}

const recordCols = `id, zone_id, name, type, ttl, data, created_at, updated_at`

func scanRecord(r *sql.Rows) (registry.Record, error) {
	var (
		rec      registry.Record
		cat, uat tsCol
	)
	err := r.Scan(&rec.ID, &rec.ZoneID, &rec.Name, &rec.Type, &rec.TTL, &rec.Data, &cat, &uat)
	rec.CreatedAt, rec.UpdatedAt = cat.T, uat.T
	return rec, err
}

func (t *txn) GetRecord(ctx context.Context, id int64) (registry.Record, error) {
	rows, err := t.query(ctx, "SELECT "+recordCols+" FROM records WHERE id = ?", id)
	return one(rows, err, scanRecord, "record", id)
}

func (t *txn) ListRecords(ctx context.Context, zoneID int64) ([]registry.Record, error) {
	query, args := "SELECT "+recordCols+" FROM records", []any{}
	if zoneID != 0 {
		query += " WHERE zone_id = ?"
		args = append(args, zoneID)
	}
	rows, err := t.query(ctx, query+" ORDER BY zone_id, name, type, id", args...)
	return all(rows, err, scanRecord)
}

func (t *txn) InsertRecord(ctx context.Context, rec *registry.Record) error {
	now := nowUTC()
	id, err := t.insert(ctx, "INSERT INTO records (zone_id, name, type, ttl, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
		rec.ZoneID, rec.Name, rec.Type, rec.TTL, rec.Data, now, now)
	rec.ID, rec.CreatedAt, rec.UpdatedAt = id, now, now
	return err
}

func (t *txn) UpdateRecord(ctx context.Context, rec *registry.Record) error {
	now := nowUTC()
	r, err := t.exec(ctx, "UPDATE records SET zone_id = ?, name = ?, type = ?, ttl = ?, data = ?, updated_at = ? WHERE id = ?",
		rec.ZoneID, rec.Name, rec.Type, rec.TTL, rec.Data, now, rec.ID)
	rec.UpdatedAt = now
	return mustAffect(r, err, "record", rec.ID)
}

func (t *txn) DeleteRecord(ctx context.Context, id int64) error {
	r, err := t.exec(ctx, "DELETE FROM records WHERE id = ?", id)
	return mustAffect(r, err, "record", id)
}
