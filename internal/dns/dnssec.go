package dns

// DNSSEC online signing, done when a zone is built rather than per query:
// secondaries get the zone by AXFR/IXFR and must serve it signed, and a
// pre-signed zone answers DO queries as fast as plain ones. Each signed zone
// has one combined signing key (CSK), ECDSA P-256/SHA-256 (algorithm 13),
// an NSEC chain over its authoritative names, an RRSIG over every
// authoritative RRset (not delegation NS nor glue), and DNSKEY, CDS and
// CDNSKEY at the apex (RFC 7344, so that parents that scan follow a key
// change). An incremental build re-signs only the owners whose RRsets
// changed and their NSEC neighbours.

import (
	"cmp"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	mdns "github.com/miekg/dns"
)

// Signature validity: signatures start an hour in the past (clock skew) and
// last two weeks; those with less than a week left are renewed, which leaves
// a week for secondaries to pick them up. Renewal goes resignBatch owners at
// a time at most, oldest first, one batch a Build: a 40,000-name zone is
// renewed in some forty small IXFR steps (the daemon builds every minute while some
// are due), rather than in one long build that holds back registry changes
// and sends every secondary an AXFR.
const (
	sigInception = time.Hour
	sigValidity  = 14 * 24 * time.Hour
	sigRefresh   = 7 * 24 * time.Hour
	resignBatch  = 1000
)

// ZoneKey is the key a zone is signed with.
type ZoneKey struct {
	// Signer holds an ECDSA P-256 private key.
	Signer crypto.Signer
	// DNSKEY is its public half: flags 257 (a CSK), algorithm 13. Build
	// publishes it at the apex with the zone's origin and TTL.
	DNSKEY *mdns.DNSKEY
}

// NewZoneKey builds the DNSKEY of an ECDSA P-256 signer for a zone.
func NewZoneKey(origin string, signer crypto.Signer) (*ZoneKey, error) {
	pub, ok := signer.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, errors.New("dns: a zone key must be ECDSA P-256 (algorithm 13)")
	}
	raw, err := pub.Bytes() // 0x04 || X || Y
	if err != nil {
		return nil, fmt.Errorf("dns: zone key: %w", err)
	}
	k := &mdns.DNSKEY{
		Hdr:       hdr(canonical(origin), mdns.TypeDNSKEY, 3600),
		Flags:     mdns.ZONE | mdns.SEP,
		Protocol:  3,
		Algorithm: mdns.ECDSAP256SHA256,
		PublicKey: base64.StdEncoding.EncodeToString(raw[1:]),
	}
	return &ZoneKey{Signer: signer, DNSKEY: k}, nil
}

// KeyTag is the key's tag, as DS and RRSIG records name it.
func (k *ZoneKey) KeyTag() uint16 { return k.DNSKEY.KeyTag() }

// DS returns the DS record the parent of the zone must publish (SHA-256).
func (k *ZoneKey) DS(origin string) *mdns.DS {
	c := *k.DNSKEY
	c.Hdr.Name = canonical(origin)
	return c.ToDS(mdns.SHA256)
}

// keyFor is the key of a zone with its owner and TTL.
func (k *ZoneKey) keyFor(origin string, ttl uint32) *mdns.DNSKEY {
	c := *k.DNSKEY
	c.Hdr = hdr(origin, mdns.TypeDNSKEY, ttl)
	return &c
}

// apexRecords are the records a signed zone publishes at its apex.
func (k *ZoneKey) apexRecords(origin string, ttl uint32) []mdns.RR {
	key := k.keyFor(origin, ttl)
	ds := key.ToDS(mdns.SHA256)
	ds.Hdr.Ttl = ttl
	return []mdns.RR{key, key.ToCDNSKEY(), ds.ToCDS()}
}

// shape identifies the key in the configuration string that decides
// between an incremental and a full build.
func (k *ZoneKey) shape() string {
	if k == nil {
		return ""
	}
	return fmt.Sprintf("%d/%s", k.KeyTag(), k.DNSKEY.PublicKey)
}

// signing holds a zone's DNSSEC records. Like nodes, it is shared between
// successive versions of a zone and copied, never changed.
type signing struct {
	key    *ZoneKey
	tag    uint16
	order  []string                     // authoritative owners in canonical order (RFC 4034 section 6.1), apex first
	owners shardedMap[string, *secured] // owner → its NSEC and signatures
	soaSig *mdns.RRSIG
	negSig *mdns.RRSIG // soaSig with the TTL of negative answers
	// oldest is the earliest expiration of a signature still in the zone
	// (possibly gone since: a lower bound), in Unix seconds.
	oldest int64
}

// secured is the DNSSEC side of one owner name.
type secured struct {
	nsec *mdns.NSEC
	sigs []mdns.RR // one RRSIG per signed RRset, the NSEC's included
}

// due reports whether the zone must be re-signed whole.
func (sg *signing) due(now time.Time) bool {
	return sg.oldest-now.Unix() < int64(sigRefresh/time.Second)
}

// appendTo appends the NSEC and RRSIG records, SOA's included.
func (sg *signing) appendTo(out []mdns.RR) []mdns.RR {
	if sg == nil {
		return out
	}
	out = sg.appendChain(out)
	if sg.soaSig != nil {
		out = append(out, sg.soaSig)
	}
	return out
}

// appendChain appends the NSEC and RRSIG records but the SOA's signature.
func (sg *signing) appendChain(out []mdns.RR) []mdns.RR {
	if sg == nil {
		return out
	}
	for _, s := range sg.owners.all() {
		out = append(out, s.nsec)
		out = append(out, s.sigs...)
	}
	return out
}

// sigsOf returns the signatures of one RRset.
func (sg *signing) sigsOf(owner string, t uint16) []mdns.RR {
	s := sg.owner(owner)
	if s == nil {
		return nil
	}
	for i, rr := range s.sigs {
		if rr.(*mdns.RRSIG).TypeCovered == t {
			return s.sigs[i : i+1]
		}
	}
	return nil
}

// nsecAt returns the NSEC of an owner and its signature, or nothing.
func (sg *signing) nsecAt(owner string) []mdns.RR {
	s := sg.owner(owner)
	if s == nil {
		return nil
	}
	return append([]mdns.RR{s.nsec}, sg.sigsOf(owner, mdns.TypeNSEC)...)
}

// covering returns the NSEC whose owner precedes name in canonical order,
// which proves that name does not exist, and its signature.
func (sg *signing) covering(name string) []mdns.RR {
	if len(sg.order) == 0 {
		return nil
	}
	i := sort.Search(len(sg.order), func(i int) bool { return compareCanonical(sg.order[i], name) > 0 })
	if i == 0 {
		i = len(sg.order) // the name sorts before the apex: the last NSEC wraps
	}
	return sg.nsecAt(sg.order[i-1])
}

func (sg *signing) owner(name string) *secured {
	s, _ := sg.owners.get(hashOwner(name), name)
	return s
}

// clone returns a copy that can be changed.
func (sg *signing) clone() *signing {
	c := *sg
	c.owners = sg.owners.fork()
	return &c
}

// signer signs RRsets for one version of a zone.
type signer struct {
	key        *ZoneKey
	tag        uint16
	origin     string
	incep, exp uint32
}

func newSigner(key *ZoneKey, origin string, now time.Time) *signer {
	return &signer{key: key, tag: key.KeyTag(), origin: origin,
		incep: uint32(now.Add(-sigInception).Unix()), exp: uint32(now.Add(sigValidity).Unix())}
}

func (s *signer) sign(rrs []mdns.RR) (*mdns.RRSIG, error) {
	sig := &mdns.RRSIG{
		Hdr:        mdns.RR_Header{Ttl: rrs[0].Header().Ttl},
		Algorithm:  mdns.ECDSAP256SHA256,
		KeyTag:     s.tag,
		SignerName: s.origin,
		Inception:  s.incep,
		Expiration: s.exp,
	}
	if err := sig.Sign(s.key.Signer, rrs); err != nil {
		return nil, fmt.Errorf("sign %s %s: %w", rrs[0].Header().Name, mdns.TypeToString[rrs[0].Header().Rrtype], err)
	}
	return sig, nil
}

// inChain returns the node of an owner that belongs to the NSEC chain: it
// has records, and is the apex, an authoritative name or a delegation point
// (not an empty non-terminal, nor glue under a cut).
func (z *Zone) inChain(name string) *node {
	n := z.node(name)
	if n == nil || len(n.sets) == 0 {
		return nil
	}
	if name != z.origin && z.cuts > 0 && z.cut(name, mdns.TypeDS) != nil {
		return nil // occluded: at or under a cut above it
	}
	return n
}

// signedTypes lists the RRsets of an owner that get an RRSIG: at a
// delegation point only the DS, which the parent side holds.
func signedTypes(n *node) []uint16 {
	var out []uint16
	for _, s := range n.sets {
		if !n.cut || s.t == mdns.TypeDS {
			out = append(out, s.t)
		}
	}
	return out
}

// nsecFor builds the NSEC of an owner; at a delegation point its bitmap has
// only NS and DS (RFC 4035 section 2.3).
func (z *Zone) nsecFor(name, next string, n *node) *mdns.NSEC {
	types := []uint16{mdns.TypeRRSIG, mdns.TypeNSEC}
	if name == z.origin {
		types = append(types, mdns.TypeSOA)
	}
	for _, s := range n.sets {
		if !n.cut || s.t == mdns.TypeNS || s.t == mdns.TypeDS {
			types = append(types, s.t)
		}
	}
	slices.Sort(types)
	return &mdns.NSEC{Hdr: hdr(name, mdns.TypeNSEC, negTTL(z.soa)), NextDomain: next, TypeBitMap: types}
}

// negTTL is the TTL of NSEC records: that of negative answers (RFC 9077).
func negTTL(soa *mdns.SOA) uint32 { return min(soa.Hdr.Ttl, soa.Minttl) }

// secureOwner signs the RRsets of one owner, plus its NSEC, reusing the
// signatures of prev whose RRset is not in redo.
func (z *Zone) secureOwner(s *signer, name string, n *node, nsec *mdns.NSEC, prev *secured, redo func(t uint16) bool) (*secured, error) {
	out := &secured{nsec: nsec}
	for _, t := range signedTypes(n) {
		if prev != nil && !redo(t) {
			if old := sigOf(prev.sigs, t); old != nil {
				out.sigs = append(out.sigs, old)
				continue
			}
		}
		sig, err := s.sign(n.get(t))
		if err != nil {
			return nil, err
		}
		out.sigs = append(out.sigs, sig)
	}
	if prev != nil && prev.nsec.String() == nsec.String() {
		out.nsec = prev.nsec
		if old := sigOf(prev.sigs, mdns.TypeNSEC); old != nil {
			out.sigs = append(out.sigs, old)
			return out, nil
		}
	}
	sig, err := s.sign([]mdns.RR{out.nsec})
	if err != nil {
		return nil, err
	}
	out.sigs = append(out.sigs, sig)
	return out, nil
}

func sigOf(sigs []mdns.RR, t uint16) mdns.RR {
	for _, rr := range sigs {
		if rr.(*mdns.RRSIG).TypeCovered == t {
			return rr
		}
	}
	return nil
}

// signAll signs the whole zone.
func (z *Zone) signAll(key *ZoneKey, now time.Time) (*signing, error) {
	sg := &signing{key: key, tag: key.KeyTag(), owners: newShardedMap[string, *secured](z.nodes.len())}
	for name := range z.nodes.all() {
		if z.inChain(name) != nil {
			sg.order = append(sg.order, name)
		}
	}
	slices.SortFunc(sg.order, compareCanonical)
	s := newSigner(key, z.origin, now)
	sg.oldest = int64(s.exp)
	// Signing is most of the cost of a full build: spread it over the CPUs.
	res := make([]*secured, len(sg.order))
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(sg.order); i += workers {
				name := sg.order[i]
				n := z.node(name)
				next := sg.order[(i+1)%len(sg.order)]
				sec, err := z.secureOwner(s, name, n, z.nsecFor(name, next, n), nil, nil)
				if err != nil {
					errs[w] = err
					return
				}
				res[i] = sec
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i, name := range sg.order {
		sg.owners.set(hashOwner(name), name, res[i])
	}
	return sg, nil
}

// maxShifts bounds the insertions and deletions patched into the order of
// owners one at a time; past it the order is sorted again.
const maxShifts = 64

// secure brings the zone's DNSSEC records in line with its data, given the
// data records added and deleted since prev, and returns the DNSSEC records
// added and deleted (the SOA's signature aside: signSOA). It signs the
// whole zone when prev was not signed with the same key, and renews a batch
// of the oldest signatures when some are due.
func (z *Zone) secure(prev *Zone, key *ZoneKey, added, deleted []mdns.RR, now time.Time) (sAdded, sDeleted []mdns.RR, err error) {
	var old *signing
	if prev != nil {
		old = prev.sec
	}
	if key == nil {
		z.sec = nil
		return nil, old.appendTo(nil), nil // signSOA has no signature to replace
	}
	if old == nil || old.key.shape() != key.shape() {
		sg, err := z.signAll(key, now)
		if err != nil {
			return nil, nil, err
		}
		z.sec = sg
		return sg.appendTo(nil), old.appendChain(nil), nil
	}
	touched := map[setID]bool{}
	names := map[string]bool{}
	var cuts []string // delegations that appeared or went: names under them change sides
	for _, list := range [][]mdns.RR{added, deleted} {
		for _, rr := range list {
			h := rr.Header()
			if h.Rrtype == mdns.TypeNS && h.Name != z.origin && !slices.Contains(cuts, h.Name) {
				cuts = append(cuts, h.Name)
			}
			touched[setID{h.Name, h.Rrtype}] = true
			names[h.Name] = true
		}
	}
	for _, c := range cuts {
		for name := range z.nodes.all() {
			if below(name, c) {
				names[name] = true
			}
		}
	}
	var renew map[string]bool
	if old.due(now) {
		// Small enough for the journal to keep the step (trimJournal).
		renew = old.dueOwners(now, min(resignBatch, max(minJournalRRs, 2*z.count.len())/10))
		for name := range renew {
			names[name] = true
		}
	}

	sg := old.clone()
	sg.soaSig, sg.negSig = nil, nil // signSOA signs the new SOA
	// Patch the chain's order: owners that appeared or went.
	var ins, del []string
	for name := range names {
		had := sg.owner(name) != nil
		has := z.inChain(name) != nil
		switch {
		case has && !had:
			ins = append(ins, name)
		case had && !has:
			del = append(del, name)
		}
	}
	if len(ins)+len(del) > 0 {
		if len(ins)+len(del) > maxShifts {
			gone := map[string]bool{}
			for _, n := range del {
				gone[n] = true
			}
			order := make([]string, 0, len(sg.order)+len(ins))
			for _, n := range sg.order {
				if !gone[n] {
					order = append(order, n)
				}
			}
			order = append(order, ins...)
			slices.SortFunc(order, compareCanonical)
			sg.order = order
		} else {
			sg.order = slices.Clone(sg.order)
			for _, n := range del {
				if i, ok := slices.BinarySearchFunc(sg.order, n, compareCanonical); ok {
					sg.order = slices.Delete(sg.order, i, i+1)
				}
			}
			for _, n := range ins {
				i, _ := slices.BinarySearchFunc(sg.order, n, compareCanonical)
				sg.order = slices.Insert(sg.order, i, n)
			}
		}
	}
	for _, name := range del {
		s := sg.owner(name)
		sDeleted = append(sDeleted, s.nsec)
		sDeleted = append(sDeleted, s.sigs...)
		sg.owners.del(hashOwner(name), name)
	}
	// Owners to redo: the touched ones still in the chain, and the
	// predecessor of every touched name, whose NSEC may point elsewhere now.
	redo := map[string]bool{}
	for name := range names {
		if _, ok := slices.BinarySearchFunc(sg.order, name, compareCanonical); ok {
			redo[name] = true
		}
		i := sort.Search(len(sg.order), func(i int) bool { return compareCanonical(sg.order[i], name) >= 0 })
		redo[sg.order[(i+len(sg.order)-1)%len(sg.order)]] = true
	}
	s := newSigner(key, z.origin, now)
	for name := range redo {
		i, _ := slices.BinarySearchFunc(sg.order, name, compareCanonical)
		n := z.node(name)
		nsec := z.nsecFor(name, sg.order[(i+1)%len(sg.order)], n)
		prevSec := sg.owner(name)
		if renew[name] {
			prevSec = nil // sign it all anew
		}
		sec, err := z.secureOwner(s, name, n, nsec, prevSec, func(t uint16) bool { return touched[setID{name, t}] })
		prevSec = sg.owner(name)
		if err != nil {
			return nil, nil, err
		}
		// What changed, for IXFR.
		var was []mdns.RR
		if prevSec != nil {
			was = append([]mdns.RR{prevSec.nsec}, prevSec.sigs...)
		}
		is := append([]mdns.RR{sec.nsec}, sec.sigs...)
		for _, rr := range is {
			if !slices.Contains(was, rr) {
				sAdded = append(sAdded, rr)
			}
		}
		for _, rr := range was {
			if !slices.Contains(is, rr) {
				sDeleted = append(sDeleted, rr)
			}
		}
		sg.owners.set(hashOwner(name), name, sec)
	}
	if renew != nil {
		sg.oldest = sg.earliest()
	}
	z.sec = sg
	return sAdded, sDeleted, nil
}

// expiresAt is when the first signature of an owner expires.
func (s *secured) expiresAt() int64 {
	first := int64(-1)
	for _, rr := range s.sigs {
		if e := int64(rr.(*mdns.RRSIG).Expiration); first < 0 || e < first {
			first = e
		}
	}
	return first
}

// earliest is the first expiration of a signature in the chain.
func (sg *signing) earliest() int64 {
	first := int64(-1)
	for _, s := range sg.owners.all() {
		if e := s.expiresAt(); first < 0 || e < first {
			first = e
		}
	}
	return first
}

// dueOwners picks at most n owners whose signatures are due, the
// earliest to expire first.
func (sg *signing) dueOwners(now time.Time, n int) map[string]bool {
	limit := now.Add(sigRefresh).Unix()
	type due struct {
		name string
		exp  int64
	}
	var all []due
	for name, s := range sg.owners.all() {
		if e := s.expiresAt(); e < limit {
			all = append(all, due{name, e})
		}
	}
	if len(all) > n {
		slices.SortFunc(all, func(a, b due) int { return cmp.Compare(a.exp, b.exp) })
		all = all[:n]
	}
	out := make(map[string]bool, len(all))
	for _, d := range all {
		out[d.name] = true
	}
	return out
}

// signSOA signs the zone's SOA after version gave it its serial, and adds
// the change of signature to the last journal entry.
func (z *Zone) signSOA(prev *Zone, now time.Time) error {
	if z.sec == nil {
		return nil
	}
	var old *mdns.RRSIG
	if prev != nil && prev.sec != nil {
		old = prev.sec.soaSig
	}
	if prev != nil && z.soa == prev.soa && old != nil && prev.sec.key.shape() == z.sec.key.shape() {
		z.sec.soaSig, z.sec.negSig = old, prev.sec.negSig
		return nil
	}
	s := newSigner(z.sec.key, z.origin, now)
	sig, err := s.sign([]mdns.RR{z.soa})
	if err != nil {
		return err
	}
	z.sec.soaSig = sig
	z.sec.oldest = min(z.sec.oldest, int64(sig.Expiration))
	neg := *sig
	neg.Hdr.Ttl = negTTL(z.soa)
	z.sec.negSig = &neg
	if n := len(z.journal); n > 0 && z.journal[n-1].To == z.serial {
		d := z.journal[n-1]
		if old != nil {
			d.Deleted = append(slices.Clip(d.Deleted), old)
		}
		d.Added = append(slices.Clip(d.Added), sig)
		z.journal = append(slices.Clip(z.journal[:n-1]), d)
	}
	return nil
}

// isDNSSEC reports the types signing makes, which no input gives.
func isDNSSEC(t uint16) bool { return t == mdns.TypeRRSIG || t == mdns.TypeNSEC }

// dataOnly drops the DNSSEC records from a list.
func dataOnly(rrs []mdns.RR) []mdns.RR {
	return slices.DeleteFunc(rrs, func(rr mdns.RR) bool { return isDNSSEC(rr.Header().Rrtype) })
}

// compareCanonical orders two lowercased names as RFC 4034 section 6.1
// does: label by label from the root, each label as a string of octets.
func compareCanonical(a, b string) int {
	if strings.IndexByte(a, '\\') >= 0 || strings.IndexByte(b, '\\') >= 0 {
		return compareWire(a, b)
	}
	ia, ib := len(a), len(b)
	if ia > 0 && a[ia-1] == '.' {
		ia--
	}
	if ib > 0 && b[ib-1] == '.' {
		ib--
	}
	for {
		if ia <= 0 || ib <= 0 {
			switch {
			case ia <= 0 && ib <= 0:
				return 0
			case ia <= 0:
				return -1
			default:
				return 1
			}
		}
		sa := strings.LastIndexByte(a[:ia], '.') + 1
		sb := strings.LastIndexByte(b[:ib], '.') + 1
		if c := strings.Compare(a[sa:ia], b[sb:ib]); c != 0 {
			return c
		}
		ia, ib = sa-1, sb-1
	}
}

// compareWire is compareCanonical for names with escapes, through their
// wire form.
func compareWire(a, b string) int {
	la, lb := wireLabels(a), wireLabels(b)
	for i := 1; i <= len(la) && i <= len(lb); i++ {
		if c := strings.Compare(la[len(la)-i], lb[len(lb)-i]); c != 0 {
			return c
		}
	}
	return len(la) - len(lb)
}

func wireLabels(name string) []string {
	buf := make([]byte, 256)
	n, err := mdns.PackDomainName(name, buf, 0, nil, false)
	if err != nil {
		return mdns.SplitDomainName(name)
	}
	var out []string
	for off := 0; off < n && buf[off] != 0; off += 1 + int(buf[off]) {
		out = append(out, strings.ToLower(string(buf[off+1:off+1+int(buf[off])])))
	}
	return out
}

// addKey takes the zone's key, from its configuration or Source.ZoneKey,
// and publishes DNSKEY, CDNSKEY and CDS at the apex.
func (b *builder) addKey(zb *zoneBuild) error {
	if zb.cfg.DNSSEC == nil && b.zoneKey != nil {
		zb.cfg.DNSSEC = b.zoneKey(zb.origin)
	}
	k := zb.cfg.DNSSEC
	if k == nil {
		return nil
	}
	if k.Signer == nil || k.DNSKEY == nil || k.DNSKEY.Algorithm != mdns.ECDSAP256SHA256 {
		return fmt.Errorf("dns: zone %s: a DNSSEC key needs a signer and an algorithm 13 DNSKEY", zb.origin)
	}
	for _, rr := range k.apexRecords(zb.origin, zb.cfg.TTL) {
		zb.apex = append(zb.apex, zb.place(rr))
	}
	return nil
}

// keyShapes describes the zones' keys for the configuration string: a new
// key rebuilds (and re-signs) everything.
func (b *builder) keyShapes() string {
	var out []string
	for o, zb := range b.zones {
		if zb.cfg.DNSSEC != nil {
			out = append(out, o+"="+zb.cfg.DNSSEC.shape())
		}
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// versionSigned is version for a zone that may be signed: the DNSSEC
// records that changed join the data records in the journal entry, and the
// SOA of the new serial is signed.
func (z *Zone) versionSigned(prev *Zone, key *ZoneKey, added, deleted []mdns.RR, minSerial uint32, now time.Time) error {
	if key != nil || (prev != nil && prev.sec != nil) {
		sa, sd, err := z.secure(prev, key, added, deleted, now)
		if err != nil {
			return err
		}
		added = append(slices.Clip(added), sa...)
		deleted = append(slices.Clip(deleted), sd...)
	}
	z.version(prev, added, deleted, minSerial, now)
	return z.signSOA(prev, now)
}

// Signed reports whether the zone is signed.
func (z *Zone) Signed() bool { return z.sec != nil }

// Key returns the zone's DNSSEC key, or nil when it is not signed.
func (z *Zone) Key() *ZoneKey {
	if z.sec == nil {
		return nil
	}
	return z.sec.key
}

// SigningDue reports whether a signed zone's signatures are due for renewal
// at now: the next Build re-signs it and moves its serial. A daemon checks
// it periodically, since no registry change may come for weeks.
func (s *Snapshot) SigningDue(now time.Time) bool {
	for _, z := range s.zones {
		if z.sec != nil && z.sec.due(now) {
			return true
		}
	}
	return false
}
