package journal

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// FileState is what a snapshot keeps of one path: enough to tell a change
// (type, mode, owner, contents hash, link target), plus what lets the next
// scan skip rehashing a file that was not touched (size, times, inode).
type FileState struct {
	Type   string `json:"type"` // file, dir, symlink, other
	Mode   uint32 `json:"mode"` // permission, setuid, setgid and sticky bits
	UID    uint32 `json:"uid"`
	GID    uint32 `json:"gid"`
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	Target string `json:"target,omitempty"`
	// Err says why the contents could not be read (the agent not root).
	Err   string `json:"err,omitempty"`
	MTime int64  `json:"mtime,omitempty"`
	CTime int64  `json:"ctime,omitempty"`
	Ino   uint64 `json:"ino,omitempty"`
}

// same reports whether two states are the same as far as a report goes:
// a touch that changes only times is not a change.
func (a FileState) same(b FileState) bool {
	return a.Type == b.Type && a.Mode == b.Mode && a.UID == b.UID && a.GID == b.GID &&
		a.SHA256 == b.SHA256 && a.Target == b.Target && a.Err == b.Err
}

// untouched reports whether the file's inode says it was not written
// since prev was taken, so that its hash still holds.
func (a FileState) untouched(prev FileState) bool {
	return prev.Type == "file" && a.Size == prev.Size && a.MTime == prev.MTime && a.CTime == prev.CTime && a.Ino == prev.Ino && prev.Err == ""
}

// DefaultExcludes are left out of every scan: editors' droppings, caches
// the system rewrites by itself, and etckeeper's repository.
var DefaultExcludes = []string{"*.swp", "*~", ".#*", "#*#", ".git", "/etc/ld.so.cache", "/etc/adjtime", "/etc/mtab"}

// excluded matches a path against patterns: one with a slash is matched
// against the whole path (a directory's subtree goes with it), one
// without against the last element.
func excluded(p string, patterns []string) bool {
	base := path.Base(p)
	for _, pat := range patterns {
		if strings.Contains(pat, "/") {
			if ok, _ := path.Match(pat, p); ok {
				return true
			}
		} else if ok, _ := path.Match(pat, base); ok {
			return true
		}
	}
	return false
}

func stateOf(info fs.FileInfo) FileState {
	var st FileState
	m := info.Mode()
	switch {
	case m.IsRegular():
		st.Type = "file"
		st.Size = info.Size()
	case m.IsDir():
		st.Type = "dir"
	case m&fs.ModeSymlink != 0:
		st.Type = "symlink"
	default:
		st.Type = "other"
	}
	st.Mode = uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		st.Mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		st.Mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		st.Mode |= 0o1000
	}
	if sys, ok := info.Sys().(*syscall.Stat_t); ok {
		st.UID, st.GID, st.Ino = sys.Uid, sys.Gid, sys.Ino
		st.CTime = sys.Ctim.Sec*1e9 + sys.Ctim.Nsec
	}
	st.MTime = info.ModTime().UnixNano()
	return st
}

// hashFile returns a regular file's SHA-256, refusing to follow a path
// that became a symlink since it was seen.
func hashFile(p string) (string, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// scanFiles walks the watched directories without following symlinks and
// returns the state of every path not excluded. Files whose inode did not
// change since prev keep prev's hash instead of being read again.
func scanFiles(roots, excludes []string, prev map[string]FileState) (map[string]FileState, error) {
	out := map[string]FileState{}
	for _, root := range roots {
		root = filepath.Clean(root)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == root && errors.Is(err, fs.ErrNotExist) {
					return nil // a watched directory not there (yet): nothing in it
				}
				// An unreadable directory: keep what can be seen of it.
				if d != nil && d.IsDir() {
					if info, ierr := d.Info(); ierr == nil {
						st := stateOf(info)
						st.Err = errText(err)
						out[p] = st
					}
					return fs.SkipDir
				}
				if errors.Is(err, fs.ErrNotExist) {
					return nil // gone while we walked
				}
				return fmt.Errorf("scan %s: %w", p, err)
			}
			if p != root && excluded(p, excludes) {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			info, err := d.Info()
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("scan %s: %w", p, err)
			}
			st := stateOf(info)
			switch st.Type {
			case "file":
				if old, ok := prev[p]; ok && st.untouched(old) {
					st.SHA256 = old.SHA256
				} else if sum, err := hashFile(p); err != nil {
					if errors.Is(err, fs.ErrNotExist) {
						return nil
					}
					st.Err = errText(err)
				} else {
					st.SHA256 = sum
				}
			case "symlink":
				if st.Target, err = os.Readlink(p); err != nil {
					st.Err = errText(err)
				}
			}
			out[p] = st
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// errText is an error without the path, which the report already names.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
