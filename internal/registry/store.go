package registry

import (
	"context"
	"time"
)

// Store is the storage the registry needs; internal/store implements it on
// SQLite and PostgreSQL. Only the registry writes through it.
type Store interface {
	// Read runs fn on a consistent read-only view.
	Read(ctx context.Context, fn func(Reader) error) error
	// Write runs fn in one transaction: everything it writes commits or
	// nothing does. Conflicting writers are serialised by the engine.
	Write(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// ListOptions pages and filters listings. Search matches names, emails,
// logins and the like, case-insensitively.
type ListOptions struct {
	Search string
	State  string
	Limit  int
	Offset int
}

// SubscriptionFilter narrows a subscription listing.
type SubscriptionFilter struct {
	ListOptions
	MemberID int64
	Kind     SubscriptionKind
}

// AllocationFilter narrows an allocation listing.
type AllocationFilter struct {
	PrefixID       int64
	SubscriptionID int64
	// ActiveOnly leaves out released blocks still in quarantine.
	ActiveOnly bool
}

// Reader reads the registry.
type Reader interface {
	GetMember(ctx context.Context, id int64) (Member, error)
	GetMemberByEmail(ctx context.Context, email string) (Member, error)
	ListMembers(ctx context.Context, opt ListOptions) ([]Member, error)
	CountMembers(ctx context.Context) (int64, error)

	GetSubscription(ctx context.Context, id int64) (Subscription, error)
	GetSubscriptionByLogin(ctx context.Context, login string) (Subscription, error)
	GetSubscriptionByMAC(ctx context.Context, mac string) (Subscription, error)
	ListSubscriptions(ctx context.Context, f SubscriptionFilter) ([]Subscription, error)

	GetPrefix(ctx context.Context, id int64) (Prefix, error)
	ListPrefixes(ctx context.Context) ([]Prefix, error)
	ListAllocations(ctx context.Context, f AllocationFilter) ([]Allocation, error)
	GetAllocationAt(ctx context.Context, prefixID, index int64) (Allocation, error)

	GetNAS(ctx context.Context, id int64) (NAS, error)
	ListNAS(ctx context.Context) ([]NAS, error)

	GetSite(ctx context.Context, id int64) (Site, error)
	ListSites(ctx context.Context) ([]Site, error)
	GetHost(ctx context.Context, id int64) (Host, error)
	ListHosts(ctx context.Context, opt ListOptions) ([]Host, error)
	GetPort(ctx context.Context, id int64) (Port, error)
	ListPorts(ctx context.Context, hostID int64) ([]Port, error)

	GetCPE(ctx context.Context, id int64) (CPE, error)
	ListCPEs(ctx context.Context, opt ListOptions) ([]CPE, error)

	GetAdmin(ctx context.Context, id int64) (Admin, error)
	ListAdmins(ctx context.Context) ([]Admin, error)
	GetTokenByHash(ctx context.Context, hash string) (Token, error)
	ListTokens(ctx context.Context, adminID int64) ([]Token, error)

	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)

	GetZone(ctx context.Context, id int64) (Zone, error)
	ListZones(ctx context.Context) ([]Zone, error)
	GetRecord(ctx context.Context, id int64) (Record, error)
	ListRecords(ctx context.Context, zoneID int64) ([]Record, error)

	CertReader
	memberPortalReader
	StatusReader
	RosterReader
	JournalReader
	WebSessionReader
	MonitorReader
}

// Tx reads and writes inside one transaction.
type Tx interface {
	Reader

	InsertMember(ctx context.Context, m *Member) error
	UpdateMember(ctx context.Context, m *Member) error
	DeleteMember(ctx context.Context, id int64) error

	InsertSubscription(ctx context.Context, s *Subscription) error
	UpdateSubscription(ctx context.Context, s *Subscription) error
	DeleteSubscription(ctx context.Context, id int64) error

	// LockPrefixes serialises changes to the prefix table (overlap checks)
	// between concurrent writers.
	LockPrefixes(ctx context.Context) error
	// LockPrefix takes the allocation lock of one pool and returns it.
	LockPrefix(ctx context.Context, id int64) (Prefix, error)
	InsertPrefix(ctx context.Context, p *Prefix) error
	UpdatePrefix(ctx context.Context, p *Prefix) error
	DeletePrefix(ctx context.Context, id int64) error
	SetPrefixCursor(ctx context.Context, id, next int64) error

	// InsertAllocation fails with ErrConflict when the block is taken.
	InsertAllocation(ctx context.Context, a *Allocation) error
	// ReuseAllocation hands a released block whose quarantine ended to a
	// new holder: the lowest such block of the pool, or ErrNotFound.
	ReuseAllocation(ctx context.Context, prefixID int64, now time.Time, a *Allocation) error
	UpdateAllocation(ctx context.Context, a *Allocation) error
	ReleaseAllocations(ctx context.Context, subscriptionID int64, at, reusableAt time.Time) error

	InsertNAS(ctx context.Context, n *NAS) error
	UpdateNAS(ctx context.Context, n *NAS) error
	DeleteNAS(ctx context.Context, id int64) error

	InsertSite(ctx context.Context, s *Site) error
	UpdateSite(ctx context.Context, s *Site) error
	DeleteSite(ctx context.Context, id int64) error
	InsertHost(ctx context.Context, h *Host) error
	UpdateHost(ctx context.Context, h *Host) error
	DeleteHost(ctx context.Context, id int64) error
	InsertPort(ctx context.Context, p *Port) error
	UpdatePort(ctx context.Context, p *Port) error
	DeletePort(ctx context.Context, id int64) error

	InsertCPE(ctx context.Context, c *CPE) error
	UpdateCPE(ctx context.Context, c *CPE) error
	DeleteCPE(ctx context.Context, id int64) error

	InsertAdmin(ctx context.Context, a *Admin) error
	UpdateAdmin(ctx context.Context, a *Admin) error
	DeleteAdmin(ctx context.Context, id int64) error
	InsertToken(ctx context.Context, t *Token) error
	DeleteToken(ctx context.Context, id int64) error
	TouchToken(ctx context.Context, id int64, at time.Time) error

	AppendAudit(ctx context.Context, e *AuditEntry) error

	InsertZone(ctx context.Context, z *Zone) error
	UpdateZone(ctx context.Context, z *Zone) error
	DeleteZone(ctx context.Context, id int64) error
	// LockZone takes a zone's lock, so that two writers checking a name
	// against the zone's other records (a CNAME stands alone) see each
	// other's records.
	LockZone(ctx context.Context, id int64) (Zone, error)
	InsertRecord(ctx context.Context, r *Record) error
	UpdateRecord(ctx context.Context, r *Record) error
	DeleteRecord(ctx context.Context, id int64) error

	CertWriter
	memberPortalWriter
	StatusWriter
	RosterWriter
	JournalWriter
	WebSessionWriter
	MonitorWriter
}
