package radius

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// MS-CHAPv2 over EAP op codes, and PEAP's result TLV.
const (
	msOpChallenge = 1
	msOpResponse  = 2
	msOpSuccess   = 3
	msOpFailure   = 4

	tlvResult  = 3
	tlvSuccess = 1
	tlvFailure = 2
)

// runPEAP is PEAPv0 with inner EAP-MS-CHAPv2, as Windows, Android, Apple
// and wpa_supplicant speak it: TLS with the server certificate only, then
// inside the tunnel EAP-Identity and MS-CHAPv2 (without EAP headers, the
// PEAPv0 habit), then a result TLV both sides must agree on.
func (s *eapSession) runPEAP(conn *tls.Conn) {
	if !s.handshake(conn) {
		return
	}
	// The peer acknowledges our Finished before the tunnel carries data.
	if !s.tun.awaitAck() {
		s.fail(outEAPProtocol, errEAPClosed)
		return
	}
	r, err := s.peapMSCHAPv2(conn)
	if err != nil {
		s.fail(outEAPProtocol, err)
		return
	}
	status := byte(tlvFailure)
	if r.out.accepted() {
		status = tlvSuccess
	}
	// The result TLV travels with its EAP header, unlike the methods.
	msg := []byte{eapRequest, s.lastID + 1, 0, 11, eapTypeTLV, 0x80, tlvResult, 0, 2, 0, status}
	typ, data, err := s.innerExchange(conn, msg)
	if err != nil {
		s.fail(outEAPProtocol, err)
		return
	}
	if got := resultTLV(data); typ != eapTypeTLV || got != status {
		if r.out.accepted() {
			s.fail(outEAPClientErr, fmt.Errorf("PEAP: peer answered result %d to %d", got, status))
			return
		}
	}
	s.result = r
}

// peapMSCHAPv2 runs the inner EAP-Identity and EAP-MS-CHAPv2 exchange
// (draft-kamath-pppext-eap-mschapv2) and returns the verdict.
func (s *eapSession) peapMSCHAPv2(conn *tls.Conn) (authResult, error) {
	typ, data, err := s.innerExchange(conn, []byte{eapTypeIdentity})
	if err != nil {
		return authResult{}, err
	}
	if typ != eapTypeIdentity || len(data) == 0 || len(data) > 253 {
		return authResult{}, fmt.Errorf("PEAP: expected an inner identity, got EAP type %d of %d octets", typ, len(data))
	}
	identity := string(data)

	var authCh [16]byte
	if _, err := rand.Read(authCh[:]); err != nil {
		return authResult{}, err
	}
	msID := authCh[15]
	msg := []byte{eapTypeMSCHAPv2, msOpChallenge, msID, 0, 0, 16}
	msg = append(msg, authCh[:]...)
	msg = append(msg, s.serverName...)
	binary.BigEndian.PutUint16(msg[3:5], uint16(len(msg)-1))
	typ, data, err = s.innerExchange(conn, msg)
	if err != nil {
		return authResult{}, err
	}
	if typ == eapTypeNak {
		r := authResult{out: outEAPMethod, method: methodPEAP, identity: identity}
		return r, s.msFailure(conn, msID, authCh[:], r.out.msg)
	}
	// OpCode, MS-CHAPv2-ID, MS-Length, Value-Size 49, Peer-Challenge (16),
	// reserved (8), NT-Response (24), flags, then the name.
	if typ != eapTypeMSCHAPv2 || len(data) < 54 || data[0] != msOpResponse || data[4] != 49 {
		return authResult{}, fmt.Errorf("PEAP: expected an MS-CHAPv2 response, got EAP type %d of %d octets", typ, len(data))
	}
	peerCh, ntResp, name := data[5:21], data[29:53], data[54:]

	id, cred := s.peapLookup(identity)
	var r authResult
	var chHash [8]byte
	switch {
	case cred == nil:
		r.out = outUnknownUser
	default:
		// The name the peer hashed is the one in its response (RFC 2759 §4).
		chHash = challengeHash(peerCh, authCh[:], name)
		want := challengeResponse(chHash[:], &cred.hashes().nt)
		if !equal(want[:], ntResp) {
			r.out = outWrongPassword
		} else {
			r = eapDecide(s.step, methodPEAP, id)
		}
	}
	r.method, r.identity = methodPEAP, identity
	if !r.out.accepted() {
		return r, s.msFailure(conn, msID, authCh[:], r.out.msg)
	}
	ar := authenticatorResponse(&cred.hashes().ntnt, ntResp, chHash)
	msg = append([]byte{eapTypeMSCHAPv2, msOpSuccess, msID, 0, 0}, ar[:]...)
	binary.BigEndian.PutUint16(msg[3:5], uint16(len(msg)-1))
	typ, data, err = s.innerExchange(conn, msg)
	if err != nil {
		return authResult{}, err
	}
	if typ != eapTypeMSCHAPv2 || len(data) < 1 || data[0] != msOpSuccess {
		// The peer did not accept our authenticator response: it does not
		// trust this server, so neither side may go on.
		r = authResult{out: outEAPClientErr, method: methodPEAP, identity: identity}
	}
	return r, nil
}

// msFailure tells the peer MS-CHAPv2 failed: E=691 (authentication
// failure), no retry (RFC 2759 §6), and reads its acknowledgement.
func (s *eapSession) msFailure(conn *tls.Conn, msID byte, authCh []byte, why string) error {
	text := "E=691 R=0 C=" + strings.ToUpper(hex.EncodeToString(authCh)) + " V=3 M=" + why
	msg := append([]byte{eapTypeMSCHAPv2, msOpFailure, msID, 0, 0}, text...)
	binary.BigEndian.PutUint16(msg[3:5], uint16(len(msg)-1))
	_, _, err := s.innerExchange(conn, msg)
	return err
}

// peapLookup finds the inner identity's account: admins when the NAS asks
// for an administrative login, else subscribers, and on a switch admins
// too (their laptop on a port).
func (s *eapSession) peapLookup(name string) (eapIdentity, *credential) {
	snap, c, p := s.step.snap, s.step.c, s.step.p
	svc, _ := p.uint32(attrServiceType)
	admin := svc == serviceAdmin || svc == serviceNASPrompt
	if !admin {
		if sub := snap.subscriber([]byte(name), c.Realm); sub != nil {
			return eapIdentity{name: name, sub: sub}, sub.cred
		}
	}
	if admin || c.Kind == ClientSwitch {
		if a := snap.admins[name]; a != nil {
			return eapIdentity{name: name, admin: a}, a.cred
		}
	}
	return eapIdentity{}, nil
}

// innerExchange sends one EAP-Request through the tunnel and returns the
// peer's response: its type and data. PEAPv0 peers leave the EAP header
// out except on TLV (extensions) responses, so both shapes are read.
func (s *eapSession) innerExchange(conn *tls.Conn, msg []byte) (byte, []byte, error) {
	if _, err := conn.Write(msg); err != nil {
		return 0, nil, fmt.Errorf("PEAP: writing to the tunnel: %w", err)
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		return 0, nil, fmt.Errorf("PEAP: reading from the tunnel: %w", err)
	}
	m := buf[:n]
	if n >= 5 && m[0] == eapResponse && int(binary.BigEndian.Uint16(m[2:4])) == n {
		return m[4], m[5:], nil
	}
	if n < 1 {
		return 0, nil, errors.New("PEAP: empty inner message")
	}
	return m[0], m[1:], nil
}

// resultTLV finds the Result TLV's status in a TLV response, 0 if none.
func resultTLV(b []byte) byte {
	for len(b) >= 4 {
		t := binary.BigEndian.Uint16(b) & 0x3fff // without the M and R bits
		n := int(binary.BigEndian.Uint16(b[2:]))
		if len(b) < 4+n {
			return 0
		}
		if t == tlvResult && n == 2 {
			return b[5]
		}
		b = b[4+n:]
	}
	return 0
}
