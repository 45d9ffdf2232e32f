package radius

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"hash"
)

// Code is a RADIUS packet code (RFC 2865 §3, RFC 5176).
type Code byte

// Packet codes this server receives or sends.
const (
	CodeAccessRequest      Code = 1
	CodeAccessAccept       Code = 2
	CodeAccessReject       Code = 3
	CodeAccountingRequest  Code = 4
	CodeAccountingResponse Code = 5
	CodeAccessChallenge    Code = 11
	CodeStatusServer       Code = 12
	CodeDisconnectRequest  Code = 40
	CodeDisconnectACK      Code = 41
	CodeDisconnectNAK      Code = 42
	CodeCoARequest         Code = 43
	CodeCoAACK             Code = 44
	CodeCoANAK             Code = 45
)

func (c Code) String() string {
	switch c {
	case CodeAccessRequest:
		return "Access-Request"
	case CodeAccessAccept:
		return "Access-Accept"
	case CodeAccessReject:
		return "Access-Reject"
	case CodeAccountingRequest:
		return "Accounting-Request"
	case CodeAccountingResponse:
		return "Accounting-Response"
	case CodeAccessChallenge:
		return "Access-Challenge"
	case CodeStatusServer:
		return "Status-Server"
	case CodeDisconnectRequest:
		return "Disconnect-Request"
	case CodeDisconnectACK:
		return "Disconnect-ACK"
	case CodeDisconnectNAK:
		return "Disconnect-NAK"
	case CodeCoARequest:
		return "CoA-Request"
	case CodeCoAACK:
		return "CoA-ACK"
	case CodeCoANAK:
		return "CoA-NAK"
	}
	return "Unknown"
}

// Attribute types used by the server (RFC 2865, 2866, 2869, 3162, 3579,
// 4818, 2868).
const (
	attrUserName             = 1
	attrUserPassword         = 2
	attrCHAPPassword         = 3
	attrNASIPAddress         = 4
	attrNASPort              = 5
	attrServiceType          = 6
	attrFramedProtocol       = 7
	attrFramedIPAddress      = 8
	attrFramedIPNetmask      = 9
	attrFramedMTU            = 12
	attrReplyMessage         = 18
	attrClass                = 25
	attrVendorSpecific       = 26
	attrSessionTimeout       = 27
	attrCalledStationID      = 30
	attrCallingStationID     = 31
	attrNASIdentifier        = 32
	attrProxyState           = 33
	attrAcctStatusType       = 40
	attrAcctDelayTime        = 41
	attrAcctInputOctets      = 42
	attrAcctOutputOctets     = 43
	attrAcctSessionID        = 44
	attrAcctSessionTime      = 46
	attrAcctInputPackets     = 47
	attrAcctOutputPackets    = 48
	attrAcctTerminateCause   = 49
	attrAcctInputGigawords   = 52
	attrAcctOutputGigawords  = 53
	attrEventTimestamp       = 55
	attrCHAPChallenge        = 60
	attrPortLimit            = 62
	attrTunnelType           = 64
	attrTunnelMediumType     = 65
	attrEAPMessage           = 79
	attrMessageAuthenticator = 80
	attrTunnelPrivateGroupID = 81
	attrAcctInterimInterval  = 85
	attrNASPortID            = 87
	attrFramedIPv6Prefix     = 97
	attrDelegatedIPv6Prefix  = 123
)

// Service-Type values.
const (
	serviceFramed       = 2
	serviceAdmin        = 6
	serviceNASPrompt    = 7
	serviceCallCheck    = 10
	framedProtocolPPP   = 1
	tunnelTypeVLAN      = 13
	tunnelMediumIEEE802 = 6
)

// Microsoft vendor attributes (RFC 2548).
const (
	vendorMicrosoft        = 311
	msCHAPResponse         = 1
	msCHAPError            = 2
	msMPPEEncryptionPolicy = 7
	msMPPEEncryptionTypes  = 8
	msCHAPChallenge        = 11
	msCHAPMPPEKeys         = 12
	msMPPESendKey          = 16
	msMPPERecvKey          = 17
	msCHAP2Response        = 25
	msCHAP2Success         = 26
)

const (
	maxPacket = 4096
	headerLen = 20
)

var (
	errShort       = errors.New("radius: packet shorter than its header")
	errLength      = errors.New("radius: invalid packet length field")
	errAttrLength  = errors.New("radius: invalid attribute length")
	errTooManyAttr = errors.New("radius: too many attributes")
)

// attrRef locates one attribute's value inside packet.raw.
type attrRef struct {
	typ byte
	n   uint8
	off uint16
}

// packet is a parsed view over a receive buffer; it owns no memory of its
// own beyond the reusable attrs slice, so a worker parses with no allocation.
type packet struct {
	raw   []byte
	code  Code
	id    byte
	attrs []attrRef
}

func (p *packet) auth() []byte { return p.raw[4:20] }

// parse validates the header and every attribute length (RFC 2865 §3, §5):
// a packet with a malformed attribute is discarded whole.
func (p *packet) parse(b []byte) error {
	p.attrs = p.attrs[:0]
	if len(b) < headerLen {
		return errShort
	}
	length := int(binary.BigEndian.Uint16(b[2:4]))
	if length < headerLen || length > maxPacket || length > len(b) {
		return errLength
	}
	p.raw = b[:length] // octets past Length are padding (RFC 2865 §3)
	p.code = Code(b[0])
	p.id = b[1]
	for off := headerLen; off < length; {
		if length-off < 2 {
			return errAttrLength
		}
		n := int(b[off+1])
		if n < 2 || off+n > length {
			return errAttrLength
		}
		if len(p.attrs) == cap(p.attrs) && len(p.attrs) >= 1024 {
			return errTooManyAttr
		}
		p.attrs = append(p.attrs, attrRef{typ: b[off], n: uint8(n - 2), off: uint16(off + 2)})
		off += n
	}
	return nil
}

func (p *packet) value(a attrRef) []byte { return p.raw[a.off : int(a.off)+int(a.n)] }

// get returns the first attribute of type t.
func (p *packet) get(t byte) ([]byte, bool) {
	for _, a := range p.attrs {
		if a.typ == t {
			return p.value(a), true
		}
	}
	return nil, false
}

func (p *packet) has(t byte) bool {
	_, ok := p.get(t)
	return ok
}

func (p *packet) uint32(t byte) (uint32, bool) {
	v, ok := p.get(t)
	if !ok || len(v) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(v), true
}

// vendor returns the first vendor-specific sub-attribute (RFC 2865 §5.26,
// one or more type/length/value triplets after the vendor id).
func (p *packet) vendor(vendorID uint32, vt byte) ([]byte, bool) {
	for _, a := range p.attrs {
		if a.typ != attrVendorSpecific || a.n < 6 {
			continue
		}
		v := p.value(a)
		if binary.BigEndian.Uint32(v) != vendorID {
			continue
		}
		for s := v[4:]; len(s) >= 2; {
			n := int(s[1])
			if n < 2 || n > len(s) {
				break
			}
			if s[0] == vt {
				return s[2:n], true
			}
			s = s[n:]
		}
	}
	return nil, false
}

// encoder writes a reply into a reusable buffer.
type encoder struct {
	b        []byte
	overflow bool
}

func (e *encoder) reset(code Code, id byte, reqAuth []byte) {
	if cap(e.b) < maxPacket {
		e.b = make([]byte, 0, maxPacket)
	}
	e.b = e.b[:headerLen]
	e.b[0] = byte(code)
	e.b[1] = id
	copy(e.b[4:20], reqAuth)
	e.overflow = false
}

func (e *encoder) room(n int) bool {
	if len(e.b)+n > maxPacket {
		e.overflow = true
		return false
	}
	return true
}

// add appends one attribute; values longer than 253 octets are truncated,
// which only Reply-Message could hit and is harmless there.
func (e *encoder) add(t byte, v []byte) {
	if len(v) > 253 {
		v = v[:253]
	}
	if !e.room(2 + len(v)) {
		return
	}
	e.b = append(e.b, t, byte(2+len(v)))
	e.b = append(e.b, v...)
}

func (e *encoder) addString(t byte, s string) {
	if len(s) > 253 {
		s = s[:253]
	}
	if !e.room(2 + len(s)) {
		return
	}
	e.b = append(e.b, t, byte(2+len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) addUint32(t byte, v uint32) {
	if !e.room(6) {
		return
	}
	e.b = append(e.b, t, 6)
	e.b = binary.BigEndian.AppendUint32(e.b, v)
}

// addVendor appends a Vendor-Specific attribute holding one sub-attribute.
func (e *encoder) addVendor(vendorID uint32, vt byte, v []byte) {
	if len(v) > 247 {
		v = v[:247]
	}
	if !e.room(8 + len(v)) {
		return
	}
	e.b = append(e.b, attrVendorSpecific, byte(8+len(v)))
	e.b = binary.BigEndian.AppendUint32(e.b, vendorID)
	e.b = append(e.b, vt, byte(2+len(v)))
	e.b = append(e.b, v...)
}

func (e *encoder) addVendorUint32(vendorID uint32, vt byte, v uint32) {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	e.addVendor(vendorID, vt, b[:])
}

// addMessageAuthenticator reserves a zeroed Message-Authenticator and
// returns its value offset for finish.
func (e *encoder) addMessageAuthenticator() int {
	if !e.room(18) {
		return -1
	}
	e.b = append(e.b, attrMessageAuthenticator, 18)
	off := len(e.b)
	e.b = append(e.b, make([]byte, 16)...)
	return off
}

// crypt holds per-worker hashing state so signing and verifying allocate
// nothing.
type crypt struct {
	md5  hash.Hash
	sum  [16]byte
	sum2 [16]byte
	key  [16]byte
	pad  [64]byte
}

func newCrypt() *crypt { return &crypt{md5: md5.New()} }

// hmacMD5 computes HMAC-MD5(key, msg) (RFC 2104) into c.sum.
func (c *crypt) hmacMD5(key, msg []byte) []byte {
	if len(key) > 64 {
		c.md5.Reset()
		c.md5.Write(key)
		key = c.md5.Sum(c.key[:0])
	}
	for i := range c.pad {
		c.pad[i] = 0x36
	}
	for i, b := range key {
		c.pad[i] ^= b
	}
	c.md5.Reset()
	c.md5.Write(c.pad[:])
	c.md5.Write(msg)
	c.md5.Sum(c.sum2[:0])
	for i := range c.pad {
		c.pad[i] = 0x5c
	}
	for i, b := range key {
		c.pad[i] ^= b
	}
	c.md5.Reset()
	c.md5.Write(c.pad[:])
	c.md5.Write(c.sum2[:])
	return c.md5.Sum(c.sum[:0])
}

// finish sets the length, fills Message-Authenticator (if maOff >= 0) and
// the Response Authenticator (RFC 2865 §3, RFC 3579 §3.2). The header's
// authenticator must hold the request authenticator when called.
func (e *encoder) finish(c *crypt, secret []byte, maOff int) []byte {
	binary.BigEndian.PutUint16(e.b[2:4], uint16(len(e.b)))
	if maOff >= 0 {
		copy(e.b[maOff:maOff+16], c.hmacMD5(secret, e.b))
	}
	c.md5.Reset()
	c.md5.Write(e.b)
	c.md5.Write(secret)
	c.md5.Sum(e.b[4:4])
	return e.b
}

// verifyMessageAuthenticator checks the Message-Authenticator at value
// offset off (RFC 3579 §3.2). zeroAuth is set for packets whose
// authenticator is itself a signature (accounting, CoA), which are signed
// with a zeroed authenticator field. The packet is restored afterwards.
func (c *crypt) verifyMessageAuthenticator(raw []byte, off int, secret []byte, zeroAuth bool) bool {
	if off+16 > len(raw) {
		return false
	}
	var got, auth [16]byte
	copy(got[:], raw[off:off+16])
	clear(raw[off : off+16])
	if zeroAuth {
		copy(auth[:], raw[4:20])
		clear(raw[4:20])
	}
	sum := c.hmacMD5(secret, raw)
	ok := subtle.ConstantTimeCompare(sum, got[:]) == 1
	copy(raw[off:off+16], got[:])
	if zeroAuth {
		copy(raw[4:20], auth[:])
	}
	return ok
}

// verifyRequestAuthenticator checks an Accounting-Request's authenticator:
// MD5(Code|Id|Length|16 zero octets|Attributes|Secret) (RFC 2866 §3).
func (c *crypt) verifyRequestAuthenticator(raw []byte, secret []byte) bool {
	var zero [16]byte
	c.md5.Reset()
	c.md5.Write(raw[:4])
	c.md5.Write(zero[:])
	c.md5.Write(raw[20:])
	c.md5.Write(secret)
	sum := c.md5.Sum(c.sum[:0])
	return subtle.ConstantTimeCompare(sum, raw[4:20]) == 1
}

// decryptUserPassword reverses RFC 2865 §5.2 hiding into dst and strips the
// NUL padding.
func (c *crypt) decryptUserPassword(dst, v, secret, reqAuth []byte) ([]byte, bool) {
	if len(v) < 16 || len(v) > 128 || len(v)%16 != 0 {
		return nil, false
	}
	dst = dst[:0]
	prev := reqAuth
	for i := 0; i < len(v); i += 16 {
		c.md5.Reset()
		c.md5.Write(secret)
		c.md5.Write(prev)
		b := c.md5.Sum(c.sum[:0])
		for j := 0; j < 16; j++ {
			dst = append(dst, v[i+j]^b[j])
		}
		prev = v[i : i+16]
	}
	for len(dst) > 0 && dst[len(dst)-1] == 0 {
		dst = dst[:len(dst)-1]
	}
	return dst, true
}

// appendHidden appends the RFC 2865 §5.2 hiding of plain (padded to 16
// octets) to dst; MS-CHAP-MPPE-Keys uses it too (FreeRADIUS encrypt=1).
func (c *crypt) appendHidden(dst, plain, secret, reqAuth []byte) []byte {
	start := len(dst)
	n := (len(plain) + 15) / 16 * 16
	if n == 0 {
		n = 16
	}
	dst = append(dst, plain...)
	for len(dst)-start < n {
		dst = append(dst, 0)
	}
	prev := reqAuth
	for i := start; i < start+n; i += 16 {
		c.md5.Reset()
		c.md5.Write(secret)
		c.md5.Write(prev)
		b := c.md5.Sum(c.sum[:0])
		for j := 0; j < 16; j++ {
			dst[i+j] ^= b[j]
		}
		prev = dst[i : i+16]
	}
	return dst
}

// appendSalted appends the RFC 2548 §2.4.2 salt encryption of key
// (MS-MPPE-Send-Key, MS-MPPE-Recv-Key): salt, then key length, key and
// padding XORed with an MD5 chain seeded by the request authenticator.
func (c *crypt) appendSalted(dst []byte, salt uint16, key, secret, reqAuth []byte) []byte {
	dst = append(dst, byte(salt>>8)|0x80, byte(salt))
	start := len(dst)
	dst = append(dst, byte(len(key)))
	dst = append(dst, key...)
	for (len(dst)-start)%16 != 0 {
		dst = append(dst, 0)
	}
	for i := start; i < len(dst); i += 16 {
		c.md5.Reset()
		c.md5.Write(secret)
		if i == start {
			c.md5.Write(reqAuth)
			c.md5.Write(dst[start-2 : start])
		} else {
			c.md5.Write(dst[i-16 : i])
		}
		b := c.md5.Sum(c.sum[:0])
		for j := 0; j < 16; j++ {
			dst[i+j] ^= b[j]
		}
	}
	return dst
}
