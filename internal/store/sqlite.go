package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"maillon/internal/dbaddr"
)

// sqliteTime is fixed-width UTC text, so stored times sort and compare as
// strings and read well in the sqlite3 shell.
const sqliteTime = "2006-01-02 15:04:05.000000"

var sqliteDialect = &dialect{
	name:      "sqlite",
	rebind:    func(s string) string { return s },
	ts:        func(t time.Time) any { return t.UTC().Format(sqliteTime) },
	lockTable: func(string) string { return "" },
	forUpdate: "",
	classify: func(err error) (constraintKind, string) {
		var e *sqlite.Error
		if !errors.As(err, &e) {
			return notConstraint, ""
		}
		switch e.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return uniqueViolation, sqliteConstraint(e.Error())
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return foreignKeyViolation, "foreign key"
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return busy, ""
		}
		return notConstraint, ""
	},
	readOpts: &sql.TxOptions{ReadOnly: true},
	prepare:  true,
}

// sqliteConstraint extracts what a SQLite constraint error names: the
// columns ("zones.origin", "ports.host_id, ports.name") or, for an index on
// expressions, the index ("hosts_name_key"), without the extended result
// code the driver appends ("... (2067)").
func sqliteConstraint(msg string) string {
	if i := strings.LastIndex(msg, "failed: "); i >= 0 {
		msg = msg[i+len("failed: "):]
	}
	if i := strings.LastIndex(msg, " ("); i >= 0 && strings.HasSuffix(msg, ")") {
		if _, err := strconv.Atoi(msg[i+2 : len(msg)-1]); err == nil {
			msg = msg[:i]
		}
	}
	msg = strings.TrimSpace(msg)
	if rest, ok := strings.CutPrefix(msg, "index "); ok {
		msg = strings.Trim(rest, "'")
	}
	return msg
}

func sqliteDSN(path string, readOnly bool) string {
	v := url.Values{}
	v.Add("_pragma", "foreign_keys(1)")
	v.Add("_pragma", "busy_timeout(10000)")
	v.Add("_pragma", "journal_mode(WAL)")
	// FULL: a write the registry reported done survives a power cut, not
	// only a crash; batching keeps the fsync cost per transaction, not row.
	v.Add("_pragma", "synchronous(FULL)")
	if readOnly {
		v.Add("_pragma", "query_only(1)")
	} else {
		// Writers take the lock at BEGIN, so two writers queue instead of
		// failing with SQLITE_BUSY when the second tries to upgrade.
		v.Set("_txlock", "immediate")
		// The writer's page cache holds the hot part of the accounting
		// tables (open sessions, their indexes, today's usage): SQLite's
		// default 2 MiB makes every accounting lookup a pread once there
		// are a few thousand sessions. 16 MiB, allocated as used: 64 MiB was
		// faster still (bench/radius) but costs resident memory every small
		// ISP pays.
		v.Add("_pragma", "cache_size(-16384)")
	}
	return "file:" + path + "?" + v.Encode()
}

func openSQLite(ctx context.Context, dbURL string) (*Store, error) {
	path := dbaddr.SQLiteFile(dbURL)
	if path == "" {
		return nil, fmt.Errorf("database: empty SQLite path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("database directory %s: %w", dir, err)
		}
	}
	// The database holds members' personal data and password hashes: a
	// new one is for its owner only, and SQLite gives its -wal and -shm
	// files the database's mode.
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	w, err := sql.Open("sqlite", sqliteDSN(path, false))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", sqliteDSN(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	return &Store{dialect: sqliteDialect, write: w, read: r}, nil
}

// Backup writes a consistent copy of a SQLite database to path while
// others keep writing (VACUUM INTO reads one snapshot).
func (s *Store) Backup(ctx context.Context, path string) error {
	if s.dialect != sqliteDialect {
		return fmt.Errorf("backup: only SQLite databases are backed up by maillon; use pg_dump or your Patroni backups for PostgreSQL")
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("backup: %s already exists", path)
	}
	tmp := path + ".partial"
	os.Remove(tmp)
	// VACUUM INTO fills an empty file and keeps its mode.
	if err := createPrivate(tmp); err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	if _, err := s.write.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	return nil
}

// createPrivate creates an empty file readable by its owner only, unless
// the file exists already (whose mode is the operator's choice).
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}
