package radius

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Attr is one reply attribute configured in the registry (per offer,
// subscription or NAS). Vendor 0 means a standard attribute of Type; with a
// Vendor it is a Vendor-Specific attribute carrying VendorType.
type Attr struct {
	Type       byte
	Vendor     uint32
	VendorType byte
	Value      []byte
}

// StringAttr returns a standard attribute with a text value.
func StringAttr(t byte, s string) Attr { return Attr{Type: t, Value: []byte(s)} }

// Uint32Attr returns a standard attribute with an integer value.
func Uint32Attr(t byte, v uint32) Attr {
	return Attr{Type: t, Value: binary.BigEndian.AppendUint32(nil, v)}
}

// VendorAttr returns a Vendor-Specific attribute.
func VendorAttr(vendor uint32, vt byte, v []byte) Attr {
	return Attr{Type: attrVendorSpecific, Vendor: vendor, VendorType: vt, Value: v}
}

type attrKind uint8

const (
	kindString attrKind = iota
	kindOctets
	kindInteger
	kindIPv4
	kindIPv6Prefix
)

type dictEntry struct {
	typ    byte
	vendor uint32
	vt     byte
	kind   attrKind
}

// dictionary names the attributes an operator is likely to configure as
// extra reply attributes; others can be given as "26:VENDOR:TYPE" or
// "TYPE" with a 0x-prefixed octet value.
var dictionary = map[string]dictEntry{
	"reply-message":             {typ: attrReplyMessage},
	"filter-id":                 {typ: 11},
	"framed-mtu":                {typ: attrFramedMTU, kind: kindInteger},
	"framed-ip-netmask":         {typ: attrFramedIPNetmask, kind: kindIPv4},
	"framed-route":              {typ: 22},
	"framed-pool":               {typ: 88},
	"framed-ipv6-route":         {typ: 99},
	"framed-ipv6-pool":          {typ: 100},
	"class":                     {typ: attrClass, kind: kindOctets},
	"session-timeout":           {typ: attrSessionTimeout, kind: kindInteger},
	"idle-timeout":              {typ: 28, kind: kindInteger},
	"acct-interim-interval":     {typ: attrAcctInterimInterval, kind: kindInteger},
	"port-limit":                {typ: attrPortLimit, kind: kindInteger},
	"service-type":              {typ: attrServiceType, kind: kindInteger},
	"framed-protocol":           {typ: attrFramedProtocol, kind: kindInteger},
	"framed-ipv6-prefix":        {typ: attrFramedIPv6Prefix, kind: kindIPv6Prefix},
	"delegated-ipv6-prefix":     {typ: attrDelegatedIPv6Prefix, kind: kindIPv6Prefix},
	"tunnel-private-group-id":   {typ: attrTunnelPrivateGroupID},
	"mikrotik-recv-limit":       {typ: attrVendorSpecific, vendor: 14988, vt: 1, kind: kindInteger},
	"mikrotik-xmit-limit":       {typ: attrVendorSpecific, vendor: 14988, vt: 2, kind: kindInteger},
	"mikrotik-group":            {typ: attrVendorSpecific, vendor: 14988, vt: 3},
	"mikrotik-rate-limit":       {typ: attrVendorSpecific, vendor: 14988, vt: 8},
	"mikrotik-realm":            {typ: attrVendorSpecific, vendor: 14988, vt: 9},
	"mikrotik-address-list":     {typ: attrVendorSpecific, vendor: 14988, vt: 19},
	"cisco-avpair":              {typ: attrVendorSpecific, vendor: 9, vt: 1},
	"ms-mppe-encryption-policy": {typ: attrVendorSpecific, vendor: vendorMicrosoft, vt: msMPPEEncryptionPolicy, kind: kindInteger},
	"ms-mppe-encryption-types":  {typ: attrVendorSpecific, vendor: vendorMicrosoft, vt: msMPPEEncryptionTypes, kind: kindInteger},
	"hp-privilege-level":        {typ: attrVendorSpecific, vendor: 11, vt: 1, kind: kindInteger},
}

// ParseAttr turns a configured "name = value" pair into an Attr. name is a
// known attribute name (case-insensitive, e.g. Mikrotik-Rate-Limit,
// Framed-MTU), a decimal type ("11"), or "26:VENDOR:TYPE" for any
// vendor-specific attribute. A value starting with 0x is taken as hex
// octets; otherwise it is encoded per the attribute's type (text when the
// attribute is unknown).
func ParseAttr(name, value string) (Attr, error) {
	e, ok := dictionary[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		var err error
		e, err = parseNumericName(name)
		if err != nil {
			return Attr{}, err
		}
	}
	var v []byte
	switch {
	case strings.HasPrefix(value, "0x"):
		b, err := hexDecode(value[2:])
		if err != nil {
			return Attr{}, fmt.Errorf("radius: attribute %s: %w", name, err)
		}
		v = b
	case e.kind == kindInteger:
		n, err := strconv.ParseUint(value, 10, 32)
		if err != nil {
			return Attr{}, fmt.Errorf("radius: attribute %s wants an integer: %w", name, err)
		}
		v = binary.BigEndian.AppendUint32(nil, uint32(n))
	case e.kind == kindIPv4:
		a, err := netip.ParseAddr(value)
		if err != nil || !a.Is4() {
			return Attr{}, fmt.Errorf("radius: attribute %s wants an IPv4 address, got %q", name, value)
		}
		b := a.As4()
		v = b[:]
	case e.kind == kindIPv6Prefix:
		p, err := netip.ParsePrefix(value)
		if err != nil || !p.Addr().Is6() {
			return Attr{}, fmt.Errorf("radius: attribute %s wants an IPv6 prefix, got %q", name, value)
		}
		v = appendIPv6Prefix(nil, p)
	default:
		v = []byte(value)
	}
	if len(v) > 247 {
		return Attr{}, fmt.Errorf("radius: attribute %s: value of %d octets is too long", name, len(v))
	}
	return Attr{Type: e.typ, Vendor: e.vendor, VendorType: e.vt, Value: v}, nil
}

func parseNumericName(name string) (dictEntry, error) {
	parts := strings.Split(strings.TrimSpace(name), ":")
	bad := fmt.Errorf("radius: unknown attribute %q (use a known name, TYPE or 26:VENDOR:TYPE)", name)
	switch len(parts) {
	case 1:
		t, err := strconv.ParseUint(parts[0], 10, 8)
		if err != nil || t == 0 || t == attrVendorSpecific {
			return dictEntry{}, bad
		}
		return dictEntry{typ: byte(t)}, nil
	case 3:
		if parts[0] != "26" {
			return dictEntry{}, bad
		}
		vendor, err1 := strconv.ParseUint(parts[1], 10, 32)
		vt, err2 := strconv.ParseUint(parts[2], 10, 8)
		if err1 != nil || err2 != nil || vendor == 0 {
			return dictEntry{}, bad
		}
		return dictEntry{typ: attrVendorSpecific, vendor: uint32(vendor), vt: byte(vt)}, nil
	}
	return dictEntry{}, bad
}

func hexDecode(s string) ([]byte, error) {
	if len(s)%2 != 0 {
		return nil, fmt.Errorf("odd number of hex digits")
	}
	out := make([]byte, len(s)/2)
	for i := range out {
		n, err := strconv.ParseUint(s[2*i:2*i+2], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("bad hex %q", s[2*i:2*i+2])
		}
		out[i] = byte(n)
	}
	return out, nil
}

// appendIPv6Prefix encodes RFC 3162 §2.3 Framed-IPv6-Prefix (and RFC 4818
// Delegated-IPv6-Prefix): reserved octet, prefix length, and only the
// octets the length covers.
func appendIPv6Prefix(dst []byte, p netip.Prefix) []byte {
	p = p.Masked()
	a := p.Addr().As16()
	dst = append(dst, 0, byte(p.Bits()))
	return append(dst, a[:(p.Bits()+7)/8]...)
}

// key identifies an attribute for override decisions.
func (a Attr) key() uint64 {
	return uint64(a.Type)<<40 | uint64(a.Vendor)<<8 | uint64(a.VendorType)
}

func stdKey(t byte) uint64 { return uint64(t) << 40 }

func vendorKey(vendor uint32, vt byte) uint64 {
	return uint64(attrVendorSpecific)<<40 | uint64(vendor)<<8 | uint64(vt)
}

// encodedAttrs is a list of reply attributes already in wire form, with the
// keys they carry so that a more specific list can override a general one.
type encodedAttrs struct {
	wire []byte
	keys []uint64
	offs []int // start of each attribute in wire, aligned with keys
}

func encodeAttrs(attrs []Attr) (encodedAttrs, error) {
	var e encodedAttrs
	for _, a := range attrs {
		if a.Type == 0 {
			return encodedAttrs{}, fmt.Errorf("radius: attribute type 0")
		}
		e.offs = append(e.offs, len(e.wire))
		e.keys = append(e.keys, a.key())
		if a.Type == attrVendorSpecific && a.Vendor != 0 {
			if len(a.Value) > 247 {
				return encodedAttrs{}, fmt.Errorf("radius: vendor %d attribute %d: value too long", a.Vendor, a.VendorType)
			}
			e.wire = append(e.wire, attrVendorSpecific, byte(8+len(a.Value)))
			e.wire = binary.BigEndian.AppendUint32(e.wire, a.Vendor)
			e.wire = append(e.wire, a.VendorType, byte(2+len(a.Value)))
			e.wire = append(e.wire, a.Value...)
			continue
		}
		if len(a.Value) > 253 {
			return encodedAttrs{}, fmt.Errorf("radius: attribute %d: value too long", a.Type)
		}
		e.wire = append(e.wire, a.Type, byte(2+len(a.Value)))
		e.wire = append(e.wire, a.Value...)
	}
	return e, nil
}

func (e *encodedAttrs) has(k uint64) bool {
	for _, x := range e.keys {
		if x == k {
			return true
		}
	}
	return false
}

// appendTo appends the attributes whose key none of the overriding lists
// carry.
func (e *encodedAttrs) appendTo(enc *encoder, over ...*encodedAttrs) {
	for i, k := range e.keys {
		skip := false
		for _, o := range over {
			if o != nil && o.has(k) {
				skip = true
				break
			}
		}
		if skip {
			continue
		}
		end := len(e.wire)
		if i+1 < len(e.offs) {
			end = e.offs[i+1]
		}
		a := e.wire[e.offs[i]:end]
		if !enc.room(len(a)) {
			return
		}
		enc.b = append(enc.b, a...)
	}
}
