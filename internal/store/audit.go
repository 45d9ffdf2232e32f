package store

import (
	"context"
	"database/sql"

	"maillon/internal/registry"
)

func (t *txn) AppendAudit(ctx context.Context, e *registry.AuditEntry) error {
	id, err := t.insert(ctx, "INSERT INTO audit_log (at, actor, action, entity, entity_id, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)",
		e.At, e.Actor, e.Action, e.Entity, e.EntityID, jsonArg(e.Before), jsonArg(e.After))
	e.ID = id
	return err
}

func jsonArg(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

func (t *txn) ListAudit(ctx context.Context, f registry.AuditFilter) ([]registry.AuditEntry, error) {
	query := "SELECT id, at, actor, action, entity, entity_id, before, after FROM audit_log WHERE 1=1"
	var args []any
	if f.Entity != "" {
		query += " AND entity = ?"
		args = append(args, f.Entity)
	}
	if f.EntityID != 0 {
		query += " AND entity_id = ?"
		args = append(args, f.EntityID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := t.query(ctx, query+" ORDER BY id DESC"+limitClause(registry.ListOptions{Limit: limit}), args...)
	return all(rows, err, func(r *sql.Rows) (registry.AuditEntry, error) {
		var (
			e             registry.AuditEntry
			at            tsCol
			before, after sql.NullString
		)
		err := r.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Entity, &e.EntityID, &before, &after)
		e.At = at.T
		if before.Valid {
			e.Before = []byte(before.String)
		}
		if after.Valid {
			e.After = []byte(after.String)
		}
		return e, err
	})
}
