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
	if p := dnsNameProblem(strings.TrimSuffix(z.Origin, "."), hostName); p != "" {
		return invalid("origin", "%q: %s", z.Origin, p)
	}
	if strings.HasSuffix(z.Origin, ".arpa.") {
		return invalid("origin", "reverse zones are made from IPAM prefixes; no zone entry is needed for %s", z.Origin)
	}
	return validTTL("ttl", z.TTL)
}

// RecordTypes are the record types managed by hand.
var RecordTypes = []string{"A", "AAAA", "CNAME", "MX", "TXT", "SRV", "CAA", "SSHFP", "TLSA", "NS", "PTR"}

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
	if r.Name != "@" {
		if p := dnsNameProblem(strings.TrimSuffix(r.Name, "."), ownerName); p != "" {
			return invalid("name", "%q: %s", r.Name, p)
		}
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

// owner is the record's fully qualified owner name in the zone origin.
func (r *Record) owner(origin string) string {
	switch {
	case r.Name == "@" || r.Name == "":
		return origin
	case strings.HasSuffix(r.Name, "."):
		return r.Name
	}
	return r.Name + "." + origin
}

// checkInZone checks the record against its zone and the zone's other
// records: its owner is in the zone and not too long once qualified, and a
// CNAME is alone at its name (RFC 1034 §3.6.2: an alias has no other data),
// hence never at the apex, which holds the SOA and NS records.
func (r *Record) checkInZone(origin string, others []Record) error {
	owner := r.owner(origin)
	if owner != origin && !strings.HasSuffix(owner, "."+origin) {
		return invalid("name", "%q is outside zone %s (write it relative to the zone, or ending in .%s)", r.Name, origin, origin)
	}
	if len(owner)-1 > maxName {
		return invalid("name", "%s is %d characters long, more than %d", owner, len(owner)-1, maxName)
	}
	if r.Type == "CNAME" && owner == origin {
		return invalid("name", "a CNAME cannot be at the zone apex (%s), which holds the SOA and NS records: "+
			"point an A/AAAA record there, or put the CNAME on a name below it (www)", origin)
	}
	for _, o := range others {
		if o.ID == r.ID || o.owner(origin) != owner {
			continue
		}
		switch {
		case r.Type == "CNAME":
			return invalid("name", "%s already has a %s record (id %d): a CNAME cannot share its name with other records", owner, o.Type, o.ID)
		case o.Type == "CNAME":
			return invalid("name", "%s is a CNAME to %s (record id %d): no other record can share its name", owner, o.Data, o.ID)
		}
	}
	return nil
}
