package registry

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"

	"maillon/internal/ipam"
)

const passwordContext = "subscriptions.password"

func (s *Service) subscriptions() entity[Subscription, SubscriptionInput] {
	return entity[Subscription, SubscriptionInput]{
		name:         "subscription",
		id:           func(x *Subscription) int64 { return x.ID },
		get:          Tx.GetSubscription,
		insert:       Tx.InsertSubscription,
		update:       Tx.UpdateSubscription,
		delete:       Tx.DeleteSubscription,
		reload:       true,
		createdFills: true,
		secrets:      func(in SubscriptionInput) []string { return setFields(in.Password != nil, "password") },
		prepare: func(c *change, before *Subscription, sub *Subscription, in SubscriptionInput) error {
			in.apply(sub)
			if err := sub.validate(); err != nil {
				return err
			}
			if err := s.checkReplyAttributes(sub.ReplyAttributes); err != nil {
				return err
			}
			if in.Password != nil {
				if err := validatePassword(*in.Password); err != nil {
					return err
				}
				sub.SealedPassword = s.box.Seal(*in.Password, passwordContext)
				if before != nil {
					// Whoever logged in with the old password, on any of
					// the member's lines, is logged out: a new password is
					// how an admin or the member shuts out a stolen one.
					if err := c.endMemberWebSessions(sub.MemberID); err != nil {
						return err
					}
				}
			}
			if sub.Kind.NeedsAddresses() && len(sub.SealedPassword) == 0 {
				return invalid("password", "is required for a %s subscription", sub.Kind)
			}
			sub.PasswordSet = len(sub.SealedPassword) > 0
			if err := ref(c, "member_id", "member", sub.MemberID, c.tx.GetMember); err != nil {
				return err
			}
			if sub.SiteID != nil {
				if err := ref(c, "site_id", "site", *sub.SiteID, c.tx.GetSite); err != nil {
					return err
				}
			}
			if sub.PortID != nil {
				if err := ref(c, "port_id", "port", *sub.PortID, c.tx.GetPort); err != nil {
					return err
				}
			}
			if sub.CPEID != nil {
				if err := ref(c, "cpe_id", "cpe", *sub.CPEID, c.tx.GetCPE); err != nil {
					return err
				}
			}
			if before != nil {
				_, err := c.reconcileAddresses(sub, s.opt, false)
				return err
			}
			return nil
		},
		created: func(c *change, sub *Subscription) error {
			// A new subscription holds nothing yet: no need to look, and
			// what it gets is what a reload would read.
			got, err := c.reconcileAddresses(sub, s.opt, true)
			sub.Addresses = append([]Allocation{}, got...)
			return err
		},
		deleting: func(c *change, sub *Subscription) error {
			return c.release(sub.ID, s.opt)
		},
	}
}

// CreateSubscription adds a subscription and, for lines and VPN accesses,
// allocates its IPv4 /32, IPv6 /64 and delegated prefix.
func (s *Service) CreateSubscription(ctx context.Context, a Actor, in SubscriptionInput) (Subscription, error) {
	return create(s, ctx, a, s.subscriptions(), in)
}

// UpdateSubscription edits a subscription; closing it releases its
// addresses into quarantine, reopening it allocates new ones.
func (s *Service) UpdateSubscription(ctx context.Context, a Actor, id int64, in SubscriptionInput) (Subscription, error) {
	return update(s, ctx, a, s.subscriptions(), id, in)
}

// ChangeSubscription is UpdateSubscription that also returns the line as
// it was just before, read in the same transaction: whether the change
// took it out of service decides a Disconnect.
func (s *Service) ChangeSubscription(ctx context.Context, a Actor, id int64, in SubscriptionInput) (before, after Subscription, err error) {
	return updateFrom(s, ctx, a, s.subscriptions(), id, in)
}

// DeleteSubscription removes a subscription and quarantines its addresses.
func (s *Service) DeleteSubscription(ctx context.Context, a Actor, id int64) error {
	return remove(s, ctx, a, s.subscriptions(), id)
}

// Password returns the cleartext password of a subscription, for the
// authentication code only.
func (s *Service) Password(sub *Subscription) (string, error) {
	if len(sub.SealedPassword) == 0 {
		return "", fmt.Errorf("subscription %s has no password", sub.Login)
	}
	p, err := s.box.Open(sub.SealedPassword, passwordContext)
	if err != nil {
		return "", fmt.Errorf("password of %s: %w", sub.Login, err)
	}
	return p, nil
}

func (c *change) deleteSubscription(sub *Subscription) error {
	if err := c.release(sub.ID, Options{}); err != nil {
		return err
	}
	if err := c.tx.DeleteSubscription(c.ctx, sub.ID); err != nil {
		return fmt.Errorf("delete subscription %s: %w", sub.Login, err)
	}
	return c.record("delete", "subscription", sub.ID, sub, nil)
}

func (c *change) release(subID int64, opt Options) error {
	q := opt.Quarantine
	if q == 0 {
		q = DefaultQuarantine
	}
	if err := c.tx.ReleaseAllocations(c.ctx, subID, c.now, c.now.Add(q)); err != nil {
		return fmt.Errorf("release addresses of subscription %d: %w", subID, err)
	}
	c.drained = nil
	return nil
}

// reconcileAddresses gives a subscription the addresses its kind and state
// call for, or releases them when it no longer needs any; it returns the
// blocks it allocated. fresh says the subscription was just inserted, so
// it holds none.
func (c *change) reconcileAddresses(sub *Subscription, opt Options, fresh bool) ([]Allocation, error) {
	want := sub.Kind.NeedsAddresses() && sub.State != SubClosed
	var held []Allocation
	if !fresh {
		var err error
		held, err = c.tx.ListAllocations(c.ctx, AllocationFilter{SubscriptionID: sub.ID, ActiveOnly: true})
		if err != nil {
			return nil, err
		}
	}
	if !want {
		if len(held) > 0 {
			return nil, c.release(sub.ID, opt)
		}
		return nil, nil
	}
	has := map[AddressRole]bool{}
	for _, a := range held {
		has[a.Role] = true
	}
	pools, err := c.listPrefixes()
	if err != nil {
		return nil, err
	}
	var got []Allocation
	for _, need := range []struct {
		role    AddressRole
		is4     bool
		purpose Purpose
	}{
		{RoleIPv4, true, PurposeSubscriber},
		{RoleIPv6, false, PurposeSubscriber},
		{RoleDelegated, false, PurposeDelegated},
	} {
		if has[need.role] {
			continue
		}
		cands := candidatePools(pools, sub, need.purpose, need.is4)
		if len(cands) == 0 {
			continue // the ISP runs no such pool (no IPv6 yet, say)
		}
		a, err := c.allocate(cands, sub.ID, need.role)
		if err != nil {
			return nil, fmt.Errorf("allocate %s for %s: %w", need.role, sub.Login, err)
		}
		got = append(got, a)
	}
	return got, nil
}

// candidatePools orders the pools a subscription may draw from: those
// reserved for its kind and site first, general ones after.
func candidatePools(pools []Prefix, sub *Subscription, purpose Purpose, is4 bool) []Prefix {
	var out []Prefix
	for _, p := range pools {
		if p.Purpose != purpose || p.CIDR.Addr().Is4() != is4 {
			continue
		}
		if p.Kind != "" && p.Kind != sub.Kind {
			continue
		}
		if p.SiteID != nil && (sub.SiteID == nil || *sub.SiteID != *p.SiteID) {
			continue
		}
		out = append(out, p)
	}
	score := func(p Prefix) int {
		n := 0
		if p.Kind != "" {
			n += 2
		}
		if p.SiteID != nil {
			n++
		}
		return n
	}
	sort.SliceStable(out, func(i, j int) bool { return score(out[i]) > score(out[j]) })
	return out
}

// allocate takes the first free block of the first pool that has one:
// a released block whose quarantine is over, else the next never-used one.
func (c *change) allocate(pools []Prefix, subID int64, role AddressRole) (Allocation, error) {
	for _, p := range pools {
		pool, err := c.lockPool(p.ID)
		if err != nil {
			return Allocation{}, err
		}
		a := Allocation{PrefixID: pool.ID, Role: role, SubscriptionID: &subID, AllocatedAt: c.now}
		if !c.drained[pool.ID] {
			err = c.tx.ReuseAllocation(c.ctx, pool.ID, c.now, &a)
			if err == nil {
				return a, nil
			}
			if !errors.Is(err, ErrNotFound) {
				return Allocation{}, err
			}
			if c.drained == nil {
				c.drained = map[int64]bool{}
			}
			c.drained[pool.ID] = true
		}
		total, err := ipam.BlockCount(pool.CIDR, pool.BlockBits)
		if err != nil {
			return Allocation{}, err
		}
		end := int64(total) - pool.reservedTail()
		for idx := max(pool.NextIndex, pool.reservedHead()); idx < end; idx++ {
			block, err := ipam.Block(pool.CIDR, pool.BlockBits, uint64(idx))
			if err != nil {
				return Allocation{}, err
			}
			a.Index, a.Block = idx, block
			err = c.tx.InsertAllocation(c.ctx, &a)
			if errors.Is(err, ErrConflict) {
				continue // assigned by hand ahead of the cursor
			}
			if err != nil {
				return Allocation{}, err
			}
			c.moveCursor(pool, idx+1)
			return a, nil
		}
		c.moveCursor(pool, end)
	}
	names := make([]string, len(pools))
	for i, p := range pools {
		names[i] = p.CIDR.String()
	}
	return Allocation{}, fmt.Errorf("no free block in %v (released ones are still in quarantine): %w", names, ErrExhausted)
}

// AssignAddress gives a subscription a block chosen by hand (a fixed
// address for a server, say); it must lie in a pool and be free.
func (s *Service) AssignAddress(ctx context.Context, a Actor, subID int64, block netip.Prefix) (Allocation, error) {
	var out Allocation
	err := s.write(ctx, a, func(c *change) error {
		sub, err := c.tx.GetSubscription(ctx, subID)
		if err != nil {
			return err
		}
		pools, err := c.tx.ListPrefixes(ctx)
		if err != nil {
			return err
		}
		for _, p := range pools {
			if !p.IsPool() || !ipam.Contains(p.CIDR, block) {
				continue
			}
			if block.Bits() != p.BlockBits {
				return invalid("block", "%s is not a /%d block of pool %s", block, p.BlockBits, p.CIDR)
			}
			idx, err := ipam.BlockIndex(p.CIDR, block, p.BlockBits)
			if err != nil {
				return invalid("block", "%v", err)
			}
			if _, err := c.tx.LockPrefix(ctx, p.ID); err != nil {
				return err
			}
			out = Allocation{PrefixID: p.ID, Index: int64(idx), Block: block, Role: RoleStatic, SubscriptionID: &sub.ID, AllocatedAt: c.now}
			if err := c.tx.InsertAllocation(ctx, &out); err != nil {
				if errors.Is(err, ErrConflict) {
					return fmt.Errorf("%s is already allocated or in quarantine: %w", block, ErrConflict)
				}
				return err
			}
			return c.record("update", "subscription", sub.ID, sub, out)
		}
		return invalid("block", "%s lies in no pool", block)
	})
	return out, err
}
