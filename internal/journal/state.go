package journal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// The state directory:
//
//	snapshot.json     the state last reported (the baseline) and the
//	                  number of the last report
//	objects/ab/cd...  contents of the baseline's files, by SHA-256, for
//	                  the next diff
//	queue/NNNNNN.json reports not delivered yet, sent in order
//	queue/rejected/   reports maillon refused for good (kept to read)
//	history/NNNNNN-TIME/  each report and the diff of its files
//
// Everything is 0700/0600: the contents and diffs hold secrets.
type stateDir struct{ root string }

type savedSnapshot struct {
	// Seq is the number of the last report made from this baseline.
	Seq int64 `json:"seq"`
	Snapshot
}

func openState(root string) (*stateDir, error) {
	for _, d := range []string{root, filepath.Join(root, "objects"), filepath.Join(root, "queue"), filepath.Join(root, "queue", "rejected"), filepath.Join(root, "history")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("state directory: %w", err)
		}
		// MkdirAll leaves an existing directory's mode alone.
		if err := os.Chmod(d, 0o700); err != nil {
			return nil, fmt.Errorf("state directory: %w", err)
		}
	}
	return &stateDir{root: root}, nil
}

func (s *stateDir) path(parts ...string) string {
	return filepath.Join(append([]string{s.root}, parts...)...)
}

// writeAtomic replaces a file whole or not at all, and makes it durable
// before saying so: the queue and the snapshot must survive a crash.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (s *stateDir) loadSnapshot() (savedSnapshot, bool, error) {
	var snap savedSnapshot
	b, err := os.ReadFile(s.path("snapshot.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return snap, false, nil
	}
	if err != nil {
		return snap, false, err
	}
	if err := json.Unmarshal(b, &snap); err != nil {
		return snap, false, fmt.Errorf("%s: %w", s.path("snapshot.json"), err)
	}
	return snap, true, nil
}

func (s *stateDir) saveSnapshot(snap savedSnapshot) error {
	b, err := json.Marshal(snap)
	if err != nil {
		return err
	}
	return writeAtomic(s.path("snapshot.json"), b)
}

func (s *stateDir) objectPath(sum string) string {
	return s.path("objects", sum[:2], sum[2:])
}

func (s *stateDir) hasObject(sum string) bool {
	_, err := os.Stat(s.objectPath(sum))
	return err == nil
}

// errMoved means a file changed again while it was being kept: the host
// is not quiet after all.
var errMoved = errors.New("changed while being read")

// keep copies a file's contents into the object store, checking they are
// still those the scan hashed.
func (s *stateDir) keep(path, sum string) error {
	if s.hasObject(sum) {
		return nil
	}
	src, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer src.Close()
	dst := s.objectPath(sum)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".tmp-*")
	if err != nil {
		return err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), src)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && hex.EncodeToString(h.Sum(nil)) != sum {
		err = fmt.Errorf("%s: %w", path, errMoved)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// gcObjects removes contents no file of the baseline has any more.
func (s *stateDir) gcObjects(files map[string]FileState) error {
	live := map[string]bool{}
	for _, f := range files {
		if f.SHA256 != "" {
			live[f.SHA256] = true
		}
	}
	return filepath.WalkDir(s.path("objects"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		sum := filepath.Base(filepath.Dir(p)) + d.Name()
		if !live[sum] {
			return os.Remove(p)
		}
		return nil
	})
}

func seqName(seq int64) string { return fmt.Sprintf("%06d", seq) }

// seqOf reads the report number a queue file or history entry starts with.
func seqOf(name string) (int64, bool) {
	digits, _, _ := strings.Cut(strings.TrimSuffix(name, ".json"), "-")
	n, err := strconv.ParseInt(digits, 10, 64)
	return n, err == nil
}

// queued lists the undelivered reports, oldest first.
func (s *stateDir) queued() ([]string, error) {
	ents, err := os.ReadDir(s.path("queue"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".json") {
			if _, ok := seqOf(e.Name()); ok {
				out = append(out, e.Name())
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// dropOrphans removes what a crash left of a report whose snapshot was
// never saved: it was not sent (sending starts once the snapshot is
// saved), and the same changes will be found and reported again.
func (s *stateDir) dropOrphans(seq int64) error {
	for _, dir := range []string{"queue", "history"} {
		ents, err := os.ReadDir(s.path(dir))
		if err != nil {
			return err
		}
		for _, e := range ents {
			if n, ok := seqOf(e.Name()); ok && n > seq {
				if err := os.RemoveAll(s.path(dir, e.Name())); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// binary guesses as diff does: a NUL byte near the start.
func binary(b []byte) bool {
	return bytes.IndexByte(b[:min(len(b), 8000)], 0) >= 0
}
