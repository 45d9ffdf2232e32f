// Package dns serves maillon's authoritative zones: forward zones with
// hand-managed records, reverse zones derived from IPAM allocations, zone
// transfers (AXFR, IXFR, NOTIFY) restricted by TSIG and address, and RFC 2136
// push to an external primary.
//
// The package depends on no other maillon package: the application builds a
// Source from the registry on every change and hands it to Server.Update,
// which rebuilds only what changed, swaps the zones atomically (the next
// query sees them) and sends NOTIFY and RFC 2136 pushes for the zones whose
// serial moved:
//
//	srv := dns.NewServer(dns.Config{Addr: ":53", RateLimit: dns.RateLimit{ResponsesPerSecond: 20}})
//	if _, err := srv.Update(source); err != nil { ... } // and on every change
//	if err := srv.Start(); err != nil { ... }
//	defer srv.Stop(ctx)
//
// For `maillon dns export ZONE`: srv.Snapshot().Zone(origin).Text(). For
// `maillon dns diff`: FetchZone from the external primary, then Diff against
// Zone.Records(); Sync applies it.
package dns

import (
	"net/netip"
)

// Source is everything the DNS subsystem needs from the registry. It is plain
// data: the application rebuilds it on every registry change.
type Source struct {
	// Zones are the zones maillon is authoritative for, forward and reverse.
	// A reverse zone derived from Prefixes takes its settings from the
	// ZoneConfig with the same origin if there is one, else from Reverse.
	Zones []ZoneConfig
	// Reverse gives SOA, NS, TTLs and transfer settings to reverse zones
	// derived from Prefixes that have no ZoneConfig of their own; its Origin
	// is ignored.
	Reverse ZoneConfig
	// Records are hand-managed records (CLI and API).
	Records []Record
	// Prefixes are the IPAM prefixes addresses are allocated from; each
	// gives its reverse zones and the naming of its allocations.
	Prefixes []Prefix
	// Allocations are the addresses and prefixes handed to subscriptions.
	Allocations []Allocation
	// Keys are the TSIG keys zones refer to by name.
	Keys []TSIGKey
	// ZoneKey, when set, gives the DNSSEC key of the zones whose ZoneConfig
	// has none (nil: unsigned). The reverse zones derived from Prefixes share
	// Reverse's configuration, so their keys, one per origin, come from here.
	ZoneKey func(origin string) *ZoneKey
}

// ZoneConfig describes one zone apart from its records.
type ZoneConfig struct {
	// Origin is the zone's name, e.g. "example.org." (the final dot is
	// optional).
	Origin string
	// PrimaryNS is the SOA MNAME; it defaults to the first of NS.
	PrimaryNS string
	// Hostmaster is the SOA RNAME, as a mail address ("hostmaster@example.org")
	// or a domain name ("hostmaster.example.org.").
	Hostmaster string
	// SOA timers in seconds; zero picks the default shown.
	Refresh uint32 // 3600
	Retry   uint32 // 600
	Expire  uint32 // 1209600
	Minimum uint32 // negative-caching TTL, 300
	// TTL is the default TTL of records that give none (3600).
	TTL uint32
	// NS are the zone's name servers, fully qualified.
	NS []string
	// MinSerial is a floor for the SOA serial, for an application that
	// persists the last serial it served so that a restart never goes back.
	MinSerial uint32
	// Notify lists the secondaries told of every change.
	Notify []Secondary
	// Transfer lists who may transfer the zone (AXFR and IXFR); a request
	// matching no entry is refused.
	Transfer []ACL
	// Push lists external primaries kept in step with RFC 2136 dynamic
	// updates after every change, for sites that keep their own servers.
	Push []PushTarget
	// DNSSEC signs the zone with this key when set (see ZoneKey).
	DNSSEC *ZoneKey
}

// PushTarget is an external primary that maillon updates.
type PushTarget struct {
	// Addr is host:port.
	Addr string
	// Key names the TSIG key of Source.Keys that signs transfers and updates.
	Key string
}

// Secondary is a server sent NOTIFY messages.
type Secondary struct {
	// Addr is host:port, e.g. "192.0.2.53:53".
	Addr string
	// Key names a TSIG key of Source.Keys to sign NOTIFY with; empty means
	// unsigned.
	Key string
}

// ACL allows zone transfers to clients that match both fields.
type ACL struct {
	// Key names the TSIG key the request must be signed with; empty allows
	// unsigned requests (and signed ones by any known key).
	Key string
	// Networks the client address must belong to; empty means any address.
	Networks []netip.Prefix
}

// TSIGKey is a shared secret for transaction signatures.
type TSIGKey struct {
	Name      string // e.g. "transfer.example.org."
	Algorithm string // "hmac-sha256" (default), "hmac-sha512", ...
	Secret    string // base64
}

// Record is a hand-managed resource record.
type Record struct {
	// Zone is the origin the record belongs to. When empty, Name must be
	// fully qualified and the record goes to the deepest zone containing it.
	Zone string
	// Name is relative to Zone ("www", "@") or fully qualified ("www.example.org.").
	Name string
	// Type is the record type: SOA NS A AAAA CNAME MX TXT SRV CAA SSHFP TLSA PTR.
	Type string
	// TTL in seconds; zero uses the zone's default TTL.
	TTL uint32
	// Data is the record data in zone file syntax, e.g. "10 mail.example.org."
	// for MX; names in it are relative to Zone unless fully qualified.
	Data string
}

// Prefix is an IPAM prefix whose allocations get reverse records.
type Prefix struct {
	Prefix netip.Prefix
	// PTRTemplate names an allocation: "{login}.dsl.example.org." or
	// "ip-{ip}.example.org."; {ip} is the address with dashes for dots and
	// colons. Empty gives no PTR for template-named allocations.
	PTRTemplate string
	// Forward adds the matching A or AAAA record at the template name when
	// that name lies in one of the zones.
	Forward bool
	// TTL of the generated records; zero uses the zone default.
	TTL uint32
}

// Allocation is an address or prefix handed to a subscription.
type Allocation struct {
	// Login identifies the subscription; {login} in templates.
	Login string
	// Prefix is an IPv4 /32, an IPv6 /128, or an IPv6 prefix (/64, /56...).
	// An IPv6 prefix gets a wildcard PTR covering it (which answers for
	// prefix::1 too), and its first host address (prefix::1) the forward
	// AAAA.
	Prefix netip.Prefix
	// ReverseName is the member's own reverse name, replacing the template
	// (see ValidateReverseName).
	ReverseName string
}
