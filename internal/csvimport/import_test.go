package csvimport_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"maillon/internal/csvimport"
	"maillon/internal/registry"
	"maillon/internal/secret"
	"maillon/internal/store"
	"maillon/internal/testenv"
)

var admin = registry.Actor{Name: "import-test"}

func ptr[T any](v T) *T { return &v }

type fixture struct {
	t   *testing.T
	ctx context.Context
	reg *registry.Service
}

// engines runs a test on SQLite and on PostgreSQL (skipped on a machine
// without the test cluster, a failure in CI): a failed statement aborts a
// PostgreSQL transaction, SQLite's does not, and all-or-nothing must hold
// on both.
var engines = []struct {
	name string
	url  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "maillon.db") }},
	{"postgres", func(t *testing.T) string { return testenv.FreshPostgresDB(t) }},
}

func forEachEngine(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { fn(t, newFixture(t, e.url(t))) })
	}
}

// newFixture opens a fresh registry with two sites, pools and one existing
// member with a line (for conflicts with what is already there).
func newFixture(t *testing.T, url string) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, _ := secret.ParseKey(secret.NewKey())
	box, _ := secret.New(key)
	now := time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)
	reg := registry.New(st, box, registry.Options{Now: func() time.Time { return now }})
	err = reg.Batch(ctx, admin, func(b *registry.Batch) error {
		for _, s := range []string{"Résidence Les Rives", "PoP Caldarium"} {
			if _, err := b.CreateSite(registry.SiteInput{Name: ptr(s)}); err != nil {
				return err
			}
		}
		for _, p := range []struct {
			cidr    string
			purpose registry.Purpose
		}{
			{"198.51.100.0/24", registry.PurposeSubscriber},
			{"2001:db8:100::/40", registry.PurposeSubscriber},
			{"2001:db8:1000::/36", registry.PurposeDelegated},
		} {
			if _, err := b.CreatePrefix(registry.PrefixInput{CIDR: ptr(p.cidr), Purpose: ptr(p.purpose)}); err != nil {
				return err
			}
		}
		start, _ := registry.ParseDate("2025-01-01")
		m, err := b.CreateMember(registry.MemberInput{Name: ptr("Existing Member"), Email: ptr("existing@example.org"), Periods: &[]registry.Period{{Start: start}}})
		if err != nil {
			return err
		}
		_, err = b.CreateSubscription(registry.SubscriptionInput{MemberID: &m.ID, Kind: ptr(registry.KindPPP), Login: ptr("pexist@DEMO"), Password: ptr("existing-password")})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, ctx: ctx, reg: reg}
}

func (f *fixture) counts() (members, subs int) {
	f.t.Helper()
	err := f.reg.Read(f.ctx, func(r registry.Reader) error {
		n, err := r.CountMembers(f.ctx)
		if err != nil {
			return err
		}
		ss, err := r.ListSubscriptions(f.ctx, registry.SubscriptionFilter{})
		members, subs = int(n), len(ss)
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return members, subs
}

func (f *fixture) members(csv string) (int, error) {
	return csvimport.Members(f.ctx, f.reg, admin, strings.NewReader(csv), nil)
}

const goodMembers = `name,email,phone,address,site,room,state,membership_start,membership_end,notes,login,password,kind,upstream_ref,mac
Camille Martin,camille.martin@example.org,+32 470 12 34 56,"12 rue de la Colline, 1000 Bruxelles",,,active,2025-09-01,,,p1f9bd1@DEMO,camille-password,,VX-FTTH-8100466,BC:24:11:D5:FE:0E
Lou Peeters,lou.peeters@Example.NET,,,résidence les rives,A101,active,2025-09-01,2026-08-31,étudiante,rives-a101,,room-port,,aabb.cc00.0101
Sacha Dubois,sacha@example.com,06 12 34 56 78,"5 avenue Louise, Ixelles",,,suspended,01/09/2024,31/08/2025,"note with ""quotes"", and a comma",,,,,
Noé Claes,noe.claes@example.org,,,,,archived,2023-01-01,2023-12-31,,,,,,
`

func TestMembersGoodFile(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		var calls [][2]int
		n, err := csvimport.Members(f.ctx, f.reg, admin, strings.NewReader(goodMembers), func(done, total int) {
			calls = append(calls, [2]int{done, total})
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != 4 {
			t.Fatalf("created %d, want 4", n)
		}
		if len(calls) == 0 || calls[len(calls)-1] != [2]int{4, 4} {
			t.Errorf("progress calls %v, want to end with [4 4]", calls)
		}
		if m, s := f.counts(); m != 5 || s != 3 {
			t.Errorf("%d members and %d subscriptions, want 5 and 3", m, s)
		}
		err = f.reg.Read(f.ctx, func(r registry.Reader) error {
			lou, err := r.GetMemberByEmail(f.ctx, "lou.peeters@example.net")
			if err != nil {
				return err
			}
			if lou.SiteID == nil || lou.Room != "A101" || lou.Notes != "étudiante" || len(lou.Periods) != 1 || lou.Periods[0].End.String() != "2026-08-31" {
				t.Errorf("Lou = %+v", lou)
			}
			sacha, err := r.GetMemberByEmail(f.ctx, "sacha@example.com")
			if err != nil {
				return err
			}
			if sacha.State != registry.MemberSuspended || sacha.Periods[0].Start.String() != "2024-09-01" || sacha.Notes != `note with "quotes", and a comma` {
				t.Errorf("Sacha = %+v", sacha)
			}
			line, err := r.GetSubscriptionByLogin(f.ctx, "p1f9bd1@DEMO")
			if err != nil {
				return err
			}
			if line.Kind != registry.KindPPP || line.UpstreamRef != "VX-FTTH-8100466" || line.MAC != "bc:24:11:d5:fe:0e" || len(line.Addresses) != 3 || !line.PasswordSet {
				t.Errorf("line = %+v", line)
			}
			room, err := r.GetSubscriptionByLogin(f.ctx, "rives-a101")
			if err != nil {
				return err
			}
			if room.Kind != registry.KindRoomPort || room.MemberID != lou.ID || room.MAC != "aa:bb:cc:00:01:01" || len(room.Addresses) != 0 {
				t.Errorf("room port = %+v", room)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestMembersBOMSemicolonCRLF(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		csv := "\ufeffNom;Email\r\n"
		if _, err := f.members(csv); err == nil || !strings.Contains(err.Error(), `unknown column "Nom"`) {
			t.Errorf("French header: %v", err)
		}
		csv = "\ufeffName;E-mail;Membership Start;Login;Password\r\n" +
			"Élise Lefèvre;elise@example.org;01/10/2025;p61b8df@DEMO;elise-password\r\n" +
			"\r\n" + // a blank line is skipped
			"Jonas Maes;jonas@example.org;2025-10-02;;\r\n"
		csv = strings.Replace(csv, "E-mail", "Email", 1)
		n, err := f.members(csv)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Fatalf("created %d, want 2", n)
		}
		err = f.reg.Read(f.ctx, func(r registry.Reader) error {
			m, err := r.GetMemberByEmail(f.ctx, "elise@example.org")
			if err != nil {
				return err
			}
			if m.Name != "Élise Lefèvre" || m.Periods[0].Start.String() != "2025-10-01" {
				t.Errorf("member = %+v", m)
			}
			s, err := r.GetSubscriptionByLogin(f.ctx, "p61b8df@DEMO")
			if err != nil {
				return err
			}
			if p, err := f.reg.Password(&s); err != nil || p != "elise-password" {
				t.Errorf("password %q, %v (the CR must not stick to it)", p, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestMembersBadLines: each kind of bad line gives a *LineError naming the
// line and the problem, and the registry is left as it was.
func TestMembersBadLines(t *testing.T) {
	const header = "name,email,phone,site,state,membership_start,membership_end,login,password,kind,mac\n"
	const ok = "Good Member,good@example.org,,,,2025-01-01,,pgood@DEMO,good-password,,\n"
	cases := []struct {
		name string
		csv  string
		line int
		want string
	}{
		{"invalid email", header + ok + "Bad,x,,,,,,,,,\n", 3, `line 3: email: "x" is not an email address`},
		{"email without domain", header + "Bad,x@localhost,,,,,,,,,\n", 2, `email: "x@localhost" is not an email address (no domain)`},
		{"missing name", header + ",a@example.org,,,,,,,,,\n", 2, "line 2: name: is required"},
		{"bad phone", header + "Bad,b@example.org,call me,,,,,,,,\n", 2, `line 2: phone: "call me" is not a phone number`},
		{"bad state", header + "Bad,b@example.org,,,gone,,,,,,\n", 2, `line 2: state: "gone" is not one of active, suspended, archived`},
		{"unknown site", header + "Bad,b@example.org,,Atlantis,,,,,,,\n", 2, `line 2: site: no site named "Atlantis" (known: "PoP Caldarium", "Résidence Les Rives")`},
		{"bad date", header + "Bad,b@example.org,,,,2025-13-01,,,,,\n", 2, `line 2: membership_start: "2025-13-01" is not a date`},
		{"end before start", header + "Bad,b@example.org,,,,2025-06-01,2025-05-31,,,,\n", 2, "line 2: membership_end: 2025-05-31 is before membership_start 2025-06-01"},
		{"end without start", header + "Bad,b@example.org,,,,,2025-05-31,,,,\n", 2, "line 2: membership_start: is required when membership_end is given"},
		{"line fields without login", header + "Bad,b@example.org,,,,,,,secret-password,,\n", 2, "line 2: login: is required when password is given"},
		{"bad login", header + "Bad,b@example.org,,,,,,@DEMO,secret-password,,\n", 2, `line 2: login: "@DEMO" is not user or user@REALM`},
		{"ppp without password", header + ok + ok2("Bad", "b", "pbad@DEMO", "", ""), 3, "line 3: password: is required for a ppp subscription"},
		{"short password", header + ok2("Bad", "b", "pbad@DEMO", "short", ""), 2, "line 2: password: must be at least 8 characters"},
		{"bad kind", header + "Bad,b@example.org,,,,,,pbad@DEMO,secret-password,dsl,\n", 2, `line 2: kind: "dsl" is not one of ppp, vpn, room-port, vm`},
		{"bad mac", header + "Bad,b@example.org,,,,,,pbad@DEMO,secret-password,,zz:zz\n", 2, `line 2: mac: "zz:zz" is not a MAC address`},
		{"duplicate email in file", header + ok + "Twin,GOOD@example.org,,,,,,,,,\n", 3, `line 3: email: "GOOD@example.org" already appears on line 2`},
		{"duplicate login in file", header + ok + ok2("Other", "other", "pgood@DEMO", "other-password", ""), 3, `line 3: login: "pgood@DEMO" already appears on line 2`},
		{"duplicate mac in file", header + ok2("A", "a", "pa@DEMO", "a-password", "aa:bb:cc:dd:ee:ff") + ok2("B", "b", "pb@DEMO", "b-password", "AABB.CCDD.EEFF"), 3, `line 3: mac: "AABB.CCDD.EEFF" already appears on line 2`},
		{"email already registered", header + ok + "Dup,Existing@example.org,,,,,,,,,\n", 3, `line 3: email: "Existing@example.org" is already in the registry`},
		{"login already registered", header + ok + ok2("Dup", "dup", "pexist@DEMO", "dup-password", ""), 3, `line 3: login: "pexist@DEMO" is already in the registry`},
		{"bare quote", header + ok + "Bad \"quote\",b@example.org,,,,,,,,,\n", 3, `line 3: bare " in non-quoted-field`},
		{"unterminated quote", header + ok + "\"Bad,b@example.org,,,,,,,,,\n", 3, `extraneous or missing " in quoted-field`},
		{"too many fields", header + ok + "Bad,b@example.org,,,,,,,,,,surprise\n", 3, "line 3: 12 fields but the header names 11 columns"},
		{"not UTF-8", header + ok + "Caf\xe9,b@example.org,,,,,,,,,\n", 3, "line 3: field 1 is not UTF-8"},
		{"unknown columns", "name,email,iban,Birthday\n" + "A,a@example.org,,\n", 1, `line 1: unknown columns "iban", "Birthday" (known columns: name, email,`},
		{"duplicate column", "name,email,Email\n", 1, `line 1: column "email" appears twice`},
		{"missing column", "name,phone\nA,0612345678\n", 1, `line 1: column "email" is missing`},
		{"empty file", "\ufeff\r\n", 1, "line 1: the file is empty"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			forEachEngine(t, func(t *testing.T, f *fixture) {
				m0, s0 := f.counts()
				n, err := f.members(c.csv)
				if err == nil {
					t.Fatalf("no error (created %d)", n)
				}
				var le *csvimport.LineError
				if !errors.As(err, &le) {
					t.Fatalf("error %v (%T) is not a *LineError", err, err)
				}
				if le.Line != c.line || !strings.Contains(err.Error(), c.want) {
					t.Errorf("error %q, want line %d and %q", err, c.line, c.want)
				}
				if n != 0 {
					t.Errorf("created %d on failure", n)
				}
				if m, s := f.counts(); m != m0 || s != s0 {
					t.Errorf("registry changed: %d members, %d subscriptions (was %d, %d)", m, s, m0, s0)
				}
			})
		})
	}
}

// A file with several bad lines reports them all, in line order, whatever
// found them (the line's own checks, a repeat within the file, what the
// registry holds), and imports nothing.
func TestMembersReportsEveryBadLineInOrder(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		csv := "name,email,login,password\n" +
			"A1,a1@example.org,a1@DEMO,a1-password\n" + // line 2
			"Bad,not-email,,\n" + // line 3: invalid
			"A1 again,a1bis@example.org,a1@DEMO,a1-password\n" + // line 4: login repeats line 2
			"Good,good@example.org,,\n" + // line 5
			"Dup,existing@example.org,,\n" // line 6: already registered
		m0, s0 := f.counts()
		n, err := f.members(csv)
		want := `line 3: email: "not-email" is not an email address` + "\n" +
			`line 4: login: "a1@DEMO" already appears on line 2` + "\n" +
			`line 6: email: "existing@example.org" is already in the registry`
		if err == nil || err.Error() != want || n != 0 {
			t.Fatalf("error %v (created %d), want\n%s", err, n, want)
		}
		var le *csvimport.LineError
		if !errors.As(err, &le) || le.Line != 3 {
			t.Errorf("first line error %+v, want line 3", le)
		}
		if m, s := f.counts(); m != m0 || s != s0 {
			t.Errorf("registry changed: %d members, %d subscriptions (was %d, %d)", m, s, m0, s0)
		}
		// A file bad throughout reports the first 20 lines and says so.
		var b strings.Builder
		b.WriteString("name,email\n")
		for i := range 30 {
			fmt.Fprintf(&b, "M%d,bad-%d\n", i, i)
		}
		_, err = f.members(b.String())
		var les *csvimport.LineErrors
		if !errors.As(err, &les) || len(les.Errs) != 20 || !les.More || les.Errs[19].Line != 21 ||
			!strings.HasSuffix(err.Error(), "(the lines after line 21 were not checked: only the first 20 errors are reported)") {
			t.Fatalf("error %v", err)
		}
	})
}

// ok2 is a members row for the bad-lines header with a line.
func ok2(name, email, login, password, mac string) string {
	return fmt.Sprintf("%s,%s@example.org,,,,,,%s,%s,,%s\n", name, email, login, password, mac)
}

// TestValidationErrorsAreTyped: the CLI and the API point at the column.
func TestValidationErrorsAreTyped(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		_, err := f.members("name,email\nA,not-an-email\n")
		var ve *registry.ValidationError
		if !errors.As(err, &ve) || ve.Field != "email" || !errors.Is(err, registry.ErrInvalid) {
			t.Fatalf("error %v: want a ValidationError on email", err)
		}
	})
}

func TestMembersExhaustedPoolRollsBack(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		// Take the IPv4 pool down to its last addresses: 254 usable, one used.
		var b strings.Builder
		b.WriteString("name,email,login,password\n")
		for i := range 254 {
			fmt.Fprintf(&b, "M%d,m%d@example.org,p%d@DEMO,password-%d\n", i, i, i, i)
		}
		m0, s0 := f.counts()
		_, err := f.members(b.String())
		var le *csvimport.LineError
		if !errors.As(err, &le) || le.Line != 255 || !errors.Is(err, registry.ErrExhausted) {
			t.Fatalf("error %v, want pool exhausted on line 255", err)
		}
		if m, s := f.counts(); m != m0 || s != s0 {
			t.Errorf("registry changed: %d members, %d subscriptions (was %d, %d)", m, s, m0, s0)
		}
	})
}

func TestProgressCadence(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		var b strings.Builder
		b.WriteString("name,email\n")
		const total = 450
		for i := range total {
			fmt.Fprintf(&b, "M%d,m%d@example.org\n", i, i)
		}
		last := 0
		_, err := csvimport.Members(f.ctx, f.reg, admin, strings.NewReader(b.String()), func(done, n int) {
			if n != total {
				t.Errorf("total %d, want %d", n, total)
			}
			if done-last > total/100 && done-last > 1 {
				t.Errorf("progress jumped from %d to %d (more than 1%%)", last, done)
			}
			last = done
		})
		if err != nil {
			t.Fatal(err)
		}
		if last != total {
			t.Errorf("last progress %d, want %d", last, total)
		}
	})
}

func TestMembersCancelled(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		ctx, cancel := context.WithCancel(f.ctx)
		cancel()
		m0, _ := f.counts()
		_, err := csvimport.Members(ctx, f.reg, admin, strings.NewReader("name,email\nA,a@example.org\n"), nil)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v, want context.Canceled", err)
		}
		if m, _ := f.counts(); m != m0 {
			t.Errorf("registry changed")
		}
	})
}

func TestSubscriptionsFile(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		if _, err := f.members("name,email\nLou Peeters,lou@example.org\nSacha Dubois,sacha@example.org\n"); err != nil {
			t.Fatal(err)
		}
		var sacha registry.Member
		f.reg.Read(f.ctx, func(r registry.Reader) error {
			var err error
			sacha, err = r.GetMemberByEmail(f.ctx, "sacha@example.org")
			return err
		})
		csv := "member;kind;login;password;state;upstream_ref;mac;vlan;site;notes\r\n" +
			"LOU@example.org;;p1f9bd1@DEMO;lou-password;;VX-VDSL-8100001;;;PoP Caldarium;\r\n" +
			"lou@example.org;vpn;vpn-lou;lou-vpn-password;suspended;;;;;abuse report\r\n" +
			fmt.Sprintf("%d;room-port;rives-a102;;;;08-55-31-FA-75-4E;110;Résidence Les Rives;\r\n", sacha.ID)
		n, err := csvimport.Subscriptions(f.ctx, f.reg, admin, strings.NewReader(csv), nil)
		if err != nil {
			t.Fatal(err)
		}
		if n != 3 {
			t.Fatalf("created %d, want 3", n)
		}
		err = f.reg.Read(f.ctx, func(r registry.Reader) error {
			vpn, err := r.GetSubscriptionByLogin(f.ctx, "vpn-lou")
			if err != nil {
				return err
			}
			if vpn.Kind != registry.KindVPN || vpn.State != registry.SubSuspended || vpn.Notes != "abuse report" || len(vpn.Addresses) != 3 {
				t.Errorf("vpn = %+v", vpn)
			}
			room, err := r.GetSubscriptionByLogin(f.ctx, "rives-a102")
			if err != nil {
				return err
			}
			if room.MemberID != sacha.ID || room.VLAN != 110 || room.MAC != "08:55:31:fa:75:4e" || room.SiteID == nil {
				t.Errorf("room = %+v", room)
			}
			line, err := r.GetSubscriptionByLogin(f.ctx, "p1f9bd1@DEMO")
			if err != nil {
				return err
			}
			for _, a := range line.Addresses {
				if a.Role == registry.RoleIPv4 && !netip.MustParsePrefix("198.51.100.0/24").Contains(a.Block.Addr()) {
					t.Errorf("line address %s", a.Block)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestSubscriptionsBadLines(t *testing.T) {
	const header = "member,kind,login,password,vlan,site\n"
	const ok = "existing@example.org,,pnew@DEMO,new-password,,\n"
	cases := []struct {
		name string
		csv  string
		line int
		want string
	}{
		{"unknown member email", header + ok + "nobody@example.org,,px@DEMO,x-password,,\n", 3, `line 3: member: no member has the email "nobody@example.org"`},
		{"unknown member id", header + "999,,px@DEMO,x-password,,\n", 2, "line 2: member: no member has id 999"},
		{"missing member", header + ",,px@DEMO,x-password,,\n", 2, "line 2: member: is required"},
		{"missing login", header + "existing@example.org,,,x-password,,\n", 2, "line 2: login: is required"},
		{"bad vlan", header + "existing@example.org,room-port,r1,,4095,\n", 2, `line 2: vlan: "4095" is not a VLAN id`},
		{"bad kind", header + "existing@example.org,fibre,px@DEMO,x-password,,\n", 2, `line 2: kind: "fibre" is not one of`},
		{"unknown site", header + "existing@example.org,,px@DEMO,x-password,,Nowhere\n", 2, `line 2: site: no site named "Nowhere"`},
		{"duplicate login", header + ok + ok, 3, `line 3: login: "pnew@DEMO" already appears on line 2`},
		{"login already registered", header + ok + "existing@example.org,,pexist@DEMO,x-password,,\n", 3, `line 3: login: "pexist@DEMO" is already in the registry`},
		{"unknown column", "member,login,speed\n", 1, `line 1: unknown column "speed"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			forEachEngine(t, func(t *testing.T, f *fixture) {
				_, s0 := f.counts()
				_, err := csvimport.Subscriptions(f.ctx, f.reg, admin, strings.NewReader(c.csv), nil)
				var le *csvimport.LineError
				if !errors.As(err, &le) || le.Line != c.line || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("error %v, want line %d and %q", err, c.line, c.want)
				}
				if _, s := f.counts(); s != s0 {
					t.Errorf("registry changed: %d subscriptions, was %d", s, s0)
				}
			})
		})
	}
}
