package radius

// 802.1X: EAP over RADIUS (RFC 3579) with PEAPv0/EAP-MS-CHAPv2 and EAP-TLS
// (RFC 5216), written here on crypto/tls rather than taken from a library.
// The Go EAP servers we evaluated (beryju.io/radius-eap and its forks) are
// not served by the module proxy we build from, are built on
// layeh.com/radius's server types instead of our codec and snapshot, poll
// their TLS goroutine with sleeps, and take MS-MPPE-Send-Key from the
// EMSK; the state machines below are small enough to own, and eapol_test
// proves them (eapol_test_test.go).

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// EAPConfig enables 802.1X. The files are PEM; they are read by New and
// again by Server.ReloadEAP (certificate renewal without a restart).
type EAPConfig struct {
	// CertFile holds the server certificate (then its intermediates) the
	// supplicants verify; KeyFile its private key. Both are required.
	CertFile string
	KeyFile  string
	// ClientCAFile holds the CA certificates that EAP-TLS client
	// certificates must chain to; empty disables EAP-TLS.
	ClientCAFile string
	// DefaultMethod is offered after the EAP-Identity: "peap" (the
	// default) or "tls". A supplicant wanting the other one says so with
	// a Nak, which is honoured.
	DefaultMethod string
	// MaxSessions bounds concurrent conversations (each holds a TLS
	// state); default 4096. Beyond it new conversations are rejected.
	MaxSessions int
	// SessionTimeout is how long a conversation may take from its
	// EAP-Identity to its end; default 60s (FreeRADIUS's timer_expire).
	SessionTimeout time.Duration
	// FragmentSize is the TLS data per EAP-Request; default 1024, what
	// FreeRADIUS sends, which fits the EAPOL frames of any switch.
	FragmentSize int
	// ServerName is the MS-CHAPv2 authenticator name; default "maillon".
	ServerName string
}

// EAP codes and types (RFC 3748 §4, §5; RFC 5216; PEAP; RFC 2759 over EAP).
const (
	eapRequest  = 1
	eapResponse = 2
	eapSuccess  = 3
	eapFailure  = 4

	eapTypeIdentity = 1
	eapTypeNak      = 3
	eapTypeTLS      = 13
	eapTypePEAP     = 25
	eapTypeMSCHAPv2 = 26
	eapTypeTLV      = 33 // PEAP's Extensions (result TLV)

	// EAP-TLS and PEAP flags (RFC 5216 §3.1); PEAP's version is in the low
	// three bits, and we speak version 0.
	tlsFlagLength = 0x80
	tlsFlagMore   = 0x40
	tlsFlagStart  = 0x20
	peapVersion   = 0x07

	attrState = 24

	// maxTLSMessage bounds one reassembled TLS message either way: a
	// client certificate chain, or our server flight. Anything larger is
	// an attack or a mistake.
	maxTLSMessage = 64 << 10
	// maxEAPRounds bounds the round trips of a conversation: a certificate
	// chain in small fragments takes a few dozen.
	maxEAPRounds = 1000
)

// Authentication methods, as logged.
const (
	methodPEAP   = "peap"
	methodEAPTLS = "eap-tls"
)

var (
	outEAPChallenge = outcome{"challenge", ""}
	outEAPMalformed = outcome{"eap_malformed", "malformed EAP message"}
	outEAPNoSession = outcome{"eap_no_session", "unknown or expired EAP conversation"}
	outEAPBusy      = outcome{"eap_busy", "too many EAP conversations"}
	outEAPMethod    = outcome{"eap_method", "no acceptable EAP method"}
	outEAPProtocol  = outcome{"eap_protocol", "EAP protocol error"}
	outEAPTLS       = outcome{"eap_tls_failed", "TLS handshake failed"}
	outEAPNoCertID  = outcome{"eap_unknown_certificate", "certificate names no subscriber or device"}
	outEAPClientErr = outcome{"eap_client_failure", "the supplicant ended the conversation"}
)

// eapReply is what an EAP answer adds to the RADIUS reply.
type eapReply struct {
	challenge bool
	msg       []byte // the EAP packet
	state     [16]byte
	hasState  bool
	msk       *[64]byte // MS-MPPE keys in an Accept
	// userName is the authenticated identity, sent in the Accept so the
	// NAS accounts under it rather than an anonymous outer identity
	// (RFC 2865 §5.1).
	userName string
}

// eapScratch is a worker's EAP buffers for the request it handles.
type eapScratch struct {
	in  []byte // the gathered EAP-Message
	out []byte // the EAP packet answered
	rep eapReply
}

type eapServer struct {
	cfg      EAPConfig
	log      *slog.Logger
	tls      atomic.Pointer[eapTLSConfigs]
	sessions *eapTable
}

type eapTLSConfigs struct {
	peap *tls.Config
	tls  *tls.Config // nil without a client CA
}

func newEAPServer(cfg EAPConfig, log *slog.Logger, reg prometheus.Registerer) (*eapServer, error) {
	switch strings.ToLower(cfg.DefaultMethod) {
	case "", methodPEAP:
		cfg.DefaultMethod = methodPEAP
	case "tls", methodEAPTLS:
		if cfg.ClientCAFile == "" {
			return nil, errors.New("radius: EAP default method tls needs a client CA file")
		}
		cfg.DefaultMethod = methodEAPTLS
	default:
		return nil, fmt.Errorf("radius: EAP default method %q is not peap or tls", cfg.DefaultMethod)
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 4096
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = 60 * time.Second
	}
	if cfg.FragmentSize <= 0 {
		cfg.FragmentSize = 1024
	}
	// Room for the EAP and TLS headers, State and Message-Authenticator
	// in a 4096-octet RADIUS packet.
	if cfg.FragmentSize < 64 || cfg.FragmentSize > 3000 {
		return nil, fmt.Errorf("radius: EAP fragment size %d is not between 64 and 3000", cfg.FragmentSize)
	}
	if cfg.ServerName == "" {
		cfg.ServerName = "maillon"
	}
	e := &eapServer{cfg: cfg, log: log, sessions: newEAPTable(cfg.MaxSessions, cfg.SessionTimeout)}
	if err := e.load(); err != nil {
		return nil, err
	}
	if reg != nil {
		// Rejects, by reason, are in requests_total; this shows how close
		// the table is to MaxSessions.
		g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "maillon", Subsystem: "radius", Name: "eap_conversations",
			Help: "EAP conversations in progress.",
		}, func() float64 { return float64(e.sessions.len()) })
		if err := reg.Register(g); err != nil {
			return nil, fmt.Errorf("radius: registering EAP metrics: %w", err)
		}
	}
	return e, nil
}

// load reads the certificate files into fresh TLS configurations.
func (e *eapServer) load() error {
	if e.cfg.CertFile == "" || e.cfg.KeyFile == "" {
		return errors.New("radius: EAP needs a server certificate and key file")
	}
	cert, err := tls.LoadX509KeyPair(e.cfg.CertFile, e.cfg.KeyFile)
	if err != nil {
		return fmt.Errorf("radius: EAP server certificate %s: %w", e.cfg.CertFile, err)
	}
	base := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		// TLS 1.3 in EAP (RFC 9190, 9427) changes the end of the
		// conversation and the key labels; wpa_supplicant 2.10 and
		// FreeRADIUS 3.2 default to 1.2, and so do we until it is done.
		MaxVersion: tls.VersionTLS12,
		// No resumption: every conversation is a full handshake, which
		// keeps the state machines to one shape.
		SessionTicketsDisabled: true,
	}
	c := &eapTLSConfigs{peap: base.Clone()}
	if e.cfg.ClientCAFile != "" {
		pem, err := os.ReadFile(e.cfg.ClientCAFile)
		if err != nil {
			return fmt.Errorf("radius: EAP-TLS client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("radius: EAP-TLS client CA %s: no PEM certificate in it", e.cfg.ClientCAFile)
		}
		c.tls = base.Clone()
		c.tls.ClientAuth = tls.RequireAndVerifyClientCert
		c.tls.ClientCAs = pool
	}
	e.tls.Store(c)
	return nil
}

// ReloadEAP re-reads the EAP certificate files; conversations already
// running keep the configuration they started with. On error the
// previous certificates stay in use.
func (s *Server) ReloadEAP() error {
	if s.eap == nil {
		return errors.New("radius: EAP is not configured")
	}
	return s.eap.load()
}

func (e *eapServer) methodType(m string) byte {
	if m == methodEAPTLS {
		return eapTypeTLS
	}
	return eapTypePEAP
}

// enabled reports whether EAP type t can be run.
func (e *eapServer) enabled(t byte) bool {
	switch t {
	case eapTypePEAP:
		return true
	case eapTypeTLS:
		return e.tls.Load().tls != nil
	}
	return false
}

// eapMessage gathers the EAP-Message attributes (RFC 3579 §3.1: one EAP
// packet split over consecutive attributes) into w's scratch buffer.
func (w *worker) eapMessage(p *packet) []byte {
	b := w.eap.in[:0]
	for _, a := range p.attrs {
		if a.typ == attrEAPMessage {
			b = append(b, p.value(a)...)
		}
	}
	w.eap.in = b
	return b
}

// eapAccess runs one round of an EAP conversation. Every way out is an
// answer: a Challenge carrying the next EAP-Request, or the end (Accept
// with EAP-Success, Reject with EAP-Failure).
func (w *worker) eapAccess(snap *Snapshot, c *clientEntry, p *packet) authResult {
	e := w.s.eap
	msg := w.eapMessage(p)
	if len(msg) < 5 || int(binary.BigEndian.Uint16(msg[2:4])) != len(msg) || msg[0] != eapResponse {
		var id byte
		if len(msg) >= 2 {
			id = msg[1]
		}
		return w.eapEnd(nil, id, authResult{out: outEAPMalformed, method: methodNone})
	}
	id, typ, data := msg[1], msg[4], msg[5:]
	state, hasState := p.get(attrState)

	if typ == eapTypeIdentity {
		// A new conversation, even when the NAS sends a stale State.
		if hasState && len(state) == 16 {
			if old := e.sessions.get([16]byte(state)); old != nil {
				e.sessions.end(old)
			}
		}
		return w.eapStart(c, id, data)
	}
	if !hasState || len(state) != 16 {
		return w.eapEnd(nil, id, authResult{out: outEAPNoSession, method: methodNone})
	}
	s := e.sessions.get([16]byte(state))
	if s == nil {
		return w.eapEnd(nil, id, authResult{out: outEAPNoSession, method: methodNone})
	}
	if !s.mu.TryLock() {
		// Another worker is in this conversation: a duplicate the reply
		// cache could not recognise. Answering it would fork the state.
		return w.eapEnd(nil, id, authResult{out: outEAPProtocol, method: s.methodName()})
	}
	defer s.mu.Unlock()
	if s.closed || s.nas != c.Name || id != s.lastID {
		if !s.closed {
			e.sessions.endLocked(s)
		}
		return w.eapEnd(nil, id, authResult{out: outEAPProtocol, method: s.methodName()})
	}
	s.rounds++
	if s.rounds > maxEAPRounds {
		e.sessions.endLocked(s)
		return w.eapEnd(nil, id, authResult{out: outEAPProtocol, method: s.methodName()})
	}
	r := w.eapRound(snap, c, p, s, id, typ, data)
	if r.eap == nil || !r.eap.challenge {
		e.sessions.endLocked(s)
	}
	return r
}

// eapStart answers an EAP-Response/Identity with the Start of the default
// method, in a new conversation.
func (w *worker) eapStart(c *clientEntry, id byte, identity []byte) authResult {
	e := w.s.eap
	s := &eapSession{nas: c.Name, identity: string(identity), method: e.methodType(e.cfg.DefaultMethod)}
	if !e.enabled(s.method) {
		s.method = eapTypePEAP
	}
	if _, err := rand.Read(s.key[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	if !e.sessions.add(s, time.Now()) {
		return w.eapEnd(nil, id, authResult{out: outEAPBusy, method: methodNone, identity: string(identity)})
	}
	return w.eapTLSStart(s, id)
}

func (w *worker) eapTLSStart(s *eapSession, id byte) authResult {
	s.lastID = id + 1
	b := append(w.eap.out[:0], eapRequest, s.lastID, 0, 6, s.method, tlsFlagStart)
	w.eap.out = b
	return w.eapChallenge(s, b)
}

// eapRound handles a response inside a conversation (s locked).
func (w *worker) eapRound(snap *Snapshot, c *clientEntry, p *packet, s *eapSession, id, typ byte, data []byte) authResult {
	fail := func(o outcome) authResult { return w.eapEnd(s, id, authResult{out: o, method: s.methodName()}) }
	if !s.started {
		if typ == eapTypeNak {
			// RFC 3748 §5.3.1: the peer lists the types it wants instead.
			if s.nakked {
				return fail(outEAPMethod)
			}
			s.nakked = true
			for _, t := range data {
				if (t == eapTypeTLS || t == eapTypePEAP) && t != s.method && w.s.eap.enabled(t) {
					s.method = t
					return w.eapTLSStart(s, id)
				}
			}
			return fail(outEAPMethod)
		}
	}
	if typ != s.method || len(data) < 1 {
		return fail(outEAPProtocol)
	}
	flags, data := data[0], data[1:]
	if s.method == eapTypePEAP && flags&peapVersion != 0 {
		return fail(outEAPMethod) // only PEAPv0 (Microsoft's) is spoken
	}
	if flags&tlsFlagLength != 0 {
		if len(data) < 4 {
			return fail(outEAPMalformed)
		}
		total := binary.BigEndian.Uint32(data)
		data = data[4:]
		if total > maxTLSMessage {
			return fail(outEAPMalformed)
		}
		if len(s.in) == 0 {
			s.inTotal = int(total)
		}
	}

	// Sending a fragmented flight: the peer acknowledges each fragment
	// with an empty response.
	if s.outOff < len(s.out) {
		if len(data) != 0 || flags&tlsFlagMore != 0 {
			return fail(outEAPProtocol)
		}
		return w.eapTLSFragment(s)
	}
	if s.done {
		// The peer has our last flight (the TLS Finished, or an alert):
		// the verdict was reached in the handshake.
		return w.eapVerdict(s, id)
	}

	// Receiving: gather the fragments of one TLS message.
	if len(s.in)+len(data) > maxTLSMessage || (s.inTotal > 0 && len(s.in)+len(data) > s.inTotal) {
		return fail(outEAPMalformed)
	}
	s.in = append(s.in, data...)
	if flags&tlsFlagMore != 0 {
		if len(data) == 0 {
			return fail(outEAPProtocol)
		}
		s.lastID = id + 1
		b := append(w.eap.out[:0], eapRequest, s.lastID, 0, 6, s.method, 0)
		w.eap.out = b
		return w.eapChallenge(s, b)
	}
	input, total := s.in, s.inTotal
	s.in, s.inTotal = nil, 0
	if total > 0 && len(input) != total {
		return fail(outEAPMalformed) // fewer octets than announced
	}
	if s.started && (len(input) == 0) != s.tun.wantAck {
		// Data where an acknowledgement was due, or the reverse.
		return fail(outEAPProtocol)
	}
	if len(input) == 0 && !s.started {
		return fail(outEAPProtocol)
	}

	if !s.started {
		cfgs := w.s.eap.tls.Load()
		cfg, prog := cfgs.peap, s.runPEAP
		if s.method == eapTypeTLS {
			cfg, prog = cfgs.tls, s.runTLS
		}
		s.start(cfg, prog, w.s.eap.cfg.ServerName)
	}
	s.resume(&eapStep{snap: snap, c: c, p: p}, input)
	if len(s.out) > 0 {
		return w.eapTLSFragment(s)
	}
	if s.done {
		return w.eapVerdict(s, id)
	}
	// The TLS engine wants more than the peer sent (a record cut short
	// without the More flag).
	return fail(outEAPProtocol)
}

// eapTLSFragment sends the next fragment of s.out (RFC 5216 §2.1.5): the
// first one carries the total length, all but the last the More flag.
func (w *worker) eapTLSFragment(s *eapSession) authResult {
	rest := s.out[s.outOff:]
	n := min(len(rest), w.s.eap.cfg.FragmentSize)
	var flags byte
	if s.outOff == 0 {
		flags |= tlsFlagLength
	}
	if n < len(rest) {
		flags |= tlsFlagMore
	}
	s.lastID++
	b := append(w.eap.out[:0], eapRequest, s.lastID, 0, 0, s.method, flags)
	if flags&tlsFlagLength != 0 {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s.out)))
	}
	b = append(b, rest[:n]...)
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
	w.eap.out = b
	s.outOff += n
	if s.outOff == len(s.out) {
		s.out, s.outOff = s.out[:0], 0
	}
	return w.eapChallenge(s, b)
}

func (w *worker) eapChallenge(s *eapSession, msg []byte) authResult {
	w.eap.rep = eapReply{challenge: true, msg: msg, state: s.key, hasState: true}
	return authResult{out: outEAPChallenge, method: s.methodName(), eap: &w.eap.rep}
}

// eapVerdict ends a conversation whose method has finished.
func (w *worker) eapVerdict(s *eapSession, id byte) authResult {
	r := s.result
	if r.out == (outcome{}) {
		r.out = outEAPProtocol
	}
	if r.method == "" {
		r.method = s.methodName()
	}
	if s.err != nil {
		w.s.log.Info("radius: EAP conversation failed", "nas", s.nas, "identity", printable([]byte(s.identity)),
			"method", s.methodName(), "err", s.err)
	}
	return w.eapEnd(s, id, r)
}

// eapEnd finishes with EAP-Success in an Accept or EAP-Failure in a
// Reject (RFC 3748 §4.2: the Identifier of the response answered).
func (w *worker) eapEnd(s *eapSession, id byte, r authResult) authResult {
	code := byte(eapFailure)
	w.eap.rep = eapReply{}
	if r.out.accepted() && s != nil && s.hasKeys {
		code = eapSuccess
		w.eap.rep.msk = &s.msk
		w.eap.rep.userName = r.identity
	} else if r.out.accepted() {
		r.out = outEAPProtocol // never an Accept without keys
	}
	b := append(w.eap.out[:0], code, id, 0, 4)
	w.eap.out = b
	w.eap.rep.msg = b
	r.eap = &w.eap.rep
	return r
}

// addEAP writes an EAP answer's attributes: the EAP packet split over
// EAP-Message attributes, the State tying the rounds together, and on
// success the MPPE keys (RFC 5216 §2.3: MS-MPPE-Recv-Key is the first
// half of the MSK, Send-Key the second).
func (w *worker) addEAP(e *encoder, c *clientEntry, p *packet, er *eapReply) {
	for m := er.msg; len(m) > 0; {
		n := min(len(m), 253)
		e.add(attrEAPMessage, m[:n])
		m = m[n:]
	}
	if er.hasState {
		e.add(attrState, er.state[:])
	}
	if er.userName != "" {
		e.addString(attrUserName, er.userName)
	}
	if er.msk != nil {
		salt := uint16(w.rng.Uint32()) | 0x8000
		e.addVendor(vendorMicrosoft, msMPPERecvKey, w.c.appendSalted(w.tmp[:0], salt, er.msk[:32], c.secret, p.auth()))
		e.addVendor(vendorMicrosoft, msMPPESendKey, w.c.appendSalted(w.tmp[:0], salt^1, er.msk[32:], c.secret, p.auth()))
	}
}
