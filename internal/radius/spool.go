package radius

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// spool is the local journal of accounting records acknowledged while the
// store was failing: JSON lines, appended and fsynced before the NASes are
// answered, replayed into the store when it is back. Only the committer
// goroutine touches it.
type spool struct {
	f     *os.File
	path  string
	size  int64
	count int
}

const spoolName = "accounting.spool"

func openSpool(dir string) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, spoolError("directory", err)
	}
	path := filepath.Join(dir, spoolName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, spoolError("open", err)
	}
	// The file's directory entry must survive a crash too.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	s := &spool{f: f, path: path}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, spoolError("read", err)
	}
	// A torn last line is a batch whose fsync never returned: it was not
	// acknowledged, and the NAS retransmits it. Cut it off.
	good := bytes.LastIndexByte(data, '\n') + 1
	if good < len(data) {
		if err := f.Truncate(int64(good)); err != nil {
			f.Close()
			return nil, spoolError("truncate torn tail", err)
		}
	}
	s.size = int64(good)
	s.count = bytes.Count(data[:good], []byte{'\n'})
	return s, nil
}

func (s *spool) append(recs []Record) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range recs {
		if err := enc.Encode(&recs[i]); err != nil {
			return spoolError("encode", err)
		}
	}
	n, err := s.f.Write(buf.Bytes())
	if err == nil {
		err = s.f.Sync()
	}
	if err != nil {
		// Leave no half batch behind: it would be replayed although never
		// acknowledged (harmless) or break the line framing (not).
		if n > 0 {
			s.f.Truncate(s.size)
		}
		return spoolError("append", err)
	}
	s.size += int64(n)
	s.count += len(recs)
	return nil
}

func (s *spool) read() ([]Record, error) {
	r := io.NewSectionReader(s.f, 0, s.size)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	var recs []Record
	line := 0
	for sc.Scan() {
		line++
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("%w: %s line %d: %v", errSpoolCorrupt, s.path, line, err)
		}
		recs = append(recs, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, spoolError("read", err)
	}
	return recs, nil
}

func (s *spool) reset() error {
	if err := s.f.Truncate(0); err != nil {
		return spoolError("truncate", err)
	}
	if err := s.f.Sync(); err != nil {
		return spoolError("sync", err)
	}
	s.size, s.count = 0, 0
	return nil
}

func (s *spool) close() error { return s.f.Close() }
