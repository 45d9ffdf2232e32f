package radius

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// SubscriptionKind is what a subscription gives access to.
type SubscriptionKind string

// Subscription kinds.
const (
	KindPPP      SubscriptionKind = "ppp"
	KindVPN      SubscriptionKind = "vpn"
	KindRoomPort SubscriptionKind = "room-port"
	KindVM       SubscriptionKind = "vm"
)

// SubscriptionState is the administrative state of a subscription.
type SubscriptionState string

// Subscription states.
const (
	StateActive    SubscriptionState = "active"
	StateSuspended SubscriptionState = "suspended"
	StateClosed    SubscriptionState = "closed"
)

// Subscriber is one subscription's RADIUS account, as the registry knows it.
type Subscriber struct {
	Login        string // as stored, e.g. "p1f9bd1@NEUTRINET" or "demo1@DEMO"
	Password     string // cleartext (PAP, CHAP and MS-CHAP need it)
	Member       string // member reference, for logs and accounting
	Subscription string // subscription reference, for logs and accounting
	Kind         SubscriptionKind
	State        SubscriptionState
	// MembershipCurrent is false when the member has no membership period
	// covering today; MembershipReason then says why (logged, not sent).
	MembershipCurrent bool
	MembershipReason  string
	IPv4              netip.Addr   // Framed-IP-Address (a /32)
	IPv6              netip.Prefix // Framed-IPv6-Prefix (the /64)
	DelegatedIPv6     netip.Prefix // Delegated-IPv6-Prefix
	Circuit           string       // upstream reference / circuit id
	// Reply holds the offer's and subscription's extra attributes; one with
	// the same type as a default (Framed-MTU, Session-Timeout, ...)
	// replaces it, and it wins over the NAS's extras of the same type.
	Reply []Attr
}

// ClientKind is what a NAS is.
type ClientKind string

// NAS kinds.
const (
	ClientBRAS    ClientKind = "bras"
	ClientLAC     ClientKind = "lac"
	ClientOpenVPN ClientKind = "openvpn"
	ClientSwitch  ClientKind = "switch"
	ClientOther   ClientKind = "other"
)

// MAPolicy says whether a NAS must sign its Access-Requests with
// Message-Authenticator (the BlastRADIUS mitigation, CVE-2024-3596).
type MAPolicy string

// Message-Authenticator policies. The zero value is MARequire: a NAS added
// without thought gets the safe behaviour.
const (
	MARequire MAPolicy = "yes"
	MANever   MAPolicy = "no"   // not required (still verified when present)
	MAAuto    MAPolicy = "auto" // required once the NAS has sent one
)

// RealmMode says how the realm of "user@REALM" is used to find the login.
type RealmMode string

// Realm modes.
const (
	// RealmKeep looks the User-Name up as received (the zero value).
	RealmKeep RealmMode = "keep"
	// RealmStrip removes "@REALM" and looks the user part up, first as a
	// login, then as the user part of a stored "user@REALM" login.
	RealmStrip RealmMode = "strip"
)

// Client is a NAS allowed to send requests.
type Client struct {
	Name                 string
	Prefix               netip.Prefix // one address (/32, /128) or a range
	Secret               string
	Kind                 ClientKind
	MessageAuthenticator MAPolicy
	Realm                RealmMode
	Reply                []Attr // extra attributes in every subscriber Accept
	// CoAPort is where the NAS listens for Disconnect and CoA requests
	// (RFC 5176); 0 means 3799.
	CoAPort uint16
}

// Admin is an administrator whose role allows device administration logins
// (Service-Type Administrative-User or NAS-Prompt-User).
type Admin struct {
	Login    string
	Password string
	Reply    []Attr // e.g. a privilege level
}

// AccessStatus is what the registry says about the member behind a switch
// port or a MAC address.
type AccessStatus string

// Access statuses.
const (
	AccessOK        AccessStatus = "ok"
	AccessNonMember AccessStatus = "non-member"
	AccessSuspended AccessStatus = "suspended"
)

// Access is the outcome the registry computed for a port or a MAC.
type Access struct {
	Member string
	VLAN   string // Tunnel-Private-Group-Id; empty leaves the port's default
	Status AccessStatus
}

// MACEntry binds a device MAC address (any common notation) to its member.
type MACEntry struct {
	MAC string
	Access
}

// PortMode says what decides a switch port's VLAN.
type PortMode string

// Port modes.
const (
	PortByMAC  PortMode = "mac"  // the device's MAC (MACEntry)
	PortByRoom PortMode = "room" // the port's own Access (room → member)
	PortClosed PortMode = "closed"
)

// PortEntry describes one switch port. Port is the NAS-Port-Id the switch
// sends, or the decimal NAS-Port when it sends no NAS-Port-Id.
type PortEntry struct {
	Switch string // Client.Name of the switch
	Port   string
	Mode   PortMode
	Access Access // for PortByRoom
}

// Decision is what to answer in a case the registry cannot settle: reject,
// or accept into a named VLAN.
type Decision struct {
	Reject bool
	VLAN   string
}

// SwitchPolicy maps each unsettled switch case to a Decision (re2o's
// RadiusOption).
type SwitchPolicy struct {
	UnknownMAC  Decision
	UnknownPort Decision
	NonMember   Decision
	Suspended   Decision
}

// SnapshotInput is everything the server needs from the registry.
type SnapshotInput struct {
	Subscribers []Subscriber
	Clients     []Client
	Admins      []Admin
	MACs        []MACEntry
	Ports       []PortEntry
	Switch      SwitchPolicy
}

type subEntry struct {
	Subscriber
	cred  *credential
	reply encodedAttrs
}

type clientEntry struct {
	Client
	secret []byte
	reply  encodedAttrs
}

type adminEntry struct {
	Admin
	cred  *credential
	reply encodedAttrs
}

type prefixGroup struct {
	bits int
	m    map[netip.Prefix]*clientEntry
}

// Snapshot is an immutable index of SnapshotInput: every lookup on the
// request path is a map access. Build it with NewSnapshot.
type Snapshot struct {
	subs     map[string]*subEntry
	subsFold map[string]*subEntry // login with a lower-cased realm
	byLocal  map[string]*subEntry // user part of "user@REALM"; nil when ambiguous
	clients  map[netip.Addr]*clientEntry
	byName   map[string]*clientEntry
	prefixes []prefixGroup // longest prefix first
	admins   map[string]*adminEntry
	macs     map[[6]byte]*MACEntry
	ports    map[string]map[string]*PortEntry // switch → port
	policy   SwitchPolicy
	nSubs    int
	nClients int
}

// NewSnapshot indexes in. It always returns a usable snapshot: entries that
// cannot be used (duplicate login, client without secret, bad MAC, ...) are
// left out and reported together in the error, so one bad row never takes
// every subscriber down.
func NewSnapshot(in SnapshotInput) (*Snapshot, error) {
	s := &Snapshot{
		subs:     make(map[string]*subEntry, len(in.Subscribers)),
		subsFold: make(map[string]*subEntry),
		byLocal:  make(map[string]*subEntry, len(in.Subscribers)),
		clients:  make(map[netip.Addr]*clientEntry, len(in.Clients)),
		byName:   make(map[string]*clientEntry, len(in.Clients)),
		admins:   make(map[string]*adminEntry, len(in.Admins)),
		macs:     make(map[[6]byte]*MACEntry, len(in.MACs)),
		ports:    make(map[string]map[string]*PortEntry),
		policy:   in.Switch,
	}
	var errs []error
	for i := range in.Subscribers {
		sub := in.Subscribers[i]
		if sub.Login == "" {
			errs = append(errs, fmt.Errorf("subscriber %d (%s): empty login", i, sub.Subscription))
			continue
		}
		if _, dup := s.subs[sub.Login]; dup {
			errs = append(errs, fmt.Errorf("subscriber %q: duplicate login, second one ignored", sub.Login))
			continue
		}
		reply, err := encodeAttrs(sub.Reply)
		if err != nil {
			errs = append(errs, fmt.Errorf("subscriber %q: %w", sub.Login, err))
			continue
		}
		e := &subEntry{Subscriber: sub, cred: newCredential(sub.Password), reply: reply}
		s.subs[sub.Login] = e
		s.nSubs++
		if local, realm, ok := splitRealm(sub.Login); ok {
			if folded := local + "@" + strings.ToLower(realm); folded != sub.Login {
				s.subsFold[folded] = e
			}
			if prev, seen := s.byLocal[local]; seen && prev != e {
				s.byLocal[local] = nil
			} else if !seen {
				s.byLocal[local] = e
			}
		}
	}
	groups := map[int]map[netip.Prefix]*clientEntry{}
	for i := range in.Clients {
		c := in.Clients[i]
		if !c.Prefix.IsValid() {
			errs = append(errs, fmt.Errorf("client %q: no address", c.Name))
			continue
		}
		if c.Secret == "" {
			errs = append(errs, fmt.Errorf("client %q: empty shared secret", c.Name))
			continue
		}
		switch c.MessageAuthenticator {
		case "":
			c.MessageAuthenticator = MARequire
		case MARequire, MANever, MAAuto:
		default:
			errs = append(errs, fmt.Errorf("client %q: Message-Authenticator policy %q is not yes, no or auto", c.Name, c.MessageAuthenticator))
			continue
		}
		switch c.Realm {
		case "":
			c.Realm = RealmKeep
		case RealmKeep, RealmStrip:
		default:
			errs = append(errs, fmt.Errorf("client %q: realm mode %q is not keep or strip", c.Name, c.Realm))
			continue
		}
		if c.Kind == "" {
			c.Kind = ClientOther
		}
		reply, err := encodeAttrs(c.Reply)
		if err != nil {
			errs = append(errs, fmt.Errorf("client %q: %w", c.Name, err))
			continue
		}
		p := c.Prefix
		if p.Addr().Is4In6() {
			// Sources are unmapped before lookup; so are the clients.
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		if !p.IsValid() {
			errs = append(errs, fmt.Errorf("client %q: prefix %s is not usable", c.Name, c.Prefix))
			continue
		}
		p = p.Masked()
		e := &clientEntry{Client: c, secret: []byte(c.Secret), reply: reply}
		if p.IsSingleIP() {
			if _, dup := s.clients[p.Addr()]; dup {
				errs = append(errs, fmt.Errorf("client %q: address %s already belongs to another client", c.Name, p.Addr()))
				continue
			}
			s.clients[p.Addr()] = e
		} else {
			g := groups[p.Bits()]
			if g == nil {
				g = map[netip.Prefix]*clientEntry{}
				groups[p.Bits()] = g
			}
			if _, dup := g[p]; dup {
				errs = append(errs, fmt.Errorf("client %q: prefix %s already belongs to another client", c.Name, p))
				continue
			}
			g[p] = e
		}
		s.nClients++
		s.byName[c.Name] = e
	}
	for bits, m := range groups {
		s.prefixes = append(s.prefixes, prefixGroup{bits: bits, m: m})
	}
	slices.SortFunc(s.prefixes, func(a, b prefixGroup) int { return b.bits - a.bits })
	for i := range in.Admins {
		a := in.Admins[i]
		if a.Login == "" || a.Password == "" {
			errs = append(errs, fmt.Errorf("admin %d (%q): empty login or password", i, a.Login))
			continue
		}
		reply, err := encodeAttrs(a.Reply)
		if err != nil {
			errs = append(errs, fmt.Errorf("admin %q: %w", a.Login, err))
			continue
		}
		s.admins[a.Login] = &adminEntry{Admin: a, cred: newCredential(a.Password), reply: reply}
	}
	for i := range in.MACs {
		m := in.MACs[i]
		mac, ok := parseMAC([]byte(m.MAC))
		if !ok {
			errs = append(errs, fmt.Errorf("MAC entry %d: %q is not a MAC address", i, m.MAC))
			continue
		}
		s.macs[mac] = &m
	}
	for i := range in.Ports {
		p := in.Ports[i]
		switch p.Mode {
		case PortByMAC, PortByRoom, PortClosed:
		default:
			errs = append(errs, fmt.Errorf("port %s/%s: mode %q is not mac, room or closed", p.Switch, p.Port, p.Mode))
			continue
		}
		m := s.ports[p.Switch]
		if m == nil {
			m = map[string]*PortEntry{}
			s.ports[p.Switch] = m
		}
		m[p.Port] = &p
	}
	return s, errors.Join(errs...)
}

// Len reports how many subscribers and clients the snapshot holds.
func (s *Snapshot) Len() (subscribers, clients int) { return s.nSubs, s.nClients }

// client finds the NAS for a source address: exact address first, then the
// longest configured prefix.
func (s *Snapshot) client(a netip.Addr) *clientEntry {
	a = a.Unmap()
	if c := s.clients[a]; c != nil {
		return c
	}
	for _, g := range s.prefixes {
		if g.bits > a.BitLen() {
			continue
		}
		p, err := a.Prefix(g.bits)
		if err != nil {
			continue
		}
		if c := g.m[p]; c != nil {
			return c
		}
	}
	return nil
}

// splitRealm splits at the last '@'. Realms with or without a dot are both
// realms: FreeRADIUS's filter_username refusing "user@REALM" is exactly
// what this ISP had to edit out.
func splitRealm(login string) (local, realm string, ok bool) {
	i := strings.LastIndexByte(login, '@')
	if i <= 0 || i == len(login)-1 {
		return login, "", false
	}
	return login[:i], login[i+1:], true
}

// subscriber finds the account for a received User-Name under the NAS's
// realm mode.
func (s *Snapshot) subscriber(name []byte, mode RealmMode) *subEntry {
	if mode == RealmStrip {
		at := -1
		for i := len(name) - 1; i >= 0; i-- {
			if name[i] == '@' {
				at = i
				break
			}
		}
		if at > 0 {
			name = name[:at]
		}
		if e := s.subs[string(name)]; e != nil {
			return e
		}
		return s.byLocal[string(name)]
	}
	if e := s.subs[string(name)]; e != nil {
		return e
	}
	// Realms are case-insensitive (RFC 7542 §2.4); only then fold.
	for i := len(name) - 1; i > 0; i-- {
		if name[i] == '@' {
			var buf [256]byte
			if len(name) > len(buf) {
				return nil
			}
			n := copy(buf[:], name)
			for j := i + 1; j < n; j++ {
				if 'A' <= buf[j] && buf[j] <= 'Z' {
					buf[j] += 'a' - 'A'
				}
			}
			return s.subsFold[string(buf[:n])]
		}
	}
	return nil
}

// kindAllowed keeps a line's credentials from opening a session on the
// wrong kind of NAS (a VPN account on the PPPoE concentrator, say).
func kindAllowed(nas ClientKind, sub SubscriptionKind) bool {
	switch nas {
	case ClientBRAS, ClientLAC:
		return sub == KindPPP
	case ClientOpenVPN:
		return sub == KindVPN
	}
	return true
}

// parseMAC reads a MAC in any common notation: aa:bb:cc:dd:ee:ff,
// aa-bb-cc-dd-ee-ff, aabb.ccdd.eeff, aabbccddeeff, any case.
func parseMAC(b []byte) ([6]byte, bool) {
	var mac [6]byte
	n := 0
	var hi byte
	half := false
	for _, c := range b {
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		case c == ':' || c == '-' || c == '.':
			if half {
				return mac, false
			}
			continue
		default:
			return mac, false
		}
		if !half {
			hi = v
			half = true
			continue
		}
		if n == 6 {
			return mac, false
		}
		mac[n] = hi<<4 | v
		n++
		half = false
	}
	return mac, n == 6 && !half
}
