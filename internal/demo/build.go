package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"maillon/internal/registry"
)

func ptr[T any](v T) *T { return &v }

// gen builds the demo inside one batch.
type gen struct {
	b     *registry.Batch
	rng   *rand.Rand
	today registry.Date
	now   time.Time
	used  map[string]bool // logins, emails, MACs, serials already handed out
	sum   Summary

	sites    map[string]int64 // by short name
	rooms    map[string]int64 // port id by room
	vlans    map[string]int   // VLAN by room
	plan     []profile
	members  []registry.Member
	cpeOf    map[int]int64 // lent CPE by member index
	infraIdx int
}

func (g *gen) build() error {
	steps := []func() error{g.makeSites, g.makePrefixes, g.makeZone, g.makeNAS, g.makeHosts, g.makeMembers, g.makeCPEs, g.makeSubscriptions, g.makeAdmins}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// unique draws from fn until it returns something not yet used.
func (g *gen) unique(fn func() string) string {
	for {
		v := fn()
		if !g.used[v] {
			g.used[v] = true
			return v
		}
	}
}

func (g *gen) pick(list []string) string { return list[g.rng.IntN(len(list))] }

func (g *gen) mac() string {
	return g.unique(func() string {
		b := make([]byte, 6)
		for i := range b {
			b[i] = byte(g.rng.IntN(256))
		}
		b[0] &^= 0x03 // unicast, globally administered: what a real device shows
		return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
	})
}

func (g *gen) password() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY346789"
	var b strings.Builder
	for range 14 {
		b.WriteByte(alphabet[g.rng.IntN(len(alphabet))])
	}
	return b.String()
}

func (g *gen) phone() string {
	if g.rng.IntN(2) == 0 {
		// Belgian mobile (Neutrinet's members)
		return fmt.Sprintf("+32 4%02d %02d %02d %02d", 70+g.rng.IntN(30), g.rng.IntN(100), g.rng.IntN(100), g.rng.IntN(100))
	}
	return fmt.Sprintf("06 %02d %02d %02d %02d", g.rng.IntN(100), g.rng.IntN(100), g.rng.IntN(100), g.rng.IntN(100))
}

// ---------------------------------------------------------------- sites

type siteSpec struct {
	short string
	in    registry.SiteInput
}

var siteSpecs = []siteSpec{
	{"rives", registry.SiteInput{Name: ptr("Résidence Les Rives"), Kind: ptr(registry.SiteResidence),
		Address:     ptr("Rue des Rives, 91400 Orsay"),
		Description: ptr("Crous residence, three buildings; wired rooms behind Aruba 2530 switches, uplink 1 Gbit/s")}},
	{"fleming", registry.SiteInput{Name: ptr("Résidence Fleming"), Kind: ptr(registry.SiteResidence),
		Address:     ptr("Les jardins de Fleming, 91400 Orsay"),
		Description: ptr("village 3; 10 Gbit/s fibre to the core, local Flemnet in the basement")}},
	{"caldarium", registry.SiteInput{Name: ptr("PoP Caldarium"), Kind: ptr(registry.SitePOP),
		Address:     ptr("Rue de la Colline 8, 1000 Bruxelles"),
		Description: ptr("collection point: the wholesale aggregator hands PPPoE/L2TP lines over here")}},
	{"th2", registry.SiteInput{Name: ptr("TeleHouse 2"), Kind: ptr(registry.SiteDatacenter),
		Address:     ptr("137 boulevard Voltaire, 75011 Paris"),
		Description: ptr("our rack: hypervisors, BRAS, transit")}},
}

func (g *gen) makeSites() error {
	g.sites = map[string]int64{}
	for _, s := range siteSpecs {
		site, err := g.b.CreateSite(s.in)
		if err != nil {
			return fmt.Errorf("site %s: %w", *s.in.Name, err)
		}
		g.sites[s.short] = site.ID
		g.sum.Sites++
	}
	return nil
}

// ---------------------------------------------------------------- IPAM

func (g *gen) makePrefixes() error {
	type p struct {
		cidr    string
		purpose registry.Purpose
		bits    int
		kind    registry.SubscriptionKind
		desc    string
		ptr     string
	}
	for _, x := range []p{
		{"198.51.100.0/24", registry.PurposeAggregate, 0, "", "IPv4 block announced by the demo ISP", ""},
		{"198.51.100.0/25", registry.PurposeSubscriber, 32, registry.KindPPP, "ppp lines: one /32 each", "{login}.dsl." + Domain},
		{"198.51.100.128/26", registry.PurposeSubscriber, 32, registry.KindVPN, "VPN users: one /32 each", "{login}.vpn." + Domain},
		{"198.51.100.192/26", registry.PurposeInfrastructure, 32, "", "routers, switches, servers", ""},
		{"2001:db8::/32", registry.PurposeAggregate, 0, "", "IPv6 block announced by the demo ISP", ""},
		{"2001:db8:100::/40", registry.PurposeSubscriber, 64, "", "one /64 per line (Framed-IPv6-Prefix)", "ip-{ip}." + Domain},
		{"2001:db8:1000::/36", registry.PurposeDelegated, 56, "", "one /56 per line (Delegated-IPv6-Prefix)", ""},
		{"2001:db8:2000::/44", registry.PurposeDelegated, 60, registry.KindVPN, "VPN users get a /60", ""},
		{"2001:db8:ffff::/48", registry.PurposeInfrastructure, 64, "", "infrastructure links and loopbacks", ""},
	} {
		in := registry.PrefixInput{CIDR: ptr(x.cidr), Purpose: ptr(x.purpose), Description: ptr(x.desc)}
		if x.bits != 0 {
			in.BlockBits = ptr(x.bits)
		}
		if x.kind != "" {
			in.Kind = ptr(x.kind)
		}
		if x.ptr != "" {
			in.PTRTemplate = ptr(x.ptr)
			in.DNSForward = ptr(x.purpose == registry.PurposeSubscriber && strings.Contains(x.cidr, "."))
		}
		if _, err := g.b.CreatePrefix(in); err != nil {
			return fmt.Errorf("prefix %s: %w", x.cidr, err)
		}
		g.sum.Prefixes++
	}
	return nil
}

// Domain is the demo ISP's forward zone.
const Domain = "example.net."

// makeZone creates the demo's forward zone: the ISP's own names; the
// subscribers' names come from the PTR templates of the pools.
func (g *gen) makeZone() error {
	z, err := g.b.CreateZone(registry.ZoneInput{Origin: ptr(Domain), Description: ptr("the demo ISP's domain")})
	if err != nil {
		return fmt.Errorf("zone: %w", err)
	}
	for _, r := range [][3]string{
		{"ns1", "A", "198.51.100.193"},
		{"ns1", "AAAA", "2001:db8:ffff::53"},
		{"www", "A", "198.51.100.194"},
		{"mail", "A", "198.51.100.195"},
		{"@", "MX", "10 mail." + Domain},
		{"@", "TXT", `"v=spf1 mx -all"`},
		{"status", "CNAME", "www." + Domain},
	} {
		if _, err := g.b.CreateRecord(registry.RecordInput{ZoneID: &z.ID, Name: ptr(r[0]), Type: ptr(r[1]), Data: ptr(r[2])}); err != nil {
			return fmt.Errorf("record %s %s: %w", r[0], r[1], err)
		}
	}
	return nil
}

// infraAddr hands out addresses of 198.51.100.192/26 to hosts, by hand.
func (g *gen) infraAddr() string {
	g.infraIdx++
	return fmt.Sprintf("198.51.100.%d", 192+g.infraIdx)
}

// ---------------------------------------------------------------- NAS

func (g *gen) makeNAS() error {
	for _, n := range []struct {
		info  NASInfo
		ma    registry.MessageAuthPolicy
		site  string
		shown bool
		desc  string
	}{
		{NASInfo{NASName, NASAddress, registry.NASBras, NASSecret}, registry.MessageAuthAuto, "caldarium", true,
			"demo BRAS; message-authenticator auto because radtest does not always send one"},
		{NASInfo{"demo-openvpn", "127.0.0.2", registry.NASOpenVPN, "demo-openvpn-secret"}, registry.MessageAuthYes, "th2", true,
			"OpenVPN server (radiusplugin)"},
		{NASInfo{"demo-switches", "127.0.1.0/24", registry.NASSwitch, "demo-switch-secret"}, registry.MessageAuthYes, "rives", true,
			"residence switches: MAC authentication and 802.1X, VLAN per room"},
	} {
		_, err := g.b.CreateNAS(registry.NASInput{
			Name: ptr(n.info.Name), Address: ptr(n.info.Address), Secret: ptr(n.info.Secret),
			Kind: ptr(n.info.Kind), MessageAuth: ptr(n.ma), StripRealm: ptr(false),
			SiteID: ptr(g.sites[n.site]), Description: ptr(n.desc),
		})
		if err != nil {
			return fmt.Errorf("NAS %s: %w", n.info.Name, err)
		}
		g.sum.NAS = append(g.sum.NAS, n.info)
	}
	return nil
}

// ---------------------------------------------------------------- hosts

type hostSpec struct {
	name, site, role, provider, desc string
	cpus, ramMB, diskGB              int
	cost                             registry.Money // cents per month
	infra                            bool           // give it an infrastructure address
}

var hostSpecs = []hostSpec{
	{"merlin", "th2", "hypervisor", "own hardware", "HPE ProLiant DL360 Gen9, Proxmox VE, 10G card", 24, 65536, 4000, 0, true},
	{"viviane", "rives", "hypervisor", "own hardware", "HPE ProLiant DL380 Gen8, Proxmox VE; fan and USB ports worn", 16, 32768, 2000, 0, true},
	{"bras-01", "caldarium", "router", "own hardware", "PPPoE/L2TP concentrator facing the aggregator", 8, 16384, 120, 0, true},
	{"radius-01", "th2", "vm", "merlin", "maillon (RADIUS, DNS)", 2, 4096, 40, 0, true},
	{"ns1", "th2", "vm", "merlin", "authoritative DNS, Knot secondary", 1, 2048, 20, 0, true},
	{"monitoring", "", "vm", "Hetzner", "Hetzner CX21 with backup option, Prometheus and Grafana", 2, 4096, 40, 720, false},
	{"probe-02", "", "vm", "OVH", "OVHcloud VPS, 43.56 EUR/year, peering probe", 1, 2048, 20, 363, false},
	{"runner", "", "vm", "Hetzner", "Hetzner CX11, GitLab runner", 1, 2048, 20, 421, false},
	{"pbs", "", "backup", "Hetzner", "Hetzner SB57, Proxmox Backup Server, 4x2 TB", 8, 32768, 8000, 5800, false},
}

type switchSpec struct {
	name, site, model string
	vlan              int
	rooms             []string
}

func roomRange(prefix string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

var switchSpecs = []switchSpec{
	{"sw-rives-a", "rives", "Aruba 2530-24G", 110, roomRange("A", 101, 112)},
	{"sw-rives-b", "rives", "Aruba 2530-24G", 110, roomRange("B", 201, 212)},
	{"sw-fleming-1", "fleming", "HPE 2920-24G", 120, roomRange("F", 101, 110)},
}

func (g *gen) makeHosts() error {
	for _, h := range hostSpecs {
		in := registry.HostInput{
			Name: ptr(h.name), Role: ptr(h.role), CPUs: ptr(h.cpus), RAMMB: ptr(h.ramMB), DiskGB: ptr(h.diskGB),
			Provider: ptr(h.provider), MonthlyCost: ptr(h.cost), Description: ptr(h.desc),
		}
		if h.site != "" {
			in.SiteID = ptr(g.sites[h.site])
		}
		if h.infra {
			in.Address = ptr(g.infraAddr())
		}
		if _, err := g.b.CreateHost(in); err != nil {
			return fmt.Errorf("host %s: %w", h.name, err)
		}
		g.sum.Hosts++
		g.sum.MonthlyCost += h.cost
	}
	g.rooms, g.vlans = map[string]int64{}, map[string]int{}
	for _, s := range switchSpecs {
		sw, err := g.b.CreateHost(registry.HostInput{
			Name: ptr(s.name), SiteID: ptr(g.sites[s.site]), Role: ptr(registry.HostRoleSwitch),
			Address: ptr(g.infraAddr()), Provider: ptr("own hardware"), Description: ptr(s.model),
		})
		if err != nil {
			return fmt.Errorf("switch %s: %w", s.name, err)
		}
		g.sum.Hosts++
		g.sum.Switches++
		for i, room := range s.rooms {
			p, err := g.b.CreatePort(registry.PortInput{
				HostID: ptr(sw.ID), Name: ptr(fmt.Sprintf("1/1/%d", i+1)), Room: ptr(room), VLAN: ptr(s.vlan),
			})
			if err != nil {
				return fmt.Errorf("switch %s port %d: %w", s.name, i+1, err)
			}
			g.rooms[room], g.vlans[room] = p.ID, s.vlan
			g.sum.Ports++
		}
		// The uplink: a trunk, no room.
		if _, err := g.b.CreatePort(registry.PortInput{HostID: ptr(sw.ID), Name: ptr("1/1/24")}); err != nil {
			return fmt.Errorf("switch %s uplink: %w", s.name, err)
		}
		g.sum.Ports++
	}
	return nil
}

// ---------------------------------------------------------------- members

type role int

const (
	roleNone role = iota
	rolePPP
	roleVPN
	roleResident
	roleVM
)

type membership int

const (
	msCurrent  membership = iota
	msRenewed             // an expired period, then a current one
	msAcademic            // the residence's academic year, September to August
	msExpired
	msMovedOut // a resident whose academic year ended
	msFuture
)

// profile is the plan for one member.
type profile struct {
	name, email   string
	role          role
	ms            membership
	state         registry.MemberState
	noPhone       bool
	login, pass   string
	subState      registry.SubscriptionState
	subNote, note string
	site, room    string
}

// plan lays out the 50 members; who is special is decided here, by index,
// so the tests can count on it.
func plan() []profile {
	ps := make([]profile, 50)
	ps[0] = profile{name: "demo1", email: "demo1@example.org", login: Login, pass: Password,
		note: "the demo subscriber: try radtest with it"}
	ps[1] = profile{name: "demo2", email: "demo2@example.org", login: SuspendedLogin, pass: "demo2-password",
		subState: registry.SubSuspended, subNote: "suspended: membership fee unpaid since March"}
	for i := 0; i < 20; i++ {
		ps[i].role = rolePPP
	}
	ps[5].ms, ps[5].note = msExpired, "renewal reminder sent twice"
	ps[12].ms, ps[12].subState, ps[12].subNote = msExpired, registry.SubClosed, "line closed at the member's request; FRITZ!Box returned"
	ps[9].ms, ps[15].ms = msRenewed, msRenewed
	for i := 20; i < 28; i++ {
		ps[i].role = roleVPN
	}
	ps[22].noPhone = true
	ps[25].state, ps[25].subState, ps[25].note = registry.MemberSuspended, registry.SubSuspended, "abuse report (open relay), suspended until fixed"
	ps[27].ms = msRenewed
	rives := []string{"A101", "A102", "A103", "A104", "A105", "A106", "B201", "B202", "B203", "B204"}
	for i, room := range rives {
		ps[28+i] = profile{role: roleResident, ms: msAcademic, site: "rives", room: room}
	}
	ps[30].ms, ps[30].subState, ps[30].subNote = msMovedOut, registry.SubClosed, "moved out in August"
	ps[33].noPhone = true
	for i := 0; i < 6; i++ {
		ps[38+i] = profile{role: roleResident, ms: msAcademic, site: "fleming", room: fmt.Sprintf("F%d", 101+i)}
	}
	ps[44].role, ps[45].role = roleVM, roleVM
	ps[46].ms, ps[46].note = msFuture, "joins next month, line ordered from the aggregator"
	ps[47].ms, ps[47].state, ps[47].note = msExpired, registry.MemberArchived, "left the association"
	ps[48].noPhone, ps[48].note = true, "supporting member, no line"
	ps[49].ms = msExpired
	return ps
}

var (
	firstNames = []string{"Camille", "Lou", "Sacha", "Noé", "Inès", "Yanis", "Maëlle", "Hugo", "Léa", "Nour",
		"Jules", "Zoé", "Théo", "Manon", "Élise", "Karim", "Anaïs", "Bastien", "Chloé", "Mehdi", "Julie", "Arthur",
		"Salomé", "Lucas", "Amélie", "Wout", "Fien", "Jonas", "Elif", "Rémi"}
	lastNames = []string{"Martin", "Dubois", "Lefèvre", "Peeters", "Janssens", "Nguyen", "Moreau", "Claes",
		"Girard", "Bernard", "Maes", "Rousseau", "Fontaine", "Willems", "Mercier", "Lambert", "Dupont", "Jacobs",
		"Benali", "Garnier", "Leroy", "Goossens", "Faure", "Renard"}
	streets = []string{"rue de la Colline", "avenue Louise", "chaussée d'Ixelles", "rue Haute", "rue des Tanneurs",
		"boulevard Voltaire", "rue de Charonne", "rue du Faubourg Saint-Antoine", "rue de Flandre"}
	cities  = []string{"1000 Bruxelles", "1050 Ixelles", "1060 Saint-Gilles", "1030 Schaerbeek", "75011 Paris", "75019 Paris", "93100 Montreuil"}
	domains = []string{"example.org", "example.net", "example.com"}
)

var slugger = strings.NewReplacer("é", "e", "è", "e", "ê", "e", "ë", "e", "à", "a", "â", "a", "ï", "i", "î", "i",
	"ô", "o", "ù", "u", "û", "u", "ü", "u", "ç", "c", "É", "e", "Œ", "oe", "œ", "oe", " ", ".", "'", "")

func slug(s string) string { return strings.ToLower(slugger.Replace(s)) }

// academicYear is the September-to-August year that holds day.
func academicYear(day registry.Date) (registry.Date, registry.Date) {
	t := day.Time()
	y := t.Year()
	if t.Month() < time.September {
		y--
	}
	start := registry.DateOf(time.Date(y, time.September, 1, 0, 0, 0, 0, time.UTC))
	return start, start.AddYears(1).AddDays(-1)
}

func (g *gen) periods(ms membership) []registry.Period {
	days := func(lo, hi int) int { return lo + g.rng.IntN(hi-lo+1) }
	end := func(d registry.Date) *registry.Date { return &d }
	switch ms {
	case msRenewed:
		s1 := g.today.AddDays(-days(400, 700))
		s2 := s1.AddYears(1)
		return []registry.Period{{Start: s1, End: end(s2.AddDays(-1))}, {Start: s2, End: end(s2.AddYears(1).AddDays(-1))}}
	case msAcademic:
		s, e := academicYear(g.today)
		return []registry.Period{{Start: s, End: &e}}
	case msMovedOut:
		s, _ := academicYear(g.today)
		ps, pe := s.AddYears(-1), s.AddDays(-1)
		return []registry.Period{{Start: ps, End: &pe}}
	case msExpired:
		return []registry.Period{{Start: g.today.AddDays(-days(400, 900)), End: end(g.today.AddDays(-days(15, 300)))}}
	case msFuture:
		return []registry.Period{{Start: g.today.AddDays(days(7, 30))}}
	}
	if g.rng.IntN(2) == 0 {
		return []registry.Period{{Start: g.today.AddDays(-days(30, 900))}}
	}
	s := g.today.AddDays(-days(10, 330))
	return []registry.Period{{Start: s, End: end(s.AddYears(1).AddDays(-1))}}
}

func (g *gen) makeMembers() error {
	ps := plan()
	for i := range ps {
		p := &ps[i]
		if p.name == "" {
			var first, last string
			p.name = g.unique(func() string {
				first, last = g.pick(firstNames), g.pick(lastNames)
				return first + " " + last
			})
			p.email = g.unique(func() string {
				return slug(first) + "." + slug(last) + "@" + g.pick(domains)
			})
		}
		in := registry.MemberInput{
			Name: ptr(p.name), Email: ptr(p.email), Periods: ptr(g.periods(p.ms)),
		}
		if p.state != "" {
			in.State = ptr(p.state)
		}
		if !p.noPhone {
			in.Phone = ptr(g.phone())
		}
		if p.site != "" {
			in.SiteID, in.Room = ptr(g.sites[p.site]), ptr(p.room)
		} else {
			in.Address = ptr(fmt.Sprintf("%d %s, %s", 1+g.rng.IntN(180), g.pick(streets), g.pick(cities)))
		}
		if p.note != "" {
			in.Notes = ptr(p.note)
		}
		m, err := g.b.CreateMember(in)
		if err != nil {
			return fmt.Errorf("member %s: %w", p.name, err)
		}
		g.members = append(g.members, m)
		g.sum.Members++
		if m.State == registry.MemberArchived {
			g.sum.Archived++
		}
		switch m.MembershipAt(g.now) {
		case registry.MembershipCurrent:
			g.sum.Current++
		case registry.MembershipExpired:
			g.sum.Expired++
		case registry.MembershipFuture:
			g.sum.Future++
		}
	}
	g.plan = ps
	return nil
}

// ---------------------------------------------------------------- CPE

func (g *gen) makeCPEs() error {
	type c struct {
		model, serialFmt string
		state            registry.CPEState
		member           int // index in the plan, -1 for none
		notes            string
	}
	g.cpeOf = map[int]int64{}
	for _, x := range []c{
		{"MikroTik hAP ax2", "HGF0%06d", registry.CPELent, 0, "lent with the line"},
		{"MikroTik hAP ax2", "HGF0%06d", registry.CPELent, 3, "lent with the line"},
		{"Turris Omnia", "TO%08d", registry.CPELent, 4, "lent; OpenWrt-based, member updates it"},
		{"MikroTik hAP ax2", "HGF0%06d", registry.CPELent, 6, ""},
		{"Turris Omnia", "TO%08d", registry.CPESold, 7, "sold at cost"},
		{"Brique Internet (Olimex LIME2)", "LIME2-%05d", registry.CPESold, 8, "sold at cost, YunoHost"},
		{"FRITZ!Box 7530", "FB7530-%07d", registry.CPEReturned, 12, "returned when the line was closed"},
		{"TP-Link Archer C7 (OpenWrt)", "TPC7-%07d", registry.CPEBroken, -1, "power supply dead, kept for parts"},
		{"MikroTik hAP ax2", "HGF0%06d", registry.CPEInStock, -1, ""},
		{"MikroTik hAP ax2", "HGF0%06d", registry.CPEInStock, -1, ""},
		{"Brique Internet (Olimex LIME2)", "LIME2-%05d", registry.CPEInStock, -1, "flashed, ready to lend"},
	} {
		serial := g.unique(func() string { return fmt.Sprintf(x.serialFmt, g.rng.IntN(1_000_000)) })
		in := registry.CPEInput{Model: ptr(x.model), Serial: ptr(serial), MAC: ptr(g.mac()), State: ptr(x.state)}
		if x.notes != "" {
			in.Notes = ptr(x.notes)
		}
		if x.member >= 0 {
			in.MemberID = ptr(g.members[x.member].ID)
		}
		cpe, err := g.b.CreateCPE(in)
		if err != nil {
			return fmt.Errorf("CPE %s: %w", serial, err)
		}
		if x.state == registry.CPELent {
			g.cpeOf[x.member] = cpe.ID
		}
		g.sum.CPEs++
	}
	return nil
}

// ---------------------------------------------------------------- subscriptions

// makeSubscriptions creates the lines in plan order, so demo1's line is
// the first to draw from the pools.
func (g *gen) makeSubscriptions() error {
	for i, p := range g.plan {
		if p.role == roleNone {
			continue
		}
		m := g.members[i]
		in := registry.SubscriptionInput{MemberID: ptr(m.ID)}
		if p.subState != "" {
			in.State = ptr(p.subState)
		}
		if p.subNote != "" {
			in.Notes = ptr(p.subNote)
		}
		if id, ok := g.cpeOf[i]; ok {
			in.CPEID = ptr(id)
		}
		pass := p.pass
		if pass == "" {
			pass = g.password()
		}
		who := slug(m.Name)
		switch p.role {
		case rolePPP:
			login := p.login
			if login == "" {
				login = g.unique(func() string { return fmt.Sprintf("p%06x@%s", g.rng.IntN(1<<24), Realm) })
			}
			tech := "FTTH"
			if g.rng.IntN(3) == 0 {
				tech = "VDSL"
			}
			in.Kind, in.Login, in.Password = ptr(registry.KindPPP), ptr(login), ptr(pass)
			in.UpstreamRef = ptr(g.unique(func() string { return fmt.Sprintf("VX-%s-%07d", tech, 8100000+g.rng.IntN(100000)) }))
			in.SiteID = ptr(g.sites["caldarium"])
		case roleVPN:
			in.Kind, in.Login, in.Password = ptr(registry.KindVPN), ptr("vpn-"+who), ptr(pass)
			in.SiteID = ptr(g.sites["th2"])
		case roleResident:
			in.Kind, in.Login = ptr(registry.KindRoomPort), ptr(fmt.Sprintf("%s-%s", p.site, strings.ToLower(p.room)))
			in.SiteID, in.PortID = ptr(g.sites[p.site]), ptr(g.rooms[p.room])
			in.MAC, in.VLAN = ptr(g.mac()), ptr(g.vlans[p.room])
		case roleVM:
			in.Kind, in.Login = ptr(registry.KindVM), ptr("vm-"+who)
			in.SiteID = ptr(g.sites["th2"])
			in.Notes = ptr("Debian 12, 2 vCPU, 2 GB RAM, 20 GB disk on merlin")
			if _, err := g.b.CreateHost(registry.HostInput{
				Name: ptr("vm-" + who), SiteID: ptr(g.sites["th2"]), Role: ptr("vm"), CPUs: ptr(2), RAMMB: ptr(2048), DiskGB: ptr(20),
				Provider: ptr("merlin"), Description: ptr("member VM of " + m.Name),
			}); err != nil {
				return fmt.Errorf("host vm-%s: %w", who, err)
			}
			g.sum.Hosts++
		}
		sub, err := g.b.CreateSubscription(in)
		if err != nil {
			return fmt.Errorf("subscription %s: %w", *in.Login, err)
		}
		g.sum.Subscriptions++
		switch sub.Kind {
		case registry.KindPPP:
			g.sum.PPP++
		case registry.KindVPN:
			g.sum.VPN++
		case registry.KindRoomPort:
			g.sum.RoomPorts++
		case registry.KindVM:
			g.sum.VMs++
		}
		if sub.State == registry.SubSuspended {
			g.sum.Suspended++
		}
		if sub.Login == Login {
			g.sum.Demo = Subscriber{Member: m.Name, Login: sub.Login, Password: Password}
			for _, a := range sub.Addresses {
				switch a.Role {
				case registry.RoleIPv4:
					g.sum.Demo.IPv4 = a.Block.Addr()
				case registry.RoleIPv6:
					g.sum.Demo.IPv6 = a.Block
				case registry.RoleDelegated:
					g.sum.Demo.Delegated = a.Block
				}
			}
		}
	}
	g.sum.SuspendedLogin = SuspendedLogin
	return nil
}

// ---------------------------------------------------------------- admins

func (g *gen) makeAdmins() error {
	for _, a := range []struct {
		name  string
		roles []registry.Role
	}{
		{"camille", []registry.Role{registry.RoleAdmin}},
		{"erwan", []registry.Role{registry.RoleTechnicalOfficer}},
		{"sacha", []registry.Role{registry.RoleAdmin, registry.RoleTechnicalOfficer}},
		{"noor", []registry.Role{registry.RoleReadOnly}},
	} {
		admin, err := g.b.CreateAdmin(registry.AdminInput{Name: ptr(a.name), Email: ptr(a.name + "@demo.example.org"), Roles: ptr(a.roles)})
		if err != nil {
			return fmt.Errorf("admin %s: %w", a.name, err)
		}
		roles := make([]string, len(admin.Roles))
		for i, r := range admin.Roles {
			roles[i] = string(r)
		}
		g.sum.Admins = append(g.sum.Admins, fmt.Sprintf("%s (%s)", admin.Name, strings.Join(roles, ", ")))
	}
	return nil
}
