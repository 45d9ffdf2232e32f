package registry

import (
	"context"
	"fmt"

	"maillon/internal/ipam"
)

func (s *Service) prefixes() entity[Prefix, PrefixInput] {
	return entity[Prefix, PrefixInput]{
		name:   "prefix",
		id:     func(p *Prefix) int64 { return p.ID },
		get:    Tx.GetPrefix,
		insert: Tx.InsertPrefix,
		update: Tx.UpdatePrefix,
		delete: Tx.DeletePrefix,
		reload: true,
		prepare: func(c *change, before *Prefix, p *Prefix, in PrefixInput) error {
			c.prefixesChanged()
			if err := in.apply(p); err != nil {
				return err
			}
			if err := p.validate(s.opt.DelegatedBits); err != nil {
				return err
			}
			if p.PTRTemplate = Fqdn(p.PTRTemplate); p.PTRTemplate != "" {
				if problem := ptrTemplateProblem(p.PTRTemplate); problem != "" {
					return invalid("ptr_template", "%q: %s", p.PTRTemplate, problem)
				}
			}
			if before != nil && (before.CIDR != p.CIDR || before.BlockBits != p.BlockBits) {
				held, err := c.tx.ListAllocations(c.ctx, AllocationFilter{PrefixID: p.ID})
				if err != nil {
					return err
				}
				if len(held) > 0 {
					return fmt.Errorf("prefix %s has %d allocations (active or in quarantine): its range and block size cannot change: %w", before.CIDR, len(held), ErrInUse)
				}
			}
			if p.SiteID != nil {
				if _, err := c.tx.GetSite(c.ctx, *p.SiteID); err != nil {
					return exists("site_id", err)
				}
			}
			if err := c.tx.LockPrefixes(c.ctx); err != nil {
				return err
			}
			all, err := c.tx.ListPrefixes(c.ctx)
			if err != nil {
				return err
			}
			return checkOverlap(p, all)
		},
		deleting: func(c *change, p *Prefix) error {
			c.prefixesChanged()
			held, err := c.tx.ListAllocations(c.ctx, AllocationFilter{PrefixID: p.ID, ActiveOnly: true})
			if err != nil {
				return err
			}
			if len(held) > 0 {
				return fmt.Errorf("prefix %s still has %d allocated blocks: %w", p.CIDR, len(held), ErrInUse)
			}
			return nil
		},
	}
}

// checkOverlap allows prefixes to overlap only by strict nesting inside an
// aggregate: two pools sharing addresses could hand one address out twice.
func checkOverlap(p *Prefix, all []Prefix) error {
	for _, q := range all {
		if q.ID == p.ID || !ipam.Overlaps(p.CIDR, q.CIDR) {
			continue
		}
		if q.CIDR == p.CIDR {
			return fmt.Errorf("prefix %s already exists (id %d): %w", p.CIDR, q.ID, ErrConflict)
		}
		if q.Purpose == PurposeAggregate && ipam.Contains(q.CIDR, p.CIDR) {
			continue
		}
		if p.Purpose == PurposeAggregate && ipam.Contains(p.CIDR, q.CIDR) {
			continue
		}
		return fmt.Errorf("prefix %s overlaps %s (%s, id %d); only nesting inside an aggregate is allowed: %w", p.CIDR, q.CIDR, q.Purpose, q.ID, ErrConflict)
	}
	return nil
}

// CreatePrefix adds a prefix to IPAM.
func (s *Service) CreatePrefix(ctx context.Context, a Actor, in PrefixInput) (Prefix, error) {
	return create(s, ctx, a, s.prefixes(), in)
}

// UpdatePrefix edits a prefix.
func (s *Service) UpdatePrefix(ctx context.Context, a Actor, id int64, in PrefixInput) (Prefix, error) {
	return update(s, ctx, a, s.prefixes(), id, in)
}

// DeletePrefix removes a prefix with no active allocation.
func (s *Service) DeletePrefix(ctx context.Context, a Actor, id int64) error {
	return remove(s, ctx, a, s.prefixes(), id)
}
