package status

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"
	"time"

	"maillon/internal/registry"
)

// HistoryDays is the length of the uptime history.
const HistoryDays = 90

// pastDays is how long a resolved incident stays on the front page.
const pastDays = 14

// snapshot is what one rendering reads from the registry (and monitoring).
type snapshot struct {
	now         time.Time
	components  []registry.Component
	incidents   []registry.Incident // started within the history, or open
	maintenance []registry.Maintenance
	// monitored are the states monitoring measures, by component.
	monitored map[int64]State
	// uptime is monitoring's daily history, by component.
	uptime map[int64][]float64

	// Indexes made once per snapshot: incidents and maintenance by
	// component, and the day boundaries of the history.
	byComponent map[int64][]*registry.Incident
	maintOf     map[int64][]*registry.Maintenance
	dayLoc      *time.Location
	dayStarts   []time.Time // HistoryDays+1 boundaries, the last one now
}

// index builds the per-component lookups.
func (snap *snapshot) index() {
	snap.byComponent = map[int64][]*registry.Incident{}
	for k := range snap.incidents {
		i := &snap.incidents[k]
		for _, id := range i.Components {
			snap.byComponent[id] = append(snap.byComponent[id], i)
		}
	}
	snap.maintOf = map[int64][]*registry.Maintenance{}
	for k := range snap.maintenance {
		m := &snap.maintenance[k]
		for _, id := range m.Components {
			snap.maintOf[id] = append(snap.maintOf[id], m)
		}
	}
}

// days returns the history's day boundaries in loc, oldest first.
func (snap *snapshot) days(loc *time.Location) []time.Time {
	if snap.dayLoc == loc && snap.dayStarts != nil {
		return snap.dayStarts
	}
	now := snap.now.In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	out := make([]time.Time, HistoryDays+1)
	for d := range HistoryDays {
		out[d] = today.AddDate(0, 0, d-HistoryDays+1)
	}
	out[HistoryDays] = snap.now
	snap.dayLoc, snap.dayStarts = loc, out
	return out
}

// snapshot reads what a rendering needs. The page shows the timelines of
// recent incidents only, and needs older ones for the history alone:
// unless full (the feeds), those come without their timelines.
func (s *Service) snapshot(ctx context.Context, full bool) (*snapshot, error) {
	now := s.reg.Now()
	snap := &snapshot{now: now, monitored: map[int64]State{}, uptime: map[int64][]float64{}}
	err := s.reg.Read(ctx, func(r registry.Reader) error {
		var err error
		if snap.components, err = r.ListComponents(ctx); err != nil {
			return err
		}
		history := now.AddDate(0, 0, -HistoryDays-1)
		if full {
			snap.incidents, err = r.ListIncidents(ctx, history)
			if err != nil {
				return err
			}
		} else {
			// Incidents resolved within pastDays started at most
			// HistoryDays before (a longer one is its own problem).
			if snap.incidents, err = r.ListIncidents(ctx, now.AddDate(0, 0, -pastDays-1)); err != nil {
				return err
			}
			heads, err := r.ListIncidentHeads(ctx, history)
			if err != nil {
				return err
			}
			have := make(map[int64]bool, len(snap.incidents))
			for _, i := range snap.incidents {
				have[i.ID] = true
			}
			for _, i := range heads {
				if !have[i.ID] {
					snap.incidents = append(snap.incidents, i)
				}
			}
			slices.SortStableFunc(snap.incidents, func(a, b registry.Incident) int { return b.StartedAt.Compare(a.StartedAt) })
		}
		// Maintenance that ended in the last days is kept for the feeds.
		snap.maintenance, err = r.ListMaintenance(ctx, now.AddDate(0, 0, -pastDays))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("status page: %w", err)
	}
	snap.index()
	if st := s.opt.States; st != nil {
		for _, c := range snap.components {
			state, ok, err := st.ComponentState(ctx, c)
			if err != nil {
				s.log.Warn("status: monitoring state", "component", c.ID, "err", err)
			} else if ok {
				snap.monitored[c.ID] = state
			}
			days, err := st.DailyUptime(ctx, c, HistoryDays)
			if err != nil {
				s.log.Warn("status: monitoring history", "component", c.ID, "err", err)
			} else if len(days) > 0 {
				snap.uptime[c.ID] = days
			}
		}
	}
	return snap, nil
}

func impactState(i registry.Impact) State {
	switch i {
	case registry.ImpactDegraded:
		return Degraded
	case registry.ImpactPartial:
		return Partial
	}
	return Major
}

// componentState combines what monitoring measures with what admins
// declared: the worse of the open incidents' impact and the checks, except
// that maintenance in progress explains a check that fails.
func (snap *snapshot) componentState(id int64) State {
	declared := Operational
	for _, i := range snap.byComponent[id] {
		if i.ResolvedAt == nil {
			declared = worst(declared, impactState(i.Impact))
		}
	}
	inMaint := false
	for _, m := range snap.maintOf[id] {
		if m.Phase(snap.now) == "in_progress" {
			inMaint = true
		}
	}
	measured, ok := snap.monitored[id]
	if inMaint {
		if declared == Operational {
			return Maintenance
		}
		return declared
	}
	if ok {
		return worst(declared, measured)
	}
	return declared
}

// history is a component's daily availability over HistoryDays, oldest
// first, in the page's time zone; -1 marks a day without data.
func (snap *snapshot) history(c registry.Component, loc *time.Location) []float64 {
	if days, ok := snap.uptime[c.ID]; ok {
		out := make([]float64, HistoryDays)
		for i := range out {
			out[i] = -1
		}
		// Align monitoring's days on the right (today last).
		for i := 0; i < len(days) && i < HistoryDays; i++ {
			out[HistoryDays-1-i] = days[len(days)-1-i]
		}
		return out
	}
	// From the incidents that made the component partially or fully down.
	var spans []span
	for _, i := range snap.byComponent[c.ID] {
		if i.Impact == registry.ImpactDegraded {
			continue
		}
		end := snap.now
		if i.ResolvedAt != nil {
			end = *i.ResolvedAt
		}
		spans = append(spans, span{i.StartedAt, end})
	}
	bounds := snap.days(loc)
	out := make([]float64, HistoryDays)
	for d := range HistoryDays {
		start, end := bounds[d], bounds[d+1]
		if !end.After(c.CreatedAt) || !end.After(start) {
			out[d] = -1
			continue
		}
		if start.Before(c.CreatedAt) {
			start = c.CreatedAt
		}
		if len(spans) == 0 {
			out[d] = 1
			continue
		}
		out[d] = 1 - downShare(start, end, spans)
	}
	return out
}

// span is a stretch of time a component was down.
type span struct{ from, to time.Time }

func downShare(from, to time.Time, spans []span) float64 {
	var cut []span
	for _, s := range spans {
		a, b := s.from, s.to
		if a.Before(from) {
			a = from
		}
		if b.After(to) {
			b = to
		}
		if b.After(a) {
			cut = append(cut, span{a, b})
		}
	}
	if len(cut) == 0 {
		return 0
	}
	slices.SortFunc(cut, func(x, y span) int { return x.from.Compare(y.from) })
	var down time.Duration
	cur := cut[0]
	for _, s := range cut[1:] {
		if s.from.After(cur.to) {
			down += cur.to.Sub(cur.from)
			cur = s
		} else if s.to.After(cur.to) {
			cur.to = s.to
		}
	}
	down += cur.to.Sub(cur.from)
	return float64(down) / float64(to.Sub(from))
}

// The page's view, ready for the template.
type pageView struct {
	L         lang
	Title     string
	Base      string // the page's path prefix, "/status"
	Overall   State
	Groups    []groupView
	Active    []incidentView
	Past      []incidentView
	Maint     []maintView
	Generated string
	Zone      string
	Detail    *incidentView // the incident page
	Form      *formView
	// Labels repeated for every component, translated once.
	Labels struct{ Uptime, NoHistory, Ago, Today string }
}

type groupView struct {
	Name       string
	Components []componentView
}

type componentView struct {
	ID          int64
	Name        string
	Description string
	State       State
	StateText   string
	Uptime      string // "99,95 %", empty without history
	Bar         template.CSS
	BadDays     []string
}

type incidentView struct {
	ID         int64
	Title      string
	Impact     registry.Impact
	State      registry.IncidentState
	StateText  string
	ImpactText string
	Resolved   bool
	// Earlier is how many timeline entries a summary leaves out.
	Earlier    int
	Started    string
	StartedISO string
	Ended      string
	Components []string
	Updates    []updateView // newest first
}

type updateView struct {
	State     registry.IncidentState
	StateText string
	Message   string
	At        string
	ISO       string
}

type maintView struct {
	ID          int64
	Title       string
	Description string
	Phase       string
	Window      string
	StartISO    string
	EndISO      string
	Components  []string
}

// Colours of the history bar; the text beside it says the same.
const (
	colourUp     = "#1a7f37"
	colourMostly = "#9a6700"
	colourDown   = "#cf222e"
	colourNone   = "#d0d7de"
)

func dayColour(f float64) string {
	switch {
	case f < 0:
		return colourNone
	case f >= 1:
		return colourUp
	case f >= 0.95:
		return colourMostly
	}
	return colourDown
}

// bar draws the history as one gradient, a stop per run of same-coloured
// days: a component that was always up costs one stop, not 90 elements.
func bar(days []float64) template.CSS {
	var b strings.Builder
	b.WriteString("background:linear-gradient(to right")
	n := float64(len(days))
	for i := 0; i < len(days); {
		j := i
		c := dayColour(days[i])
		for j < len(days) && dayColour(days[j]) == c {
			j++
		}
		fmt.Fprintf(&b, ",%s %.3f%% %.3f%%", c, float64(i)*100/n, float64(j)*100/n)
		i = j
	}
	b.WriteString(")")
	// Only constant colours and numbers: safe as CSS.
	return template.CSS(b.String())
}

func (s *Service) view(snap *snapshot, l lang) *pageView {
	loc := s.opt.Location
	v := &pageView{L: l, Title: s.opt.Title, Base: "/status", Overall: Operational,
		Generated: l.Time(snap.now.In(loc)), Zone: loc.String()}
	v.Labels.Uptime, v.Labels.NoHistory, v.Labels.Ago, v.Labels.Today = l.Label("uptime.label"), l.T("uptime.none"), l.T("uptime.ago"), l.T("uptime.today")
	stateText := map[State]string{}
	for _, st := range []State{Operational, Maintenance, Degraded, Partial, Major} {
		stateText[st] = l.T("state." + string(st))
	}
	names := map[int64]string{}
	for _, c := range snap.components {
		names[c.ID] = c.Name
	}
	groupAt := map[string]int{}
	for _, c := range snap.components {
		cv := componentView{ID: c.ID, Name: c.Name, Description: c.Description, State: snap.componentState(c.ID)}
		cv.StateText = stateText[cv.State]
		v.Overall = worst(v.Overall, cv.State)
		days := snap.history(c, loc)
		var sum, n float64
		today := snap.now.In(loc)
		for i, f := range days {
			if f < 0 {
				continue
			}
			sum, n = sum+f, n+1
			if f < 1 {
				day := today.AddDate(0, 0, i-HistoryDays+1)
				cv.BadDays = append(cv.BadDays, l.LabelOf(l.Date(day))+" "+l.Percent(f))
			}
		}
		if n > 0 {
			cv.Uptime = l.Percent(math.Floor(sum/n*10000) / 10000)
		}
		slices.Reverse(cv.BadDays) // most recent first
		cv.Bar = bar(days)
		g := c.Group
		if g == "" {
			g = c.Name
		}
		at, ok := groupAt[g]
		if !ok {
			at = len(v.Groups)
			groupAt[g] = at
			v.Groups = append(v.Groups, groupView{Name: g})
		}
		v.Groups[at].Components = append(v.Groups[at].Components, cv)
	}
	for _, i := range snap.incidents {
		iv := s.incidentView(i, l, names)
		if i.ResolvedAt == nil {
			v.Active = append(v.Active, iv)
		} else if snap.now.Sub(*i.ResolvedAt) < pastDays*24*time.Hour {
			// A summary: the last entry; the incident's page has it all.
			if len(iv.Updates) > 1 {
				iv.Earlier, iv.Updates = len(iv.Updates)-1, iv.Updates[:1]
			}
			v.Past = append(v.Past, iv)
		}
	}
	for _, m := range snap.maintenance {
		phase := m.Phase(snap.now)
		if phase == "planned" || phase == "in_progress" {
			v.Maint = append(v.Maint, s.maintView(m, l, names, phase))
		}
	}
	return v
}

func (s *Service) incidentView(i registry.Incident, l lang, names map[int64]string) incidentView {
	loc := s.opt.Location
	iv := incidentView{ID: i.ID, Title: i.Title, Impact: i.Impact, State: i.State, Resolved: i.ResolvedAt != nil,
		StateText: l.T("incident." + string(i.State)), ImpactText: l.T("impact." + string(i.Impact)),
		Started: l.Time(i.StartedAt.In(loc)), StartedISO: i.StartedAt.Format(time.RFC3339)}
	if i.ResolvedAt != nil {
		iv.Ended = l.Time(i.ResolvedAt.In(loc))
	}
	for _, id := range i.Components {
		iv.Components = append(iv.Components, names[id])
	}
	for k := len(i.Updates) - 1; k >= 0; k-- {
		u := i.Updates[k]
		iv.Updates = append(iv.Updates, updateView{State: u.State, StateText: l.T("incident." + string(u.State)), Message: u.Message,
			At: l.Time(u.At.In(loc)), ISO: u.At.Format(time.RFC3339)})
	}
	return iv
}

func (s *Service) maintView(m registry.Maintenance, l lang, names map[int64]string, phase string) maintView {
	loc := s.opt.Location
	mv := maintView{ID: m.ID, Title: m.Title, Description: m.Description, Phase: phase,
		Window:   l.T("maint.window", l.Time(m.StartsAt.In(loc)), l.Time(m.EndsAt.In(loc))),
		StartISO: m.StartsAt.Format(time.RFC3339), EndISO: m.EndsAt.Format(time.RFC3339)}
	for _, id := range m.Components {
		mv.Components = append(mv.Components, names[id])
	}
	return mv
}
