package registry

import (
	"fmt"
	"strings"
	"time"
)

// ChangeReport is what a host's agent (maillon agent) sends once the host
// has been quiet for a while: which files and Debian packages changed
// since its previous report. It carries paths, modes, owners and hashes,
// never contents: the diffs stay on the host, since they hold secrets.
type ChangeReport struct {
	// ID is chosen by the agent; a report sent again (the answer was lost)
	// is recorded once.
	ID string `json:"id"`
	// Host is the host the agent believes it runs on; it must be the
	// host of the agent's token.
	Host string `json:"host"`
	// FirstChange and LastChange bound when the changes were seen.
	FirstChange time.Time       `json:"first_change"`
	LastChange  time.Time       `json:"last_change"`
	Files       []FileChange    `json:"files,omitempty"`
	Packages    []PackageChange `json:"packages,omitempty"`
	// FilesTotal and PackagesTotal count every change when the agent cut
	// the lists short (a dist-upgrade touches thousands of files).
	FilesTotal    int `json:"files_total,omitempty"`
	PackagesTotal int `json:"packages_total,omitempty"`
	// History is where the agent keeps this report's diffs on the host.
	History string `json:"history,omitempty"`
}

// The changes a FileChange reports.
const (
	FileAdded       = "added"
	FileModified    = "modified"
	FileRemoved     = "removed"
	FilePermissions = "permissions" // mode or owner only, same contents
)

// FileChange is one path that changed. The Old* fields hold what the
// previous snapshot had, where it differs.
type FileChange struct {
	Path   string `json:"path"`
	Change string `json:"change"`
	// Type is file, dir, symlink or other.
	Type string `json:"type"`
	// Mode is the permission bits in octal ("0640", "4755"); Owner is
	// "user:group".
	Mode   string `json:"mode,omitempty"`
	Owner  string `json:"owner,omitempty"`
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	// Target is a symlink's target.
	Target    string `json:"target,omitempty"`
	OldType   string `json:"old_type,omitempty"`
	OldMode   string `json:"old_mode,omitempty"`
	OldOwner  string `json:"old_owner,omitempty"`
	OldSHA256 string `json:"old_sha256,omitempty"`
	OldTarget string `json:"old_target,omitempty"`
}

// The changes a PackageChange reports.
const (
	PackageInstalled  = "installed"
	PackageRemoved    = "removed"
	PackageUpgraded   = "upgraded"
	PackageDowngraded = "downgraded"
	// PackageState is a package left half-installed, unpacked or the like.
	PackageState = "state"
)

// PackageChange is one Debian package that changed.
type PackageChange struct {
	Name       string `json:"name"`
	Arch       string `json:"arch,omitempty"`
	Change     string `json:"change"`
	Version    string `json:"version,omitempty"`
	OldVersion string `json:"old_version,omitempty"`
	// State is dpkg's state when not "installed" (half-configured, ...).
	State    string `json:"state,omitempty"`
	OldState string `json:"old_state,omitempty"`
}

// Bounds on what one report may hold, so a runaway agent cannot fill the
// database: the agent cuts its lists at MaxReportItems and says how many
// there were.
const (
	MaxReportItems = 2000
	maxReportField = 4096
)

func (r *ChangeReport) validate() error {
	r.ID = strings.TrimSpace(r.ID)
	if r.ID == "" || len(r.ID) > 100 || strings.ContainsFunc(r.ID, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.:", c))
	}) {
		return invalid("id", "%q is not a report id (1 to 100 letters, digits, - _ . :)", r.ID)
	}
	if len(r.Files) == 0 && len(r.Packages) == 0 {
		return invalid("files", "a report without any change")
	}
	if len(r.Files) > MaxReportItems || len(r.Packages) > MaxReportItems {
		return invalid("files", "more than %d files or packages: the agent cuts its lists and counts the rest", MaxReportItems)
	}
	if r.FilesTotal < len(r.Files) {
		r.FilesTotal = len(r.Files)
	}
	if r.PackagesTotal < len(r.Packages) {
		r.PackagesTotal = len(r.Packages)
	}
	if len(r.History) > maxReportField {
		return invalid("history", "too long")
	}
	for i := range r.Files {
		f := &r.Files[i]
		if !strings.HasPrefix(f.Path, "/") || len(f.Path) > maxReportField || strings.ContainsRune(f.Path, 0) {
			return invalid("files", "%q is not an absolute path", f.Path)
		}
		switch f.Change {
		case FileAdded, FileModified, FileRemoved, FilePermissions:
		default:
			return invalid("files", "%s: change %q is not added, modified, removed or permissions", f.Path, f.Change)
		}
		for _, v := range []string{f.Type, f.Mode, f.Owner, f.SHA256, f.Target, f.OldType, f.OldMode, f.OldOwner, f.OldSHA256, f.OldTarget} {
			if len(v) > maxReportField || strings.ContainsRune(v, 0) {
				return invalid("files", "%s: a field is too long or holds a NUL byte", f.Path)
			}
		}
	}
	for i := range r.Packages {
		p := &r.Packages[i]
		if p.Name == "" || len(p.Name) > 200 {
			return invalid("packages", "%q is not a package name", p.Name)
		}
		switch p.Change {
		case PackageInstalled, PackageRemoved, PackageUpgraded, PackageDowngraded, PackageState:
		default:
			return invalid("packages", "%s: change %q is not installed, removed, upgraded, downgraded or state", p.Name, p.Change)
		}
		for _, v := range []string{p.Arch, p.Version, p.OldVersion, p.State, p.OldState} {
			if len(v) > 200 {
				return invalid("packages", "%s: a field is too long", p.Name)
			}
		}
	}
	return nil
}

// Summary says in one line what a report holds, e.g. "3 files changed
// (1 added, 2 modified), 1 package upgraded".
func (r *ChangeReport) Summary() string {
	var parts []string
	if n := max(r.FilesTotal, len(r.Files)); n > 0 {
		counts := map[string]int{}
		for _, f := range r.Files {
			counts[f.Change]++
		}
		var detail []string
		for _, c := range []string{FileAdded, FileModified, FileRemoved, FilePermissions} {
			if counts[c] > 0 {
				word := c
				if c == FilePermissions {
					word = "permissions changed"
				}
				detail = append(detail, fmt.Sprintf("%d %s", counts[c], word))
			}
		}
		s := fmt.Sprintf("%d %s changed", n, plural(n, "file", "files"))
		if len(detail) > 0 {
			if n > len(r.Files) {
				detail = append(detail, fmt.Sprintf("%d more", n-len(r.Files)))
			}
			s += " (" + strings.Join(detail, ", ") + ")"
		}
		parts = append(parts, s)
	}
	counts := map[string]int{}
	for _, p := range r.Packages {
		counts[p.Change]++
	}
	first := true
	for _, c := range []string{PackageInstalled, PackageUpgraded, PackageDowngraded, PackageRemoved, PackageState} {
		n := counts[c]
		if n == 0 {
			continue
		}
		word := c
		if c == PackageState {
			word = "in a new dpkg state"
		}
		if first {
			parts = append(parts, fmt.Sprintf("%d %s %s", n, plural(n, "package", "packages"), word))
			first = false
		} else {
			parts = append(parts, fmt.Sprintf("%d %s", n, word))
		}
	}
	if more := r.PackagesTotal - len(r.Packages); more > 0 {
		parts = append(parts, fmt.Sprintf("%d more %s", more, plural(more, "package", "packages")))
	}
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
