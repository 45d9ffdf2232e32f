package radius

import (
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"
)

// dropHints say, in the log, what a drop usually means to whoever set the
// NAS up. Reasons not listed here are counted only (maillon_radius_drops_total).
var dropHints = map[string]string{
	dropUnknownClient: "the source is no NAS of the registry (maillon nas add, or its address)",
	dropBadMA:         "Message-Authenticator does not verify: wrong shared secret?",
	dropBadAuth:       "Request Authenticator does not verify: wrong shared secret?",
	dropMissingMA:     "no Message-Authenticator, which this NAS must send (nas message_authenticator policy)",
	dropMalformed:     "malformed packet",
	dropOverload:      "the request queue is full: overloaded",
}

// dropLogEvery is how often each kind of drop may be logged: a NAS with a
// wrong secret retransmits every few seconds, and someone spraying
// packets must not flood the log.
const dropLogEvery = 10 * time.Second

// dropLog warns about dropped requests, at most once per reason every
// dropLogEvery, with how many more were dropped since the last line. It
// takes no lock: drops come in floods (a sprayer, an overload, when the
// reader itself notes them), and all but one per period only count.
type dropLog struct {
	log     *slog.Logger
	now     func() time.Time
	reasons map[string]*dropReason // fixed at creation, read-only after
}

type dropReason struct {
	hint  string
	next  atomic.Int64 // unix nanoseconds before which nothing is logged
	since atomic.Int64 // drops not logged since the last line
}

func newDropLog(log *slog.Logger, now func() time.Time) *dropLog {
	d := &dropLog{log: log, now: now, reasons: map[string]*dropReason{}}
	for reason, hint := range dropHints {
		d.reasons[reason] = &dropReason{hint: hint}
	}
	return d
}

// note records a drop; nas is "" for an unknown source.
func (d *dropLog) note(reason string, src netip.AddrPort, nas string) {
	r := d.reasons[reason]
	if r == nil {
		return
	}
	now := d.now().UnixNano()
	next := r.next.Load()
	if now < next || !r.next.CompareAndSwap(next, now+int64(dropLogEvery)) {
		r.since.Add(1)
		return
	}
	attrs := []any{"reason", reason, "src", src.String()}
	if nas != "" {
		attrs = append(attrs, "nas", nas)
	}
	if more := r.since.Swap(0); more > 0 {
		attrs = append(attrs, "more_since_last", more)
	}
	d.log.Warn("radius: request dropped: "+r.hint, attrs...)
}

// drop counts a dropped request and, for the reasons worth telling,
// logs it (rate-limited).
func (s *Server) drop(reason string, src netip.AddrPort, nas string) {
	s.metrics.drop(reason)
	s.drops.note(reason, src, nas)
}
