package status_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"maillon/internal/registry"
	"maillon/internal/status"
	"maillon/internal/testenv"
)

// A Saturday morning in Paris.
var start = time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)

// scene is the page the tests look at: an incident resolved three days
// ago (twelve hours down), an open incident on Fleming, maintenance under
// way on the VPN and maintenance planned for tomorrow night.
func scene(t *testing.T) (*fixture, *isp) {
	f := newFixture(t, start.AddDate(0, 0, -100))
	n := f.isp()
	f.clock.now = start.AddDate(0, 0, -3).Add(-12 * time.Hour)
	old := must[registry.Incident](t)(f.reg.OpenIncident(f.ctx, f.admin, registry.IncidentInput{Title: ptr("Curie uplink cut"),
		Impact: ptr(registry.ImpactMajor), Components: &[]int64{n.curieNet.ID}, Message: "The fibre to Curie is cut."}))
	f.clock.Advance(12 * time.Hour)
	must[registry.Incident](t)(f.reg.UpdateIncident(f.ctx, f.admin, old.ID, registry.IncidentInput{State: ptr(registry.IncidentResolved), Message: "Spliced again."}))

	f.clock.now = start
	must[registry.Incident](t)(f.reg.OpenIncident(f.ctx, f.admin, registry.IncidentInput{Title: ptr("Fleming offline"),
		Impact: ptr(registry.ImpactMajor), Components: &[]int64{n.internet.ID}, Message: "The Fleming switch does not answer; we are on our way."}))
	must[registry.Maintenance](t)(f.reg.PlanMaintenance(f.ctx, f.admin, registry.MaintenanceInput{Title: "VPN server upgrade",
		Components: []int64{n.vpn.ID}, StartsAt: start.Add(-30 * time.Minute), EndsAt: start.Add(time.Hour)}))
	must[registry.Maintenance](t)(f.reg.PlanMaintenance(f.ctx, f.admin, registry.MaintenanceInput{Title: "Switch firmware, Curie",
		Description: "The switches restart; allow ten minutes.", Components: []int64{n.curieNet.ID},
		StartsAt: time.Date(2026, 11, 22, 21, 0, 0, 0, time.UTC), EndsAt: time.Date(2026, 11, 22, 23, 0, 0, 0, time.UTC)}))
	f.clock.Advance(5 * time.Minute)
	return f, n
}

func get(t *testing.T, url string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// componentItem is the <li> of a component on the page.
func componentItem(t *testing.T, page, name string) string {
	t.Helper()
	_, after, ok := strings.Cut(page, `<span class="name">`+name+`</span>`)
	if !ok {
		t.Fatalf("component %q not on the page", name)
	}
	item, _, _ := strings.Cut(after, `<span class="name">`)
	return item
}

func contains(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func TestPageInBothLanguages(t *testing.T) {
	f, _ := scene(t)
	srv := f.server()

	code, h, fr := get(t, srv.URL+"/status", "Accept-Language", "fr-BE,fr;q=0.9,en;q=0.5")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(h.Get("Vary"), "Accept-Language") {
		t.Fatalf("GET /status: %d %v", code, h)
	}
	contains(t, "French page", fr, `<html lang="fr">`, `<main id="main">`, `<h1>Aurore — État des services</h1>`,
		`<a href="?lang=en" hreflang="en" lang="en">English</a>`, `role="status">Panne majeure</p>`,
		"Incidents en cours", "Fleming offline", "The Fleming switch does not answer; we are on our way.", "Recherche en cours",
		"Maintenances prévues et en cours", "VPN server upgrade", "En cours", "Switch firmware, Curie", "Prévue",
		"Du 22 nov. 2026 à 22:00 au 23 nov. 2026 à 00:00", "The switches restart; allow ten minutes.",
		"Incidents des 14 derniers jours", "Curie uplink cut", "Spliced again.", "Résolu")
	// Every state is written out, not only coloured.
	contains(t, "Fleming component", componentItem(t, fr, "Internet — Fleming residence"), `<span class="badge major_outage">Panne majeure</span>`)
	contains(t, "VPN component", componentItem(t, fr, "VPN"), `<span class="badge maintenance">En maintenance</span>`)
	curie := componentItem(t, fr, "Internet — Curie residence")
	contains(t, "Curie component", curie, `<span class="badge operational">Opérationnel</span>`,
		// Twelve hours down across two days (21:00 to 09:00, Paris
		// time), over 90 days.
		"Disponibilité sur 90 jours\u00a0: <strong>99,44 %</strong>", "Jours avec une interruption\u00a0: 2",
		"<li>18 nov. 2026\u00a0: 62,50 %</li>", "<li>17 nov. 2026\u00a0: 87,50 %</li>")
	if strings.Contains(fr, "<script") {
		t.Error("the page has a script")
	}

	// ?lang= wins over Accept-Language, and the page links back.
	_, _, en := get(t, srv.URL+"/status?lang=en", "Accept-Language", "fr")
	contains(t, "English page", en, `<html lang="en">`, `<h1>Aurore — Service status</h1>`, `hreflang="fr" lang="fr">Français</a>`,
		`role="status">Major outage</p>`, "Current incidents", "Investigating", "Planned and current maintenance", "In progress",
		"From 22 Nov 2026, 22:00 to 23 Nov 2026, 00:00", `<span class="badge maintenance">Under maintenance</span>`,
		"Availability over 90 days: <strong>99.44%</strong>", "Incidents of the last 14 days")
	_, _, en2 := get(t, srv.URL+"/status", "Accept-Language", "de-CH, en;q=0.8, fr;q=0.3")
	if !strings.Contains(en2, `<html lang="en">`) {
		t.Error("Accept-Language preferring English gave French")
	}

	// An incident's own page shows its whole timeline.
	code, _, inc := get(t, srv.URL+"/status/incidents/1?lang=en")
	if code != 200 {
		t.Fatalf("incident page: %d", code)
	}
	contains(t, "incident page", inc, "Curie uplink cut", "Resolved", "Spliced again.", "Investigating", "The fibre to Curie is cut.")
	if code, _, _ := get(t, srv.URL+"/status/incidents/99"); code != 404 {
		t.Errorf("unknown incident: %d", code)
	}

	// Resolving the incident and ending the maintenance bring the page
	// back to green.
	must[registry.Incident](t)(f.reg.UpdateIncident(f.ctx, f.admin, 2, registry.IncidentInput{State: ptr(registry.IncidentResolved), Message: "Back."}))
	f.clock.Advance(2 * time.Hour)
	_, _, later := get(t, srv.URL+"/status?lang=en")
	contains(t, "later page", later, `role="status">All services are operational</p>`, "No current incident.")
}

// fakeStates is monitoring as the status page sees it.
type fakeStates struct {
	state  map[int64]status.State
	uptime map[int64][]float64
}

func (s fakeStates) ComponentState(_ context.Context, c registry.Component) (status.State, bool, error) {
	id := c.ID
	st, ok := s.state[id]
	return st, ok, nil
}

func (s fakeStates) DailyUptime(_ context.Context, c registry.Component, days int) ([]float64, error) {
	id := c.ID
	return s.uptime[id], nil
}

func TestPageWithMonitoring(t *testing.T) {
	f, n := scene(t)
	days := make([]float64, 90)
	for i := range days {
		days[i] = 1
	}
	days[89] = 0.5
	f.opt.States = fakeStates{state: map[int64]status.State{n.curieNet.ID: status.Degraded, n.vpn.ID: status.Major},
		uptime: map[int64][]float64{n.curieNet.ID: days}}
	f.restart()
	page := string(must[[]byte](t)(f.svc.Render(f.ctx, "en")))
	curie := componentItem(t, page, "Internet — Curie residence")
	contains(t, "monitored Curie", curie, `<span class="badge degraded">Degraded</span>`, "<strong>99.44%</strong>", "Days with an interruption: 1", "21 Nov 2026: 50.00%")
	// A check failing during maintenance is the maintenance.
	contains(t, "VPN under maintenance", componentItem(t, page, "VPN"), `<span class="badge maintenance">Under maintenance</span>`)
}

func TestMaintenanceWindowsForMonitoring(t *testing.T) {
	f, n := scene(t)
	active := must[[]registry.Target](t)(f.svc.ActiveMaintenance(f.ctx, f.clock.Now()))
	if len(active) != 1 || active[0] != (registry.Target{Kind: registry.TargetNAS, ID: n.vpnNAS.ID}) {
		t.Fatalf("active now = %+v", active)
	}
	tomorrow := time.Date(2026, 11, 22, 22, 0, 0, 0, time.UTC)
	active = must[[]registry.Target](t)(f.svc.ActiveMaintenance(f.ctx, tomorrow))
	if len(active) != 1 || active[0] != (registry.Target{Kind: registry.TargetSite, ID: n.curie.ID}) {
		t.Fatalf("active tomorrow = %+v", active)
	}
	if got := must[[]registry.Target](t)(f.svc.ActiveMaintenance(f.ctx, tomorrow.Add(2*time.Hour))); len(got) != 0 {
		t.Fatalf("active after = %+v", got)
	}
}

func TestAtomFeed(t *testing.T) {
	f, _ := scene(t)
	srv := f.server()
	code, h, body := get(t, srv.URL+"/status/feed.atom?lang=en")
	if code != 200 || h.Get("Content-Type") != "application/atom+xml; charset=utf-8" {
		t.Fatalf("feed: %d %v", code, h)
	}
	var feed struct {
		XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
		Title   string   `xml:"title"`
		ID      string   `xml:"id"`
		Updated string   `xml:"updated"`
		Entries []struct {
			ID      string `xml:"id"`
			Title   string `xml:"title"`
			Updated string `xml:"updated"`
			Link    struct {
				Href string `xml:"href,attr"`
			} `xml:"link"`
			Content string `xml:"content"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal([]byte(body), &feed); err != nil {
		t.Fatalf("feed does not parse: %v\n%s", err, body)
	}
	if feed.Title != "Aurore — Service status" || feed.ID != "http://status.test/status/feed.atom" || len(feed.Entries) != 4 {
		t.Fatalf("feed = %+v", feed)
	}
	byTitle := map[string]int{}
	for i, e := range feed.Entries {
		byTitle[e.Title] = i
		if _, err := time.Parse(time.RFC3339, e.Updated); err != nil {
			t.Errorf("entry %q updated %q: %v", e.Title, e.Updated, err)
		}
	}
	i, ok := byTitle["Incident: Fleming offline (Investigating)"]
	if !ok {
		t.Fatalf("entries = %v", byTitle)
	}
	e := feed.Entries[i]
	if e.ID != "urn:maillon:incident-2@status.test" || e.Link.Href != "http://status.test/status/incidents/2" ||
		!strings.Contains(e.Content, "The Fleming switch does not answer") || !strings.Contains(e.Content, "Affects: Internet — Fleming residence") {
		t.Fatalf("entry = %+v", e)
	}
	if _, ok := byTitle["Planned maintenance: Switch firmware, Curie"]; !ok {
		t.Fatalf("no maintenance entry: %v", byTitle)
	}
}

// parseICS reads a calendar back with python3-icalendar, a real parser,
// and returns its events as the parser understood them.
func parseICS(t *testing.T, ics []byte) []map[string]string {
	t.Helper()
	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		python = testenv.LookPath(t, "python3")
	}
	if err := exec.Command(python, "-c", "import icalendar").Run(); err != nil {
		testenv.Unavailable(t, "python3-icalendar (Debian package) is not installed for %s", python)
	}
	file := filepath.Join(t.TempDir(), "status.ics")
	os.WriteFile(file, ics, 0o644)
	script := `
import icalendar, json, sys
cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())
assert cal['VERSION'] == '2.0', cal['VERSION']
out = []
for ev in cal.walk('VEVENT'):
    out.append({k: (ev.decoded(k).isoformat() if k in ('DTSTART', 'DTEND', 'DTSTAMP') else str(ev[k]))
                for k in ('UID', 'SUMMARY', 'DESCRIPTION', 'DTSTART', 'DTEND', 'DTSTAMP', 'STATUS', 'SEQUENCE', 'URL')})
print(json.dumps(out))
`
	out, err := exec.Command(python, "-c", script, file).CombinedOutput()
	if err != nil {
		t.Fatalf("icalendar refused the calendar: %v\n%s\n%s", err, out, ics)
	}
	var events []map[string]string
	if err := json.Unmarshal(out, &events); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return events
}

func TestCalendarFeed(t *testing.T) {
	f, n := scene(t)
	// A title and text that need escaping and folding: commas,
	// semicolons, a backslash, a new line, and accents across the fold.
	long := "Coupure électrique; bâtiment B, C et D \\ le réseau électrique sera coupé pour des travaux sur le tableau général"
	m := must[registry.Maintenance](t)(f.reg.PlanMaintenance(f.ctx, f.admin, registry.MaintenanceInput{Title: long,
		Description: "Ligne 1\nLigne 2, avec virgule; et point-virgule", Components: []int64{n.internet.ID},
		StartsAt: time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC), EndsAt: time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)}))
	f.clock.Advance(time.Minute)
	must[registry.Maintenance](t)(f.reg.CancelMaintenance(f.ctx, f.admin, m.ID))

	srv := f.server()
	code, h, body := get(t, srv.URL+"/status/calendar.ics?lang=fr")
	if code != 200 || h.Get("Content-Type") != "text/calendar; charset=utf-8" {
		t.Fatalf("calendar: %d %v", code, h)
	}
	for i, line := range strings.Split(strings.TrimSuffix(body, "\r\n"), "\r\n") {
		if len(line) > 75 {
			t.Errorf("line %d is %d octets: %q", i+1, len(line), line)
		}
		if strings.Contains(line, "\n") {
			t.Errorf("line %d ends with a bare LF", i+1)
		}
	}
	events := parseICS(t, []byte(body))
	byUID := map[string]map[string]string{}
	for _, e := range events {
		byUID[e["UID"]] = e
	}
	if len(events) != 5 {
		t.Fatalf("events = %v", events)
	}
	c := byUID["maintenance-"+id(m.ID)+"@status.test"]
	if c == nil || c["SUMMARY"] != "Maintenance annulée\u00a0: "+long || c["STATUS"] != "CANCELLED" || c["SEQUENCE"] != "1" ||
		c["DTSTART"] != "2026-11-25T07:00:00+00:00" || c["DTEND"] != "2026-11-25T09:30:00+00:00" ||
		!strings.Contains(c["DESCRIPTION"], "Ligne 1\nLigne 2, avec virgule; et point-virgule") {
		t.Fatalf("cancelled maintenance = %v", c)
	}
	open := byUID["incident-2@status.test"]
	if open == nil || open["SUMMARY"] != "Incident\u00a0: Fleming offline (Recherche en cours)" || open["DTSTART"] != "2026-11-21T08:00:00+00:00" ||
		open["STATUS"] != "CONFIRMED" || open["URL"] != "http://status.test/status/incidents/2" {
		t.Fatalf("open incident = %v", open)
	}
	// The UID stays when the incident moves on; SEQUENCE and DTSTAMP do not.
	must[registry.Incident](t)(f.reg.UpdateIncident(f.ctx, f.admin, 2, registry.IncidentInput{State: ptr(registry.IncidentIdentified), Message: "A power supply died."}))
	again := parseICS(t, must[[]byte](t)(f.svc.Calendar(f.ctx, "fr")))
	for _, e := range again {
		if e["UID"] == "incident-2@status.test" {
			if e["SEQUENCE"] != "1" || e["DTSTAMP"] == open["DTSTAMP"] || !strings.Contains(e["DESCRIPTION"], "A power supply died.") {
				t.Fatalf("updated incident = %v (was %v)", e, open)
			}
			return
		}
	}
	t.Fatal("the incident's UID changed")
}

func TestComponentsJSON(t *testing.T) {
	f, _ := scene(t)
	srv := f.server()
	_, _, body := get(t, srv.URL+"/status/components.json")
	var out struct {
		State      string `json:"state"`
		Components []struct {
			Name  string `json:"name"`
			State string `json:"state"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	if out.State != "major_outage" || len(out.Components) != 3 || out.Components[0].State != "major_outage" {
		t.Fatalf("json = %s", body)
	}
	if !regexp.MustCompile(`"uptime_90d":0\.99`).MatchString(body) {
		t.Errorf("no uptime for Curie: %s", body)
	}
}

// switchable is monitoring whose verdict on every component the test sets.
type switchable struct {
	mu    sync.Mutex
	state status.State
}

func (s *switchable) set(st status.State) { s.mu.Lock(); s.state = st; s.mu.Unlock() }
func (s *switchable) ComponentState(context.Context, registry.Component) (status.State, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state, true, nil
}
func (s *switchable) DailyUptime(context.Context, registry.Component, int) ([]float64, error) {
	return nil, nil
}

// eventually polls until the page has want.
func eventually(t *testing.T, url, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, _, page := get(t, url); strings.Contains(page, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page never showed %q", want)
		}
	}
}

// TestPageCacheFollowsChanges: while the daemon runs, pages come from a
// cache; a change to incidents renders them again at once, and what the
// registry does not announce (monitoring) shows once the entry is older
// than ten seconds of the registry's clock.
func TestPageCacheFollowsChanges(t *testing.T) {
	f, n := scene(t)
	mon := &switchable{state: status.Operational}
	f.opt.States = mon
	f.restart()
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan error, 1)
	go func() { done <- f.svc.Run(ctx) }()
	defer func() { cancel(); <-done }()
	srv := f.server()
	url := srv.URL + "/status?lang=en"
	curie := func() string { _, _, p := get(t, url); return componentItem(t, p, "Internet — Curie residence") }
	// Once Run enabled the cache, a change of monitoring does not show
	// until the entry ages.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mon.set(status.Operational)
		curie()
		mon.set(status.Degraded)
		if strings.Contains(curie(), "Operational") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the page never came from the cache")
		}
	}
	f.clock.Advance(11 * time.Second)
	eventually(t, url, `<span class="badge degraded">Degraded</span>`)

	must[registry.Incident](t)(f.reg.OpenIncident(f.ctx, f.admin, registry.IncidentInput{Title: ptr("VPN refuses logins"),
		Components: &[]int64{n.vpn.ID}, Message: "Certificates expired."}))
	eventually(t, url, "VPN refuses logins")
}
