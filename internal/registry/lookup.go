package registry

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"maillon/internal/ipam"
	"maillon/internal/macaddr"
)

// FindSubscription resolves what an admin has at hand to a subscription:
// an id, a login, an IP address inside one of its blocks, or a MAC address.
func (s *Service) FindSubscription(ctx context.Context, ref string) (Subscription, error) {
	ref = strings.TrimSpace(ref)
	var out Subscription
	err := s.store.Read(ctx, func(r Reader) error {
		var err error
		out, err = findSubscription(ctx, r, ref)
		return err
	})
	return out, err
}

func findSubscription(ctx context.Context, r Reader, ref string) (Subscription, error) {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return r.GetSubscription(ctx, id)
	}
	if addr, err := netip.ParseAddr(ref); err == nil {
		a, err := allocationOf(ctx, r, addr.Unmap())
		if err != nil {
			return Subscription{}, err
		}
		return r.GetSubscription(ctx, *a.SubscriptionID)
	}
	if s, err := r.GetSubscriptionByLogin(ctx, ref); !errors.Is(err, ErrNotFound) {
		return s, err
	}
	if mac, err := macaddr.Normalize(ref); err == nil {
		return r.GetSubscriptionByMAC(ctx, mac)
	}
	return Subscription{}, NotFound("subscription", ref)
}

// allocationOf finds the active allocation whose block holds addr.
func allocationOf(ctx context.Context, r Reader, addr netip.Addr) (Allocation, error) {
	pools, err := r.ListPools(ctx)
	if err != nil {
		return Allocation{}, err
	}
	for _, p := range pools {
		if !p.IsPool() || !p.CIDR.Contains(addr) {
			continue
		}
		block, err := addr.Prefix(p.BlockBits)
		if err != nil {
			continue
		}
		idx, err := ipam.BlockIndex(p.CIDR, block, p.BlockBits)
		if err != nil {
			continue
		}
		a, err := r.GetAllocationAt(ctx, p.ID, int64(idx))
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return Allocation{}, err
		}
		if a.SubscriptionID == nil {
			return Allocation{}, fmt.Errorf("address %s (block %s) was released and is in quarantine: %w", addr, a.Block, ErrNotFound)
		}
		return a, nil
	}
	return Allocation{}, NotFound("allocation for address", addr)
}

// FindMember resolves an id, an email, a login, an IP address or a MAC
// address (of a subscription or of a lent CPE) to a member.
func (s *Service) FindMember(ctx context.Context, ref string) (Member, error) {
	ref = strings.TrimSpace(ref)
	var out Member
	err := s.store.Read(ctx, func(r Reader) error {
		if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
			var err error
			out, err = r.GetMember(ctx, id)
			return err
		}
		if strings.Contains(ref, "@") {
			m, err := r.GetMemberByEmail(ctx, ref)
			if err == nil || !errors.Is(err, ErrNotFound) {
				out = m
				return err
			}
		}
		sub, err := findSubscription(ctx, r, ref)
		if err == nil {
			out, err = r.GetMember(ctx, sub.MemberID)
			return err
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		if mac, merr := macaddr.Normalize(ref); merr == nil {
			cpes, err := r.ListCPEs(ctx, ListOptions{Search: mac})
			if err != nil {
				return err
			}
			for _, c := range cpes {
				if c.MAC == mac && c.MemberID != nil {
					out, err = r.GetMember(ctx, *c.MemberID)
					return err
				}
			}
		}
		return NotFound("member", ref)
	})
	return out, err
}

// Audit lists audit-log entries, newest first.
func (s *Service) Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	var out []AuditEntry
	err := s.store.Read(ctx, func(r Reader) error {
		var err error
		out, err = r.ListAudit(ctx, f)
		return err
	})
	return out, err
}

// SubscriptionAt finds the line whose active block (IPv4 /32, IPv6 /64 or
// delegated prefix) holds addr, inside a read the caller holds.
func SubscriptionAt(ctx context.Context, r Reader, addr netip.Addr) (Subscription, error) {
	a, err := allocationOf(ctx, r, addr.Unmap())
	if err != nil {
		return Subscription{}, err
	}
	return r.GetSubscription(ctx, *a.SubscriptionID)
}
