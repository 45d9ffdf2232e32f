// Package store keeps the registry in SQLite (the embedded default) or
// PostgreSQL (for larger and highly-available setups). It is raw SQL, one
// file per entity; each engine has its own numbered migrations and a dialect
// file for what differs (placeholders, locking, error codes, time columns).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"maillon/internal/dbaddr"
	"maillon/internal/registry"
)

// Store implements registry.Store.
type Store struct {
	dialect *dialect
	// write is the connection pool for writers; on SQLite it holds one
	// connection, as SQLite has one writer at a time anyway.
	write *sql.DB
	// read serves Read; on SQLite a separate pool so readers never queue
	// behind the writer (WAL lets them run alongside it).
	read *sql.DB
	// sessions remembers open accounting sessions (accounting.go).
	sessions openSessions
}

var _ registry.Store = (*Store)(nil)

// Open opens the database named by url, applying pending migrations:
// a postgres:// or postgresql:// URL selects PostgreSQL, anything else is a
// SQLite path (optionally prefixed with sqlite: or file:).
func Open(ctx context.Context, url string) (*Store, error) {
	var (
		s   *Store
		err error
	)
	if dbaddr.IsPostgres(url) {
		s, err = openPostgres(ctx, url)
	} else {
		s, err = openSQLite(ctx, url)
	}
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Engine names the database engine, "sqlite" or "postgres".
func (s *Store) Engine() string { return s.dialect.name }

// Close closes the pools.
func (s *Store) Close() error {
	err := s.write.Close()
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// Ping checks the database answers. It uses the read pool: on SQLite the
// one writer connection may be busy with a long import, which is no
// reason to report the daemon unhealthy.
func (s *Store) Ping(ctx context.Context) error { return s.read.PingContext(ctx) }

// Read runs fn in a read-only transaction, which gives it one consistent
// view of the registry.
func (s *Store) Read(ctx context.Context, fn func(registry.Reader) error) error {
	tx, err := s.read.BeginTx(ctx, s.dialect.readOpts)
	if err != nil {
		return fmt.Errorf("begin read: %w", s.dialect.mapErr(err))
	}
	defer tx.Rollback()
	if err := fn(&txn{q: s.dialect.newQ(tx)}); err != nil {
		return err
	}
	return tx.Commit()
}

// Write runs fn in a read-write transaction and commits it if fn succeeds.
func (s *Store) Write(ctx context.Context, fn func(registry.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin write: %w", s.dialect.mapErr(err))
	}
	defer tx.Rollback()
	if err := fn(&txn{q: s.dialect.newQ(tx)}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", s.dialect.mapErr(err))
	}
	return nil
}

// DB exposes the writer pool to maintenance code in this package's callers
// that needs raw access (backups); registry data goes through Write.
func (s *Store) DB() *sql.DB { return s.write }

// q runs statements on a transaction with the dialect's placeholders and
// value conversions.
type q struct {
	tx *sql.Tx
	d  *dialect
	// stmts caches the transaction's prepared statements (SQLite only): a
	// batch runs the same dozen statements thousands of times, and parsing
	// them again each time was half of SQLite's work. They close with the
	// transaction. Not on PostgreSQL, where PgBouncer in transaction
	// pooling mode cannot follow named prepared statements.
	stmts map[string]*sql.Stmt
}

func (d *dialect) newQ(tx *sql.Tx) q {
	x := q{tx: tx, d: d}
	if d.prepare {
		x.stmts = map[string]*sql.Stmt{}
	}
	return x
}

// stmt returns the cached prepared statement for query, or nil when the
// dialect does not cache or the statement does not prepare (the caller
// then runs it directly and gets the error there).
func (x q) stmt(ctx context.Context, query string) *sql.Stmt {
	if x.stmts == nil {
		return nil
	}
	if st, ok := x.stmts[query]; ok {
		return st
	}
	st, err := x.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	x.stmts[query] = st
	return st
}

func (x q) args(args []any) []any {
	for i, a := range args {
		switch v := a.(type) {
		case time.Time:
			args[i] = x.d.ts(v)
		case *time.Time:
			if v == nil {
				args[i] = nil
			} else {
				args[i] = x.d.ts(*v)
			}
		}
	}
	return args
}

func (x q) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	query = x.d.rebind(query)
	if st := x.stmt(ctx, query); st != nil {
		r, err := st.ExecContext(ctx, x.args(args)...)
		return r, x.d.mapErr(err)
	}
	r, err := x.tx.ExecContext(ctx, query, x.args(args)...)
	return r, x.d.mapErr(err)
}

func (x q) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query = x.d.rebind(query)
	if st := x.stmt(ctx, query); st != nil {
		r, err := st.QueryContext(ctx, x.args(args)...)
		return r, x.d.mapErr(err)
	}
	r, err := x.tx.QueryContext(ctx, query, x.args(args)...)
	return r, x.d.mapErr(err)
}

func (x q) row(ctx context.Context, query string, args ...any) *sql.Row {
	query = x.d.rebind(query)
	if st := x.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, x.args(args)...)
	}
	return x.tx.QueryRowContext(ctx, query, x.args(args)...)
}

// insert runs an INSERT ... RETURNING id.
func (x q) insert(ctx context.Context, query string, args ...any) (int64, error) {
	var id int64
	if err := x.row(ctx, query+" RETURNING id", args...).Scan(&id); err != nil {
		return 0, x.d.mapErr(err)
	}
	return id, nil
}

// mustAffect turns "no row changed" into a typed not-found error.
func mustAffect(r sql.Result, err error, entity string, id int64) error {
	if err != nil {
		return err
	}
	n, err := r.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return registry.NotFound(entity, id)
	}
	return nil
}

// one scans a single row, turning sql.ErrNoRows into a typed not-found.
func one[T any](rows *sql.Rows, err error, scan func(*sql.Rows) (T, error), entity string, ref any) (T, error) {
	list, err := all(rows, err, scan)
	if err != nil {
		var zero T
		return zero, err
	}
	if len(list) == 0 {
		var zero T
		return zero, registry.NotFound(entity, ref)
	}
	return list[0], nil
}

func all[T any](rows *sql.Rows, err error, scan func(*sql.Rows) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// txn implements registry.Tx (and so registry.Reader).
type txn struct{ q }

func limitClause(opt registry.ListOptions) string {
	if opt.Limit <= 0 {
		return ""
	}
	return fmt.Sprintf(" LIMIT %d OFFSET %d", opt.Limit, max(opt.Offset, 0))
}

func like(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + strings.ToLower(r.Replace(s)) + "%"
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullInt(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func intPtr(n sql.NullInt64) *int64 {
	if !n.Valid {
		return nil
	}
	v := n.Int64
	return &v
}

// nowUTC is the row timestamp, at the microsecond precision both engines keep.
func nowUTC() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// splitLines and joinLines store short lists as one text column, one item
// a line.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func joinLines(items []string) string { return strings.Join(items, "\n") }
