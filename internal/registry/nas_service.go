package registry

import (
	"context"
	"fmt"
)

const nasSecretContext = "nas.secret"

func (s *Service) nasClients() entity[NAS, NASInput] {
	return entity[NAS, NASInput]{
		name:    "nas",
		id:      func(n *NAS) int64 { return n.ID },
		get:     Tx.GetNAS,
		insert:  Tx.InsertNAS,
		update:  Tx.UpdateNAS,
		delete:  Tx.DeleteNAS,
		secrets: func(in NASInput) []string { return setFields(in.Secret != nil, "secret") },
		prepare: func(c *change, _ *NAS, n *NAS, in NASInput) error {
			if err := in.apply(n); err != nil {
				return err
			}
			if err := n.validate(); err != nil {
				return err
			}
			if err := s.checkReplyAttributes(n.ReplyAttributes); err != nil {
				return err
			}
			if in.Secret != nil {
				if err := validateSharedSecret(*in.Secret); err != nil {
					return err
				}
				n.SealedSecret = s.box.Seal(*in.Secret, nasSecretContext)
			}
			if len(n.SealedSecret) == 0 {
				return invalid("secret", "is required")
			}
			n.SecretSet = true
			if n.SiteID != nil {
				if _, err := c.tx.GetSite(c.ctx, *n.SiteID); err != nil {
					return exists("site_id", err)
				}
			}
			all, err := c.tx.ListNAS(c.ctx)
			if err != nil {
				return err
			}
			for _, o := range all {
				if o.ID != n.ID && o.Address.Overlaps(n.Address) {
					// Two NAS entries for one source would make the secret
					// used for a packet a matter of luck.
					return fmt.Errorf("NAS address %s overlaps %s of NAS %q: %w", n.Address, o.Address, o.Name, ErrConflict)
				}
			}
			return nil
		},
		deleting: func(c *change, n *NAS) error {
			return c.refuseTargeted(TargetNAS, n.ID, n.Name)
		},
	}
}

// CreateNAS adds a RADIUS client.
func (s *Service) CreateNAS(ctx context.Context, a Actor, in NASInput) (NAS, error) {
	return create(s, ctx, a, s.nasClients(), in)
}

// UpdateNAS edits a RADIUS client.
func (s *Service) UpdateNAS(ctx context.Context, a Actor, id int64, in NASInput) (NAS, error) {
	return update(s, ctx, a, s.nasClients(), id, in)
}

// DeleteNAS removes a RADIUS client nothing refers to.
func (s *Service) DeleteNAS(ctx context.Context, a Actor, id int64) error {
	return remove(s, ctx, a, s.nasClients(), id)
}

// NASSecret returns the shared secret of a NAS, for the RADIUS server only.
func (s *Service) NASSecret(n *NAS) (string, error) {
	v, err := s.box.Open(n.SealedSecret, nasSecretContext)
	if err != nil {
		return "", fmt.Errorf("secret of NAS %s: %w", n.Name, err)
	}
	return v, nil
}
