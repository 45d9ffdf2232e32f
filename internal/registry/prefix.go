package registry

import (
	"net/netip"
	"strings"
	"time"

	"maillon/internal/ipam"
)

// Purpose says what a prefix is for.
type Purpose string

const (
	// PurposeAggregate is a block the ISP holds (what it announces and what
	// reverse zones are cut from); pools are nested inside it.
	PurposeAggregate Purpose = "aggregate"
	// PurposeSubscriber hands out a /32 (IPv4) or a /64 (IPv6) per subscription.
	PurposeSubscriber Purpose = "subscriber"
	// PurposeDelegated hands out a delegated IPv6 prefix (DHCPv6-PD).
	PurposeDelegated Purpose = "delegated"
	// PurposeInfrastructure is for the ISP's own equipment.
	PurposeInfrastructure Purpose = "infrastructure"
)

// Prefix is an IPv4 or IPv6 prefix in IPAM.
type Prefix struct {
	ID          int64            `json:"id"`
	CIDR        netip.Prefix     `json:"cidr"`
	Purpose     Purpose          `json:"purpose"`
	BlockBits   int              `json:"block_bits"`
	Kind        SubscriptionKind `json:"kind,omitempty"`
	SiteID      *int64           `json:"site_id,omitempty"`
	Description string           `json:"description,omitempty"`
	// PTRTemplate names the reverse DNS of its allocations:
	// "{login}.dsl.example.org" or "ip-{ip}.example.org"; empty gives none.
	PTRTemplate string `json:"ptr_template,omitempty"`
	// DNSForward adds the matching A/AAAA record at the template name.
	DNSForward bool `json:"dns_forward,omitempty"`
	// NextIndex is the allocation cursor: blocks at or past it were never
	// handed out, so allocation rarely has to search.
	NextIndex int64     `json:"-"`
	Used      int64     `json:"used"`
	Capacity  uint64    `json:"capacity"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PrefixInput creates or edits a prefix; the CIDR cannot change once
// allocations exist.
type PrefixInput struct {
	CIDR        *string           `json:"cidr,omitempty"`
	Purpose     *Purpose          `json:"purpose,omitempty"`
	BlockBits   *int              `json:"block_bits,omitempty"`
	Kind        *SubscriptionKind `json:"kind,omitempty"`
	SiteID      *int64            `json:"site_id,omitempty"`
	Description *string           `json:"description,omitempty"`
	PTRTemplate *string           `json:"ptr_template,omitempty"`
	DNSForward  *bool             `json:"dns_forward,omitempty"`
}

func (in PrefixInput) apply(p *Prefix) error {
	if in.CIDR != nil {
		c, err := ipam.ParsePrefix(*in.CIDR)
		if err != nil {
			return invalid("cidr", "%v", err)
		}
		p.CIDR = c
	}
	set(&p.Purpose, in.Purpose)
	set(&p.BlockBits, in.BlockBits)
	set(&p.Kind, in.Kind)
	set(&p.Description, in.Description)
	set(&p.PTRTemplate, in.PTRTemplate)
	set(&p.DNSForward, in.DNSForward)
	if in.SiteID != nil {
		p.SiteID = zeroNil(*in.SiteID)
	}
	return nil
}

// IsPool reports whether addresses are allocated from the prefix.
func (p *Prefix) IsPool() bool {
	return p.Purpose == PurposeSubscriber || p.Purpose == PurposeDelegated || p.Purpose == PurposeInfrastructure
}

func (p *Prefix) validate(defaultDelegatedBits int) error {
	if !p.CIDR.IsValid() {
		return invalid("cidr", "is required")
	}
	switch p.Purpose {
	case PurposeAggregate, PurposeSubscriber, PurposeInfrastructure:
	case PurposeDelegated:
		if p.CIDR.Addr().Is4() {
			return invalid("purpose", "delegated prefixes are IPv6 only")
		}
	case "":
		return invalid("purpose", "is required (aggregate, subscriber, delegated or infrastructure)")
	default:
		return invalid("purpose", "%q is not one of aggregate, subscriber, delegated, infrastructure", p.Purpose)
	}
	switch p.Kind {
	case "", KindPPP, KindVPN, KindRoomPort, KindVM:
	default:
		return invalid("kind", "%q is not one of ppp, vpn, room-port, vm", p.Kind)
	}
	if p.Purpose == PurposeAggregate {
		p.BlockBits = p.CIDR.Bits()
		p.Capacity = 0
		return nil
	}
	if p.BlockBits == 0 {
		p.BlockBits = ipam.DefaultBlockBits(p.CIDR, false)
		if p.Purpose == PurposeDelegated {
			p.BlockBits = defaultDelegatedBits
		}
	}
	if p.Purpose == PurposeDelegated && (p.BlockBits < 48 || p.BlockBits > 64) {
		return invalid("block_bits", "delegated prefixes are /48 to /64, not /%d", p.BlockBits)
	}
	n, err := ipam.BlockCount(p.CIDR, p.BlockBits)
	if err != nil {
		return invalid("block_bits", "/%d blocks do not fit in %s", p.BlockBits, p.CIDR)
	}
	p.Capacity = n - uint64(p.reservedHead()) - uint64(p.reservedTail())
	if p.Capacity == 0 || n <= uint64(p.reservedHead()+p.reservedTail()) {
		return invalid("cidr", "%s has no usable /%d block", p.CIDR, p.BlockBits)
	}
	p.Description = strings.TrimSpace(p.Description)
	return nil
}

// reservedHead and reservedTail keep an IPv4 pool's network and broadcast
// addresses out of allocation: they are valid /32s on a PPP link, but some
// CPEs and many abuse desks choke on a .0 or .255.
func (p *Prefix) reservedHead() int64 {
	if p.CIDR.Addr().Is4() && p.BlockBits == 32 && p.CIDR.Bits() <= 30 {
		return 1
	}
	return 0
}

func (p *Prefix) reservedTail() int64 { return p.reservedHead() }

// AddressRole says which reply attribute an allocation feeds.
type AddressRole string

const (
	RoleIPv4      AddressRole = "ipv4"      // Framed-IP-Address
	RoleIPv6      AddressRole = "ipv6"      // Framed-IPv6-Prefix
	RoleDelegated AddressRole = "delegated" // Delegated-IPv6-Prefix
	RoleStatic    AddressRole = "static"    // assigned by hand
)

// Allocation is a block handed out of a pool. A released block keeps its row
// with no subscription until its quarantine ends, which is what stops an
// address being reused while the old holder's sessions, logs and caches
// still point at it.
type Allocation struct {
	ID             int64        `json:"id"`
	PrefixID       int64        `json:"prefix_id"`
	Index          int64        `json:"-"`
	Block          netip.Prefix `json:"block"`
	Role           AddressRole  `json:"role"`
	SubscriptionID *int64       `json:"subscription_id,omitempty"`
	ReverseName    string       `json:"reverse_name,omitempty"`
	AllocatedAt    time.Time    `json:"allocated_at"`
	ReleasedAt     *time.Time   `json:"released_at,omitempty"`
	ReusableAt     *time.Time   `json:"reusable_at,omitempty"`
}

// Recount derives Capacity (the blocks a pool can hand out) from its range
// and block size.
func (p *Prefix) Recount() error {
	if p.Purpose == PurposeAggregate {
		p.Capacity = 0
		return nil
	}
	n, err := ipam.BlockCount(p.CIDR, p.BlockBits)
	if err != nil {
		return err
	}
	p.Capacity = n - uint64(p.reservedHead()+p.reservedTail())
	return nil
}
