package status

import (
	"context"
	"slices"

	"maillon/internal/registry"
)

// nasCarries maps a NAS kind to the subscriptions whose traffic it
// carries: a BRAS or LAC the PPP lines, an OpenVPN server the VPN
// accesses, a switch the room ports.
var nasCarries = map[registry.NASKind]registry.SubscriptionKind{
	registry.NASBras:    registry.KindPPP,
	registry.NASLac:     registry.KindPPP,
	registry.NASOpenVPN: registry.KindVPN,
	registry.NASSwitch:  registry.KindRoomPort,
}

// registryView is the part of the registry the computation reads once.
type registryView struct {
	members map[int64]registry.Member
	subs    []registry.Subscription
	ports   map[int64]registry.Port
	hosts   map[int64]registry.Host
	nas     map[int64]registry.NAS
}

func readRegistryView(ctx context.Context, r registry.Reader) (*registryView, error) {
	v := &registryView{members: map[int64]registry.Member{}, ports: map[int64]registry.Port{}, hosts: map[int64]registry.Host{}, nas: map[int64]registry.NAS{}}
	ms, err := r.ListMembers(ctx, registry.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		v.members[m.ID] = m
	}
	if v.subs, err = r.ListSubscriptions(ctx, registry.SubscriptionFilter{}); err != nil {
		return nil, err
	}
	ps, err := r.ListPorts(ctx, 0)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		v.ports[p.ID] = p
	}
	hs, err := r.ListHosts(ctx, registry.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, h := range hs {
		v.hosts[h.ID] = h
	}
	ns, err := r.ListNAS(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range ns {
		v.nas[n.ID] = n
	}
	return v, nil
}

// siteOf is where a subscription is: its own site, else its port's
// switch's, else its member's.
func (v *registryView) siteOf(s registry.Subscription) (int64, bool) {
	if s.SiteID != nil {
		return *s.SiteID, true
	}
	if s.PortID != nil {
		if p, ok := v.ports[*s.PortID]; ok {
			if h, ok := v.hosts[p.HostID]; ok && h.SiteID != nil {
				return *h.SiteID, true
			}
		}
	}
	if m, ok := v.members[s.MemberID]; ok && m.SiteID != nil {
		return *m.SiteID, true
	}
	return 0, false
}

// goesThrough reports whether a subscription depends on a target.
func (v *registryView) goesThrough(s registry.Subscription, t registry.Target) bool {
	switch t.Kind {
	case registry.TargetSite:
		site, ok := v.siteOf(s)
		return ok && site == t.ID
	case registry.TargetHost:
		if s.PortID == nil {
			return false
		}
		p, ok := v.ports[*s.PortID]
		return ok && p.HostID == t.ID
	case registry.TargetNAS:
		n, ok := v.nas[t.ID]
		if !ok || nasCarries[n.Kind] != s.Kind {
			return false
		}
		// A switch serves the rooms of its own site only.
		if n.Kind == registry.NASSwitch && n.SiteID != nil {
			site, ok := v.siteOf(s)
			return ok && site == *n.SiteID
		}
		return true
	case registry.TargetService:
		return t.Service == "all" || registry.SubscriptionKind(t.Service) == s.Kind
	}
	return false
}

// AffectedMembers are the active members with an active subscription
// going through one of the components' targets, by id.
func AffectedMembers(ctx context.Context, r registry.Reader, componentIDs []int64) ([]registry.Member, error) {
	comps, err := componentIndex(ctx, r)
	if err != nil {
		return nil, err
	}
	var targets []registry.Target
	for _, id := range componentIDs {
		targets = append(targets, comps[id].Targets...)
	}
	if len(targets) == 0 {
		return nil, nil
	}
	v, err := readRegistryView(ctx, r)
	if err != nil {
		return nil, err
	}
	seen := map[int64]bool{}
	var out []registry.Member
	for _, s := range v.subs {
		if s.State != registry.SubActive || seen[s.MemberID] {
			continue
		}
		m, ok := v.members[s.MemberID]
		if !ok || m.State != registry.MemberActive {
			continue
		}
		if slices.ContainsFunc(targets, func(t registry.Target) bool { return v.goesThrough(s, t) }) {
			seen[m.ID] = true
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b registry.Member) int { return int(a.ID - b.ID) })
	return out, nil
}
