package cli

import (
	"os"
	"path/filepath"
	"testing"
)

// Each bad line of an import is printed on its own line, not run together
// with the next.
func TestImportErrorsOnePerLine(t *testing.T) {
	file := filepath.Join(t.TempDir(), "members.csv")
	if err := os.WriteFile(file, []byte("name,email\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	api := newFakeAPI(t, map[string]reply{
		"POST /api/v1/import/members": ok(`{"error": "line 3: email: \"x\" is not an email address\nline 4: login: taken\n(the lines after line 4 were not checked: only the first 20 errors are reported)", "line": 3}` + "\n"),
	})
	r := api.run("import", file)
	want := "maillon: " + file + ": line 3: email: \"x\" is not an email address\n" +
		"  line 4: login: taken\n" +
		"  (the lines after line 4 were not checked: only the first 20 errors are reported)\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("got %d %q\nwant %q", r.code, r.stderr, want)
	}
}
