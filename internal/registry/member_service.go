package registry

import (
	"context"
	"fmt"
)

var members = entity[Member, MemberInput]{
	name:   "member",
	id:     func(m *Member) int64 { return m.ID },
	get:    Tx.GetMember,
	insert: Tx.InsertMember,
	update: Tx.UpdateMember,
	delete: Tx.DeleteMember,
	prepare: func(c *change, before *Member, m *Member, in MemberInput) error {
		in.apply(m)
		if err := m.validate(); err != nil {
			return err
		}
		if before != nil && m.State == MemberArchived && before.State != MemberArchived {
			// Archiving locks a member out: a browser still logged in
			// goes too.
			if err := c.endMemberWebSessions(m.ID); err != nil {
				return err
			}
		}
		if m.SiteID != nil {
			if err := ref(c, "site_id", "site", *m.SiteID, c.tx.GetSite); err != nil {
				return err
			}
		}
		return nil
	},
	deleting: func(c *change, m *Member) error {
		subs, err := c.tx.ListSubscriptions(c.ctx, SubscriptionFilter{MemberID: m.ID})
		if err != nil {
			return err
		}
		for _, s := range subs {
			if s.State != SubClosed {
				return fmt.Errorf("member %d (%s) still has %s subscription %s: close it first: %w", m.ID, m.Name, s.State, s.Login, ErrInUse)
			}
		}
		cpes, err := c.tx.ListCPEs(c.ctx, ListOptions{})
		if err != nil {
			return err
		}
		for _, e := range cpes {
			if e.MemberID != nil && *e.MemberID == m.ID && (e.State == CPELent) {
				return fmt.Errorf("member %d (%s) still holds lent CPE %s: mark it returned first: %w", m.ID, m.Name, e.Serial, ErrInUse)
			}
		}
		for _, s := range subs {
			if err := c.deleteSubscription(&s); err != nil {
				return err
			}
		}
		return nil
	},
}

// CreateMember adds a member.
func (s *Service) CreateMember(ctx context.Context, a Actor, in MemberInput) (Member, error) {
	return create(s, ctx, a, members, in)
}

// UpdateMember edits a member.
func (s *Service) UpdateMember(ctx context.Context, a Actor, id int64, in MemberInput) (Member, error) {
	return update(s, ctx, a, members, id, in)
}

// DeleteMember removes a member who has no open subscription left; their
// closed subscriptions go with them and their addresses into quarantine.
func (s *Service) DeleteMember(ctx context.Context, a Actor, id int64) error {
	return remove(s, ctx, a, members, id)
}
