// Package dbaddr reads the `database` setting: a postgres:// URL or a
// SQLite file (plain, or sqlite:/file: with query parameters). The
// configuration, the CLI and the store all need it, and only the store may
// be imported by the CLI (internal/archtest), so it stands alone.
package dbaddr

import "strings"

// IsPostgres reports a PostgreSQL URL.
func IsPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// SQLiteFile is the file of a SQLite setting, "" for PostgreSQL.
func SQLiteFile(db string) string {
	if IsPostgres(db) {
		return ""
	}
	p := strings.TrimPrefix(strings.TrimPrefix(db, "sqlite:"), "file:")
	p, _, _ = strings.Cut(p, "?")
	return strings.TrimPrefix(p, "//")
}
