package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"maillon/internal/registry"
)

const checkCols = `id, name, kind, target_type, target_id, service, settings, interval_s, timeout_s, retries, severity, tags, parents, enabled, secret, push_token, created_at, updated_at`

func scanCheck(r *sql.Rows) (registry.Check, error) {
	var (
		c              registry.Check
		target         sql.NullInt64
		settings, tags string
		parents        string
		token          sql.NullString
		cat, uat       tsCol
	)
	if err := r.Scan(&c.ID, &c.Name, &c.Kind, &c.TargetType, &target, &c.Service, &settings, &c.IntervalSeconds, &c.TimeoutSeconds,
		&c.Retries, &c.Severity, &tags, &parents, &c.Enabled, &c.SealedSecret, &token, &cat, &uat); err != nil {
		return c, err
	}
	// The kind-specific settings: one JSON column, so that a new kind
	// needs no migration.
	if err := json.Unmarshal([]byte(settings), &c.CheckProbe); err != nil {
		return c, fmt.Errorf("check %d settings: %w", c.ID, err)
	}
	c.TargetID, c.Tags, c.PushTokenHash = intPtr(target), splitLines(tags), token.String
	for _, p := range splitLines(parents) {
		id, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return c, fmt.Errorf("check %d parents: %w", c.ID, err)
		}
		c.Parents = append(c.Parents, id)
	}
	c.SecretSet = len(c.SealedSecret) > 0
	c.CreatedAt, c.UpdatedAt = cat.T, uat.T
	return c, nil
}

func checkArgs(c *registry.Check) (settings, parents string, secret any) {
	b, _ := json.Marshal(c.CheckProbe)
	ps := make([]string, len(c.Parents))
	for i, p := range c.Parents {
		ps[i] = strconv.FormatInt(p, 10)
	}
	if len(c.SealedSecret) > 0 {
		secret = c.SealedSecret
	}
	return string(b), strings.Join(ps, "\n"), secret
}

func (t *txn) GetCheck(ctx context.Context, id int64) (registry.Check, error) {
	rows, err := t.query(ctx, "SELECT "+checkCols+" FROM checks WHERE id = ?", id)
	return one(rows, err, scanCheck, "check", id)
}

func (t *txn) ListChecks(ctx context.Context) ([]registry.Check, error) {
	rows, err := t.query(ctx, "SELECT "+checkCols+" FROM checks ORDER BY id")
	return all(rows, err, scanCheck)
}

func (t *txn) GetCheckByPushToken(ctx context.Context, hash string) (registry.Check, error) {
	rows, err := t.query(ctx, "SELECT "+checkCols+" FROM checks WHERE push_token = ?", hash)
	return one(rows, err, scanCheck, "push check", "with this token")
}

func (t *txn) InsertCheck(ctx context.Context, c *registry.Check) error {
	now := nowUTC()
	settings, parents, secret := checkArgs(c)
	id, err := t.insert(ctx, `INSERT INTO checks (name, kind, target_type, target_id, service, settings, interval_s, timeout_s, retries, severity, tags, parents, enabled, secret, push_token, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Name, c.Kind, c.TargetType, nullInt(c.TargetID), c.Service, settings, c.IntervalSeconds, c.TimeoutSeconds, c.Retries, c.Severity,
		joinLines(c.Tags), parents, c.Enabled, secret, nullString(c.PushTokenHash), now, now)
	if err != nil {
		return err
	}
	c.ID, c.CreatedAt, c.UpdatedAt = id, now, now
	return nil
}

func (t *txn) UpdateCheck(ctx context.Context, c *registry.Check) error {
	now := nowUTC()
	settings, parents, secret := checkArgs(c)
	r, err := t.exec(ctx, `UPDATE checks SET name = ?, kind = ?, target_type = ?, target_id = ?, service = ?, settings = ?, interval_s = ?, timeout_s = ?,
		retries = ?, severity = ?, tags = ?, parents = ?, enabled = ?, secret = ?, push_token = ?, updated_at = ? WHERE id = ?`,
		c.Name, c.Kind, c.TargetType, nullInt(c.TargetID), c.Service, settings, c.IntervalSeconds, c.TimeoutSeconds, c.Retries, c.Severity,
		joinLines(c.Tags), parents, c.Enabled, secret, nullString(c.PushTokenHash), now, c.ID)
	if err := mustAffect(r, t.d.mapErr(err), "check", c.ID); err != nil {
		return err
	}
	c.UpdatedAt = now
	return nil
}

func (t *txn) DeleteCheck(ctx context.Context, id int64) error {
	r, err := t.exec(ctx, "DELETE FROM checks WHERE id = ?", id)
	return mustAffect(r, err, "check", id)
}

func (t *txn) ListCheckStates(ctx context.Context) ([]registry.CheckState, error) {
	rows, err := t.query(ctx, "SELECT check_id, state, since, failures, message, cause FROM check_states ORDER BY check_id")
	return all(rows, err, func(r *sql.Rows) (registry.CheckState, error) {
		var (
			s     registry.CheckState
			since tsCol
		)
		err := r.Scan(&s.CheckID, &s.State, &since, &s.Failures, &s.Message, &s.Cause)
		s.Since = since.T
		return s, err
	})
}

func (t *txn) PutCheckState(ctx context.Context, s *registry.CheckState) error {
	// A check deleted meanwhile has no state to keep.
	var n int
	if err := t.row(ctx, "SELECT count(*) FROM checks WHERE id = ?", s.CheckID).Scan(&n); err != nil || n == 0 {
		return t.d.mapErr(err)
	}
	_, err := t.exec(ctx, `INSERT INTO check_states (check_id, state, since, failures, message, cause) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (check_id) DO UPDATE SET state = excluded.state, since = excluded.since, failures = excluded.failures,
			message = excluded.message, cause = excluded.cause`,
		s.CheckID, s.State, s.Since, s.Failures, s.Message, s.Cause)
	if err != nil {
		return t.d.mapErr(err)
	}
	_, err = t.exec(ctx, "INSERT INTO check_transitions (check_id, state, at) VALUES (?, ?, ?)", s.CheckID, s.State, s.Since)
	return t.d.mapErr(err)
}

func scanTransition(r *sql.Rows) (registry.CheckTransition, error) {
	var (
		x  registry.CheckTransition
		at tsCol
	)
	err := r.Scan(&x.State, &at)
	x.At = at.T
	return x, err
}

func (t *txn) ListCheckTransitions(ctx context.Context, checkID int64, since time.Time) ([]registry.CheckTransition, error) {
	rows, err := t.query(ctx, "SELECT state, at FROM check_transitions WHERE check_id = ? AND at < ? ORDER BY at DESC LIMIT 1", checkID, since)
	before, err := all(rows, err, scanTransition)
	if err != nil {
		return nil, err
	}
	rows, err = t.query(ctx, "SELECT state, at FROM check_transitions WHERE check_id = ? AND at >= ? ORDER BY at, id", checkID, since)
	after, err := all(rows, err, scanTransition)
	return append(before, after...), err
}

const alertCols = `id, fingerprint, source, check_id, name, severity, labels, summary, state, started_at, resolved_at, acked_at, acked_by, level, notified_at, notifications, muted, updated_at`

func scanAlert(r *sql.Rows) (registry.Alert, error) {
	var (
		a                                  registry.Alert
		check                              sql.NullInt64
		labels                             string
		started, resolved, acked, notified tsCol
		updated                            tsCol
	)
	if err := r.Scan(&a.ID, &a.Fingerprint, &a.Source, &check, &a.Name, &a.Severity, &labels, &a.Summary, &a.State, &started, &resolved,
		&acked, &a.AckedBy, &a.Level, &notified, &a.Notifications, &a.Muted, &updated); err != nil {
		return a, err
	}
	if err := json.Unmarshal([]byte(labels), &a.Labels); err != nil {
		return a, fmt.Errorf("alert %d labels: %w", a.ID, err)
	}
	a.CheckID, a.StartedAt, a.ResolvedAt, a.AckedAt, a.NotifiedAt, a.UpdatedAt = intPtr(check), started.T, resolved.ptr(), acked.ptr(), notified.ptr(), updated.T
	return a, nil
}

func (t *txn) GetAlert(ctx context.Context, id int64) (registry.Alert, error) {
	rows, err := t.query(ctx, "SELECT "+alertCols+" FROM alerts WHERE id = ?", id)
	return one(rows, err, scanAlert, "alert", id)
}

func (t *txn) ListAlerts(ctx context.Context, f registry.AlertFilter) ([]registry.Alert, error) {
	query := "SELECT " + alertCols + " FROM alerts WHERE 1=1"
	var args []any
	if f.State != "" {
		query += " AND state = ?"
		args = append(args, f.State)
	}
	if f.CheckID != 0 {
		query += " AND check_id = ?"
		args = append(args, f.CheckID)
	}
	query += " ORDER BY id DESC"
	if f.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := t.query(ctx, query, args...)
	return all(rows, err, scanAlert)
}

func labelsJSON(l map[string]string) string {
	if l == nil {
		return "{}"
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func (t *txn) InsertAlert(ctx context.Context, a *registry.Alert) error {
	id, err := t.insert(ctx, `INSERT INTO alerts (fingerprint, source, check_id, name, severity, labels, summary, state, started_at, resolved_at,
		acked_at, acked_by, level, notified_at, notifications, muted, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.Fingerprint, a.Source, nullInt(a.CheckID), a.Name, a.Severity, labelsJSON(a.Labels), a.Summary, a.State, a.StartedAt, a.ResolvedAt,
		a.AckedAt, a.AckedBy, a.Level, a.NotifiedAt, a.Notifications, a.Muted, a.UpdatedAt)
	a.ID = id
	return err
}

func (t *txn) UpdateAlert(ctx context.Context, a *registry.Alert) error {
	r, err := t.exec(ctx, `UPDATE alerts SET name = ?, severity = ?, labels = ?, summary = ?, state = ?, resolved_at = ?, acked_at = ?, acked_by = ?,
		level = ?, notified_at = ?, notifications = ?, muted = ?, updated_at = ? WHERE id = ?`,
		a.Name, a.Severity, labelsJSON(a.Labels), a.Summary, a.State, a.ResolvedAt, a.AckedAt, a.AckedBy, a.Level, a.NotifiedAt, a.Notifications,
		a.Muted, a.UpdatedAt, a.ID)
	return mustAffect(r, t.d.mapErr(err), "alert", a.ID)
}

const silenceCols = `id, matchers, starts_at, ends_at, comment, created_by, created_at`

func scanSilence(r *sql.Rows) (registry.Silence, error) {
	var (
		s                 registry.Silence
		matchers          string
		starts, ends, cat tsCol
	)
	err := r.Scan(&s.ID, &matchers, &starts, &ends, &s.Comment, &s.CreatedBy, &cat)
	s.Matchers, s.StartsAt, s.EndsAt, s.CreatedAt = splitLines(matchers), starts.T, ends.T, cat.T
	return s, err
}

func (t *txn) GetSilence(ctx context.Context, id int64) (registry.Silence, error) {
	rows, err := t.query(ctx, "SELECT "+silenceCols+" FROM silences WHERE id = ?", id)
	return one(rows, err, scanSilence, "silence", id)
}

func (t *txn) ListSilences(ctx context.Context) ([]registry.Silence, error) {
	rows, err := t.query(ctx, "SELECT "+silenceCols+" FROM silences ORDER BY id")
	return all(rows, err, scanSilence)
}

func (t *txn) InsertSilence(ctx context.Context, s *registry.Silence) error {
	id, err := t.insert(ctx, "INSERT INTO silences (matchers, starts_at, ends_at, comment, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
		joinLines(s.Matchers), s.StartsAt, s.EndsAt, s.Comment, s.CreatedBy, s.CreatedAt)
	s.ID = id
	return err
}

func (t *txn) UpdateSilence(ctx context.Context, s *registry.Silence) error {
	r, err := t.exec(ctx, "UPDATE silences SET starts_at = ?, ends_at = ?, comment = ? WHERE id = ?", s.StartsAt, s.EndsAt, s.Comment, s.ID)
	return mustAffect(r, err, "silence", s.ID)
}
