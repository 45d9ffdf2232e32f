package store

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// TestUniqueIndexesNamed walks every unique index and composite primary key
// of both engines' migrations and checks that a conflict on it names a field
// in words, however the engine reports it: by index name, or (SQLite, for
// plain columns) by its columns.
func TestUniqueIndexesNamed(t *testing.T) {
	index := regexp.MustCompile(`(?i)CREATE UNIQUE INDEX (\w+) ON (\w+) \((.+)\)`)
	table := regexp.MustCompile(`(?i)CREATE TABLE (?:IF NOT EXISTS )?(\w+)`)
	pkey := regexp.MustCompile(`(?i)^\s*PRIMARY KEY \(([^)]+)\)`)
	lower := regexp.MustCompile(`(?i)lower\((\w+)\)`)
	columns := func(tbl, list string) string {
		var out []string
		for _, c := range strings.Split(lower.ReplaceAllString(list, "$1"), ",") {
			out = append(out, tbl+"."+strings.TrimSpace(c))
		}
		return strings.Join(out, ", ")
	}
	seen := 0
	for _, engine := range []string{"sqlite", "postgres"} {
		files, err := fs.Glob(migrationFS, "migrations/"+engine+"/*.sql")
		if err != nil || len(files) == 0 {
			t.Fatalf("%s migrations: %v %v", engine, files, err)
		}
		for _, file := range files {
			b, err := fs.ReadFile(migrationFS, file)
			if err != nil {
				t.Fatal(err)
			}
			var current string
			for _, line := range strings.Split(string(b), "\n") {
				var name, cols string
				if m := table.FindStringSubmatch(line); m != nil {
					current = m[1]
				}
				if m := index.FindStringSubmatch(line); m != nil {
					name, cols = m[1], columns(m[2], m[3])
				} else if m := pkey.FindStringSubmatch(line); m != nil {
					name, cols = current+"_pkey", columns(current, m[1])
				} else {
					continue
				}
				seen++
				for _, reported := range []string{name, cols} {
					if what := uniqueConflict(reported).What; what == reported || what == "" {
						t.Errorf("%s: a conflict on %s (reported as %q) names no field: add it to uniqueIndexes", file, name, reported)
					}
				}
			}
		}
	}
	if seen < 2*len(uniqueIndexes) {
		t.Errorf("walked %d unique constraints over two engines, want at least %d: the patterns miss some", seen, 2*len(uniqueIndexes))
	}
}

func TestSQLiteConstraintName(t *testing.T) {
	for msg, want := range map[string]string{
		"UNIQUE constraint failed: zones.origin (2067)":                          "zones.origin",
		"constraint failed: UNIQUE constraint failed: zones.origin (2067)":       "zones.origin",
		"UNIQUE constraint failed: ports.host_id, ports.name (2067)":             "ports.host_id, ports.name",
		"UNIQUE constraint failed: index 'hosts_name_key' (2067)":                "hosts_name_key",
		"UNIQUE constraint failed: usage_daily.subscription_id, usage_daily.day": "usage_daily.subscription_id, usage_daily.day",
	} {
		if got := sqliteConstraint(msg); got != want {
			t.Errorf("sqliteConstraint(%q) = %q, want %q", msg, got, want)
		}
	}
}
