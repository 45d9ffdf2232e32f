package journal

import (
	"fmt"
	"strings"

	"maillon/internal/registry"
)

// maxAnnounced bounds the lines of one announcement: the journal has the
// rest.
const maxAnnounced = 50

// Announcement is how a change report is told to admins: a subject, and a
// text listing what changed (paths and versions, never contents).
func Announcement(e registry.JournalEntry, url string) (subject, text string) {
	subject = fmt.Sprintf("[maillon] %s: %s", e.Host, e.Text)
	var b strings.Builder
	fmt.Fprintf(&b, "The agent of %s reports: %s.\n", e.Host, e.Text)
	if r := e.Report; r != nil {
		fmt.Fprintf(&b, "Changes seen from %s to %s UTC.\n\n", r.FirstChange.UTC().Format("2006-01-02 15:04:05"), r.LastChange.UTC().Format("2006-01-02 15:04:05"))
		n := 0
		for _, f := range r.Files {
			if n == maxAnnounced {
				break
			}
			line := fmt.Sprintf("  %-11s %s", f.Change, f.Path)
			if f.OldMode != "" || f.OldOwner != "" {
				line += fmt.Sprintf(" (mode %s, owner %s)", arrow(f.OldMode, f.Mode), arrow(f.OldOwner, f.Owner))
			}
			b.WriteString(line + "\n")
			n++
		}
		for _, p := range r.Packages {
			if n == maxAnnounced {
				break
			}
			fmt.Fprintf(&b, "  %-11s %s %s\n", p.Change, p.Name, arrow(p.OldVersion, p.Version))
			n++
		}
		if more := len(r.Files) + len(r.Packages) - n; more > 0 {
			fmt.Fprintf(&b, "  ... and %d more\n", more)
		}
		if r.History != "" {
			fmt.Fprintf(&b, "\nThe diffs are on %s, in %s.\n", e.Host, r.History)
		}
	}
	fmt.Fprintf(&b, "\nmaillon journal show %d", e.ID)
	if url != "" {
		fmt.Fprintf(&b, "\n%s", url)
	}
	b.WriteString("\n")
	return subject, b.String()
}
