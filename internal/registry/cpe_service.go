package registry

import "context"

var cpes = entity[CPE, CPEInput]{
	name:   "cpe",
	id:     func(c *CPE) int64 { return c.ID },
	get:    Tx.GetCPE,
	insert: Tx.InsertCPE,
	update: Tx.UpdateCPE,
	delete: Tx.DeleteCPE,
	prepare: func(c *change, _ *CPE, e *CPE, in CPEInput) error {
		in.apply(e)
		if err := e.validate(); err != nil {
			return err
		}
		if e.MemberID != nil {
			if _, err := c.tx.GetMember(c.ctx, *e.MemberID); err != nil {
				return exists("member_id", err)
			}
		}
		return nil
	},
}

// CreateCPE adds a CPE to the stock.
func (s *Service) CreateCPE(ctx context.Context, a Actor, in CPEInput) (CPE, error) {
	return create(s, ctx, a, cpes, in)
}

// UpdateCPE edits a CPE (lend it, mark it returned or broken).
func (s *Service) UpdateCPE(ctx context.Context, a Actor, id int64, in CPEInput) (CPE, error) {
	return update(s, ctx, a, cpes, id, in)
}

// DeleteCPE removes a CPE from the stock.
func (s *Service) DeleteCPE(ctx context.Context, a Actor, id int64) error {
	return remove(s, ctx, a, cpes, id)
}
