package registry

import "context"

var sites = entity[Site, SiteInput]{
	name:   "site",
	id:     func(s *Site) int64 { return s.ID },
	get:    Tx.GetSite,
	insert: Tx.InsertSite,
	update: Tx.UpdateSite,
	delete: Tx.DeleteSite,
	prepare: func(_ *change, _ *Site, s *Site, in SiteInput) error {
		in.apply(s)
		return s.validate()
	},
	deleting: func(c *change, s *Site) error {
		return c.refuseTargeted(TargetSite, s.ID, s.Name)
	},
}

var hosts = entity[Host, HostInput]{
	name:   "host",
	id:     func(h *Host) int64 { return h.ID },
	get:    Tx.GetHost,
	insert: Tx.InsertHost,
	update: Tx.UpdateHost,
	delete: Tx.DeleteHost,
	prepare: func(c *change, _ *Host, h *Host, in HostInput) error {
		if err := in.apply(h); err != nil {
			return err
		}
		if err := h.validate(); err != nil {
			return err
		}
		if h.SiteID != nil {
			if _, err := c.tx.GetSite(c.ctx, *h.SiteID); err != nil {
				return exists("site_id", err)
			}
		}
		return nil
	},
	// A machine that is gone (or repurposed) no longer speaks for its names.
	deleting: func(c *change, h *Host) error {
		if err := c.refuseTargeted(TargetHost, h.ID, h.Name); err != nil {
			return err
		}
		_, err := c.revokeAll(CertificateFilter{Kind: CertHost, HostID: h.ID}, "host "+h.Name+" deleted")
		return err
	},
}

var ports = entity[Port, PortInput]{
	name:   "port",
	id:     func(p *Port) int64 { return p.ID },
	get:    Tx.GetPort,
	insert: Tx.InsertPort,
	update: Tx.UpdatePort,
	delete: Tx.DeletePort,
	prepare: func(c *change, _ *Port, p *Port, in PortInput) error {
		in.apply(p)
		if err := p.validate(); err != nil {
			return err
		}
		if _, err := c.tx.GetHost(c.ctx, p.HostID); err != nil {
			return exists("host_id", err)
		}
		return nil
	},
}

// CreateSite adds a site.
func (s *Service) CreateSite(ctx context.Context, a Actor, in SiteInput) (Site, error) {
	return create(s, ctx, a, sites, in)
}

// UpdateSite edits a site.
func (s *Service) UpdateSite(ctx context.Context, a Actor, id int64, in SiteInput) (Site, error) {
	return update(s, ctx, a, sites, id, in)
}

// DeleteSite removes a site nothing refers to.
func (s *Service) DeleteSite(ctx context.Context, a Actor, id int64) error {
	return remove(s, ctx, a, sites, id)
}

// CreateHost adds a host.
func (s *Service) CreateHost(ctx context.Context, a Actor, in HostInput) (Host, error) {
	return create(s, ctx, a, hosts, in)
}

// UpdateHost edits a host.
func (s *Service) UpdateHost(ctx context.Context, a Actor, id int64, in HostInput) (Host, error) {
	return update(s, ctx, a, hosts, id, in)
}

// DeleteHost removes a host and its switch ports, unless a status
// component or a check names it.
func (s *Service) DeleteHost(ctx context.Context, a Actor, id int64) error {
	return remove(s, ctx, a, hosts, id)
}

// CreatePort adds a switch port.
func (s *Service) CreatePort(ctx context.Context, a Actor, in PortInput) (Port, error) {
	return create(s, ctx, a, ports, in)
}

// UpdatePort edits a switch port.
func (s *Service) UpdatePort(ctx context.Context, a Actor, id int64, in PortInput) (Port, error) {
	return update(s, ctx, a, ports, id, in)
}

// DeletePort removes a switch port.
func (s *Service) DeletePort(ctx context.Context, a Actor, id int64) error {
	return remove(s, ctx, a, ports, id)
}
