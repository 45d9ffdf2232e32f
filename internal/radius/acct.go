package radius

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// AccountingStore is where accounting records go; the application
// implements it on the database.
type AccountingStore interface {
	// WriteBatch stores records durably before returning nil: the NASes
	// are acknowledged on that promise. It must be idempotent on
	// Record.Key (a record seen before is ignored), since a NAS
	// retransmits what it did not hear acknowledged and the spool replays
	// what it holds. Records of one session may arrive out of order after
	// a replay: keep the one with the largest SessionTime as the latest.
	WriteBatch(ctx context.Context, records []Record) error
}

// AcctStatus is an Acct-Status-Type (RFC 2866 §5.1).
type AcctStatus string

// Accounting status types.
const (
	AcctStart   AcctStatus = "start"
	AcctStop    AcctStatus = "stop"
	AcctInterim AcctStatus = "interim"
	// AcctOn and AcctOff: the NAS (re)started or is stopping; every
	// session it had open is over.
	AcctOn  AcctStatus = "on"
	AcctOff AcctStatus = "off"
)

// Record is one Accounting-Request, decoded.
type Record struct {
	// Key identifies the event, not the packet: a retransmission with a
	// new Acct-Delay-Time (hence a new identifier and authenticator) has
	// the same Key.
	Key          string
	NAS          string // Client.Name
	NASAddr      netip.Addr
	Status       AcctStatus
	SessionID    string // Acct-Session-Id
	Login        string // User-Name as received
	Member       string // from the snapshot, when the login is known
	Subscription string

	FramedIPv4       netip.Addr
	FramedIPv6Prefix netip.Prefix
	DelegatedIPv6    netip.Prefix
	CallingStationID string // the CPE's MAC on PPPoE
	CalledStationID  string
	NASPortID        string
	Circuit          string // ADSL-Agent-Circuit-Id (RFC 4679)

	SessionTime    uint32 // seconds
	InputOctets    uint64 // Acct-Input-Gigawords << 32 | Acct-Input-Octets
	OutputOctets   uint64
	InputPackets   uint32
	OutputPackets  uint32
	TerminateCause uint32

	// InterimInterval is the Acct-Interim-Interval the server hands out,
	// so that the store can close sessions silent for three intervals.
	InterimInterval uint32
	// EventTime is Event-Timestamp, or the receive time minus
	// Acct-Delay-Time.
	EventTime time.Time
	Received  time.Time
}

const (
	acctStatusStart   = 1
	acctStatusStop    = 2
	acctStatusInterim = 3
	acctStatusOn      = 7
	acctStatusOff     = 8

	vendorADSLForum = 3561 // RFC 4679
	adslCircuitID   = 1
)

// pendingAcct is a record waiting for its group commit, with the reply
// to send once it is durable.
type pendingAcct struct {
	rec   Record
	reply []byte
	key   cacheKey
	dst   netip.AddrPort
	l     *listener
	recv  time.Time
}

// accounting is the group committer: one goroutine takes whatever records
// have queued up while the previous commit ran, so batches grow with load
// and durability costs one write per batch, not per packet.
//
// The queue carries pointers to pooled records: a channel of the records
// themselves preallocated its 32,768 slots, 16 MB of structs with pointers
// that every garbage collection scanned, for a queue that is empty but in
// storms.
type accounting struct {
	s       *Server
	store   AccountingStore
	spool   *spool
	in      chan *pendingAcct
	pending sync.Pool    // *pendingAcct
	spooled atomic.Int64 // spool.count, readable outside the committer
}

func (a *accounting) spoolCount() int { return int(a.spooled.Load()) }

func (a *accounting) setSpooled() {
	a.spooled.Store(int64(a.spool.count))
	a.s.metrics.spooled.Set(float64(a.spool.count))
}

func newAccounting(s *Server, store AccountingStore, dir string) (*accounting, error) {
	sp, err := openSpool(dir)
	if err != nil {
		return nil, err
	}
	a := &accounting{s: s, store: store, spool: sp, in: make(chan *pendingAcct, s.cfg.QueueSize)}
	a.pending.New = func() any { return &pendingAcct{reply: make([]byte, 0, 64)} }
	return a, nil
}

// Close releases the spool file.
func (a *accounting) close() error { return a.spool.close() }

const (
	storeTimeout   = 5 * time.Second
	replayInterval = 5 * time.Second
)

func (a *accounting) run(ctx context.Context) {
	a.setSpooled()
	t := time.NewTicker(replayInterval)
	defer t.Stop()
	batch := make([]*pendingAcct, 0, a.s.cfg.MaxBatch)
	recs := make([]Record, 0, a.s.cfg.MaxBatch)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.replay(ctx)
			continue
		case p := <-a.in:
			batch = append(batch[:0], p)
		}
	drain:
		for len(batch) < cap(batch) {
			select {
			case p := <-a.in:
				batch = append(batch, p)
			default:
				break drain
			}
		}
		recs = recs[:0]
		for i := range batch {
			recs = append(recs, batch[i].rec)
		}
		a.commit(ctx, batch, recs)
		for _, p := range batch {
			a.release(p)
		}
		clear(batch)
		clear(recs) // drop references to the records' strings
	}
}

// commit makes recs durable (in the store, else in the spool) and only
// then answers the NASes. When neither works nothing is answered: the NAS
// retransmits and nothing acknowledged is lost.
// release returns a record, answered or given up, to the pool.
func (a *accounting) release(p *pendingAcct) {
	*p = pendingAcct{reply: p.reply[:0]}
	a.pending.Put(p)
}

func (a *accounting) commit(ctx context.Context, batch []*pendingAcct, recs []Record) {
	s := a.s
	s.metrics.batch.Observe(float64(len(recs)))
	durable := false
	// Replay first so the store sees a session's records in order.
	if a.spool.count == 0 || a.replay(ctx) {
		wctx, cancel := context.WithTimeout(ctx, storeTimeout)
		err := a.store.WriteBatch(wctx, recs)
		cancel()
		if err == nil {
			s.metrics.commits.WithLabelValues("store", "ok").Inc()
			durable = true
		} else {
			s.metrics.commits.WithLabelValues("store", "error").Inc()
			s.log.Warn("radius: accounting store failed, spooling", "records", len(recs), "err", err)
		}
	}
	if !durable {
		if err := a.spool.append(recs); err != nil {
			s.metrics.commits.WithLabelValues("spool", "error").Inc()
			s.log.Error("radius: accounting spool failed, not acknowledging", "records", len(recs), "err", err)
			for i := range batch {
				s.cache.abort(batch[i].key)
				s.metrics.drop(dropAcctNotDurable)
			}
			return
		}
		s.metrics.commits.WithLabelValues("spool", "ok").Inc()
		a.setSpooled()
	}
	now := s.cfg.Now()
	for _, p := range batch {
		s.cache.complete(p.key, p.reply, now)
		if err := p.l.writeTo(p.reply, p.dst); err != nil {
			s.metrics.drop(dropWrite)
		}
		s.metrics.request(CodeAccountingRequest, p.rec.NAS, string(p.rec.Status))
		s.metrics.latency[CodeAccountingRequest].Observe(time.Since(p.recv).Seconds())
	}
}

// replay moves spooled records to the store; it reports whether the spool
// is now empty.
func (a *accounting) replay(ctx context.Context) bool {
	if a.spool.count == 0 {
		return true
	}
	s := a.s
	recs, err := a.spool.read()
	if err != nil {
		s.log.Error("radius: reading accounting spool", "err", err)
		return false
	}
	for len(recs) > 0 {
		n := min(len(recs), s.cfg.MaxBatch)
		wctx, cancel := context.WithTimeout(ctx, storeTimeout)
		err := a.store.WriteBatch(wctx, recs[:n])
		cancel()
		if err != nil {
			// Records already written will be written again next time:
			// the store is idempotent on Key.
			s.metrics.commits.WithLabelValues("replay", "error").Inc()
			return false
		}
		recs = recs[n:]
	}
	if err := a.spool.reset(); err != nil {
		s.log.Error("radius: emptying accounting spool", "err", err)
		return false
	}
	s.metrics.commits.WithLabelValues("replay", "ok").Inc()
	a.setSpooled()
	s.log.Info("radius: accounting spool replayed into the store")
	return true
}

// acctRequest validates an Accounting-Request and queues it for the group
// commit; its reply is sent by the committer once the record is durable.
func (w *worker) acctRequest(snap *Snapshot, c *clientEntry, src netip.AddrPort, l *listener, recv time.Time) {
	s, p := w.s, &w.p
	if !w.c.verifyRequestAuthenticator(p.raw, c.secret) {
		s.drop(dropBadAuth, src, c.Name)
		return
	}
	for _, a := range p.attrs {
		if a.typ == attrMessageAuthenticator {
			if a.n != 16 || !w.c.verifyMessageAuthenticator(p.raw, int(a.off), c.secret, true) {
				s.drop(dropBadMA, src, c.Name)
				return
			}
		}
	}
	status, ok := p.uint32(attrAcctStatusType)
	if !ok {
		s.drop(dropMalformed, src, c.Name)
		return
	}
	now := s.cfg.Now()
	key := newCacheKey(src, p.id, p.auth())
	cached, st := s.cache.begin(key, now, w.hit)
	switch st {
	case cacheHit:
		s.metrics.request(p.code, c.Name, "retransmit")
		if err := l.writeTo(cached, src); err != nil {
			s.metrics.drop(dropWrite)
		}
		return
	case cacheInFlight:
		// Its first copy is waiting for the commit, which will answer.
		s.metrics.drop(dropInFlight)
		return
	}
	e := &w.enc
	e.reset(CodeAccountingResponse, p.id, p.auth())
	for _, a := range p.attrs {
		if a.typ == attrProxyState {
			e.add(attrProxyState, p.value(a))
		}
	}
	reply := e.finish(w.c, c.secret, -1)
	switch status {
	case acctStatusStart, acctStatusStop, acctStatusInterim, acctStatusOn, acctStatusOff:
	default:
		// Tunnel and failure records (RFC 2867, 15) are acknowledged
		// without being kept: nothing counts on them.
		s.cache.complete(key, reply, now)
		s.metrics.request(p.code, c.Name, "ignored")
		if err := l.writeTo(reply, src); err != nil {
			s.metrics.drop(dropWrite)
		}
		return
	}
	pa := s.acct.pending.Get().(*pendingAcct)
	pa.rec = w.record(snap, c, src, status, now)
	pa.reply = append(pa.reply[:0], reply...)
	pa.key, pa.dst, pa.l, pa.recv = key, src, l, recv
	select {
	case s.acct.in <- pa:
	default:
		s.acct.release(pa)
		if st == cacheMiss {
			s.cache.abort(key)
		}
		s.drop(dropOverload, src, c.Name)
	}
}

func (w *worker) record(snap *Snapshot, c *clientEntry, src netip.AddrPort, status uint32, recv time.Time) Record {
	recv = recv.UTC()
	p := &w.p
	str := func(t byte) string {
		v, _ := p.get(t)
		return string(v)
	}
	u32 := func(t byte) uint32 {
		v, _ := p.uint32(t)
		return v
	}
	r := Record{
		NAS:              c.Name,
		NASAddr:          src.Addr().Unmap(),
		SessionID:        str(attrAcctSessionID),
		Login:            str(attrUserName),
		CallingStationID: str(attrCallingStationID),
		CalledStationID:  str(attrCalledStationID),
		NASPortID:        str(attrNASPortID),
		SessionTime:      u32(attrAcctSessionTime),
		InputOctets:      uint64(u32(attrAcctInputGigawords))<<32 | uint64(u32(attrAcctInputOctets)),
		OutputOctets:     uint64(u32(attrAcctOutputGigawords))<<32 | uint64(u32(attrAcctOutputOctets)),
		InputPackets:     u32(attrAcctInputPackets),
		OutputPackets:    u32(attrAcctOutputPackets),
		TerminateCause:   u32(attrAcctTerminateCause),
		InterimInterval:  w.s.cfg.InterimInterval,
		Received:         recv,
	}
	switch status {
	case acctStatusStart:
		r.Status = AcctStart
	case acctStatusStop:
		r.Status = AcctStop
	case acctStatusInterim:
		r.Status = AcctInterim
	case acctStatusOn:
		r.Status = AcctOn
	case acctStatusOff:
		r.Status = AcctOff
	}
	if v, ok := p.get(attrFramedIPAddress); ok && len(v) == 4 {
		r.FramedIPv4 = netip.AddrFrom4([4]byte(v))
	}
	r.FramedIPv6Prefix = parseIPv6Prefix(p, attrFramedIPv6Prefix)
	r.DelegatedIPv6 = parseIPv6Prefix(p, attrDelegatedIPv6Prefix)
	if v, ok := p.vendor(vendorADSLForum, adslCircuitID); ok {
		r.Circuit = string(v)
	}
	if ts, ok := p.uint32(attrEventTimestamp); ok {
		r.EventTime = time.Unix(int64(ts), 0).UTC()
	} else {
		r.EventTime = recv.Add(-time.Duration(u32(attrAcctDelayTime)) * time.Second).Truncate(time.Second)
	}
	if name, ok := p.get(attrUserName); ok {
		if sub := snap.subscriber(name, c.Realm); sub != nil {
			r.Member, r.Subscription = sub.Member, sub.Subscription
		}
	}
	r.Key = w.recordKey(p, c, status)
	return r
}

// recordKey hashes what identifies an accounting event: the NAS, the
// session, the status and the counters (RFC 5080 §2.2.2: a retransmission
// may carry a new Acct-Delay-Time, so the packet's identity cannot serve).
// Accounting-On/Off carry no session: their authenticator is used, so two
// reboots of a NAS are two events.
func (w *worker) recordKey(p *packet, c *clientEntry, status uint32) string {
	h := w.c.md5
	h.Reset()
	h.Write([]byte(c.Name)) // small, and no worse than the Record's strings
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], status)
	h.Write(b[:])
	if status == acctStatusOn || status == acctStatusOff {
		h.Write(p.auth())
	}
	for _, t := range []byte{attrAcctSessionID, attrAcctSessionTime, attrAcctInputOctets,
		attrAcctInputGigawords, attrAcctOutputOctets, attrAcctOutputGigawords,
		attrAcctInputPackets, attrAcctOutputPackets, attrEventTimestamp, attrUserName} {
		v, _ := p.get(t)
		h.Write([]byte{t, byte(len(v))})
		h.Write(v)
	}
	return hex.EncodeToString(h.Sum(w.c.sum[:0]))
}

func parseIPv6Prefix(p *packet, t byte) netip.Prefix {
	v, ok := p.get(t)
	if !ok || len(v) < 2 || len(v) > 18 || int(v[1]) > 128 {
		return netip.Prefix{}
	}
	var a [16]byte
	copy(a[:], v[2:])
	pf, err := netip.AddrFrom16(a).Prefix(int(v[1]))
	if err != nil {
		return netip.Prefix{}
	}
	return pf
}

var errSpoolCorrupt = errors.New("radius: accounting spool is corrupt")

func spoolError(op string, err error) error {
	return fmt.Errorf("radius: accounting spool %s: %w", op, err)
}
