package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"maillon/internal/registry"
)

const journalCols = `id, host_id, host, kind, at, author, text, related_kind, related_id, report, created_at`

func scanJournal(r *sql.Rows) (registry.JournalEntry, error) {
	var (
		e             registry.JournalEntry
		host, related sql.NullInt64
		report        sql.NullString
		at, created   tsCol
	)
	err := r.Scan(&e.ID, &host, &e.Host, &e.Kind, &at, &e.Author, &e.Text, &e.RelatedKind, &related, &report, &created)
	if err != nil {
		return e, err
	}
	e.HostID, e.RelatedID = intPtr(host), intPtr(related)
	e.At, e.CreatedAt = at.T, created.T
	if report.Valid {
		e.Report = new(registry.ChangeReport)
		if err := json.Unmarshal([]byte(report.String), e.Report); err != nil {
			return e, fmt.Errorf("journal entry %d: report: %w", e.ID, err)
		}
	}
	return e, nil
}

func (t *txn) GetJournalEntry(ctx context.Context, id int64) (registry.JournalEntry, error) {
	rows, err := t.query(ctx, "SELECT "+journalCols+" FROM journal_entries WHERE id = ?", id)
	return one(rows, err, scanJournal, "journal entry", id)
}

func (t *txn) GetJournalEntryByReport(ctx context.Context, reportID string) (registry.JournalEntry, error) {
	rows, err := t.query(ctx, "SELECT "+journalCols+" FROM journal_entries WHERE report_id = ?", reportID)
	return one(rows, err, scanJournal, "report", reportID)
}

func (t *txn) ListJournal(ctx context.Context, f registry.JournalFilter) ([]registry.JournalEntry, error) {
	query := "SELECT " + journalCols + " FROM journal_entries WHERE 1=1"
	var args []any
	if f.HostID != 0 {
		query += " AND host_id = ?"
		args = append(args, f.HostID)
	}
	if f.Kind != "" {
		query += " AND kind = ?"
		args = append(args, f.Kind)
	}
	if f.Before != 0 {
		query += " AND id < ?"
		args = append(args, f.Before)
	}
	query += " ORDER BY at DESC, id DESC" + limitClause(registry.ListOptions{Limit: f.Limit})
	rows, err := t.query(ctx, query, args...)
	return all(rows, err, scanJournal)
}

func (t *txn) InsertJournalEntry(ctx context.Context, e *registry.JournalEntry) error {
	var report, reportID any
	if e.Report != nil {
		b, err := json.Marshal(e.Report)
		if err != nil {
			return fmt.Errorf("journal entry: report: %w", err)
		}
		report, reportID = string(b), e.Report.ID
	}
	id, err := t.insert(ctx, `INSERT INTO journal_entries (host_id, host, kind, at, author, text, related_kind, related_id, report_id, report, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		nullInt(e.HostID), e.Host, e.Kind, e.At, e.Author, e.Text, e.RelatedKind, nullInt(e.RelatedID), reportID, report, e.CreatedAt)
	e.ID = id
	return err
}

const agentTokenCols = `t.id, t.host_id, h.name, t.name, t.hash, t.created_at, t.created_by, t.last_used_at`

func scanAgentToken(r *sql.Rows) (registry.AgentToken, error) {
	var (
		tk       registry.AgentToken
		cat, lus tsCol
	)
	err := r.Scan(&tk.ID, &tk.HostID, &tk.Host, &tk.Name, &tk.Hash, &cat, &tk.CreatedBy, &lus)
	tk.CreatedAt, tk.LastUsedAt = cat.T, lus.ptr()
	return tk, err
}

func (t *txn) GetAgentTokenByHash(ctx context.Context, hash string) (registry.AgentToken, error) {
	rows, err := t.query(ctx, "SELECT "+agentTokenCols+" FROM agent_tokens t JOIN hosts h ON h.id = t.host_id WHERE t.hash = ?", hash)
	return one(rows, err, scanAgentToken, "agent token", "(hash)")
}

func (t *txn) ListAgentTokens(ctx context.Context, hostID int64) ([]registry.AgentToken, error) {
	query := "SELECT " + agentTokenCols + " FROM agent_tokens t JOIN hosts h ON h.id = t.host_id"
	var args []any
	if hostID != 0 {
		query += " WHERE t.host_id = ?"
		args = append(args, hostID)
	}
	rows, err := t.query(ctx, query+" ORDER BY t.id", args...)
	return all(rows, err, scanAgentToken)
}

func (t *txn) InsertAgentToken(ctx context.Context, tk *registry.AgentToken) error {
	id, err := t.insert(ctx, "INSERT INTO agent_tokens (host_id, name, hash, created_at, created_by) VALUES (?, ?, ?, ?, ?)",
		tk.HostID, tk.Name, tk.Hash, tk.CreatedAt, tk.CreatedBy)
	tk.ID = id
	return err
}

func (t *txn) DeleteAgentToken(ctx context.Context, id int64) error {
	r, err := t.exec(ctx, "DELETE FROM agent_tokens WHERE id = ?", id)
	return mustAffect(r, err, "agent token", id)
}

func (t *txn) TouchAgentToken(ctx context.Context, id int64, at time.Time) error {
	_, err := t.exec(ctx, "UPDATE agent_tokens SET last_used_at = ? WHERE id = ?", at, id)
	return err
}
