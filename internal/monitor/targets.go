package monitor

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"maillon/internal/registry"
)

// objects are the registry objects checks sit on, by id, for names,
// maintenance windows and Alertmanager alerts naming a host.
type objects struct {
	hosts map[int64]registry.Host
	nas   map[int64]registry.NAS
	sites map[int64]registry.Site
}

func newObjects(hosts []registry.Host, nas []registry.NAS, sites []registry.Site) objects {
	o := objects{hosts: map[int64]registry.Host{}, nas: map[int64]registry.NAS{}, sites: map[int64]registry.Site{}}
	for _, h := range hosts {
		o.hosts[h.ID] = h
	}
	for _, n := range nas {
		o.nas[n.ID] = n
	}
	for _, s := range sites {
		o.sites[s.ID] = s
	}
	return o
}

// targetName names what a check is attached to: "host gw1".
func (m *Monitor) targetName(c registry.Check) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.objects.name(c)
}

func (o objects) name(c registry.Check) string {
	if c.TargetType == registry.TargetService {
		return "service " + c.Service
	}
	if c.TargetID == nil {
		return ""
	}
	id := *c.TargetID
	switch c.TargetType {
	case registry.TargetHost:
		if h, ok := o.hosts[id]; ok {
			return "host " + h.Name
		}
	case registry.TargetNAS:
		if n, ok := o.nas[id]; ok {
			return "NAS " + n.Name
		}
	case registry.TargetSite:
		if s, ok := o.sites[id]; ok {
			return "site " + s.Name
		}
	}
	return fmt.Sprintf("%s %d", c.TargetType, id)
}

// covers lists what a maintenance of a target would cover for a check:
// the check itself, its target, and the target's site.
func (o objects) covers(c registry.Check) []MutedTarget {
	out := []MutedTarget{{Kind: "check", ID: c.ID}}
	if c.TargetType == registry.TargetService {
		return append(out, MutedTarget{Kind: registry.TargetService, Service: c.Service})
	}
	if c.TargetID == nil {
		return out
	}
	out = append(out, MutedTarget{Kind: c.TargetType, ID: *c.TargetID})
	var site *int64
	switch c.TargetType {
	case registry.TargetHost:
		site = o.hosts[*c.TargetID].SiteID
	case registry.TargetNAS:
		site = o.nas[*c.TargetID].SiteID
	}
	if site != nil {
		out = append(out, MutedTarget{Kind: registry.TargetSite, ID: *site})
	}
	return out
}

func sameTarget(a, b MutedTarget) bool {
	if a.Kind != b.Kind {
		return false
	}
	if a.Kind == registry.TargetService {
		return a.Service != "" && strings.EqualFold(a.Service, b.Service)
	}
	return a.ID == b.ID
}

// inMaintenance says which maintenance mutes an alert: one covering its
// check, the check's target or site, or a check it depends on (work on a
// switch mutes what sits behind it).
func (m *Monitor) inMaintenance(al *registry.Alert, active []MutedTarget) string {
	if len(active) == 0 {
		return ""
	}
	for _, t := range active {
		if t.Kind == registry.TargetService && t.Service == "all" {
			return "maintenance"
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []int64
	if al.CheckID != nil {
		ids = append(ids, *al.CheckID)
	} else if h, ok := m.amHost(al.Labels); ok {
		for _, t := range active {
			if sameTarget(t, MutedTarget{Kind: registry.TargetHost, ID: h.ID}) || h.SiteID != nil && sameTarget(t, MutedTarget{Kind: registry.TargetSite, ID: *h.SiteID}) {
				return "maintenance of host " + h.Name
			}
		}
		// What the host sits behind, as for its reachability: work on a
		// check of one of its services is not work on the host.
		ids = m.graph.Base(registry.TargetHost, h.ID)
	}
	seen := map[int64]bool{}
	for len(ids) > 0 {
		id := ids[0]
		ids = ids[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		r := m.runs[id]
		if r == nil {
			continue
		}
		for _, c := range m.objects.covers(r.check) {
			for _, t := range active {
				if sameTarget(t, c) {
					what := "check " + r.check.Name
					if c.Kind != "check" {
						what = m.objects.name(registry.Check{TargetType: c.Kind, TargetID: &c.ID, Service: c.Service})
					}
					return "maintenance of " + what
				}
			}
		}
		for _, e := range m.graph.Parents[id] {
			ids = append(ids, e.Parent)
		}
	}
	return ""
}

// amHost finds the registry host an Alertmanager alert is about, from its
// maillon_host label or its instance (host:port). It runs with m.mu held.
func (m *Monitor) amHost(labels map[string]string) (registry.Host, bool) {
	name := labels["maillon_host"]
	if name == "" {
		name = labels["instance"]
		if h, _, err := net.SplitHostPort(name); err == nil {
			name = h
		}
	}
	if name == "" {
		return registry.Host{}, false
	}
	addr, addrErr := netip.ParseAddr(name)
	for _, h := range m.objects.hosts {
		if strings.EqualFold(h.Name, name) || strings.HasPrefix(strings.ToLower(name), strings.ToLower(h.Name)+".") ||
			addrErr == nil && h.Address == addr.Unmap() {
			return h, true
		}
	}
	return registry.Host{}, false
}

// amDependency says why an Alertmanager alert is only a consequence: the
// check named by its maillon_check label is down or unreachable, or the
// host it is about cannot be reached. "" when nothing it depends on fails.
//
// Only reachability counts for the host, as for maillon's own checks,
// which the dependency graph hides only behind their parents: one of its
// base checks (its pings; without any, its checks but push ones) down if
// it is a ping, or unreachable (what the host sits behind is down). A
// failing application check (a web server, a backup heartbeat) on the host
// says nothing of its other problems.
func (m *Monitor) amDependency(labels map[string]string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if name := labels["maillon_check"]; name != "" {
		for _, r := range m.runs {
			if strings.EqualFold(r.check.Name, name) && r.check.Enabled &&
				(r.st.State == registry.StateDown || r.st.State == registry.StateUnreachable) {
				return fmt.Sprintf("unreachable: check %s is %s", r.check.Name, r.st.State)
			}
		}
	}
	if h, ok := m.amHost(labels); ok {
		for _, id := range m.graph.Base(registry.TargetHost, h.ID) {
			r := m.runs[id]
			if r == nil || !r.check.Enabled {
				continue
			}
			if r.st.State == registry.StateUnreachable || r.st.State == registry.StateDown && r.check.Kind == registry.CheckICMP {
				return fmt.Sprintf("unreachable: check %s of host %s is %s", r.check.Name, h.Name, r.st.State)
			}
		}
	}
	return ""
}
