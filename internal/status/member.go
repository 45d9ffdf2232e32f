package status

import (
	"context"
	"errors"

	"maillon/internal/registry"
)

// MemberAffected reports whether one of a member's lines goes through one
// of the components' targets, by the rules of AffectedMembers. It reads
// that member's lines (and the ports and switches they hang on) instead of
// the whole registry, since a member's page asks on every view.
func MemberAffected(ctx context.Context, r registry.Reader, memberID int64, componentIDs []int64) (bool, error) {
	comps, err := componentIndex(ctx, r)
	if err != nil {
		return false, err
	}
	var targets []registry.Target
	for _, id := range componentIDs {
		targets = append(targets, comps[id].Targets...)
	}
	if len(targets) == 0 {
		return false, nil
	}
	m, err := r.GetMember(ctx, memberID)
	if errors.Is(err, registry.ErrNotFound) {
		return false, nil
	}
	if err != nil || m.State != registry.MemberActive {
		return false, err
	}
	v := &registryView{members: map[int64]registry.Member{m.ID: m}, ports: map[int64]registry.Port{}, hosts: map[int64]registry.Host{}, nas: map[int64]registry.NAS{}}
	if v.subs, err = r.ListSubscriptions(ctx, registry.SubscriptionFilter{MemberID: memberID}); err != nil {
		return false, err
	}
	for _, s := range v.subs {
		if s.PortID == nil {
			continue
		}
		p, err := r.GetPort(ctx, *s.PortID)
		if errors.Is(err, registry.ErrNotFound) {
			continue
		}
		if err != nil {
			return false, err
		}
		v.ports[p.ID] = p
		h, err := r.GetHost(ctx, p.HostID)
		if err != nil && !errors.Is(err, registry.ErrNotFound) {
			return false, err
		}
		if err == nil {
			v.hosts[h.ID] = h
		}
	}
	ns, err := r.ListNAS(ctx)
	if err != nil {
		return false, err
	}
	for _, n := range ns {
		v.nas[n.ID] = n
	}
	for _, s := range v.subs {
		if s.State != registry.SubActive {
			continue
		}
		for _, t := range targets {
			if v.goesThrough(s, t) {
				return true, nil
			}
		}
	}
	return false, nil
}
