package radius

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"
)

// ChangeRequest asks a NAS to end a session (Disconnect-Request) or to
// change it (CoA-Request), RFC 5176. The identifying attributes are the
// ones MikroTik and accel-ppp match on.
type ChangeRequest struct {
	NAS       string // Client.Name in the current snapshot
	CoA       bool   // CoA-Request instead of Disconnect-Request
	UserName  string
	SessionID string     // Acct-Session-Id
	FramedIP  netip.Addr // Framed-IP-Address
	Attrs     []Attr     // new authorizations, for a CoA
}

// ChangeResult is the NAS's answer. Timeout is set when it never answered.
type ChangeResult struct {
	Code       Code   // Disconnect-ACK/NAK or CoA-ACK/NAK
	ErrorCause uint32 // Error-Cause of a NAK (RFC 5176 §3.5), 0 if none
	Timeout    bool
}

// ACK reports whether the NAS did what was asked.
func (r ChangeResult) ACK() bool { return r.Code == CodeDisconnectACK || r.Code == CodeCoAACK }

func (r ChangeResult) String() string {
	switch {
	case r.Timeout:
		return "timeout"
	case r.ACK():
		return "ack"
	case r.ErrorCause != 0:
		return fmt.Sprintf("nak (Error-Cause %d)", r.ErrorCause)
	}
	return "nak"
}

const (
	attrErrorCause   = 101
	defaultCoAPort   = 3799
	coaTries         = 3
	coaRetryInterval = 2 * time.Second
)

// SendChange sends a Disconnect- or CoA-Request to the NAS named in req,
// retrying on silence, and returns what the NAS answered; a timeout is a
// result, not an error. Errors are for requests that could not be sent.
func (s *Server) SendChange(ctx context.Context, req ChangeRequest) (ChangeResult, error) {
	snap := s.snap.Load()
	if snap == nil {
		return ChangeResult{}, errors.New("radius: no snapshot yet")
	}
	c := snap.byName[req.NAS]
	if c == nil {
		return ChangeResult{}, fmt.Errorf("radius: change request: no NAS named %q", req.NAS)
	}
	if !c.Prefix.IsSingleIP() {
		return ChangeResult{}, fmt.Errorf("radius: change request: NAS %q is a range (%s), not one address", c.Name, c.Prefix)
	}
	port := c.CoAPort
	if port == 0 {
		port = defaultCoAPort
	}
	dst := netip.AddrPortFrom(c.Prefix.Addr().Unmap(), port)
	raw, err := encodeChange(req, c.secret, s.cfg.Now())
	if err != nil {
		return ChangeResult{}, err
	}
	res, err := exchangeChange(ctx, dst, raw, c.secret)
	kind := "disconnect"
	if req.CoA {
		kind = "coa"
	}
	label := res.String()
	if res.ErrorCause != 0 {
		label = "nak"
	}
	if err != nil {
		label = "error"
	}
	s.metrics.change.WithLabelValues(c.Name, kind, label).Inc()
	s.log.Info("radius: change request", "nas", c.Name, "kind", kind, "user", req.UserName,
		"session", req.SessionID, "result", label)
	return res, err
}

func encodeChange(req ChangeRequest, secret []byte, now time.Time) ([]byte, error) {
	code := CodeDisconnectRequest
	if req.CoA {
		code = CodeCoARequest
	}
	var id [1]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("radius: change request id: %w", err)
	}
	var e encoder
	e.reset(code, id[0], make([]byte, 16))
	if req.UserName != "" {
		e.addString(attrUserName, req.UserName)
	}
	if req.SessionID != "" {
		e.addString(attrAcctSessionID, req.SessionID)
	}
	if req.FramedIP.Is4() {
		a := req.FramedIP.As4()
		e.add(attrFramedIPAddress, a[:])
	}
	// Event-Timestamp lets the NAS refuse replays (RFC 5176 §6.1).
	e.addUint32(attrEventTimestamp, uint32(now.Unix()))
	if req.CoA {
		attrs, err := encodeAttrs(req.Attrs)
		if err != nil {
			return nil, err
		}
		attrs.appendTo(&e)
	}
	ma := e.addMessageAuthenticator()
	if e.overflow {
		return nil, errors.New("radius: change request does not fit in a packet")
	}
	// The Request Authenticator is MD5 over the packet with a zeroed
	// authenticator (RFC 5176 §2.3), the Message-Authenticator likewise.
	c := newCrypt()
	binary.BigEndian.PutUint16(e.b[2:4], uint16(len(e.b)))
	copy(e.b[ma:ma+16], c.hmacMD5(secret, e.b))
	c.md5.Reset()
	c.md5.Write(e.b)
	c.md5.Write(secret)
	c.md5.Sum(e.b[4:4])
	return e.b, nil
}

func exchangeChange(ctx context.Context, dst netip.AddrPort, raw, secret []byte) (ChangeResult, error) {
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
	if err != nil {
		return ChangeResult{}, fmt.Errorf("radius: change request to %s: %w", dst, err)
	}
	defer conn.Close()
	buf := make([]byte, maxPacket)
	c := newCrypt()
	for try := 0; try < coaTries; try++ {
		if _, err := conn.Write(raw); err != nil {
			return ChangeResult{}, fmt.Errorf("radius: change request to %s: %w", dst, err)
		}
		deadline := time.Now().Add(coaRetryInterval)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		conn.SetReadDeadline(deadline)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					break
				}
				// ICMP port unreachable and the like: the NAS is not
				// listening; count it as silence and try again.
				time.Sleep(100 * time.Millisecond)
				break
			}
			res, ok := c.parseChangeReply(buf[:n], raw, secret)
			if ok {
				return res, nil
			}
		}
		if ctx.Err() != nil {
			return ChangeResult{Timeout: true}, nil
		}
	}
	return ChangeResult{Timeout: true}, nil
}

// parseChangeReply accepts only a signed answer to our request.
func (c *crypt) parseChangeReply(b, req, secret []byte) (ChangeResult, bool) {
	var p packet
	if p.parse(b) != nil || p.id != req[1] {
		return ChangeResult{}, false
	}
	switch p.code {
	case CodeDisconnectACK, CodeDisconnectNAK, CodeCoAACK, CodeCoANAK:
	default:
		return ChangeResult{}, false
	}
	c.md5.Reset()
	c.md5.Write(p.raw[:4])
	c.md5.Write(req[4:20])
	c.md5.Write(p.raw[20:])
	c.md5.Write(secret)
	if !equal(c.md5.Sum(c.sum[:0]), p.raw[4:20]) {
		return ChangeResult{}, false
	}
	res := ChangeResult{Code: p.code}
	res.ErrorCause, _ = p.uint32(attrErrorCause)
	return res, true
}
