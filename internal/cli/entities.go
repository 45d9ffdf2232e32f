package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"maillon/internal/client"
	"maillon/internal/registry"
)

// The flags shared by several entities.
var (
	siteRef   = field{flag: "site", key: "site_id", kind: asRef, target: "sites", usage: "site (id or name; none to clear)"}
	memberRef = field{flag: "member", key: "member_id", kind: asRef, target: "members",
		usage: "member (id, email, login, IP or MAC)"}
	kinds = names(registry.KindPPP, registry.KindVPN, registry.KindRoomPort, registry.KindVM)
)

// txt is a plain text field.
// replyAttributeField sets extra RADIUS reply attributes of a NAS or a line.
var replyAttributeField = field{flag: "reply-attribute", key: "reply_attributes", kind: asLines,
	usage: `extra RADIUS reply attribute "Name = value", e.g. "Mikrotik-Rate-Limit = 100M/1G" (repeatable; replaces all)`}

func txt(flag, key, usage string) field {
	return field{flag: flag, key: key, usage: usage, kind: asText}
}

// entities are the registry's collections as the command line shows them.
var entities = []*entity{
	{
		name: "member", aliases: []string{"members"}, path: "members",
		short: "members and their membership periods", refHelp: "id, email, login, IP or MAC",
		fields: []field{
			txt("name", "name", "full name"),
			txt("email", "email", "email address"),
			txt("phone", "phone", "phone number (optional)"),
			txt("address", "address", "postal address"),
			siteRef,
			txt("room", "room", "room, in a residence"),
			{flag: "state", key: "state", kind: asChoice, usage: "state",
				choices: names(registry.MemberActive, registry.MemberSuspended, registry.MemberArchived)},
			{flag: "period", key: "periods", kind: asPeriods,
				usage: "membership period START:END, END may be empty (repeatable; replaces all periods)"},
			txt("notes", "notes", "free notes"),
		},
		newInput: func() any { return &registry.MemberInput{} },
		list: table(
			col("ID", func(m *registry.Member) string { return fmtID(m.ID) }),
			col("NAME", func(m *registry.Member) string { return m.Name }),
			col("EMAIL", func(m *registry.Member) string { return m.Email }),
			col("STATE", func(m *registry.Member) string { return string(m.State) }),
			colAt("MEMBERSHIP", func(now time.Time, m *registry.Member) string { st, _ := membership(m, now); return st }),
			colAt("END", func(now time.Time, m *registry.Member) string { _, end := membership(m, now); return end }),
		),
		show: detail(showMember),
		examples: []string{
			`maillon member add --name "Ada Lovelace" --email ada@example.org --site "Résidence Nord" --room B204 --period 2026-01-01:2026-12-31`,
			`maillon member list --search ada --state active`,
			`maillon member show 198.51.100.7     # or an id, email, login, or MAC in any notation`,
			`maillon member edit ada@example.org --phone "+33 6 12 34 56 78" --period 2026-01-01:2027-12-31`,
			`maillon member remove ada@example.org`,
		},
	},
	{
		name: "subscription", aliases: []string{"subscriptions", "sub"}, path: "subscriptions",
		short: "subscriptions: ppp lines, VPN accesses, room ports, VMs", refHelp: "id, login, IP or MAC",
		fields: []field{
			memberRef,
			{flag: "kind", key: "kind", kind: asChoice, choices: kinds, usage: "what it connects"},
			txt("login", "login", "RADIUS login, user or user@REALM"),
			{flag: "password", key: "password", kind: asSecret, generate: true,
				usage: "RADIUS password (- reads it from stdin); never shown again"},
			{flag: "state", key: "state", kind: asChoice, usage: "state",
				choices: names(registry.SubActive, registry.SubSuspended, registry.SubClosed)},
			txt("upstream-ref", "upstream_ref", "wholesale line or circuit id"),
			txt("mac", "mac", "MAC address, any notation (room ports, MAC authentication)"),
			{flag: "vlan", key: "vlan", kind: asNumber, usage: "VLAN (1-4094)"},
			{flag: "cpe", key: "cpe_id", kind: asRef, target: "cpes", usage: "CPE (id, serial or MAC; none to clear)"},
			siteRef,
			{flag: "port", key: "port_id", kind: asRef, target: "ports", usage: "switch port (id or room; none to clear)"},
			txt("notes", "notes", "free notes"),
			replyAttributeField,
		},
		filters: []field{
			memberRef,
			{flag: "kind", key: "kind", kind: asChoice, choices: kinds, usage: "only this kind"},
		},
		newInput: func() any { return &registry.SubscriptionInput{} },
		list:     table(subscriptionColumns...),
		show:     detail(showSubscription),
		examples: []string{
			`maillon subscription add --member ada@example.org --kind ppp --login ada@NEUTRINET --generate-password`,
			`maillon subscription list --member ada@example.org --kind ppp`,
			`maillon subscription show aa-bb-cc-dd-ee-ff`,
			`maillon subscription edit ada@NEUTRINET --state suspended`,
			`maillon subscription remove ada@NEUTRINET`,
		},
	},
	{
		name: "prefix", aliases: []string{"prefixes"}, path: "prefixes",
		short: "IPv4 and IPv6 prefixes and address pools", refHelp: "id or CIDR",
		fields: []field{
			txt("cidr", "cidr", "prefix, e.g. 198.51.100.0/24"),
			{flag: "purpose", key: "purpose", kind: asChoice, usage: "what it is for",
				choices: names(registry.PurposeAggregate, registry.PurposeSubscriber, registry.PurposeDelegated, registry.PurposeInfrastructure)},
			{flag: "block-bits", key: "block_bits", kind: asNumber, usage: "size of the blocks handed out (e.g. 32, 64, 56)"},
			{flag: "kind", key: "kind", kind: asChoice, choices: kinds, usage: "only for subscriptions of this kind"},
			siteRef,
			txt("description", "description", "description"),
			txt("ptr-template", "ptr_template", `reverse DNS name of its allocations, "{login}.dsl.example.org" or "ip-{ip}.example.org"`),
			{flag: "dns-forward", key: "dns_forward", kind: asBool, usage: "also publish the A/AAAA record at the template name"},
		},
		newInput: func() any { return &registry.PrefixInput{} },
		list: table(
			col("ID", func(p *registry.Prefix) string { return fmtID(p.ID) }),
			col("CIDR", func(p *registry.Prefix) string { return p.CIDR.String() }),
			col("PURPOSE", func(p *registry.Prefix) string { return string(p.Purpose) }),
			col("BLOCKS", func(p *registry.Prefix) string { return prefixBlocks(p) }),
			col("KIND", func(p *registry.Prefix) string { return string(p.Kind) }),
			col("USED", func(p *registry.Prefix) string { return prefixUsage(p) }),
			col("DESCRIPTION", func(p *registry.Prefix) string { return p.Description }),
		),
		show: detail(func(s *session, w io.Writer, p *registry.Prefix) error {
			site, err := s.named("sites", p.SiteID)
			if err != nil {
				return err
			}
			return (&props{}).add("id", fmtID(p.ID)).add("cidr", p.CIDR.String()).add("purpose", string(p.Purpose)).
				add("blocks", prefixBlocks(p)).add("kind", string(p.Kind)).add("site", site).add("used", prefixUsage(p)).
				add("ptr template", p.PTRTemplate).add("dns forward", prefixForward(p)).
				add("description", p.Description).add("created", fmtTime(p.CreatedAt)).add("updated", fmtTime(p.UpdatedAt)).write(w)
		}),
		examples: []string{
			`maillon prefix add --cidr 2001:db8:1000::/36 --purpose delegated --block-bits 56`,
			`maillon prefix list`,
			`maillon prefix show 198.51.100.0/25`,
			`maillon prefix edit 198.51.100.0/25 --description "PPP lines"`,
			`maillon prefix remove 198.51.100.0/25`,
		},
	},
	{
		name: "nas", path: "nas", short: "RADIUS clients (NAS): concentrators, VPN servers, switches", refHelp: "id, name or address",
		fields: []field{
			txt("name", "name", "name"),
			txt("address", "address", "source address or prefix of its requests"),
			{flag: "secret", key: "secret", kind: asSecret, generate: true,
				usage: "RADIUS shared secret (- reads it from stdin); never shown again"},
			{flag: "kind", key: "kind", kind: asChoice, usage: "role",
				choices: names(registry.NASBras, registry.NASLac, registry.NASOpenVPN, registry.NASSwitch, registry.NASOther)},
			{flag: "message-authenticator", key: "message_authenticator", kind: asChoice, usage: "require Message-Authenticator",
				choices: names(registry.MessageAuthYes, registry.MessageAuthNo, registry.MessageAuthAuto)},
			{flag: "strip-realm", key: "strip_realm", kind: asBool, usage: "strip @REALM from logins"},
			siteRef,
			{flag: "coa-port", key: "coa_port", kind: asNumber, usage: "CoA/Disconnect port (default 3799)"},
			txt("description", "description", "description"),
			replyAttributeField,
		},
		newInput: func() any { return &registry.NASInput{} },
		list: table(
			col("ID", func(n *registry.NAS) string { return fmtID(n.ID) }),
			col("NAME", func(n *registry.NAS) string { return n.Name }),
			col("ADDRESS", func(n *registry.NAS) string { return address(n.Address) }),
			col("KIND", func(n *registry.NAS) string { return string(n.Kind) }),
			col("MESSAGE-AUTH", func(n *registry.NAS) string { return string(n.MessageAuth) }),
			col("STRIP REALM", func(n *registry.NAS) string { return fmtYesNo(n.StripRealm) }),
			col("COA PORT", func(n *registry.NAS) string { return fmtCount(n.CoAPort) }),
		),
		show: detail(func(s *session, w io.Writer, n *registry.NAS) error {
			site, err := s.named("sites", n.SiteID)
			if err != nil {
				return err
			}
			return (&props{}).add("id", fmtID(n.ID)).add("name", n.Name).add("address", address(n.Address)).
				add("kind", string(n.Kind)).add("secret", fmtSecretSet(n.SecretSet)).add("message-authenticator", string(n.MessageAuth)).
				add("strip realm", fmtYesNo(n.StripRealm)).add("coa port", fmtCount(n.CoAPort)).add("site", site).
				add("description", n.Description).add("created", fmtTime(n.CreatedAt)).add("updated", fmtTime(n.UpdatedAt)).write(w)
		}),
		examples: []string{
			`maillon nas add --name bras1 --address 192.0.2.10 --kind bras --secret - < secret.txt`,
			`maillon nas list`,
			`maillon nas show bras1`,
			`maillon nas edit bras1 --message-authenticator yes`,
			`maillon nas remove bras1`,
		},
	},
	{
		name: "site", aliases: []string{"sites"}, path: "sites",
		short: "sites: residences, datacenters, points of presence", refHelp: "id or name",
		fields: []field{
			txt("name", "name", "name"),
			{flag: "kind", key: "kind", kind: asChoice, usage: "what it is",
				choices: names(registry.SiteResidence, registry.SiteDatacenter, registry.SitePOP, registry.SiteOther)},
			txt("address", "address", "postal address"),
			txt("description", "description", "description"),
		},
		newInput: func() any { return &registry.SiteInput{} },
		list: table(
			col("ID", func(x *registry.Site) string { return fmtID(x.ID) }),
			col("NAME", func(x *registry.Site) string { return x.Name }),
			col("KIND", func(x *registry.Site) string { return string(x.Kind) }),
			col("ADDRESS", func(x *registry.Site) string { return x.Address }),
		),
		show: detail(func(_ *session, w io.Writer, x *registry.Site) error {
			return (&props{}).add("id", fmtID(x.ID)).add("name", x.Name).add("kind", string(x.Kind)).add("address", x.Address).
				add("description", x.Description).add("created", fmtTime(x.CreatedAt)).add("updated", fmtTime(x.UpdatedAt)).write(w)
		}),
		examples: []string{
			`maillon site add --name "Résidence Nord" --kind residence --address "1 rue du Nord, Lille"`,
			`maillon site list`,
			`maillon site show "Résidence Nord"`,
			`maillon site edit "Résidence Nord" --description "240 rooms"`,
			`maillon site remove "Résidence Nord"`,
		},
	},
	{
		name: "host", aliases: []string{"hosts"}, path: "hosts",
		short: "hosts: hypervisors, VMs, routers, switches, with their monthly cost", refHelp: "id, name or address",
		fields: []field{
			txt("name", "name", "name"),
			siteRef,
			txt("role", "role", "role: server, switch (its ports carry rooms), router..."),
			txt("address", "address", "management IP address"),
			{flag: "cpus", key: "cpus", kind: asNumber, usage: "CPU count"},
			{flag: "ram-mb", key: "ram_mb", kind: asNumber, usage: "RAM in MB"},
			{flag: "disk-gb", key: "disk_gb", kind: asNumber, usage: "disk in GB"},
			txt("provider", "provider", "provider or owner"),
			{flag: "monthly-cost", key: "monthly_cost", kind: asMoney, usage: "monthly cost, e.g. 12.50"},
			txt("description", "description", "description"),
		},
		newInput: func() any { return &registry.HostInput{} },
		list:     listHosts,
		show: detail(func(s *session, w io.Writer, h *registry.Host) error {
			site, err := s.named("sites", h.SiteID)
			if err != nil {
				return err
			}
			return (&props{}).add("id", fmtID(h.ID)).add("name", h.Name).add("role", h.Role).add("site", site).
				add("address", hostAddress(h)).add("cpus", fmtCount(h.CPUs)).add("ram", fmtUnit(h.RAMMB, "MB")).add("disk", fmtUnit(h.DiskGB, "GB")).
				add("provider", h.Provider).add("monthly cost", h.MonthlyCost.String()).add("description", h.Description).
				add("created", fmtTime(h.CreatedAt)).add("updated", fmtTime(h.UpdatedAt)).write(w)
		}),
		examples: []string{
			`maillon host add --name pve1 --site DC1 --role server --cpus 16 --ram-mb 65536 --provider Hetzner --monthly-cost 54,90`,
			`maillon host list --search sw`,
			`maillon host show pve1`,
			`maillon host edit pve1 --monthly-cost 59.90`,
			`maillon host remove pve1`,
		},
	},
	{
		name: "port", aliases: []string{"ports"}, path: "ports",
		short: "switch ports and the rooms they serve", refHelp: "id or room",
		fields: []field{
			{flag: "host", key: "host_id", kind: asRef, target: "hosts", usage: "the switch (id, name or address)"},
			txt("name", "name", "port name, e.g. 1/1/13"),
			txt("room", "room", "room it serves"),
			{flag: "vlan", key: "vlan", kind: asNumber, usage: "VLAN (1-4094)"},
		},
		filters: []field{
			{flag: "host", key: "host_id", kind: asRef, target: "hosts", usage: "only the ports of this switch"},
		},
		newInput: func() any { return &registry.PortInput{} },
		list: table(
			col("ID", func(p *registry.Port) string { return fmtID(p.ID) }),
			col("HOST", func(p *registry.Port) string { return fmtID(p.HostID) }),
			col("NAME", func(p *registry.Port) string { return p.Name }),
			col("ROOM", func(p *registry.Port) string { return p.Room }),
			col("VLAN", func(p *registry.Port) string { return fmtCount(p.VLAN) }),
		),
		show: detail(func(s *session, w io.Writer, p *registry.Port) error {
			host, err := s.named("hosts", &p.HostID)
			if err != nil {
				return err
			}
			return (&props{}).add("id", fmtID(p.ID)).add("host", host).add("name", p.Name).add("room", p.Room).
				add("vlan", fmtCount(p.VLAN)).add("created", fmtTime(p.CreatedAt)).add("updated", fmtTime(p.UpdatedAt)).write(w)
		}),
		examples: []string{
			`maillon port add --host sw-nord-1 --name 1/1/13 --room B204 --vlan 204`,
			`maillon port list --host sw-nord-1`,
			`maillon port show B204`,
			`maillon port edit B204 --vlan 205`,
			`maillon port remove B204`,
		},
	},
	{
		name: "cpe", aliases: []string{"cpes"}, path: "cpes",
		short: "CPE stock: routers and modems lent or sold to members", refHelp: "id, serial or MAC",
		fields: []field{
			txt("model", "model", "model"),
			txt("serial", "serial", "serial number"),
			txt("mac", "mac", "MAC address, any notation"),
			{flag: "state", key: "state", kind: asChoice, usage: "where it is",
				choices: names(registry.CPEInStock, registry.CPELent, registry.CPESold, registry.CPEReturned, registry.CPEBroken)},
			{flag: "member", key: "member_id", kind: asRef, target: "members", usage: "holder (id, email, login, IP or MAC; none to clear)"},
			txt("notes", "notes", "free notes"),
		},
		newInput: func() any { return &registry.CPEInput{} },
		list: table(
			col("ID", func(c *registry.CPE) string { return fmtID(c.ID) }),
			col("MODEL", func(c *registry.CPE) string { return c.Model }),
			col("SERIAL", func(c *registry.CPE) string { return c.Serial }),
			col("MAC", func(c *registry.CPE) string { return c.MAC }),
			col("STATE", func(c *registry.CPE) string { return string(c.State) }),
			col("HOLDER", func(c *registry.CPE) string { return fmtRef(c.MemberID) }),
		),
		show: detail(func(s *session, w io.Writer, c *registry.CPE) error {
			holder, err := s.named("members", c.MemberID)
			if err != nil {
				return err
			}
			return (&props{}).add("id", fmtID(c.ID)).add("model", c.Model).add("serial", c.Serial).add("mac", c.MAC).
				add("state", string(c.State)).add("holder", holder).add("notes", c.Notes).
				add("created", fmtTime(c.CreatedAt)).add("updated", fmtTime(c.UpdatedAt)).write(w)
		}),
		examples: []string{
			`maillon cpe add --model "TP-Link Archer C6" --serial 2231A0B1 --mac 50c7.bf01.0203`,
			`maillon cpe list --state in-stock`,
			`maillon cpe show 50:C7:BF:01:02:03`,
			`maillon cpe edit 2231A0B1 --state lent --member ada@example.org`,
			`maillon cpe remove 2231A0B1`,
		},
	},
	{
		name: "admin", aliases: []string{"admins"}, path: "admins",
		short: "admins, their roles and API tokens", refHelp: "id, name or email",
		fields: []field{
			txt("name", "name", "name"),
			txt("email", "email", "email address"),
			{flag: "role", key: "roles", kind: asList, usage: "role (repeatable or comma-separated; replaces all roles)",
				choices: names(registry.RoleAdmin, registry.RoleTechnicalOfficer, registry.RoleReadOnly)},
			{flag: "device-password", key: "device_password", kind: asSecret, generate: true,
				usage: `password for switch and router logins over RADIUS (- reads it from stdin; "" removes it)`},
		},
		newInput: func() any { return &registry.AdminInput{} },
		more:     tokenCmd,
		list: table(
			col("ID", func(a *registry.Admin) string { return fmtID(a.ID) }),
			col("NAME", func(a *registry.Admin) string { return a.Name }),
			col("EMAIL", func(a *registry.Admin) string { return a.Email }),
			col("ROLES", func(a *registry.Admin) string { return strings.Join(names(a.Roles...), ", ") }),
		),
		show: detail(func(_ *session, w io.Writer, a *registry.Admin) error {
			return (&props{}).add("id", fmtID(a.ID)).add("name", a.Name).add("email", a.Email).
				add("roles", strings.Join(names(a.Roles...), ", ")).add("created", fmtTime(a.CreatedAt)).add("updated", fmtTime(a.UpdatedAt)).write(w)
		}),
		examples: []string{
			`maillon admin add --name Grace --email grace@example.org --role technical-officer`,
			`maillon admin list`,
			`maillon admin show grace@example.org`,
			`maillon admin edit grace@example.org --role admin,technical-officer`,
			`maillon admin remove grace@example.org`,
			`maillon admin token create grace@example.org --name laptop --ttl 90d`,
			`maillon admin token revoke 12`,
		},
	},
	{
		name: "zone", aliases: []string{"zones"}, path: "zones",
		short: "forward DNS zones (reverse zones follow IPAM)", refHelp: "id or origin",
		fields: []field{
			txt("origin", "origin", "zone name, e.g. example.org"),
			{flag: "ttl", key: "ttl", kind: asNumber, usage: "default TTL of its records, seconds"},
			txt("description", "description", "description"),
		},
		newInput: func() any { return &registry.ZoneInput{} },
		list: table(
			col("ID", func(z *registry.Zone) string { return fmtID(z.ID) }),
			col("ORIGIN", func(z *registry.Zone) string { return z.Origin }),
			col("DESCRIPTION", func(z *registry.Zone) string { return z.Description }),
		),
		show: detail(func(_ *session, w io.Writer, z *registry.Zone) error {
			return (&props{}).add("id", fmtID(z.ID)).add("origin", z.Origin).add("ttl", fmtID(int64(z.TTL))).
				add("description", z.Description).add("created", fmtTime(z.CreatedAt)).add("updated", fmtTime(z.UpdatedAt)).write(w)
		}),
		examples: []string{
			`maillon zone add --origin example.org`,
			`maillon zone list`,
			`maillon zone remove example.org`,
		},
	},
	{
		name: "record", aliases: []string{"records"}, path: "records",
		short: "DNS records of the forward zones", refHelp: "id",
		fields: []field{
			{flag: "zone", key: "zone_id", kind: asRef, target: "zones", usage: "zone (id or origin)"},
			txt("name", "name", `owner name relative to the zone ("www", "@") or fully qualified`),
			{flag: "type", key: "type", kind: asChoice, choices: registry.RecordTypes, usage: "record type"},
			{flag: "ttl", key: "ttl", kind: asNumber, usage: "TTL in seconds (0: the zone's)"},
			txt("data", "data", `record data in zone-file syntax, e.g. "10 mail.example.org." for MX`),
		},
		newInput: func() any { return &registry.RecordInput{} },
		// TTL 0 means the zone's: say what is served instead.
		list: func(s *session, w io.Writer, items []json.RawMessage) error {
			recs, err := decodeAll[registry.Record](items)
			if err != nil {
				return err
			}
			zones, err := s.recordZones()
			if err != nil {
				return err
			}
			return writeTable(w, s.now(), recs, []column[registry.Record]{
				col("ID", func(r *registry.Record) string { return fmtID(r.ID) }),
				col("ZONE", zones.zone),
				col("NAME", func(r *registry.Record) string { return r.Name }),
				col("TYPE", func(r *registry.Record) string { return r.Type }),
				col("TTL", zones.ttl),
				col("DATA", func(r *registry.Record) string { return r.Data }),
			})
		},
		show: detail(func(s *session, w io.Writer, r *registry.Record) error {
			zones, err := s.recordZones()
			if err != nil {
				return err
			}
			return (&props{}).add("id", fmtID(r.ID)).add("zone", zones.zone(r)).add("name", r.Name).add("type", r.Type).
				add("ttl", zones.ttl(r)).add("data", r.Data).add("created", fmtTime(r.CreatedAt)).write(w)
		}),
		examples: []string{
			`maillon record add --zone example.org --name www --type A --data 198.51.100.80`,
			`maillon record add --zone example.org --name @ --type MX --data "10 mail.example.org."`,
			`maillon record list --search www`,
			`maillon record remove 12`,
		},
	},
}

var subscriptionColumns = []column[registry.Subscription]{
	col("ID", func(s *registry.Subscription) string { return fmtID(s.ID) }),
	col("MEMBER", func(s *registry.Subscription) string { return fmtID(s.MemberID) }),
	col("LOGIN", func(s *registry.Subscription) string { return s.Login }),
	col("KIND", func(s *registry.Subscription) string { return string(s.Kind) }),
	col("STATE", func(s *registry.Subscription) string { return string(s.State) }),
	col("IPV4", func(s *registry.Subscription) string { return activeAddress(s, registry.RoleIPv4) }),
	col("IPV6 /64", func(s *registry.Subscription) string { return activeAddress(s, registry.RoleIPv6) }),
	col("DELEGATED", func(s *registry.Subscription) string { return activeAddress(s, registry.RoleDelegated) }),
}

// optedIn says whether a member takes one kind of email.
func optedIn(yes bool) string {
	if yes {
		return "yes"
	}
	return "no (opted out)"
}

func showMember(s *session, w io.Writer, m *registry.Member) error {
	site, err := s.named("sites", m.SiteID)
	if err != nil {
		return err
	}
	status, end := membership(m, s.now())
	switch end {
	case "":
	case "open-ended":
		status += " (open-ended)"
	default:
		status += " (until " + end + ")"
	}
	c, err := s.Client()
	if err != nil {
		return err
	}
	var prefs registry.MemberPrefs
	if err := c.Do(s.ctx, "GET", "/api/v1/members/"+fmtID(m.ID)+"/notifications", nil, nil, &prefs); err != nil {
		return fmt.Errorf("notification choices of member %d: %w", m.ID, err)
	}
	p := (&props{}).add("id", fmtID(m.ID)).add("name", m.Name).add("email", m.Email).add("phone", m.Phone).
		add("address", m.Address).add("site", site).add("room", m.Room).add("state", string(m.State)).
		add("membership", status).add("periods", periodList(m.Periods)).
		add("emails", fmt.Sprintf("maintenance %s, incidents %s", optedIn(prefs.Maintenance), optedIn(prefs.Incidents))).
		add("notes", m.Notes).add("created", fmtTime(m.CreatedAt)).add("updated", fmtTime(m.UpdatedAt))
	if err := p.write(w); err != nil {
		return err
	}
	subs, err := client.List(s.ctx, c, client.Subscriptions, client.ListOptions{MemberID: m.ID})
	if err != nil {
		return fmt.Errorf("subscriptions of member %d: %w", m.ID, err)
	}
	if len(subs) == 0 {
		_, err := fmt.Fprintln(w, "subscriptions: none")
		return err
	}
	var buf bytes.Buffer
	if err := writeTable(&buf, s.now(), subs, subscriptionColumns); err != nil {
		return err
	}
	_, err = fmt.Fprint(w, "subscriptions:\n"+indent(buf.String()))
	return err
}

func showSubscription(s *session, w io.Writer, sub *registry.Subscription) error {
	var member, cpe, site, port string
	for _, r := range []struct {
		dst        *string
		collection string
		id         *int64
	}{{&member, "members", &sub.MemberID}, {&cpe, "cpes", sub.CPEID}, {&site, "sites", sub.SiteID}, {&port, "ports", sub.PortID}} {
		var err error
		if *r.dst, err = s.named(r.collection, r.id); err != nil {
			return err
		}
	}
	return (&props{}).add("id", fmtID(sub.ID)).add("login", sub.Login).add("member", member).
		add("kind", string(sub.Kind)).add("state", string(sub.State)).add("password", fmtSecretSet(sub.PasswordSet)).
		add("ipv4", activeAddress(sub, registry.RoleIPv4)).add("ipv6", activeAddress(sub, registry.RoleIPv6)).
		add("delegated", activeAddress(sub, registry.RoleDelegated)).add("static", activeAddress(sub, registry.RoleStatic)).
		add("upstream ref", sub.UpstreamRef).add("mac", sub.MAC).add("vlan", fmtCount(sub.VLAN)).
		add("cpe", cpe).add("site", site).add("port", port).add("notes", sub.Notes).
		add("created", fmtTime(sub.CreatedAt)).add("updated", fmtTime(sub.UpdatedAt)).write(w)
}

// listHosts adds the total monthly cost under the table: the sum the
// seeds' treasurers recompute by hand in a wiki.
func listHosts(s *session, w io.Writer, items []json.RawMessage) error {
	hosts, err := decodeAll[registry.Host](items)
	if err != nil {
		return err
	}
	var total registry.Money
	for _, h := range hosts {
		total += h.MonthlyCost
	}
	sites, err := s.nameMap("sites")
	if err != nil {
		return err
	}
	err = writeTable(w, s.now(), hosts, []column[registry.Host]{
		col("ID", func(h *registry.Host) string { return fmtID(h.ID) }),
		col("NAME", func(h *registry.Host) string { return h.Name }),
		col("ROLE", func(h *registry.Host) string { return h.Role }),
		col("SITE", func(h *registry.Host) string {
			if h.SiteID == nil {
				return ""
			}
			return nameOr(sites, *h.SiteID)
		}),
		col("ADDRESS", hostAddress),
		col("CPUS", func(h *registry.Host) string { return fmtCount(h.CPUs) }),
		col("RAM", func(h *registry.Host) string { return fmtUnit(h.RAMMB, "MB") }),
		col("DISK", func(h *registry.Host) string { return fmtUnit(h.DiskGB, "GB") }),
		col("PROVIDER", func(h *registry.Host) string { return h.Provider }),
		col("MONTHLY COST", func(h *registry.Host) string { return h.MonthlyCost.String() }),
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "total monthly cost: %s (%d hosts)\n", total, len(hosts))
	return err
}

func hostAddress(h *registry.Host) string {
	if !h.Address.IsValid() {
		return ""
	}
	return h.Address.String()
}

func fmtUnit(n int, u string) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d %s", n, u)
}

func prefixBlocks(p *registry.Prefix) string {
	if p.Purpose == registry.PurposeAggregate {
		return ""
	}
	return fmt.Sprintf("/%d", p.BlockBits)
}

func prefixUsage(p *registry.Prefix) string {
	if p.Purpose == registry.PurposeAggregate {
		return ""
	}
	return fmt.Sprintf("%d/%d", p.Used, p.Capacity)
}

func fmtSecretSet(b bool) string {
	if b {
		return "set (never shown)"
	}
	return "not set"
}

// named describes a referenced object as "id (name)" for show views,
// asking the daemon for its name; nil is no reference.
func (s *session) named(collection string, ref *int64) (string, error) {
	if ref == nil {
		return "", nil
	}
	c, err := s.Client()
	if err != nil {
		return "", err
	}
	raw, err := client.Get(s.ctx, c, client.Raw(collection), fmtID(*ref))
	if err != nil {
		return "", fmt.Errorf("%s %d: %w", collection, *ref, err)
	}
	var o struct{ Name, Email, Serial, Room string }
	if err := json.Unmarshal(raw, &o); err != nil {
		return "", fmt.Errorf("%s %d: reading the daemon's answer: %w", collection, *ref, err)
	}
	var parts []string
	for _, v := range []string{o.Name, o.Serial, o.Room} {
		if v != "" {
			parts = append(parts, v)
			break
		}
	}
	if o.Email != "" {
		parts = append(parts, "<"+o.Email+">")
	}
	if len(parts) == 0 {
		return fmtID(*ref), nil
	}
	return fmtID(*ref) + " (" + strings.Join(parts, " ") + ")", nil
}

// prefixForward says whether the template names also get A/AAAA records;
// without a template there is nothing to say.
func prefixForward(p *registry.Prefix) string {
	if p.PTRTemplate == "" {
		return ""
	}
	return fmtYesNo(p.DNSForward)
}

// indent shifts a nested table under its heading.
func indent(text string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(text, "\n") {
		if line != "" {
			b.WriteString("  " + line)
		}
	}
	return b.String()
}
