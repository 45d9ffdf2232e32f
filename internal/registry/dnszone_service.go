package registry

import (
	"context"
	"fmt"
	"net/netip"
)

var zones = entity[Zone, ZoneInput]{
	name:   "zone",
	id:     func(z *Zone) int64 { return z.ID },
	get:    Tx.GetZone,
	insert: Tx.InsertZone,
	update: Tx.UpdateZone,
	delete: Tx.DeleteZone,
	prepare: func(_ *change, _ *Zone, z *Zone, in ZoneInput) error {
		in.apply(z)
		return z.validate()
	},
}

func (s *Service) records() entity[Record, RecordInput] {
	return entity[Record, RecordInput]{
		name:   "record",
		id:     func(r *Record) int64 { return r.ID },
		get:    Tx.GetRecord,
		insert: Tx.InsertRecord,
		update: Tx.UpdateRecord,
		delete: Tx.DeleteRecord,
		prepare: func(c *change, _ *Record, r *Record, in RecordInput) error {
			in.apply(r)
			if err := r.validate(); err != nil {
				return err
			}
			z, err := c.tx.LockZone(c.ctx, r.ZoneID)
			if err != nil {
				return exists("zone_id", err)
			}
			others, err := c.tx.ListRecords(c.ctx, r.ZoneID)
			if err != nil {
				return fmt.Errorf("records of zone %s: %w", z.Origin, err)
			}
			if err := r.checkInZone(z.Origin, others); err != nil {
				return err
			}
			if s.opt.CheckRecord != nil {
				if err := s.opt.CheckRecord(z.Origin, r.Name, r.Type, r.TTL, r.Data); err != nil {
					return invalid("data", "%v", err)
				}
			}
			return nil
		},
	}
}

// CreateZone adds a forward zone.
func (s *Service) CreateZone(ctx context.Context, a Actor, in ZoneInput) (Zone, error) {
	return create(s, ctx, a, zones, in)
}

// UpdateZone edits a zone.
func (s *Service) UpdateZone(ctx context.Context, a Actor, id int64, in ZoneInput) (Zone, error) {
	return update(s, ctx, a, zones, id, in)
}

// DeleteZone removes a zone and its records.
func (s *Service) DeleteZone(ctx context.Context, a Actor, id int64) error {
	return remove(s, ctx, a, zones, id)
}

// CreateRecord adds a record to a zone.
func (s *Service) CreateRecord(ctx context.Context, a Actor, in RecordInput) (Record, error) {
	return create(s, ctx, a, s.records(), in)
}

// UpdateRecord edits a record.
func (s *Service) UpdateRecord(ctx context.Context, a Actor, id int64, in RecordInput) (Record, error) {
	return update(s, ctx, a, s.records(), id, in)
}

// DeleteRecord removes a record.
func (s *Service) DeleteRecord(ctx context.Context, a Actor, id int64) error {
	return remove(s, ctx, a, s.records(), id)
}

// SetReverseName sets the reverse DNS name of the allocation holding addr
// ("" goes back to the naming template), as members running a mail server
// ask for.
func (s *Service) SetReverseName(ctx context.Context, a Actor, addr netip.Addr, name string) (Allocation, error) {
	if name = Fqdn(name); name != "" {
		if p := reverseNameProblem(name); p != "" {
			return Allocation{}, invalid("reverse_name", "%q: %s", name, p)
		}
	}
	var out Allocation
	err := s.write(ctx, a, func(c *change) error {
		alloc, err := allocationOf(ctx, c.tx, addr.Unmap())
		if err != nil {
			return err
		}
		before := alloc
		alloc.ReverseName = name
		if err := c.tx.UpdateAllocation(ctx, &alloc); err != nil {
			return fmt.Errorf("set the reverse name of %s: %w", alloc.Block, err)
		}
		out = alloc
		return c.record("update", "allocation", alloc.ID, before, alloc)
	})
	return out, err
}
