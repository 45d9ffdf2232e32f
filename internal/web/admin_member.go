package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"maillon/internal/accounting"
	"maillon/internal/registry"
)

func init() { uiRoutes = append(uiRoutes, (*Server).memberAdminRoutes) }

func (s *Server) memberAdminRoutes() {
	s.mux.HandleFunc("GET /admin/members/{id}", s.requireAdmin(s.adminMember))
	s.mux.HandleFunc("GET /admin/subscriptions/{id}", s.requireAdmin(s.adminSubscription))
	s.mux.HandleFunc("POST /admin/subscriptions/{id}/suspend", s.requireWriter(s.setLineState(registry.SubSuspended, "sub.suspended")))
	s.mux.HandleFunc("POST /admin/subscriptions/{id}/resume", s.requireWriter(s.setLineState(registry.SubActive, "sub.resumed")))
}

// usageDays is how far back member and line pages show daily usage.
const usageDays = 90

type usageRow struct {
	Day, Login string
	In, Out    uint64
	Link       string
}

type usageTable struct {
	Rows    []usageRow
	In, Out uint64
}

type memberPage struct {
	Member   registry.Member
	Props    []prop
	Lines    []registry.Subscription
	CPEs     []registry.CPE
	Sessions []accounting.Session
	Usage    usageTable
	// Chart draws Usage (member.go; nil without accounting).
	Chart     *memberUsageChart
	Audit     []auditRow
	CanChange bool
}

func (s *Server) adminMember(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	var d memberPage
	err := s.opt.Registry.Read(ctx, func(rd registry.Reader) error {
		var err error
		if d.Member, err = rd.GetMember(ctx, id); err != nil {
			return err
		}
		if d.Lines, err = rd.ListSubscriptions(ctx, registry.SubscriptionFilter{MemberID: id}); err != nil {
			return err
		}
		d.CPEs, err = rd.ListMemberCPEs(ctx, id)
		return err
	})
	if err != nil {
		s.renderFailure(w, r, err)
		return
	}
	d.Member.Annotate(s.now())
	lang := s.lang(r)
	m := d.Member
	m.Periods = nil
	d.Props = props(lang, m)
	// What the member chose to be emailed about: an admin wondering why
	// they were not told of a maintenance looks here.
	prefs, err := s.opt.Registry.MemberPrefs(ctx, id)
	if err != nil {
		s.renderFailure(w, r, err)
		return
	}
	yesNo := func(b bool) string {
		if b {
			return translate(lang, "member.notifications.yes")
		}
		return translate(lang, "member.notifications.no")
	}
	d.Props = append(d.Props, prop{Label: translate(lang, "member.notifications.admin"),
		Value: fmt.Sprintf(translate(lang, "member.notifications.admin_value"), yesNo(prefs.Maintenance), yesNo(prefs.Incidents))})
	logins := map[int64]string{}
	for _, l := range d.Lines {
		logins[l.ID] = l.Login
	}
	if d.Sessions, d.Usage, err = s.traffic(ctx, accounting.SessionFilter{MemberID: id, OpenOnly: true, Limit: 50},
		accounting.UsageFilter{MemberID: id}, logins); err != nil {
		s.renderFailure(w, r, err)
		return
	}
	if d.Chart, err = s.memberUsage(ctx, accounting.UsageFilter{MemberID: id}, "usage-admin-member"); err != nil {
		s.renderFailure(w, r, err)
		return
	}
	// The member's history, and their lines'.
	entries, err := s.opt.Registry.Audit(ctx, registry.AuditFilter{Entity: "member", EntityID: id, Limit: 50})
	if err != nil {
		s.renderFailure(w, r, err)
		return
	}
	for _, l := range d.Lines {
		more, err := s.opt.Registry.Audit(ctx, registry.AuditFilter{Entity: "subscription", EntityID: l.ID, Limit: 50})
		if err != nil {
			s.renderFailure(w, r, err)
			return
		}
		entries = append(entries, more...)
	}
	slices.SortStableFunc(entries, func(a, b registry.AuditEntry) int { return b.At.Compare(a.At) })
	d.Audit = auditRows(entries[:min(len(entries), 50)])
	d.CanChange = s.entities["members"].mayChange(sessionFrom(r))
	s.render(w, r, "admin_member.html", d)
}

// traffic reads sessions and the last usageDays of daily usage.
func (s *Server) traffic(ctx context.Context, sf accounting.SessionFilter, uf accounting.UsageFilter, logins map[int64]string) ([]accounting.Session, usageTable, error) {
	var u usageTable
	if s.opt.Accounting == nil {
		return nil, u, nil
	}
	sessions, err := s.opt.Accounting.ListSessions(ctx, sf)
	if err != nil {
		return nil, u, err
	}
	uf.From = s.now().AddDate(0, 0, -usageDays).Format(time.DateOnly)
	days, err := s.opt.Accounting.Usage(ctx, uf)
	if err != nil {
		return nil, u, err
	}
	for i := len(days) - 1; i >= 0; i-- { // newest first
		d := days[i]
		u.Rows = append(u.Rows, usageRow{Day: d.Day, Login: logins[d.SubscriptionID], In: d.InputOctets, Out: d.OutputOctets,
			Link: "/admin/subscriptions/" + strconv.FormatInt(d.SubscriptionID, 10)})
		u.In += d.InputOctets
		u.Out += d.OutputOctets
	}
	return sessions, u, nil
}

type linePage struct {
	Line      registry.Subscription
	Member    registry.Member
	Props     []prop
	Sessions  []accounting.Session
	Usage     usageTable
	Chart     *memberUsageChart
	Audit     []auditRow
	CanChange bool
}

func (s *Server) adminSubscription(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	var d linePage
	err := s.opt.Registry.Read(ctx, func(rd registry.Reader) error {
		var err error
		if d.Line, err = rd.GetSubscription(ctx, id); err != nil {
			return err
		}
		d.Member, err = rd.GetMember(ctx, d.Line.MemberID)
		return err
	})
	if err != nil {
		s.renderFailure(w, r, err)
		return
	}
	l := d.Line
	l.Addresses = nil
	d.Props = props(s.lang(r), l)
	// Open sessions only, like the member page and "session list --open":
	// the table is where an admin checks that a suspended line's sessions
	// really ended; ended ones are in "maillon session list".
	if d.Sessions, d.Usage, err = s.traffic(ctx, accounting.SessionFilter{SubscriptionID: id, OpenOnly: true, Limit: 20},
		accounting.UsageFilter{SubscriptionID: id}, map[int64]string{id: d.Line.Login}); err != nil {
		s.renderFailure(w, r, err)
		return
	}
	if d.Chart, err = s.memberUsage(ctx, accounting.UsageFilter{SubscriptionID: id}, "usage-admin-line"); err != nil {
		s.renderFailure(w, r, err)
		return
	}
	entries, err := s.opt.Registry.Audit(ctx, registry.AuditFilter{Entity: "subscription", EntityID: id, Limit: 50})
	if err != nil {
		s.renderFailure(w, r, err)
		return
	}
	d.Audit = auditRows(entries)
	d.CanChange = s.entities["subscriptions"].mayChange(sessionFrom(r))
	s.render(w, r, "admin_subscription.html", d)
}

// setLineState suspends or resumes a line. Suspension goes through the
// registry like any edit, then the open sessions are disconnected and the
// flash tells what each NAS answered (lineUpdated).
func (s *Server) setLineState(state registry.SubscriptionState, flash string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.pathID(w, r)
		if !ok {
			return
		}
		before, after, err := s.opt.Registry.ChangeSubscription(r.Context(), sessionFrom(r).Actor(), id, registry.SubscriptionInput{State: &state})
		if err != nil {
			s.renderFailure(w, r, err)
			return
		}
		if rep := s.lineUpdated(r.Context(), &before, &after); rep != nil {
			s.setFlash(w, r, rep.flash, rep.counts...)
		} else {
			s.setFlash(w, r, flash)
		}
		http.Redirect(w, r, "/admin/subscriptions/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
	}
}
