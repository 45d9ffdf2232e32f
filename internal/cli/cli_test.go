package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAPI stands in for the daemon's JSON API: it answers the routes a
// test gives it and records every request, so a test checks both what the
// CLI sent and what it printed.
type fakeAPI struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	routes map[string]reply // "METHOD /escaped/path"
	log    []string         // "METHOD /escaped/path?query body"
	bodies map[string]string
}

type reply struct {
	status int
	body   string
}

func ok(body string) reply { return reply{200, body} }

func newFakeAPI(t *testing.T, routes map[string]reply) *fakeAPI {
	f := &fakeAPI{t: t, routes: routes, bodies: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		key := r.Method + " " + r.URL.EscapedPath()
		f.mu.Lock()
		line := key
		if r.URL.RawQuery != "" {
			line += "?" + r.URL.RawQuery
		}
		if len(b) > 0 {
			line += " " + string(b)
		}
		f.log = append(f.log, line)
		f.bodies[key] = string(b)
		rep, found := f.routes[key]
		f.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer mln_test" {
			rep = reply{401, `{"error": "invalid or expired token"}`}
		} else if !found {
			rep = reply{404, fmt.Sprintf(`{"error": "fake API: no route %s"}`, key)}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rep.status)
		io.WriteString(w, rep.body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

func (f *fakeAPI) body(key string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bodies[key]
}

// result is one run of the command line.
type result struct {
	code           int
	stdout, stderr string
}

var testNow = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

type runOpt struct {
	stdin    string
	terminal bool
	env      map[string]string
}

func (f *fakeAPI) run(args ...string) result { return f.runWith(runOpt{}, args...) }

func (f *fakeAPI) runWith(o runOpt, args ...string) result {
	env := map[string]string{"MAILLON_URL": f.srv.URL, "MAILLON_TOKEN": "mln_test"}
	if o.env != nil {
		env = o.env
	}
	return runCLI(o, env, args...)
}

func runCLI(o runOpt, env map[string]string, args ...string) result {
	var out, errw strings.Builder
	s := &session{
		stdin:      strings.NewReader(o.stdin),
		stdout:     &out,
		stderr:     &errw,
		getenv:     func(k string) string { return env[k] },
		isTerminal: func(any) bool { return o.terminal },
		now:        func() time.Time { return testNow },
	}
	code := run(context.Background(), args, s)
	return result{code, out.String(), errw.String()}
}

// failsWith checks a run failed with status code and exactly one line.
func (r result) failsWith(t *testing.T, code int, line string) {
	t.Helper()
	if r.code != code || r.stderr != "maillon: "+line+"\n" {
		t.Errorf("got status %d, stderr %q\nwant status %d, stderr %q", r.code, r.stderr, code, "maillon: "+line+"\n")
	}
}

const (
	ada = `{"id": 5, "name": "Ada Lovelace", "email": "ada@example.org", "site_id": 3, "room": "B204", "state": "active",
		"periods": [{"start": "2025-01-01", "end": "2025-12-31"}, {"start": "2026-01-01", "end": "2026-12-31"}],
		"created_at": "2026-06-01T10:00:00Z", "updated_at": "2026-06-01T10:00:00Z"}`
	site3   = `{"id": 3, "name": "Résidence Nord", "kind": "residence"}`
	adaLine = `{"id": 11, "member_id": 5, "kind": "ppp", "login": "ada@NEUTRINET", "state": "active", "password_set": true,
		"addresses": [
			{"id": 1, "prefix_id": 2, "block": "198.51.100.7/32", "role": "ipv4"},
			{"id": 2, "prefix_id": 3, "block": "2001:db8:100:7::/64", "role": "ipv6"},
			{"id": 3, "prefix_id": 4, "block": "2001:db8:1000:700::/56", "role": "delegated"},
			{"id": 4, "prefix_id": 2, "block": "198.51.100.3/32", "role": "ipv4", "released_at": "2026-01-01T00:00:00Z"}],
		"created_at": "2026-06-01T10:00:00Z", "updated_at": "2026-06-01T10:00:00Z"}`
)

func TestMemberAddMapsFlagsAndShowsTheMember(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{
		"GET /api/v1/sites/R%C3%A9sidence%20Nord": ok(site3),
		"GET /api/v1/sites/3":                     ok(site3),
		"POST /api/v1/members":                    {201, ada},
		"GET /api/v1/subscriptions":               ok(`{"items": [` + adaLine + `]}`),
		"GET /api/v1/members/5/notifications":     ok(`{"member_id": 5, "maintenance": false, "incidents": true}`),
	})
	r := api.run("member", "add", "--name", "Ada Lovelace", "--email", "ada@example.org", "--site", "Résidence Nord",
		"--room", "B204", "--period", "2025-01-01:2025-12-31", "--period", "2026-01-01:2026-12-31")
	if r.code != 0 {
		t.Fatalf("status %d: %s", r.code, r.stderr)
	}
	want := `{"name":"Ada Lovelace","email":"ada@example.org","site_id":3,"room":"B204","periods":[{"start":"2025-01-01","end":"2025-12-31"},{"start":"2026-01-01","end":"2026-12-31"}]}`
	if got := api.body("POST /api/v1/members"); got != want {
		t.Errorf("POST body\n got %s\nwant %s", got, want)
	}
	wantOut := `id:         5
name:       Ada Lovelace
email:      ada@example.org
site:       3 (Résidence Nord)
room:       B204
state:      active
membership: current (until 2026-12-31)
periods:    2025-01-01 to 2025-12-31, 2026-01-01 to 2026-12-31
emails:     maintenance no (opted out), incidents yes
created:    2026-06-01 10:00:00 UTC
updated:    2026-06-01 10:00:00 UTC
subscriptions:
  ID  MEMBER  LOGIN          KIND  STATE   IPV4          IPV6 /64             DELEGATED
  11  5       ada@NEUTRINET  ppp   active  198.51.100.7  2001:db8:100:7::/64  2001:db8:1000:700::/56
`
	if r.stdout != wantOut {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, wantOut)
	}
	if reqs := api.requests(); !slices.Contains(reqs, "GET /api/v1/subscriptions?member_id=5") {
		t.Errorf("requests %q: no subscription listing for the member", reqs)
	}
}

func TestEditSendsOnlyTheFlagsGiven(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{
		"PATCH /api/v1/members/ada@example.org": ok(ada),
		"GET /api/v1/sites/3":                   ok(site3),
		"GET /api/v1/subscriptions":             ok(`{"items": []}`),
		"GET /api/v1/members/5/notifications":   ok(`{"member_id": 5, "maintenance": true, "incidents": true}`),
	})
	r := api.run("member", "edit", "ada@example.org", "--phone", "", "--state", "suspended")
	if r.code != 0 {
		t.Fatalf("status %d: %s", r.code, r.stderr)
	}
	// An empty --phone is sent: it clears the phone, which nil would not.
	if got := api.body("PATCH /api/v1/members/ada@example.org"); got != `{"phone":"","state":"suspended"}` {
		t.Errorf("PATCH body %s", got)
	}
	if !strings.Contains(r.stdout, "subscriptions: none\n") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
	// No flag: nothing to send, and a usage error rather than an empty PATCH.
	api.run("member", "edit", "ada@example.org").failsWith(t, 2,
		"nothing to change: give the fields to set as flags (see maillon member edit --help)")
}

// Suspending a line prints what each open session's NAS answered to its
// Disconnect-Request, so that a timeout does not pass for a success.
func TestSuspendPrintsTheDisconnects(t *testing.T) {
	suspended := strings.Replace(adaLine, `"state": "active"`, `"state": "suspended"`, 1)
	api := newFakeAPI(t, map[string]reply{
		"PATCH /api/v1/subscriptions/ada@NEUTRINET": ok(strings.TrimSuffix(suspended, "}") + `, "disconnects": [
			{"nas": "bras1", "session_id": "s1", "login": "ada@NEUTRINET", "result": "ack"},
			{"nas": "bras2", "session_id": "s2", "login": "ada@NEUTRINET", "result": "timeout"}]}`),
		"GET /api/v1/members/5": ok(ada),
	})
	r := api.run("subscription", "edit", "ada@NEUTRINET", "--state", "suspended")
	if r.code != 0 {
		t.Fatalf("status %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"disconnect: session s1 on bras1: ack (ended)\n",
		"disconnect: session s2 on bras2: timeout (no answer from the NAS: the session may still be open)\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	api.mu.Lock()
	api.routes["PATCH /api/v1/subscriptions/ada@NEUTRINET"] = ok(strings.TrimSuffix(suspended, "}") + `, "disconnects": []}`)
	api.mu.Unlock()
	if r := api.run("subscription", "edit", "ada@NEUTRINET", "--state", "suspended"); !strings.Contains(r.stdout, "disconnect: no open session\n") {
		t.Errorf("stdout:\n%s", r.stdout)
	}
}

// Components, incidents and maintenance name the components, sites, NAS
// and switches they refer to, rather than printing their ids.
func TestStatusObjectsAreShownByName(t *testing.T) {
	fleming := `{"id": 4, "name": "Internet — Fleming", "group": "Internet", "targets": [{"kind": "site", "id": 3}, {"kind": "host", "id": 9}]}`
	vpn := `{"id": 5, "name": "VPN", "group": "VPN", "targets": [{"kind": "nas", "id": 2}, {"kind": "service", "service": "vpn"}]}`
	incident := `{"id": 2, "title": "Fleming offline", "impact": "major", "state": "investigating", "started_at": "2026-06-15T10:00:00Z", "components": [4, 5]}`
	api := newFakeAPI(t, map[string]reply{
		"GET /api/v1/components":   ok(`{"items": [` + fleming + `, ` + vpn + `]}`),
		"GET /api/v1/components/4": ok(fleming),
		"GET /api/v1/sites":        ok(`{"items": [` + site3 + `]}`),
		"GET /api/v1/hosts":        ok(`{"items": [{"id": 9, "name": "sw-fleming-1"}]}`),
		"GET /api/v1/nas":          ok(`{"items": [{"id": 2, "name": "demo-openvpn"}]}`),
		"GET /api/v1/incidents":    ok(`{"items": [` + incident + `]}`),
		"GET /api/v1/incidents/2":  ok(incident),
	})
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"component", "list"}, "site:Résidence Nord, host:sw-fleming-1"},
		{[]string{"component", "list"}, "nas:demo-openvpn, service:vpn"},
		{[]string{"component", "show", "4"}, "targets:  site:Résidence Nord, host:sw-fleming-1\n"},
		{[]string{"incident", "list"}, "Internet — Fleming, VPN"},
		{[]string{"incident", "show", "2"}, "components: Internet — Fleming, VPN\n"},
	} {
		r := api.run(c.args...)
		if r.code != 0 || !strings.Contains(r.stdout, c.want) {
			t.Errorf("%q: status %d, stdout lacks %q:\n%s%s", c.args, r.code, c.want, r.stdout, r.stderr)
		}
	}
}

// prefix show prints the reverse DNS template and whether the names get
// forward records, which prefix add and edit set.
func TestPrefixShowsItsDNSSettings(t *testing.T) {
	pool := `{"id": 2, "cidr": "198.51.100.0/25", "purpose": "subscriber", "block_bits": 32,
		"ptr_template": "{login}.dsl.example.net", "dns_forward": true}`
	api := newFakeAPI(t, map[string]reply{"GET /api/v1/prefixes/2": ok(pool)})
	r := api.run("prefix", "show", "2")
	for _, want := range []string{"ptr template: {login}.dsl.example.net\n", "dns forward:  yes\n"} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("status %d, stdout lacks %q:\n%s%s", r.code, want, r.stdout, r.stderr)
		}
	}
}

// A record without a TTL of its own shows the TTL it is served with, its
// zone's, rather than 0.
func TestRecordShowsTheTTLItIsServedWith(t *testing.T) {
	rec := `{"id": 7, "zone_id": 1, "name": "shop", "type": "A", "data": "198.51.100.196"}`
	api := newFakeAPI(t, map[string]reply{
		"POST /api/v1/records":  {201, rec},
		"GET /api/v1/zones/1":   ok(`{"id": 1, "origin": "example.net."}`),
		"GET /api/v1/zones":     ok(`{"items": [{"id": 1, "origin": "example.net."}]}`),
		"GET /api/v1/dns/zones": ok(`{"items": [{"origin": "example.net.", "serial": 3, "ttl": 300}]}`),
		"GET /api/v1/records":   ok(`{"items": [` + rec + `]}`),
	})
	r := api.run("record", "add", "--zone", "1", "--name", "shop", "--type", "A", "--data", "198.51.100.196")
	if r.code != 0 || !strings.Contains(r.stdout, "ttl:  default (300)\n") {
		t.Errorf("record add: status %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := api.run("record", "list"); r.code != 0 || !strings.Contains(r.stdout, "default (300)") || !strings.Contains(r.stdout, "7   example.net.  shop") {
		t.Errorf("record list: status %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Without DNS (no /api/v1/dns/zones), the zone's default, unnamed.
	api.mu.Lock()
	delete(api.routes, "GET /api/v1/dns/zones")
	api.mu.Unlock()
	if r := api.run("record", "list"); r.code != 0 || !strings.Contains(r.stdout, "default (the zone's)") {
		t.Errorf("record list without DNS: status %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestSubscriptionAddResolvesTheMemberAndGeneratesAPassword(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{
		"GET /api/v1/members/aa:bb:cc:dd:ee:ff": ok(ada),
		"GET /api/v1/members/5":                 ok(ada),
		"POST /api/v1/subscriptions":            {201, adaLine},
	})
	r := api.run("subscription", "add", "--member", "aa:bb:cc:dd:ee:ff", "--kind", "ppp", "--login", "ada@NEUTRINET",
		"--generate-password", "--vlan", "42")
	if r.code != 0 {
		t.Fatalf("status %d: %s", r.code, r.stderr)
	}
	var sent struct {
		MemberID int64  `json:"member_id"`
		Kind     string `json:"kind"`
		Login    string `json:"login"`
		Password string `json:"password"`
		VLAN     int    `json:"vlan"`
	}
	if err := json.Unmarshal([]byte(api.body("POST /api/v1/subscriptions")), &sent); err != nil {
		t.Fatal(err)
	}
	if sent.MemberID != 5 || sent.Kind != "ppp" || sent.Login != "ada@NEUTRINET" || sent.VLAN != 42 || len(sent.Password) < 20 {
		t.Errorf("sent %+v", sent)
	}
	for _, want := range []string{
		"member:    5 (Ada Lovelace <ada@example.org>)\n",
		"password:  set (never shown)\n",
		"ipv4:      198.51.100.7\n", // the released .3 is not shown
		"ipv6:      2001:db8:100:7::/64\n",
		"delegated: 2001:db8:1000:700::/56\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.HasSuffix(r.stdout, "generated password (shown this once): "+sent.Password+"\n") {
		t.Errorf("the generated password is not the last line:\n%s", r.stdout)
	}

	// With --json, stdout is the API's JSON alone and the password goes to stderr.
	r = api.run("--json", "subscription", "add", "--member", "aa:bb:cc:dd:ee:ff", "--kind", "ppp", "--login", "x@R", "--generate-password")
	var obj map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &obj); err != nil || obj["login"] != "ada@NEUTRINET" {
		t.Errorf("--json stdout %q: %v", r.stdout, err)
	}
	if !strings.HasPrefix(r.stderr, "generated password (shown this once): ") {
		t.Errorf("--json stderr %q", r.stderr)
	}

	api.run("subscription", "add", "--password", "x", "--generate-password").failsWith(t, 1,
		"give --password or --generate-password, not both")
}

func TestPasswordFromStdin(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{"PATCH /api/v1/subscriptions/ada@NEUTRINET": ok(adaLine),
		"GET /api/v1/members/5": ok(ada)})
	r := api.runWith(runOpt{stdin: "s3cret-from-pass\n"}, "subscription", "edit", "ada@NEUTRINET", "--password", "-")
	if r.code != 0 {
		t.Fatalf("status %d: %s", r.code, r.stderr)
	}
	if got := api.body("PATCH /api/v1/subscriptions/ada@NEUTRINET"); got != `{"password":"s3cret-from-pass"}` {
		t.Errorf("PATCH body %s", got)
	}
	if strings.Contains(r.stdout, "s3cret") {
		t.Errorf("the password was printed:\n%s", r.stdout)
	}
	api.runWith(runOpt{stdin: ""}, "subscription", "edit", "ada@NEUTRINET", "--password", "-").failsWith(t, 1, "--password: stdin is empty")
}

// sample is a valid flag value for each kind of field.
var sample = map[kind]string{
	asText: "x", asNumber: "42", asBool: "true", asRef: "somewhere", asPeriods: "2026-01-01:",
	asMoney: "12,50", asSecret: "long-enough-secret", asLines: "Framed-MTU = 1492",
}

// TestEveryFlagFitsItsInput sets every flag of every entity's add command
// and checks that the body decodes into the registry's Input with the key
// the flag is meant for: a renamed Input field breaks this test, not users.
func TestEveryFlagFitsItsInput(t *testing.T) {
	routes := map[string]reply{}
	for _, c := range []string{"members", "sites", "cpes", "ports", "hosts", "zones", "nas"} {
		routes["GET /api/v1/"+c+"/somewhere"] = ok(`{"id": 7}`)
	}
	api := newFakeAPI(t, routes)
	s := &session{ctx: context.Background(), getenv: func(k string) string {
		return map[string]string{"MAILLON_URL": api.srv.URL, "MAILLON_TOKEN": "mln_test"}[k]
	}}
	for _, e := range entities {
		cmd := e.addCmd(s)
		fs := cmd.Flags()
		for _, f := range e.fields {
			v := sample[f.kind]
			if len(f.choices) > 0 {
				v = f.choices[len(f.choices)-1]
			}
			if err := fs.Set(f.flag, v); err != nil {
				t.Fatalf("%s --%s %s: %v", e.name, f.flag, v, err)
			}
		}
		body, _, err := s.inputBody(fs, e.fields, e.newInput)
		if err != nil {
			t.Errorf("%s: %v", e.name, err)
			continue
		}
		var got map[string]any
		json.Unmarshal(body, &got)
		for _, f := range e.fields {
			if _, ok := got[f.key]; !ok {
				t.Errorf("%s --%s: key %q not in the body %s", e.name, f.flag, f.key, body)
			}
			if f.kind == asRef && got[f.key] != float64(7) {
				t.Errorf("%s --%s: %s = %v, want the resolved id 7", e.name, f.flag, f.key, got[f.key])
			}
		}
	}
}

func TestBadValuesAreOneLineAndSendNothing(t *testing.T) {
	api := newFakeAPI(t, nil)
	for _, tc := range []struct {
		args []string
		line string
	}{
		{[]string{"subscription", "add", "--kind", "pp"}, `--kind: "pp" is not one of ppp, vpn, room-port, vm`},
		{[]string{"member", "add", "--period", "2026-01-01:2026-13-01"},
			`--period: "2026-01-01:2026-13-01": end "2026-13-01" is not a date (want START:END, e.g. 2026-01-01:2026-12-31)`},
		{[]string{"member", "add", "--period", "2026-12-31:2026-01-01"}, `--period: "2026-12-31:2026-01-01" ends before it starts`},
		{[]string{"member", "edit", "1", "--state", "gone"}, `--state: "gone" is not one of active, suspended, archived`},
		{[]string{"port", "add", "--vlan", "ten"}, `--vlan: "ten" is not a whole number`},
		{[]string{"host", "add", "--monthly-cost", "12.505"}, `--monthly-cost: "12.505" has more than two decimals`},
		{[]string{"admin", "add", "--role", "admin,boss"}, `--role: "boss" is not one of admin, technical-officer, read-only`},
		{[]string{"member", "list", "--state", "expired"}, `--state: "expired" is not one of active, suspended, archived`},
		{[]string{"audit", "--entity", "members"}, `--entity: "members" is not one of admin, agent_token, alert, allocation, certificate, check, component, cpe, host, incident, journal_entry, login_link, maintenance, member, member_prefs, nas, port, prefix, record, revoked_key, roster_campaign, roster_request, silence, site, subscriber, subscription, token, zone`},
		{[]string{"audit", "--id", "ada@example.org"}, `--id "ada@example.org": not an id; give --entity to look it up`},
		{[]string{"admin", "token", "revoke", "abc"}, `token id "abc" is not a number (token create prints it)`},
	} {
		api.run(tc.args...).failsWith(t, 1, tc.line)
	}
	if reqs := api.requests(); len(reqs) != 0 {
		t.Errorf("bad values reached the API: %q", reqs)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	api := newFakeAPI(t, nil)
	for _, tc := range []struct {
		args []string
		line string
	}{
		{[]string{"member", "add", "--colour", "red"}, "unknown flag: --colour (see maillon member add --help)"},
		{[]string{"member", "show"}, "maillon member show takes one member (id, email, login, IP or MAC) (got 0 arguments)"},
		{[]string{"member", "show", "a", "b"}, "maillon member show takes one member (id, email, login, IP or MAC) (got 2 arguments)"},
		{[]string{"member", "frob"}, `unknown command "frob" for "maillon member" (see maillon member --help)`},
		{[]string{"frob"}, `unknown command "frob" for "maillon" (see maillon --help)`},
		{[]string{"import", "lines.csv"}, "cannot tell what lines.csv holds: say members or subscriptions (maillon import members lines.csv)"},
		{[]string{"--socket", "/s", "--url", "http://x", "member", "list"}, "give --socket or --url, not both"},
	} {
		want := 2
		if tc.args[0] == "--socket" {
			want = 1
		}
		api.run(tc.args...).failsWith(t, want, tc.line)
	}
}

func TestAPIErrorsAreOneLine(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{
		"POST /api/v1/members":                {400, `{"error": "email: \"ada@\" is not an email address", "field": "email"}`},
		"GET /api/v1/members/ada@example.org": ok(ada),
		"DELETE /api/v1/members/5":            {409, `{"error": "member 5 (Ada Lovelace) still has active subscription ada@NEUTRINET: close it first: in use"}`},
		"GET /api/v1/members/nobody":          {404, `{"error": "member nobody: not found"}`},
		"GET /api/v1/prefixes":                {500, "internal error\nwith a trace"},
	})
	api.run("member", "add", "--name", "Ada", "--email", "ada@").failsWith(t, 1, `email: "ada@" is not an email address`)
	api.run("member", "remove", "ada@example.org").failsWith(t, 1,
		"member 5 (Ada Lovelace) still has active subscription ada@NEUTRINET: close it first: in use")
	api.run("subscription", "add", "--member", "nobody").failsWith(t, 1, "--member: member nobody: not found")
	api.run("prefix", "list").failsWith(t, 1, "500 Internal Server Error: internal error")
	api.runWith(runOpt{env: map[string]string{"MAILLON_URL": api.srv.URL}}, "member", "show", "1").failsWith(t, 1,
		"an API token is required: use --token or MAILLON_TOKEN")

	sock := filepath.Join(t.TempDir(), "maillon.sock")
	runCLI(runOpt{}, map[string]string{"MAILLON_SOCKET": sock}, "member", "list").failsWith(t, 1,
		"cannot reach maillon at "+sock+`: is "maillon serve" (or "maillon demo") running?`)
}

func TestRefsAreSentAsTyped(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{
		"GET /api/v1/subscriptions/2001:db8:100:7::1": ok(adaLine),
		"GET /api/v1/subscriptions/AABB.CCDD.EEFF":    ok(adaLine),
		"GET /api/v1/members/5":                       ok(ada),
	})
	// The daemon knows every notation; the CLI passes the ref through.
	for _, ref := range []string{"2001:db8:100:7::1", "AABB.CCDD.EEFF"} {
		if r := api.run("subscription", "show", ref); r.code != 0 || !strings.Contains(r.stdout, "login:     ada@NEUTRINET\n") {
			t.Errorf("show %s: %d %s%s", ref, r.code, r.stdout, r.stderr)
		}
	}
}

func TestRemoveNamesWhatItRemoved(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{
		"GET /api/v1/subscriptions/198.51.100.7": ok(adaLine),
		"DELETE /api/v1/subscriptions/11":        {204, ""},
	})
	r := api.run("subscription", "rm", "198.51.100.7")
	if r.code != 0 || r.stdout != "removed subscription 11 (ada@NEUTRINET)\n" {
		t.Errorf("got %d %q %q", r.code, r.stdout, r.stderr)
	}
}

func TestListTables(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{
		"GET /api/v1/members": ok(`{"items": [` + ada + `,
			{"id": 6, "name": "Bob", "email": "bob@example.org", "state": "suspended", "periods": [{"start": "2024-01-01", "end": "2024-12-31"}]},
			{"id": 7, "name": "Cy", "email": "cy@example.org", "state": "active", "periods": [{"start": "2026-01-01"}]},
			{"id": 8, "name": "Di", "email": "di@example.org", "state": "active", "periods": []}]}`),
		"GET /api/v1/prefixes": ok(`{"items": [
			{"id": 1, "cidr": "198.51.100.0/24", "purpose": "aggregate", "block_bits": 24, "used": 0, "capacity": 0},
			{"id": 2, "cidr": "198.51.100.0/25", "purpose": "subscriber", "block_bits": 32, "kind": "ppp", "used": 12, "capacity": 126, "description": "lines"}]}`),
		"GET /api/v1/hosts": ok(`{"items": [
			{"id": 1, "name": "pve1", "role": "server", "site_id": 2, "address": "192.0.2.5", "cpus": 16, "ram_mb": 65536, "provider": "Hetzner", "monthly_cost": "54.90"},
			{"id": 2, "name": "sw1", "role": "switch", "monthly_cost": "0.00"},
			{"id": 3, "name": "vps", "role": "server", "monthly_cost": "5.10"}]}`),
		"GET /api/v1/sites": ok(`{"items": [{"id": 2, "name": "Fleming"}]}`),
	})
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"member", "list", "--search", "a", "--limit", "10"}, `ID  NAME          EMAIL            STATE      MEMBERSHIP  END
5   Ada Lovelace  ada@example.org  active     current     2026-12-31
6   Bob           bob@example.org  suspended  expired     2024-12-31
7   Cy            cy@example.org   active     current     open-ended
8   Di            di@example.org   active     none        -
`},
		{[]string{"prefix", "ls"}, `ID  CIDR             PURPOSE     BLOCKS  KIND  USED    DESCRIPTION
1   198.51.100.0/24  aggregate   -       -     -       -
2   198.51.100.0/25  subscriber  /32     ppp   12/126  lines
`},
		{[]string{"host", "list"}, `ID  NAME  ROLE    SITE     ADDRESS    CPUS  RAM       DISK  PROVIDER  MONTHLY COST
1   pve1  server  Fleming  192.0.2.5  16    65536 MB  -     Hetzner   54.90
2   sw1   switch  -        -          -     -         -     -         0.00
3   vps   server  -        -          -     -         -     -         5.10
total monthly cost: 60.00 (3 hosts)
`},
	} {
		r := api.run(tc.args...)
		if r.code != 0 || r.stdout != tc.want {
			t.Errorf("%v: status %d %s\n got:\n%s\nwant:\n%s", tc.args, r.code, r.stderr, r.stdout, tc.want)
		}
	}
	if reqs := api.requests(); reqs[0] != "GET /api/v1/members?limit=10&search=a" {
		t.Errorf("list query: %q", reqs[0])
	}
}

func TestJSONIsTheAPIsJSON(t *testing.T) {
	// An unknown field stays: --json shows what the daemon said, not what
	// this CLI's types know of it.
	api := newFakeAPI(t, map[string]reply{
		"GET /api/v1/sites":   ok(`{"items": [{"id": 3, "name": "Nord", "kind": "residence", "future_field": [1, 2]}]}`),
		"GET /api/v1/sites/3": ok(`{"id": 3, "name": "Nord", "kind": "residence", "future_field": [1, 2]}`),
	})
	norm := func(s string) string { return regexp.MustCompile(`\s+`).ReplaceAllString(s, "") }
	if r := api.run("--json", "site", "list"); norm(r.stdout) != `{"items":[{"id":3,"name":"Nord","kind":"residence","future_field":[1,2]}]}` {
		t.Errorf("list --json: %s", r.stdout)
	}
	if r := api.run("site", "show", "3", "--json"); norm(r.stdout) != `{"id":3,"name":"Nord","kind":"residence","future_field":[1,2]}` {
		t.Errorf("show --json: %s", r.stdout)
	}
}

func TestImport(t *testing.T) {
	file := filepath.Join(t.TempDir(), "members.csv")
	if err := os.WriteFile(file, []byte("name,email\nAda,ada@example.org\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	progress := `{"total": 3}` + "\n" + `{"done": 2, "total": 3}` + "\n" + `{"done": 3, "total": 3}` + "\n"
	api := newFakeAPI(t, map[string]reply{
		"POST /api/v1/import/members":       ok(progress + `{"ok": true, "created": 3}` + "\n"),
		"POST /api/v1/import/subscriptions": ok(progress + `{"error": "line 12: email: \"x\" is not an email address", "line": 12}` + "\n"),
	})

	// Not a terminal: only the result.
	r := api.run("import", file)
	if r.code != 0 || r.stdout != "imported 3 members from "+file+"\n" || r.stderr != "" {
		t.Errorf("import: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if got := api.body("POST /api/v1/import/members"); got != "name,email\nAda,ada@example.org\n" {
		t.Errorf("sent %q", got)
	}
	// A terminal: a bar, erased before the result.
	r = api.runWith(runOpt{terminal: true}, "import", "members", file)
	if r.code != 0 || !strings.Contains(r.stderr, "\rimporting members ["+strings.Repeat("=", 20)) || !strings.HasSuffix(r.stderr, "\r\033[K") {
		t.Errorf("import on a terminal: %d %q", r.code, r.stderr)
	}
	// Kind from --kind; the error names the file and the line.
	lineErr := file + `: line 12: email: "x" is not an email address`
	api.run("import", "--kind", "subscriptions", file).failsWith(t, 1, lineErr)
	// On a terminal the bar is erased so the error stands on its own line.
	if r := api.runWith(runOpt{terminal: true}, "import", "--kind", "subscriptions", file); r.code != 1 ||
		!strings.HasSuffix(r.stderr, "\r\033[Kmaillon: "+lineErr+"\n") {
		t.Errorf("import error on a terminal: %d %q", r.code, r.stderr)
	}
	r = api.runWith(runOpt{stdin: "login\n"}, "import", "subscription", "-")
	if r.code != 1 || api.body("POST /api/v1/import/subscriptions") != "login\n" {
		t.Errorf("import from stdin: %d %q", r.code, r.stderr)
	}
	api.run("import", "--kind", "members", "subscriptions", file).failsWith(t, 2, `--kind members contradicts "subscriptions"`)
	missing := filepath.Join(t.TempDir(), "members-none.csv")
	api.run("import", missing).failsWith(t, 1, "open "+missing+": no such file or directory")
}

func TestProgressBar(t *testing.T) {
	var b strings.Builder
	bar := &progressBar{w: &b, label: "importing members"}
	bar.update(5000, 20000)
	bar.update(20000, 20000)
	bar.clear()
	want := "\rimporting members [=======                       ]  25% 5000/20000" +
		"\rimporting members [==============================] 100% 20000/20000" + "\r\033[K"
	if b.String() != want {
		t.Errorf("bar:\n%q\nwant\n%q", b.String(), want)
	}
}

func TestTokenAndAudit(t *testing.T) {
	api := newFakeAPI(t, map[string]reply{
		"POST /api/v1/admins/grace@example.org/tokens": {201, `{"token": "mln_secret", "info": {"id": 4, "admin_id": 2, "name": "laptop", "expires_at": "2026-09-13T12:00:00Z"}}`},
		"GET /api/v1/members/ada@example.org":          ok(ada),
		"GET /api/v1/audit": ok(`{"items": [
			{"id": 9, "at": "2026-06-15T11:00:00Z", "actor": "local:root", "action": "update", "entity": "member", "entity_id": 5,
			 "before": {"id": 5, "phone": "1", "state": "active", "updated_at": "a"}, "after": {"id": 5, "state": "suspended", "updated_at": "b"}},
			{"id": 8, "at": "2026-06-15T10:00:00Z", "actor": "grace", "action": "create", "entity": "member", "entity_id": 5, "after": {"id": 5}}]}`),
	})
	r := api.run("admin", "token", "create", "grace@example.org", "--name", "laptop", "--ttl", "90d")
	if r.code != 0 || r.stdout != "mln_secret\n" || !strings.Contains(r.stderr, `token 4 "laptop" for admin 2, expires 2026-09-13 12:00:00 UTC`) {
		t.Errorf("token create: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if got := api.body("POST /api/v1/admins/grace@example.org/tokens"); got != `{"name":"laptop","ttl":"90d"}` {
		t.Errorf("token request %s", got)
	}
	r = api.run("audit", "--entity", "member", "--id", "ada@example.org", "--limit", "2")
	want := `AT                       ACTOR       ACTION  ENTITY  ID  CHANGED
2026-06-15 11:00:00 UTC  local:root  update  member  5   phone, state
2026-06-15 10:00:00 UTC  grace       create  member  5   -
`
	if r.code != 0 || r.stdout != want {
		t.Errorf("audit: %d %s\n%s\nwant\n%s", r.code, r.stderr, r.stdout, want)
	}
	if reqs := api.requests(); reqs[len(reqs)-1] != "GET /api/v1/audit?entity=member&entity_id=5&limit=2" {
		t.Errorf("audit query: %q", reqs[len(reqs)-1])
	}
}
