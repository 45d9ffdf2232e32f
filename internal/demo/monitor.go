package demo

import (
	"context"
	"fmt"

	"maillon/internal/registry"
)

// MonitorTargets are the demo daemon's own addresses its checks watch,
// and Switch, a TCP listener the demo holds for its switches and uplink.
type MonitorTargets struct {
	HTTP, DNS, RADIUS, Switch string
}

// UplinkCheck is the check whose address the README changes to show a
// residence going dark: its switches turn unreachable behind it.
const UplinkCheck = "uplink-rives"

// SeedChecks adds the demo's checks: the Les Rives uplink and the switches
// behind it (dependencies the registry implies: a host's check depends on
// its site's), the Fleming switch, the status page over HTTP, DNS, RADIUS,
// and a push heartbeat for the backups. It returns the push check, whose
// token is shown once.
func SeedChecks(ctx context.Context, reg *registry.Service, t MonitorTargets) (registry.Check, error) {
	var (
		sites map[string]int64
		hosts map[string]int64
		nas   map[string]int64
	)
	err := reg.Read(ctx, func(r registry.Reader) error {
		sites, hosts, nas = map[string]int64{}, map[string]int64{}, map[string]int64{}
		ss, err := r.ListSites(ctx)
		for _, s := range ss {
			sites[s.Name] = s.ID
		}
		if err != nil {
			return err
		}
		hs, err := r.ListHosts(ctx, registry.ListOptions{})
		for _, h := range hs {
			hosts[h.Name] = h.ID
		}
		if err != nil {
			return err
		}
		ns, err := r.ListNAS(ctx)
		for _, n := range ns {
			nas[n.Name] = n.ID
		}
		return err
	})
	if err != nil {
		return registry.Check{}, err
	}
	id := func(m map[string]int64, name string) *int64 {
		v, ok := m[name]
		if !ok {
			return nil
		}
		return &v
	}
	var checks []registry.CheckInput
	if t.Switch != "" {
		checks = append(checks,
			registry.CheckInput{Name: ptr(UplinkCheck), Kind: ptr(registry.CheckTCP), Address: ptr(t.Switch), SiteID: id(sites, "Résidence Les Rives"),
				Severity: ptr(registry.SeverityCritical), Tags: &[]string{"residence"}},
			registry.CheckInput{Name: ptr("sw-rives-a"), Kind: ptr(registry.CheckTCP), Address: ptr(t.Switch), HostID: id(hosts, "sw-rives-a")},
			registry.CheckInput{Name: ptr("sw-rives-b"), Kind: ptr(registry.CheckTCP), Address: ptr(t.Switch), HostID: id(hosts, "sw-rives-b")},
			registry.CheckInput{Name: ptr("sw-fleming-1"), Kind: ptr(registry.CheckTCP), Address: ptr(t.Switch), HostID: id(hosts, "sw-fleming-1")},
		)
	}
	if t.HTTP != "" {
		checks = append(checks, registry.CheckInput{Name: ptr("status-page"), Kind: ptr(registry.CheckHTTP), URL: ptr("http://" + t.HTTP + "/status"),
			BodyMatch: ptr("Demo ISP"), Service: ptr("web")})
	}
	if t.DNS != "" {
		checks = append(checks, registry.CheckInput{Name: ptr("dns"), Kind: ptr(registry.CheckDNS), Address: ptr(t.DNS),
			QueryName: ptr(Domain), QueryType: ptr("SOA"), Service: ptr("dns")})
	}
	if t.RADIUS != "" {
		checks = append(checks, registry.CheckInput{Name: ptr("radius"), Kind: ptr(registry.CheckRADIUS), Address: ptr(t.RADIUS),
			Secret: ptr(NASSecret), NASID: id(nas, NASName), Retries: ptr(2), Severity: ptr(registry.SeverityCritical)})
	}
	for _, in := range checks {
		in.Interval, in.Timeout = ptr("10s"), ptr("3s")
		if _, err := reg.CreateCheck(ctx, Actor, in); err != nil {
			return registry.Check{}, fmt.Errorf("demo check %s: %w", *in.Name, err)
		}
	}
	push, err := reg.CreateCheck(ctx, Actor, registry.CheckInput{Name: ptr("backups"), Kind: ptr(registry.CheckPush),
		Interval: ptr("1d"), Timeout: ptr("2h"), Service: ptr("backups"), Tags: &[]string{"backup"}})
	if err != nil {
		return registry.Check{}, fmt.Errorf("demo push check: %w", err)
	}
	return push, nil
}
