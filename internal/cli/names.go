package cli

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"maillon/internal/client"
	"maillon/internal/registry"
)

// Status page objects refer to components, sites, switches and NAS by id;
// a reader wants their names, which these look up once per command.

// nameMap maps the ids of a collection ("components", "sites", "hosts",
// "nas", "zones") to their names.
func (s *session) nameMap(collection string) (map[int64]string, error) {
	if m, ok := s.names[collection]; ok {
		return m, nil
	}
	c, err := s.Client()
	if err != nil {
		return nil, err
	}
	items, err := client.List(s.ctx, c, client.Entity[struct {
		ID     int64  `json:"id"`
		Name   string `json:"name"`
		Origin string `json:"origin"` // zones have an origin for a name
	}, struct{}]{Path: collection}, client.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", collection, err)
	}
	m := make(map[int64]string, len(items))
	for _, it := range items {
		m[it.ID] = cmp.Or(it.Name, it.Origin)
	}
	if s.names == nil {
		s.names = map[string]map[int64]string{}
	}
	s.names[collection] = m
	return m, nil
}

// componentNames names components, by id when one is gone.
func (s *session) componentNames(ids []int64) (string, error) {
	if len(ids) == 0 {
		return "", nil
	}
	names, err := s.nameMap("components")
	if err != nil {
		return "", err
	}
	return joinNames(names, ids), nil
}

func joinNames(names map[int64]string, ids []int64) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = nameOr(names, id)
	}
	return strings.Join(out, ", ")
}

// targetNames writes targets as "site:NAME", the form --target takes.
func (s *session) targetNames(ts []registry.Target) (string, error) {
	collections := map[string]string{registry.TargetSite: "sites", registry.TargetHost: "hosts", registry.TargetNAS: "nas"}
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.String()
		if coll, ok := collections[t.Kind]; ok {
			names, err := s.nameMap(coll)
			if err != nil {
				return "", err
			}
			out[i] = t.Kind + ":" + nameOr(names, t.ID)
		}
	}
	return strings.Join(out, ", "), nil
}

func nameOr(names map[int64]string, id int64) string {
	if n := names[id]; n != "" {
		return n
	}
	return fmtID(id)
}

// recordZones names the zones records refer to (by id) and gives the TTL
// their records without one are served with (none when the daemon serves
// no DNS).
type recordZones struct {
	names map[int64]string
	ttls  map[int64]uint32
}

func (s *session) recordZones() (recordZones, error) {
	out := recordZones{ttls: map[int64]uint32{}}
	names, err := s.nameMap("zones")
	if err != nil {
		return out, err
	}
	out.names = names
	c, err := s.Client()
	if err != nil {
		return out, err
	}
	var served struct {
		Items []struct {
			Origin string `json:"origin"`
			TTL    uint32 `json:"ttl"`
		}
	}
	if err := c.Do(s.ctx, "GET", "/api/v1/dns/zones", nil, nil, &served); err != nil {
		var ae *client.APIError
		if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
			return out, nil // DNS is off
		}
		return out, fmt.Errorf("served zones: %w", err)
	}
	for id, origin := range names {
		for _, sz := range served.Items {
			if strings.EqualFold(strings.TrimSuffix(sz.Origin, "."), strings.TrimSuffix(origin, ".")) {
				out.ttls[id] = sz.TTL
			}
		}
	}
	return out, nil
}

// zone names a record's zone.
func (z recordZones) zone(r *registry.Record) string { return nameOr(z.names, r.ZoneID) }

// ttl is a record's TTL as served: its own, else its zone's.
func (z recordZones) ttl(r *registry.Record) string {
	if r.TTL != 0 {
		return fmtID(int64(r.TTL))
	}
	if ttl, ok := z.ttls[r.ZoneID]; ok {
		return fmt.Sprintf("default (%d)", ttl)
	}
	return "default (the zone's)"
}
