package registry

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"maillon/internal/ipam"
)

// NASKind is the role of a RADIUS client.
type NASKind string

const (
	NASBras    NASKind = "bras"
	NASLac     NASKind = "lac"
	NASOpenVPN NASKind = "openvpn"
	NASSwitch  NASKind = "switch"
	NASOther   NASKind = "other"
)

// MessageAuthPolicy is the per-NAS Message-Authenticator requirement that
// FreeRADIUS 3.2 introduced after BlastRADIUS (CVE-2024-3596).
type MessageAuthPolicy string

const (
	MessageAuthYes  MessageAuthPolicy = "yes"
	MessageAuthNo   MessageAuthPolicy = "no"
	MessageAuthAuto MessageAuthPolicy = "auto"
)

// NAS is a RADIUS client: a concentrator, an OpenVPN server, a switch.
type NAS struct {
	ID          int64             `json:"id"`
	Name        string            `json:"name"`
	Address     netip.Prefix      `json:"address"`
	Kind        NASKind           `json:"kind"`
	MessageAuth MessageAuthPolicy `json:"message_authenticator"`
	StripRealm  bool              `json:"strip_realm"`
	SiteID      *int64            `json:"site_id,omitempty"`
	CoAPort     int               `json:"coa_port"`
	Description string            `json:"description,omitempty"`
	SecretSet   bool              `json:"secret_set"`
	// ReplyAttributes go in every subscriber Accept sent to this NAS,
	// "Name = value" each (e.g. "Mikrotik-Rate-Limit = 100M/1G").
	ReplyAttributes []string  `json:"reply_attributes,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`

	SealedSecret []byte `json:"-"`
}

// NASInput creates or edits a NAS.
type NASInput struct {
	Name            *string            `json:"name,omitempty"`
	Address         *string            `json:"address,omitempty"`
	Secret          *string            `json:"secret,omitempty"`
	Kind            *NASKind           `json:"kind,omitempty"`
	MessageAuth     *MessageAuthPolicy `json:"message_authenticator,omitempty"`
	StripRealm      *bool              `json:"strip_realm,omitempty"`
	SiteID          *int64             `json:"site_id,omitempty"`
	CoAPort         *int               `json:"coa_port,omitempty"`
	Description     *string            `json:"description,omitempty"`
	ReplyAttributes *[]string          `json:"reply_attributes,omitempty"`
}

func (in NASInput) apply(n *NAS) error {
	set(&n.Name, in.Name)
	if in.Address != nil {
		p, err := parseAddressOrPrefix(*in.Address)
		if err != nil {
			return invalid("address", "%v", err)
		}
		n.Address = p
	}
	set(&n.Kind, in.Kind)
	set(&n.MessageAuth, in.MessageAuth)
	set(&n.StripRealm, in.StripRealm)
	set(&n.CoAPort, in.CoAPort)
	set(&n.Description, in.Description)
	set(&n.ReplyAttributes, in.ReplyAttributes)
	if in.SiteID != nil {
		n.SiteID = zeroNil(*in.SiteID)
	}
	return nil
}

// parseAddressOrPrefix reads "192.0.2.1" as a /32 and "192.0.2.0/28" as is;
// "" is no address (validate says it is required).
func parseAddressOrPrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Prefix{}, nil
	}
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			// netip's message ("ParseAddr(...): unable to parse IP")
			// reads as a program error.
			return netip.Prefix{}, fmt.Errorf("%q is not an IP address or prefix (e.g. 192.0.2.1 or 192.0.2.0/28)", s)
		}
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("address %q must not carry a zone", s)
		}
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	return ipam.ParsePrefix(s)
}

func (n *NAS) validate() error {
	n.Name = strings.TrimSpace(n.Name)
	if n.Name == "" {
		return invalid("name", "is required")
	}
	if !n.Address.IsValid() {
		return invalid("address", "is required (an address or a prefix)")
	}
	if n.Kind == "" {
		n.Kind = NASOther
	}
	switch n.Kind {
	case NASBras, NASLac, NASOpenVPN, NASSwitch, NASOther:
	default:
		return invalid("kind", "%q is not one of bras, lac, openvpn, switch, other", n.Kind)
	}
	if n.MessageAuth == "" {
		// New NAS must send Message-Authenticator: the BlastRADIUS fix.
		n.MessageAuth = MessageAuthYes
	}
	switch n.MessageAuth {
	case MessageAuthYes, MessageAuthNo, MessageAuthAuto:
	default:
		return invalid("message_authenticator", "%q is not one of yes, no, auto", n.MessageAuth)
	}
	if n.CoAPort == 0 {
		n.CoAPort = 3799
	}
	if n.CoAPort < 1 || n.CoAPort > 65535 {
		return invalid("coa_port", "%d is not a port", n.CoAPort)
	}
	return nil
}

func validateSharedSecret(s string) error {
	if len(s) < 6 {
		return invalid("secret", "must be at least 6 characters")
	}
	if len(s) > 128 {
		return invalid("secret", "must be at most 128 characters")
	}
	return nil
}
