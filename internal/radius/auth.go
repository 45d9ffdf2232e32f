package radius

import (
	"encoding/hex"
	"strconv"
	"time"
)

// outcome is the result of evaluating a request: a metrics label and, for
// a reject, the Reply-Message telling the subscriber (and the NAS log) why.
type outcome struct {
	label string
	msg   string
}

func (o outcome) accepted() bool { return o.msg == "" }

var (
	outAccept        = outcome{"accept", ""}
	outNoUser        = outcome{"no_user_name", "no User-Name"}
	outUnknownUser   = outcome{"unknown_user", "unknown user"}
	outWrongPassword = outcome{"wrong_password", "wrong password"}
	outNoCredentials = outcome{"no_credentials", "no supported authentication method"}
	outSuspended     = outcome{"suspended", "line suspended"}
	outClosed        = outcome{"closed", "subscription closed"}
	outExpired       = outcome{"expired", "no current membership"} // expired, none yet or not begun: the log says which
	outWrongNAS      = outcome{"wrong_nas", "subscription not valid on this access server"}
	outEAP           = outcome{"eap_unsupported", "EAP is not supported"}
	outNotAdmin      = outcome{"not_admin", "not an administrator"}
	outUnknownMAC    = outcome{"unknown_mac", "unknown MAC address"}
	outUnknownPort   = outcome{"unknown_port", "unknown switch port"}
	outPortClosed    = outcome{"port_closed", "switch port closed"}
	outNonMember     = outcome{"non_member", "not a current member"}
	outMemberSusp    = outcome{"member_suspended", "member suspended"}
	outNoMAC         = outcome{"no_mac", "no MAC address in request"}
	outStatus        = outcome{"status", ""}

	// Accepted into the operator's VLAN for a case the registry could not
	// settle (a captive portal, say): the label keeps the case visible.
	outUnknownMACVLAN  = outcome{"unknown_mac_vlan", ""}
	outUnknownPortVLAN = outcome{"unknown_port_vlan", ""}
	outNonMemberVLAN   = outcome{"non_member_vlan", ""}
	outMemberSuspVLAN  = outcome{"member_suspended_vlan", ""}
)

// Authentication methods, as logged.
const (
	methodNone     = "none"
	methodPAP      = "pap"
	methodCHAP     = "chap"
	methodMSCHAP   = "mschap"
	methodMSCHAPv2 = "mschapv2"
	methodMAC      = "mac"
)

// msState carries what an MS-CHAP verification learnt into the reply.
type msState struct {
	version    int // 0 none, 1 or 2
	ident      byte
	ntResponse [24]byte
	chHash     [8]byte
	authCh     [16]byte
	authChLen  int
}

// authResult describes one evaluated Access-Request for the reply encoder
// and the log line.
type authResult struct {
	out    outcome
	method string
	sub    *subEntry
	admin  *adminEntry
	vlan   string
	member string
	// identity is who EAP authenticated (inner identity, certificate
	// name), logged beside the outer User-Name.
	identity string
	eap      *eapReply // EAP-Message, State and keys of an EAP answer
	// statusAcct: a Status-Server on the accounting port, answered with
	// an Accounting-Response (RFC 5997 §3).
	statusAcct bool
}

// access evaluates an Access-Request. Credentials are checked before the
// account's state, so only someone holding the password learns that a line
// is suspended.
func (w *worker) access(snap *Snapshot, c *clientEntry, p *packet) authResult {
	var r authResult
	w.ms = msState{}
	r.method = methodNone
	if p.has(attrEAPMessage) {
		if w.s.eap == nil {
			r.out = outEAP
			return r
		}
		return w.eapAccess(snap, c, p)
	}
	name, ok := p.get(attrUserName)
	if !ok || len(name) == 0 {
		r.out = outNoUser
		return r
	}
	svc, _ := p.uint32(attrServiceType)
	if svc == serviceAdmin || svc == serviceNASPrompt {
		return w.adminLogin(snap, c, p, name)
	}
	if c.Kind == ClientSwitch {
		return w.macAuth(snap, c, p, name)
	}
	sub := snap.subscriber(name, c.Realm)
	if sub == nil {
		r.out = outUnknownUser
		return r
	}
	r.sub = sub
	r.member = sub.Member
	var good, present bool
	r.method, good, present = w.checkCredentials(p, c, sub.cred, name)
	switch {
	case !present:
		r.out = outNoCredentials
	case !good:
		r.out = outWrongPassword
	case sub.State == StateClosed:
		r.out = outClosed
	case sub.State != StateActive:
		r.out = outSuspended
	case !sub.MembershipCurrent:
		r.out = outExpired
	case !kindAllowed(c.Kind, sub.Kind):
		r.out = outWrongNAS
	default:
		r.out = outAccept
	}
	return r
}

// checkCredentials verifies whichever method the request carries; what
// MS-CHAP learns for the reply is left in w.ms.
func (w *worker) checkCredentials(p *packet, c *clientEntry, cred *credential, name []byte) (method string, good, present bool) {
	ms := &w.ms
	if v, ok := p.get(attrUserPassword); ok {
		pw, ok := w.c.decryptUserPassword(w.pw[:0], v, c.secret, p.auth())
		return methodPAP, ok && equal(pw, cred.pw), true
	}
	if v, ok := p.get(attrCHAPPassword); ok {
		if len(v) != 17 {
			return methodCHAP, false, true
		}
		challenge, ok := p.get(attrCHAPChallenge)
		if !ok {
			challenge = p.auth()
		}
		h := w.c.md5
		h.Reset()
		h.Write(v[:1])
		h.Write(cred.pw)
		h.Write(challenge)
		return methodCHAP, equal(h.Sum(w.c.sum[:0]), v[1:]), true
	}
	if resp, ok := p.vendor(vendorMicrosoft, msCHAP2Response); ok {
		challenge, ok := p.vendor(vendorMicrosoft, msCHAPChallenge)
		if !ok || len(challenge) != 16 || len(resp) != 50 {
			return methodMSCHAPv2, false, true
		}
		h := cred.hashes()
		ms.version = 2
		ms.ident = resp[0]
		copy(ms.ntResponse[:], resp[26:50])
		ms.authChLen = copy(ms.authCh[:], challenge)
		// The peer hashed the name it typed, which the NAS sends as
		// User-Name (RFC 2759 §4: the user name with any domain prefix
		// stripped, which challengeHash does).
		ms.chHash = challengeHash(resp[2:18], challenge, name)
		want := challengeResponse(ms.chHash[:], &h.nt)
		return methodMSCHAPv2, equal(want[:], resp[26:50]), true
	}
	if resp, ok := p.vendor(vendorMicrosoft, msCHAPResponse); ok {
		challenge, ok := p.vendor(vendorMicrosoft, msCHAPChallenge)
		if !ok || len(challenge) != 8 || len(resp) != 50 {
			return methodMSCHAP, false, true
		}
		h := cred.hashes()
		ms.version = 1
		ms.ident = resp[0]
		ms.authChLen = copy(ms.authCh[:], challenge)
		// Flags bit 0 set: the NT-Response is the one to use (RFC 2433 §A.1),
		// otherwise only the LM-Response is meaningful.
		if resp[1]&1 != 0 {
			want := challengeResponse(challenge, &h.nt)
			return methodMSCHAP, equal(want[:], resp[26:50]), true
		}
		want := challengeResponse(challenge, &h.lm)
		return methodMSCHAP, equal(want[:], resp[2:26]), true
	}
	return methodNone, false, false
}

func (w *worker) adminLogin(snap *Snapshot, c *clientEntry, p *packet, name []byte) authResult {
	var r authResult
	r.method = methodNone
	a := snap.admins[string(name)]
	if a == nil {
		r.out = outNotAdmin
		return r
	}
	r.admin = a
	var good, present bool
	r.method, good, present = w.checkCredentials(p, c, a.cred, name)
	switch {
	case !present:
		r.out = outNoCredentials
	case !good:
		r.out = outWrongPassword
	default:
		r.out = outAccept
	}
	return r
}

// macAuth answers a switch's MAC authentication (or the MAC part of its
// 802.1X): the port decides, or the device's MAC does, and each case the
// registry cannot settle maps to the operator's Decision.
func (w *worker) macAuth(snap *Snapshot, c *clientEntry, p *packet, name []byte) authResult {
	mac, macOK := requestMAC(p, name)
	return switchDecision(snap, c, p, mac, macOK)
}

// requestMAC is the device's MAC: Calling-Station-Id, else the User-Name.
func requestMAC(p *packet, name []byte) (mac [6]byte, ok bool) {
	if v, found := p.get(attrCallingStationID); found {
		mac, ok = parseMAC(v)
	}
	if !ok {
		mac, ok = parseMAC(name)
	}
	return mac, ok
}

// switchDecision is the VLAN decision for a device on a NAS: the port's
// room when the switch's port is in room mode, else the device's MAC entry.
// MAC authentication and 802.1X (EAP) share it.
func switchDecision(snap *Snapshot, c *clientEntry, p *packet, mac [6]byte, macOK bool) authResult {
	r := authResult{method: methodMAC}
	var acc *Access
	if ports := snap.ports[c.Name]; ports != nil {
		var port *PortEntry
		if v, ok := p.get(attrNASPortID); ok {
			port = ports[string(v)]
		} else if n, ok := p.uint32(attrNASPort); ok {
			var buf [10]byte
			port = ports[string(strconv.AppendUint(buf[:0], uint64(n), 10))]
		}
		switch {
		case port == nil:
			return decide(r, snap.policy.UnknownPort, outUnknownPort, outUnknownPortVLAN)
		case port.Mode == PortClosed:
			r.out = outPortClosed
			return r
		case port.Mode == PortByRoom:
			acc = &port.Access
		}
	}
	if acc == nil {
		if !macOK {
			r.out = outNoMAC
			return r
		}
		m := snap.macs[mac]
		if m == nil {
			return decide(r, snap.policy.UnknownMAC, outUnknownMAC, outUnknownMACVLAN)
		}
		acc = &m.Access
	}
	r.member = acc.Member
	switch acc.Status {
	case AccessOK:
		r.out = outAccept
		r.vlan = acc.VLAN
		return r
	case AccessSuspended:
		return decide(r, snap.policy.Suspended, outMemberSusp, outMemberSuspVLAN)
	default:
		return decide(r, snap.policy.NonMember, outNonMember, outNonMemberVLAN)
	}
}

func decide(r authResult, d Decision, reject, accept outcome) authResult {
	if d.Reject {
		r.out = reject
		return r
	}
	r.out = accept
	r.vlan = d.VLAN
	return r
}

// defaults that registry attributes may override.
var (
	keyServiceType    = stdKey(attrServiceType)
	keyFramedProtocol = stdKey(attrFramedProtocol)
	keyNetmask        = stdKey(attrFramedIPNetmask)
	keyPortLimit      = stdKey(attrPortLimit)
	keyMTU            = stdKey(attrFramedMTU)
	keyInterim        = stdKey(attrAcctInterimInterval)
	keySessionTimeout = stdKey(attrSessionTimeout)
	keyMPPEPolicy     = vendorKey(vendorMicrosoft, msMPPEEncryptionPolicy)
	keyMPPETypes      = vendorKey(vendorMicrosoft, msMPPEEncryptionTypes)
)

// encodeAccess writes the reply to an Access-Request: Message-Authenticator
// first (the BlastRADIUS advice), then the verdict's attributes, then every
// Proxy-State in the order received (RFC 2865 §5.33).
func (w *worker) encodeAccess(c *clientEntry, p *packet, r *authResult, now time.Time) []byte {
	code := CodeAccessReject
	switch {
	case r.statusAcct:
		code = CodeAccountingResponse
	case r.eap != nil && r.eap.challenge:
		code = CodeAccessChallenge
	case r.out.accepted():
		code = CodeAccessAccept
	}
	e := &w.enc
	e.reset(code, p.id, p.auth())
	ma := e.addMessageAuthenticator()
	if r.eap != nil {
		w.addEAP(e, c, p, r.eap)
	}
	if code == CodeAccessReject {
		e.addString(attrReplyMessage, r.out.msg)
		w.addMSCHAPError(e, &w.ms)
	} else if r.out != outStatus {
		switch {
		case r.sub != nil:
			w.addSubscriber(e, c, p, r, now)
		case r.admin != nil:
			svc, _ := p.uint32(attrServiceType)
			if !r.admin.reply.has(keyServiceType) {
				e.addUint32(attrServiceType, svc)
			}
			w.addMSCHAP(e, c, p, r, nil, nil)
			r.admin.reply.appendTo(e)
		case r.vlan != "": // MAC authentication or 802.1X on a switch
			// RFC 3580 §3.31: tagged Tunnel attributes, tag 0 here as the
			// switches expect.
			e.add(attrTunnelType, []byte{0, 0, 0, tunnelTypeVLAN})
			e.add(attrTunnelMediumType, []byte{0, 0, 0, tunnelMediumIEEE802})
			e.addString(attrTunnelPrivateGroupID, r.vlan)
		}
	}
	for _, a := range p.attrs {
		if a.typ == attrProxyState {
			e.add(attrProxyState, p.value(a))
		}
	}
	return e.finish(w.c, c.secret, ma)
}

func (w *worker) addSubscriber(e *encoder, c *clientEntry, p *packet, r *authResult, now time.Time) {
	sub := r.sub
	over := func(k uint64) bool { return sub.reply.has(k) || c.reply.has(k) }
	if sub.IPv4.Is4() {
		a := sub.IPv4.As4()
		e.add(attrFramedIPAddress, a[:])
		if !over(keyNetmask) {
			e.add(attrFramedIPNetmask, []byte{255, 255, 255, 255})
		}
	}
	var buf [18]byte
	if sub.IPv6.IsValid() && sub.IPv6.Addr().Is6() {
		e.add(attrFramedIPv6Prefix, appendIPv6Prefix(buf[:0], sub.IPv6))
	}
	if sub.DelegatedIPv6.IsValid() && sub.DelegatedIPv6.Addr().Is6() {
		e.add(attrDelegatedIPv6Prefix, appendIPv6Prefix(buf[:0], sub.DelegatedIPv6))
	}
	if !over(keyServiceType) {
		e.addUint32(attrServiceType, serviceFramed)
	}
	if sub.Kind == KindPPP && !over(keyFramedProtocol) {
		e.addUint32(attrFramedProtocol, framedProtocolPPP)
	}
	if !over(keyPortLimit) {
		e.addUint32(attrPortLimit, 1)
	}
	cfg := &w.s.cfg
	if cfg.FramedMTU > 0 && !over(keyMTU) {
		e.addUint32(attrFramedMTU, cfg.FramedMTU)
	}
	if cfg.InterimInterval > 0 && !over(keyInterim) {
		e.addUint32(attrAcctInterimInterval, cfg.InterimInterval)
	}
	if !cfg.NoSessionTimeout && !over(keySessionTimeout) {
		e.addUint32(attrSessionTimeout, secondsUntilBoundary(now, cfg.DayBoundary))
	}
	w.addMSCHAP(e, c, p, r, &sub.reply, &c.reply)
	c.reply.appendTo(e, &sub.reply)
	sub.reply.appendTo(e)
}

// addMSCHAP adds MS-CHAP's success data and MPPE keys (RFC 2548).
func (w *worker) addMSCHAP(e *encoder, c *clientEntry, p *packet, r *authResult, subReply, nasReply *encodedAttrs) {
	ms := &w.ms
	if ms.version == 0 {
		return
	}
	cred := r.admin.credOrNil()
	if r.sub != nil {
		cred = r.sub.cred
	}
	h := cred.hashes()
	tmp := &w.tmp
	switch ms.version {
	case 1:
		// LM key then the NT hash's hash: what FreeRADIUS sends and what
		// NASes use (RFC 2548 §2.4.1 says NT hash; in practice it is the
		// hash of it).
		var keys [24]byte
		copy(keys[:8], h.lm[:8])
		copy(keys[8:], h.ntnt[:])
		e.addVendor(vendorMicrosoft, msCHAPMPPEKeys, w.c.appendHidden(tmp[:0], keys[:], c.secret, p.auth()))
	case 2:
		var succ [43]byte
		succ[0] = ms.ident
		resp := authenticatorResponse(&h.ntnt, ms.ntResponse[:], ms.chHash)
		copy(succ[1:], resp[:])
		e.addVendor(vendorMicrosoft, msCHAP2Success, succ[:])
		send, recv := mppeKeys(&h.ntnt, ms.ntResponse[:])
		salt := uint16(w.rng.Uint32()) | 0x8000
		e.addVendor(vendorMicrosoft, msMPPESendKey, w.c.appendSalted(tmp[:0], salt, send[:], c.secret, p.auth()))
		e.addVendor(vendorMicrosoft, msMPPERecvKey, w.c.appendSalted(tmp[:0], salt^1, recv[:], c.secret, p.auth()))
	}
	overridden := func(k uint64) bool {
		return (subReply != nil && subReply.has(k)) || (nasReply != nil && nasReply.has(k))
	}
	cfg := &w.s.cfg
	if cfg.MPPEPolicy != 0 && !overridden(keyMPPEPolicy) {
		e.addVendorUint32(vendorMicrosoft, msMPPEEncryptionPolicy, cfg.MPPEPolicy)
	}
	if cfg.MPPETypes != 0 && !overridden(keyMPPETypes) {
		e.addVendorUint32(vendorMicrosoft, msMPPEEncryptionTypes, cfg.MPPETypes)
	}
}

func (a *adminEntry) credOrNil() *credential {
	if a == nil {
		return nil
	}
	return a.cred
}

// addMSCHAPError tells an MS-CHAP peer why it failed (RFC 2433 §A.3,
// RFC 2759 §6): 691 is "authentication failure", no retry.
func (w *worker) addMSCHAPError(e *encoder, ms *msState) {
	switch ms.version {
	case 1:
		var b [12]byte
		b[0] = ms.ident
		n := 1 + copy(b[1:], "E=691 R=0")
		e.addVendor(vendorMicrosoft, msCHAPError, b[:n])
	case 2:
		var b [64]byte
		b[0] = ms.ident
		n := 1 + copy(b[1:], "E=691 R=0 C=")
		n += hex.Encode(b[n:], ms.authCh[:ms.authChLen])
		for i := n - 2*ms.authChLen; i < n; i++ {
			if b[i] >= 'a' {
				b[i] -= 'a' - 'A'
			}
		}
		n += copy(b[n:], " V=3")
		e.addVendor(vendorMicrosoft, msCHAPError, b[:n])
	}
}

// secondsUntilBoundary is the Session-Timeout ending the session at the
// next daily boundary (midnight UTC plus offset), so that a day's usage is
// the sum of that day's sessions. Rounded down so the session never runs
// into the next day; at least 1 since 0 means "no limit" to some NASes.
func secondsUntilBoundary(now time.Time, offset time.Duration) uint32 {
	now = now.UTC()
	next := now.Truncate(24 * time.Hour).Add(offset)
	for !next.After(now) {
		next = next.Add(24 * time.Hour)
	}
	for next.Sub(now) > 24*time.Hour {
		next = next.Add(-24 * time.Hour)
	}
	s := uint32(next.Sub(now) / time.Second)
	if s == 0 {
		s = 1
	}
	return s
}
