package web

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"maillon/internal/macaddr"
	"maillon/internal/registry"
)

// findAdmin resolves an admin's id, name or email, and findHost a host's
// id, name or address: every API that takes such a ref matches it alike.
func (s *Server) findAdmin(ctx context.Context, ref string) (registry.Admin, error) {
	return findIn(s, "admin", registry.Reader.GetAdmin, registry.Reader.ListAdmins, func(a *registry.Admin, ref string) bool {
		return sameName(a.Name, ref) || sameName(a.Email, ref)
	})(ctx, ref)
}

func (s *Server) findHost(ctx context.Context, ref string) (registry.Host, error) {
	return findIn(s, "host", registry.Reader.GetHost, func(r registry.Reader, ctx context.Context) ([]registry.Host, error) {
		return r.ListHosts(ctx, registry.ListOptions{})
	}, func(h *registry.Host, ref string) bool {
		return sameName(h.Name, ref) || (h.Address.IsValid() && h.Address.String() == ref)
	})(ctx, ref)
}

// findIn resolves a ref that is an id, or else a name matched by match.
func findIn[T any](s *Server, entity string, get func(registry.Reader, context.Context, int64) (T, error),
	list func(registry.Reader, context.Context) ([]T, error), match func(*T, string) bool) func(context.Context, string) (T, error) {
	return func(ctx context.Context, ref string) (T, error) {
		var out T
		err := s.opt.Registry.Read(ctx, func(r registry.Reader) error {
			if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
				var err error
				out, err = get(r, ctx, id)
				return err
			}
			items, err := list(r, ctx)
			if err != nil {
				return err
			}
			for i := range items {
				if match(&items[i], ref) {
					out = items[i]
					return nil
				}
			}
			return registry.NotFound(entity, ref)
		})
		return out, err
	}
}

func sameName(a, b string) bool { return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b)) }

func (s *Server) routes() {
	reg := s.opt.Registry
	register(s, resource[registry.Member, registry.MemberInput]{
		path: "members", name: "member", refHelp: "id, email, login, IP address or MAC address",
		list: func(ctx context.Context, r registry.Reader, _ url.Values, opt registry.ListOptions) ([]registry.Member, error) {
			return r.ListMembers(ctx, opt)
		},
		find: reg.FindMember, id: func(m *registry.Member) int64 { return m.ID },
		present: func(m *registry.Member) { m.Annotate(reg.Now()) },
		create:  reg.CreateMember, update: reg.UpdateMember, delete: reg.DeleteMember,
	})
	s.handle("GET /api/v1/members/{ref}/notifications", "What a member chose to be emailed about (their choices are theirs to change)",
		nil, reflect.TypeOf(registry.MemberPrefs{}), nil, func(w http.ResponseWriter, r *http.Request) {
			m, err := reg.FindMember(r.Context(), r.PathValue("ref"))
			if err != nil {
				s.fail(w, r, err)
				return
			}
			p, err := reg.MemberPrefs(r.Context(), m.ID)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, p)
		})
	register(s, resource[registry.Subscription, registry.SubscriptionInput]{
		path: "subscriptions", name: "subscription", refHelp: "id, login, IP address or MAC address",
		queries: []string{"member_id", "kind"},
		list: func(ctx context.Context, r registry.Reader, q url.Values, opt registry.ListOptions) ([]registry.Subscription, error) {
			member, err := queryID(q, "member_id")
			if err != nil {
				return nil, err
			}
			return r.ListSubscriptions(ctx, registry.SubscriptionFilter{ListOptions: opt, MemberID: member, Kind: registry.SubscriptionKind(q.Get("kind"))})
		},
		find: reg.FindSubscription, id: func(x *registry.Subscription) int64 { return x.ID },
		create: reg.CreateSubscription, update: reg.UpdateSubscription, delete: reg.DeleteSubscription,
		updated: s.lineUpdated, edited: reflect.TypeOf(lineEdit{}), change: reg.ChangeSubscription,
	})
	register(s, resource[registry.Prefix, registry.PrefixInput]{
		path: "prefixes", name: "prefix", refHelp: "id or CIDR",
		list: func(ctx context.Context, r registry.Reader, _ url.Values, opt registry.ListOptions) ([]registry.Prefix, error) {
			ps, err := r.ListPrefixes(ctx)
			return filter(ps, opt, func(p *registry.Prefix) string {
				return p.CIDR.String() + " " + string(p.Purpose) + " " + p.Description
			}), err
		},
		find: findIn(s, "prefix", registry.Reader.GetPrefix, registry.Reader.ListPrefixes, func(p *registry.Prefix, ref string) bool {
			return p.CIDR.String() == strings.TrimSpace(ref)
		}),
		id: func(p *registry.Prefix) int64 { return p.ID }, create: reg.CreatePrefix, update: reg.UpdatePrefix, delete: reg.DeletePrefix,
	})
	register(s, resource[registry.NAS, registry.NASInput]{
		path: "nas", name: "NAS", refHelp: "id, name or address",
		list: func(ctx context.Context, r registry.Reader, _ url.Values, opt registry.ListOptions) ([]registry.NAS, error) {
			ns, err := r.ListNAS(ctx)
			return filter(ns, opt, func(n *registry.NAS) string { return n.Name + " " + n.Address.String() + " " + string(n.Kind) }), err
		},
		find: findIn(s, "nas", registry.Reader.GetNAS, registry.Reader.ListNAS, func(n *registry.NAS, ref string) bool {
			return sameName(n.Name, ref) || n.Address.String() == ref || n.Address.Addr().String() == ref
		}),
		id: func(n *registry.NAS) int64 { return n.ID }, create: reg.CreateNAS, update: reg.UpdateNAS, delete: reg.DeleteNAS,
	})
	register(s, resource[registry.Site, registry.SiteInput]{
		path: "sites", name: "site", refHelp: "id or name",
		list: func(ctx context.Context, r registry.Reader, _ url.Values, opt registry.ListOptions) ([]registry.Site, error) {
			ss, err := r.ListSites(ctx)
			return filter(ss, opt, func(x *registry.Site) string { return x.Name + " " + string(x.Kind) + " " + x.Address }), err
		},
		find: findIn(s, "site", registry.Reader.GetSite, registry.Reader.ListSites, func(x *registry.Site, ref string) bool { return sameName(x.Name, ref) }),
		id:   func(x *registry.Site) int64 { return x.ID }, create: reg.CreateSite, update: reg.UpdateSite, delete: reg.DeleteSite,
	})
	register(s, resource[registry.Host, registry.HostInput]{
		path: "hosts", name: "host", refHelp: "id, name or address",
		list: func(ctx context.Context, r registry.Reader, _ url.Values, opt registry.ListOptions) ([]registry.Host, error) {
			return r.ListHosts(ctx, opt)
		},
		find: s.findHost,
		id:   func(h *registry.Host) int64 { return h.ID }, create: reg.CreateHost, update: reg.UpdateHost, delete: reg.DeleteHost,
	})
	register(s, resource[registry.Port, registry.PortInput]{
		path: "ports", name: "switch port", refHelp: "id", queries: []string{"host_id"},
		list: func(ctx context.Context, r registry.Reader, q url.Values, opt registry.ListOptions) ([]registry.Port, error) {
			host, err := queryID(q, "host_id")
			if err != nil {
				return nil, err
			}
			ps, err := r.ListPorts(ctx, host)
			return filter(ps, opt, func(p *registry.Port) string { return p.Name + " " + p.Room }), err
		},
		find: findIn(s, "port", registry.Reader.GetPort, func(r registry.Reader, ctx context.Context) ([]registry.Port, error) {
			return r.ListPorts(ctx, 0)
		}, func(p *registry.Port, ref string) bool { return p.Room != "" && sameName(p.Room, ref) }),
		id: func(p *registry.Port) int64 { return p.ID }, create: reg.CreatePort, update: reg.UpdatePort, delete: reg.DeletePort,
	})
	register(s, resource[registry.CPE, registry.CPEInput]{
		path: "cpes", name: "CPE", refHelp: "id, serial number or MAC address",
		list: func(ctx context.Context, r registry.Reader, _ url.Values, opt registry.ListOptions) ([]registry.CPE, error) {
			if mac, err := macaddr.Normalize(opt.Search); err == nil {
				opt.Search = mac
			}
			return r.ListCPEs(ctx, opt)
		},
		find: findIn(s, "cpe", registry.Reader.GetCPE, func(r registry.Reader, ctx context.Context) ([]registry.CPE, error) {
			return r.ListCPEs(ctx, registry.ListOptions{})
		}, func(c *registry.CPE, ref string) bool {
			mac, err := macaddr.Normalize(ref)
			return sameName(c.Serial, ref) || (err == nil && c.MAC == mac)
		}),
		id: func(c *registry.CPE) int64 { return c.ID }, create: reg.CreateCPE, update: reg.UpdateCPE, delete: reg.DeleteCPE,
	})
	register(s, resource[registry.Admin, registry.AdminInput]{
		path: "admins", name: "admin", refHelp: "id, name or email", adminOnly: true,
		list: func(ctx context.Context, r registry.Reader, _ url.Values, opt registry.ListOptions) ([]registry.Admin, error) {
			as, err := r.ListAdmins(ctx)
			return filter(as, opt, func(a *registry.Admin) string { return a.Name + " " + a.Email }), err
		},
		find: s.findAdmin,
		id:   func(a *registry.Admin) int64 { return a.ID }, create: reg.CreateAdmin, update: reg.UpdateAdmin, delete: reg.DeleteAdmin,
	})
	register(s, resource[registry.Zone, registry.ZoneInput]{
		path: "zones", name: "DNS zone", refHelp: "id or origin",
		list: func(ctx context.Context, r registry.Reader, _ url.Values, opt registry.ListOptions) ([]registry.Zone, error) {
			zs, err := r.ListZones(ctx)
			return filter(zs, opt, func(z *registry.Zone) string { return z.Origin + " " + z.Description }), err
		},
		find: findIn(s, "zone", registry.Reader.GetZone, registry.Reader.ListZones, func(z *registry.Zone, ref string) bool {
			return z.Origin == registry.Fqdn(ref)
		}),
		id: func(z *registry.Zone) int64 { return z.ID }, create: reg.CreateZone, update: reg.UpdateZone, delete: reg.DeleteZone,
	})
	register(s, resource[registry.Record, registry.RecordInput]{
		path: "records", name: "DNS record", refHelp: "id", queries: []string{"zone_id"},
		list: func(ctx context.Context, r registry.Reader, q url.Values, opt registry.ListOptions) ([]registry.Record, error) {
			zone, err := queryID(q, "zone_id")
			if err != nil {
				return nil, err
			}
			rs, err := r.ListRecords(ctx, zone)
			return filter(rs, opt, func(x *registry.Record) string { return x.Name + " " + x.Type + " " + x.Data }), err
		},
		find: findIn(s, "record", registry.Reader.GetRecord, func(registry.Reader, context.Context) ([]registry.Record, error) { return nil, nil },
			func(*registry.Record, string) bool { return false }),
		id: func(x *registry.Record) int64 { return x.ID }, create: reg.CreateRecord, update: reg.UpdateRecord, delete: reg.DeleteRecord,
	})
	s.addressRoutes()
	s.tokenRoutes()
	s.auditRoutes()
	s.importRoutes()
	s.usageRoutes()
	s.dnsRoutes()
	s.caRoutes()
	s.journalRoutes()
	for _, add := range apiRoutes {
		add(s)
	}
}

// filter applies search, limit and offset to collections small enough to
// be listed whole (prefixes, NAS, sites, ports, admins).
func filter[T any](items []T, opt registry.ListOptions, text func(*T) string) []T {
	var out []T
	needle := strings.ToLower(opt.Search)
	for i := range items {
		if needle == "" || strings.Contains(strings.ToLower(text(&items[i])), needle) {
			out = append(out, items[i])
		}
	}
	if opt.Offset > 0 {
		out = out[min(opt.Offset, len(out)):]
	}
	if opt.Limit > 0 && len(out) > opt.Limit {
		out = out[:opt.Limit]
	}
	return out
}
