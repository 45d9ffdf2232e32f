package registry

import "context"

// Batch creates many objects in one transaction: an import or the demo data
// land whole or not at all, and cost one commit instead of thousands.
type Batch struct {
	s *Service
	c *change
}

// Batch runs fn with a Batch; nothing fn created stays if it returns an
// error. Change events are published once the whole batch has committed.
func (s *Service) Batch(ctx context.Context, actor Actor, fn func(*Batch) error) error {
	return s.write(ctx, actor, func(c *change) error {
		return fn(&Batch{s: s, c: c})
	})
}

func (b *Batch) CreateMember(in MemberInput) (Member, error) { return createIn(b.c, members, in) }
func (b *Batch) CreateSubscription(in SubscriptionInput) (Subscription, error) {
	return createIn(b.c, b.s.subscriptions(), in)
}
func (b *Batch) CreatePrefix(in PrefixInput) (Prefix, error) {
	return createIn(b.c, b.s.prefixes(), in)
}
func (b *Batch) CreateNAS(in NASInput) (NAS, error)       { return createIn(b.c, b.s.nasClients(), in) }
func (b *Batch) CreateSite(in SiteInput) (Site, error)    { return createIn(b.c, sites, in) }
func (b *Batch) CreateHost(in HostInput) (Host, error)    { return createIn(b.c, hosts, in) }
func (b *Batch) CreatePort(in PortInput) (Port, error)    { return createIn(b.c, ports, in) }
func (b *Batch) CreateCPE(in CPEInput) (CPE, error)       { return createIn(b.c, cpes, in) }
func (b *Batch) CreateAdmin(in AdminInput) (Admin, error) { return createIn(b.c, b.s.admins(), in) }
func (b *Batch) CreateZone(in ZoneInput) (Zone, error)    { return createIn(b.c, zones, in) }
func (b *Batch) CreateRecord(in RecordInput) (Record, error) {
	return createIn(b.c, b.s.records(), in)
}

// Reader reads inside the batch's transaction, seeing what it created.
func (b *Batch) Reader() Reader { return b.c.tx }
