package registry

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Every entity name the package audits under is in auditEntities, checked
// on the source so that a path no test runs is covered too: record would
// refuse it at run time, and "maillon audit --entity" could not find it.
func TestAuditEntitiesListsEveryRecordedEntity(t *testing.T) {
	if !slices.IsSorted(auditEntities) {
		t.Errorf("auditEntities is not sorted: %q", auditEntities)
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	files = slices.DeleteFunc(files, func(f string) bool { return strings.HasSuffix(f, "_test.go") })
	// c.record("action", "entity", ...), entity[...]{name: "entity"}, and
	// the kinds of web sessions (audited under their own names).
	patterns := []*regexp.Regexp{
		regexp.MustCompile(`\.record\("[^"]+", "([^"]+)"`),
		regexp.MustCompile(`(?m)^\s+name:\s+"([^"]+)",`),
		regexp.MustCompile(`Session(?:Admin|Member)\s+SessionKind = "([^"]+)"`),
	}
	found := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, re := range patterns {
			for _, m := range re.FindAllSubmatch(b, -1) {
				found++
				if !slices.Contains(auditEntities, string(m[1])) {
					t.Errorf("%s audits entity %q, which auditEntities lacks", f, m[1])
				}
			}
		}
	}
	if found < 30 {
		t.Errorf("only %d audited entities found in the source: the patterns no longer match it", found)
	}
}
