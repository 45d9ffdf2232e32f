package radius

import (
	"crypto/tls"
	"errors"
	"fmt"
	"iter"
	"net"
	"runtime/debug"
	"sync"
	"time"
)

// eapSession is one EAP conversation, found again by its State.
//
// The method (TLS handshake, then PEAP's inner exchange) runs as a
// coroutine (iter.Pull) over an in-memory connection: it is written as
// straight-line code on crypto/tls, and each time it needs bytes the peer
// has not sent yet it yields, and the worker answers the NAS with what it
// wrote. The worker resumes it with the next round's bytes. Only one of
// the two runs at a time, so the session needs no more locking than the
// mutex that keeps two workers out of the same conversation.
type eapSession struct {
	mu       sync.Mutex
	key      [16]byte  // the State attribute
	expires  time.Time // set once by eapTable.add
	nas      string    // Client.Name the conversation started on
	identity string    // outer EAP-Response/Identity, for logs
	method   byte      // eapTypeTLS or eapTypePEAP

	started bool // the method runs (the peer answered the Start)
	nakked  bool // the peer asked for another method once already
	done    bool // the method has ended: result holds the verdict
	closed  bool // removed from the table; its coroutine is stopped
	lastID  byte // Identifier of our last EAP-Request
	rounds  int

	in      []byte // fragments of the peer's TLS message
	inTotal int    // its announced length, 0 when not announced
	out     []byte // TLS data to send, from s.out[outOff:]
	outOff  int

	tun        *eapTunnel
	next       func() (struct{}, bool)
	stop       func()
	serverName string
	step       *eapStep // the request being handled, while the method runs

	result  authResult
	err     error // why the method failed, for the log
	msk     [64]byte
	hasKeys bool
}

// eapStep is what the method may consult while it runs: the request that
// resumed it and the snapshot that request is answered from.
type eapStep struct {
	snap *Snapshot
	c    *clientEntry
	p    *packet
}

func (s *eapSession) methodName() string {
	if s.method == eapTypeTLS {
		return methodEAPTLS
	}
	return methodPEAP
}

// start sets up the method's coroutine; it runs at the first resume.
func (s *eapSession) start(cfg *tls.Config, prog func(*tls.Conn), serverName string) {
	s.started = true
	s.serverName = serverName
	s.tun = &eapTunnel{}
	conn := tls.Server(s.tun, cfg)
	s.next, s.stop = iter.Pull(func(yield func(struct{}) bool) {
		// A bug in a method must cost one conversation, not the server:
		// iter.Pull would re-raise the panic in the worker.
		defer func() {
			if v := recover(); v != nil {
				s.fail(outEAPProtocol, fmt.Errorf("panic in %s: %v\n%s", s.methodName(), v, debug.Stack()))
			}
		}()
		s.tun.yield = yield
		prog(conn)
	})
}

// resume hands the peer's TLS bytes to the method and runs it until it
// waits for the peer again or ends; what it wrote is then in s.out.
func (s *eapSession) resume(step *eapStep, input []byte) {
	s.step = step
	s.tun.in = input
	_, running := s.next()
	s.step = nil
	if !running {
		s.done = true
	}
	s.out, s.outOff = s.tun.out, 0
	s.tun.out = nil
}

// fail ends the method with a reject; err says why, for the log.
func (s *eapSession) fail(o outcome, err error) {
	s.result = authResult{out: o, method: s.methodName()}
	s.err = err
}

// handshake runs the TLS handshake and derives the MSK (RFC 5216 §2.3;
// PEAPv0 uses the same label): TLS-PRF(master secret, "client EAP
// encryption", client and server randoms), which is the RFC 5705 exporter
// without context. crypto/tls exports only with the extended master
// secret (RFC 7627), which every supplicant of the last decade sends.
// False when the method has failed.
func (s *eapSession) handshake(conn *tls.Conn) bool {
	if err := conn.Handshake(); err != nil {
		s.fail(outEAPTLS, fmt.Errorf("%s handshake: %w", s.methodName(), err))
		return false
	}
	st := conn.ConnectionState()
	km, err := st.ExportKeyingMaterial("client EAP encryption", nil, 128)
	if err != nil {
		s.fail(outEAPTLS, fmt.Errorf("%s key export: %w", s.methodName(), err))
		return false
	}
	copy(s.msk[:], km[:64])
	s.hasKeys = true
	return true
}

func (s *eapSession) close() {
	if s.closed {
		return
	}
	s.closed = true
	if s.stop != nil {
		s.stop() // the method's pending Read fails and it unwinds
	}
}

var errEAPClosed = errors.New("radius: EAP conversation closed")

// eapTunnel is the method's net.Conn: reads take what the peer sent this
// round, writes gather what goes back.
type eapTunnel struct {
	in      []byte
	out     []byte
	yield   func(struct{}) bool
	wantAck bool // the method waits for an empty response, not data
}

func (t *eapTunnel) Read(b []byte) (int, error) {
	for len(t.in) == 0 {
		if !t.yield(struct{}{}) {
			return 0, errEAPClosed
		}
	}
	n := copy(b, t.in)
	t.in = t.in[n:]
	return n, nil
}

func (t *eapTunnel) Write(b []byte) (int, error) {
	if len(t.out)+len(b) > maxTLSMessage {
		return 0, errors.New("radius: EAP: TLS output too large")
	}
	t.out = append(t.out, b...)
	return len(b), nil
}

// awaitAck yields what was written and waits for the peer's empty
// acknowledgement (PEAP after the server's Finished).
func (t *eapTunnel) awaitAck() bool {
	t.wantAck = true
	ok := t.yield(struct{}{})
	t.wantAck = false
	return ok
}

func (t *eapTunnel) Close() error                     { return nil }
func (t *eapTunnel) LocalAddr() net.Addr              { return eapAddr{} }
func (t *eapTunnel) RemoteAddr() net.Addr             { return eapAddr{} }
func (t *eapTunnel) SetDeadline(time.Time) error      { return nil }
func (t *eapTunnel) SetReadDeadline(time.Time) error  { return nil }
func (t *eapTunnel) SetWriteDeadline(time.Time) error { return nil }

type eapAddr struct{}

func (eapAddr) Network() string { return "eap" }
func (eapAddr) String() string  { return "eap" }

// eapTable holds the conversations in progress: bounded, and each expires
// a fixed time after it started, so a peer that stops answering (or never
// meant to finish) frees its slot.
type eapTable struct {
	mu  sync.Mutex
	m   map[[16]byte]*eapSession
	max int
	ttl time.Duration
}

func newEAPTable(max int, ttl time.Duration) *eapTable {
	return &eapTable{m: map[[16]byte]*eapSession{}, max: max, ttl: ttl}
}

// add registers a new conversation; false when the table is full even
// after dropping the expired ones.
func (t *eapTable) add(s *eapSession, now time.Time) bool {
	t.mu.Lock()
	full := len(t.m) >= t.max
	t.mu.Unlock()
	if full {
		t.sweep(now)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) >= t.max {
		return false
	}
	s.expires = now.Add(t.ttl)
	t.m[s.key] = s
	return true
}

// get finds a live conversation.
func (t *eapTable) get(key [16]byte) *eapSession {
	t.mu.Lock()
	s := t.m[key]
	t.mu.Unlock()
	if s == nil || time.Now().After(s.expires) {
		return nil
	}
	return s
}

func (t *eapTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// end removes and closes a conversation.
func (t *eapTable) end(s *eapSession) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.endLocked(s)
}

// endLocked is end with s.mu held. The table lock is never held while
// waiting for a session's, so the two orders cannot deadlock.
func (t *eapTable) endLocked(s *eapSession) {
	t.mu.Lock()
	if t.m[s.key] == s {
		delete(t.m, s.key)
	}
	t.mu.Unlock()
	s.close()
}

// sweep ends the expired conversations.
func (t *eapTable) sweep(now time.Time) {
	var old []*eapSession
	t.mu.Lock()
	for k, s := range t.m {
		if now.After(s.expires) {
			delete(t.m, k)
			old = append(old, s)
		}
	}
	t.mu.Unlock()
	for _, s := range old {
		s.mu.Lock()
		s.close()
		s.mu.Unlock()
	}
}

// closeAll ends every conversation (the server is stopping).
func (t *eapTable) closeAll() {
	t.mu.Lock()
	all := make([]*eapSession, 0, len(t.m))
	for _, s := range t.m {
		all = append(all, s)
	}
	clear(t.m)
	t.mu.Unlock()
	for _, s := range all {
		s.mu.Lock()
		s.close()
		s.mu.Unlock()
	}
}
