package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

var postgresDialect = &dialect{
	name:      "postgres",
	rebind:    rebindDollar,
	ts:        func(t time.Time) any { return t.UTC() },
	lockTable: func(table string) string { return "LOCK TABLE " + table + " IN SHARE ROW EXCLUSIVE MODE" },
	forUpdate: " FOR UPDATE",
	classify: func(err error) (constraintKind, string) {
		var e *pgconn.PgError
		if !errors.As(err, &e) {
			return notConstraint, ""
		}
		switch e.Code {
		case "23505":
			return uniqueViolation, e.ConstraintName
		case "23503":
			return foreignKeyViolation, e.ConstraintName
		case "40001", "40P01":
			return busy, ""
		}
		return notConstraint, ""
	},
	// One snapshot for the whole read, so a listing never mixes two states.
	readOpts: &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead},
}

// pgConnConfig parses a postgres URL. Unless the URL says otherwise, pgx
// runs every statement as an unnamed prepared statement inside our explicit
// transactions ("exec" mode): PgBouncer in transaction pooling mode keeps a
// transaction on one server connection, and no named statement outlives it.
func pgConnConfig(dbURL string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	if u, err := url.Parse(dbURL); err == nil && u.Query().Get("default_query_exec_mode") == "" {
		cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	}
	return cfg, nil
}

func openPostgres(ctx context.Context, dbURL string) (*Store, error) {
	cfg, err := pgConnConfig(dbURL)
	if err != nil {
		return nil, err
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetConnMaxLifetime(30 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to PostgreSQL %s@%s/%s: %w", cfg.User, cfg.Host, cfg.Database, err)
	}
	return &Store{dialect: postgresDialect, write: db, read: db}, nil
}
