package dbaddr

import "testing"

func TestSQLiteFile(t *testing.T) {
	for in, want := range map[string]string{
		"/var/lib/maillon/maillon.db":                "/var/lib/maillon/maillon.db",
		"sqlite:var/m.db":                            "var/m.db",
		"file:///tmp/m.db?_pragma=foreign_keys(1)":   "/tmp/m.db",
		"postgres://maillon@127.0.0.1/maillon":       "",
		"postgresql://maillon@127.0.0.1/maillon?x=y": "",
	} {
		if got := SQLiteFile(in); got != want {
			t.Errorf("SQLiteFile(%q) = %q, want %q", in, got, want)
		}
	}
}
