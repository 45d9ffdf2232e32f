package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"maillon/internal/accounting"
	"maillon/internal/registry"
)

type registryReader = registry.Reader

var _ accounting.Store = (*Store)(nil)

// prepared is a statement prepared in a transaction, with the dialect's
// argument conversions.
type prepared struct {
	st *sql.Stmt
	x  q
}

func (x q) prepare(ctx context.Context, query string) (prepared, error) {
	st, err := x.tx.PrepareContext(ctx, x.d.rebind(query))
	return prepared{st, x}, x.d.mapErr(err)
}

func (p prepared) exec(ctx context.Context, args ...any) error {
	_, err := p.st.ExecContext(ctx, p.x.args(args)...)
	return p.x.d.mapErr(err)
}

const sessionCols = `id, nas, session_id, login, subscription_id, member_id, ipv4, ipv6_prefix, delegated, calling_station, nas_port_id, circuit,
	started_at, updated_at, stopped_at, session_time, input_octets, output_octets, stop_reason, interim`

func scanSession(r interface{ Scan(...any) error }) (accounting.Session, error) {
	var (
		s                     accounting.Session
		sub, member           sql.NullInt64
		v4, v6, pd            string
		started, upd, stopped tsCol
		in, out               int64
	)
	err := r.Scan(&s.ID, &s.NAS, &s.SessionID, &s.Login, &sub, &member, &v4, &v6, &pd, &s.CallingStation, &s.NASPortID, &s.Circuit,
		&started, &upd, &stopped, &s.SessionTime, &in, &out, &s.StopReason, &s.Interim)
	if err != nil {
		return s, err
	}
	s.SubscriptionID, s.MemberID = sub.Int64, member.Int64
	s.IPv4, _ = netip.ParseAddr(v4)
	s.IPv6Prefix, _ = netip.ParsePrefix(v6)
	s.Delegated, _ = netip.ParsePrefix(pd)
	s.StartedAt, s.UpdatedAt, s.StoppedAt = started.T, upd.T, stopped.ptr()
	s.InputOctets, s.OutputOctets = uint64(in), uint64(out)
	return s, nil
}

func textOf[T interface {
	IsValid() bool
	String() string
}](v T) string {
	if !v.IsValid() {
		return ""
	}
	return v.String()
}

func zeroNull(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// WriteAccounting applies a batch of accounting records in one transaction.
// Each record carries its session's running totals, so usage grows by the
// difference with what the session had reported before: a retransmitted or
// replayed record adds nothing, and an older one arriving late is ignored.
func (s *Store) WriteAccounting(ctx context.Context, records []accounting.Record) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("accounting: begin: %w", s.dialect.mapErr(err))
	}
	defer tx.Rollback()
	x := q{tx: tx, d: s.dialect}
	latest, err := x.prepare(ctx, "SELECT "+sessionCols+" FROM sessions WHERE nas = ? AND session_id = ? ORDER BY id DESC LIMIT 1")
	if err != nil {
		return fmt.Errorf("accounting: %w", err)
	}
	insert, err := x.prepare(ctx, `INSERT INTO sessions (nas, session_id, login, subscription_id, member_id, ipv4, ipv6_prefix, delegated, calling_station, nas_port_id, circuit,
		started_at, updated_at, stopped_at, session_time, input_octets, output_octets, stop_reason, interim)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("accounting: %w", err)
	}
	update, err := x.prepare(ctx, `UPDATE sessions SET login = ?, subscription_id = ?, member_id = ?, ipv4 = ?, ipv6_prefix = ?, delegated = ?, calling_station = ?,
		nas_port_id = ?, circuit = ?, updated_at = ?, stopped_at = ?, session_time = ?, input_octets = ?, output_octets = ?, stop_reason = ?, interim = ? WHERE id = ?`)
	if err != nil {
		return fmt.Errorf("accounting: %w", err)
	}
	usage, err := x.prepare(ctx, `INSERT INTO usage_daily (subscription_id, day, member_id, input_octets, output_octets) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (subscription_id, day) DO UPDATE SET input_octets = usage_daily.input_octets + excluded.input_octets,
		output_octets = usage_daily.output_octets + excluded.output_octets`)
	if err != nil {
		return fmt.Errorf("accounting: %w", err)
	}
	closeNAS, err := x.prepare(ctx, "UPDATE sessions SET stopped_at = ?, stop_reason = ? WHERE nas = ? AND stopped_at IS NULL AND started_at <= ?")
	if err != nil {
		return fmt.Errorf("accounting: %w", err)
	}
	for i := range records {
		r := &records[i]
		if r.Status == accounting.On || r.Status == accounting.Off {
			if err := closeNAS.exec(ctx, r.EventTime, accounting.StopReason(*r), r.NAS, r.EventTime); err != nil {
				return fmt.Errorf("accounting: close sessions of %s: %w", r.NAS, err)
			}
			continue
		}
		if err := applySession(ctx, r, latest, insert, update, usage); err != nil {
			return fmt.Errorf("accounting: session %s of %s: %w", r.SessionID, r.NAS, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("accounting: commit: %w", s.dialect.mapErr(err))
	}
	return nil
}

func applySession(ctx context.Context, r *accounting.Record, latest, insert, update, usage prepared) error {
	row := latest.st.QueryRowContext(ctx, latest.x.args([]any{r.NAS, r.SessionID})...)
	cur, err := scanSession(row)
	fresh := err == sql.ErrNoRows
	if err != nil && !fresh {
		return latest.x.d.mapErr(err)
	}
	// A Start for a session id already closed is a new session: NASes
	// reuse their counters after a reboot.
	if !fresh && !cur.Open() && r.Status == accounting.Start {
		fresh = true
	}
	stopped := (*time.Time)(nil)
	if r.Status == accounting.Stop {
		t := r.EventTime
		stopped = &t
	}
	if fresh {
		start := r.EventTime.Add(-time.Duration(r.SessionTime) * time.Second)
		reason := ""
		if stopped != nil {
			reason = accounting.StopReason(*r)
		}
		if err := insert.exec(ctx, r.NAS, r.SessionID, r.Login, zeroNull(r.SubscriptionID), zeroNull(r.MemberID),
			textOf(r.IPv4), textOf(r.IPv6Prefix), textOf(r.Delegated), r.CallingStation, r.NASPortID, r.Circuit,
			start, r.EventTime, stopped, r.SessionTime, int64(r.InputOctets), int64(r.OutputOctets), reason, r.Interim); err != nil {
			return err
		}
		return addUsage(ctx, usage, r, r.InputOctets, r.OutputOctets)
	}
	// Counters only move forward: a late, older record leaves them.
	newer := r.SessionTime >= cur.SessionTime && r.InputOctets >= cur.InputOctets && r.OutputOctets >= cur.OutputOctets
	dIn, dOut := uint64(0), uint64(0)
	if newer {
		dIn, dOut = r.InputOctets-cur.InputOctets, r.OutputOctets-cur.OutputOctets
		cur.SessionTime, cur.InputOctets, cur.OutputOctets = r.SessionTime, r.InputOctets, r.OutputOctets
		cur.UpdatedAt = r.EventTime
	}
	if stopped != nil && cur.Open() {
		cur.StoppedAt, cur.StopReason = stopped, accounting.StopReason(*r)
		if r.EventTime.After(cur.UpdatedAt) {
			cur.UpdatedAt = r.EventTime
		}
	}
	if !newer && stopped == nil {
		return nil // a retransmission or a late interim: nothing new
	}
	keep := func(old, nw string) string {
		if nw != "" {
			return nw
		}
		return old
	}
	if r.SubscriptionID != 0 {
		cur.SubscriptionID, cur.MemberID = r.SubscriptionID, r.MemberID
	}
	if err := update.exec(ctx, r.Login, zeroNull(cur.SubscriptionID), zeroNull(cur.MemberID),
		keep(textOf(cur.IPv4), textOf(r.IPv4)), keep(textOf(cur.IPv6Prefix), textOf(r.IPv6Prefix)), keep(textOf(cur.Delegated), textOf(r.Delegated)),
		keep(cur.CallingStation, r.CallingStation), keep(cur.NASPortID, r.NASPortID), keep(cur.Circuit, r.Circuit),
		cur.UpdatedAt, cur.StoppedAt, cur.SessionTime, int64(cur.InputOctets), int64(cur.OutputOctets), cur.StopReason, max(cur.Interim, r.Interim), cur.ID); err != nil {
		return err
	}
	return addUsage(ctx, usage, r, dIn, dOut)
}

func addUsage(ctx context.Context, usage prepared, r *accounting.Record, in, out uint64) error {
	if r.SubscriptionID == 0 || (in == 0 && out == 0) {
		return nil
	}
	at := r.EventTime
	if r.Status == accounting.Stop {
		// A session cut by Session-Timeout at midnight reports at 00:00:00;
		// its traffic belongs to the day that ended.
		at = at.Add(-time.Second)
	}
	return usage.exec(ctx, r.SubscriptionID, accounting.DayOf(at), r.MemberID, int64(in), int64(out))
}

// CloseStaleSessions closes the open sessions no NAS has spoken of for
// three interim intervals (and at least grace): a NAS that crashed without
// an Accounting-Off must not leave them open for ever.
func (s *Store) CloseStaleSessions(ctx context.Context, now time.Time, grace time.Duration) (int, error) {
	open, err := s.ListSessions(ctx, accounting.SessionFilter{OpenOnly: true})
	if err != nil {
		return 0, err
	}
	var stale []any
	for _, se := range open {
		limit := max(3*time.Duration(se.Interim)*time.Second, grace)
		if now.Sub(se.UpdatedAt) > limit {
			stale = append(stale, se.ID)
		}
	}
	if len(stale) == 0 {
		return 0, nil
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	x := q{tx: tx, d: s.dialect}
	for i := 0; i < len(stale); i += 500 {
		ids := stale[i:min(i+500, len(stale))]
		if _, err := x.exec(ctx, "UPDATE sessions SET stopped_at = updated_at, stop_reason = 'stale' WHERE stopped_at IS NULL AND id IN (?"+strings.Repeat(",?", len(ids)-1)+")", ids...); err != nil {
			return 0, fmt.Errorf("close stale sessions: %w", err)
		}
	}
	return len(stale), tx.Commit()
}

// ListSessions lists sessions, newest first.
func (s *Store) ListSessions(ctx context.Context, f accounting.SessionFilter) ([]accounting.Session, error) {
	query := "SELECT " + sessionCols + " FROM sessions WHERE 1=1"
	var args []any
	if f.SubscriptionID != 0 {
		query += " AND subscription_id = ?"
		args = append(args, f.SubscriptionID)
	}
	if f.MemberID != 0 {
		query += " AND member_id = ?"
		args = append(args, f.MemberID)
	}
	if f.NAS != "" {
		query += " AND nas = ?"
		args = append(args, f.NAS)
	}
	if f.OpenOnly {
		query += " AND stopped_at IS NULL"
	}
	query += " ORDER BY id DESC"
	if f.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	var out []accounting.Session
	err := s.Read(ctx, func(r registryReader) error {
		t := r.(*txn)
		rows, err := t.query(ctx, query, args...)
		out, err = all(rows, err, func(r *sql.Rows) (accounting.Session, error) { return scanSession(r) })
		return err
	})
	return out, err
}

// Usage lists daily usage, oldest day first.
func (s *Store) Usage(ctx context.Context, f accounting.UsageFilter) ([]accounting.Day, error) {
	query := "SELECT day, subscription_id, member_id, input_octets, output_octets FROM usage_daily WHERE 1=1"
	var args []any
	if f.SubscriptionID != 0 {
		query += " AND subscription_id = ?"
		args = append(args, f.SubscriptionID)
	}
	if f.MemberID != 0 {
		query += " AND member_id = ?"
		args = append(args, f.MemberID)
	}
	if f.From != "" {
		query += " AND day >= ?"
		args = append(args, f.From)
	}
	if f.To != "" {
		query += " AND day <= ?"
		args = append(args, f.To)
	}
	var out []accounting.Day
	err := s.Read(ctx, func(r registryReader) error {
		t := r.(*txn)
		rows, err := t.query(ctx, query+" ORDER BY day, subscription_id", args...)
		out, err = all(rows, err, func(r *sql.Rows) (accounting.Day, error) {
			var d accounting.Day
			var in, o int64
			err := r.Scan(&d.Day, &d.SubscriptionID, &d.MemberID, &in, &o)
			d.InputOctets, d.OutputOctets = uint64(in), uint64(o)
			return d, err
		})
		return err
	})
	return out, err
}
