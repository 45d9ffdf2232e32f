package csvimport

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"

	"maillon/internal/macaddr"
	"maillon/internal/registry"
)

// memberRef resolves the member column of a subscriptions file: an id or
// an email.
type memberRef struct {
	r     registry.Reader
	ctx   context.Context
	cache map[string]int64
}

func (m *memberRef) resolve(ref string) (int64, error) {
	if ref == "" {
		return 0, invalidf("member", "is required (the member's email or id)")
	}
	key := strings.ToLower(ref)
	if id, ok := m.cache[key]; ok {
		return id, nil
	}
	var (
		mem registry.Member
		err error
	)
	if id, perr := strconv.ParseInt(ref, 10, 64); perr == nil {
		mem, err = m.r.GetMember(m.ctx, id)
		if errors.Is(err, registry.ErrNotFound) {
			return 0, invalidf("member", "no member has id %d", id)
		}
	} else {
		mem, err = m.r.GetMemberByEmail(m.ctx, ref)
		if errors.Is(err, registry.ErrNotFound) {
			return 0, invalidf("member", "no member has the email %q", ref)
		}
	}
	if err != nil {
		return 0, err
	}
	m.cache[key] = mem.ID
	return mem.ID, nil
}

// subscriptionRow is one line of a subscriptions file.
type subscriptionRow struct {
	line   int
	member string
	sub    registry.SubscriptionInput
}

func subscriptionRows(t *table, sites siteIndex) ([]subscriptionRow, error) {
	out := make([]subscriptionRow, 0, len(t.rows))
	logins, macs := newDupes("login"), newDupes("mac")
	for _, r := range t.rows {
		sr, err := subscriptionRowOf(t, r, sites)
		if err != nil {
			return nil, &LineError{Line: r.line, Err: err}
		}
		if err := logins.check(r.line, *sr.sub.Login, *sr.sub.Login); err != nil {
			return nil, err
		}
		if sr.sub.MAC != nil {
			mac, _ := macaddr.Normalize(*sr.sub.MAC)
			if err := macs.check(r.line, mac, *sr.sub.MAC); err != nil {
				return nil, err
			}
		}
		out = append(out, sr)
	}
	return out, nil
}

func subscriptionRowOf(t *table, r row, sites siteIndex) (subscriptionRow, error) {
	sr := subscriptionRow{line: r.line, member: t.get(r, "member")}
	if sr.member == "" {
		return sr, invalidf("member", "is required (the member's email or id)")
	}
	login := t.get(r, "login")
	if err := registry.ValidateLogin(login); err != nil {
		return sr, err
	}
	sr.sub = registry.SubscriptionInput{
		Login:       &login,
		Password:    opt(t.raw(r, "password")),
		UpstreamRef: opt(t.get(r, "upstream_ref")),
		MAC:         opt(t.get(r, "mac")),
		Notes:       opt(t.get(r, "notes")),
	}
	kind := registry.KindPPP
	if k := t.get(r, "kind"); k != "" {
		kind = registry.SubscriptionKind(strings.ToLower(k))
	}
	sr.sub.Kind = &kind
	if s := t.get(r, "state"); s != "" {
		st := registry.SubscriptionState(strings.ToLower(s))
		sr.sub.State = &st
	}
	if v := t.get(r, "vlan"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 4094 {
			return sr, invalidf("vlan", "%q is not a VLAN id (1-4094)", v)
		}
		sr.sub.VLAN = &n
	}
	if sr.sub.MAC != nil {
		if _, err := macaddr.Normalize(*sr.sub.MAC); err != nil {
			return sr, invalidf("mac", "%v", err)
		}
	}
	site, err := sites.lookup(t.get(r, "site"))
	if err != nil {
		return sr, err
	}
	sr.sub.SiteID = site
	return sr, nil
}

// Subscriptions imports a subscriptions file in one transaction; the member
// column holds the member's email or id. It returns the number of
// subscriptions created.
func Subscriptions(ctx context.Context, reg *registry.Service, actor registry.Actor, r io.Reader, progress func(done, total int)) (int, error) {
	var refs *memberRef // made with the batch's reader, on the first row
	return importFile(ctx, reg, actor, r, SubscriptionColumns, []string{"member", "login"}, progress, subscriptionRows,
		func(b *registry.Batch, sr subscriptionRow) error {
			if refs == nil {
				refs = &memberRef{r: b.Reader(), ctx: ctx, cache: map[string]int64{}}
			}
			id, err := refs.resolve(sr.member)
			if err != nil {
				return &LineError{Line: sr.line, Err: err}
			}
			sr.sub.MemberID = &id
			if _, err := b.CreateSubscription(sr.sub); err != nil {
				return &LineError{Line: sr.line, Err: conflict(err, "login", *sr.sub.Login)}
			}
			return nil
		})
}
