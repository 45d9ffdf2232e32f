package radius

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

// AccountingStore is where accounting records go; the application
// implements it on the database.
type AccountingStore interface {
	// WriteBatch stores records durably before returning nil. It must be
	// idempotent on Record.Key.
	WriteBatch(ctx context.Context, records []Record) error
}

// Record is one Accounting-Request.
type Record struct {
	Key string
}

type accounting struct{}

func newAccounting(s *Server, store AccountingStore, dir string) (*accounting, error) {
	return nil, errors.New("radius: accounting not implemented yet")
}

func (a *accounting) run(ctx context.Context) {}

func (w *worker) acctRequest(c *clientEntry, src netip.AddrPort, l *listener, recv time.Time) {}
