package web

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"

	"maillon/internal/macaddr"
	"maillon/internal/registry"
)

func init() {
	uiRoutes = append(uiRoutes, func(s *Server) { s.mux.HandleFunc("GET /admin/search", s.requireAdmin(s.adminSearch)) })
}

// hit is one search result.
type hit struct {
	Kind   string // message key of what it is
	Label  string
	Detail string
	Why    string // what matched
	Link   string
}

type searchData struct {
	Query string
	Hits  []hit
	More  int // shown when results were cut
}

const searchLimit = 20 // per kind of object

// adminSearch finds whatever an admin has at hand: a name, an email, a
// login, an IPv4 or IPv6 address (inside a line's /64 or delegated
// prefix too), a MAC address in any notation, a CPE serial, a host. One
// hit goes straight to its page.
func (s *Server) adminSearch(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	d := searchData{Query: q}
	if q != "" {
		hits, err := s.search(r.Context(), q)
		if err != nil {
			s.renderFailure(w, r, err)
			return
		}
		if len(hits) == 1 {
			http.Redirect(w, r, hits[0].Link, http.StatusSeeOther)
			return
		}
		d.Hits = hits
		if len(hits) >= searchLimit {
			d.More = searchLimit
		}
	}
	s.render(w, r, "admin_search.html", d)
}

func (s *Server) search(ctx context.Context, q string) ([]hit, error) {
	var hits []hit
	seen := map[string]bool{}
	add := func(h hit) {
		if !seen[h.Link] {
			seen[h.Link] = true
			hits = append(hits, h)
		}
	}
	memberName := map[int64]string{}
	// cur is the read the helpers below look names up in.
	var cur registry.Reader
	nameOf := func(id int64) string {
		if n, ok := memberName[id]; ok {
			return n
		}
		m, err := cur.GetMember(ctx, id)
		if err != nil {
			return ""
		}
		memberName[id] = m.Name
		return m.Name
	}
	line := func(sub registry.Subscription, why string) {
		add(hit{Kind: "entity.subscriptions", Label: sub.Login, Detail: nameOf(sub.MemberID) + " · " + string(sub.Kind) + " · " + string(sub.State),
			Why: why, Link: "/admin/subscriptions/" + strconv.FormatInt(sub.ID, 10)})
	}
	cpe := func(c registry.CPE, why string) {
		detail := c.Model + " · " + string(c.State)
		if c.MemberID != nil {
			detail += " · " + nameOf(*c.MemberID)
		}
		add(hit{Kind: "entity.cpes", Label: c.Serial, Detail: detail, Why: why, Link: "/admin/cpes/" + strconv.FormatInt(c.ID, 10)})
	}
	var (
		cpes     []registry.CPE
		hosts    []registry.Host
		needText bool
	)
	err := s.opt.Registry.Read(ctx, func(rd registry.Reader) error {
		cur = rd

		// An address: the line holding it (its /32, /64 or delegated
		// prefix), hosts and NAS at it.
		if addr, err := netip.ParseAddr(q); err == nil {
			addr = addr.Unmap()
			sub, err := registry.SubscriptionAt(ctx, rd, addr)
			if err == nil {
				line(sub, "address "+addr.String())
			} else if !errors.Is(err, registry.ErrNotFound) {
				return err
			}
			hosts, err := rd.ListHosts(ctx, registry.ListOptions{})
			if err != nil {
				return err
			}
			for _, h := range hosts {
				if h.Address == addr {
					add(hit{Kind: "entity.hosts", Label: h.Name, Detail: h.Role, Why: "address", Link: "/admin/hosts/" + strconv.FormatInt(h.ID, 10)})
				}
			}
			nas, err := rd.ListNAS(ctx)
			if err != nil {
				return err
			}
			for _, n := range nas {
				if n.Address.Contains(addr) {
					add(hit{Kind: "entity.nas", Label: n.Name, Detail: n.Address.String(), Why: "address", Link: "/admin/nas/" + strconv.FormatInt(n.ID, 10)})
				}
			}
			return nil
		}
		if p, err := netip.ParsePrefix(q); err == nil {
			prefixes, err := rd.ListPrefixes(ctx)
			if err != nil {
				return err
			}
			for _, x := range prefixes {
				if x.CIDR.Overlaps(p) {
					add(hit{Kind: "entity.prefixes", Label: x.CIDR.String(), Detail: string(x.Purpose) + " " + x.Description, Why: "prefix",
						Link: "/admin/prefixes/" + strconv.FormatInt(x.ID, 10)})
				}
			}
			return nil
		}
		// A MAC address, in whatever notation it was copied from.
		if mac, err := macaddr.Normalize(q); err == nil {
			if sub, err := rd.GetSubscriptionByMAC(ctx, mac); err == nil {
				line(sub, "MAC "+mac)
			} else if !errors.Is(err, registry.ErrNotFound) {
				return err
			}
			cpes, err := rd.ListCPEs(ctx, registry.ListOptions{Search: mac, Limit: searchLimit})
			if err != nil {
				return err
			}
			for _, c := range cpes {
				if c.MAC == mac {
					cpe(c, "MAC "+mac)
				}
			}
			if len(hits) > 0 {
				return nil
			}
		}
		// What names one thing exactly is looked up by index; only when
		// nothing matches does the search scan for substrings.
		if strings.Contains(q, "@") {
			if m, err := rd.GetMemberByEmail(ctx, q); err == nil {
				memberName[m.ID] = m.Name
				add(hit{Kind: "entity.members", Label: m.Name, Detail: m.Email, Why: "email", Link: "/admin/members/" + strconv.FormatInt(m.ID, 10)})
			} else if !errors.Is(err, registry.ErrNotFound) {
				return err
			}
		}
		if sub, err := rd.GetSubscriptionByLogin(ctx, q); err == nil {
			line(sub, "login")
		} else if !errors.Is(err, registry.ErrNotFound) {
			return err
		}
		// CPE serials and host names exactly: both tables are small next
		// to the members'.
		var err error
		cpes, err = rd.ListCPEs(ctx, registry.ListOptions{Search: q, Limit: searchLimit})
		if err != nil {
			return err
		}
		for _, c := range cpes {
			if strings.EqualFold(c.Serial, q) {
				cpe(c, "serial")
			}
		}
		hosts, err = rd.ListHosts(ctx, registry.ListOptions{Search: q, Limit: searchLimit})
		if err != nil {
			return err
		}
		for _, h := range hosts {
			if strings.EqualFold(h.Name, q) {
				add(hit{Kind: "entity.hosts", Label: h.Name, Detail: h.Role, Why: "name", Link: "/admin/hosts/" + strconv.FormatInt(h.ID, 10)})
			}
		}
		if id, err := strconv.ParseInt(q, 10, 64); err == nil && id > 0 {
			if m, err := rd.GetMember(ctx, id); err == nil {
				add(hit{Kind: "entity.members", Label: m.Name, Detail: m.Email, Why: "id", Link: "/admin/members/" + strconv.FormatInt(m.ID, 10)})
			}
		} else if len(hits) > 0 {
			return nil
		}
		needText = true
		return nil
	})
	if err != nil || !needText {
		return hits, err
	}
	// Text: names, emails, rooms, phones, logins, upstream references,
	// serials, hosts. The two scans over every member and every line run
	// side by side, each in its own read.
	var (
		members []registry.Member
		subs    []registry.Subscription
		g       errgroup.Group
	)
	g.Go(func() error {
		return s.opt.Registry.Read(ctx, func(rd registry.Reader) error {
			var err error
			members, err = rd.ListMembers(ctx, registry.ListOptions{Search: q, Limit: searchLimit})
			return err
		})
	})
	g.Go(func() error {
		return s.opt.Registry.Read(ctx, func(rd registry.Reader) error {
			var err error
			subs, err = rd.ListSubscriptions(ctx, registry.SubscriptionFilter{ListOptions: registry.ListOptions{Search: q, Limit: searchLimit}})
			return err
		})
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	err = s.opt.Registry.Read(ctx, func(rd registry.Reader) error {
		cur = rd
		for _, m := range members {
			memberName[m.ID] = m.Name
			add(hit{Kind: "entity.members", Label: m.Name, Detail: m.Email, Why: "name, email, room or phone", Link: "/admin/members/" + strconv.FormatInt(m.ID, 10)})
		}
		for _, sub := range subs {
			line(sub, "login or reference")
		}
		for _, c := range cpes {
			cpe(c, "serial or model")
		}
		for _, h := range hosts {
			add(hit{Kind: "entity.hosts", Label: h.Name, Detail: h.Role, Why: "name or role", Link: "/admin/hosts/" + strconv.FormatInt(h.ID, 10)})
		}
		return nil
	})
	return hits, err
}
