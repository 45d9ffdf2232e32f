package registry

import (
	"net/netip"
	"strings"
	"time"
)

// SiteKind says what a site is.
type SiteKind string

const (
	SiteResidence  SiteKind = "residence"
	SiteDatacenter SiteKind = "datacenter"
	SitePOP        SiteKind = "pop"
	SiteOther      SiteKind = "other"
)

// Site is a place: a student residence, a datacenter, a point of presence.
type Site struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Kind        SiteKind  `json:"kind"`
	Address     string    `json:"address,omitempty"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// SiteInput creates or edits a site.
type SiteInput struct {
	Name        *string   `json:"name,omitempty"`
	Kind        *SiteKind `json:"kind,omitempty"`
	Address     *string   `json:"address,omitempty"`
	Description *string   `json:"description,omitempty"`
}

func (in SiteInput) apply(s *Site) {
	set(&s.Name, in.Name)
	set(&s.Kind, in.Kind)
	set(&s.Address, in.Address)
	set(&s.Description, in.Description)
}

func (s *Site) validate() error {
	s.Name = strings.TrimSpace(s.Name)
	if s.Name == "" {
		return invalid("name", "is required")
	}
	if s.Kind == "" {
		s.Kind = SiteOther
	}
	switch s.Kind {
	case SiteResidence, SiteDatacenter, SitePOP, SiteOther:
	default:
		return invalid("kind", "%q is not one of residence, datacenter, pop, other", s.Kind)
	}
	return nil
}

// Host is a machine the ISP runs: hypervisor, VM, router, switch. The seeds
// keep this table, with its monthly cost, by hand in a wiki.
type Host struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	SiteID      *int64     `json:"site_id,omitempty"`
	Role        string     `json:"role"`
	Address     netip.Addr `json:"address,omitzero"`
	CPUs        int        `json:"cpus,omitempty"`
	RAMMB       int        `json:"ram_mb,omitempty"`
	DiskGB      int        `json:"disk_gb,omitempty"`
	Provider    string     `json:"provider,omitempty"`
	MonthlyCost Money      `json:"monthly_cost"`
	Description string     `json:"description,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// HostInput creates or edits a host.
type HostInput struct {
	Name        *string `json:"name,omitempty"`
	SiteID      *int64  `json:"site_id,omitempty"`
	Role        *string `json:"role,omitempty"`
	Address     *string `json:"address,omitempty"`
	CPUs        *int    `json:"cpus,omitempty"`
	RAMMB       *int    `json:"ram_mb,omitempty"`
	DiskGB      *int    `json:"disk_gb,omitempty"`
	Provider    *string `json:"provider,omitempty"`
	MonthlyCost *Money  `json:"monthly_cost,omitempty"`
	Description *string `json:"description,omitempty"`
}

func (in HostInput) apply(h *Host) error {
	set(&h.Name, in.Name)
	set(&h.Role, in.Role)
	set(&h.CPUs, in.CPUs)
	set(&h.RAMMB, in.RAMMB)
	set(&h.DiskGB, in.DiskGB)
	set(&h.Provider, in.Provider)
	set(&h.MonthlyCost, in.MonthlyCost)
	set(&h.Description, in.Description)
	if in.SiteID != nil {
		h.SiteID = zeroNil(*in.SiteID)
	}
	if in.Address != nil {
		h.Address = netip.Addr{}
		if s := strings.TrimSpace(*in.Address); s != "" {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return invalid("address", "%q is not an IP address", s)
			}
			h.Address = a.Unmap()
		}
	}
	return nil
}

// HostRoleSwitch marks hosts whose ports carry rooms.
const HostRoleSwitch = "switch"

func (h *Host) validate() error {
	h.Name = strings.TrimSpace(h.Name)
	if h.Name == "" {
		return invalid("name", "is required")
	}
	// The name is the host's SSH certificate principal and its DNS name
	// (alone and in the CA's domains), so it must be one.
	if strings.HasSuffix(h.Name, ".") {
		return invalid("name", "%q: write it without the final dot", h.Name)
	}
	if p := dnsNameProblem(h.Name, hostName); p != "" {
		return invalid("name", "%q is not a host name: %s", h.Name, p)
	}
	h.Role = strings.TrimSpace(h.Role)
	if h.Role == "" {
		h.Role = "server"
	}
	if h.CPUs < 0 || h.RAMMB < 0 || h.DiskGB < 0 {
		return invalid("cpus", "CPU, RAM and disk cannot be negative")
	}
	if h.MonthlyCost < 0 {
		return invalid("monthly_cost", "cannot be negative")
	}
	return nil
}

// Port is a switch port and the room it serves.
type Port struct {
	ID        int64     `json:"id"`
	HostID    int64     `json:"host_id"`
	Name      string    `json:"name"`
	Room      string    `json:"room,omitempty"`
	VLAN      int       `json:"vlan,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// PortInput creates or edits a switch port.
type PortInput struct {
	HostID *int64  `json:"host_id,omitempty"`
	Name   *string `json:"name,omitempty"`
	Room   *string `json:"room,omitempty"`
	VLAN   *int    `json:"vlan,omitempty"`
}

func (in PortInput) apply(p *Port) {
	set(&p.HostID, in.HostID)
	set(&p.Name, in.Name)
	set(&p.Room, in.Room)
	set(&p.VLAN, in.VLAN)
}

func (p *Port) validate() error {
	if p.HostID == 0 {
		return invalid("host_id", "is required (the switch)")
	}
	p.Name = strings.TrimSpace(p.Name)
	if p.Name == "" {
		return invalid("name", "is required (e.g. 1/1/13)")
	}
	p.Room = strings.TrimSpace(p.Room)
	if p.VLAN < 0 || p.VLAN > 4094 {
		return invalid("vlan", "%d is outside 1-4094", p.VLAN)
	}
	return nil
}
