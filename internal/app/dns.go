package app

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"maillon/internal/config"
	"maillon/internal/dns"
	"maillon/internal/registry"
	"maillon/internal/secret"
	"maillon/internal/web"
)

// dnsInput is the registry's side of the DNS source, kept between changes
// so that a change to one line costs one read of that line, not of the
// whole registry (20,000 lines take far longer to read than the 100 ms in
// which a change must be served).
type dnsInput struct {
	zones    []registry.Zone
	records  []registry.Record
	prefixes []registry.Prefix
	lines    map[int64][]dns.Allocation // by subscription
	ids      []int64                    // the keys of lines, sorted; nil when stale
	// allocs is the last source's allocations, its memory reused by the
	// next: dns.Build keeps nothing of its input, and a fresh slice of
	// 60,000 allocations on every change was a quarter of the time to
	// serve it.
	allocs []dns.Allocation
}

// load reads everything.
func (in *dnsInput) load(ctx context.Context, reg *registry.Service) error {
	var subs []registry.Subscription
	err := reg.Read(ctx, func(r registry.Reader) error {
		if err := in.readSmall(ctx, r); err != nil {
			return err
		}
		var err error
		subs, err = r.ListSubscriptions(ctx, registry.SubscriptionFilter{})
		return err
	})
	if err != nil {
		return fmt.Errorf("read registry for DNS: %w", err)
	}
	in.lines = make(map[int64][]dns.Allocation, len(subs))
	in.ids = nil
	for i := range subs {
		in.lines[subs[i].ID] = allocationsOf(&subs[i])
	}
	return nil
}

// readSmall reads the tables that stay small: zones, records, prefixes.
func (in *dnsInput) readSmall(ctx context.Context, r registry.Reader) error {
	var err error
	if in.zones, err = r.ListZones(ctx); err != nil {
		return err
	}
	if in.records, err = r.ListRecords(ctx, 0); err != nil {
		return err
	}
	in.prefixes, err = r.ListPrefixes(ctx)
	return err
}

// apply updates what the events say changed; it reports false when a full
// load is needed instead.
func (in *dnsInput) apply(ctx context.Context, reg *registry.Service, events []registry.Event) (bool, error) {
	small := false
	for _, e := range events {
		switch e.Entity {
		case "subscription":
			var sub registry.Subscription
			err := reg.Read(ctx, func(r registry.Reader) error {
				var err error
				sub, err = r.GetSubscription(ctx, e.ID)
				return err
			})
			switch {
			case errors.Is(err, registry.ErrNotFound):
				delete(in.lines, e.ID)
				in.ids = nil
			case err != nil:
				return false, err
			default:
				if _, ok := in.lines[e.ID]; !ok {
					in.ids = nil
				}
				in.lines[e.ID] = allocationsOf(&sub)
			}
		case "zone", "record":
			small = true
		case "member", "nas", "site", "host", "port", "cpe", "admin", "token", "certificate", "revoked_key":
			// nothing DNS serves
		default:
			return false, nil // prefixes, reverse names, "everything changed"
		}
	}
	if small {
		if err := reg.Read(ctx, func(r registry.Reader) error { return in.readSmall(ctx, r) }); err != nil {
			return false, err
		}
	}
	return true, nil
}

func allocationsOf(s *registry.Subscription) []dns.Allocation {
	out := make([]dns.Allocation, 0, len(s.Addresses))
	for _, a := range s.Addresses {
		out = append(out, dns.Allocation{Login: s.Login, Prefix: a.Block, ReverseName: a.ReverseName})
	}
	return out
}

// source assembles the DNS server's input from the registry's side and the
// configuration's zone settings.
func (in *dnsInput) source(dc config.DNS) dns.Source {
	var src dns.Source
	base := dns.ZoneConfig{Hostmaster: dc.Hostmaster, TTL: uint32(dc.TTL)}
	for _, ns := range dc.Nameservers {
		base.NS = append(base.NS, registry.Fqdn(ns))
	}
	for _, k := range dc.Keys {
		src.Keys = append(src.Keys, dns.TSIGKey{Name: registry.Fqdn(k.Name), Algorithm: k.Algorithm, Secret: k.Secret})
	}
	for _, a := range dc.Transfer {
		acl := dns.ACL{Key: registry.Fqdn(a.Key)}
		for _, n := range a.Networks {
			p, _ := netip.ParsePrefix(n)
			acl.Networks = append(acl.Networks, p)
		}
		base.Transfer = append(base.Transfer, acl)
	}
	for _, p := range dc.Notify {
		base.Notify = append(base.Notify, dns.Secondary{Addr: p.Addr, Key: registry.Fqdn(p.Key)})
	}
	for _, p := range dc.Push {
		base.Push = append(base.Push, dns.PushTarget{Addr: p.Addr, Key: registry.Fqdn(p.Key)})
	}
	src.Reverse = base
	origin := map[int64]string{}
	for _, z := range in.zones {
		zc := base
		zc.Origin = z.Origin
		if z.TTL > 0 {
			zc.TTL = uint32(z.TTL)
		}
		src.Zones = append(src.Zones, zc)
		origin[z.ID] = z.Origin
	}
	for _, r := range in.records {
		src.Records = append(src.Records, dns.Record{Zone: origin[r.ZoneID], Name: r.Name, Type: r.Type, TTL: uint32(r.TTL), Data: r.Data})
	}
	for _, p := range in.prefixes {
		src.Prefixes = append(src.Prefixes, dns.Prefix{Prefix: p.CIDR, PTRTemplate: p.PTRTemplate, Forward: p.DNSForward})
	}
	if in.ids == nil {
		in.ids = make([]int64, 0, len(in.lines))
		for id := range in.lines {
			in.ids = append(in.ids, id)
		}
		slices.Sort(in.ids) // the same input in the same order: the builder reuses what it can
	}
	in.allocs = in.allocs[:0]
	for _, id := range in.ids {
		in.allocs = append(in.allocs, in.lines[id]...)
	}
	src.Allocations = in.allocs
	return src
}

// checkRecord parses a record as a zone file line would, so that a typo is
// refused when it is typed rather than dropped when the zone is built. The
// registry has checked the owner name; what fails here is the data.
func checkRecord(origin, name, typ string, ttl int, data string) error {
	owner := name
	if owner == "@" {
		owner = origin
	} else if !strings.HasSuffix(owner, ".") {
		owner += "." + origin
	}
	zp := mdns.NewZoneParser(strings.NewReader(fmt.Sprintf("%s %d IN %s %s\n", owner, ttl, typ, data)), origin, "")
	rr, ok := zp.Next()
	if !ok {
		if err := zp.Err(); err != nil {
			return fmt.Errorf("%q is not valid %s data: %s", data, typ, parseProblem(err))
		}
		return fmt.Errorf("%s record %q is empty", typ, data)
	}
	// The parser takes any hexadecimal string, or none, as a fingerprint
	// or a certificate association.
	if t, ok := rr.(*mdns.TLSA); ok {
		if t.Usage > 3 || t.Selector > 1 || t.MatchingType > 2 {
			return fmt.Errorf("TLSA %d %d %d: usage is 0 to 3, selector 0 or 1, matching type 0 to 2 (RFC 6698)", t.Usage, t.Selector, t.MatchingType)
		}
		want := map[uint8]int{1: 64, 2: 128}[t.MatchingType]
		if _, err := hex.DecodeString(t.Certificate); err != nil || t.Certificate == "" || want > 0 && len(t.Certificate) != want {
			return fmt.Errorf("TLSA certificate data %q is not hexadecimal of the matching type's length (SHA-256: 64 digits, SHA-512: 128)", t.Certificate)
		}
	}
	if fp, ok := rr.(*mdns.SSHFP); ok {
		want := map[uint8]int{1: 40, 2: 64}[fp.Type]
		if want == 0 {
			return fmt.Errorf("SSHFP fingerprint type %d is not 1 (SHA-1) or 2 (SHA-256)", fp.Type)
		}
		if _, err := hex.DecodeString(fp.FingerPrint); err != nil || len(fp.FingerPrint) != want {
			return fmt.Errorf("SSHFP fingerprint %q is not %d hexadecimal digits (type %d)", fp.FingerPrint, want, fp.Type)
		}
		if !slices.Contains([]uint8{1, 2, 3, 4, 6}, fp.Algorithm) {
			return fmt.Errorf("SSHFP algorithm %d is not 1 (RSA), 2 (DSA), 3 (ECDSA), 4 (Ed25519) or 6 (Ed448)", fp.Algorithm)
		}
	}
	return nil
}

// parseProblem is the zone parser's message without its "dns: " prefix and
// the position in a one-line input.
func parseProblem(err error) string {
	msg := strings.TrimPrefix(err.Error(), "dns: ")
	msg, _, _ = strings.Cut(msg, " at line: ")
	return msg
}

// dnsService runs the DNS server and keeps its zones current.
type dnsService struct {
	srv *dns.Server
	reg *registry.Service
	cfg config.DNS
	log *slog.Logger
	in  dnsInput
	// DNSSEC: the zones' keys, the clock that dates signatures, and the
	// scheduler's request to re-sign.
	keys   *zoneKeys
	clock  Clock
	resign chan struct{}
}

func (a *App) newDNS() (*dnsService, error) {
	dc := a.cfg.DNS
	if dc.Listen == "" {
		return nil, nil
	}
	ds := &dnsService{reg: a.reg, cfg: dc, log: a.log, clock: a.clock, resign: make(chan struct{}, 1)}
	if dc.DNSSEC.All || len(dc.DNSSEC.Zones) > 0 {
		secretKey, err := secret.ParseKey(a.cfg.SecretKey)
		if err != nil {
			return nil, fmt.Errorf("secret_key: %w", err)
		}
		ds.keys = &zoneKeys{secret: secretKey, cfg: dc.DNSSEC}
		a.sched.add("dnssec re-signing", ds.resignTick)
	}
	ds.srv = dns.NewServer(dns.Config{Addr: dc.Listen, RateLimit: dns.RateLimit{ResponsesPerSecond: dc.RateLimit}, Logger: a.log})
	// The zones are built in run: a large registry takes a second or more
	// to build, which must not hold up the API and RADIUS.
	if err := ds.srv.Start(); err != nil {
		return nil, &ListenError{"dns.listen", err}
	}
	return ds, nil
}

func (ds *dnsService) rebuild() error {
	start := time.Now()
	src := ds.in.source(ds.cfg)
	src.ZoneKey = ds.keys.key
	assembled := time.Since(start)
	snap, err := ds.srv.UpdateAt(src, ds.clock.Now())
	ds.log.Debug("DNS zones built", "source", assembled, "build", time.Since(start)-assembled)
	if err != nil {
		return fmt.Errorf("build DNS zones: %w", err)
	}
	if n := len(snap.Problems); n > 0 {
		ds.log.Warn("DNS: records or allocations left out of the zones", "count", n, "first", snap.Problems[0])
	}
	return nil
}

// run rebuilds the zones after each burst of registry changes; the server
// patches only what changed and notifies the secondaries.
func (ds *dnsService) run(ctx context.Context) error {
	events, stop := ds.reg.Events().Subscribe()
	defer stop()
	if err := ds.refresh(ctx, nil); err != nil {
		ds.log.Error("DNS rebuild failed; serving the previous zones", "err", err)
	}
	releaseStartupGarbage()
	for {
		select {
		case <-ctx.Done():
			shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return ds.srv.Stop(shut)
		case e := <-events:
			batch := []registry.Event{e}
			time.Sleep(5 * time.Millisecond)
			for len(events) > 0 {
				batch = append(batch, <-events)
			}
			if err := ds.refresh(ctx, batch); err != nil {
				ds.log.Error("DNS rebuild failed; serving the previous zones", "err", err)
			}
		case <-ds.resign:
			if err := ds.rebuild(); err != nil {
				ds.log.Error("DNSSEC re-signing failed; serving the previous zones", "err", err)
			}
		}
	}
}

// refresh brings the zones up to date with a batch of changes (nil: all).
func (ds *dnsService) refresh(ctx context.Context, batch []registry.Event) error {
	start := time.Now()
	defer func() { ds.log.Debug("DNS refreshed", "events", len(batch), "took", time.Since(start)) }()
	patched := false
	if batch != nil {
		var err error
		if patched, err = ds.in.apply(ctx, ds.reg, batch); err != nil {
			return err
		}
	}
	if !patched {
		if err := ds.in.load(ctx, ds.reg); err != nil {
			return err
		}
	}
	return ds.rebuild()
}

// Zones lists the served zones with their serials.
func (ds *dnsService) Zones() []web.ServedZone {
	snap := ds.srv.Snapshot()
	var out []web.ServedZone
	for _, o := range snap.Origins() {
		z := snap.Zone(o)
		out = append(out, web.ServedZone{Origin: o, Serial: z.Serial(), TTL: z.TTL()})
	}
	return out
}

// Export writes a served zone as a standard zone file.
func (ds *dnsService) Export(origin string) (string, error) {
	z := ds.srv.Snapshot().Zone(registry.Fqdn(origin))
	if z == nil {
		return "", registry.NotFound("served zone", origin)
	}
	return z.Text(), nil
}

// Diff tells, for each push target (dns.push), what RFC 2136 updates would
// bring its copy of the zone in line with maillon's, without sending them.
func (ds *dnsService) Diff(ctx context.Context, origin string) ([]web.PushDiff, error) {
	if len(ds.cfg.Push) == 0 {
		return nil, fmt.Errorf("no external primary to compare with: dns.push is empty: %w", registry.ErrInvalid)
	}
	snap := ds.srv.Snapshot()
	origins := snap.Origins()
	if origin != "" {
		if snap.Zone(registry.Fqdn(origin)) == nil {
			return nil, registry.NotFound("served zone", origin)
		}
		origins = []string{registry.Fqdn(origin)}
	}
	keys := map[string]*dns.TSIGKey{}
	for _, k := range ds.cfg.Keys {
		keys[registry.Fqdn(k.Name)] = &dns.TSIGKey{Name: registry.Fqdn(k.Name), Algorithm: k.Algorithm, Secret: k.Secret}
	}
	var out []web.PushDiff
	for _, target := range ds.cfg.Push {
		remote := dns.Remote{Addr: target.Addr, Key: keys[registry.Fqdn(target.Key)]}
		for _, o := range origins {
			d := web.PushDiff{Target: target.Addr, Zone: o, Changes: []string{}}
			have, err := dns.FetchZone(ctx, remote, o)
			if err != nil {
				d.Error = err.Error()
			} else {
				for _, c := range dns.Diff(snap.Zone(o).Records(), have) {
					d.Changes = append(d.Changes, c.String())
				}
			}
			out = append(out, d)
		}
	}
	return out, nil
}
