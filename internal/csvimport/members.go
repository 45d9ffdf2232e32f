package csvimport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"maillon/internal/macaddr"
	"maillon/internal/registry"
)

// MemberColumns are the columns of a members file, in the order a template
// lists them. The line columns (login to mac) are optional: a row that
// fills login also gets a subscription.
var MemberColumns = []string{
	"name", "email", "phone", "address", "site", "room", "state",
	"membership_start", "membership_end", "notes",
	"login", "password", "kind", "upstream_ref", "mac",
}

// SubscriptionColumns are the columns of a subscriptions file.
var SubscriptionColumns = []string{
	"member", "kind", "login", "password", "state", "upstream_ref", "mac", "vlan", "site", "notes",
}

// memberRow is one line of a members file, converted but not yet checked by
// the registry.
type memberRow struct {
	line   int
	member registry.MemberInput
	// sub is the optional line; its MemberID is filled once the member
	// exists.
	sub *registry.SubscriptionInput
}

func invalidf(field, format string, args ...any) error {
	return &registry.ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// siteIndex resolves site names, case-insensitively as the registry's
// unique index does.
type siteIndex map[string]registry.Site

func newSiteIndex(sites []registry.Site) siteIndex {
	idx := make(siteIndex, len(sites))
	for _, s := range sites {
		idx[strings.ToLower(s.Name)] = s
	}
	return idx
}

func (idx siteIndex) lookup(name string) (*int64, error) {
	if name == "" {
		return nil, nil
	}
	s, ok := idx[strings.ToLower(name)]
	if !ok {
		names := make([]string, 0, len(idx))
		for _, s := range idx {
			names = append(names, fmt.Sprintf("%q", s.Name))
		}
		sort.Strings(names)
		known := "there are no sites yet: create them first"
		if len(names) > 0 {
			known = "known: " + strings.Join(names, ", ")
		}
		return nil, invalidf("site", "no site named %q (%s)", name, known)
	}
	id := s.ID
	return &id, nil
}

// parseDay reads YYYY-MM-DD, and DD/MM/YYYY as French spreadsheets write
// dates.
func parseDay(field, s string) (registry.Date, error) {
	if d, err := registry.ParseDate(s); err == nil {
		return d, nil
	}
	for _, layout := range []string{"02/01/2006", "2/1/2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return registry.DateOf(t), nil
		}
	}
	return registry.Date{}, invalidf(field, "%q is not a date (YYYY-MM-DD or DD/MM/YYYY)", s)
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// memberRows converts a members table into registry inputs and checks
// every line as the registry would, plus emails, logins and MACs repeated
// within the file or already in the registry; it reports the bad lines in
// line order (up to maxErrors), so that one run shows what to fix.
func memberRows(t *table, env *parseEnv) ([]memberRow, error) {
	out := make([]memberRow, 0, len(t.rows))
	var bad badLines
	emails, logins, macs := newDupes("email"), newDupes("login"), newDupes("mac")
	for _, r := range t.rows {
		if bad.full() {
			break
		}
		mr, err := memberRowOf(t, r, env.sites)
		if err == nil {
			err = mr.member.CheckNew()
		}
		if err == nil && mr.sub != nil {
			err = mr.sub.CheckNew()
		}
		if err != nil {
			bad.add(&LineError{Line: r.line, Err: err})
			continue
		}
		email := t.get(r, "email")
		err = emails.check(r.line, strings.ToLower(email), email)
		if err == nil {
			err = env.taken.email(r.line, email)
		}
		if err == nil && mr.sub != nil {
			err = logins.check(r.line, *mr.sub.Login, *mr.sub.Login)
			if err == nil {
				err = env.taken.login(r.line, *mr.sub.Login)
			}
			if err == nil && mr.sub.MAC != nil {
				mac, _ := macaddr.Normalize(*mr.sub.MAC)
				err = macs.check(r.line, mac, *mr.sub.MAC)
			}
		}
		if err != nil {
			bad.add(err)
			continue
		}
		out = append(out, mr)
	}
	return out, bad.err()
}

func memberRowOf(t *table, r row, sites siteIndex) (memberRow, error) {
	mr := memberRow{line: r.line}
	name, email := t.get(r, "name"), t.get(r, "email")
	mr.member = registry.MemberInput{
		Name:    &name,
		Email:   &email,
		Phone:   opt(t.get(r, "phone")),
		Address: opt(t.get(r, "address")),
		Room:    opt(t.get(r, "room")),
		Notes:   opt(t.get(r, "notes")),
	}
	if s := t.get(r, "state"); s != "" {
		st := registry.MemberState(strings.ToLower(s))
		mr.member.State = &st
	}
	site, err := sites.lookup(t.get(r, "site"))
	if err != nil {
		return mr, err
	}
	mr.member.SiteID = site
	start, end := t.get(r, "membership_start"), t.get(r, "membership_end")
	switch {
	case start != "":
		p := registry.Period{}
		if p.Start, err = parseDay("membership_start", start); err != nil {
			return mr, err
		}
		if end != "" {
			e, err := parseDay("membership_end", end)
			if err != nil {
				return mr, err
			}
			if e.Before(p.Start) {
				return mr, invalidf("membership_end", "%s is before membership_start %s", e, p.Start)
			}
			p.End = &e
		}
		mr.member.Periods = &[]registry.Period{p}
	case end != "":
		return mr, invalidf("membership_start", "is required when membership_end is given")
	}

	login := t.get(r, "login")
	if login == "" {
		for _, c := range []string{"password", "kind", "upstream_ref", "mac"} {
			if t.get(r, c) != "" {
				return mr, invalidf("login", "is required when %s is given (a line needs a login)", c)
			}
		}
		return mr, nil
	}
	sub := registry.SubscriptionInput{
		Login:       &login,
		Password:    opt(t.raw(r, "password")),
		UpstreamRef: opt(t.get(r, "upstream_ref")),
		MAC:         opt(t.get(r, "mac")),
		SiteID:      site,
	}
	kind := registry.KindPPP
	if k := t.get(r, "kind"); k != "" {
		kind = registry.SubscriptionKind(strings.ToLower(k))
	}
	sub.Kind = &kind
	if sub.MAC != nil {
		if _, err := macaddr.Normalize(*sub.MAC); err != nil {
			return mr, invalidf("mac", "%v", err)
		}
	}
	if err := registry.ValidateLogin(login); err != nil {
		return mr, err
	}
	mr.sub = &sub
	return mr, nil
}

// Members imports a members file in one transaction: every member, and the
// line of each row that names a login, or nothing at all. progress, when
// not nil, is told how far it got at least every 1% and every 200 rows.
// It returns the number of members created.
func Members(ctx context.Context, reg *registry.Service, actor registry.Actor, r io.Reader, progress func(done, total int)) (int, error) {
	return importFile(ctx, reg, actor, r, MemberColumns, []string{"name", "email"}, progress, memberRows,
		func(b *registry.Batch, mr memberRow) error {
			m, err := b.CreateMember(mr.member)
			if err != nil {
				return &LineError{Line: mr.line, Err: conflict(err, "email", *mr.member.Email)}
			}
			if mr.sub != nil {
				mr.sub.MemberID = &m.ID
				if _, err := b.CreateSubscription(*mr.sub); err != nil {
					return &LineError{Line: mr.line, Err: conflict(err, "login", *mr.sub.Login)}
				}
			}
			return nil
		})
}

// importFile reads a file, parses its rows (sites may be named in them),
// and creates each row in one batch, all or nothing, telling progress.
func importFile[R any](ctx context.Context, reg *registry.Service, actor registry.Actor, r io.Reader, known, required []string,
	progress func(done, total int), parse func(*table, *parseEnv) ([]R, error), create func(*registry.Batch, R) error) (int, error) {
	t, err := readTable(r, known, required)
	if err != nil {
		return 0, err
	}
	created := 0
	err = reg.Batch(ctx, actor, func(b *registry.Batch) error {
		env, err := newParseEnv(ctx, b.Reader())
		if err != nil {
			return err
		}
		rows, err := parse(t, env)
		if err != nil {
			return err
		}
		p := newProgress(progress, len(rows))
		for _, row := range rows {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := create(b, row); err != nil {
				return err
			}
			created++
			p.step()
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return created, nil
}

// parseEnv is what checking a file's lines needs from the registry, read
// in the import's transaction.
type parseEnv struct {
	ctx   context.Context
	r     registry.Reader
	sites siteIndex
	taken taken
}

func newParseEnv(ctx context.Context, r registry.Reader) (*parseEnv, error) {
	sites, err := r.ListSites(ctx)
	if err != nil {
		return nil, fmt.Errorf("import: sites: %w", err)
	}
	tk := taken{emails: map[string]bool{}, logins: map[string]bool{}}
	members, err := r.ListMembers(ctx, registry.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("import: members: %w", err)
	}
	for _, m := range members {
		tk.emails[strings.ToLower(m.Email)] = true
	}
	subs, err := r.ListSubscriptions(ctx, registry.SubscriptionFilter{})
	if err != nil {
		return nil, fmt.Errorf("import: subscriptions: %w", err)
	}
	for _, s := range subs {
		tk.logins[s.Login] = true
	}
	return &parseEnv{ctx: ctx, r: r, sites: newSiteIndex(sites), taken: tk}, nil
}

// taken are the emails (lower-cased, as their unique index compares them)
// and logins the registry already holds.
type taken struct{ emails, logins map[string]bool }

func (tk taken) email(line int, email string) error {
	if tk.emails[strings.ToLower(email)] {
		return &LineError{Line: line, Err: invalidf("email", "%q is already in the registry", email)}
	}
	return nil
}

func (tk taken) login(line int, login string) error {
	if tk.logins[login] {
		return &LineError{Line: line, Err: invalidf("login", "%q is already in the registry", login)}
	}
	return nil
}

// conflict turns the store's unique-index error into one naming the column
// and the value, as the other errors do.
func conflict(err error, field, value string) error {
	if errors.Is(err, registry.ErrConflict) && strings.Contains(err.Error(), field) {
		return invalidf(field, "%q is already in the registry", value)
	}
	return err
}
