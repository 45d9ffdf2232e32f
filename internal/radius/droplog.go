package radius

import (
	"log/slog"
	"net/netip"
	"sync"
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
// dropLogEvery, with how many more were dropped since the last line.
type dropLog struct {
	log   *slog.Logger
	now   func() time.Time
	mu    sync.Mutex
	last  map[string]time.Time
	since map[string]int
}

func newDropLog(log *slog.Logger, now func() time.Time) *dropLog {
	return &dropLog{log: log, now: now, last: map[string]time.Time{}, since: map[string]int{}}
}

// note records a drop; nas is "" for an unknown source.
func (d *dropLog) note(reason string, src netip.AddrPort, nas string) {
	hint, ok := dropHints[reason]
	if !ok {
		return
	}
	now := d.now()
	d.mu.Lock()
	if t, seen := d.last[reason]; seen && now.Sub(t) < dropLogEvery {
		d.since[reason]++
		d.mu.Unlock()
		return
	}
	more := d.since[reason]
	d.last[reason], d.since[reason] = now, 0
	d.mu.Unlock()
	attrs := []any{"reason", reason, "src", src.String()}
	if nas != "" {
		attrs = append(attrs, "nas", nas)
	}
	if more > 0 {
		attrs = append(attrs, "more_since_last", more)
	}
	d.log.Warn("radius: request dropped: "+hint, attrs...)
}
