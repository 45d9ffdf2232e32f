package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"maillon/internal/registry"
)

// Lists of ids and of targets are kept as one text column, one item a
// line: the status page reads them whole.

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return joinLines(s)
}

func splitIDs(s string) ([]int64, error) {
	out := []int64{}
	for _, line := range splitLines(s) {
		id, err := strconv.ParseInt(line, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("id list %q: %w", s, err)
		}
		out = append(out, id)
	}
	return out, nil
}

const componentCols = `id, name, group_name, description, position, targets, created_at, updated_at`

func scanComponent(r *sql.Rows) (registry.Component, error) {
	var (
		c        registry.Component
		targets  string
		cat, uat tsCol
	)
	if err := r.Scan(&c.ID, &c.Name, &c.Group, &c.Description, &c.Position, &targets, &cat, &uat); err != nil {
		return c, err
	}
	c.Targets = []registry.Target{}
	for _, line := range splitLines(targets) {
		t, err := registry.ParseTarget(line)
		if err != nil {
			return c, fmt.Errorf("component %d: %w", c.ID, err)
		}
		c.Targets = append(c.Targets, t)
	}
	c.CreatedAt, c.UpdatedAt = cat.T, uat.T
	return c, nil
}

func joinTargets(ts []registry.Target) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = t.String()
	}
	return joinLines(s)
}

func (t *txn) GetComponent(ctx context.Context, id int64) (registry.Component, error) {
	rows, err := t.query(ctx, "SELECT "+componentCols+" FROM status_components WHERE id = ?", id)
	return one(rows, err, scanComponent, "component", id)
}

func (t *txn) ListComponents(ctx context.Context) ([]registry.Component, error) {
	rows, err := t.query(ctx, "SELECT "+componentCols+" FROM status_components ORDER BY position, id")
	return all(rows, err, scanComponent)
}

func (t *txn) InsertComponent(ctx context.Context, c *registry.Component) error {
	id, err := t.insert(ctx, `INSERT INTO status_components (name, group_name, description, position, targets, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, c.Name, c.Group, c.Description, c.Position, joinTargets(c.Targets), c.CreatedAt, c.UpdatedAt)
	c.ID = id
	return err
}

func (t *txn) UpdateComponent(ctx context.Context, c *registry.Component) error {
	r, err := t.exec(ctx, `UPDATE status_components SET name = ?, group_name = ?, description = ?, position = ?, targets = ?, updated_at = ? WHERE id = ?`,
		c.Name, c.Group, c.Description, c.Position, joinTargets(c.Targets), c.UpdatedAt, c.ID)
	return mustAffect(r, err, "component", c.ID)
}

func (t *txn) DeleteComponent(ctx context.Context, id int64) error {
	r, err := t.exec(ctx, "DELETE FROM status_components WHERE id = ?", id)
	return mustAffect(r, err, "component", id)
}

const incidentCols = `id, title, impact, state, components, started_at, resolved_at, created_by`

func scanIncident(r *sql.Rows) (registry.Incident, error) {
	var (
		i             registry.Incident
		comps         string
		start, closed tsCol
	)
	if err := r.Scan(&i.ID, &i.Title, &i.Impact, &i.State, &comps, &start, &closed, &i.CreatedBy); err != nil {
		return i, err
	}
	var err error
	i.Components, err = splitIDs(comps)
	i.StartedAt, i.ResolvedAt = start.T, closed.ptr()
	i.Updates = []registry.IncidentUpdate{}
	return i, err
}

const updateCols = `id, incident_id, state, message, at, author`

func scanIncidentUpdate(r *sql.Rows) (registry.IncidentUpdate, error) {
	var (
		u  registry.IncidentUpdate
		at tsCol
	)
	err := r.Scan(&u.ID, &u.IncidentID, &u.State, &u.Message, &at, &u.Author)
	u.At = at.T
	return u, err
}

// withUpdates fills the incidents' timelines, oldest entry first.
func (t *txn) withUpdates(ctx context.Context, incs []registry.Incident, where string, args ...any) ([]registry.Incident, error) {
	if len(incs) == 0 {
		return incs, nil
	}
	rows, err := t.query(ctx, "SELECT "+updateCols+" FROM status_incident_updates WHERE "+where+" ORDER BY at, id", args...)
	ups, err := all(rows, err, scanIncidentUpdate)
	if err != nil {
		return nil, err
	}
	idx := make(map[int64]int, len(incs))
	for i := range incs {
		idx[incs[i].ID] = i
	}
	for _, u := range ups {
		if i, ok := idx[u.IncidentID]; ok {
			incs[i].Updates = append(incs[i].Updates, u)
		}
	}
	return incs, nil
}

func (t *txn) GetIncident(ctx context.Context, id int64) (registry.Incident, error) {
	rows, err := t.query(ctx, "SELECT "+incidentCols+" FROM status_incidents WHERE id = ?", id)
	inc, err := one(rows, err, scanIncident, "incident", id)
	if err != nil {
		return inc, err
	}
	out, err := t.withUpdates(ctx, []registry.Incident{inc}, "incident_id = ?", id)
	if err != nil {
		return inc, err
	}
	return out[0], nil
}

func (t *txn) ListIncidents(ctx context.Context, since time.Time) ([]registry.Incident, error) {
	rows, err := t.query(ctx, "SELECT "+incidentCols+" FROM status_incidents WHERE started_at >= ? OR resolved_at IS NULL ORDER BY started_at DESC, id DESC", since)
	incs, err := all(rows, err, scanIncident)
	if err != nil {
		return nil, err
	}
	return t.withUpdates(ctx, incs, "incident_id IN (SELECT id FROM status_incidents WHERE started_at >= ? OR resolved_at IS NULL)", since)
}

func (t *txn) ListIncidentHeads(ctx context.Context, since time.Time) ([]registry.Incident, error) {
	rows, err := t.query(ctx, "SELECT "+incidentCols+" FROM status_incidents WHERE started_at >= ? OR resolved_at IS NULL ORDER BY started_at DESC, id DESC", since)
	return all(rows, err, scanIncident)
}

func (t *txn) GetIncidentUpdate(ctx context.Context, id int64) (registry.IncidentUpdate, error) {
	rows, err := t.query(ctx, "SELECT "+updateCols+" FROM status_incident_updates WHERE id = ?", id)
	return one(rows, err, scanIncidentUpdate, "incident update", id)
}

func (t *txn) InsertIncident(ctx context.Context, i *registry.Incident) error {
	id, err := t.insert(ctx, `INSERT INTO status_incidents (title, impact, state, components, started_at, resolved_at, created_by)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, i.Title, i.Impact, i.State, joinIDs(i.Components), i.StartedAt, i.ResolvedAt, i.CreatedBy)
	i.ID = id
	return err
}

func (t *txn) UpdateIncident(ctx context.Context, i *registry.Incident) error {
	r, err := t.exec(ctx, `UPDATE status_incidents SET title = ?, impact = ?, state = ?, components = ?, resolved_at = ? WHERE id = ?`,
		i.Title, i.Impact, i.State, joinIDs(i.Components), i.ResolvedAt, i.ID)
	return mustAffect(r, err, "incident", i.ID)
}

func (t *txn) InsertIncidentUpdate(ctx context.Context, u *registry.IncidentUpdate) error {
	id, err := t.insert(ctx, `INSERT INTO status_incident_updates (incident_id, state, message, at, author) VALUES (?, ?, ?, ?, ?)`,
		u.IncidentID, u.State, u.Message, u.At, u.Author)
	u.ID = id
	return err
}

const maintenanceCols = `id, title, description, components, starts_at, ends_at, cancelled_at, created_at, created_by`

func scanMaintenance(r *sql.Rows) (registry.Maintenance, error) {
	var (
		m                        registry.Maintenance
		comps                    string
		start, end, cancel, made tsCol
	)
	if err := r.Scan(&m.ID, &m.Title, &m.Description, &comps, &start, &end, &cancel, &made, &m.CreatedBy); err != nil {
		return m, err
	}
	var err error
	m.Components, err = splitIDs(comps)
	m.StartsAt, m.EndsAt, m.CancelledAt, m.CreatedAt = start.T, end.T, cancel.ptr(), made.T
	return m, err
}

func (t *txn) GetMaintenance(ctx context.Context, id int64) (registry.Maintenance, error) {
	rows, err := t.query(ctx, "SELECT "+maintenanceCols+" FROM status_maintenance WHERE id = ?", id)
	return one(rows, err, scanMaintenance, "maintenance", id)
}

func (t *txn) ListMaintenance(ctx context.Context, endsAfter time.Time) ([]registry.Maintenance, error) {
	rows, err := t.query(ctx, "SELECT "+maintenanceCols+" FROM status_maintenance WHERE ends_at > ? ORDER BY starts_at, id", endsAfter)
	return all(rows, err, scanMaintenance)
}

func (t *txn) InsertMaintenance(ctx context.Context, m *registry.Maintenance) error {
	id, err := t.insert(ctx, `INSERT INTO status_maintenance (title, description, components, starts_at, ends_at, cancelled_at, created_at, created_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, m.Title, m.Description, joinIDs(m.Components), m.StartsAt, m.EndsAt, m.CancelledAt, m.CreatedAt, m.CreatedBy)
	m.ID = id
	return err
}

func (t *txn) UpdateMaintenance(ctx context.Context, m *registry.Maintenance) error {
	r, err := t.exec(ctx, `UPDATE status_maintenance SET title = ?, description = ?, components = ?, starts_at = ?, ends_at = ?, cancelled_at = ? WHERE id = ?`,
		m.Title, m.Description, joinIDs(m.Components), m.StartsAt, m.EndsAt, m.CancelledAt, m.ID)
	return mustAffect(r, err, "maintenance", m.ID)
}

func (t *txn) MemberLanguages(ctx context.Context) (map[int64]string, error) {
	rows, err := t.query(ctx, "SELECT member_id, language FROM member_prefs WHERE language <> ''")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var (
			id   int64
			lang string
		)
		if err := rows.Scan(&id, &lang); err != nil {
			return nil, err
		}
		out[id] = lang
	}
	return out, rows.Err()
}

func (t *txn) SetMemberLanguage(ctx context.Context, memberID int64, language string, at time.Time) error {
	d := registry.DefaultMemberPrefs(memberID)
	_, err := t.exec(ctx, `INSERT INTO member_prefs (member_id, maintenance, incidents, language, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (member_id) DO UPDATE SET language = excluded.language, updated_at = excluded.updated_at`,
		memberID, d.Maintenance, d.Incidents, language, at)
	return err
}

const subscriberCols = `id, email, language, components, token_hash, created_at, confirmed_at`

func scanSubscriber(r *sql.Rows) (registry.Subscriber, error) {
	var (
		s          registry.Subscriber
		comps      string
		made, conf tsCol
	)
	if err := r.Scan(&s.ID, &s.Email, &s.Language, &comps, &s.TokenHash, &made, &conf); err != nil {
		return s, err
	}
	var err error
	s.Components, err = splitIDs(comps)
	s.CreatedAt, s.ConfirmedAt = made.T, conf.ptr()
	return s, err
}

func (t *txn) GetSubscriber(ctx context.Context, id int64) (registry.Subscriber, error) {
	rows, err := t.query(ctx, "SELECT "+subscriberCols+" FROM status_subscribers WHERE id = ?", id)
	return one(rows, err, scanSubscriber, "subscriber", id)
}

func (t *txn) GetSubscriberByToken(ctx context.Context, hash string) (registry.Subscriber, error) {
	rows, err := t.query(ctx, "SELECT "+subscriberCols+" FROM status_subscribers WHERE token_hash = ?", hash)
	return one(rows, err, scanSubscriber, "subscriber with token", "(hidden)")
}

func (t *txn) GetSubscriberByEmail(ctx context.Context, email string) (registry.Subscriber, error) {
	rows, err := t.query(ctx, "SELECT "+subscriberCols+" FROM status_subscribers WHERE email = ?", strings.ToLower(email))
	return one(rows, err, scanSubscriber, "subscriber", email)
}

func (t *txn) ListSubscribers(ctx context.Context) ([]registry.Subscriber, error) {
	rows, err := t.query(ctx, "SELECT "+subscriberCols+" FROM status_subscribers ORDER BY id")
	return all(rows, err, scanSubscriber)
}

func (t *txn) InsertSubscriber(ctx context.Context, s *registry.Subscriber) error {
	id, err := t.insert(ctx, `INSERT INTO status_subscribers (email, language, components, token_hash, created_at, confirmed_at) VALUES (?, ?, ?, ?, ?, ?)`,
		s.Email, s.Language, joinIDs(s.Components), s.TokenHash, s.CreatedAt, s.ConfirmedAt)
	s.ID = id
	return err
}

func (t *txn) UpdateSubscriber(ctx context.Context, s *registry.Subscriber) error {
	r, err := t.exec(ctx, `UPDATE status_subscribers SET email = ?, language = ?, components = ?, token_hash = ?, created_at = ?, confirmed_at = ? WHERE id = ?`,
		s.Email, s.Language, joinIDs(s.Components), s.TokenHash, s.CreatedAt, s.ConfirmedAt, s.ID)
	return mustAffect(r, err, "subscriber", s.ID)
}

func (t *txn) DeleteSubscriber(ctx context.Context, id int64) error {
	r, err := t.exec(ctx, "DELETE FROM status_subscribers WHERE id = ?", id)
	return mustAffect(r, err, "subscriber", id)
}

func (t *txn) DeleteUnconfirmedSubscribers(ctx context.Context, before time.Time) (int64, error) {
	r, err := t.exec(ctx, "DELETE FROM status_subscribers WHERE confirmed_at IS NULL AND created_at < ?", before)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

func scanNotice(r *sql.Rows) (registry.Notice, error) {
	var (
		n             registry.Notice
		made, planned tsCol
	)
	err := r.Scan(&n.Key, &made, &planned)
	n.CreatedAt, n.PlannedAt = made.T, planned.ptr()
	return n, err
}

func (t *txn) GetNotice(ctx context.Context, key string) (registry.Notice, error) {
	rows, err := t.query(ctx, "SELECT key, created_at, planned_at FROM status_notices WHERE key = ?", key)
	return one(rows, err, scanNotice, "notice", key)
}

func (t *txn) ListPendingNotices(ctx context.Context) ([]registry.Notice, error) {
	rows, err := t.query(ctx, "SELECT key, created_at, planned_at FROM status_notices WHERE planned_at IS NULL ORDER BY created_at, key")
	return all(rows, err, scanNotice)
}

func (t *txn) InsertNotice(ctx context.Context, n *registry.Notice) (bool, error) {
	r, err := t.exec(ctx, "INSERT INTO status_notices (key, created_at, planned_at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING", n.Key, n.CreatedAt, n.PlannedAt)
	if err != nil {
		return false, err
	}
	k, err := r.RowsAffected()
	return k == 1, err
}

func (t *txn) SetNoticePlanned(ctx context.Context, key string, at time.Time) error {
	r, err := t.exec(ctx, "UPDATE status_notices SET planned_at = ? WHERE key = ?", at, key)
	if err := mustAffect(r, err, "notice", 0); err != nil {
		return fmt.Errorf("notice %s: %w", key, err)
	}
	return nil
}

const deliveryCols = `id, notice, recipient, email, language, created_at, sent_at, attempts, last_error`

func scanDelivery(r *sql.Rows) (registry.Delivery, error) {
	var (
		d          registry.Delivery
		made, sent tsCol
	)
	err := r.Scan(&d.ID, &d.Notice, &d.Recipient, &d.Email, &d.Language, &made, &sent, &d.Attempts, &d.LastError)
	d.CreatedAt, d.SentAt = made.T, sent.ptr()
	return d, err
}

func (t *txn) ListPendingDeliveries(ctx context.Context, maxAttempts, limit int) ([]registry.Delivery, error) {
	rows, err := t.query(ctx, fmt.Sprintf("SELECT "+deliveryCols+" FROM status_deliveries WHERE sent_at IS NULL AND attempts < ? ORDER BY id LIMIT %d", max(limit, 1)), maxAttempts)
	return all(rows, err, scanDelivery)
}

func (t *txn) ListDeliveries(ctx context.Context, notice string) ([]registry.Delivery, error) {
	rows, err := t.query(ctx, "SELECT "+deliveryCols+" FROM status_deliveries WHERE notice = ? ORDER BY id", notice)
	return all(rows, err, scanDelivery)
}

func (t *txn) InsertDelivery(ctx context.Context, d *registry.Delivery) (bool, error) {
	var id int64
	err := t.row(ctx, `INSERT INTO status_deliveries (notice, recipient, email, language, created_at, sent_at, attempts, last_error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (notice, recipient) DO NOTHING RETURNING id`,
		d.Notice, d.Recipient, d.Email, d.Language, d.CreatedAt, d.SentAt, d.Attempts, d.LastError).Scan(&id)
	if err == sql.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, t.d.mapErr(err)
	}
	d.ID = id
	return true, nil
}

func (t *txn) ClaimDelivery(ctx context.Context, d *registry.Delivery, now, leaseStart time.Time) (bool, error) {
	r, err := t.exec(ctx, `UPDATE status_deliveries SET attempts = attempts + 1, claimed_at = ?
		WHERE id = ? AND sent_at IS NULL AND (claimed_at IS NULL OR claimed_at < ?)`, now, d.ID, leaseStart)
	if err != nil {
		return false, err
	}
	n, err := r.RowsAffected()
	return n == 1, err
}

func (t *txn) SetDeliveryResult(ctx context.Context, d *registry.Delivery) error {
	r, err := t.exec(ctx, "UPDATE status_deliveries SET sent_at = ?, last_error = ?, claimed_at = NULL WHERE id = ?", d.SentAt, d.LastError, d.ID)
	return mustAffect(r, err, "delivery", d.ID)
}
