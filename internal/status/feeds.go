package status

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"maillon/internal/registry"
)

func isNotFound(err error) bool { return errors.Is(err, registry.ErrNotFound) }
func isInvalid(err error) bool  { return errors.Is(err, registry.ErrInvalid) }

// feedItem is an incident or a maintenance, as both feeds list them.
type feedItem struct {
	uid       string // stable across renderings
	kind      string // "incident" or "maintenance"
	title     string
	text      string
	link      string
	start     time.Time
	end       time.Time // zero while an incident is open
	published time.Time
	updated   time.Time
	cancelled bool
	sequence  int
}

func (s *Service) host() string {
	if u, err := url.Parse(s.base()); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "maillon"
}

// feedItems lists incidents of the history window and maintenance not
// long over, most recently updated first.
func (s *Service) feedItems(snap *snapshot, l lang) []feedItem {
	loc := s.opt.Location
	names := map[int64]string{}
	for _, c := range snap.components {
		names[c.ID] = c.Name
	}
	compNames := func(ids []int64) string {
		var out []string
		for _, id := range ids {
			out = append(out, names[id])
		}
		return strings.Join(out, ", ")
	}
	var items []feedItem
	for _, i := range snap.incidents {
		var text strings.Builder
		fmt.Fprintf(&text, "%s %s\n", l.Label("affects"), compNames(i.Components))
		for k := len(i.Updates) - 1; k >= 0; k-- {
			u := i.Updates[k]
			fmt.Fprintf(&text, "\n%s — %s\n%s\n", l.T("incident."+string(u.State)), l.Time(u.At.In(loc)), u.Message)
		}
		it := feedItem{uid: fmt.Sprintf("incident-%d@%s", i.ID, s.host()), kind: "incident",
			title: l.Label("mail.incident") + " " + i.Title + " (" + l.T("incident."+string(i.State)) + ")",
			text:  text.String(), link: fmt.Sprintf("%s/incidents/%d", s.base(), i.ID),
			start: i.StartedAt, published: i.StartedAt, updated: i.StartedAt, sequence: max(len(i.Updates)-1, 0)}
		if len(i.Updates) > 0 {
			it.updated = i.Updates[len(i.Updates)-1].At
		}
		if i.ResolvedAt != nil {
			it.end = *i.ResolvedAt
		}
		items = append(items, it)
	}
	for _, m := range snap.maintenance {
		text := l.T("maint.window", l.Time(m.StartsAt.In(loc)), l.Time(m.EndsAt.In(loc))) + "\n" + l.Label("affects") + " " + compNames(m.Components)
		if m.Description != "" {
			text += "\n\n" + m.Description
		}
		it := feedItem{uid: fmt.Sprintf("maintenance-%d@%s", m.ID, s.host()), kind: "maintenance",
			title: l.Label("mail.maint.planned") + " " + m.Title, text: text, link: s.base() + "#m-" + strconv.FormatInt(m.ID, 10),
			start: m.StartsAt, end: m.EndsAt, published: m.CreatedAt, updated: m.CreatedAt}
		if m.CancelledAt != nil {
			it.title = l.Label("mail.maint.cancelled") + " " + m.Title
			it.updated, it.cancelled, it.sequence = *m.CancelledAt, true, 1
		}
		items = append(items, it)
	}
	slices.SortStableFunc(items, func(a, b feedItem) int { return b.updated.Compare(a.updated) })
	return items
}

type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Lang    string      `xml:"xml:lang,attr"`
	Title   string      `xml:"title"`
	ID      string      `xml:"id"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomPerson  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomEntry struct {
	ID        string       `xml:"id"`
	Title     string       `xml:"title"`
	Updated   string       `xml:"updated"`
	Published string       `xml:"published"`
	Link      atomLink     `xml:"link"`
	Category  atomCategory `xml:"category"`
	Content   atomText     `xml:"content"`
}

type atomCategory struct {
	Term string `xml:"term,attr"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

// Atom renders the Atom feed (RFC 4287) of incidents and maintenance.
func (s *Service) Atom(ctx context.Context, language string) ([]byte, error) {
	l, _ := parseLang(language)
	snap, err := s.snapshot(ctx, true)
	if err != nil {
		return nil, err
	}
	items := s.feedItems(snap, l)
	self := s.base() + "/feed.atom"
	f := atomFeed{Lang: l.Code(), Title: s.opt.Title + " — " + l.T("page.title"), ID: self,
		Links:  []atomLink{{Rel: "self", Type: "application/atom+xml", Href: self}, {Rel: "alternate", Type: "text/html", Href: s.base()}},
		Author: atomPerson{Name: s.opt.Title}, Updated: snap.now.Format(time.RFC3339)}
	if len(items) > 0 {
		f.Updated = items[0].updated.Format(time.RFC3339)
	}
	for _, it := range items {
		f.Entries = append(f.Entries, atomEntry{ID: "urn:maillon:" + it.uid, Title: it.title,
			Updated: it.updated.Format(time.RFC3339), Published: it.published.Format(time.RFC3339),
			Link: atomLink{Rel: "alternate", Type: "text/html", Href: it.link}, Category: atomCategory{Term: it.kind},
			Content: atomText{Type: "text", Body: it.text}})
	}
	out, err := xml.MarshalIndent(f, "", " ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), out...), nil
}

func (s *Service) serveAtom(w http.ResponseWriter, r *http.Request) {
	l := requestLang(r, s.defaultLang())
	s.rendered(w, r, "atom:"+l.Code(), "application/atom+xml; charset=utf-8", func(ctx context.Context) ([]byte, error) {
		return s.Atom(ctx, l.Code())
	})
}

// icsText escapes a TEXT value (RFC 5545 3.3.11).
func icsText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	r := strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`, "\r", `\n`)
	return r.Replace(s)
}

func icsTime(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// icsFold writes one content line, folded at 75 octets without cutting a
// UTF-8 sequence (RFC 5545 3.1), CRLF-terminated.
func icsFold(b *strings.Builder, line string) {
	limit := 75
	for len(line) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		b.WriteString(line[:cut])
		b.WriteString("\r\n ")
		line = line[cut:]
		limit = 74 // the leading space counts
	}
	b.WriteString(line)
	b.WriteString("\r\n")
}

// Calendar renders the iCalendar feed (RFC 5545) of incidents and
// maintenance: one VEVENT each, whose UID does not change when it is
// updated (SEQUENCE does).
func (s *Service) Calendar(ctx context.Context, language string) ([]byte, error) {
	l, _ := parseLang(language)
	snap, err := s.snapshot(ctx, true)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, line := range []string{"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//maillon//status page//" + strings.ToUpper(l.Code()),
		"CALSCALE:GREGORIAN", "METHOD:PUBLISH", "X-WR-CALNAME:" + icsText(s.opt.Title+" — "+l.T("page.title")),
		"X-WR-TIMEZONE:" + s.opt.Location.String()} {
		icsFold(&b, line)
	}
	for _, it := range s.feedItems(snap, l) {
		end := it.end
		if end.IsZero() {
			// An open incident lasts until now, as far as anyone knows.
			end = snap.now.Truncate(time.Minute).Add(time.Minute)
		}
		status := "CONFIRMED"
		if it.cancelled {
			status = "CANCELLED"
		}
		for _, line := range []string{"BEGIN:VEVENT", "UID:" + it.uid, "DTSTAMP:" + icsTime(it.updated), "DTSTART:" + icsTime(it.start),
			"DTEND:" + icsTime(end), "SEQUENCE:" + strconv.Itoa(it.sequence), "SUMMARY:" + icsText(it.title),
			"DESCRIPTION:" + icsText(it.text), "URL:" + it.link, "CATEGORIES:" + strings.ToUpper(it.kind),
			"STATUS:" + status, "TRANSP:TRANSPARENT", "END:VEVENT"} {
			icsFold(&b, line)
		}
	}
	icsFold(&b, "END:VCALENDAR")
	return []byte(b.String()), nil
}

func (s *Service) serveICS(w http.ResponseWriter, r *http.Request) {
	l := requestLang(r, s.defaultLang())
	s.rendered(w, r, "ics:"+l.Code(), "text/calendar; charset=utf-8", func(ctx context.Context) ([]byte, error) {
		return s.Calendar(ctx, l.Code())
	})
}
