package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	mdns "github.com/miekg/dns"

	"maillon/internal/config"
	"maillon/internal/dns"
	"maillon/internal/registry"
	"maillon/internal/web"
)

// dnsSource builds the DNS server's input from one registry read and the
// configuration's zone settings.
func dnsSource(ctx context.Context, reg *registry.Service, dc config.DNS) (dns.Source, error) {
	var (
		src      dns.Source
		zones    []registry.Zone
		records  []registry.Record
		prefixes []registry.Prefix
		subs     []registry.Subscription
	)
	err := reg.Read(ctx, func(r registry.Reader) error {
		var err error
		if zones, err = r.ListZones(ctx); err != nil {
			return err
		}
		if records, err = r.ListRecords(ctx, 0); err != nil {
			return err
		}
		if prefixes, err = r.ListPrefixes(ctx); err != nil {
			return err
		}
		subs, err = r.ListSubscriptions(ctx, registry.SubscriptionFilter{})
		return err
	})
	if err != nil {
		return src, fmt.Errorf("read registry for DNS: %w", err)
	}
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
	for _, z := range zones {
		zc := base
		zc.Origin = z.Origin
		if z.TTL > 0 {
			zc.TTL = uint32(z.TTL)
		}
		src.Zones = append(src.Zones, zc)
		origin[z.ID] = z.Origin
	}
	for _, r := range records {
		src.Records = append(src.Records, dns.Record{Zone: origin[r.ZoneID], Name: r.Name, Type: r.Type, TTL: uint32(r.TTL), Data: r.Data})
	}
	for _, p := range prefixes {
		src.Prefixes = append(src.Prefixes, dns.Prefix{Prefix: p.CIDR, PTRTemplate: p.PTRTemplate, Forward: p.DNSForward})
	}
	for _, s := range subs {
		for _, a := range s.Addresses {
			src.Allocations = append(src.Allocations, dns.Allocation{Login: s.Login, Prefix: a.Block, ReverseName: a.ReverseName})
		}
	}
	return src, nil
}

// checkRecord parses a record as a zone file line would, so that a typo is
// refused when it is typed rather than dropped when the zone is built.
func checkRecord(origin, name, typ string, ttl int, data string) error {
	owner := name
	if owner == "@" {
		owner = origin
	} else if !strings.HasSuffix(owner, ".") {
		owner += "." + origin
	}
	zp := mdns.NewZoneParser(strings.NewReader(fmt.Sprintf("%s %d IN %s %s\n", owner, ttl, typ, data)), origin, "")
	if _, ok := zp.Next(); !ok {
		if err := zp.Err(); err != nil {
			return fmt.Errorf("%s record %q: %v", typ, data, err)
		}
		return fmt.Errorf("%s record %q is empty", typ, data)
	}
	if _, ok := mdns.IsDomainName(owner); !ok {
		return fmt.Errorf("%q is not a domain name", name)
	}
	return nil
}

// dnsService runs the DNS server and keeps its zones current.
type dnsService struct {
	srv *dns.Server
	reg *registry.Service
	cfg config.DNS
	log *slog.Logger
}

func (a *App) newDNS() (*dnsService, error) {
	dc := a.cfg.DNS
	if dc.Listen == "" {
		return nil, nil
	}
	ds := &dnsService{reg: a.reg, cfg: dc, log: a.log}
	ds.srv = dns.NewServer(dns.Config{Addr: dc.Listen, RateLimit: dns.RateLimit{ResponsesPerSecond: dc.RateLimit}, Logger: a.log})
	if err := ds.rebuild(context.Background()); err != nil {
		return nil, err
	}
	if err := ds.srv.Start(); err != nil {
		return nil, fmt.Errorf("dns.listen: %w", err)
	}
	return ds, nil
}

func (ds *dnsService) rebuild(ctx context.Context) error {
	src, err := dnsSource(ctx, ds.reg, ds.cfg)
	if err != nil {
		return err
	}
	snap, err := ds.srv.Update(src)
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
	// A change made between New and Run would otherwise wait for the next.
	if err := ds.rebuild(ctx); err != nil {
		ds.log.Error("DNS rebuild failed; serving the previous zones", "err", err)
	}
	for {
		select {
		case <-ctx.Done():
			shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return ds.srv.Stop(shut)
		case <-events:
			time.Sleep(10 * time.Millisecond)
			for len(events) > 0 {
				<-events
			}
			if err := ds.rebuild(ctx); err != nil {
				ds.log.Error("DNS rebuild failed; serving the previous zones", "err", err)
			}
		}
	}
}

// Zones lists the served zones with their serials.
func (ds *dnsService) Zones() []web.ServedZone {
	snap := ds.srv.Snapshot()
	var out []web.ServedZone
	for _, o := range snap.Origins() {
		out = append(out, web.ServedZone{Origin: o, Serial: snap.Zone(o).Serial()})
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
