package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
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

// sessionKey names a session the way a NAS does.
type sessionKey struct{ nas, id string }

// openSessions remembers the open sessions this process last wrote, so
// that an Interim-Update costs an UPDATE and an upsert, without reading
// the row first. It is only a hint: every UPDATE made from it checks that
// the row still holds the remembered counters and is open, and a miss
// falls back to reading the row. So another instance on the same
// PostgreSQL database, CloseStaleSessions, or a rolled-back batch can make
// it stale but never make it count wrong.
type openSessions struct {
	mu sync.Mutex
	m  map[sessionKey]accounting.Session
}

// maxCachedSessions bounds the hint's memory (about 400 bytes a session).
const maxCachedSessions = 1 << 20

func (c *openSessions) get(k sessionKey) (accounting.Session, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[k]
	return s, ok
}

// apply merges a committed batch's sessions: open ones are remembered,
// closed ones forgotten.
func (c *openSessions) apply(batch map[sessionKey]*accounting.Session, closedNAS []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m)+len(batch) > maxCachedSessions {
		c.m = make(map[sessionKey]accounting.Session, len(batch))
	}
	for _, nas := range closedNAS {
		for k := range c.m {
			if k.nas == nas {
				delete(c.m, k)
			}
		}
	}
	for k, se := range batch {
		if se == nil || !se.Open() {
			delete(c.m, k)
		} else {
			c.m[k] = *se
		}
	}
}

func (c *openSessions) forget(ids map[int64]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, se := range c.m {
		if ids[se.ID] {
			delete(c.m, k)
		}
	}
}

// acctBatch is one WriteAccounting transaction.
type acctBatch struct {
	latest, insert, update, touch prepared
	cache                         *openSessions
	usage                         map[usageKey]*usageDelta
	// seen holds the sessions as this transaction left them (nil: read
	// the row again); merged into cache once committed.
	seen map[sessionKey]*accounting.Session
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
	b := acctBatch{cache: &s.sessions, seen: make(map[sessionKey]*accounting.Session, len(records)), usage: map[usageKey]*usageDelta{}}
	for _, st := range []struct {
		p     *prepared
		query string
	}{
		{&b.latest, "SELECT " + sessionCols + " FROM sessions WHERE nas = ? AND session_id = ? ORDER BY id DESC LIMIT 1"},
		{&b.insert, `INSERT INTO sessions (nas, session_id, login, subscription_id, member_id, ipv4, ipv6_prefix, delegated, calling_station, nas_port_id, circuit,
		started_at, updated_at, stopped_at, session_time, input_octets, output_octets, stop_reason, interim)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`},
		// Both updates only apply to the row as it was read or
		// remembered: open or closed the same way (stop_reason is empty
		// while open), with the same counters.
		{&b.update, `UPDATE sessions SET login = ?, subscription_id = ?, member_id = ?, ipv4 = ?, ipv6_prefix = ?, delegated = ?, calling_station = ?,
		nas_port_id = ?, circuit = ?, updated_at = ?, stopped_at = ?, session_time = ?, input_octets = ?, output_octets = ?, stop_reason = ?, interim = ?
		WHERE id = ? AND stop_reason = ? AND session_time = ? AND input_octets = ? AND output_octets = ?`},
		// An interim that changes nothing but the counters leaves the
		// indexed columns alone.
		{&b.touch, `UPDATE sessions SET updated_at = ?, session_time = ?, input_octets = ?, output_octets = ?, interim = ?
		WHERE id = ? AND stop_reason = ? AND session_time = ? AND input_octets = ? AND output_octets = ?`},
	} {
		if *st.p, err = x.prepare(ctx, st.query); err != nil {
			return fmt.Errorf("accounting: %w", err)
		}
	}
	closeNAS, err := x.prepare(ctx, "UPDATE sessions SET stopped_at = ?, stop_reason = ? WHERE nas = ? AND stopped_at IS NULL AND started_at <= ?")
	if err != nil {
		return fmt.Errorf("accounting: %w", err)
	}
	var closedNAS []string
	for i := range records {
		r := &records[i]
		if r.Status == accounting.On || r.Status == accounting.Off {
			if err := closeNAS.exec(ctx, r.EventTime, accounting.StopReason(*r), r.NAS, r.EventTime); err != nil {
				return fmt.Errorf("accounting: close sessions of %s: %w", r.NAS, err)
			}
			// Read that NAS's sessions again.
			closedNAS = append(closedNAS, r.NAS)
			for k := range b.seen {
				if k.nas == r.NAS {
					b.seen[k] = nil
				}
			}
			continue
		}
		if err := b.apply(ctx, r); err != nil {
			return fmt.Errorf("accounting: session %s of %s: %w", r.SessionID, r.NAS, err)
		}
	}
	if err := b.flushUsage(ctx, x); err != nil {
		return fmt.Errorf("accounting: daily usage: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("accounting: commit: %w", s.dialect.mapErr(err))
	}
	b.cache.apply(b.seen, closedNAS)
	return nil
}

// apply applies one record, from the remembered session when there is
// one, else from the row.
func (b *acctBatch) apply(ctx context.Context, r *accounting.Record) error {
	k := sessionKey{r.NAS, r.SessionID}
	var cur accounting.Session
	known := false
	if se, ok := b.seen[k]; ok {
		if se != nil {
			cur, known = *se, true
		}
	} else {
		cur, known = b.cache.get(k)
	}
	// A Start for a session id already closed is a new session (NASes
	// reuse their counters after a reboot): the row tells.
	if known && r.Status != accounting.Start {
		done, err := b.applyTo(ctx, r, k, cur)
		if err != nil || done {
			return err
		}
	}
	// Read the row; on PostgreSQL another instance may change it between
	// the read and the guarded update, then read it again.
	for range 3 {
		row := b.latest.st.QueryRowContext(ctx, b.latest.x.args([]any{r.NAS, r.SessionID})...)
		cur, err := scanSession(row)
		fresh := err == sql.ErrNoRows
		if err != nil && !fresh {
			return b.latest.x.d.mapErr(err)
		}
		if !fresh && !cur.Open() && r.Status == accounting.Start {
			fresh = true
		}
		if fresh {
			return b.create(ctx, r, k)
		}
		if done, err := b.applyTo(ctx, r, k, cur); err != nil || done {
			return err
		}
	}
	return errors.New("the session's row keeps changing under the transaction")
}

func (b *acctBatch) create(ctx context.Context, r *accounting.Record, k sessionKey) error {
	se := accounting.Session{
		NAS: r.NAS, SessionID: r.SessionID, Login: r.Login, SubscriptionID: r.SubscriptionID, MemberID: r.MemberID,
		IPv4: r.IPv4, IPv6Prefix: r.IPv6Prefix, Delegated: r.Delegated, CallingStation: r.CallingStation,
		NASPortID: r.NASPortID, Circuit: r.Circuit,
		StartedAt: r.EventTime.Add(-time.Duration(r.SessionTime) * time.Second), UpdatedAt: r.EventTime,
		SessionTime: r.SessionTime, InputOctets: r.InputOctets, OutputOctets: r.OutputOctets, Interim: r.Interim,
	}
	if r.Status == accounting.Stop {
		t := r.EventTime
		se.StoppedAt, se.StopReason = &t, accounting.StopReason(*r)
	}
	row := b.insert.st.QueryRowContext(ctx, b.insert.x.args([]any{r.NAS, r.SessionID, r.Login, zeroNull(r.SubscriptionID), zeroNull(r.MemberID),
		textOf(r.IPv4), textOf(r.IPv6Prefix), textOf(r.Delegated), r.CallingStation, r.NASPortID, r.Circuit,
		se.StartedAt, se.UpdatedAt, se.StoppedAt, r.SessionTime, int64(r.InputOctets), int64(r.OutputOctets), se.StopReason, r.Interim})...)
	if err := row.Scan(&se.ID); err != nil {
		return b.insert.x.d.mapErr(err)
	}
	b.seen[k] = &se
	b.addUsage(r, r.InputOctets, r.OutputOctets)
	return nil
}

// applyTo applies r to the session as last known; it reports false when
// the row is no longer as known (the caller reads it again).
func (b *acctBatch) applyTo(ctx context.Context, r *accounting.Record, k sessionKey, cur accounting.Session) (bool, error) {
	old := cur
	stopped := (*time.Time)(nil)
	if r.Status == accounting.Stop {
		t := r.EventTime
		stopped = &t
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
		return true, nil // a retransmission or a late interim: nothing new
	}
	keepS := func(old *string, nw string) {
		if nw != "" {
			*old = nw
		}
	}
	cur.Login = r.Login
	if r.SubscriptionID != 0 {
		cur.SubscriptionID, cur.MemberID = r.SubscriptionID, r.MemberID
	}
	if r.IPv4.IsValid() {
		cur.IPv4 = r.IPv4
	}
	if r.IPv6Prefix.IsValid() {
		cur.IPv6Prefix = r.IPv6Prefix
	}
	if r.Delegated.IsValid() {
		cur.Delegated = r.Delegated
	}
	keepS(&cur.CallingStation, r.CallingStation)
	keepS(&cur.NASPortID, r.NASPortID)
	keepS(&cur.Circuit, r.Circuit)
	cur.Interim = max(cur.Interim, r.Interim)
	var res sql.Result
	var err error
	if stopped == nil && cur.Login == old.Login && cur.SubscriptionID == old.SubscriptionID && cur.MemberID == old.MemberID &&
		cur.IPv4 == old.IPv4 && cur.IPv6Prefix == old.IPv6Prefix && cur.Delegated == old.Delegated &&
		cur.CallingStation == old.CallingStation && cur.NASPortID == old.NASPortID && cur.Circuit == old.Circuit {
		res, err = b.touch.st.ExecContext(ctx, b.touch.x.args([]any{cur.UpdatedAt, cur.SessionTime, int64(cur.InputOctets), int64(cur.OutputOctets), cur.Interim,
			cur.ID, old.StopReason, old.SessionTime, int64(old.InputOctets), int64(old.OutputOctets)})...)
	} else {
		res, err = b.update.st.ExecContext(ctx, b.update.x.args([]any{cur.Login, zeroNull(cur.SubscriptionID), zeroNull(cur.MemberID),
			textOf(cur.IPv4), textOf(cur.IPv6Prefix), textOf(cur.Delegated), cur.CallingStation, cur.NASPortID, cur.Circuit,
			cur.UpdatedAt, cur.StoppedAt, cur.SessionTime, int64(cur.InputOctets), int64(cur.OutputOctets), cur.StopReason, cur.Interim,
			cur.ID, old.StopReason, old.SessionTime, int64(old.InputOctets), int64(old.OutputOctets)})...)
	}
	if err != nil {
		return false, b.update.x.d.mapErr(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, err
	} else if n == 0 {
		b.seen[k] = nil
		return false, nil
	}
	b.seen[k] = &cur
	b.addUsage(r, dIn, dOut)
	return true, nil
}

type usageKey struct {
	sub int64
	day string
}

type usageDelta struct {
	member  int64
	in, out uint64
}

// addUsage adds traffic to the batch's daily usage, written by flushUsage.
func (b *acctBatch) addUsage(r *accounting.Record, in, out uint64) {
	if r.SubscriptionID == 0 || (in == 0 && out == 0) {
		return
	}
	at := r.EventTime
	if r.Status == accounting.Stop {
		// A session cut by Session-Timeout at midnight reports at 00:00:00;
		// its traffic belongs to the day that ended.
		at = at.Add(-time.Second)
	}
	k := usageKey{r.SubscriptionID, accounting.DayOf(at)}
	d := b.usage[k]
	if d == nil {
		d = &usageDelta{member: r.MemberID}
		b.usage[k] = d
	}
	d.in += in
	d.out += out
}

// usageRows is how many usage rows one INSERT carries.
const usageRows = 128

// flushUsage writes the batch's usage, one multi-row upsert per usageRows
// (subscription, day), in key order so that two instances on one
// PostgreSQL database lock rows in the same order.
func (b *acctBatch) flushUsage(ctx context.Context, x q) error {
	keys := make([]usageKey, 0, len(b.usage))
	for k := range b.usage {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b usageKey) int {
		if c := cmp.Compare(a.sub, b.sub); c != 0 {
			return c
		}
		return strings.Compare(a.day, b.day)
	})
	stmts := map[int]prepared{}
	args := make([]any, 0, 5*usageRows)
	for len(keys) > 0 {
		n := min(len(keys), usageRows)
		st, ok := stmts[n]
		if !ok {
			var err error
			st, err = x.prepare(ctx, "INSERT INTO usage_daily (subscription_id, day, member_id, input_octets, output_octets) VALUES (?, ?, ?, ?, ?)"+
				strings.Repeat(", (?, ?, ?, ?, ?)", n-1)+
				` ON CONFLICT (subscription_id, day) DO UPDATE SET input_octets = usage_daily.input_octets + excluded.input_octets,
		output_octets = usage_daily.output_octets + excluded.output_octets`)
			if err != nil {
				return err
			}
			stmts[n] = st
		}
		args = args[:0]
		for _, k := range keys[:n] {
			d := b.usage[k]
			args = append(args, k.sub, k.day, d.member, int64(d.in), int64(d.out))
		}
		if err := st.exec(ctx, args...); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
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
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	ids := make(map[int64]bool, len(stale))
	for _, id := range stale {
		ids[id.(int64)] = true
	}
	s.sessions.forget(ids)
	return len(stale), nil
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
