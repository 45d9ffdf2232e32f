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

// subscriptionRows converts a subscriptions table into registry inputs
// and checks every line, its member included, reporting the bad lines in
// line order (up to maxErrors).
func subscriptionRows(t *table, env *parseEnv) ([]subscriptionRow, error) {
	out := make([]subscriptionRow, 0, len(t.rows))
	var bad badLines
	refs := &memberRef{r: env.r, ctx: env.ctx, cache: map[string]int64{}}
	logins, macs := newDupes("login"), newDupes("mac")
	for _, r := range t.rows {
		if bad.full() {
			break
		}
		sr, err := subscriptionRowOf(t, r, env.sites)
		if err == nil {
			var id int64
			if id, err = refs.resolve(sr.member); err == nil {
				sr.sub.MemberID = &id
				err = sr.sub.CheckNew()
			}
		}
		if err != nil {
			if !errors.As(err, new(*registry.ValidationError)) {
				return nil, err // the database failed, not the line
			}
			bad.add(&LineError{Line: r.line, Err: err})
			continue
		}
		err = logins.check(r.line, *sr.sub.Login, *sr.sub.Login)
		if err == nil {
			err = env.taken.login(r.line, *sr.sub.Login)
		}
		if err == nil && sr.sub.MAC != nil {
			mac, _ := macaddr.Normalize(*sr.sub.MAC)
			err = macs.check(r.line, mac, *sr.sub.MAC)
		}
		if err != nil {
			bad.add(err)
			continue
		}
		out = append(out, sr)
	}
	return out, bad.err()
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
	return importFile(ctx, reg, actor, r, SubscriptionColumns, []string{"member", "login"}, progress, subscriptionRows,
		func(b *registry.Batch, sr subscriptionRow) error {
			if _, err := b.CreateSubscription(sr.sub); err != nil {
				return &LineError{Line: sr.line, Err: conflict(err, "login", *sr.sub.Login)}
			}
			return nil
		})
}
