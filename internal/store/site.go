package store

import (
	"context"
	"database/sql"
	"net/netip"

	"maillon/internal/registry"
)

const siteCols = `id, name, kind, address, description, created_at, updated_at`

func scanSite(r *sql.Rows) (registry.Site, error) {
	var (
		s        registry.Site
		cat, uat tsCol
	)
	err := r.Scan(&s.ID, &s.Name, &s.Kind, &s.Address, &s.Description, &cat, &uat)
	s.CreatedAt, s.UpdatedAt = cat.T, uat.T
	return s, err
}

func (t *txn) GetSite(ctx context.Context, id int64) (registry.Site, error) {
	rows, err := t.query(ctx, "SELECT "+siteCols+" FROM sites WHERE id = ?", id)
	return one(rows, err, scanSite, "site", id)
}

func (t *txn) ListSites(ctx context.Context) ([]registry.Site, error) {
	rows, err := t.query(ctx, "SELECT "+siteCols+" FROM sites ORDER BY id")
	return all(rows, err, scanSite)
}

func (t *txn) InsertSite(ctx context.Context, s *registry.Site) error {
	now := nowUTC()
	id, err := t.insert(ctx, "INSERT INTO sites (name, kind, address, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
		s.Name, s.Kind, s.Address, s.Description, now, now)
	s.ID, s.CreatedAt, s.UpdatedAt = id, now, now
	return err
}

func (t *txn) UpdateSite(ctx context.Context, s *registry.Site) error {
	now := nowUTC()
	r, err := t.exec(ctx, "UPDATE sites SET name = ?, kind = ?, address = ?, description = ?, updated_at = ? WHERE id = ?",
		s.Name, s.Kind, s.Address, s.Description, now, s.ID)
	s.UpdatedAt = now
	return mustAffect(r, err, "site", s.ID)
}

func (t *txn) DeleteSite(ctx context.Context, id int64) error {
	r, err := t.exec(ctx, "DELETE FROM sites WHERE id = ?", id)
	return mustAffect(r, err, "site", id)
}

const hostCols = `id, name, site_id, role, address, cpus, ram_mb, disk_gb, provider, monthly_cost_cents, description, created_at, updated_at`

func scanHost(r *sql.Rows) (registry.Host, error) {
	var (
		h        registry.Host
		site     sql.NullInt64
		addr     string
		cat, uat tsCol
	)
	if err := r.Scan(&h.ID, &h.Name, &site, &h.Role, &addr, &h.CPUs, &h.RAMMB, &h.DiskGB, &h.Provider, &h.MonthlyCost, &h.Description, &cat, &uat); err != nil {
		return h, err
	}
	if addr != "" {
		h.Address, _ = netip.ParseAddr(addr)
	}
	h.SiteID, h.CreatedAt, h.UpdatedAt = intPtr(site), cat.T, uat.T
	return h, nil
}

func hostAddr(h *registry.Host) string {
	if !h.Address.IsValid() {
		return ""
	}
	return h.Address.String()
}

func (t *txn) GetHost(ctx context.Context, id int64) (registry.Host, error) {
	rows, err := t.query(ctx, "SELECT "+hostCols+" FROM hosts WHERE id = ?", id)
	return one(rows, err, scanHost, "host", id)
}

func (t *txn) ListHosts(ctx context.Context, opt registry.ListOptions) ([]registry.Host, error) {
	query := "SELECT " + hostCols + " FROM hosts WHERE 1=1"
	var args []any
	if opt.Search != "" {
		query += ` AND (lower(name) LIKE ? ESCAPE '\' OR lower(role) LIKE ? ESCAPE '\' OR address LIKE ? ESCAPE '\')`
		l := like(opt.Search)
		args = append(args, l, l, l)
	}
	rows, err := t.query(ctx, query+" ORDER BY id"+limitClause(opt), args...)
	return all(rows, err, scanHost)
}

func (t *txn) InsertHost(ctx context.Context, h *registry.Host) error {
	now := nowUTC()
	id, err := t.insert(ctx, `INSERT INTO hosts (name, site_id, role, address, cpus, ram_mb, disk_gb, provider, monthly_cost_cents, description, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		h.Name, nullInt(h.SiteID), h.Role, hostAddr(h), h.CPUs, h.RAMMB, h.DiskGB, h.Provider, int64(h.MonthlyCost), h.Description, now, now)
	h.ID, h.CreatedAt, h.UpdatedAt = id, now, now
	return err
}

func (t *txn) UpdateHost(ctx context.Context, h *registry.Host) error {
	now := nowUTC()
	r, err := t.exec(ctx, `UPDATE hosts SET name = ?, site_id = ?, role = ?, address = ?, cpus = ?, ram_mb = ?, disk_gb = ?, provider = ?, monthly_cost_cents = ?, description = ?, updated_at = ?
		WHERE id = ?`, h.Name, nullInt(h.SiteID), h.Role, hostAddr(h), h.CPUs, h.RAMMB, h.DiskGB, h.Provider, int64(h.MonthlyCost), h.Description, now, h.ID)
	h.UpdatedAt = now
	return mustAffect(r, err, "host", h.ID)
}

func (t *txn) DeleteHost(ctx context.Context, id int64) error {
	r, err := t.exec(ctx, "DELETE FROM hosts WHERE id = ?", id)
	return mustAffect(r, err, "host", id)
}

const portCols = `id, host_id, name, room, vlan, created_at, updated_at`

func scanPort(r *sql.Rows) (registry.Port, error) {
	var (
		p        registry.Port
		cat, uat tsCol
	)
	err := r.Scan(&p.ID, &p.HostID, &p.Name, &p.Room, &p.VLAN, &cat, &uat)
	p.CreatedAt, p.UpdatedAt = cat.T, uat.T
	return p, err
}

func (t *txn) GetPort(ctx context.Context, id int64) (registry.Port, error) {
	rows, err := t.query(ctx, "SELECT "+portCols+" FROM ports WHERE id = ?", id)
	return one(rows, err, scanPort, "port", id)
}

func (t *txn) ListPorts(ctx context.Context, hostID int64) ([]registry.Port, error) {
	query, args := "SELECT "+portCols+" FROM ports", []any{}
	if hostID != 0 {
		query += " WHERE host_id = ?"
		args = append(args, hostID)
	}
	rows, err := t.query(ctx, query+" ORDER BY host_id, id", args...)
	return all(rows, err, scanPort)
}

func (t *txn) InsertPort(ctx context.Context, p *registry.Port) error {
	now := nowUTC()
	id, err := t.insert(ctx, "INSERT INTO ports (host_id, name, room, vlan, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
		p.HostID, p.Name, p.Room, p.VLAN, now, now)
	p.ID, p.CreatedAt, p.UpdatedAt = id, now, now
	return err
}

func (t *txn) UpdatePort(ctx context.Context, p *registry.Port) error {
	now := nowUTC()
	r, err := t.exec(ctx, "UPDATE ports SET host_id = ?, name = ?, room = ?, vlan = ?, updated_at = ? WHERE id = ?",
		p.HostID, p.Name, p.Room, p.VLAN, now, p.ID)
	p.UpdatedAt = now
	return mustAffect(r, err, "port", p.ID)
}

func (t *txn) DeletePort(ctx context.Context, id int64) error {
	r, err := t.exec(ctx, "DELETE FROM ports WHERE id = ?", id)
	return mustAffect(r, err, "port", id)
}
