package dns

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// Journal bounds: beyond them a secondary falls back to AXFR, which is what a
// long IXFR would cost anyway.
const (
	maxDeltas      = 100
	minJournalRRs  = 1000
	maxProblems    = 200
	maxPrefixZones = 256
)

// Build turns a Source into a Snapshot. prev is the snapshot served so far
// (nil at start): a zone whose contents did not change keeps its serial and
// journal, and a zone that changed gets the serial max(prev+1, unix time,
// MinSerial) and a journal entry for IXFR. Unix time keeps serials monotonic
// across restarts as long as changes average less than one a second; an
// application that needs more can persist serials into MinSerial.
//
// When only records and allocations changed since prev (the common case: a
// subscriber added, an address moved), Build regenerates just the changed
// inputs and patches copies of the affected zones, so that a change on a
// 20,000-subscriber registry is served in milliseconds; any configuration
// change rebuilds everything.
//
// Build fails only on zone configuration errors; bad records and allocations
// are skipped and listed in Snapshot.Problems.
func Build(src Source, prev *Snapshot, now time.Time) (*Snapshot, error) {
	b := &builder{
		zones: map[string]*zoneBuild{},
		snap:  &Snapshot{zones: map[string]*Zone{}, keys: map[string]TSIGKey{}},
	}
	for _, k := range src.Keys {
		name := canonical(k.Name)
		if k.Algorithm == "" {
			k.Algorithm = "hmac-sha256"
		}
		k.Name = name
		k.Algorithm = canonical(k.Algorithm)
		b.snap.keys[name] = k
	}
	configs := map[string]ZoneConfig{}
	for _, zc := range src.Zones {
		o := canonical(zc.Origin)
		if _, dup := configs[o]; dup {
			return nil, fmt.Errorf("dns: zone %s configured twice", o)
		}
		configs[o] = zc
	}
	b.zoneKey = src.ZoneKey
	for _, zc := range src.Zones {
		if err := b.addZone(zc); err != nil {
			return nil, err
		}
	}
	for _, p := range src.Prefixes {
		if root, _ := rootPrefix(src.Prefixes, p.Prefix); root != p.Prefix.Masked() {
			continue // its addresses live in the zones of the prefix around it
		}
		origins, err := reverseZones(p.Prefix)
		if err != nil {
			return nil, fmt.Errorf("dns: prefix %s: %w", p.Prefix, err)
		}
		for _, o := range origins {
			if b.zones[o] != nil {
				continue
			}
			zc := src.Reverse
			zc.Origin = o
			if err := b.addZone(zc); err != nil {
				return nil, fmt.Errorf("dns: reverse zone of %s: %w", p.Prefix, err)
			}
		}
	}
	// SOA records change a zone's SOA: configuration, not contents.
	var soas []Record
	for _, r := range src.Records {
		if strings.EqualFold(strings.TrimSpace(r.Type), "SOA") {
			soas = append(soas, r)
			if _, err := b.recordItems(r); err != nil {
				b.problem("record %s %s %s: %v", r.Name, r.Type, r.Data, err)
			}
		}
	}
	// Only what shapes the zones' contents forces a full build: transfer
	// ACLs, secondaries, push targets and keys are taken from the new
	// configuration whatever the path.
	shape := func(zc ZoneConfig) ZoneConfig {
		zc.Notify, zc.Transfer, zc.Push, zc.DNSSEC = nil, nil, nil, nil
		return zc
	}
	var shapes []ZoneConfig
	for _, zc := range src.Zones {
		shapes = append(shapes, shape(zc))
	}
	b.snap.config = fmt.Sprintf("%v|%v|%v|%v|%s", shapes, shape(src.Reverse), src.Prefixes, soas, b.keyShapes())
	// The next snapshot takes prev's cache over rather than build its own
	// (60,000 entries to hash and insert on every change otherwise): prev
	// is left without one, so a second Build from it starts from scratch.
	var c *cache
	if prev != nil && prev.config == b.snap.config && prev.cache != nil {
		c, prev.cache = prev.cache, nil
		c.gen++
	} else {
		c = &cache{records: make(map[Record]*cached, len(src.Records)), allocs: make(map[Allocation]*cached, len(src.Allocations))}
	}
	b.snap.cache = c
	incremental := c.gen > 0
	had := len(c.records) + len(c.allocs)

	// Generate the records of new inputs; reuse the others'.
	adds := map[string][]placed{}
	seen := 0 // cached inputs found again: when all were, none is gone
	add := func(items []placed) *cached {
		for _, it := range items {
			adds[it.zone] = append(adds[it.zone], it)
		}
		return &cached{items: items, gen: c.gen}
	}
	for _, r := range src.Records {
		if strings.EqualFold(strings.TrimSpace(r.Type), "SOA") {
			continue
		}
		if e := c.records[r]; e != nil {
			if e.gen != c.gen {
				e.gen = c.gen
				seen++
			}
			continue
		}
		items, err := b.recordItems(r)
		if err != nil {
			b.problem("record %s %s %s: %v", r.Name, r.Type, r.Data, err)
			continue
		}
		c.records[r] = add(items)
	}
	for _, a := range src.Allocations {
		if e := c.allocs[a]; e != nil {
			if e.gen != c.gen {
				e.gen = c.gen
				seen++
			}
			continue
		}
		items, err := b.allocationItems(src.Prefixes, a)
		if err != nil {
			b.problem("allocation %s of %s: %v", a.Prefix, a.Login, err)
			continue
		}
		c.allocs[a] = add(items)
	}
	dels := map[string][]placed{}
	if seen < had {
		sweep(c.records, c.gen, dels)
		sweep(c.allocs, c.gen, dels)
	}
	for o, zb := range b.zones {
		var pz *Zone
		if prev != nil {
			pz = prev.zones[o]
		}
		var z *Zone
		key := zb.cfg.DNSSEC
		switch {
		case incremental && pz != nil && len(adds[o]) == 0 && len(dels[o]) == 0 && !(pz.sec != nil && pz.sec.due(now)):
			z = pz // untouched
			if !slices.Equal(z.notify, zb.cfg.Notify) || !slices.EqualFunc(z.acl, zb.cfg.Transfer, sameACL) || !slices.Equal(z.push, zb.cfg.Push) {
				c := *z // pz is being served: change a copy
				c.notify, c.acl, c.push = zb.cfg.Notify, zb.cfg.Transfer, zb.cfg.Push
				z = &c
			}
		case incremental && pz != nil:
			z = pz.clone()
			z.notify, z.acl, z.push = zb.cfg.Notify, zb.cfg.Transfer, zb.cfg.Push
			added, deleted := z.apply(adds[o], dels[o])
			if err := z.versionSigned(pz, key, added, deleted, zb.cfg.MinSerial, now); err != nil {
				return nil, fmt.Errorf("dns: zone %s: %w", o, err)
			}
		default:
			z = zb.skeleton(len(zb.apex) + len(adds[o]))
			z.apply(append(zb.apex, adds[o]...), nil)
			added, deleted := z.compare(pz)
			if err := z.versionSigned(pz, key, added, dataOnly(deleted), zb.cfg.MinSerial, now); err != nil {
				return nil, fmt.Errorf("dns: zone %s: %w", o, err)
			}
		}
		b.snap.zones[o] = z
		b.snap.origins = append(b.snap.origins, o)
	}
	sort.Strings(b.snap.origins)
	for _, o := range b.snap.origins {
		if d := mdns.CountLabel(o); !slices.Contains(b.snap.depths, d) {
			b.snap.depths = append(b.snap.depths, d)
		}
	}
	slices.SortFunc(b.snap.depths, func(a, b int) int { return b - a })
	return b.snap, nil
}

func sameACL(a, b ACL) bool {
	return a.Key == b.Key && slices.Equal(a.Networks, b.Networks)
}

type builder struct {
	zones   map[string]*zoneBuild
	snap    *Snapshot
	zoneKey func(origin string) *ZoneKey
}

type zoneBuild struct {
	cfg    ZoneConfig
	origin string
	soa    *mdns.SOA
	apex   []placed // the NS records from the configuration
}

// placed is a generated record and the zone it goes to.
type placed struct {
	zone string
	rr   mdns.RR
	key  recKey // rrKey(rr), computed once
}

// cache remembers the records each input gave, so that the next Build
// regenerates only what changed. It is only valid for the same
// configuration, and belongs to one snapshot at a time.
type cache struct {
	records map[Record]*cached
	allocs  map[Allocation]*cached
	gen     uint64 // Builds since the cache was made: 0 for a full build
}

type cached struct {
	items []placed
	gen   uint64 // the last Build whose source had this input
}

// sweep removes the inputs the last Build did not see, and lists their
// records in dels by zone.
func sweep[K comparable](m map[K]*cached, gen uint64, dels map[string][]placed) {
	for k, e := range m {
		if e.gen != gen {
			for _, it := range e.items {
				dels[it.zone] = append(dels[it.zone], it)
			}
			delete(m, k)
		}
	}
}

func (zb *zoneBuild) place(rr mdns.RR) placed {
	return placed{zone: zb.origin, rr: rr, key: rrKey(rr)}
}

func (b *builder) problem(format string, args ...any) {
	if len(b.snap.Problems) < maxProblems {
		b.snap.Problems = append(b.snap.Problems, fmt.Sprintf(format, args...))
	}
}

func orDefault(v, d uint32) uint32 {
	if v == 0 {
		return d
	}
	return v
}

func (b *builder) addZone(zc ZoneConfig) error {
	origin := canonical(zc.Origin)
	if _, ok := mdns.IsDomainName(origin); !ok || origin == "." {
		return fmt.Errorf("dns: invalid zone origin %q", zc.Origin)
	}
	if len(zc.NS) == 0 {
		return fmt.Errorf("dns: zone %s has no name server", origin)
	}
	for _, a := range zc.Transfer {
		if a.Key != "" && b.snap.keys[canonical(a.Key)].Name == "" {
			return fmt.Errorf("dns: zone %s: transfer ACL names unknown TSIG key %q", origin, a.Key)
		}
	}
	for _, s := range zc.Notify {
		if s.Key != "" && b.snap.keys[canonical(s.Key)].Name == "" {
			return fmt.Errorf("dns: zone %s: secondary %s names unknown TSIG key %q", origin, s.Addr, s.Key)
		}
	}
	for _, p := range zc.Push {
		if p.Key != "" && b.snap.keys[canonical(p.Key)].Name == "" {
			return fmt.Errorf("dns: zone %s: push target %s names unknown TSIG key %q", origin, p.Addr, p.Key)
		}
	}
	ttl := orDefault(zc.TTL, 3600)
	zc.TTL = ttl
	mname := zc.PrimaryNS
	if mname == "" {
		mname = zc.NS[0]
	}
	rname := zc.Hostmaster
	if rname == "" {
		rname = "hostmaster." + origin
	} else if at := strings.IndexByte(rname, '@'); at >= 0 {
		// The local part's dots must be escaped in an RNAME.
		rname = strings.ReplaceAll(rname[:at], ".", `\.`) + "." + rname[at+1:]
	}
	zb := &zoneBuild{cfg: zc, origin: origin}
	zb.soa = &mdns.SOA{
		Hdr:     mdns.RR_Header{Name: origin, Rrtype: mdns.TypeSOA, Class: mdns.ClassINET, Ttl: ttl},
		Ns:      canonical(mname),
		Mbox:    canonical(rname),
		Refresh: orDefault(zc.Refresh, 3600),
		Retry:   orDefault(zc.Retry, 600),
		Expire:  orDefault(zc.Expire, 1209600),
		Minttl:  orDefault(zc.Minimum, 300),
	}
	for _, ns := range zc.NS {
		n := canonical(ns)
		if _, ok := mdns.IsDomainName(n); !ok {
			return fmt.Errorf("dns: zone %s: invalid name server %q", origin, ns)
		}
		zb.apex = append(zb.apex, zb.place(&mdns.NS{Hdr: hdr(origin, mdns.TypeNS, ttl), Ns: n}))
	}
	if err := b.addKey(zb); err != nil {
		return err
	}
	b.zones[origin] = zb
	return nil
}

func hdr(name string, t uint16, ttl uint32) mdns.RR_Header {
	return mdns.RR_Header{Name: name, Rrtype: t, Class: mdns.ClassINET, Ttl: ttl}
}

// zoneFor returns the deepest zone containing the lowercased name.
func (b *builder) zoneFor(name string) *zoneBuild {
	for off := 0; ; {
		if z := b.zones[name[off:]]; z != nil {
			return z
		}
		next, end := mdns.NextLabel(name, off)
		if end {
			return nil
		}
		off = next
	}
}

var allowedTypes = map[uint16]bool{
	mdns.TypeSOA: true, mdns.TypeNS: true, mdns.TypeA: true, mdns.TypeAAAA: true,
	mdns.TypeCNAME: true, mdns.TypeMX: true, mdns.TypeTXT: true, mdns.TypeSRV: true,
	mdns.TypeCAA: true, mdns.TypeSSHFP: true, mdns.TypeTLSA: true, mdns.TypePTR: true, mdns.TypeDS: true,
}

// Serves reports whether hand-managed records of this type are served.
func Serves(typ string) bool {
	t, ok := mdns.StringToType[strings.ToUpper(strings.TrimSpace(typ))]
	return ok && allowedTypes[t]
}

// recordItems parses a hand-managed record; an SOA updates its zone's SOA.
func (b *builder) recordItems(r Record) ([]placed, error) {
	var zb *zoneBuild
	name := strings.TrimSpace(r.Name)
	if r.Zone != "" {
		zb = b.zones[canonical(r.Zone)]
		if zb == nil {
			return nil, fmt.Errorf("no zone %s", r.Zone)
		}
		switch {
		case name == "" || name == "@":
			name = zb.origin
		case !strings.HasSuffix(name, "."):
			name = name + "." + zb.origin
		}
	}
	name = canonical(name)
	if _, ok := mdns.IsDomainName(name); !ok {
		return nil, fmt.Errorf("invalid name %q", r.Name)
	}
	if zb == nil {
		if zb = b.zoneFor(name); zb == nil {
			return nil, errors.New("in no zone")
		}
	} else if !below(name, zb.origin) {
		return nil, fmt.Errorf("outside zone %s", zb.origin)
	}
	t, ok := mdns.StringToType[strings.ToUpper(strings.TrimSpace(r.Type))]
	if !ok || !allowedTypes[t] {
		return nil, fmt.Errorf("unsupported type %q", r.Type)
	}
	ttl := orDefault(r.TTL, zb.cfg.TTL)
	// The zone parser resolves relative names in the data against $ORIGIN.
	text := fmt.Sprintf("$ORIGIN %s\n%s %d IN %s %s", zb.origin, name, ttl, mdns.TypeToString[t], r.Data)
	rr, err := mdns.NewRR(text)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if rr == nil {
		return nil, errors.New("empty record data")
	}
	rr.Header().Name = name
	if t == mdns.TypeSOA {
		if name != zb.origin {
			return nil, errors.New("SOA outside the zone apex")
		}
		// The zone's configuration keeps the serial; the record may override
		// the other fields.
		soa := rr.(*mdns.SOA)
		soa.Ns, soa.Mbox = canonical(soa.Ns), canonical(soa.Mbox)
		soa.Serial = 0
		zb.soa = soa
		return nil, nil
	}
	return []placed{zb.place(rr)}, nil
}

// findPrefix returns the longest prefix containing p.
func findPrefix(prefixes []Prefix, p netip.Prefix) (Prefix, bool) {
	best, found := Prefix{}, false
	for _, c := range prefixes {
		if c.Prefix.Addr().Is4() != p.Addr().Is4() || c.Prefix.Bits() > p.Bits() {
			continue
		}
		if c.Prefix.Contains(p.Addr()) && (!found || c.Prefix.Bits() > best.Prefix.Bits()) {
			best, found = c, true
		}
	}
	return best, found
}

// rootPrefix is the outermost prefix of prefixes holding p.
func rootPrefix(prefixes []Prefix, p netip.Prefix) (netip.Prefix, bool) {
	best, found := netip.Prefix{}, false
	for _, c := range prefixes {
		if c.Prefix.Addr().Is4() != p.Addr().Is4() || c.Prefix.Bits() > p.Bits() || !c.Prefix.Contains(p.Addr()) {
			continue
		}
		if !found || c.Prefix.Bits() < best.Bits() {
			best, found = c.Prefix.Masked(), true
		}
	}
	if !found {
		return p.Masked(), false
	}
	return best, true
}

// allocationItems generates the PTR records of an allocation, and the forward
// address record when the prefix asks for it.
func (b *builder) allocationItems(prefixes []Prefix, a Allocation) ([]placed, error) {
	if !a.Prefix.IsValid() {
		return nil, errors.New("invalid prefix")
	}
	a.Prefix = a.Prefix.Masked()
	if a.Prefix.Addr().Is4() && a.Prefix.Bits() != 32 {
		return nil, errors.New("IPv4 allocations must be /32")
	}
	p, ok := findPrefix(prefixes, a.Prefix)
	if !ok {
		return nil, errors.New("in no IPAM prefix")
	}
	host := a.Prefix.Addr()
	if host.Is6() && a.Prefix.Bits() < 128 {
		host = host.Next() // prefix::1, the address a CPE usually takes
	}
	target := ""
	if a.ReverseName != "" {
		if err := ValidateReverseName(a.ReverseName); err != nil {
			return nil, err
		}
		target = canonical(a.ReverseName)
	} else if p.PTRTemplate != "" {
		var err error
		if target, err = expand(p.PTRTemplate, a.Login, host); err != nil {
			return nil, err
		}
	}
	if target == "" {
		return nil, nil
	}
	var items []placed
	// The PTR lives in the zones of the outermost prefix: an ISP holding a
	// /24 with a /25 pool in it serves 6.100.51.198.in-addr.arpa, not the
	// RFC 2317 name a /25 delegated on its own would need.
	root, _ := rootPrefix(prefixes, a.Prefix)
	owners := []string{ptrOwner(root, host)}
	if host.Is6() && a.Prefix.Bits() < 128 {
		// The wildcard alone names the whole prefix, prefix::1 included:
		// an exact PTR there would give the same name, and its empty
		// non-terminals would hide the wildcard from every address that
		// shares them (RFC 4592: the first /60 of a /56 would answer
		// NXDOMAIN but for ::1).
		owners = wildcards(a.Prefix)
	}
	for _, owner := range owners {
		zb := b.zoneFor(owner)
		if zb == nil {
			return nil, fmt.Errorf("no reverse zone for %s", owner)
		}
		items = append(items, zb.place(&mdns.PTR{Hdr: hdr(owner, mdns.TypePTR, orDefault(p.TTL, zb.cfg.TTL)), Ptr: target}))
	}
	if p.Forward && a.ReverseName == "" {
		zb := b.zoneFor(target)
		if zb == nil {
			return nil, fmt.Errorf("forward name %s in no zone", target)
		}
		ttl := orDefault(p.TTL, zb.cfg.TTL)
		if host.Is4() {
			items = append(items, zb.place(&mdns.A{Hdr: hdr(target, mdns.TypeA, ttl), A: host.AsSlice()}))
		} else {
			items = append(items, zb.place(&mdns.AAAA{Hdr: hdr(target, mdns.TypeAAAA, ttl), AAAA: host.AsSlice()}))
		}
	}
	return items, nil
}

// expand fills a PTR template for one address.
func expand(tmpl, login string, addr netip.Addr) (string, error) {
	// strings.ReplaceAll rather than a Replacer, whose set-up cost more than
	// the rest of a full build; labelize leaves no brace to re-expand.
	ip := strings.ReplaceAll(strings.ReplaceAll(addr.String(), ".", "-"), ":", "-")
	name := strings.ReplaceAll(strings.ReplaceAll(tmpl, "{login}", labelize(login)), "{ip}", ip)
	name = canonical(name)
	if _, ok := mdns.IsDomainName(name); !ok || strings.ContainsAny(name, "{}") {
		return "", fmt.Errorf("template %q gives invalid name %q", tmpl, name)
	}
	return name, nil
}

// labelize turns a login into a hostname label: lowercase letters, digits
// and hyphens.
func labelize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > 63 {
		out = out[:63]
	}
	return out
}

// ValidateReverseName checks a member-chosen reverse name: a fully qualified
// host name (letters, digits, hyphens), not itself a reverse-tree name. The
// registry refuses such names with its own messages; this guards the zones
// against what reached the database before.
func ValidateReverseName(name string) error {
	n := canonical(name)
	if len(n) > 254 {
		return fmt.Errorf("reverse name %q is too long", name)
	}
	// Labels first: "bad name." is one label, but its fault is the space.
	labels := mdns.SplitDomainName(n)
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("reverse name %q has an invalid label %q", name, l)
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("reverse name %q: label %q is not a host name", name, l)
			}
		}
	}
	if len(labels) < 2 {
		return fmt.Errorf("reverse name %q must have at least two labels", name)
	}
	if below(n, "in-addr.arpa.") || below(n, "ip6.arpa.") {
		return fmt.Errorf("reverse name %q is inside the reverse tree", name)
	}
	return nil
}

// reverseZones lists the reverse zones serving a prefix: IPv4 at octet
// boundaries (a /22 gives four /24 zones), RFC 2317 classless zones
// ("0/26.100.51.198.in-addr.arpa.") beyond /24, IPv6 at nibble boundaries.
func reverseZones(p netip.Prefix) ([]string, error) {
	if !p.IsValid() {
		return nil, errors.New("invalid prefix")
	}
	p = p.Masked()
	step := 4
	if p.Addr().Is4() {
		step = 8
		if p.Bits() > 24 {
			return []string{classlessZone(p)}, nil
		}
	}
	if p.Bits() < step {
		return nil, errors.New("prefix too short for a reverse zone")
	}
	zbits := (p.Bits() + step - 1) / step * step
	n := 1 << (zbits - p.Bits())
	if n > maxPrefixZones {
		return nil, errors.New("prefix spans too many reverse zones")
	}
	out := make([]string, 0, n)
	sub := netip.PrefixFrom(p.Addr(), zbits)
	for range n {
		out = append(out, prefixName(sub))
		sub = netip.PrefixFrom(nextPrefixAddr(sub), zbits)
	}
	return out, nil
}

// classlessZone names the RFC 2317 zone of an IPv4 prefix longer than /24.
func classlessZone(p netip.Prefix) string {
	a := p.Addr().As4()
	return fmt.Sprintf("%d/%d.%d.%d.%d.in-addr.arpa.", a[3], p.Bits(), a[2], a[1], a[0])
}

// prefixName is the reverse-tree name of a prefix on an octet (IPv4) or
// nibble (IPv6) boundary.
func prefixName(p netip.Prefix) string {
	var b strings.Builder
	if p.Addr().Is4() {
		a := p.Addr().As4()
		for i := p.Bits()/8 - 1; i >= 0; i-- {
			b.WriteString(strconv.Itoa(int(a[i])) + ".")
		}
		b.WriteString("in-addr.arpa.")
		return b.String()
	}
	a := p.Addr().As16()
	for i := p.Bits()/4 - 1; i >= 0; i-- {
		nib := a[i/2] >> 4
		if i%2 == 1 {
			nib = a[i/2] & 0xf
		}
		b.WriteByte("0123456789abcdef"[nib])
		b.WriteByte('.')
	}
	b.WriteString("ip6.arpa.")
	return b.String()
}

// nextPrefixAddr returns the first address after the prefix.
func nextPrefixAddr(p netip.Prefix) netip.Addr {
	last := p.Masked().Addr()
	bits := last.BitLen()
	s := last.AsSlice()
	// Set the host bits, then step once.
	for i := p.Bits(); i < bits; i++ {
		s[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(s)
	return a.Next()
}

// ptrOwner is the owner name of the PTR for addr, allocated from prefix p.
func ptrOwner(p netip.Prefix, addr netip.Addr) string {
	if addr.Is4() && p.Bits() > 24 {
		return strconv.Itoa(int(addr.As4()[3])) + "." + classlessZone(p.Masked())
	}
	name, _ := mdns.ReverseAddr(addr.String())
	return name
}

// wildcards lists the wildcard owners covering an IPv6 prefix at nibble
// boundaries (a /62 needs four).
func wildcards(p netip.Prefix) []string {
	zbits := (p.Bits() + 3) / 4 * 4
	n := 1 << (zbits - p.Bits())
	out := make([]string, 0, n)
	sub := netip.PrefixFrom(p.Masked().Addr(), zbits)
	for range n {
		out = append(out, "*."+prefixName(sub))
		sub = netip.PrefixFrom(nextPrefixAddr(sub), zbits)
	}
	return out
}

// dataKey identifies a record within its RRset: its data, without the TTL.
func dataKey(rr mdns.RR) string {
	return rr.String()[len(rr.Header().String()):]
}

func soaKey(s *mdns.SOA) string {
	c := *s
	c.Serial = 0
	return c.String()
}

func trimJournal(j []Delta, zoneSize int) []Delta {
	limit := max(minJournalRRs, 2*zoneSize)
	total := 0
	start := len(j)
	for start > 0 && len(j)-start < maxDeltas {
		n := len(j[start-1].Added) + len(j[start-1].Deleted)
		if total+n > limit {
			break
		}
		total += n
		start--
	}
	return j[start:]
}

// sortKey orders records by owner from the root down, then by type, so that
// exports read naturally.
func sortKey(rr mdns.RR) string {
	labels := mdns.SplitDomainName(strings.ToLower(rr.Header().Name))
	slices.Reverse(labels)
	return strings.Join(labels, "\x00") + "\x01" + fmt.Sprintf("%05d", rr.Header().Rrtype) + rr.String()
}

// ClasslessParent returns what the operator of the parent /24 zone must
// publish to delegate an RFC 2317 classless reverse zone to maillon: the NS
// records of the classless zone and a CNAME for every address of the prefix.
func ClasslessParent(p netip.Prefix, nameservers []string, ttl uint32) ([]mdns.RR, error) {
	p = p.Masked()
	if !p.Addr().Is4() || p.Bits() <= 24 || p.Bits() > 32 {
		return nil, fmt.Errorf("dns: %s is not an IPv4 prefix longer than /24", p)
	}
	zone := classlessZone(p)
	var out []mdns.RR
	for _, ns := range nameservers {
		out = append(out, &mdns.NS{Hdr: hdr(zone, mdns.TypeNS, ttl), Ns: canonical(ns)})
	}
	for a := p.Addr(); p.Contains(a); a = a.Next() {
		owner, _ := mdns.ReverseAddr(a.String())
		out = append(out, &mdns.CNAME{Hdr: hdr(owner, mdns.TypeCNAME, ttl), Target: ptrOwner(p, a)})
	}
	return out, nil
}
