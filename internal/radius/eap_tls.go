package radius

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// eapIdentity is who an EAP method authenticated.
type eapIdentity struct {
	name  string
	sub   *subEntry
	admin *adminEntry
	mac   [6]byte // a device certificate's MAC
	isMAC bool
}

// runTLS is EAP-TLS (RFC 5216): the handshake with a client certificate
// chaining to the configured CA is the authentication; the certificate
// then names a subscriber or a device.
func (s *eapSession) runTLS(conn *tls.Conn) {
	if !s.handshake(conn) {
		return
	}
	certs := conn.ConnectionState().PeerCertificates
	if len(certs) == 0 { // RequireAndVerifyClientCert makes this unreachable
		s.fail(outEAPTLS, errors.New("EAP-TLS: no client certificate"))
		return
	}
	id, ok := certIdentity(s.step, certs[0])
	if !ok {
		s.fail(outEAPNoCertID, fmt.Errorf("EAP-TLS: certificate %q names no subscriber login nor MAC address", certs[0].Subject))
		return
	}
	s.result = eapDecide(s.step, methodEAPTLS, id)
}

// certIdentity maps a client certificate to a subscriber login (its CN,
// a DNS name or an email SAN, under the NAS's realm mode) or else to a
// device MAC written in one of them.
func certIdentity(step *eapStep, cert *x509.Certificate) (eapIdentity, bool) {
	names := make([]string, 0, 1+len(cert.DNSNames)+len(cert.EmailAddresses))
	names = append(names, cert.Subject.CommonName)
	names = append(names, cert.DNSNames...)
	names = append(names, cert.EmailAddresses...)
	for _, n := range names {
		if n == "" {
			continue
		}
		if sub := step.snap.subscriber([]byte(n), step.c.Realm); sub != nil {
			return eapIdentity{name: n, sub: sub}, true
		}
	}
	for _, n := range names {
		if mac, ok := parseMAC([]byte(n)); ok {
			return eapIdentity{name: n, mac: mac, isMAC: true}, true
		}
	}
	return eapIdentity{}, false
}

// eapDecide turns an authenticated identity into the verdict, with the
// rules PAP and CHAP apply to the account, and on a switch (or for a
// device certificate) the VLAN decision MAC authentication makes.
func eapDecide(step *eapStep, method string, id eapIdentity) authResult {
	snap, c, p := step.snap, step.c, step.p
	r := authResult{method: method, identity: id.name}
	if sub := id.sub; sub != nil {
		r.member = sub.Member
		switch {
		case sub.State == StateClosed:
			r.out = outClosed
			return r
		case sub.State != StateActive:
			r.out = outSuspended
			return r
		case !sub.MembershipCurrent:
			r.out = outExpired
			return r
		case !kindAllowed(c.Kind, sub.Kind):
			r.out = outWrongNAS
			return r
		}
	}
	if c.Kind == ClientSwitch || id.isMAC {
		mac, macOK := id.mac, id.isMAC
		if !macOK {
			mac, macOK = requestMAC(p, nil)
		}
		d := switchDecision(snap, c, p, mac, macOK)
		d.method, d.identity = method, id.name
		if d.member == "" {
			d.member = r.member
		}
		return d
	}
	r.out = outAccept
	r.sub, r.admin = id.sub, id.admin
	return r
}
