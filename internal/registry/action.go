package registry

import "context"

// RecordAction writes an audit entry for something done outside the
// registry's tables that admins must be able to trace, such as a
// Disconnect-Request sent to a NAS and its answer.
func (s *Service) RecordAction(ctx context.Context, a Actor, action, entity string, id int64, details any) error {
	return s.write(ctx, a, func(c *change) error {
		return c.record(action, entity, id, nil, details)
	})
}
