package journal

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
)

// Package is one entry of dpkg's database.
type Package struct {
	Name    string `json:"name"`
	Arch    string `json:"arch,omitempty"`
	Version string `json:"version,omitempty"`
	// State is the last word of dpkg's Status field: installed,
	// config-files, half-installed, unpacked, half-configured,
	// triggers-awaited, triggers-pending (not-installed entries are left
	// out).
	State string `json:"state"`
}

// Key tells apart the same package installed for two architectures.
func (p Package) Key() string {
	if p.Arch == "" {
		return p.Name
	}
	return p.Name + ":" + p.Arch
}

// Installed says whether the package is there and configured; triggers
// still pending do not make it less installed.
func (p Package) Installed() bool {
	switch p.State {
	case "installed", "triggers-awaited", "triggers-pending":
		return true
	}
	return false
}

// maxDpkgLine bounds one line of the status file: Description and
// Conffiles fields run long, but not to megabytes.
const maxDpkgLine = 1 << 20

// ParseDpkgStatus reads dpkg's status file (/var/lib/dpkg/status): stanzas
// of "Field: value" lines separated by blank lines, continuation lines
// starting with a space or tab. Only Package, Architecture, Version and
// Status are kept, keyed by Package.Key.
func ParseDpkgStatus(r io.Reader) (map[string]Package, error) {
	out := map[string]Package{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxDpkgLine)
	var (
		cur     Package
		status  string
		started bool
		line    int
		first   int
	)
	end := func() error {
		if !started {
			return nil
		}
		started = false
		if cur.Name == "" {
			return fmt.Errorf("line %d: a stanza without a Package field", first)
		}
		words := strings.Fields(status)
		if len(words) != 3 {
			return fmt.Errorf("line %d: package %s: Status %q is not three words (want, flag, state)", first, cur.Name, status)
		}
		cur.State = words[2]
		if cur.State != "not-installed" {
			if _, dup := out[cur.Key()]; dup {
				return fmt.Errorf("line %d: package %s appears twice", first, cur.Key())
			}
			out[cur.Key()] = cur
		}
		cur, status = Package{}, ""
		return nil
	}
	for sc.Scan() {
		line++
		b := bytes.TrimRight(sc.Bytes(), "\r")
		if len(bytes.TrimSpace(b)) == 0 {
			if err := end(); err != nil {
				return nil, err
			}
			continue
		}
		if b[0] == ' ' || b[0] == '\t' {
			if !started {
				return nil, fmt.Errorf("line %d: a continuation line outside a stanza", line)
			}
			continue // the rest of a long field we do not keep
		}
		if b[0] == '#' && !started {
			continue
		}
		name, value, ok := bytes.Cut(b, []byte(":"))
		if !ok || len(name) == 0 {
			return nil, fmt.Errorf("line %d: %q is not a \"Field: value\" line", line, truncate(string(b), 60))
		}
		if !started {
			started, first = true, line
		}
		v := string(bytes.TrimSpace(value))
		switch strings.ToLower(string(name)) {
		case "package":
			cur.Name = v
		case "architecture":
			cur.Arch = v
		case "version":
			cur.Version = v
		case "status":
			status = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	if err := end(); err != nil {
		return nil, err
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// CompareVersions orders two Debian versions as dpkg does
// ([epoch:]upstream[-revision], with ~ sorting before anything, even the
// end): negative when a < b, 0 when equal, positive when a > b.
func CompareVersions(a, b string) int {
	ea, ua, ra := splitVersion(a)
	eb, ub, rb := splitVersion(b)
	if c := compareNumeric(ea, eb); c != 0 {
		return c
	}
	if c := compareFragment(ua, ub); c != 0 {
		return c
	}
	return compareFragment(ra, rb)
}

func splitVersion(v string) (epoch, upstream, revision string) {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, ':'); i >= 0 {
		epoch, v = v[:i], v[i+1:]
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		return epoch, v[:i], v[i+1:]
	}
	return epoch, v, ""
}

// compareNumeric compares digit strings of any length without overflow.
func compareNumeric(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// order is dpkg's weight of a character in the non-digit parts: ~ first,
// then the end of the string, letters, then everything else.
func order(c byte) int {
	switch {
	case c == '~':
		return -1
	case isDigit(c):
		return 0
	case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		return int(c)
	}
	return int(c) + 256
}

func compareFragment(a, b string) int {
	for a != "" || b != "" {
		// Non-digit prefixes, character by character.
		for (a != "" && !isDigit(a[0])) || (b != "" && !isDigit(b[0])) {
			var ca, cb int
			if a != "" {
				ca = order(a[0])
			}
			if b != "" {
				cb = order(b[0])
			}
			if ca != cb {
				return ca - cb
			}
			if a != "" {
				a = a[1:]
			}
			if b != "" {
				b = b[1:]
			}
		}
		// Then digit runs, as numbers.
		i := 0
		for i < len(a) && isDigit(a[i]) {
			i++
		}
		j := 0
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		if c := compareNumeric(a[:i], b[:j]); c != 0 {
			return c
		}
		a, b = a[i:], b[j:]
	}
	return 0
}
