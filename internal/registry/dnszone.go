package registry

import (
	"strings"
	"time"
)

// Zone is a forward DNS zone maillon serves (reverse zones follow IPAM and
// need no entry).
type Zone struct {
	ID int64 `json:"id"`
	// Origin is the zone's name, lower-case and fully qualified
	// ("example.org.").
	Origin string `json:"origin"`
	// TTL is the default TTL of its records; 0 means the server default.
	TTL         int       `json:"ttl,omitempty"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// ZoneInput creates or edits a zone.
type ZoneInput struct {
	Origin      *string `json:"origin,omitempty"`
	TTL         *int    `json:"ttl,omitempty"`
	Description *string `json:"description,omitempty"`
}

func (in ZoneInput) apply(z *Zone) {
	set(&z.Origin, in.Origin)
	set(&z.TTL, in.TTL)
	set(&z.Description, in.Description)
}

// Fqdn writes a domain name lower-case with its final dot.
func Fqdn(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if name != "" && !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

func validTTL(field string, ttl int) error {
	if ttl < 0 || ttl > 604800 {
		return invalid(field, "%d is outside 0..604800 seconds", ttl)
	}
	return nil
}

func (z *Zone) validate() error {
	z.Origin = Fqdn(z.Origin)
	if z.Origin == "" || z.Origin == "." {
		return invalid("origin", "is required (e.g. example.org)")
	}
	for _, l := range strings.Split(strings.TrimSuffix(z.Origin, "."), ".") {
		if l == "" || len(l) > 63 {
			return invalid("origin", "%q is not a domain name", z.Origin)
		}
	}
	if strings.HasSuffix(z.Origin, ".arpa.") {
		return invalid("origin", "reverse zones are made from IPAM prefixes; no zone entry is needed for %s", z.Origin)
	}
	return validTTL("ttl", z.TTL)
}

// RecordTypes are the record types managed by hand.
var RecordTypes = []string{"A", "AAAA", "CNAME", "MX", "TXT", "SRV", "CAA", "SSHFP", "NS", "PTR"}

// Record is a hand-managed DNS record of a zone.
type Record struct {
	ID     int64 `json:"id"`
	ZoneID int64 `json:"zone_id"`
	// Name is relative to the zone ("www", "@" for the apex) or fully
	// qualified.
	Name      string    `json:"name"`
	Type      string    `json:"type"`
	TTL       int       `json:"ttl,omitempty"`
	Data      string    `json:"data"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// RecordInput creates or edits a record.
type RecordInput struct {
	ZoneID *int64  `json:"zone_id,omitempty"`
	Name   *string `json:"name,omitempty"`
	Type   *string `json:"type,omitempty"`
	TTL    *int    `json:"ttl,omitempty"`
	Data   *string `json:"data,omitempty"`
}

func (in RecordInput) apply(r *Record) {
	set(&r.ZoneID, in.ZoneID)
	set(&r.Name, in.Name)
	set(&r.Type, in.Type)
	set(&r.TTL, in.TTL)
	set(&r.Data, in.Data)
}

func (r *Record) validate() error {
	if r.ZoneID == 0 {
		return invalid("zone_id", "is required")
	}
	r.Name = strings.ToLower(strings.TrimSpace(r.Name))
	if r.Name == "" {
		r.Name = "@"
	}
	r.Type = strings.ToUpper(strings.TrimSpace(r.Type))
	known := false
	for _, t := range RecordTypes {
		known = known || t == r.Type
	}
	if !known {
		return invalid("type", "%q is not one of %s", r.Type, strings.Join(RecordTypes, ", "))
	}
	r.Data = strings.TrimSpace(r.Data)
	if r.Data == "" {
		return invalid("data", "is required")
	}
	return validTTL("ttl", r.TTL)
}
