package web

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"maillon/internal/accounting"
	"maillon/internal/registry"
)

// Member self-service pages: a member sees their lines, addresses,
// sessions, daily usage, CPE and the maintenance that affects them, and
// changes their lines' passwords, their contact email, their notification
// choices and the reverse names of their addresses. Every read starts from
// the session's member id and every id taken from a URL or a form is
// checked against it (memberOwns).

// MemberNotice is planned maintenance or an incident that affects one of a
// member's lines, as the status page computes it.
type MemberNotice struct {
	Title string
	// Kind is "maintenance" or "incident".
	Kind  string
	Start time.Time
	End   *time.Time
	// URL is where the status page tells more; may be empty.
	URL string
}

// MemberNotices lists the notices of a member; app wires the status page
// here (Options.MemberNotices), nil shows no such section.
type MemberNotices func(ctx context.Context, memberID int64) ([]MemberNotice, error)

func init() {
	uiRoutes = append(uiRoutes, (*Server).memberRoutes)
	memberNav = append(memberNav, navItem{Key: "member.nav.home", Path: "/member/"})
}

func (s *Server) memberRoutes() {
	s.mux.HandleFunc("GET /member/{$}", s.requireMember(s.memberHome))
	s.mux.HandleFunc("GET /member/lines/{id}", s.requireMember(s.memberLinePage))
	s.mux.HandleFunc("POST /member/lines/{id}/password", s.requireMember(s.memberLinePassword))
	s.mux.HandleFunc("POST /member/lines/{id}/reverse", s.requireMember(s.memberReverseName))
	s.mux.HandleFunc("POST /member/contact", s.requireMember(s.memberContact))
	s.mux.HandleFunc("POST /member/notifications", s.requireMember(s.memberNotifications))
}

// memberLine is one line as its member sees it.
type memberLine struct {
	registry.Subscription
	CPE     *registry.CPE
	Session *accounting.Session // the open session, if any
}

// memberUsageChart is the chart's data, written into the page as JSON for
// static/member-chart.js, and the same figures for the table. Download is
// what the NAS sent to the member (Acct-Output-Octets), upload what it
// received (Acct-Input-Octets).
type memberUsageChart struct {
	ID       string   `json:"-"`
	Days     []string `json:"days"`
	Download []uint64 `json:"download"`
	Upload   []uint64 `json:"upload"`
	// Rows are the days with traffic, newest first, for the table.
	Rows []memberUsageRow `json:"-"`
	// Total over the period.
	TotalDown, TotalUp uint64 `json:"-"`
}

type memberUsageRow struct {
	Day          string
	Download, Up uint64
}

// memberFieldError is one error of a member form, as the "errors" partial
// shows it (a link to the input, its label, the message).
type memberFieldError struct{ Field, Label, Message string }

type memberHomeData struct {
	Member  registry.Member
	Lines   []memberLine
	Usage   *memberUsageChart
	Notices []MemberNotice
	// NoticesOff: no status page is wired.
	NoticesOff bool
	Prefs      registry.MemberPrefs
	// Language is the language of their emails ("": the default).
	Language string
	// Email is the contact email as typed, after a failed change.
	Email  string
	Errors []memberFieldError
}

type memberLineData struct {
	Member   registry.Member
	Line     memberLine
	Sessions []accounting.Session
	Usage    *memberUsageChart
	Errors   []memberFieldError
	// Reverse is the name typed for Block after a failed change.
	Reverse map[string]string
}

func (s *Server) memberHome(w http.ResponseWriter, r *http.Request) {
	d, err := s.memberHomeData(r)
	if err != nil {
		s.renderFailure(w, r, err)
		return
	}
	s.render(w, r, "member_home.html", d)
}

func (s *Server) memberHomeData(r *http.Request) (*memberHomeData, error) {
	ctx := r.Context()
	sess := sessionFrom(r)
	d := &memberHomeData{Member: *sess.Member}
	d.Member.Annotate(s.now())
	subs, err := s.memberSubscriptions(ctx, sess.SubjectID)
	if err != nil {
		return nil, err
	}
	if d.Lines, err = s.memberLines(ctx, sess.SubjectID, subs); err != nil {
		return nil, err
	}
	if d.Usage, err = s.memberUsage(ctx, accounting.UsageFilter{MemberID: sess.SubjectID}, "usage-member"); err != nil {
		return nil, err
	}
	if s.opt.MemberNotices == nil {
		d.NoticesOff = true
	} else if d.Notices, err = s.opt.MemberNotices(ctx, sess.SubjectID); err != nil {
		return nil, err
	}
	if d.Prefs, err = s.opt.Registry.MemberPrefs(ctx, sess.SubjectID); err != nil {
		return nil, err
	}
	err = s.opt.Registry.Read(ctx, func(rd registry.Reader) error {
		langs, err := rd.MemberLanguages(ctx)
		d.Language = langs[sess.SubjectID]
		return err
	})
	if err != nil {
		return nil, err
	}
	d.Email = d.Member.Email
	return d, nil
}

func (s *Server) memberSubscriptions(ctx context.Context, memberID int64) ([]registry.Subscription, error) {
	var subs []registry.Subscription
	err := s.opt.Registry.Read(ctx, func(rd registry.Reader) error {
		var err error
		subs, err = rd.ListSubscriptions(ctx, registry.SubscriptionFilter{MemberID: memberID})
		return err
	})
	return subs, err
}

// memberLines adds to subs their CPE and open sessions.
func (s *Server) memberLines(ctx context.Context, memberID int64, subs []registry.Subscription) ([]memberLine, error) {
	lines := make([]memberLine, len(subs))
	err := s.opt.Registry.Read(ctx, func(rd registry.Reader) error {
		for i, sub := range subs {
			lines[i].Subscription = sub
			if sub.CPEID != nil {
				c, err := rd.GetCPE(ctx, *sub.CPEID)
				if err != nil && !errors.Is(err, registry.ErrNotFound) {
					return err
				}
				if err == nil {
					lines[i].CPE = &c
				}
			}
		}
		return nil
	})
	if err != nil || s.opt.Accounting == nil {
		return lines, err
	}
	open, err := s.opt.Accounting.ListSessions(ctx, accounting.SessionFilter{MemberID: memberID, OpenOnly: true, Limit: 50})
	if err != nil {
		return nil, err
	}
	for i := range lines {
		for j := range open {
			if open[j].SubscriptionID == lines[i].ID && open[j].MemberID == memberID {
				lines[i].Session = &open[j]
				break
			}
		}
	}
	return lines, nil
}

// memberUsage reads the last usageDays UTC days of f (a member or one of
// their lines) into a chart with one point a day, days without traffic at
// zero.
func (s *Server) memberUsage(ctx context.Context, f accounting.UsageFilter, id string) (*memberUsageChart, error) {
	if s.opt.Accounting == nil {
		return nil, nil
	}
	today := s.now().UTC().Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -(usageDays - 1))
	f.From, f.To = accounting.DayOf(first), accounting.DayOf(today)
	days, err := s.opt.Accounting.Usage(ctx, f)
	if err != nil {
		return nil, err
	}
	type sum struct{ down, up uint64 }
	byDay := map[string]sum{}
	for _, d := range days {
		if f.MemberID != 0 && d.MemberID != f.MemberID || f.SubscriptionID != 0 && d.SubscriptionID != f.SubscriptionID {
			continue // the filter is the accounting store's; this is ours
		}
		v := byDay[d.Day]
		v.down += d.OutputOctets
		v.up += d.InputOctets
		byDay[d.Day] = v
	}
	c := &memberUsageChart{ID: id}
	for day := first; !day.After(today); day = day.AddDate(0, 0, 1) {
		k := accounting.DayOf(day)
		v := byDay[k]
		c.Days = append(c.Days, k)
		c.Download = append(c.Download, v.down)
		c.Upload = append(c.Upload, v.up)
		c.TotalDown += v.down
		c.TotalUp += v.up
		if v.down > 0 || v.up > 0 {
			c.Rows = append(c.Rows, memberUsageRow{Day: k, Download: v.down, Up: v.up})
		}
	}
	slices.Reverse(c.Rows)
	return c, nil
}

// memberLineOf finds the line of the URL's {id}, if it is the session's
// member's.
func (s *Server) memberLineOf(r *http.Request) (registry.Subscription, error) {
	ref := r.PathValue("id")
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil {
		return registry.Subscription{}, registry.NotFound("line", ref)
	}
	var sub registry.Subscription
	err = s.opt.Registry.Read(r.Context(), func(rd registry.Reader) error {
		var err error
		sub, err = rd.GetSubscription(r.Context(), id)
		return err
	})
	if err != nil {
		if errors.Is(err, registry.ErrNotFound) {
			return registry.Subscription{}, registry.NotFound("line", ref)
		}
		return registry.Subscription{}, err
	}
	if err := memberOwns(sessionFrom(r), sub.MemberID, "line", ref); err != nil {
		return registry.Subscription{}, err
	}
	return sub, nil
}

func (s *Server) memberLinePage(w http.ResponseWriter, r *http.Request) {
	d, err := s.memberLineData(r)
	if err != nil {
		s.renderFailure(w, r, err)
		return
	}
	s.render(w, r, "member_line.html", d)
}

func (s *Server) memberLineData(r *http.Request) (*memberLineData, error) {
	sub, err := s.memberLineOf(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	sess := sessionFrom(r)
	lines, err := s.memberLines(ctx, sess.SubjectID, []registry.Subscription{sub})
	if err != nil {
		return nil, err
	}
	d := &memberLineData{Member: *sess.Member, Line: lines[0], Reverse: map[string]string{}}
	for _, a := range sub.Addresses {
		d.Reverse[a.Block.String()] = a.ReverseName
	}
	if s.opt.Accounting != nil {
		if d.Sessions, err = s.opt.Accounting.ListSessions(ctx, accounting.SessionFilter{SubscriptionID: sub.ID, Limit: 10}); err != nil {
			return nil, err
		}
	}
	if d.Usage, err = s.memberUsage(ctx, accounting.UsageFilter{SubscriptionID: sub.ID}, "usage-line"); err != nil {
		return nil, err
	}
	return d, nil
}

// memberLineError re-renders a line page with a form's error (field names
// the label, anchor the input the summary links to), or answers the
// failure when it is not the member's input that is wrong.
func (s *Server) memberLineError(w http.ResponseWriter, r *http.Request, err error, field, anchor string, keep func(*memberLineData)) {
	var ve *registry.ValidationError
	if !errors.As(err, &ve) {
		s.renderFailure(w, r, err)
		return
	}
	d, derr := s.memberLineData(r)
	if derr != nil {
		s.renderFailure(w, r, derr)
		return
	}
	if keep != nil {
		keep(d)
	}
	d.Errors = []memberFieldError{{Field: anchor, Label: translate(s.lang(r), "member.field."+field), Message: ve.Message}}
	s.renderStatus(w, r, http.StatusUnprocessableEntity, "member_line.html", d)
}

func (s *Server) memberLinePassword(w http.ResponseWriter, r *http.Request) {
	sub, err := s.memberLineOf(r)
	if err != nil {
		s.renderFailure(w, r, err)
		return
	}
	password, confirm := r.PostFormValue("password"), r.PostFormValue("confirm")
	if password != confirm {
		s.memberLineError(w, r, &registry.ValidationError{Field: "password", Message: translate(s.lang(r), "member.password.mismatch")}, "password", "password", nil)
		return
	}
	sess := sessionFrom(r)
	if _, err := s.opt.Registry.UpdateSubscription(r.Context(), sess.Actor(), sub.ID, registry.SubscriptionInput{Password: &password}); err != nil {
		s.memberLineError(w, r, err, "password", "password", nil)
		return
	}
	// The registry logged out whoever had logged in with the old
	// password, this browser included: it gets a new session.
	if err := s.startSession(w, r, registry.SessionMember, sess.SubjectID, "password-change", sess.Actor()); err != nil {
		s.renderFailure(w, r, err)
		return
	}
	s.setFlash(w, r, "member.password.changed")
	http.Redirect(w, r, "/member/lines/"+strconv.FormatInt(sub.ID, 10), http.StatusSeeOther)
}

// memberReverseName sets the reverse name of one of the line's addresses:
// the form names the block, which must be the line's own IPv4 /32 or
// IPv6 /64.
func (s *Server) memberReverseName(w http.ResponseWriter, r *http.Request) {
	sub, err := s.memberLineOf(r)
	if err != nil {
		s.renderFailure(w, r, err)
		return
	}
	ref := strings.TrimSpace(r.PostFormValue("block"))
	block, perr := netip.ParsePrefix(ref)
	var alloc *registry.Allocation
	anchor := ""
	for i, a := range sub.Addresses {
		if perr == nil && a.Block == block && (a.Role == registry.RoleIPv4 || a.Role == registry.RoleIPv6) {
			alloc, anchor = &sub.Addresses[i], "reverse_name-"+strconv.Itoa(i)
		}
	}
	if alloc == nil {
		s.renderFailure(w, r, registry.NotFound("address", ref))
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	if _, err := s.opt.Registry.SetReverseName(r.Context(), sessionFrom(r).Actor(), alloc.Block.Addr(), name); err != nil {
		s.memberLineError(w, r, err, "reverse_name", anchor, func(d *memberLineData) { d.Reverse[alloc.Block.String()] = name })
		return
	}
	s.setFlash(w, r, "member.reverse.saved")
	http.Redirect(w, r, "/member/lines/"+strconv.FormatInt(sub.ID, 10), http.StatusSeeOther)
}

func (s *Server) memberContact(w http.ResponseWriter, r *http.Request) {
	sess := sessionFrom(r)
	email := strings.TrimSpace(r.PostFormValue("email"))
	if _, err := s.opt.Registry.UpdateMember(r.Context(), sess.Actor(), sess.SubjectID, registry.MemberInput{Email: &email}); err != nil {
		var ve *registry.ValidationError
		if !errors.As(err, &ve) && !errors.Is(err, registry.ErrConflict) {
			s.renderFailure(w, r, err)
			return
		}
		d, derr := s.memberHomeData(r)
		if derr != nil {
			s.renderFailure(w, r, derr)
			return
		}
		msg := plain(err)
		if ve != nil {
			msg = ve.Message
		}
		if errors.Is(err, registry.ErrConflict) {
			// Not "already taken": that would tell a member who else is
			// one.
			msg = translate(s.lang(r), "member.contact.taken")
		}
		d.Email = email
		d.Errors = []memberFieldError{{Field: "email", Label: translate(s.lang(r), "member.field.email"), Message: msg}}
		s.renderStatus(w, r, http.StatusUnprocessableEntity, "member_home.html", d)
		return
	}
	s.setFlash(w, r, "member.contact.saved")
	http.Redirect(w, r, "/member/", http.StatusSeeOther)
}

func (s *Server) memberNotifications(w http.ResponseWriter, r *http.Request) {
	sess := sessionFrom(r)
	p := registry.MemberPrefs{MemberID: sess.SubjectID,
		Maintenance: r.PostFormValue("maintenance") == "true", Incidents: r.PostFormValue("incidents") == "true"}
	if _, err := s.opt.Registry.SetMemberPrefs(r.Context(), sess.Actor(), p); err != nil {
		s.renderFailure(w, r, err)
		return
	}
	if lang := r.PostFormValue("language"); r.Form.Has("language") {
		// An unknown language is a forged form: the select offers only ours.
		if err := s.opt.Registry.SetMemberLanguage(r.Context(), sess.Actor(), sess.SubjectID, lang); err != nil {
			s.renderFailure(w, r, err)
			return
		}
	}
	s.setFlash(w, r, "member.notifications.saved")
	http.Redirect(w, r, "/member/", http.StatusSeeOther)
}
