package testenv

import (
	"bytes"
	"sync"
)

// Buffer collects output written by one goroutine (a peer's stderr copied
// by os/exec, a logger) while the test reads it from another.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
