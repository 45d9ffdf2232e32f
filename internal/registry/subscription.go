package registry

import (
	"strings"
	"time"
	"unicode"

	"maillon/internal/macaddr"
)

// SubscriptionKind is what a subscription connects.
type SubscriptionKind string

const (
	KindPPP      SubscriptionKind = "ppp"       // xDSL/FTTH line over PPPoE/L2TP
	KindVPN      SubscriptionKind = "vpn"       // OpenVPN or WireGuard access
	KindRoomPort SubscriptionKind = "room-port" // a wired room behind a switch port
	KindVM       SubscriptionKind = "vm"        // a hosted virtual machine
)

// SubscriptionState is the administrative state of a line.
type SubscriptionState string

const (
	SubActive    SubscriptionState = "active"
	SubSuspended SubscriptionState = "suspended"
	SubClosed    SubscriptionState = "closed"
)

// Subscription is one service a member subscribes to.
type Subscription struct {
	ID          int64             `json:"id"`
	MemberID    int64             `json:"member_id"`
	Kind        SubscriptionKind  `json:"kind"`
	Login       string            `json:"login"`
	State       SubscriptionState `json:"state"`
	UpstreamRef string            `json:"upstream_ref,omitempty"`
	CPEID       *int64            `json:"cpe_id,omitempty"`
	SiteID      *int64            `json:"site_id,omitempty"`
	PortID      *int64            `json:"port_id,omitempty"`
	MAC         string            `json:"mac,omitempty"`
	VLAN        int               `json:"vlan,omitempty"`
	Notes       string            `json:"notes,omitempty"`
	// PasswordSet tells whether a password is stored; the password itself
	// never leaves the registry except to the authentication code.
	PasswordSet bool `json:"password_set"`
	// ReplyAttributes are extra RADIUS reply attributes for this line
	// ("Name = value"), winning over the NAS's.
	ReplyAttributes []string     `json:"reply_attributes,omitempty"`
	Addresses       []Allocation `json:"addresses"`
	CreatedAt       time.Time    `json:"created_at"`
	UpdatedAt       time.Time    `json:"updated_at"`

	// SealedPassword is the encrypted password as stored.
	SealedPassword []byte `json:"-"`
}

// NeedsAddresses reports whether the kind gets an IPv4 /32, an IPv6 /64 and
// a delegated prefix on creation.
func (k SubscriptionKind) NeedsAddresses() bool { return k == KindPPP || k == KindVPN }

// SubscriptionInput creates or edits a subscription; nil fields are left as
// they are.
type SubscriptionInput struct {
	MemberID        *int64             `json:"member_id,omitempty"`
	Kind            *SubscriptionKind  `json:"kind,omitempty"`
	Login           *string            `json:"login,omitempty"`
	Password        *string            `json:"password,omitempty"`
	State           *SubscriptionState `json:"state,omitempty"`
	UpstreamRef     *string            `json:"upstream_ref,omitempty"`
	CPEID           *int64             `json:"cpe_id,omitempty"`
	SiteID          *int64             `json:"site_id,omitempty"`
	PortID          *int64             `json:"port_id,omitempty"`
	MAC             *string            `json:"mac,omitempty"`
	VLAN            *int               `json:"vlan,omitempty"`
	Notes           *string            `json:"notes,omitempty"`
	ReplyAttributes *[]string          `json:"reply_attributes,omitempty"`
}

func (in SubscriptionInput) apply(s *Subscription) {
	set(&s.MemberID, in.MemberID)
	set(&s.Kind, in.Kind)
	set(&s.Login, in.Login)
	set(&s.State, in.State)
	set(&s.UpstreamRef, in.UpstreamRef)
	set(&s.MAC, in.MAC)
	set(&s.VLAN, in.VLAN)
	set(&s.Notes, in.Notes)
	set(&s.ReplyAttributes, in.ReplyAttributes)
	if in.CPEID != nil {
		s.CPEID = zeroNil(*in.CPEID)
	}
	if in.SiteID != nil {
		s.SiteID = zeroNil(*in.SiteID)
	}
	if in.PortID != nil {
		s.PortID = zeroNil(*in.PortID)
	}
}

func (s *Subscription) validate() error {
	if s.MemberID == 0 {
		return invalid("member_id", "is required")
	}
	switch s.Kind {
	case KindPPP, KindVPN, KindRoomPort, KindVM:
	case "":
		return invalid("kind", "is required (ppp, vpn, room-port or vm)")
	default:
		return invalid("kind", "%q is not one of ppp, vpn, room-port, vm", s.Kind)
	}
	if s.State == "" {
		s.State = SubActive
	}
	switch s.State {
	case SubActive, SubSuspended, SubClosed:
	default:
		return invalid("state", "%q is not one of active, suspended, closed", s.State)
	}
	s.Login = strings.TrimSpace(s.Login)
	if err := ValidateLogin(s.Login); err != nil {
		return err
	}
	if s.MAC != "" {
		mac, err := macaddr.Normalize(s.MAC)
		if err != nil {
			return invalid("mac", "%v", err)
		}
		s.MAC = mac
	}
	if s.VLAN < 0 || s.VLAN > 4094 {
		return invalid("vlan", "%d is outside 1-4094", s.VLAN)
	}
	return nil
}

// ValidateLogin accepts user or user@realm; realms need no dot (NEUTRINET,
// DEMO), since aggregators send them that way.
func ValidateLogin(login string) error {
	if login == "" {
		return invalid("login", "is required")
	}
	if len(login) > 253 {
		return invalid("login", "is longer than 253 characters")
	}
	for _, r := range login {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return invalid("login", "%q contains spaces or control characters", login)
		}
	}
	if i := strings.IndexByte(login, '@'); i == 0 || i == len(login)-1 || strings.Count(login, "@") > 1 {
		return invalid("login", "%q is not user or user@REALM", login)
	}
	return nil
}

func validatePassword(p string) error {
	if len(p) < 8 {
		return invalid("password", "must be at least 8 characters")
	}
	// RADIUS carries at most 128 bytes in User-Password (RFC 2865 5.2).
	if len(p) > 128 {
		return invalid("password", "must be at most 128 bytes")
	}
	return nil
}

// CheckNew validates a new subscription's input as CreateSubscription
// does, apart from what needs the database (its member, which an import
// may create in the same batch, the site, port and CPE it names, a taken
// login, reply attributes), so that an import can report every bad line
// before it writes anything.
func (in SubscriptionInput) CheckNew() error {
	var s Subscription
	in.apply(&s)
	if s.MemberID == 0 {
		s.MemberID = -1 // checked when created
	}
	if err := s.validate(); err != nil {
		return err
	}
	if in.Password != nil {
		return validatePassword(*in.Password)
	}
	if s.Kind.NeedsAddresses() {
		return invalid("password", "is required for a %s subscription", s.Kind)
	}
	return nil
}
