package dns

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// Remote is an external DNS server: a primary maillon pushes to (RFC 2136),
// or any server to transfer a zone from.
type Remote struct {
	// Addr is host:port.
	Addr string
	// Key signs transfers and updates; nil sends them unsigned.
	Key *TSIGKey
	// Timeout bounds each exchange (10 s by default).
	Timeout time.Duration
}

func (r Remote) timeout() time.Duration {
	if r.Timeout == 0 {
		return 10 * time.Second
	}
	return r.Timeout
}

func (r Remote) sign(m *mdns.Msg) mdns.TsigProvider {
	if r.Key == nil {
		return nil
	}
	k := *r.Key
	k.Name = canonical(k.Name)
	if k.Algorithm == "" {
		k.Algorithm = "hmac-sha256"
	}
	k.Algorithm = canonical(k.Algorithm)
	m.SetTsig(k.Name, k.Algorithm, 300, time.Now().Unix())
	return keyProvider(k)
}

// FetchZone transfers a zone from a remote server with AXFR. The records are
// returned as received, SOA first, without the closing SOA.
func FetchZone(ctx context.Context, r Remote, origin string) ([]mdns.RR, error) {
	origin = canonical(origin)
	m := new(mdns.Msg)
	m.SetAxfr(origin)
	tr := &mdns.Transfer{DialTimeout: r.timeout(), ReadTimeout: r.timeout(), WriteTimeout: r.timeout()}
	tr.TsigProvider = r.sign(m)
	env, err := tr.In(m, r.Addr)
	if err != nil {
		return nil, fmt.Errorf("dns: AXFR %s from %s: %w", origin, r.Addr, err)
	}
	var out []mdns.RR
	for e := range env {
		if e.Error != nil {
			return nil, fmt.Errorf("dns: AXFR %s from %s: %w", origin, r.Addr, e.Error)
		}
		out = append(out, e.RR...)
		if ctx.Err() != nil {
			go func() {
				for range env { // let the transfer goroutine finish
				}
			}()
			return nil, ctx.Err()
		}
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("dns: AXFR %s from %s: %w", origin, r.Addr, errNoSOA)
	}
	if _, ok := out[0].(*mdns.SOA); !ok {
		return nil, fmt.Errorf("dns: AXFR %s from %s: %w", origin, r.Addr, errNoSOA)
	}
	return out[:len(out)-1], nil
}

// Change is one record to add to or delete from a remote zone.
type Change struct {
	Delete bool
	RR     mdns.RR
}

// String renders the change as a diff line: "+ name ttl IN type data".
func (c Change) String() string {
	sign := "+ "
	if c.Delete {
		sign = "- "
	}
	return sign + strings.ReplaceAll(c.RR.String(), "\t", " ")
}

// managed reports whether Diff compares records of this type. The SOA
// belongs to the remote primary (its serial, its timers) and DNSSEC records
// to its signer.
func managed(t uint16) bool {
	switch t {
	case mdns.TypeSOA, mdns.TypeRRSIG, mdns.TypeNSEC, mdns.TypeNSEC3, mdns.TypeNSEC3PARAM,
		mdns.TypeDNSKEY, mdns.TypeCDS, mdns.TypeCDNSKEY, mdns.TypeZONEMD, mdns.TypeTSIG, mdns.TypeOPT:
		return false
	}
	return true
}

// Diff lists the changes that turn the records a remote server has into the
// ones maillon would serve: deletions first (a changed TTL is a deletion and
// an addition), then additions, then deletions of apex NS records; each group
// sorted like an export. SOA and DNSSEC records are left out.
func Diff(want, have []mdns.RR) []Change {
	key := func(rr mdns.RR) string {
		c := mdns.Copy(rr)
		c.Header().Name = strings.ToLower(c.Header().Name)
		c.Header().Class = mdns.ClassINET
		return c.String()
	}
	wantSet := map[string]mdns.RR{}
	for _, rr := range want {
		if managed(rr.Header().Rrtype) {
			wantSet[key(rr)] = rr
		}
	}
	haveSet := map[string]mdns.RR{}
	for _, rr := range have {
		if managed(rr.Header().Rrtype) {
			haveSet[key(rr)] = rr
		}
	}
	var del, add []Change
	for k, rr := range haveSet {
		if _, ok := wantSet[k]; !ok {
			del = append(del, Change{Delete: true, RR: rr})
		}
	}
	for k, rr := range wantSet {
		if _, ok := haveSet[k]; !ok {
			add = append(add, Change{RR: rr})
		}
	}
	order := func(cs []Change) {
		keys := make(map[mdns.RR]string, len(cs))
		for _, c := range cs {
			keys[c.RR] = sortKey(c.RR)
		}
		sort.Slice(cs, func(i, j int) bool { return keys[cs[i].RR] < keys[cs[j].RR] })
	}
	order(del)
	order(add)
	// A dynamic update never deletes the last NS of the apex (RFC 2136
	// section 3.4.2.4): replace the apex NS set by adding before deleting.
	apex := ""
	for _, rr := range append(slices.Clone(want), have...) {
		if rr.Header().Rrtype == mdns.TypeSOA {
			apex = strings.ToLower(rr.Header().Name)
		}
	}
	var first, last []Change
	for _, c := range del {
		if c.RR.Header().Rrtype == mdns.TypeNS && strings.ToLower(c.RR.Header().Name) == apex {
			last = append(last, c)
		} else {
			first = append(first, c)
		}
	}
	return append(append(first, add...), last...)
}

// maxUpdateRRs bounds the records of one UPDATE message so that it fits in
// a TCP message.
const maxUpdateRRs = 500

// Push applies changes to a zone on a remote primary as RFC 2136 dynamic
// updates over TCP, signed with the remote's key. Changes go in order, in
// messages of at most 500 records; each message is atomic on the remote,
// the whole push is not.
func Push(ctx context.Context, r Remote, origin string, changes []Change) error {
	origin = canonical(origin)
	c := &mdns.Client{Net: "tcp", Timeout: r.timeout()}
	for start := 0; start < len(changes); start += maxUpdateRRs {
		batch := changes[start:min(start+maxUpdateRRs, len(changes))]
		m := new(mdns.Msg)
		m.SetUpdate(origin)
		for _, ch := range batch {
			// Insert and Remove rewrite headers: give them copies.
			rr := mdns.Copy(ch.RR)
			if ch.Delete {
				m.Remove([]mdns.RR{rr})
			} else {
				m.Insert([]mdns.RR{rr})
			}
		}
		c.TsigProvider = r.sign(m)
		resp, _, err := c.ExchangeContext(ctx, m, r.Addr)
		if err != nil {
			return fmt.Errorf("dns: update %s on %s (changes %d-%d): %w", origin, r.Addr, start+1, start+len(batch), err)
		}
		if resp.Rcode != mdns.RcodeSuccess {
			return fmt.Errorf("dns: update %s on %s (changes %d-%d): %s", origin, r.Addr, start+1, start+len(batch), mdns.RcodeToString[resp.Rcode])
		}
	}
	return nil
}

// Sync makes a remote primary's zone match z: it transfers the zone, diffs
// and pushes. It returns the changes it applied.
func Sync(ctx context.Context, r Remote, z *Zone) ([]Change, error) {
	have, err := FetchZone(ctx, r, z.origin)
	if err != nil {
		return nil, err
	}
	changes := Diff(z.Records(), have)
	if err := Push(ctx, r, z.origin, changes); err != nil {
		return nil, err
	}
	return changes, nil
}
