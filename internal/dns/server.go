package dns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	mdns "github.com/miekg/dns"
)

// Config configures a Server.
type Config struct {
	// Addr is the UDP and TCP listening address, e.g. ":53" or "127.0.0.1:0".
	Addr string
	// MaxUDPSize caps the EDNS0 payload of UDP replies; 1232 by default (DNS
	// flag day 2020), which avoids IP fragmentation.
	MaxUDPSize int
	// RateLimit limits UDP responses per client network against reflection
	// attacks; the zero value disables it.
	RateLimit RateLimit
	// NotifyTimeout is how long to wait for a secondary to acknowledge a
	// NOTIFY before retrying (2 s); NotifyRetries how often to retry (5).
	NotifyTimeout time.Duration
	NotifyRetries int
	// UDPWorkers is the number of goroutines reading the UDP socket
	// (GOMAXPROCS by default).
	UDPWorkers int
	Logger     *slog.Logger
}

// Server is the authoritative DNS server. It serves the last Snapshot given
// to Update or Load, swapped atomically so that readers never wait.
type Server struct {
	cfg     Config
	log     *slog.Logger
	snap    atomic.Pointer[Snapshot]
	rrl     *limiter
	mu      sync.Mutex // serializes Update and Load
	tasksMu sync.Mutex
	tasks   map[string]*task
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	udpConns []*net.UDPConn // one per worker, sharing the port (SO_REUSEPORT)
	stats    struct {
		udp, tcp, fast, rateLimited, slipped     atomic.Uint64
		transfers, refused, notifyFail, pushFail atomic.Uint64
	}
	tcp     *mdns.Server
	udpAddr net.Addr
	tcpAddr net.Addr
}

// NewServer returns a server with an empty snapshot; call Update, then Start.
func NewServer(cfg Config) *Server {
	if cfg.MaxUDPSize == 0 {
		cfg.MaxUDPSize = 1232
	}
	cfg.MaxUDPSize = min(max(cfg.MaxUDPSize, 512), 65535)
	if cfg.NotifyTimeout == 0 {
		cfg.NotifyTimeout = 2 * time.Second
	}
	if cfg.NotifyRetries == 0 {
		cfg.NotifyRetries = 5
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if cfg.RateLimit.ResponsesPerSecond > 0 {
		s.rrl = newLimiter(cfg.RateLimit)
	}
	empty, _ := Build(Source{}, nil, time.Now())
	s.snap.Store(empty)
	return s
}

// Stats are counters since the server started, for monitoring.
type Stats struct {
	UDPQueries   uint64 // packets read on UDP
	TCPQueries   uint64 // messages read on TCP
	FastAnswers  uint64 // UDP answers from the reply cache or a wildcard template
	RateLimited  uint64 // UDP queries over the rate limit (dropped or slipped)
	Slipped      uint64 // of which answered empty and truncated
	Transfers    uint64 // AXFR and IXFR served
	Refused      uint64 // AXFR and IXFR refused (ACL, TSIG, unknown zone)
	NotifyFailed uint64 // NOTIFYs given up after their retries
	PushFailed   uint64 // RFC 2136 pushes that failed (they are retried)
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{
		UDPQueries:   s.stats.udp.Load(),
		TCPQueries:   s.stats.tcp.Load(),
		FastAnswers:  s.stats.fast.Load(),
		RateLimited:  s.stats.rateLimited.Load(),
		Slipped:      s.stats.slipped.Load(),
		Transfers:    s.stats.transfers.Load(),
		Refused:      s.stats.refused.Load(),
		NotifyFailed: s.stats.notifyFail.Load(),
		PushFailed:   s.stats.pushFail.Load(),
	}
}

// Snapshot returns the snapshot being served.
func (s *Server) Snapshot() *Snapshot { return s.snap.Load() }

// Update builds a snapshot from src against the one being served, swaps it
// in and notifies the secondaries of every zone whose serial changed.
func (s *Server) Update(src Source) (*Snapshot, error) {
	return s.UpdateAt(src, time.Now())
}

// UpdateAt is Update for a daemon on a clock of its own: now dates serials
// and DNSSEC signatures.
func (s *Server) UpdateAt(src Source, now time.Time) (*Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.snap.Load()
	next, err := Build(src, prev, now)
	if err != nil {
		return nil, err
	}
	s.load(prev, next)
	return next, nil
}

// Load serves a snapshot built elsewhere and notifies the secondaries of the
// zones that changed.
func (s *Server) Load(next *Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.load(s.snap.Load(), next)
}

func (s *Server) load(prev, next *Snapshot) {
	s.snap.Store(next)
	for _, o := range next.origins {
		z := next.zones[o]
		if pz := prev.zones[o]; pz != nil && pz.serial == z.serial {
			continue
		}
		for _, sec := range z.notify {
			s.background("notify "+o+" "+sec.Addr, func(ctx context.Context) {
				if err := s.sendNotify(ctx, next, z, sec); err != nil && ctx.Err() == nil {
					s.stats.notifyFail.Add(1)
					s.log.Warn("dns notify failed", "zone", z.origin, "secondary", sec.Addr, "err", err)
				}
			})
		}
		for _, p := range z.push {
			s.background("push "+o+" "+p.Addr, func(ctx context.Context) {
				s.push(ctx, next, z, p)
			})
		}
	}
}

// task is a background job (NOTIFY, push) for one zone and one peer.
type task struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// background runs f for key, after cancelling and waiting for the previous
// job of the same key: only the newest version of a zone is worth sending,
// and two pushes to one server must not interleave.
func (s *Server) background(key string, f func(ctx context.Context)) {
	s.tasksMu.Lock()
	defer s.tasksMu.Unlock()
	if s.tasks == nil {
		s.tasks = map[string]*task{}
	}
	prev := s.tasks[key]
	ctx, cancel := context.WithCancel(s.ctx)
	t := &task{cancel: cancel, done: make(chan struct{})}
	s.tasks[key] = t
	if prev != nil {
		prev.cancel()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(t.done)
		defer cancel()
		if prev != nil {
			<-prev.done
		}
		f(ctx)
		s.tasksMu.Lock()
		if s.tasks[key] == t {
			delete(s.tasks, key)
		}
		s.tasksMu.Unlock()
	}()
}

// push makes a remote primary's copy of the zone match, retrying with
// backoff until it succeeds or a newer version replaces it.
func (s *Server) push(ctx context.Context, snap *Snapshot, z *Zone, p PushTarget) {
	r := Remote{Addr: p.Addr}
	if p.Key != "" {
		k, ok := snap.keys[canonical(p.Key)]
		if !ok {
			s.log.Error("dns push: unknown TSIG key", "zone", z.origin, "remote", p.Addr, "key", p.Key)
			return
		}
		r.Key = &k
	}
	wait := time.Second
	for {
		changes, err := Sync(ctx, r, z)
		if err == nil {
			s.log.Info("dns push", "zone", z.origin, "remote", p.Addr, "changes", len(changes))
			return
		}
		s.stats.pushFail.Add(1)
		s.log.Warn("dns push failed", "zone", z.origin, "remote", p.Addr, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Minute)
	}
}

// Start listens on the configured address, UDP and TCP on the same port, and
// serves until Stop.
func (s *Server) Start() error {
	pc, ln, err := listen(s.cfg.Addr)
	if err != nil {
		return err
	}
	s.udpAddr, s.tcpAddr = pc.LocalAddr(), ln.Addr()
	workers := s.cfg.UDPWorkers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// A socket per worker lets the kernel spread clients over the workers
	// without waking them all for each packet, as Knot does.
	s.udpConns = []*net.UDPConn{pc.(*net.UDPConn)}
	for len(s.udpConns) < workers {
		more, err := reusePort.ListenPacket(context.Background(), "udp", pc.LocalAddr().String())
		if err != nil {
			s.log.Warn("dns: fewer UDP sockets than workers", "err", err)
			break
		}
		s.udpConns = append(s.udpConns, more.(*net.UDPConn))
	}
	for _, c := range s.udpConns {
		// Room for bursts while a worker is descheduled on a busy machine;
		// the kernel caps it at net.core.rmem_max.
		c.SetReadBuffer(4 << 20)
	}
	accept := func(h mdns.Header) mdns.MsgAcceptAction {
		// Let updates and notifies through: they are answered, not dropped.
		if h.Bits&(1<<15) != 0 {
			return mdns.MsgIgnore
		}
		return mdns.MsgAccept
	}
	s.tcp = &mdns.Server{Listener: ln, Handler: s, TsigProvider: keyring{s}, MsgAcceptFunc: accept,
		ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: func() time.Duration { return 10 * time.Second }}
	started := make(chan struct{})
	s.tcp.NotifyStartedFunc = func() { close(started) }
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.tcp.ActivateAndServe(); err != nil && s.ctx.Err() == nil {
			s.log.Error("dns tcp server stopped", "err", err)
		}
	}()
	for i := range workers {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveUDP(s.udpConns[i%len(s.udpConns)])
		}()
	}
	<-started
	return nil
}

// reusePort binds UDP sockets that several can share (SO_REUSEPORT).
var reusePort = net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, soReusePort, 1)
	})
	return errors.Join(err, serr)
}}

// soReusePort is SO_REUSEPORT on Linux.
const soReusePort = 0xf

// listen binds UDP, then TCP on the port UDP got, so that port 0 gives one
// port for both; another process may hold that TCP port, so port 0 retries.
func listen(addr string) (net.PacketConn, net.Listener, error) {
	_, port, _ := net.SplitHostPort(addr)
	for try := 0; ; try++ {
		pc, err := reusePort.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("dns: listen udp %s: %w", addr, err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		if port != "0" || try == 20 {
			return nil, nil, fmt.Errorf("dns: listen tcp %s: %w", pc.LocalAddr(), err)
		}
	}
}

// Addr returns the address the server listens on (UDP and TCP share it).
func (s *Server) Addr() string {
	if s.udpAddr == nil {
		return ""
	}
	return s.udpAddr.String()
}

// Stop stops the listeners and pending NOTIFYs.
func (s *Server) Stop(ctx context.Context) error {
	s.cancel()
	var errs []error
	for _, c := range s.udpConns {
		if err := c.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if s.tcp != nil {
		if err := s.tcp.ShutdownContext(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, ctx.Err())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("dns: stop: %w", err)
	}
	return nil
}

func addrOf(a net.Addr) netip.Addr {
	switch v := a.(type) {
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(v.IP)
		return ip.Unmap()
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(v.IP)
		return ip.Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// ServeDNS answers one request; it implements mdns.Handler.
func (s *Server) ServeDNS(w mdns.ResponseWriter, req *mdns.Msg) {
	_, tcp := w.RemoteAddr().(*net.TCPAddr)
	if tcp {
		s.stats.tcp.Add(1)
	}
	src := addrOf(w.RemoteAddr())
	var tsigKey string
	if t := req.IsTsig(); t != nil {
		if w.TsigStatus() != nil {
			m := new(mdns.Msg)
			m.SetRcode(req, mdns.RcodeNotAuth)
			w.WriteMsg(m)
			return
		}
		tsigKey = strings.ToLower(t.Hdr.Name)
	}
	if len(req.Question) == 1 && !tcp {
		if qt := req.Question[0].Qtype; qt == mdns.TypeAXFR {
			// AXFR needs TCP (RFC 5936).
			m := new(mdns.Msg)
			m.SetRcode(req, mdns.RcodeFormatError)
			w.WriteMsg(m)
			return
		}
	}
	if tcp && len(req.Question) == 1 && req.Opcode == mdns.OpcodeQuery {
		switch req.Question[0].Qtype {
		case mdns.TypeAXFR, mdns.TypeIXFR:
			if err := s.transfer(w, req, src, tsigKey); err != nil {
				s.log.Info("dns transfer failed", "client", src, "zone", req.Question[0].Name, "err", err)
			}
			return
		}
	}
	m := s.respond(s.snap.Load(), req, src, tsigKey, tcp)
	if m == nil {
		return
	}
	if err := w.WriteMsg(m); err != nil {
		s.log.Debug("dns write failed", "client", src, "err", err)
	}
}

// respond computes the reply to a request other than a zone transfer over
// TCP. It returns nil when no reply should be sent. It must never panic,
// whatever the request: FuzzRespond checks it.
func (s *Server) respond(snap *Snapshot, req *mdns.Msg, src netip.Addr, tsigKey string, tcp bool) *mdns.Msg {
	m, _ := s.respondCacheable(snap, req, src, tsigKey, tcp)
	return m
}

// respondCacheable is respond, also telling whether the reply may be cached
// for the same question.
func (s *Server) respondCacheable(snap *Snapshot, req *mdns.Msg, src netip.Addr, tsigKey string, tcp bool) (m *mdns.Msg, cacheable bool) {
	if req.Response {
		return nil, false
	}
	cacheable = true
	m = new(mdns.Msg)
	m.SetReply(req)
	m.RecursionDesired = req.RecursionDesired
	m.Compress = true
	size := 512
	opt := req.IsEdns0()
	if opt != nil {
		if opt.Version() != 0 {
			m.SetRcode(req, mdns.RcodeBadVers)
			m.SetEdns0(uint16(s.cfg.MaxUDPSize), false)
			m.IsEdns0().SetExtendedRcode(mdns.RcodeBadVers)
			return m, false
		}
		size = min(max(int(opt.UDPSize()), 512), s.cfg.MaxUDPSize)
	}
	if tcp {
		size = mdns.MaxMsgSize
	}
	if len(req.Question) != 1 || len(req.Answer) > 0 {
		m.Rcode = mdns.RcodeFormatError
		return finish(m, opt, size, req, tsigKey, s.cfg.MaxUDPSize), false
	}
	q := req.Question[0]
	switch {
	case req.Opcode == mdns.OpcodeNotify || req.Opcode == mdns.OpcodeUpdate:
		// maillon is the primary: it takes no NOTIFY and no dynamic update.
		m.Rcode = mdns.RcodeRefused
	case req.Opcode != mdns.OpcodeQuery:
		m.Rcode = mdns.RcodeNotImplemented
	case q.Qclass != mdns.ClassINET && q.Qclass != mdns.ClassANY:
		m.Rcode = mdns.RcodeRefused
	case q.Qtype == mdns.TypeIXFR:
		// Over UDP an IXFR gets the current SOA, and the client comes back
		// over TCP if it is behind (RFC 1995 section 2).
		z := snap.Zone(q.Name)
		if z == nil || z.origin != canonical(q.Name) || !z.allowTransfer(src, tsigKey) {
			m.Rcode = mdns.RcodeRefused
			break
		}
		m.Authoritative = true
		m.Answer = []mdns.RR{z.soa}
	case q.Qtype == mdns.TypeAXFR || q.Qtype == mdns.TypeOPT || q.Qtype == mdns.TypeTSIG ||
		q.Qtype == mdns.TypeMAILA || q.Qtype == mdns.TypeMAILB:
		m.Rcode = mdns.RcodeFormatError
	default:
		if _, ok := mdns.IsDomainName(q.Name); !ok {
			m.Rcode = mdns.RcodeFormatError
			break
		}
		cacheable = !snap.answer(m, strings.ToLower(q.Name), q.Qtype, !tcp, opt != nil && opt.Do())
	}
	return finish(m, opt, size, req, tsigKey, s.cfg.MaxUDPSize), cacheable
}

// finish adds EDNS0 and TSIG and truncates to the client's size.
func finish(m *mdns.Msg, opt *mdns.OPT, size int, req *mdns.Msg, tsigKey string, maxUDP int) *mdns.Msg {
	if opt != nil {
		m.SetEdns0(uint16(maxUDP), opt.Do()) // the DO bit is echoed (RFC 3225)
	}
	tsigLen := 0
	if t := req.IsTsig(); t != nil && tsigKey != "" {
		tsigLen = 100 // room for the signature added when writing
	}
	if !fits(m, size-tsigLen) {
		m.Truncate(size - tsigLen)
	}
	if tsigKey != "" {
		t := req.IsTsig()
		m.SetTsig(t.Hdr.Name, t.Algorithm, 300, time.Now().Unix())
	}
	return m
}

// fits reports cheaply whether a reply certainly fits in size bytes: its
// uncompressed length does. Msg.Len computes the compression, which costs as
// much as packing.
func fits(m *mdns.Msg, size int) bool {
	n := 12
	for _, q := range m.Question {
		n += len(q.Name) + 6
	}
	for _, sec := range [][]mdns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range sec {
			n += mdns.Len(rr)
		}
	}
	return n <= size || m.Len() <= size
}
