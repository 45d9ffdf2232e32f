package store

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"maillon/internal/dbaddr"
)

// Describe names a database for messages without printing a password.
func Describe(dbURL string) string {
	if !dbaddr.IsPostgres(dbURL) {
		return dbaddr.SQLiteFile(dbURL)
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	u.User = url.User(u.User.Username())
	u.RawQuery = ""
	return u.String()
}

// Restore replaces the SQLite database at dbURL with the backup at from,
// after checking that the backup is a sound maillon database. The previous
// database is renamed aside, not deleted; its new name is returned.
func Restore(ctx context.Context, from, dbURL string) (string, error) {
	if dbaddr.IsPostgres(dbURL) {
		return "", fmt.Errorf("restore: only SQLite databases are restored by maillon; use pg_restore for PostgreSQL")
	}
	dst := dbaddr.SQLiteFile(dbURL)
	tmp := dst + ".restoring"
	if err := copyFile(from, tmp); err != nil {
		return "", fmt.Errorf("restore: %w", err)
	}
	defer os.Remove(tmp)
	if err := checkBackup(ctx, tmp); err != nil {
		return "", fmt.Errorf("restore: %s: %w", from, err)
	}
	var previous string
	if _, err := os.Stat(dst); err == nil {
		previous = fmt.Sprintf("%s.before-restore-%s", dst, time.Now().UTC().Format("20060102T150405"))
		if err := os.Rename(dst, previous); err != nil {
			return "", fmt.Errorf("restore: keep previous database: %w", err)
		}
	}
	// The WAL and shared-memory files belong to the old database.
	os.Remove(dst + "-wal")
	os.Remove(dst + "-shm")
	if err := os.Rename(tmp, dst); err != nil {
		return previous, fmt.Errorf("restore: %w", err)
	}
	return previous, nil
}

func checkBackup(ctx context.Context, path string) error {
	s, err := openSQLite(ctx, path)
	if err != nil {
		return err
	}
	defer s.Close()
	var result string
	if err := s.write.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&result); err != nil {
		return fmt.Errorf("not a SQLite database: %w", err)
	}
	if result != "ok" {
		return fmt.Errorf("integrity check failed: %s", result)
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil || v == 0 {
		return fmt.Errorf("not a maillon database")
	}
	ms, _ := Migrations("sqlite")
	if v > len(ms) {
		return fmt.Errorf("made by a newer maillon (schema %d > %d)", v, len(ms))
	}
	return nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
